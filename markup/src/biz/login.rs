//! 管理者ログイン (IDパスワード方式) and ご契約先ワンタイムパスワード (確認用パスワード).

use crate::card::card_fields;
use crate::keys::{key_link, numeric_input, password_input};
use crate::layout::{notice, page, Ctx};
use crate::paths;
use maud::{html, Markup};

/// The entrance: 電子証明書方式 cannot work on a phone, so it points to the PC site; the
/// IDパスワード方式 form follows.
pub fn entry(ctx: &Ctx, pc_site_url: &str, message: Option<&str>, contract_id: &str) -> Markup {
    let body = html! {
        @if let Some(m) = message { (notice(m)) }
        "電子証明書方式はパソコンからご利用ください:" br;
        // Another site: written as given, never with the session ID.
        a href=(pc_site_url) { (pc_site_url) } br;
        hr;
        "IDパスワード方式" br;
        form action=(ctx.action(paths::biz::LOGIN)) method="post" {
            (ctx.hidden())
            "契約先ID(利用者番号):" br;
            (numeric_input(ctx, "contract_id", 16, contract_id)) br;
            "ご契約先暗証番号:" br;
            (password_input(ctx, "password", false)) br;
            input type="submit" value="ログイン";
        }
        (key_link(ctx, '9', paths::TOP, "戻る"))
    };
    page(ctx, "管理者ログイン", body)
}

/// The card question: the digits at two positions of the お客様カード, `labels` as printed.
pub fn card(ctx: &Ctx, action: &str, labels: [&str; 2], message: Option<&str>) -> Markup {
    let body = html! {
        @if let Some(m) = message { (notice(m)) }
        (card_fields(ctx, labels))
    };
    let body = html! {
        form action=(ctx.action(action)) method="post" {
            (ctx.hidden())
            (body)
            input type="submit" value="OK";
        }
        (key_link(ctx, '9', paths::biz::LOGOUT, "中止"))
    };
    page(ctx, "ご契約先ワンタイムパスワード入力", body)
}
