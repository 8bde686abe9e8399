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

/// 法人 (business) administrator's pages, under their own entrance.
pub mod biz {
    /// 管理者ログイン (IDパスワード方式).
    pub const ENTRY: &str = "/biz";
    pub const LOGIN: &str = "/biz/login";
    /// ご契約先ワンタイムパスワード (お客様カード 確認用パスワード).
    pub const CARD: &str = "/biz/card";
    /// メイン.
    pub const MAIN: &str = "/biz/main";
    /// ご契約先管理情報変更.
    pub const MANAGE: &str = "/biz/manage";
    /// 利用者情報登録/変更 (利用者情報選択).
    pub const USERS: &str = "/biz/users";
    /// ワンタイムパスワードの設定.
    pub const OTP: &str = "/biz/otp";
    /// ワンタイムパスワード利用形態設定.
    pub const USAGE: &str = "/biz/usage";
    /// ワンタイムパスワード利用登録.
    pub const REGISTER: &str = "/biz/register";
    /// 利用登録解除.
    pub const RELEASE: &str = "/biz/release";
    pub const LOGOUT: &str = "/biz/logout";

    /// Every 法人 path (a known path with the wrong method is 405, not 404).
    pub const ALL: [&str; 11] = [
        ENTRY, LOGIN, CARD, MAIN, MANAGE, USERS, OTP, USAGE, REGISTER, RELEASE, LOGOUT,
    ];
}
