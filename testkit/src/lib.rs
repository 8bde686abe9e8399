//! What keitai-gateway's integration tests (`tests/support/`) and benchmarks
//! (`benches/gateway/`) both drive the gateway with: the clients, speaking HTTP/1.1 over real
//! loopback sockets as the gateway's users do, and the gateway as a child process.
//!
//! - [`http`]: request bytes, response parsing, the encodings forms use, the cookie rule.
//! - [`page`]: reading a page as a user would (links by accesskey, forms, receipt numbers) and
//!   the checks every phone page must pass.
//! - [`phone`]: a handset — one connection per request ([`phone::Phone`], the tests) or one
//!   kept-alive connection counting every byte ([`phone::KeptAlive`], the benchmarks).
//! - [`staff`]: branch staff at a PC browser (UTF-8 forms, session cookie, anti-forgery value).
//! - [`api`]: a caller of the OTP API (JSON, `Authorization: Bearer`).
//! - [`gateway`]: the `keitai-gateway serve` process, its address and its log.
//!
//! It knows nothing of the gateway's code (no dependency on the gateway crate): it sees what a
//! client sees.

pub mod api;
pub mod gateway;
pub mod http;
pub mod page;
pub mod phone;
pub mod staff;
