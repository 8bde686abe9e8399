//! The login screen (seed 003, 《携帯電話（ガラケー）》): contract ID and password, and the
//! ワンタイムパスワード block with 利用開始 / 交換 / 利用中止.

use crate::keys::{key_link, numeric_input, password_input};
use crate::layout::{notice, page, Ctx};
use crate::paths;
use maud::{html, Markup};

/// The top page; `message` is an error to show above the form, `contract_id` what the user typed.
pub fn top(ctx: &Ctx, id_label: &str, message: Option<&str>, contract_id: &str) -> Markup {
    let body = html! {
        @if let Some(m) = message { (notice(m)) }
        form action=(ctx.action(paths::LOGIN)) method="post" {
            (ctx.hidden())
            (id_label) ":" br;
            (numeric_input(ctx, "contract_id", 16, contract_id)) br;
            "ログインパスワード:" br;
            (password_input(ctx, "password", false)) br;
            input type="submit" value="ログイン";
        }
        hr;
        "ワンタイムパスワード" br;
        (key_link(ctx, '1', paths::START, "利用開始")) br;
        (key_link(ctx, '2', paths::EXCHANGE, "交換")) br;
        (key_link(ctx, '3', paths::CANCEL, "利用中止")) br;
        hr;
        "法人のお客さま" br;
        (key_link(ctx, '4', paths::biz::ENTRY, "管理者ログイン")) br;
        hr;
        (key_link(ctx, '0', paths::HELP, "ヘルプ"))
    };
    page(ctx, "ログイン", body)
}
