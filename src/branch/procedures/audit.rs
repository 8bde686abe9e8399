//! 監査ログ (procedure): the audit trail, newest first, filtered by contract ID and start day;
//! the same trail as `keitai-gateway audit`, one page at a time.

use super::{nav, Step};
use crate::branch::pages;
use crate::branch::{html, Staffed};
use crate::clock::day_start;
use hyper::StatusCode;

/// Audit rows per page of the console's audit view (the CLI prints them all). A view reads
/// one page's records from where the page starts, however long the trail.
pub const AUDIT_PAGE_ROWS: usize = 100;

/// `GET /branch/audit?contract=&since=&before=`: newest first, one page.
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
    // A page starts below record number `before` (the link to older records carries it).
    let before = s.req.text("before").parse::<u64>().ok();
    let mut records = s.app.store.audit_page(
        Some(contract.as_str()).filter(|c| !c.is_empty()),
        since,
        before,
        AUDIT_PAGE_ROWS + 1,
    )?;
    let older = (records.len() > AUDIT_PAGE_ROWS).then(|| {
        records.truncate(AUDIT_PAGE_ROWS);
        records.last().map_or(0, |r| r.seq)
    });
    let paging = pages::audit::Paging {
        rows: AUDIT_PAGE_ROWS,
        newer: before.is_some(),
        older,
    };
    Ok(html(
        StatusCode::OK,
        pages::audit(nav(s), &contract, &since_text, &records, paging, message),
    ))
}
