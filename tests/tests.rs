//! The integration suite, one binary: each module drives the real gateway as phones do.

mod support;

mod api;
mod biz;
mod branch;
mod carrier;
mod crash;
mod emulator;
mod exchange;
mod fronts;
mod hostile;
mod login;
mod operate;
mod pskc_import;
mod rfc6238;
mod security;
mod start;
mod ua_table;
