//! 利用中止届: the form's page, and what staff read when recording and deciding one.

use super::{decide_forms, decision_rows, layout, Nav};
use crate::branch::paths;
use crate::branch::procedures::{CancelForm, Decision};
use crate::clock::jst;
use maud::{html, Markup};

pub const RECORD: &str = "利用中止届の受付";
pub const FORM: &str = "利用中止届";
pub const APPROVE: &str = "利用中止届の承認";
pub const REJECT: &str = "利用中止届の却下";

/// Recorded (受付済): nothing has happened to the token yet.
pub fn recorded(f: &CancelForm) -> Vec<String> {
    vec![
        format!("用紙番号 {} を受け付けました(受付済)。", f.form_no),
        format!(
            "トークン {} は、別の役席者が承認するまで利用中止になりません。",
            f.serial
        ),
    ]
}

/// Approved: the token cancelled, with the 受付番号.
pub fn approved(f: &CancelForm) -> Vec<String> {
    let receipt = match &f.decision {
        Decision::Approved { receipt, .. } => receipt.clone().unwrap_or_default(),
        _ => String::new(),
    };
    vec![
        format!("用紙番号 {} を承認しました。", f.form_no),
        format!(
            "トークン {} を利用中止にしました。受付番号: {receipt}",
            f.serial
        ),
        "新しいトークンの利用開始まで、振込等の資金移動は停止されます。".into(),
    ]
}

pub fn rejected(f: &CancelForm) -> Vec<String> {
    let what = if f.replacement.is_some() {
        "申込書番号"
    } else {
        "用紙番号"
    };
    vec![format!(
        "{what} {} を却下しました。トークンは変更されていません。",
        f.form_no
    )]
}

pub fn detail(nav: Nav, f: &CancelForm, name: &str, can_decide: bool) -> Markup {
    let title = super::issue::replacement_kind(f);
    layout(
        &title,
        Some(nav),
        html! {
            table {
                @match &f.replacement {
                    Some(r) => {
                        tr { th { "申込書番号" } td { (f.form_no) } }
                        tr { th { "区分" } td { (r.reason.label()) "(無料・旧トークン返却)" } }
                    }
                    None => { tr { th { "用紙番号" } td { (f.form_no) } } }
                }
                tr { th { "契約者ID" } td { a href={ (paths::CUSTOMER) "?contract_id=" (f.contract_id) } { (f.contract_id) } } }
                tr { th { "氏名" } td { (name) } }
                @if let Some(u) = &f.user_id { tr { th { "利用者ID" } td { (u) } } }
                tr { th { "トークン" } td { (f.serial) } }
                @if let Some(r) = &f.replacement {
                    tr { th { "新しいトークン" } td { (r.serial.as_deref().unwrap_or("承認時に在庫から払出")) } }
                }
                tr { th { "受付日" } td { (f.received_on) } }
                tr { th { "受付店" } td { (f.branch_code) } }
                tr { th { "本人確認" } td { @if f.identity_checked { "済" } @else { "未" } } }
                tr { th { "受付者" } td { (f.recorded_by) " " (jst(f.recorded_at)) } }
                (decision_rows(&f.decision))
            }
            @if can_decide {
                (decide_forms(nav, paths::FORMS_APPROVE, paths::FORMS_REJECT, "form_no", &f.form_no))
            }
        },
    )
}
