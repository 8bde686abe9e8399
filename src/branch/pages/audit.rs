//! The audit view.

use super::{layout, Nav};
use crate::branch::paths;
use crate::clock::jst;
use crate::store::AuditRecord;
use maud::{html, Markup};

pub fn audit(
    nav: Nav,
    contract: &str,
    since: &str,
    records: &[AuditRecord],
    message: Option<&str>,
) -> Markup {
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
            p { "新しい順に" (records.len()) "件" }
            table {
                tr { th { "記録番号" } th { "日時" } th { "事象" } th { "職員" } th { "店番" } th { "契約者ID" } th { "トークン" } th { "内容" } }
                @for r in records {
                    // 記録番号 is the audit record number the OTP API returns as `receipt`.
                    tr { td { "#" (r.seq) } td { (jst(r.at)) } td { (r.event) } td { (r.staff.as_deref().unwrap_or("")) }
                         td { (r.branch.as_deref().unwrap_or("")) } td { (r.contract_id.as_deref().unwrap_or("")) }
                         td { (r.serial.as_deref().unwrap_or("")) } td { (r.detail) } }
                }
            }
        },
    )
}
