//! 発行申込書: what staff read when a hardware token is issued.

use super::yen;
use crate::branch::procedures::Application;

pub const TITLE: &str = "ハードウェアトークンの発行";

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
