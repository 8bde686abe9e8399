//! CSV exports of the console's lists: UTF-8 with a byte-order mark and CRLF line ends, so that
//! spreadsheet software opens them with the Japanese text intact.

use crate::reply::{Reply, CSV_UTF8};
use hyper::StatusCode;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A cell a spreadsheet would take for a formula gets a leading apostrophe (CSV injection).
fn cell(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_owned(),
    }
}

/// The CSV bytes of `header` and `rows`.
pub fn csv_bytes(header: &[&str], rows: &[Vec<String>]) -> Vec<u8> {
    let mut out = BOM.to_vec();
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    // Writing into a Vec cannot fail.
    let _ = w.write_record(header);
    for row in rows {
        let _ = w.write_record(row.iter().map(|c| cell(c)));
    }
    out.extend(w.into_inner().unwrap_or_default());
    out
}

/// A CSV download named `name`.
pub fn reply(name: &str, header: &[&str], rows: &[Vec<String>]) -> Reply {
    let mut r = Reply::new(StatusCode::OK, CSV_UTF8, csv_bytes(header, rows));
    r.disposition = Some(format!("attachment; filename=\"{name}\""));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_crlf_quotes_and_formula_guard() {
        let b = csv_bytes(
            &["番号", "氏名"],
            &[
                vec!["F1".into(), "信金,太郎".into()],
                vec!["=1+1".into(), "x".into()],
            ],
        );
        assert!(b.starts_with(BOM));
        let text = std::str::from_utf8(&b[3..]).unwrap();
        assert_eq!(text, "番号,氏名\r\nF1,\"信金,太郎\"\r\n'=1+1,x\r\n");
    }
}
