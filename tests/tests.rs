//! The integration suite, one binary: each module drives the real gateway as phones do.

mod support;

mod abuse;
mod admin;
mod api;
mod banks;
mod biz;
mod branch;
mod carrier;
mod clock;
mod crash;
mod emulator;
mod exchange;
mod fronts;
mod hostile;
mod journeys;
mod login;
mod operate;
mod operate_walk;
mod postgres;
mod pskc_import;
mod rfc6238;
mod security;
mod start;
mod ua_table;
