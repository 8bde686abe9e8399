//! Reading a phone page the way its handset does: Shift_JIS with the carrier's pictogram bytes
//! (back to the gateway's code points, so the emulator can draw them), the Compact HTML check,
//! and where the session ID rides.

use encoding_rs::SHIFT_JIS;
use markup::Keypad;
use serde::Serialize;

/// Decodes `body` as a `keypad` handset reads it: the carrier's pictogram bytes become the
/// private-use code points the gateway writes them from; everything else is Shift_JIS.
/// Bytes that are not Shift_JIS become U+FFFD (and fail the check below).
pub fn decode(body: &[u8], keypad: Keypad) -> String {
    let table = super::handsets::pictograms(keypad);
    let codes: Vec<(Vec<u8>, char)> = table
        .iter()
        .filter_map(|p| Some((keypad.pictogram_bytes(p.char)?.to_vec(), p.char)))
        .collect();
    let mut out = String::with_capacity(body.len());
    let mut run_start = 0;
    let mut i = 0;
    while i < body.len() {
        if let Some((bytes, c)) = codes.iter().find(|(b, _)| body[i..].starts_with(b)) {
            out.push_str(&SHIFT_JIS.decode_without_bom_handling(&body[run_start..i]).0);
            out.push(*c);
            i += bytes.len();
            run_start = i;
            continue;
        }
        // Step over whole characters, so a trail byte is never read as a pictogram's lead.
        let b = body[i];
        i += if (0x81..=0x9F).contains(&b) || (0xE0..=0xFC).contains(&b) {
            2
        } else {
            1
        };
    }
    out.push_str(
        &SHIFT_JIS
            .decode_without_bom_handling(&body[run_start.min(body.len())..])
            .0,
    );
    out
}

/// The Compact HTML check: what the gateway promises of every phone page.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub ok: bool,
    pub problems: Vec<String>,
}

/// Elements and attributes Compact HTML has not (or that feature phones do not run).
const BANNED: [&str; 12] = [
    "<script",
    "<style",
    "<table",
    "<frame",
    "<iframe",
    "<link",
    "<img",
    "<object",
    "<embed",
    "<applet",
    " style=",
    " onclick=",
];

pub fn check(body: &[u8], content_type: &str, text: &str, budget: usize) -> Check {
    let mut problems = Vec::new();
    if content_type != crate::reply::SHIFT_JIS_HTML {
        problems.push(format!("content type {content_type}"));
    }
    if SHIFT_JIS.decode_without_bom_handling(body).1 {
        problems.push("not valid Shift_JIS".into());
    }
    if body.len() > budget {
        problems.push(format!(
            "{} bytes, over the {budget}-byte budget",
            body.len()
        ));
    }
    let lower = text.to_ascii_lowercase();
    for banned in BANNED {
        if lower.contains(banned) {
            problems.push(format!("{} found", banned.trim()));
        }
    }
    Check {
        ok: problems.is_empty(),
        problems,
    }
}

/// The session ID a page hands on, and how: in its URLs and forms, or in a cookie.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Session {
    pub id: String,
    /// "url" (links and hidden form fields) or "cookie".
    pub rides: &'static str,
}

/// Where the page's session rides: a `sid` cookie set, else `sid=` in its links or forms.
pub fn session(text: &str, set_cookie: Option<&str>) -> Option<Session> {
    if let Some(c) = set_cookie.and_then(|c| cookie::Cookie::parse(c.to_owned()).ok()) {
        if c.name() == crate::request::SID && !c.value().is_empty() {
            return Some(Session {
                id: c.value().to_owned(),
                rides: "cookie",
            });
        }
    }
    let in_link = text
        .split("sid=")
        .nth(1)
        .map(|rest| id_prefix(rest).to_owned());
    let in_form = text
        .split("name=\"sid\" value=\"")
        .nth(1)
        .map(|rest| id_prefix(rest).to_owned());
    in_form
        .or(in_link)
        .filter(|id| !id.is_empty())
        .map(|id| Session { id, rides: "url" })
}

fn id_prefix(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictograms_decode_to_the_gateways_code_points() {
        // 「あ」, i-mode keycap 1, then 廿① (93F9 8740: F9 87 across two characters).
        let body = b"\x82\xA0\xF9\x87\x93\xF9\x87\x40x";
        assert_eq!(decode(body, Keypad::Docomo), "あ\u{E6E2}廿①x");
        assert_eq!(decode(b"a\x1b$F<\x0fb", Keypad::Softbank), "a\u{E21C}b");
        assert_eq!(decode(b"\xF6\xFB", Keypad::Au), "\u{E522}");
        // Webcode is SoftBank's alone. (i-mode's and EZweb's code points are the plain
        // decoding of the Shift_JIS user-defined area, so those read the same anywhere.)
        assert!(!decode(b"\x1b$F<\x0f", Keypad::Docomo).contains('\u{E21C}'));
    }

    #[test]
    fn check_finds_what_chtml_has_not() {
        let ok = check(b"<p>a</p>", crate::reply::SHIFT_JIS_HTML, "<p>a</p>", 100);
        assert!(ok.ok, "{:?}", ok.problems);
        let bad = "<TABLE><tr><td style=\"x\">a</td></tr></table><script>";
        let c = check(bad.as_bytes(), "text/html", bad, 10);
        assert!(!c.ok);
        assert_eq!(c.problems.len(), 5, "{:?}", c.problems);
    }

    #[test]
    fn session_by_url_or_cookie() {
        let page = r#"<a href="/menu?guid=ON&amp;sid=AbC123" accesskey="1">"#;
        assert_eq!(
            session(page, None),
            Some(Session {
                id: "AbC123".into(),
                rides: "url"
            })
        );
        let form = r#"<input type="hidden" name="sid" value="Xy9">"#;
        assert_eq!(session(form, None).unwrap().id, "Xy9");
        let s = session("", Some("sid=Q1; Path=/; HttpOnly")).unwrap();
        assert_eq!((s.id.as_str(), s.rides), ("Q1", "cookie"));
        assert_eq!(session("", Some("sid=; Max-Age=0")), None);
        assert_eq!(session("<p>no session</p>", None), None);
    }
}
