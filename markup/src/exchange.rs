//! 交換 screens (seed 003, 5. トークンの交換): current OTP, new token, result.

use crate::keys::{key_link, numeric_input, serial_input};
use crate::layout::{notice, page, Ctx};
use crate::paths;
use crate::start::Receipt;
use maud::{html, Markup};

const TITLE: &str = "ワンタイムパスワード交換";

/// Step 1, 現ワンタイムパスワードの認証.
pub fn current(ctx: &Ctx, message: Option<&str>) -> Markup {
    let body = html! {
        @if let Some(m) = message { (notice(m)) }
        "現在利用しているワンタイムパスワードの利用を中止します。" br;
        "現ワンタイムパスワードの認証" br;
        form action=(ctx.action(paths::EXCHANGE_CURRENT)) method="post" {
            (ctx.hidden())
            "ワンタイムパスワード:" br;
            (numeric_input(ctx, "otp", 8, "")) "(半角数字)" br;
            input type="submit" value="次へ";
        }
        "トークンの紛失・故障・電池切れの場合はお取引店の窓口でお手続きください。" br;
        @if !ctx.footer { (key_link(ctx, '9', paths::TOP, "戻る")) }
    };
    page(ctx, TITLE, body)
}

/// Step 2, 新ワンタイムパスワード認証: the new token's serial and OTP.
/// `card`: the お客様カード positions to ask last, when the bank profile says so (seed 001).
pub fn new_token(
    ctx: &Ctx,
    message: Option<&str>,
    serial: &str,
    card: Option<[&str; 2]>,
) -> Markup {
    let body = html! {
        @if let Some(m) = message { (notice(m)) }
        "新ワンタイムパスワード認証" br;
        form action=(ctx.action(paths::EXCHANGE_NEW)) method="post" {
            (ctx.hidden())
            "シリアル番号(半角英数字):" br;
            (serial_input(ctx, "serial", serial)) br;
            "ワンタイムパスワード:" br;
            (numeric_input(ctx, "otp", 8, "")) "(半角数字)" br;
            @if let Some(labels) = card { (crate::card::card_fields(ctx, labels)) }
            input type="submit" value="次へ";
        }
        @if !ctx.footer { (key_link(ctx, '9', paths::TOP, "戻る")) }
    };
    page(ctx, TITLE, body)
}

/// Result, 処理結果: the receipt and the 変更結果 lines.
pub fn done(ctx: &Ctx, receipt: Receipt, new_serial: &str, old_serial: &str) -> Markup {
    let body = html! {
        "ワンタイムパスワードの登録が完了しました。" br;
        "変更結果" br;
        "変更後 " (new_serial) br;
        "変更前 " (old_serial) br;
        "受付番号:" br; (receipt.number) br;
        "受付時刻:" br; (receipt.time) br;
        "次の操作からは新しいトークンをご利用ください。" br;
        @if !ctx.footer { (key_link(ctx, '0', paths::TOP, "ログイン画面に戻る")) }
    };
    page(ctx, TITLE, body)
}
