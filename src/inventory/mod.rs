//! The vendor's token inventory files: CSV (`serial,kind,algorithm,digits,period,secret_base32`)
//! and PSKC (RFC 6030, see [`crate::pskc`]).
//!
//! [`import_file`] streams a file row by row into the store's staging area (bounded memory;
//! a PSKC file is parsed whole first); any bad entry rejects the file, and the bad rows (CSV:
//! every one, by line number; PSKC: the first, by index and serial) are named, so nothing is
//! half-loaded. The tokens become visible all at once, or none when a serial is already known
//! (an unbound one may be replaced on request; a bound one never is).

pub mod pskc;

use crate::form;
use crate::otp::{HashAlg, Params};
use crate::store::{AuditEvent, Event, NewToken, Store, StoreError, Token, TokenKind, TokenState};
use std::collections::HashSet;
use std::fmt;
use std::path::Path;
use zeroize::Zeroizing;

pub const HEADER: [&str; 6] = [
    "serial",
    "kind",
    "algorithm",
    "digits",
    "period",
    "secret_base32",
];

/// A bad row, by line number (1 is the header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("{} bad row(s), nothing loaded:\n{}", .0.len(), .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Rows(Vec<RowError>),
    #[error("PSKC file, nothing loaded: {0}")]
    Pskc(#[from] crate::pskc::PskcError),
    #[error("nothing loaded: {0}")]
    Store(#[from] StoreError),
    #[error("PSKC file, nothing loaded: entry {index} (serial {serial}): {message}")]
    PskcEntry {
        index: usize,
        serial: String,
        message: String,
    },
}

/// A token as the vendor delivers it: serial, parameters and the plain seed (zeroed on drop).
/// The store seals the seed before it is written anywhere.
pub struct Seed {
    pub serial: String,
    pub kind: TokenKind,
    pub params: Params,
    pub secret: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The seed itself is never printed.
        f.debug_struct("Seed")
            .field("serial", &self.serial)
            .field("kind", &self.kind)
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl Seed {
    /// The code this token shows at `unix` (the token simulator).
    pub fn code_at(&self, unix: u64) -> String {
        self.params.code_at(&self.secret, unix)
    }

    /// The store's input record for this token.
    pub fn as_new(&self) -> NewToken<'_> {
        NewToken {
            serial: &self.serial,
            kind: self.kind,
            params: self.params,
            secret: &self.secret,
        }
    }
}

/// What an import did.
#[derive(Debug, PartialEq, Eq)]
pub enum ImportResult {
    Loaded(usize),
    /// Bad rows (nothing loaded), every one by line number.
    BadRows(Vec<RowError>),
    /// Serials that exist already, with whether each is bound to a customer (nothing loaded).
    Clashes(Vec<(String, bool)>),
}

/// Progress is reported in steps of this many records (a callback per record would cost more
/// than the work on a million-token file).
const PROGRESS_EVERY: usize = 4096;

/// Counts records through `progress` in steps of [`PROGRESS_EVERY`], the rest at the end.
struct Ticks<'p, P: FnMut(u64)> {
    progress: &'p mut P,
    pending: usize,
}

impl<P: FnMut(u64)> Ticks<'_, P> {
    fn tick(&mut self) {
        self.pending += 1;
        if self.pending == PROGRESS_EVERY {
            (self.progress)(PROGRESS_EVERY as u64);
            self.pending = 0;
        }
    }
}

impl<P: FnMut(u64)> Drop for Ticks<'_, P> {
    fn drop(&mut self) {
        (self.progress)(self.pending as u64);
    }
}

/// Token records for `seeds`, each seed sealed by the store; `progress(n)` as they are made.
pub fn seal(store: &Store, seeds: &[Seed], mut progress: impl FnMut(u64)) -> Vec<Token> {
    let mut ticks = Ticks {
        progress: &mut progress,
        pending: 0,
    };
    seeds
        .iter()
        .map(|s| {
            ticks.tick();
            store.new_token(&s.as_new())
        })
        .collect()
}

/// Stores many new tokens at once, all or none, audited and flushed (see [`import_rows`]).
pub fn import(
    store: &Store,
    tokens: &[Token],
    replace: bool,
    at: u64,
    progress: impl FnMut(u64),
) -> Result<ImportResult, StoreError> {
    let rows = (1..).zip(tokens.iter().cloned()).map(Ok);
    import_rows(store, rows, replace, at, progress)
}

