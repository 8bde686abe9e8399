//! Decoding of `application/x-www-form-urlencoded` bodies and query strings sent by phones:
//! percent-encoded Shift_JIS bytes, strictly decoded, then normalised (full-width → half-width).

use encoding_rs::{Encoding, SHIFT_JIS};

/// Longest value a field may have, in characters; no field of ours needs more.
pub const MAX_FIELD_CHARS: usize = 256;
/// Most fields a form may carry.
pub const MAX_FIELDS: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("field is not valid Shift_JIS")]
    Encoding,
    #[error("bad percent escape")]
    Percent,
    #[error("field too long")]
    TooLong,
    #[error("too many fields")]
    TooMany,
    #[error("control character in field")]
    Control,
}

/// Decoded fields in the order sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    fields: Vec<(String, String)>,
}

impl Form {
    /// Parses `a=1&b=%82%A0` (Shift_JIS bytes behind the escapes), as phones send.
    pub fn parse(raw: &[u8]) -> Result<Form, FormError> {
        Form::parse_in(raw, SHIFT_JIS)
    }

    /// Parses a form whose escaped bytes are in `encoding` (UTF-8 for the branch console).
    pub fn parse_in(raw: &[u8], encoding: &'static Encoding) -> Result<Form, FormError> {
        // Most requests (every plain GET) have neither query nor body.
        if raw.is_empty() {
            return Ok(Form::default());
        }
        let mut fields = Vec::new();
        for pair in raw.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            if fields.len() == MAX_FIELDS {
                return Err(FormError::TooMany);
            }
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &[][..]),
            };
            fields.push((
                decode_component(name, encoding)?,
                decode_component(value, encoding)?,
            ));
        }
        Ok(Form { fields })
    }

    /// The first value of `name`, as sent (after decoding).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `name` normalised to half-width and trimmed; empty when absent.
    pub fn text(&self, name: &str) -> String {
        self.get(name).map(half_width).unwrap_or_default()
    }

    /// Adds the fields of `other` after these (query fields first, then body fields).
    pub fn extend(&mut self, other: Form) {
        self.fields.extend(other.fields);
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn decode_component(raw: &[u8], encoding: &'static Encoding) -> Result<String, FormError> {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hi = raw.get(i + 1).copied().and_then(hex);
                let lo = raw.get(i + 2).copied().and_then(hex);
                match (hi, lo) {
                    (Some(h), Some(l)) => bytes.push(h << 4 | l),
                    _ => return Err(FormError::Percent),
                }
                i += 2;
            }
            b => bytes.push(b),
        }
        i += 1;
    }
    let text = encoding
        .decode_without_bom_handling_and_without_replacement(&bytes)
        .ok_or(FormError::Encoding)?;
    if text.chars().any(char::is_control) {
        return Err(FormError::Control);
    }
    if text.chars().count() > MAX_FIELD_CHARS {
        return Err(FormError::TooLong);
    }
    Ok(text.into_owned())
}

/// Full-width ASCII (`１２３`, `ＡＢＣ`) and the ideographic space become half-width; trimmed.
pub fn half_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// A token serial as typed: half-width, upper case, spaces and hyphens (any width) removed.
pub fn serial(s: &str) -> String {
    half_width(s)
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | 'ー' | '‐' | '−' | '―' | '–' | '—'))
        .flat_map(char::to_uppercase)
        .collect()
}

/// Digits only after normalisation (contract IDs, OTPs); spaces and hyphens dropped.
pub fn digits(s: &str) -> String {
    half_width(s)
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_shift_jis_escapes() {
        // 信金 in Shift_JIS is 90 4D 8B E0.
        let f = Form::parse(b"name=%90M%8B%E0&x=a+b&empty=&flag").unwrap();
        assert_eq!(f.get("name"), Some("信金"));
        assert_eq!(f.get("x"), Some("a b"));
        assert_eq!(f.get("empty"), Some(""));
        assert_eq!(f.get("flag"), Some(""));
        assert_eq!(f.get("missing"), None);
    }

    #[test]
    fn refuses_malformed_input() {
        assert_eq!(Form::parse(b"a=%82"), Err(FormError::Encoding)); // truncated lead byte
        assert_eq!(Form::parse(b"a=%FF%FF"), Err(FormError::Encoding));
        assert_eq!(Form::parse(b"a=%G1"), Err(FormError::Percent));
        assert_eq!(Form::parse(b"a=%4"), Err(FormError::Percent));
        assert_eq!(Form::parse(b"a=x%00y"), Err(FormError::Control));
        assert_eq!(Form::parse(b"a=x%0D%0Ay"), Err(FormError::Control));
        let long = format!("a={}", "x".repeat(MAX_FIELD_CHARS + 1));
        assert_eq!(Form::parse(long.as_bytes()), Err(FormError::TooLong));
        let many = "a=1&".repeat(MAX_FIELDS + 1);
        assert_eq!(Form::parse(many.as_bytes()), Err(FormError::TooMany));
    }

    #[test]
    fn normalises_full_width() {
        // １２３ＡＢＣ in Shift_JIS.
        let f = Form::parse(b"v=%82P%82Q%82R%82%60%82a%82b").unwrap();
        assert_eq!(f.text("v"), "123ABC");
        assert_eq!(serial("ｇｍ－hw 0000 0001"), "GMHW00000001");
        assert_eq!(serial(" gm-hw-0000-0001 "), "GMHW00000001");
        assert_eq!(digits("１０００ ０００ ００１"), "1000000001");
    }
}

#[cfg(test)]
mod property {
    use super::*;

    /// A small deterministic generator (xorshift): the same inputs on every run.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_decoded_text_is_clean() {
        let mut state = 0x9E37_79B9_7F4A_7C15;
        // Biased towards the bytes that matter: escapes, separators, Shift_JIS lead bytes.
        let alphabet = b"%&=+0123456789ABCDEFabcdef\x81\x82\x83\x9f\xe0\xef\xfc\x00\r\n ";
        for _ in 0..50_000 {
            let len = (next(&mut state) % 64) as usize;
            let input: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next(&mut state);
                    if r.is_multiple_of(4) {
                        r as u8
                    } else {
                        alphabet[(r as usize >> 8) % alphabet.len()]
                    }
                })
                .collect();
            if let Ok(form) = Form::parse(&input) {
                for (name, value) in &form.fields {
                    assert!(!name.chars().chain(value.chars()).any(char::is_control));
                    assert!(value.chars().count() <= MAX_FIELD_CHARS);
                }
            }
        }
    }
}
