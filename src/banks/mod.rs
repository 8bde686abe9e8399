//! Several banks in one gateway: a bank's 金融機関コード ([`BankCode`]), the profiles directory
//! ([`Profiles`], `BANK_DIR/banks/CODE.toml`, or the single `bank.toml` of a one-bank setup),
//! and which bank a request is for ([`Site`]: path prefix `/CODE/…` or a host name).
//!
//! Each bank is served by a whole [`crate::router::Gateway`] of its own (its store, phone
//! sessions, staff sessions), so nothing one bank's fronts hold can answer another bank.

mod code;
mod profiles;
mod site;

pub use code::BankCode;
pub use profiles::{Profile, Profiles};
pub use site::{bank_list_page, no_such_bank, Site};
