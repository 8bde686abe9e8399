//! 監査ログ (procedure): the audit trail, newest first, filtered by contract ID and start day;
//! the same trail as `keitai-gateway audit`.

use super::{nav, Step};
use crate::branch::pages;
use crate::branch::{html, Staffed};
use crate::clock::day_start;
use hyper::StatusCode;

/// Audit rows the console shows at most (the CLI prints them all).
const AUDIT_PAGE_ROWS: usize = 1000;

/// `GET /branch/audit?contract=&since=`: newest first.
pub fn audit(s: &Staffed) -> Step {
    let contract = crate::form::digits(&s.req.text("contract"));
    let since_text = s.req.text("since");
    let (since, message) = if since_text.is_empty() {
        (None, None)
    } else {
        match day_start(&since_text) {
            Some(t) => (Some(t), None),
            None => (None, Some("開始日は YYYY-MM-DD の形で入力してください。")),
        }
    };
    let records = s.app.store.audit_recent(
        Some(contract.as_str()).filter(|c| !c.is_empty()),
        since,
        AUDIT_PAGE_ROWS,
    )?;
    Ok(html(
        StatusCode::OK,
        pages::audit(nav(s), &contract, &since_text, &records, message),
    ))
}
