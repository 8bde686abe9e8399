//! [`BankCode`]: the 4-digit 金融機関コード naming a bank everywhere (files, paths, store keys).

use std::fmt;

/// A 金融機関コード: exactly four ASCII digits (`1020`).
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct BankCode(String);

impl TryFrom<String> for BankCode {
    type Error = String;
    fn try_from(s: String) -> Result<BankCode, String> {
        s.parse()
    }
}

impl From<BankCode> for String {
    fn from(c: BankCode) -> String {
        c.0
    }
}

impl BankCode {
    /// The code if `s` is four ASCII digits.
    pub fn parse(s: &str) -> Option<BankCode> {
        (s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit())).then(|| BankCode(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path prefix of the bank's pages: `/1020`.
    pub fn prefix(&self) -> String {
        format!("/{}", self.0)
    }
}

impl fmt::Display for BankCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for BankCode {
    type Err = String;
    fn from_str(s: &str) -> Result<BankCode, String> {
        BankCode::parse(s).ok_or_else(|| format!("bank code {s:?}: four digits (金融機関コード)"))
    }
}

#[cfg(test)]
mod tests {
    use super::BankCode;

    #[test]
    fn four_digits_only() {
        assert_eq!(BankCode::parse("1020").unwrap().prefix(), "/1020");
        for bad in ["102", "10200", "10a0", "", "１０２０"] {
            assert!(BankCode::parse(bad).is_none(), "{bad}");
        }
    }
}
