//! Reading an operator's CSV file (the host's exports): UTF-8, a byte-order mark and CRLF line
//! ends accepted, a fixed header, every bad row named by its line (counted from the records'
//! byte offsets: a quoted field may span lines). Shared by [`super::customers`] and
//! [`super::businesses`], with the column checks both make.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{BufRead, Read};
use std::rc::Rc;

/// Longest name accepted (characters).
pub(super) const MAX_NAME: usize = 64;

/// Whether `name` is 1 to [`MAX_NAME`] characters with no control character.
pub(super) fn name_ok(name: &str) -> bool {
    let chars = name.chars().count();
    chars > 0 && chars <= MAX_NAME && !name.chars().any(char::is_control)
}

/// The bytes the CSV reader has read and the line counter not yet passed.
type Seen = Rc<RefCell<VecDeque<u8>>>;

/// A reader that keeps what it reads for [`LineCounter`] (which drops it as it counts, so
/// this holds about one read-ahead buffer: a file of any size is read in bounded memory).
struct Tee<R> {
    inner: R,
    seen: Seen,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.seen.borrow_mut().extend(&buf[..n]);
        Ok(n)
    }
}

/// The 1-based line of byte offsets, asked in increasing order.
struct LineCounter {
    seen: Seen,
    /// The offset of the first byte of `seen`.
    offset: u64,
    line: u64,
}

impl LineCounter {
    fn at(&mut self, byte: u64) -> u64 {
        let mut seen = self.seen.borrow_mut();
        let mut to = byte;
        // After a CR the reader starts the next record on the LF that ends the line.
        let ahead = usize::try_from(to.saturating_sub(self.offset)).unwrap_or(usize::MAX);
        if to >= self.offset && seen.get(ahead) == Some(&b'\n') {
            to += 1;
        }
        if to > self.offset {
            let n = usize::try_from(to - self.offset)
                .unwrap_or(usize::MAX)
                .min(seen.len());
            self.line += seen.drain(..n).filter(|&b| b == b'\n').count() as u64;
            self.offset += n as u64;
        }
        self.line
    }
}

/// Calls `row` with the line and the trimmed fields of each data row (blank lines skipped);
/// returns every bad row as `line N: why`, in file order: rows that are not CSV or not UTF-8,
/// and those `row` refuses (its `Err` is the why). A wrong or missing header is the only
/// reason given.
/// The file is read as a stream; `Err` when reading it fails.
pub(super) fn each_row_from(
    input: &mut dyn Read,
    header: &[&str],
    mut row: impl FnMut(u64, &[&str]) -> Result<(), String>,
) -> std::io::Result<Vec<String>> {
    let mut input = std::io::BufReader::new(input);
    if input.fill_buf()?.starts_with(b"\xEF\xBB\xBF") {
        input.consume(3);
    }
    let seen = Seen::default();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(Tee {
            inner: input,
            seen: seen.clone(),
        });
    let mut bad = Vec::new();
    let mut in_header = true;
    let mut lines = LineCounter {
        seen,
        offset: 0,
        line: 1,
    };
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                if let csv::ErrorKind::Io(io) = e.kind() {
                    return Err(std::io::Error::new(io.kind(), io.to_string()));
                }
                let line = e.position().map_or(0, |p| lines.at(p.byte()));
                bad.push(format!("line {line}: not readable as CSV"));
                continue;
            }
        }
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
                return Ok(vec![format!(
                    "line {line}: the header must be {}",
                    header.join(",")
                )]);
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
    Ok(bad)
}

/// The reason of a row with the wrong number of fields.
pub(super) fn field_count(got: usize, want: usize) -> String {
    format!("{got} fields, expected {want}")
}
