//! Customer names as a phone page shows them: only characters every carrier renders.
//!
//! A name can hold characters outside JIS X 0208: IBM extensions (髙, 﨑: FA40–FC4B, which no
//! carrier supports), NEC row 13, the carriers' pictogram area (F040–F9FC, where SoftBank shows
//! a pictogram) and characters Shift_JIS has no code for at all (𠮷, which would go out as a
//! numeric character reference that i-mode reads as a pictogram code). On a phone page such a
//! character becomes its customary JIS X 0208 form (髙→高, 﨑→崎, 濵→濱, 𠮷→吉) or 〓, the
//! geta mark Japanese print uses for a missing character. The branch console shows the real
//! name; only the phone pages go through here.

use encoding_rs::SHIFT_JIS;
use maud::{Markup, Render};

/// The customary JIS X 0208 substitutes for variant characters common in names.
const SUBSTITUTES: [(char, char); 4] = [('髙', '高'), ('﨑', '崎'), ('濵', '濱'), ('𠮷', '吉')];

/// What stands for a character no carrier renders.
pub const GETA: char = '〓';

/// A customer name rendered for a phone page (escaped as any maud text).
#[derive(Debug, Clone, Copy)]
pub struct Name<'a>(pub &'a str);

impl Render for Name<'_> {
    fn render(&self) -> Markup {
        for_phone(self.0).render()
    }
}

/// `name` with every character a phone may not render replaced (see the module docs).
pub fn for_phone(name: &str) -> String {
    name.chars()
        .map(|c| match SUBSTITUTES.iter().find(|(from, _)| *from == c) {
            Some(&(_, to)) => to,
            None if renders_everywhere(c) => c,
            None => GETA,
        })
        .collect()
}

/// ASCII text, JIS X 0201 katakana, or a JIS X 0208 character (rows 1–8 and 16–84, Shift_JIS
/// lead bytes 81–84 and 88–EA): nothing of the vendor or carrier areas.
fn renders_everywhere(c: char) -> bool {
    if c.is_ascii() {
        return !c.is_ascii_control();
    }
    let mut buf = [0u8; 4];
    let (bytes, _, unmappable) = SHIFT_JIS.encode(c.encode_utf8(&mut buf));
    if unmappable {
        return false;
    }
    match *bytes {
        [b] => (0xA1..=0xDF).contains(&b),
        [lead, trail] => match lead {
            0x81..=0x84 => true,
            0x88 => trail >= 0x9F,
            0x89..=0x9F | 0xE0..=0xE9 => true,
            0xEA => trail <= 0xA4,
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customary_substitutes() {
        assert_eq!(for_phone("髙橋"), "高橋");
        assert_eq!(for_phone("山﨑"), "山崎");
        assert_eq!(for_phone("濵田"), "濱田");
        assert_eq!(for_phone("𠮷野"), "吉野");
    }

    #[test]
    fn ordinary_names_are_kept() {
        for name in [
            "信金太郎",
            "留辺蘂四郎",
            "ｼﾝｷﾝ ﾀﾛｳ",
            "Taro Shinkin",
            "渡邊",
            "齋藤",
            "熙",
        ] {
            assert_eq!(for_phone(name), name);
        }
    }

    #[test]
    fn anything_else_is_a_geta_mark() {
        // IBM extensions without a customary substitute (彅, 德), NEC row 13 (①),
        // a private-use (pictogram) code point, a character without a Shift_JIS code.
        assert_eq!(for_phone("草彅"), "草〓");
        assert_eq!(for_phone("德"), "〓");
        assert_eq!(for_phone("①"), "〓");
        assert_eq!(for_phone("\u{E63E}"), "〓");
        assert_eq!(for_phone("😀"), "〓");
        assert_eq!(for_phone("a\u{7}"), "a〓");
    }

    #[test]
    fn what_comes_out_encodes_within_jis_x_0208() {
        let shown = for_phone("髙﨑濵𠮷彅①信金");
        let (bytes, _, bad) = SHIFT_JIS.encode(&shown);
        assert!(!bad);
        assert!(bytes.chunks(2).all(|p| p[0] < 0xED), "{bytes:X?}");
    }
}