/// Streams an inventory file into the store: each row is parsed, sealed and staged as it is
/// read, so memory stays bounded whatever the file's size (a PSKC file is parsed whole
/// first). All or nothing: any bad row, duplicate or clash stages nothing visible.
pub fn import_file(
    store: &Store,
    path: &Path,
    psk: Option<&[u8]>,
    replace: bool,
    at: u64,
    progress: impl FnMut(u64),
) -> Result<ImportResult, InventoryError> {
    let read_error = |e| InventoryError::Read(path.display().to_string(), e);
    let mut file = std::io::BufReader::new(std::fs::File::open(path).map_err(read_error)?);
    let xml = {
        use std::io::BufRead;
        let head = file.fill_buf().map_err(read_error)?;
        let text = String::from_utf8_lossy(&head[..head.len().min(64)]).into_owned();
        text.trim_start_matches('\u{feff}')
            .trim_start()
            .starts_with('<')
    };
    let rows: Box<dyn Iterator<Item = Result<(u64, Seed), RowError>>> = if xml {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut file, &mut text).map_err(read_error)?;
        Box::new((1..).zip(parse_pskc(&text, psk)?).map(Ok))
    } else {
        Box::new(csv_rows(file))
    };
    let tokens = rows.map(|r| r.map(|(line, seed)| (line, store.new_token(&seed.as_new()))));
    Ok(import_rows(store, tokens, replace, at, progress)?)
}

/// Stages `rows` and publishes them when every one is good and none clashes with a stored
/// serial (an unbound one may be replaced when `replace`; a bound one never is). Calls
/// `progress(n)` as rows are staged and again as they are made visible.
pub fn import_rows(
    store: &Store,
    rows: impl Iterator<Item = Result<(u64, Token), RowError>>,
    replace: bool,
    at: u64,
    mut progress: impl FnMut(u64),
) -> Result<ImportResult, StoreError> {
    let mut staging = store.begin_import()?;
    let mut bad = Vec::new();
    let mut clashes = Vec::new();
    {
        let mut ticks = Ticks {
            progress: &mut progress,
            pending: 0,
        };
        for row in rows {
            ticks.tick();
            let (line, token) = match row {
                Ok(t) => t,
                Err(e) => {
                    bad.push(e);
                    continue;
                }
            };
            if staging.seen(&token.serial)? {
                bad.push(RowError {
                    line,
                    message: format!("serial {} appears twice", token.serial),
                });
                continue;
            }
            if let Some(old) = staging.existing(&token.serial)? {
                let bound = old.state != TokenState::Available || old.assigned_to.is_some();
                if !replace || bound {
                    clashes.push((old.serial, bound));
                    continue;
                }
            }
            // Staged even once the file is rejected: later duplicates are found among them.
            staging.put(&token)?;
        }
    }
    if !bad.is_empty() {
        return Ok(ImportResult::BadRows(bad));
    }
    if !clashes.is_empty() {
        return Ok(ImportResult::Clashes(clashes));
    }
    let n = staging.count();
    let event = Event {
        detail: format!("{n} tokens"),
        ..Event::new(AuditEvent::Import)
    };
    staging.publish(event, at, progress)?;
    Ok(ImportResult::Loaded(n as usize))
}

/// Whether `s` is a well-formed serial: 12 upper-case letters or digits.
pub fn valid_serial(s: &str) -> bool {
    crate::ids::Serial::parse(s).is_ok()
}

fn parse_row(fields: &csv::StringRecord) -> Result<Seed, String> {
    if fields.len() != HEADER.len() {
        return Err(format!(
            "expected {} columns, found {}",
            HEADER.len(),
            fields.len()
        ));
    }
    let serial = form::serial(&fields[0]);
    if !valid_serial(&serial) {
        return Err(format!(
            "serial {:?} is not 12 upper-case letters or digits",
            &fields[0]
        ));
    }
    let kind = match fields[1].trim() {
        "hardware" => TokenKind::Hardware,
        "software" => TokenKind::Software,
        other => return Err(format!("kind {other:?} is neither hardware nor software")),
    };
    let algorithm = HashAlg::parse(fields[2].trim())
        .ok_or_else(|| format!("algorithm {:?} is not SHA1, SHA256 or SHA512", &fields[2]))?;
    let digits: u8 = fields[3]
        .trim()
        .parse()
        .map_err(|_| format!("digits {:?} is not a number", &fields[3]))?;
    let period: u64 = fields[4]
        .trim()
        .parse()
        .map_err(|_| format!("period {:?} is not a number", &fields[4]))?;
    // The upper-cased text is the seed in base32: wiped too.
    let text = Zeroizing::new(fields[5].trim().trim_end_matches('=').to_ascii_uppercase());
    let secret = Zeroizing::new(
        data_encoding::BASE32_NOPAD
            .decode(text.as_bytes())
            .map_err(|_| "secret_base32 is not valid base32".to_owned())?,
    );
    let params = Params {
        algorithm,
        digits,
        period,
        t0: 0,
    };
    params.validate(secret.len()).map_err(|e| e.to_string())?;
    Ok(Seed {
        serial,
        kind,
        params,
        secret,
    })
}

