//! keitai-gateway: lets a shinkin bank's customers manage their OTP tokens from a feature phone.
//!
//! A request flows one way: [`server`] (socket, HTTP head) → [`router`] (which front: [`phone`]
//! pages, [`branch`] console, [`api`]) → the front's gate ([`net`]) and its own body read
//! ([`body`]) → for phones, [`request`] (Shift_JIS form decoding, handset, session ID) → a step in
//! [`flows`] → [`ledger`] / [`store`] (one atomic, flushed write) → the `markup` crate (cHTML) →
//! Shift_JIS bytes. Each front answers its errors in its own form.

pub mod admin;
pub mod api;
pub mod app;
pub mod attempts;
pub mod banks;
pub mod body;
pub mod branch;
pub mod business;
pub mod cancel_count;
pub mod card;
pub mod carrier;
pub mod clock;
pub mod config;
pub mod cookies;
pub mod damaged;
pub mod deadline;
pub mod demo;
pub mod emulator;
pub mod error;
pub mod flows;
pub mod form;
pub mod form_token;
pub mod front;
pub mod ids;
pub mod inventory;
pub mod ledger;
pub mod lockout;
pub mod log;
pub mod metrics;
pub mod net;
pub mod operate;
pub mod otp;
pub use inventory::pskc;
pub mod password;
pub mod phc;
pub mod phone;
pub mod private;
pub mod recent;
pub mod reply;
pub mod request;
pub mod router;
pub mod seal;
pub mod server;
pub mod session;
pub mod session_table;
pub mod simulator;
pub mod store;
pub mod throttle;
