//! ロック解除: the request's page, and what staff read when recording and deciding one.

use super::{decide_forms, decision_rows, layout, Nav};
use crate::branch::paths;
use crate::branch::procedures::Release;
use crate::clock::jst;
use maud::{html, Markup};

pub const RECORD: &str = "ロック解除の受付";
pub const RELEASE: &str = "ロック解除";

pub fn decide_title(reject: bool) -> &'static str {
    if reject {
        "ロック解除の却下"
    } else {
        "ロック解除の承認"
    }
}

pub fn recorded(r: &Release) -> Vec<String> {
    vec![format!(
        "{}を受け付けました。受付番号: {}(別の役席者の承認で解除されます)",
        r.kind.label(),
        r.number()
    )]
}

pub fn decided(r: &Release, reject: bool) -> Vec<String> {
    vec![if reject {
        format!("{} を却下しました。ロックはそのままです。", r.number())
    } else {
        format!("{} を承認し、{}を行いました。", r.number(), r.kind.label())
    }]
}

pub fn detail(nav: Nav, r: &Release, name: &str, can_decide: bool) -> Markup {
    layout(
        "ロック解除",
        Some(nav),
        html! {
            table {
                tr { th { "受付番号" } td { (r.number()) } }
                tr { th { "種類" } td { (r.kind.label()) } }
                tr { th { "契約者ID" } td { a href={ (paths::CUSTOMER) "?contract_id=" (r.contract_id) } { (r.contract_id) } } }
                tr { th { "氏名" } td { (name) } }
                @if let Some(s) = &r.serial { tr { th { "トークン" } td { (s) } } }
                tr { th { "備考" } td { (r.note) } }
                tr { th { "受付者" } td { (r.recorded_by) " (店番 " (r.branch_code) ") " (jst(r.recorded_at)) } }
                (decision_rows(&r.decision))
            }
            @if can_decide {
                (decide_forms(nav, paths::RELEASES_APPROVE, paths::RELEASES_REJECT, "id", &r.id.to_string()))
            }
        },
    )
}
