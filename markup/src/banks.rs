//! The bank list a multi-bank gateway shows at its bare `/`: phones bookmark the top page, so
//! the address without a bank still leads to one, by its numbered key.

use crate::keys::key_link;
use crate::layout::{page, Ctx};
use maud::{html, Markup};

/// One bank as the list shows it: its own top page (`/1020/`) and name.
#[derive(Debug, Clone, Copy)]
pub struct BankEntry<'a> {
    pub top: &'a str,
    pub name: &'a str,
}

/// Keys 1–9 then 0 pick a bank; further banks are listed without a key.
pub fn bank_list(ctx: &Ctx, banks: &[BankEntry]) -> Markup {
    const KEYS: [char; 10] = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '0'];
    let body = html! {
        "ご利用の金融機関を選んでください。" br;
        @for (i, b) in banks.iter().enumerate() {
            @match KEYS.get(i) {
                Some(&k) => { (key_link(ctx, k, b.top, b.name)) br; }
                None => { a href=(ctx.href(b.top)) { (b.name) } br; }
            }
        }
    };
    page(ctx, "金融機関の選択", body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_bank_has_its_key_and_own_top_page() {
        let ctx = Ctx {
            bank: "しんきん共同センター",
            ..Ctx::default()
        };
        let banks = [
            BankEntry {
                top: "/1020/",
                name: "あさひ信用金庫",
            },
            BankEntry {
                top: "/1021/",
                name: "みなみ信用金庫",
            },
        ];
        let html = bank_list(&ctx, &banks).into_string();
        assert!(html.contains(r#"href="/1020/" accesskey="1""#), "{html}");
        assert!(html.contains(r#"href="/1021/" accesskey="2""#), "{html}");
    }

    #[test]
    fn a_bank_prefix_goes_before_every_own_link_and_form() {
        let ctx = Ctx {
            base: "/1020",
            guid_on: true,
            ..Ctx::default()
        };
        assert_eq!(ctx.href("/menu"), "/1020/menu?guid=ON");
        assert_eq!(ctx.action("/login"), "/1020/login?guid=ON");
    }
}
