//! Numbered-key links, keypad pictograms and input modes.
//!
//! Feature phones are driven from the keypad: every link a user picks carries an `accesskey` and
//! shows its key, and inputs say which input mode to open so the user does not have to switch.
//!
//! Pictograms are written into the page as the carrier's own Unicode private-use code point and
//! turned into that carrier's bytes by [`crate::sjis::encode_for`], which knows only the table of
//! the page's carrier: a pictogram of another carrier can never reach a phone as raw bytes.

use crate::layout::Ctx;
use maud::{html, Markup};

/// How a key is shown next to its link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Keypad {
    /// `[1]` text: every phone can show it.
    #[default]
    Text,
    /// i-mode basic pictograms (every i-mode handset has them).
    Docomo,
    /// EZweb (au) pictograms as Shift_JIS codes.
    Au,
    /// SoftBank (J-PHONE, Vodafone, SoftBank) pictograms as webcode escapes.
    Softbank,
}

/// The keypad pictograms, per carrier: key, the carrier's Unicode private-use code point (how
/// jpmobile and Encode::JP::Mobile name them), and the bytes the carrier's browser reads.
///
/// Sources, checked against each other:
/// - Unicode's EmojiSources.txt, `0023 20E3;F985;F489;F7B0` (# for DoCoMo;KDDI;SoftBank
///   Shift_JIS), and the same file's keycap rows;
/// - jpmobile/jpmobile `lib/jpmobile/emoticon/docomo.rb` (F985 → U+E6E0, F987–F990 →
///   U+E6E2–U+E6EB), `au.rb` (F6FB, F6FC, F740–F746 → U+E522–U+E52A; F7C9 → U+E5AC;
///   F489 → U+EB84) and `softbank.rb` (U+E21C–U+E225 → webcode `F<`–`FE`, U+E210 → `F0`);
/// - Ruby's `enc/trans/emoji-exchange-tbl.rb`, which names them: [HASH KEY] U+E6E0 → KDDI
///   U+EB84, [KEYCAP 1] U+E6E2 → U+E522 … [KEYCAP 0] U+E6EB → U+E5AC.
///
/// i-mode and EZweb read their pictograms as Shift_JIS codes in the user-defined area
/// (au also as `<img localsrc>`, which only au understands and our pages avoid). SoftBank is
/// sent webcode, `ESC $ F < SI`: every SoftBank generation reads it (J-PHONE C/P/W and 3G),
/// while the Shift_JIS codes (F7BC for 1) are read by 3G handsets only.
type Pictogram = (char, char, &'static [u8]);

const DOCOMO: [Pictogram; 11] = [
    ('1', '\u{E6E2}', &[0xF9, 0x87]),
    ('2', '\u{E6E3}', &[0xF9, 0x88]),
    ('3', '\u{E6E4}', &[0xF9, 0x89]),
    ('4', '\u{E6E5}', &[0xF9, 0x8A]),
    ('5', '\u{E6E6}', &[0xF9, 0x8B]),
    ('6', '\u{E6E7}', &[0xF9, 0x8C]),
    ('7', '\u{E6E8}', &[0xF9, 0x8D]),
    ('8', '\u{E6E9}', &[0xF9, 0x8E]),
    ('9', '\u{E6EA}', &[0xF9, 0x8F]),
    ('0', '\u{E6EB}', &[0xF9, 0x90]),
    ('#', '\u{E6E0}', &[0xF9, 0x85]),
];

const AU: [Pictogram; 11] = [
    ('1', '\u{E522}', &[0xF6, 0xFB]),
    ('2', '\u{E523}', &[0xF6, 0xFC]),
    ('3', '\u{E524}', &[0xF7, 0x40]),
    ('4', '\u{E525}', &[0xF7, 0x41]),
    ('5', '\u{E526}', &[0xF7, 0x42]),
    ('6', '\u{E527}', &[0xF7, 0x43]),
    ('7', '\u{E528}', &[0xF7, 0x44]),
    ('8', '\u{E529}', &[0xF7, 0x45]),
    ('9', '\u{E52A}', &[0xF7, 0x46]),
    ('0', '\u{E5AC}', &[0xF7, 0xC9]),
    ('#', '\u{EB84}', &[0xF4, 0x89]),
];

/// Webcode: ESC `$` page code SI.
const SOFTBANK: [Pictogram; 11] = [
    ('1', '\u{E21C}', b"\x1b$F<\x0f"),
    ('2', '\u{E21D}', b"\x1b$F=\x0f"),
    ('3', '\u{E21E}', b"\x1b$F>\x0f"),
    ('4', '\u{E21F}', b"\x1b$F?\x0f"),
    ('5', '\u{E220}', b"\x1b$F@\x0f"),
    ('6', '\u{E221}', b"\x1b$FA\x0f"),
    ('7', '\u{E222}', b"\x1b$FB\x0f"),
    ('8', '\u{E223}', b"\x1b$FC\x0f"),
    ('9', '\u{E224}', b"\x1b$FD\x0f"),
    ('0', '\u{E225}', b"\x1b$FE\x0f"),
    ('#', '\u{E210}', b"\x1b$F0\x0f"),
];

impl Keypad {
    fn table(self) -> &'static [Pictogram] {
        match self {
            Keypad::Text => &[],
            Keypad::Docomo => &DOCOMO,
            Keypad::Au => &AU,
            Keypad::Softbank => &SOFTBANK,
        }
    }

    /// What shows the key: the carrier's pictogram, or `[key]` (always for `*`, which no
    /// carrier has a keypad pictogram for).
    pub fn label(self, key: char) -> String {
        match self.table().iter().find(|(k, _, _)| *k == key) {
            Some((_, pua, _)) => pua.to_string(),
            None => format!("[{key}]"),
        }
    }

    /// The bytes of this carrier's pictogram `c` (a private-use code point), if it is one.
    pub fn pictogram_bytes(self, c: char) -> Option<&'static [u8]> {
        self.table()
            .iter()
            .find(|(_, pua, _)| *pua == c)
            .map(|(_, _, bytes)| *bytes)
    }
}

