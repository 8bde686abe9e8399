//! The help page: what the token is, which tokens a feature phone can use, whom to call.

use crate::keys::key_link;
use crate::layout::{page, phone_number, Ctx};
use crate::paths;
use crate::Support;
use maud::{html, Markup};

pub fn help(ctx: &Ctx, support: Support) -> Markup {
    let body = html! {
        "ワンタイムパスワードは一度しか使わないパスワードです。トークンに表示される6桁の数字を入力してください。" br;
        "携帯電話(ガラケー)をご利用のお客さまはハードウェアトークンのみご利用いただけます。" br;
        "シリアル番号はトークン裏面の12桁の英数字です。" br;
        hr;
        "お問合せ:" (support.name) br;
        (phone_number(ctx, support.phone)) br;
        (support.hours) br;
        (key_link(ctx, '9', paths::TOP, "戻る"))
    };
    page(ctx, "ヘルプ", body)
}
