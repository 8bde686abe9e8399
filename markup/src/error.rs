//! The one error screen: what went wrong, in plain Japanese, and the way back.

use crate::keys::key_link;
use crate::layout::{notice, page, Ctx};
use maud::{html, Markup};

/// An error page; `back` is where key 9 leads (the top page when the session is gone).
pub fn error(ctx: &Ctx, message: &str, back: &str) -> Markup {
    let body = html! {
        (notice(message))
        (key_link(ctx, '9', back, "戻る"))
    };
    page(ctx, "エラー", body)
}