/// The rows of an inventory CSV as they are read: each a seed, or the bad row by line number
/// (a wrong header is line 1). Duplicates are not looked for here (see [`parse`]).
pub fn csv_rows(reader: impl std::io::Read) -> impl Iterator<Item = Result<(u64, Seed), RowError>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(reader);
    let header = match reader.headers() {
        Ok(h) if h.iter().map(str::trim).eq(HEADER) => None,
        Ok(h) => Some(RowError {
            line: 1,
            message: format!(
                "header must be {}, found {}",
                HEADER.join(","),
                h.iter().collect::<Vec<_>>().join(",")
            ),
        }),
        Err(e) => Some(RowError {
            line: 1,
            message: e.to_string(),
        }),
    };
    header
        .into_iter()
        .map(Err)
        .chain(reader.into_records().map(|record| match record {
            Ok(rec) => {
                let line = rec.position().map_or(0, |p| p.line());
                parse_row(&rec)
                    .map(|seed| (line, seed))
                    .map_err(|message| RowError { line, message })
            }
            Err(e) => Err(RowError {
                line: e.position().map_or(0, |p| p.line()),
                message: e.to_string(),
            }),
        }))
}

/// Parses an inventory CSV whole; all rows or an error listing every bad one.
pub fn parse(text: &str) -> Result<Vec<Seed>, InventoryError> {
    let mut errors = Vec::new();
    let mut tokens = Vec::new();
    let mut seen = HashSet::new();
    for row in csv_rows(text.as_bytes()) {
        match row {
            Ok((line, t)) if !seen.insert(t.serial.clone()) => errors.push(RowError {
                line,
                message: format!("serial {} appears twice", t.serial),
            }),
            Ok((_, t)) => tokens.push(t),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(tokens)
    } else {
        Err(InventoryError::Rows(errors))
    }
}

/// Reads a CSV inventory.
pub fn read(path: &Path) -> Result<Vec<Seed>, InventoryError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| InventoryError::Read(path.display().to_string(), e))?;
    parse(&text)
}

/// Reads an inventory in either format: PSKC when the file is XML, CSV otherwise. `psk` is the
/// pre-shared key of an encrypted PSKC file.
pub fn read_any(path: &Path, psk: Option<&[u8]>) -> Result<Vec<Seed>, InventoryError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| InventoryError::Read(path.display().to_string(), e))?;
    if text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with('<')
    {
        parse_pskc(&text, psk)
    } else {
        parse(&text)
    }
}

/// PSKC key packages become hardware tokens (vendors deliver hardware seeds this way).
pub fn parse_pskc(xml: &str, psk: Option<&[u8]>) -> Result<Vec<Seed>, InventoryError> {
    let mut seeds = Vec::new();
    for (i, e) in crate::pskc::parse(xml, psk)?.into_iter().enumerate() {
        let entry_error = |message: String| InventoryError::PskcEntry {
            index: i + 1,
            serial: e.serial.clone(),
            message,
        };
        let serial = form::serial(&e.serial);
        if !valid_serial(&serial) {
            return Err(entry_error(
                "serial is not 12 upper-case letters or digits".into(),
            ));
        }
        e.params
            .validate(e.secret.len())
            .map_err(|err| entry_error(err.to_string()))?;
        // The entry's seed moves into the token: no copy of it is made.
        seeds.push(Seed {
            serial,
            kind: TokenKind::Hardware,
            params: e.params,
            secret: e.secret,
        });
    }
    Ok(seeds)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "serial,kind,algorithm,digits,period,secret_base32\n\
        GMHW00000001,hardware,SHA1,6,60,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n\
        sysw-0000-0001,software,SHA1,6,30,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n";

    #[test]
    fn reads_good_rows() {
        let t = parse(GOOD).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[1].serial, "SYSW00000001");
        assert_eq!(t[1].kind, TokenKind::Software);
        assert_eq!(&t[0].secret[..], b"12345678901234567890");
    }

    #[test]
    fn names_every_bad_line_and_loads_nothing() {
        let text = format!(
            "{GOOD}SHORT,hardware,SHA1,6,60,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n\
             GMHW00000003,firmware,SHA1,6,60,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n\
             GMHW00000004,hardware,MD5,6,60,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n\
             GMHW00000005,hardware,SHA1,9,60,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n\
             GMHW00000006,hardware,SHA1,6,60,!!!\n\
             GMHW00000001,hardware,SHA1,6,60,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n\
             GMHW00000007,hardware,SHA1,6\n"
        );
        let Err(InventoryError::Rows(errs)) = parse(&text) else {
            panic!("bad file accepted");
        };
        let lines: Vec<u64> = errs.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![4, 5, 6, 7, 8, 9, 10]);
        assert!(errs[5].message.contains("twice"));
    }

    #[test]
    fn wrong_header_is_refused() {
        assert!(parse("a,b\n").is_err());
    }
}
