//! The lists' page (承認待ち, 本日の処理, 利用中止の未届); the same rows go to CSV.

use super::{layout, Nav};
use maud::{html, Markup};

pub const PENDING: &str = "承認待ち";
pub const PENDING_HEADER: [&str; 9] = [
    "番号",
    "種類",
    "契約者ID",
    "氏名",
    "トークン",
    "受付日",
    "受付店",
    "受付者",
    "受付日時",
];
pub const TODAY: &str = "本日の処理";
pub const TODAY_HEADER: [&str; 10] = [
    "番号",
    "種類",
    "契約者ID",
    "氏名",
    "トークン",
    "結果",
    "受付者",
    "処理者",
    "処理日時",
    "備考",
];
pub const ATTEMPTS: &str = "利用中止の未届(携帯電話で利用中止を操作したお客様)";
pub const ATTEMPTS_HEADER: [&str; 4] = ["契約者ID", "氏名", "操作回数", "最終操作日時"];

/// The 利用中止の未届 list's note on attempts without a customer.
pub fn anonymous_attempts(n: u64) -> String {
    format!("ログインせずに利用中止の画面を開いた操作(お客様不明): {n}件")
}

/// One row of a list: the cells, and where the first cell links to.
pub struct Row {
    pub href: Option<String>,
    pub cells: Vec<String>,
}

pub fn list(
    nav: Nav,
    title: &str,
    csv_href: &str,
    header: &[&str],
    rows: &[Row],
    note: Option<&str>,
) -> Markup {
    layout(
        title,
        Some(nav),
        html! {
            p { a href=(csv_href) { "CSVで出力" } " (" (rows.len()) "件)" }
            @if let Some(n) = note { p { (n) } }
            table {
                tr { @for h in header { th { (h) } } }
                @for r in rows {
                    tr {
                        @for (i, c) in r.cells.iter().enumerate() {
                            td {
                                @match (&r.href, i) {
                                    (Some(h), 0) => { a href=(h) { (c) } }
                                    _ => { (c) }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}
