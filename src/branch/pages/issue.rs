//! 発行申込書: what staff read when a hardware token is issued.

use super::yen;
use crate::branch::procedures::{Application, CancelForm};

pub const TITLE: &str = "ハードウェアトークンの発行";
pub const APPROVE: &str = "発行申込書(交換)の承認";

/// The kind of a replacement as lists show it: 発行申込書(故障による交換).
pub fn replacement_kind(f: &CancelForm) -> String {
    match &f.replacement {
        Some(r) => format!("発行申込書({})", r.reason.label()),
        None => "利用中止届".into(),
    }
}

/// A replacement recorded (受付済): the active token stays active until approval.
pub fn replacement_recorded(f: &CancelForm) -> Vec<String> {
    let reason = f
        .replacement
        .as_ref()
        .map(|r| r.reason.label())
        .unwrap_or("");
    vec![
        format!(
            "申込書番号 {}({reason})を受け付けました(受付済)。",
            f.form_no
        ),
        format!(
            "トークン {} は、別の役席者が承認するまで利用中のままです。承認後に新しいトークンをお渡しください。",
            f.serial
        ),
    ]
}

/// A replacement approved: the old token handed back, the new one to hand over.
pub fn replacement_approved(f: &CancelForm, a: &Application) -> Vec<String> {
    let mut lines = vec![format!("申込書番号 {} を承認しました。", f.form_no)];
    lines.extend(issued(a));
    lines.push("新しいトークンの利用開始まで、振込等の資金移動は停止されます。".into());
    lines
}

pub fn issued(a: &Application) -> Vec<String> {
    let mut lines = vec![
        format!(
            "申込書番号 {}({})で、トークン {} をお渡しください。",
            a.application_no,
            a.reason.label(),
            a.serial
        ),
        format!("手数料: {}", yen(a.fee_yen)),
    ];
    if let Some(old) = &a.returned_serial {
        lines.push(format!(
            "返却されたトークン {old} は返却済として登録しました。"
        ));
    }
    lines.push(
        "このトークンは、このお客様だけが携帯電話の利用開始(または交換)で登録できます。".into(),
    );
    lines
}
