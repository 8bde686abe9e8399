//! ワンタイムパスワード利用登録 (seed 004 A: per user, B: shared) and 利用登録解除. No completion
//! message (△登録が完了した旨のメッセージは表示されません): after a registration the same screen
//! comes back with the new serial under 現在のシリアル番号.

use super::{admin_page, receipt_line, serial_text, UserRow};
use crate::keys::{key_link, numeric_input, password_input, serial_input};
use crate::layout::{notice, Ctx};
use crate::paths::biz as paths;
use maud::{html, Markup};

const TITLE: &str = "ワンタイムパスワード利用登録";

/// What the registration form shows beside its fields.
#[derive(Debug, Clone, Copy)]
pub struct RegisterView<'a> {
    /// The 利用形態's wording.
    pub usage: &'a str,
    /// Per user: the users to choose from. Shared: empty.
    pub rows: &'a [UserRow<'a>],
    /// Shared: the current shared token.
    pub shared: Option<&'a str>,
    pub message: Option<&'a str>,
    /// The user chosen and serial typed, kept after an error (never the OTP or the PIN).
    pub chosen: &'a str,
    pub serial: &'a str,
    pub receipt: Option<&'a str>,
}

/// 利用登録: (A) choose the user, or (B) the shared token; then シリアル番号, ワンタイムパスワード,
/// ご契約先確認暗証番号, OK.
pub fn register(ctx: &Ctx, v: RegisterView) -> Markup {
    let per_user = !v.rows.is_empty();
    let body = html! {
        @if let Some(m) = v.message { (notice(m)) }
        "シリアル番号、ワンタイムパスワードとご契約先確認暗証番号を入力してから、OKを押してください。" br;
        "利用形態 " (v.usage) br;
        form action=(ctx.action(paths::REGISTER)) method="post" {
            (ctx.hidden())
            "利用登録情報(利用者名/現在のシリアル番号)" br;
            @if per_user {
                @for r in v.rows {
                    input type="radio" name="user" value=(r.user_id) checked[r.user_id == v.chosen];
                    (r.name) " " (serial_text(r.serial)) br;
                }
                "※複数の利用者に同一のトークンを登録することができます。" br;
            } @else {
                "全ての利用者 " (serial_text(v.shared)) br;
            }
            "登録トークン情報" br;
            "シリアル番号:" br;
            (serial_input(ctx, "serial", v.serial)) br;
            "ワンタイムパスワード:" br;
            (numeric_input(ctx, "otp", 8, "")) br;
            "ご契約先確認暗証番号:" br;
            (password_input(ctx, "confirm", false)) br;
            input type="submit" value="OK";
        }
        (receipt_line(v.receipt))
        (key_link(ctx, '9', paths::OTP, "キャンセル"))
    };
    admin_page(ctx, TITLE, body)
}

/// 利用登録解除: (A) the user whose token to release, or (B) the shared token; then the
/// ご契約先確認暗証番号, OK.
pub fn release(ctx: &Ctx, v: RegisterView) -> Markup {
    let per_user = !v.rows.is_empty();
    let body = html! {
        @if let Some(m) = v.message { (notice(m)) }
        "利用形態 " (v.usage) br;
        form action=(ctx.action(paths::RELEASE)) method="post" {
            (ctx.hidden())
            @if per_user {
                @for r in v.rows {
                    input type="radio" name="user" value=(r.user_id) checked[r.user_id == v.chosen];
                    (r.name) " " (serial_text(r.serial)) br;
                }
            } @else {
                "全ての利用者 " (serial_text(v.shared)) br;
            }
            "ご契約先確認暗証番号:" br;
            (password_input(ctx, "confirm", false)) br;
            input type="submit" value="OK";
        }
        (receipt_line(v.receipt))
        (key_link(ctx, '9', paths::OTP, "キャンセル"))
    };
    admin_page(ctx, "ワンタイムパスワード利用登録解除", body)
}
