//! The lists (procedure): 承認待ち (forms and releases waiting for a supervisor), 本日の処理
//! (decided or issued today, JST) and 利用中止の未届 (customers sent to the branch by the
//! phone's 利用中止 page who have brought no form since), each also as CSV.

use super::{name_of, nav, today, Decision, Step};
use crate::branch::pages::lists::{self as page, Row};
use crate::branch::pages::{self};
use crate::branch::{export, html, paths, Staffed};
use crate::clock::{self, day_start, jst};
use crate::store::CancelForm;
use hyper::StatusCode;

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
    let mut rows = Vec::new();
    for f in forms {
        rows.push(Row {
            href: Some(format!("{}?no={}", paths::FORM, f.form_no)),
            cells: vec![
                f.form_no.clone(),
                crate::branch::pages::issue::replacement_kind(&f),
                f.contract_id.clone(),
                name_of(s, &f.contract_id)?,
                f.serial.clone(),
                f.received_on.clone(),
                f.branch_code.clone(),
                f.recorded_by.clone(),
                jst(f.recorded_at),
            ],
        });
    }
    for r in releases {
        rows.push(Row {
            href: Some(format!("{}?id={}", paths::RELEASE, r.id)),
            cells: vec![
                r.number(),
                r.kind.label().into(),
                r.contract_id.clone(),
                name_of(s, &r.contract_id)?,
                r.serial.clone().unwrap_or_default(),
                clock::iso_day(r.recorded_at),
                r.branch_code.clone(),
                r.recorded_by.clone(),
                jst(r.recorded_at),
            ],
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
    for f in done.forms {
        if is_today(f.decision.decided_at()) {
            rows.push(Row {
                href: Some(format!("{}?no={}", paths::FORM, f.form_no)),
                cells: vec![
                    f.form_no.clone(),
                    crate::branch::pages::issue::replacement_kind(&f),
                    f.contract_id.clone(),
                    name_of(s, &f.contract_id)?,
                    f.serial.clone(),
                    f.decision.label().into(),
                    f.recorded_by.clone(),
                    f.decision.decided_by().unwrap_or("").into(),
                    f.decision.decided_at().map(jst).unwrap_or_default(),
                    detail(&f.decision),
                ],
            });
        }
    }
    for r in done.releases {
        if is_today(r.decision.decided_at()) {
            rows.push(Row {
                href: Some(format!("{}?id={}", paths::RELEASE, r.id)),
                cells: vec![
                    r.number(),
                    r.kind.label().into(),
                    r.contract_id.clone(),
                    name_of(s, &r.contract_id)?,
                    r.serial.clone().unwrap_or_default(),
                    r.decision.label().into(),
                    r.recorded_by.clone(),
                    r.decision.decided_by().unwrap_or("").into(),
                    r.decision.decided_at().map(jst).unwrap_or_default(),
                    detail(&r.decision),
                ],
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
    let mut anonymous = 0usize;
    // contract ID → (attempts, last attempt), in contract-ID order.
    let mut open: std::collections::BTreeMap<String, (u32, u64)> = Default::default();
    for a in s.app.store.attempts() {
        let a = a?;
        let Some(id) = a.contract_id else {
            anonymous += 1;
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
