//! The page PCs and smartphones get instead of the phone flows: where the bank's PC/smartphone
//! site is. The link goes to another site, so it is written as given, never with the session ID
//! or `guid=ON` that links to the gateway's own pages carry, and sends no Referer (the page's
//! own URL may have carried a session ID, which the gateway ends when it sends this page).

use crate::layout::{page, Ctx};
use maud::{html, Markup};

pub fn pointer(ctx: &Ctx, pc_site_url: &str) -> Markup {
    let body = html! {
        "このページは携帯電話(ガラケー)専用です。" br;
        "パソコン・スマートフォンからは次のページをご利用ください。" br;
        a href=(pc_site_url) rel="noreferrer" { (pc_site_url) } br;
    };
    page(ctx, "パソコン・スマートフォンのお客さま", body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_is_the_site_as_given() {
        let ctx = Ctx {
            sid: Some("SESSION"),
            guid_on: true,
            ..Ctx::default()
        };
        let html = pointer(&ctx, "https://bank.example/ib/").into_string();
        assert!(
            html.contains(r#"<a href="https://bank.example/ib/" rel="noreferrer">"#),
            "{html}"
        );
        assert!(
            !html.contains("SESSION") && !html.contains("guid"),
            "{html}"
        );
    }
}
