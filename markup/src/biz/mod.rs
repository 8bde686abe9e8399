//! 法人 (business) administrator's screens (seeds 000, 002, 004): 管理者ログイン, the お客様カード
//! 確認用パスワード, メイン → ご契約先管理情報変更 → 利用者情報登録/変更, ワンタイムパスワードの設定,
//! 利用形態設定, 利用登録 (per user or shared) and 利用登録解除. One file per screen group.
//!
//! Logged-in pages end with the administrator's own keys ([*]メイン, [#]ログアウト), not the
//! personal customers' menu.

pub mod admin;
pub mod login;
pub mod register;

use crate::keys::key_link;
use crate::layout::{page, Ctx};
use crate::paths::biz as paths;
use maud::{html, Markup};

/// One user as the lists show them: name and 現在のシリアル番号 (`-` without a token).
#[derive(Debug, Clone, Copy)]
pub struct UserRow<'a> {
    pub user_id: &'a str,
    pub name: &'a str,
    pub serial: Option<&'a str>,
}

/// A logged-in administrator's page: the frame plus the administrator's keys.
fn admin_page(ctx: &Ctx, title: &str, body: Markup) -> Markup {
    let body = html! {
        (body)
        hr;
        (key_link(ctx, '*', paths::MAIN, "メイン")) br;
        (key_link(ctx, '#', paths::LOGOUT, "ログアウト"))
    };
    page(ctx, title, body)
}

/// The 受付番号 of the last write, shown small when the bank profile asks for it (the seeds
/// show no completion message).
fn receipt_line(receipt: Option<&str>) -> Markup {
    html! {
        @if let Some(n) = receipt { "(受付番号 " (n) ")" br; }
    }
}

/// The 現在のシリアル番号 column's value.
fn serial_text(serial: Option<&str>) -> &str {
    serial.unwrap_or("-")
}
