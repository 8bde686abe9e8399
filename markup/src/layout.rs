//! The page frame every phone screen shares: bank name, customer greeting, title, footer keys.

use crate::keys::{key_link, InputMode, Keypad};
use crate::paths;
use maud::{html, Markup, PreEscaped};

/// What every screen needs to know about the phone and the session it renders for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ctx<'a> {
    pub bank: &'a str,
    pub keypad: Keypad,
    /// The input-mode attribute the phone reads.
    pub input: InputMode,
    /// i-mode HTML 1.0 (501i): no `accesskey` and no `tel:` links.
    pub imode_html1: bool,
    /// Session ID to carry in links and forms, for phones that keep no cookies.
    pub sid: Option<&'a str>,
    /// i-mode sends its subscriber ID only to URLs with `guid=ON`.
    pub guid_on: bool,
    /// Per-session anti-forgery value, put in every form.
    pub csrf: Option<&'a str>,
    /// The customer's name, greeted as `〇〇様` once their password has been checked.
    pub customer: Option<&'a str>,
    /// Logged in: pages end with the `[*]メニュー` `[#]ログアウト` keys.
    pub footer: bool,
}

impl Ctx<'_> {
    /// A link to one of the gateway's own pages, carrying `guid=ON` and the session ID as needed.
    /// Never used for other sites: the session ID must not leak to them.
    pub fn href(&self, path: &str) -> String {
        let mut url = String::with_capacity(path.len() + 48);
        url.push_str(path);
        let mut sep = if path.contains('?') { '&' } else { '?' };
        if self.guid_on {
            url.push(sep);
            url.push_str("guid=ON");
            sep = '&';
        }
        if let Some(sid) = self.sid {
            url.push(sep);
            url.push_str("sid=");
            url.push_str(sid);
        }
        url
    }

    /// A form action: `guid=ON` in the URL, the session in hidden fields.
    pub fn action(&self, path: &str) -> String {
        if self.guid_on {
            format!("{path}?guid=ON")
        } else {
            path.to_owned()
        }
    }

    /// Hidden fields every form carries: session ID (cookie-less phones) and anti-forgery value.
    pub fn hidden(&self) -> Markup {
        html! {
            @if let Some(sid) = self.sid { input type="hidden" name="sid" value=(sid); }
            @if let Some(csrf) = self.csrf { input type="hidden" name="csrf" value=(csrf); }
        }
    }
}

/// Wraps a screen body in the page frame.
pub fn page(ctx: &Ctx, title: &str, body: Markup) -> Markup {
    html! {
        (PreEscaped("<!DOCTYPE HTML PUBLIC \"-//W3C//DTD Compact HTML 1.0 Draft//EN\">"))
        html {
            head {
                meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS";
                title { (title) }
            }
            body {
                (ctx.bank) br;
                @if let Some(name) = ctx.customer { (name) "様" br; }
                hr;
                (title) br;
                (body)
                @if ctx.footer {
                    hr;
                    (key_link(ctx, '*', paths::MENU, "メニュー")) br;
                    (key_link(ctx, '#', paths::LOGOUT, "ログアウト"))
                }
            }
        }
    }
}

/// A telephone number: a `tel:` link where the phone can dial from a page.
pub fn phone_number(ctx: &Ctx, number: &str) -> Markup {
    html! {
        @if ctx.imode_html1 { (number) } @else { a href={ "tel:" (number) } { (number) } }
    }
}

/// An error or notice line, marked so it stands out on a monochrome screen.
pub fn notice(message: &str) -> Markup {
    html! { "■" (message) br; }
}
