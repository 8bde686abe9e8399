//! メイン, ご契約先管理情報変更, 利用者情報選択 (the user list), ワンタイムパスワードの設定 and
//! ワンタイムパスワード利用形態設定.

use super::{admin_page, receipt_line, serial_text, UserRow};
use crate::keys::key_link;
use crate::layout::{notice, Ctx};
use crate::paths::biz as paths;
use maud::{html, Markup};

/// The 利用形態 choices, in the seed's order: form value and wording.
pub const USAGES: [(&str, &str); 2] = [
    ("per_user", "全ての利用者が異なるトークンを使用する"),
    ("shared", "全ての利用者が同じトークンを使用する"),
];

/// メイン (the administrator's menu).
pub fn main(ctx: &Ctx) -> Markup {
    let body = html! {
        (key_link(ctx, '1', paths::MANAGE, "ご契約先管理情報変更")) br;
    };
    admin_page(ctx, "メイン", body)
}

/// ご契約先管理情報変更: on a phone, only 利用者情報登録/変更 (the rest is on the PC site).
pub fn manage(ctx: &Ctx) -> Markup {
    let body = html! {
        (key_link(ctx, '1', paths::USERS, "利用者情報登録/変更")) br;
        "その他の変更はパソコンからご利用ください。" br;
    };
    admin_page(ctx, "ご契約先管理情報変更", body)
}

/// 利用者情報選択: each user with 現在のシリアル番号, and the way to ワンタイムパスワードの設定.
pub fn users(ctx: &Ctx, usage: &str, rows: &[UserRow], receipt: Option<&str>) -> Markup {
    let body = html! {
        "利用形態 " (usage) br;
        "利用者名/現在のシリアル番号" br;
        @for r in rows {
            (r.name) " " (serial_text(r.serial)) br;
        }
        (receipt_line(receipt))
        (key_link(ctx, '1', paths::OTP, "ワンタイムパスワードの設定")) br;
    };
    admin_page(ctx, "利用者情報選択", body)
}

/// ワンタイムパスワードの設定: the current 利用形態, 変更, 利用登録, 利用登録解除.
pub fn otp(ctx: &Ctx, usage: &str, message: Option<&str>) -> Markup {
    let body = html! {
        @if let Some(m) = message { (notice(m)) }
        "◎利用形態を変更する場合は「変更」を、トークンの利用登録は「利用登録」を、解除は「利用登録解除」を選んでください。" br;
        "現在の設定 " (usage) br;
        (key_link(ctx, '1', paths::USAGE, "変更")) br;
        (key_link(ctx, '2', paths::REGISTER, "利用登録")) br;
        (key_link(ctx, '3', paths::RELEASE, "利用登録解除")) br;
    };
    admin_page(ctx, "ワンタイムパスワードの設定", body)
}

/// ワンタイムパスワード利用形態設定: the two choices (the current one checked), the warning,
/// 次へ / キャンセル.
pub fn usage(ctx: &Ctx, current: &str) -> Markup {
    let body = html! {
        "利用形態の選択" br;
        form action=(ctx.action(paths::USAGE)) method="post" {
            (ctx.hidden())
            @for (value, label) in USAGES {
                input type="radio" name="usage" value=(value) checked[value == current]; (label) br;
            }
            "◎利用形態を変更する場合は、トークンの利用登録が解除されます。" br;
            input type="submit" value="次へ";
        }
        (key_link(ctx, '9', paths::OTP, "キャンセル"))
    };
    admin_page(ctx, "ワンタイムパスワード利用形態設定", body)
}
