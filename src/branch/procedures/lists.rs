//! The lists (procedure): 承認待ち (forms and releases waiting for a supervisor), 本日の処理
//! (decided or issued today, JST) and 利用中止の未届 (customers sent to the branch by the
//! phone's 利用中止 page who have brought no form since), each also as CSV.

use super::{name_of, nav, today, Decision, Release, Step};
use crate::branch::pages::lists::{self as page, Row};
use crate::branch::pages::{self};
use crate::branch::{export, html, paths, BranchError, Staffed};
use crate::clock::{self, day_start, jst};
use crate::store::CancelForm;
use hyper::StatusCode;

/// A maker–checker record as the lists show it: a form (利用中止届 or replacement 発行申込書)
/// or a lock release.
struct Entry<'a> {
    href: String,
    number: String,
    kind: String,
    contract_id: &'a str,
    serial: &'a str,
    received_on: String,
    branch_code: &'a str,
    recorded_by: &'a str,
    recorded_at: u64,
    decision: &'a Decision,
}

impl<'a> Entry<'a> {
    fn form(f: &'a CancelForm) -> Entry<'a> {
        Entry {
            href: format!("{}?no={}", paths::FORM, f.form_no),
            number: f.form_no.clone(),
            kind: pages::issue::replacement_kind(f),
            contract_id: &f.contract_id,
            serial: &f.serial,
            received_on: f.received_on.clone(),
            branch_code: &f.branch_code,
            recorded_by: &f.recorded_by,
            recorded_at: f.recorded_at,
            decision: &f.decision,
        }
    }

    /// The cells every list starts with: number, kind, contract, name, token.
    fn lead(&self, s: &Staffed) -> Result<Vec<String>, BranchError> {
        Ok(vec![
            self.number.clone(),
            self.kind.clone(),
            self.contract_id.to_owned(),
            name_of(s, self.contract_id)?,
            self.serial.to_owned(),
        ])
    }

    fn release(r: &'a Release) -> Entry<'a> {
        Entry {
            href: format!("{}?id={}", paths::RELEASE, r.id),
            number: r.number(),
            kind: r.kind.label().into(),
            contract_id: &r.contract_id,
            serial: r.serial.as_deref().unwrap_or(""),
            received_on: clock::iso_day(r.recorded_at),
            branch_code: &r.branch_code,
            recorded_by: &r.recorded_by,
            recorded_at: r.recorded_at,
            decision: &r.decision,
        }
    }
}

fn list_reply(
    s: &Staffed,
    csv: bool,
    title: &str,
    file: &str,
    header: &[&str],
    rows: Vec<Row>,
    note: Option<&str>,
) -> Step {
    if csv {
        let cells: Vec<Vec<String>> = rows.into_iter().map(|r| r.cells).collect();
        let name = format!("{file}-{}.csv", today(s.now()));
        return Ok(export::reply(&name, header, &cells));
    }
    let href = format!("{}/{file}.csv", paths::LISTS);
    Ok(html(
        StatusCode::OK,
        pages::list(nav(s), title, &href, header, &rows, note),
    ))
}

/// `GET /branch/lists/pending[.csv]`: forms and releases waiting for approval.
pub fn pending(s: &Staffed, csv: bool) -> Step {
    let (forms, releases) = s.app.store.pending()?;
    let entries = forms.iter().map(Entry::form);
    let mut rows = Vec::new();
    for e in entries.chain(releases.iter().map(Entry::release)) {
        let mut cells = e.lead(s)?;
        cells.extend([
            e.received_on.clone(),
            e.branch_code.to_owned(),
            e.recorded_by.to_owned(),
            jst(e.recorded_at),
        ]);
        rows.push(Row {
            href: Some(e.href),
            cells,
        });
    }
    list_reply(
        s,
        csv,
        page::PENDING,
        "pending",
        &page::PENDING_HEADER,
        rows,
        None,
    )
}

/// `GET /branch/lists/today[.csv]`: forms, releases and applications processed today (JST).
pub fn today_list(s: &Staffed, csv: bool) -> Step {
    let day = today(s.now());
    let is_today = |at: Option<u64>| at.is_some_and(|t| clock::iso_day(t) == day);
    let detail = |d: &Decision| match d {
        Decision::Approved { receipt, .. } => receipt
            .clone()
            .map(|r| format!("受付番号 {r}"))
            .unwrap_or_default(),
        Decision::Rejected { reason, .. } => reason.clone(),
        Decision::Received => String::new(),
    };
    let from = day_start(&day).unwrap_or(0);
    let done = s.app.store.processed_between(from, from + 24 * 3600)?;
    let mut rows = Vec::new();
    let entries = done.forms.iter().map(Entry::form);
    for e in entries.chain(done.releases.iter().map(Entry::release)) {
        if is_today(e.decision.decided_at()) {
            let mut cells = e.lead(s)?;
            cells.extend([
                e.decision.label().into(),
                e.recorded_by.to_owned(),
                e.decision.decided_by().unwrap_or("").into(),
                e.decision.decided_at().map(jst).unwrap_or_default(),
                detail(e.decision),
            ]);
            rows.push(Row {
                href: Some(e.href),
                cells,
            });
        }
    }
    for a in done.applications {
        if is_today(Some(a.at)) {
            let mut note = format!("手数料 {}", pages::yen(a.fee_yen));
            if let Some(old) = &a.returned_serial {
                note.push_str(&format!(" 返却 {old}"));
            }
            rows.push(Row {
                href: Some(format!("{}?contract_id={}", paths::CUSTOMER, a.contract_id)),
                cells: vec![
                    a.application_no.clone(),
                    format!("発行申込書({})", a.reason.label()),
                    a.contract_id.clone(),
                    name_of(s, &a.contract_id)?,
                    a.serial.clone(),
                    "発行済".into(),
                    a.recorded_by.clone(),
                    a.recorded_by.clone(),
                    jst(a.at),
                    note,
                ],
            });
        }
    }
    list_reply(
        s,
        csv,
        page::TODAY,
        "today",
        &page::TODAY_HEADER,
        rows,
        None,
    )
}

/// `GET /branch/lists/attempts[.csv]`: customers sent to the branch by the phone's 利用中止
/// page who have not brought a form since.
pub fn attempts(s: &Staffed, csv: bool) -> Step {
    // The list is every attempt; each attempt's customer's forms are read by index, once.
    let mut forms: std::collections::HashMap<String, Vec<CancelForm>> = Default::default();
    // Anonymous views are counts (one record per carrier and minute); the last minute's are
    // still in memory.
    let mut anonymous = s.app.cancels.unwritten();
    // contract ID → (attempts, last attempt), in contract-ID order.
    let mut open: std::collections::BTreeMap<String, (u32, u64)> = Default::default();
    for a in s.app.store.attempts() {
        let a = a?;
        let Some(id) = a.contract_id else {
            anonymous += a.count;
            continue;
        };
        if !forms.contains_key(&id) {
            forms.insert(id.clone(), s.app.store.forms_of(&id)?);
        }
        let covered = forms
            .get(&id)
            .is_some_and(|fs| fs.iter().any(|f| f.recorded_at >= a.at));
        if !covered {
            let e = open.entry(id).or_insert((0, 0));
            e.0 += 1;
            e.1 = e.1.max(a.at);
        }
    }
    let mut rows = Vec::new();
    for (id, (count, last)) in open {
        rows.push(Row {
            href: Some(format!("{}?contract_id={id}", paths::CUSTOMER)),
            cells: vec![id.clone(), name_of(s, &id)?, count.to_string(), jst(last)],
        });
    }
    let note = page::anonymous_attempts(anonymous);
    list_reply(
        s,
        csv,
        page::ATTEMPTS,
        "attempts",
        &page::ATTEMPTS_HEADER,
        rows,
        Some(&note),
    )
}
