//! Login with OTP and the logged-in menu (seed 003's feature-phone screens).

use crate::keys::{key_link, numeric_input};
use crate::layout::{notice, page, Ctx};
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
    /// A state worth telling (ロック中, 利用中止), if the token is not simply in use.
    pub state: Option<&'a str>,
}

/// The menu: `ようこそ 〇〇様`, the token state, numbered entries.
pub fn menu(ctx: &Ctx, name: &str, token: Option<TokenLine>, message: Option<&str>) -> Markup {
    let body = html! {
        @if let Some(m) = message { (notice(m)) }
        "ようこそ " (name) "様" br;
        @match token {
            Some(t) => {
                "トークン:" (t.serial) br;
                "登録日:" (t.since) br;
                @if let Some(s) = t.state { "状態:" (s) br; }
            }
            None => {
                "トークンは登録されていません。振込等の資金移動にはトークンの登録が必要です。" br;
            }
        }
        hr;
        @if token.is_some_and(|t| t.state.is_none()) {
            (key_link(ctx, '1', paths::EXCHANGE, "トークン交換")) br;
        } @else {
            (key_link(ctx, '1', paths::START, "利用開始")) br;
        }
        (key_link(ctx, '2', paths::CANCEL, "利用中止"))
    };
    page(ctx, "メニュー", body)
}
