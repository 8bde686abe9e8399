//! The identifiers that travel through the gateway as text: a customer's 契約者ID, a token's
//! serial and a one-time code read off a token. Each has one rule of shape, checked where it
//! enters (a phone form, the OTP API, an import file); after that it is its own type, so a serial
//! cannot be passed where a code or a contract ID is expected. Normalising what a phone typed
//! (full-width digits, hyphens) is the form decoder's job ([`crate::form`]), before the rule.

use std::fmt;
use thiserror::Error;

/// Why a piece of text is not the identifier asked for. Each front words it in its own form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum IdError {
    #[error("empty")]
    Empty,
    #[error("not the expected shape")]
    Malformed,
}

/// A 契約者ID (or a 法人 契約先ID): 1 to 16 ASCII letters or digits.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ContractId(String);

/// A token serial: 12 upper-case ASCII letters or digits (printed on the token's back).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Serial(String);

/// A one-time code as typed: 6 to 8 ASCII digits. A live code is a secret for its time step:
/// it is never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpCode(String);

fn checked(s: &str, ok: impl Fn(&str) -> bool) -> Result<String, IdError> {
    if s.is_empty() {
        Err(IdError::Empty)
    } else if ok(s) {
        Ok(s.to_owned())
    } else {
        Err(IdError::Malformed)
    }
}

impl ContractId {
    /// A contract ID read back from the store, which checked it when it entered.
    pub(crate) fn stored(s: String) -> Self {
        Self(s)
    }

    pub fn parse(s: &str) -> Result<Self, IdError> {
        checked(s, |s| {
            s.len() <= 16 && s.bytes().all(|b| b.is_ascii_alphanumeric())
        })
        .map(Self)
    }
}

impl Serial {
    /// A serial read back from the store, which checked it when it entered.
    pub(crate) fn stored(s: String) -> Self {
        Self(s)
    }

    pub fn parse(s: &str) -> Result<Self, IdError> {
        checked(s, |s| {
            s.len() == 12
                && s.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        })
        .map(Self)
    }
}

impl OtpCode {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        checked(s, |s| {
            (6..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
        })
        .map(Self)
    }
}

macro_rules! text {
    ($($t:ident),*) => {$(
        impl $t {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }
        impl TryFrom<String> for $t {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                Self::parse(&s)
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    )*};
}
text!(ContractId, Serial, OtpCode);

impl fmt::Display for ContractId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ContractId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContractId({})", self.0)
    }
}

impl fmt::Debug for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Serial({})", self.0)
    }
}

impl fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OtpCode(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_ids() {
        assert_eq!(
            ContractId::parse("1000000001").unwrap().as_str(),
            "1000000001"
        );
        assert!(ContractId::parse("ABC123").is_ok());
        assert_eq!(ContractId::parse(""), Err(IdError::Empty));
        assert_eq!(
            ContractId::parse("12345678901234567"),
            Err(IdError::Malformed)
        );
        assert_eq!(ContractId::parse("10-01"), Err(IdError::Malformed));
        assert_eq!(ContractId::parse("１２"), Err(IdError::Malformed));
    }

    #[test]
    fn serials() {
        assert!(Serial::parse("GMHW00000001").is_ok());
        assert_eq!(Serial::parse("gmhw00000001"), Err(IdError::Malformed));
        assert_eq!(Serial::parse("GMHW0000001"), Err(IdError::Malformed));
        assert_eq!(Serial::parse(""), Err(IdError::Empty));
    }

    #[test]
    fn codes_are_digits_and_never_shown_by_debug() {
        let code = OtpCode::parse("287082").unwrap();
        assert_eq!(code.as_str(), "287082");
        assert_eq!(format!("{code:?}"), "OtpCode(..)");
        assert!(OtpCode::parse("12345678").is_ok());
        assert_eq!(OtpCode::parse("12345"), Err(IdError::Malformed));
        assert_eq!(OtpCode::parse("12345a"), Err(IdError::Malformed));
        assert_eq!(OtpCode::parse(""), Err(IdError::Empty));
    }
}
