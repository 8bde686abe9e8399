//! keitai-gateway: lets a shinkin bank's customers manage their OTP tokens from a feature phone.
//!
//! A request flows one way: [`server`] (socket, HTTP) → [`router`] (which part of the gateway:
//! phone pages, branch console, API) → [`request`] (Shift_JIS form decoding, handset, session ID)
//! → a step in [`flows`] → [`ledger`] / [`store`] (one atomic, flushed write) → the `markup` crate
//! (cHTML) → Shift_JIS bytes.

pub mod api;
pub mod app;
pub mod attempts;
pub mod branch;
pub mod carrier;
pub mod clock;
pub mod config;
pub mod damaged;
pub mod demo;
pub mod error;
pub mod flows;
pub mod form;
pub mod inventory;
pub mod ledger;
pub mod lockout;
pub mod otp;
pub mod password;
pub mod private;
pub mod pskc;
pub mod reply;
pub mod request;
pub mod router;
pub mod seal;
pub mod server;
pub mod session;
pub mod store;
pub mod throttle;
