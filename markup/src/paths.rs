//! The phone pages' URLs, written once: the gateway routes by them and the pages link to them.

pub const TOP: &str = "/";
pub const HELP: &str = "/help";
pub const LOGIN: &str = "/login";
pub const LOGIN_OTP: &str = "/login/otp";
pub const MENU: &str = "/menu";
pub const LOGOUT: &str = "/logout";
pub const START: &str = "/start";
pub const START_TOKEN: &str = "/start/token";
pub const EXCHANGE: &str = "/exchange";
pub const EXCHANGE_CURRENT: &str = "/exchange/current";
pub const EXCHANGE_NEW: &str = "/exchange/new";
pub const CANCEL: &str = "/cancel";

/// Every phone path (a known path with the wrong method is 405, not 404).
pub const ALL: [&str; 12] = [
    TOP,
    HELP,
    LOGIN,
    LOGIN_OTP,
    MENU,
    LOGOUT,
    START,
    START_TOKEN,
    EXCHANGE,
    EXCHANGE_CURRENT,
    EXCHANGE_NEW,
    CANCEL,
];
