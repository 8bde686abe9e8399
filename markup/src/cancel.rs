//! 利用中止 from a feature phone: not possible on the phone (seed 003, 6. トークンの中止), so the
//! page sends the customer to a branch with the paper form.

use crate::keys::key_link;
use crate::layout::{page, phone_number, Ctx};
use crate::paths;
use crate::{Branch, Support};
use maud::{html, Markup};

/// The notice with the bank's branches and support desk.
pub fn notice(ctx: &Ctx, branches: &[Branch], support: Support) -> Markup {
    let back = if ctx.footer { paths::MENU } else { paths::TOP };
    let body = html! {
        "携帯電話からは利用中止の操作ができないため、所定の用紙を最寄りの本支店窓口までお届けください。" br;
        "トークン中止後は、お振込等の資金移動のお取引が規制されます。" br;
        hr;
        @for b in branches {
            (b.name) br;
            (b.address) br;
            "TEL " (phone_number(ctx, b.phone)) br;
        }
        hr;
        "お問合せ:" (support.name) br;
        (phone_number(ctx, support.phone)) br;
        (support.hours) br;
        (key_link(ctx, '9', back, "戻る"))
    };
    page(ctx, "ワンタイムパスワード利用中止", body)
}
