//! Compact HTML (cHTML) pages for feature phones.
//!
//! This crate owns what a phone sees: the page frame, numbered-key links and input modes, one module
//! per screen, and the Shift_JIS encoding with its byte budget. It does no IO and knows nothing of
//! HTTP or storage: the gateway hands it plain view data and gets back Shift_JIS bytes.

pub mod biz;
pub mod cancel;
pub mod card;
pub mod error;
pub mod exchange;
pub mod help;
pub mod keys;
pub mod layout;
pub mod login;
pub mod paths;
pub mod pc;
pub mod sjis;
pub mod start;
pub mod top;

pub use keys::{InputMode, Keypad};
pub use layout::Ctx;
pub use sjis::{encode, encode_for, Page, SMALLEST_BUDGET};

/// Contact details of the bank's support desk, shown on help and notice pages.
#[derive(Debug, Clone, Copy)]
pub struct Support<'a> {
    pub name: &'a str,
    pub phone: &'a str,
    pub hours: &'a str,
}

/// A branch as the cancellation page lists it.
#[derive(Debug, Clone, Copy)]
pub struct Branch<'a> {
    pub name: &'a str,
    pub address: &'a str,
    pub phone: &'a str,
}
