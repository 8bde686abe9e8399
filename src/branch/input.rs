//! Checks the shape of what staff type before anything is looked up: form and application
//! numbers, dates, branch codes, serials, reasons. Each check answers the value or the message
//! to show; the procedures share them.

use crate::config::Bank;
use chrono::NaiveDate;

/// A paper form's or application's number: half-width letters, digits and hyphens, upper-cased.
pub fn number(raw: &str, what: &'static str) -> Result<String, String> {
    let n = raw.trim().to_ascii_uppercase();
    if n.is_empty() {
        Err(format!("{what}を入力してください。"))
    } else if n.len() > 20 || !n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        Err(format!(
            "{what}は半角英数字とハイフン(20文字まで)で入力してください。"
        ))
    } else {
        Ok(n)
    }
}

/// A date `YYYY-MM-DD`, not after `today` (also `YYYY-MM-DD`).
pub fn date_not_after(raw: &str, today: &str, what: &'static str) -> Result<String, String> {
    let d = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{what}は YYYY-MM-DD の形で入力してください。"))?;
    let text = d.format("%Y-%m-%d").to_string();
    if text.as_str() > today {
        return Err(format!("{what}に未来の日付は入力できません。"));
    }
    Ok(text)
}

/// A reason or note: required when `required`, at most 200 characters.
pub fn reason(raw: &str, required: bool) -> Result<String, String> {
    let r = raw.trim();
    if required && r.is_empty() {
        Err("理由を入力してください。".into())
    } else if r.chars().count() > 200 {
        Err("理由は200文字以内で入力してください。".into())
    } else {
        Ok(r.to_owned())
    }
}

/// A branch code of the bank profile (the form's select).
pub fn branch(bank: &Bank, code: &str) -> Result<String, String> {
    if bank.branches.iter().any(|b| b.code == code) {
        Ok(code.to_owned())
    } else {
        Err("受付店を選んでください。".to_owned())
    }
}

/// The 本人確認済み box, ticked.
pub fn identity_checked(value: Option<&str>) -> Result<(), String> {
    if value == Some("1") {
        Ok(())
    } else {
        Err("本人確認を行い、「本人確認済み」にチェックしてください。".to_owned())
    }
}

/// An optional serial as typed (spaces and hyphens dropped, upper-cased): `None` when left
/// empty, `message` when it is not a serial.
pub fn serial(raw: &str, message: &str) -> Result<Option<String>, String> {
    let typed = crate::form::serial(raw);
    if typed.is_empty() {
        Ok(None)
    } else if crate::inventory::valid_serial(&typed) {
        Ok(Some(typed))
    } else {
        Err(message.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(number(" f-2026-001 ", "用紙番号").unwrap(), "F-2026-001");
        assert!(number("", "用紙番号").is_err());
        assert!(number("F 1", "用紙番号").is_err());
        assert!(number(&"1".repeat(21), "用紙番号").is_err());
    }

    #[test]
    fn dates() {
        assert_eq!(
            date_not_after("2026-11-01", "2026-11-22", "受付日").unwrap(),
            "2026-11-01"
        );
        assert!(date_not_after("2026-11-23", "2026-11-22", "受付日").is_err());
        assert!(date_not_after("2026-02-30", "2026-11-22", "受付日").is_err());
        assert!(date_not_after("22/11/2026", "2026-11-22", "受付日").is_err());
    }
}
