//! Shift_JIS output and the page byte budget.
//!
//! Pages are built as UTF-8 by maud and encoded here. Characters Shift_JIS cannot hold come out as
//! HTML numeric character references (encoding_rs does this for HTML forms), so user input can
//! never produce bytes a phone would misread.

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

/// Encodes a rendered page as Shift_JIS.
pub fn encode(markup: Markup) -> Page {
    let html = markup.into_string();
    let (bytes, _, _) = SHIFT_JIS.encode(&html);
    Page {
        body: bytes.into_owned(),
    }
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
    fn budget_is_body_bytes() {
        let page = encode(html! { "ab" });
        assert!(page.fits(2));
        assert!(!page.fits(1));
    }
}
