//! 利用開始 screens (seeds 001 and 003): user authentication, token registration, receipt.

use crate::keys::{key_link, numeric_input, password_input, serial_input};
use crate::layout::{notice, page, Ctx};
use crate::paths;
use maud::{html, Markup};

const TITLE: &str = "ワンタイムパスワード利用開始";

/// Step 1: contract ID and login password.
pub fn credentials(ctx: &Ctx, id_label: &str, message: Option<&str>, contract_id: &str) -> Markup {
    credentials_form(ctx, TITLE, paths::START, id_label, message, contract_id)
}

/// The contract ID + password form shared by 利用開始 and 交換 (both ask it first).
pub fn credentials_form(
    ctx: &Ctx,
    title: &str,
    action: &str,
    id_label: &str,
    message: Option<&str>,
    contract_id: &str,
) -> Markup {
    let body = html! {
        @if let Some(m) = message { (notice(m)) }
        form action=(ctx.action(action)) method="post" {
            (ctx.hidden())
            (id_label) ":" br;
            (numeric_input(ctx, "contract_id", 16, contract_id)) br;
            "ログインパスワード:" br;
            (password_input(ctx, "password", false)) br;
            input type="submit" value="次へ";
        }
        (key_link(ctx, '9', paths::TOP, "戻る"))
    };
    page(ctx, title, body)
}

/// What step 2 keeps of the user's input after an error (never the OTP or the password).
#[derive(Debug, Clone, Copy)]
pub struct TokenForm<'a> {
    pub serial: &'a str,
    pub login_otp: bool,
    /// The お客様カード positions to ask (seed 001) instead of the 資金移動用パスワード (seed 003),
    /// when the bank profile says so.
    pub card: Option<[&'a str; 2]>,
}

/// Step 2: serial, current OTP, login-time OTP choice, then the transfer password or the
/// お客様カード 確認用パスワード.
pub fn token(ctx: &Ctx, message: Option<&str>, form: TokenForm) -> Markup {
    let body = html! {
        @if let Some(m) = message { (notice(m)) }
        form action=(ctx.action(paths::START_TOKEN)) method="post" {
            (ctx.hidden())
            "シリアル番号(半角英数字):" br;
            (serial_input(ctx, "serial", form.serial)) br;
            "ワンタイムパスワード(半角数字):" br;
            (numeric_input(ctx, "otp", 8, "")) br;
            "ログイン時のワンタイムパスワード:" br;
            input type="radio" name="login_otp" value="1" checked[form.login_otp]; "認証する" br;
            input type="radio" name="login_otp" value="0" checked[!form.login_otp]; "認証しない" br;
            @if let Some(labels) = form.card {
                (crate::card::card_fields(ctx, labels))
                input type="submit" value="実行";
            } @else {
                "資金移動用パスワード:" br;
                (password_input(ctx, "transfer_password", false)) br;
                input type="submit" value="登録";
            }
        }
        @if !ctx.footer { (key_link(ctx, '9', paths::TOP, "戻る")) }
    };
    page(ctx, TITLE, body)
}

/// A receipt: number and time of a completed registration or exchange.
#[derive(Debug, Clone, Copy)]
pub struct Receipt<'a> {
    pub number: &'a str,
    /// 受付時刻 in JST, `YYYY年MM月DD日 HH時MM分SS秒`.
    pub time: &'a str,
}

/// Result: registration complete.
pub fn done(ctx: &Ctx, receipt: Receipt, serial: &str) -> Markup {
    let body = html! {
        "ワンタイムパスワードの登録が完了しました。" br;
        "受付番号:" br; (receipt.number) br;
        "受付時刻:" br; (receipt.time) br;
        "シリアル番号:" br; (serial) br;
        "お振込等の資金移動の際は、ワンタイムパスワードの入力が必要となります。" br;
        @if !ctx.footer { (key_link(ctx, '0', paths::TOP, "ログイン画面に戻る")) }
    };
    page(ctx, TITLE, body)
}
