//! Login with OTP and the logged-in menu (seed 003's feature-phone screens).

use crate::keys::{key_link, numeric_input};
use crate::layout::{notice, page, Ctx};
use crate::name::Name;
use crate::paths;
use maud::{html, Markup};

/// Second login step for customers who chose 認証する: the current OTP.
pub fn otp(ctx: &Ctx, message: Option<&str>) -> Markup {
    let body = html! {
        @if let Some(m) = message { (notice(m)) }
        form action=(ctx.action(paths::LOGIN_OTP)) method="post" {
            (ctx.hidden())
            "ワンタイムパスワード(半角数字):" br;
            (numeric_input(ctx, "otp", 8, "")) br;
            input type="submit" value="ログイン";
        }
        (key_link(ctx, '9', paths::TOP, "戻る"))
    };
    page(ctx, "ワンタイムパスワード認証", body)
}

/// The token as the menu shows it.
#[derive(Debug, Clone, Copy)]
pub struct TokenLine<'a> {
    pub serial: &'a str,
    /// Registration date, `YYYY年MM月DD日`.
    pub since: &'a str,
}

/// Where the customer's token is, as far as the menu's entries go.
#[derive(Debug, Clone, Copy)]
pub enum MenuToken<'a> {
    /// In use: 交換, the login-OTP choice and 利用中止 are offered.
    Active(TokenLine<'a>),
    /// Locked by wrong OTPs: only a branch can release it, so no entry needs the token.
    Locked(TokenLine<'a>),
    /// None registered (never, or handed back at a branch for a replacement).
    None,
    /// Cancelled at a branch: a new token must be requested there first.
    Cancelled,
    /// No token, and too many wrong codes typed for tokens not yet theirs: a branch releases.
    ClaimsLocked,
}

/// The menu: `ようこそ 〇〇様`, the token state, and only entries that lead somewhere useful in
/// that state (issue 14: a locked token offers nothing that needs it).
pub fn menu(ctx: &Ctx, name: &str, token: MenuToken, message: Option<&str>) -> Markup {
    let body = html! {
        @if let Some(m) = message { (notice(m)) }
        "ようこそ " (Name(name)) "様" br;
        @match token {
            MenuToken::Active(t) | MenuToken::Locked(t) => {
                "トークン:" (t.serial) br;
                "登録日:" (t.since) br;
            }
            MenuToken::None | MenuToken::Cancelled | MenuToken::ClaimsLocked => {}
        }
        @match token {
            MenuToken::Active(_) => {}
            MenuToken::Locked(_) => {
                "状態:ロック中" br;
                "ロック解除はお取引店の窓口でお手続きください。" br;
            }
            MenuToken::None => {
                "トークンは登録されていません。振込等の資金移動にはトークンの登録が必要です。" br;
            }
            MenuToken::ClaimsLocked => {
                "ワンタイムパスワードの誤りが続いたため、トークンの登録を停止しています。解除はお取引店の窓口でお手続きください。" br;
            }
            MenuToken::Cancelled => {
                "トークンは利用中止されました。新しいトークンをお取引店の窓口でお申込みのうえ、利用開始から登録してください。" br;
            }
        }
        hr;
        @match token {
            MenuToken::Active(_) => {
                (key_link(ctx, '1', paths::EXCHANGE, "トークン交換")) br;
                (key_link(ctx, '2', paths::CANCEL, "利用中止")) br;
                (key_link(ctx, '3', paths::MENU_LOGIN_OTP, "ログイン時のワンタイムパスワード")) br;
                (key_link(ctx, '8', paths::HELP, "ヘルプ"))
            }
            MenuToken::Locked(_) => {
                (key_link(ctx, '2', paths::CANCEL, "利用中止・お取引店")) br;
                (key_link(ctx, '8', paths::HELP, "ヘルプ・お問合せ"))
            }
            MenuToken::ClaimsLocked => {
                (key_link(ctx, '8', paths::HELP, "ヘルプ・お問合せ"))
            }
            MenuToken::None | MenuToken::Cancelled => {
                (key_link(ctx, '1', paths::START, "利用開始")) br;
                (key_link(ctx, '8', paths::HELP, "トークンの入手方法"))
            }
        }
    };
    page(ctx, "メニュー", body)
}

/// The ログイン時のワンタイムパスワード choice, changed from the menu with the current OTP
/// (seed 003: 任意で利用の有無をご選択いただけます). `login_otp` is the current choice.
pub fn login_otp_setting(ctx: &Ctx, login_otp: bool, message: Option<&str>) -> Markup {
    let now = if login_otp {
        "認証する"
    } else {
        "認証しない"
    };
    let body = html! {
        @if let Some(m) = message { (notice(m)) }
        "現在の設定:" (now) br;
        form action=(ctx.action(paths::MENU_LOGIN_OTP)) method="post" {
            (ctx.hidden())
            "ログイン時のワンタイムパスワード認証要否:" br;
            input type="radio" name="login_otp" value="1" checked[login_otp]; "認証する" br;
            input type="radio" name="login_otp" value="0" checked[!login_otp]; "認証しない" br;
            "ワンタイムパスワード(半角数字):" br;
            (numeric_input(ctx, "otp", 8, "")) br;
            "※ワンタイムパスワードはボタンを押して表示" br;
            input type="submit" value="変更";
        }
    };
    page(ctx, "ログイン時のワンタイムパスワード", body)
}
