//! Shift_JIS output and the page byte budget.
//!
//! Pages are built as UTF-8 by maud and encoded here. Characters Shift_JIS cannot hold come out as
//! HTML numeric character references (encoding_rs does this for HTML forms), so user input can
//! never produce bytes a phone would misread.
//!
//! Pictograms: encoding_rs follows the WHATWG encoder, which maps no private-use code point
//! (it *decodes* F040–F9FC to U+E000–U+E757, but encodes U+E000 as `&#57344;`). So the page's
//! own carrier pictograms ([`Keypad`]) are written here from that carrier's table; every other
//! private-use character still becomes a numeric reference, never another carrier's bytes.

use crate::keys::Keypad;
use encoding_rs::SHIFT_JIS;
use maud::Markup;

/// The smallest i-mode page cache (DoCoMo/1.0 without a `cNN` marker), in body bytes.
pub const SMALLEST_BUDGET: usize = 5 * 1024;

/// An encoded page, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub body: Vec<u8>,
}

impl Page {
    /// Whether the body fits a handset's cache budget (headers are not counted).
    pub fn fits(&self, budget_bytes: usize) -> bool {
        self.body.len() <= budget_bytes
    }
}

/// Encodes a rendered page as Shift_JIS, without pictograms.
pub fn encode(markup: Markup) -> Page {
    encode_for(markup, Keypad::Text)
}

/// Encodes a rendered page as Shift_JIS for a phone of `keypad`'s carrier: that carrier's
/// keypad pictograms become its bytes.
pub fn encode_for(markup: Markup, keypad: Keypad) -> Page {
    let html = markup.into_string();
    let mut body = Vec::with_capacity(html.len());
    let mut rest = html.as_str();
    while let Some((at, c)) = rest
        .char_indices()
        .find(|(_, c)| keypad.pictogram_bytes(*c).is_some())
    {
        let (bytes, _, _) = SHIFT_JIS.encode(&rest[..at]);
        body.extend_from_slice(&bytes);
        body.extend_from_slice(keypad.pictogram_bytes(c).unwrap_or_default());
        rest = &rest[at + c.len_utf8()..];
    }
    let (bytes, _, _) = SHIFT_JIS.encode(rest);
    body.extend_from_slice(&bytes);
    Page { body }
}

#[cfg(test)]
mod tests {
    use super::*;
    use maud::html;

    #[test]
    fn japanese_round_trips_and_unmappable_becomes_reference() {
        let page = encode(html! { p { "受付番号" "😀" } });
        let (text, had_errors) = SHIFT_JIS.decode_without_bom_handling(&page.body);
        assert!(!had_errors);
        assert_eq!(text, "<p>受付番号&#128512;</p>");
    }

    #[test]
    fn pictograms_only_for_their_carrier() {
        let page = |k| encode_for(html! { "\u{E6E2}\u{E522}\u{E21C}1" }, k).body;
        assert_eq!(
            page(Keypad::Docomo),
            b"\xF9\x87&#58658;&#57884;1".to_vec(),
            "i-mode keycap 1 is F987"
        );
        assert_eq!(page(Keypad::Au), b"&#59106;\xF6\xFB&#57884;1".to_vec());
        assert_eq!(
            page(Keypad::Softbank),
            b"&#59106;&#58658;\x1b$F<\x0f1".to_vec()
        );
        assert_eq!(page(Keypad::Text), b"&#59106;&#58658;&#57884;1".to_vec());
        // encoding_rs alone never writes private-use characters as bytes.
        assert_eq!(encode(html! { "\u{E000}" }).body, b"&#57344;".to_vec());
    }

    #[test]
    fn budget_is_body_bytes() {
        let page = encode(html! { "ab" });
        assert!(page.fits(2));
        assert!(!page.fits(1));
    }
}
