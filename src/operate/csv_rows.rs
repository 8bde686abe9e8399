//! Reading an operator's CSV file (the host's exports): UTF-8, a byte-order mark and CRLF line
//! ends accepted, a fixed header, every bad row named by its line (counted from the records'
//! byte offsets: a quoted field may span lines). Shared by [`super::customers`] and
//! [`super::businesses`], with the column checks both make.

use std::collections::HashMap;

/// Longest name accepted (characters).
pub(super) const MAX_NAME: usize = 64;

/// Whether `name` is 1 to [`MAX_NAME`] characters with no control character.
pub(super) fn name_ok(name: &str) -> bool {
    let chars = name.chars().count();
    chars > 0 && chars <= MAX_NAME && !name.chars().any(char::is_control)
}

/// The 1-based line of byte offsets, asked in increasing order.
struct LineCounter<'a> {
    data: &'a [u8],
    offset: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(data: &'a [u8]) -> Self {
        LineCounter {
            data,
            offset: 0,
            line: 1,
        }
    }

    fn at(&mut self, byte: u64) -> u64 {
        let mut to = usize::try_from(byte)
            .unwrap_or(usize::MAX)
            .min(self.data.len());
        // After a CR the reader starts the next record on the LF that ends the line.
        if self.data.get(to) == Some(&b'\n') {
            to += 1;
        }
        if to > self.offset {
            let newlines = self.data[self.offset..to].iter().filter(|&&b| b == b'\n');
            self.line += newlines.count() as u64;
            self.offset = to;
        }
        self.line
    }
}

/// Calls `row` with the line and the trimmed fields of each data row (blank lines skipped);
/// returns every bad row as `line N: why`, in file order: rows that are not CSV or not UTF-8,
/// and those `row` refuses (its `Err` is the why). A wrong or missing header is the only
/// reason given.
pub(super) fn each_row(
    csv_bytes: &[u8],
    header: &[&str],
    mut row: impl FnMut(u64, &[&str]) -> Result<(), String>,
) -> Vec<String> {
    let data = csv_bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(csv_bytes);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(data);
    let mut bad = Vec::new();
    let mut in_header = true;
    let mut lines = LineCounter::new(data);
    for record in reader.byte_records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| lines.at(p.byte()));
                bad.push(format!("line {line}: not readable as CSV"));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| lines.at(p.byte()));
        let fields: Option<Vec<&str>> = record
            .iter()
            .map(|f| std::str::from_utf8(f).ok().map(str::trim))
            .collect();
        let Some(fields) = fields else {
            bad.push(format!("line {line}: not UTF-8"));
            continue;
        };
        if in_header {
            in_header = false;
            if fields != header {
                return vec![format!(
                    "line {line}: the header must be {}",
                    header.join(",")
                )];
            }
            continue;
        }
        if fields.len() == 1 && fields[0].is_empty() {
            continue; // a blank line
        }
        if let Err(why) = row(line, &fields) {
            bad.push(format!("line {line}: {why}"));
        }
    }
    if in_header {
        bad.push(format!("line 1: the header must be {}", header.join(",")));
    }
    bad
}

/// The "also on line N" check of a key that must be unique in a file: remembers `key`'s line.
#[derive(Default)]
pub(super) struct Unique(HashMap<String, u64>);

impl Unique {
    /// `Err(first line)` when `key` was seen before.
    pub(super) fn first(&mut self, key: &str, line: u64) -> Result<(), u64> {
        match self.0.insert(key.to_owned(), line) {
            Some(first) => Err(first),
            None => Ok(()),
        }
    }
}

/// The reason of a row with the wrong number of fields.
pub(super) fn field_count(got: usize, want: usize) -> String {
    format!("{got} fields, expected {want}")
}