/// Which input-mode attribute the phone reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputMode {
    /// All three (unknown handsets: each browser ignores the others' attributes).
    #[default]
    All,
    /// i-mode HTML 2.0 and later: `istyle`.
    Istyle,
    /// EZweb: `format` (WAP input format codes).
    Format,
    /// SoftBank: `mode`.
    Mode,
    /// i-mode HTML 1.0: none exists.
    None,
}

impl InputMode {
    fn istyle(self, v: &'static str) -> Option<&'static str> {
        matches!(self, InputMode::All | InputMode::Istyle).then_some(v)
    }
    fn format(self, v: &'static str) -> Option<&'static str> {
        matches!(self, InputMode::All | InputMode::Format).then_some(v)
    }
    fn mode(self, v: &'static str) -> Option<&'static str> {
        matches!(self, InputMode::All | InputMode::Mode).then_some(v)
    }
}

/// A link picked with a keypad key: `<a href=.. accesskey="1">[1]label</a>`. On i-mode HTML 1.0
/// (no `accesskey`) it is a plain link without the key.
pub fn key_link(ctx: &Ctx, key: char, path: &str, label: &str) -> Markup {
    html! {
        @if ctx.imode_html1 {
            a href=(ctx.href(path)) { (label) }
        } @else {
            a href=(ctx.href(path)) accesskey=(key) { (ctx.keypad.label(key)) (label) }
        }
    }
}

/// A numeric input (contract ID, OTP).
pub fn numeric_input(ctx: &Ctx, name: &str, max_len: u8, value: &str) -> Markup {
    let m = ctx.input;
    html! {
        input type="text" name=(name) value=(value) size=(max_len) maxlength=(max_len)
            istyle=[m.istyle("4")] format=[m.format("*N")] mode=[m.mode("numeric")];
    }
}

/// An upper-case alphanumeric input (token serial, e.g. `GMHW00000001`: 4 letters, 8 digits),
/// prefilled with what the user typed.
///
/// au offers a mixed mode: WML's `*X` (upper-case letters and digits; au's `format` is WML 2.0's
/// `wml:format`, WAP-238 6.5.2.1). i-mode's `istyle` and SoftBank's `mode` have no mixed mode and
/// only choose the mode the field opens in (the user can switch, unlike the XHTML
/// `-wap-input-format`), so they open in digits, which most of a serial is.
pub fn serial_input(ctx: &Ctx, name: &str, value: &str) -> Markup {
    let m = ctx.input;
    html! {
        input type="text" name=(name) value=(value) size="12" maxlength="16"
            istyle=[m.istyle("4")] format=[m.format("*X")] mode=[m.mode("numeric")];
    }
}

/// A password input; secrets are never prefilled. A non-numeric password opens in alphabet mode:
/// `istyle="3"`, `mode="alphabet"`, and on au WML's `*m` (any character, lower case first; the
/// user can switch case and mode).
pub fn password_input(ctx: &Ctx, name: &str, numeric: bool) -> Markup {
    let m = ctx.input;
    html! {
        @if numeric {
            input type="password" name=(name) size="8" maxlength="16"
                istyle=[m.istyle("4")] format=[m.format("*N")] mode=[m.mode("numeric")];
        } @else {
            input type="password" name=(name) size="8" maxlength="16"
                istyle=[m.istyle("3")] format=[m.format("*m")] mode=[m.mode("alphabet")];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_per_carrier() {
        assert_eq!(Keypad::Text.label('1'), "[1]");
        assert_eq!(Keypad::Docomo.label('1'), "\u{E6E2}");
        assert_eq!(Keypad::Docomo.label('#'), "\u{E6E0}");
        assert_eq!(Keypad::Au.label('0'), "\u{E5AC}");
        assert_eq!(Keypad::Softbank.label('9'), "\u{E224}");
        for k in [Keypad::Text, Keypad::Docomo, Keypad::Au, Keypad::Softbank] {
            assert_eq!(k.label('*'), "[*]");
        }
    }

    #[test]
    fn every_key_has_a_pictogram_for_each_carrier() {
        for k in [Keypad::Docomo, Keypad::Au, Keypad::Softbank] {
            for key in "1234567890#".chars() {
                let label = k.label(key);
                let c = label.chars().next().unwrap();
                assert!(('\u{E000}'..='\u{F8FF}').contains(&c), "{k:?} {key}");
                assert!(k.pictogram_bytes(c).is_some());
            }
        }
    }

    #[test]
    fn a_carrier_knows_only_its_own_pictograms() {
        let docomo_1 = '\u{E6E2}';
        assert!(Keypad::Au.pictogram_bytes(docomo_1).is_none());
        assert!(Keypad::Softbank.pictogram_bytes(docomo_1).is_none());
        assert!(Keypad::Text.pictogram_bytes(docomo_1).is_none());
        assert!(Keypad::Docomo.pictogram_bytes('\u{E522}').is_none());
    }

    #[test]
    fn input_mode_attributes() {
        let render = |input| {
            let ctx = Ctx {
                input,
                ..Ctx::default()
            };
            numeric_input(&ctx, "otp", 8, "").into_string()
        };
        let all = render(InputMode::All);
        assert!(
            all.contains(r#"istyle="4" format="*N" mode="numeric""#),
            "{all}"
        );
        let docomo = render(InputMode::Istyle);
        assert!(
            docomo.contains(r#"istyle="4""#)
                && !docomo.contains("format")
                && !docomo.contains("mode=")
        );
        let au = render(InputMode::Format);
        assert!(au.contains(r#"format="*N""#) && !au.contains("istyle"));
        let sb = render(InputMode::Mode);
        assert!(sb.contains(r#"mode="numeric""#) && !sb.contains("istyle"));
        let none = render(InputMode::None);
        assert!(!none.contains("istyle") && !none.contains("format") && !none.contains("mode="));
    }

    #[test]
    fn serials_open_in_digits_and_passwords_carry_a_mode_everywhere() {
        let ctx = Ctx::default();
        let serial = serial_input(&ctx, "serial", "").into_string();
        assert!(
            serial.contains(r#"istyle="4" format="*X" mode="numeric""#),
            "{serial}"
        );
        let password = password_input(&ctx, "password", false).into_string();
        assert!(
            password.contains(r#"istyle="3" format="*m" mode="alphabet""#),
            "{password}"
        );
    }
}
