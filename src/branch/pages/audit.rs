//! The audit view: one page of the trail, with links to older records and the newest.

use super::{layout, Nav};
use crate::branch::paths;
use crate::clock::jst;
use crate::store::AuditRecord;
use maud::{html, Markup};

/// Where the audit page sits in the trail.
pub struct Paging {
    /// Records a page shows at most.
    pub rows: usize,
    /// This page is not the newest.
    pub newer: bool,
    /// Older records exist, below this record number.
    pub older: Option<u64>,
}

pub fn audit(
    nav: Nav,
    contract: &str,
    since: &str,
    records: &[AuditRecord],
    paging: Paging,
    message: Option<&str>,
) -> Markup {
    // The filters go with the page links: a contract ID and a YYYY-MM-DD date, kept to the
    // characters those have (nothing else could need URL encoding).
    let keep = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect()
    };
    let (c, d) = (keep(contract), keep(since));
    let link = |before: Option<u64>| {
        let mut q = format!("{}?contract={c}&since={d}", paths::AUDIT);
        if let Some(b) = before {
            q.push_str(&format!("&before={b}"));
        }
        q
    };
    let links = html! {
        p.paging {
            @if paging.newer { a href=(link(None)) { "« 最新の記録" } " " }
            @if let Some(b) = paging.older { a href=(link(Some(b))) { "古い記録(#" (b) "より前) »" } }
        }
    };
    layout(
        "監査ログ",
        Some(nav),
        html! {
            form method="get" action=(paths::AUDIT) {
                label { "契約者ID " input type="text" name="contract" value=(contract); }
                label { "開始日 " input type="date" name="since" value=(since); }
                button type="submit" { "絞り込み" }
            }
            @if let Some(m) = message { p.ng { (m) } }
            p { "新しい順に" (records.len()) "件(1ページ" (paging.rows) "件まで)" }
            (links)
            table {
                tr { th { "記録番号" } th { "日時" } th { "事象" } th { "職員" } th { "店番" } th { "契約者ID" } th { "トークン" } th { "内容" } }
                @for r in records {
                    // 記録番号 is the audit record number the OTP API returns as `receipt`.
                    tr { td { "#" (r.seq) } td { (jst(r.at)) } td { (r.event) } td { (r.staff.as_deref().unwrap_or("")) }
                         td { (r.branch.as_deref().unwrap_or("")) } td { (r.contract_id.as_deref().unwrap_or("")) }
                         td { (r.serial.as_deref().unwrap_or("")) } td { (r.detail) } }
                }
            }
            (links)
        },
    )
}
