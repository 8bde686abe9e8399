//! Customers from the internet-banking host's export, and what the console shows of one.
//!
//! The export is CSV (UTF-8, a BOM and CRLF line ends accepted) with the header
//! `contract_id,name,login_password_hash,transfer_password_hash,status`. It is a delta: new
//! contract IDs are added, existing ones updated (name, hashes); `status` is `active` or
//! `closed`, and closing a contract cancels its token and blocks transfers. Hashes must be
//! hash strings [`crate::phc`] recognises: a plain password is a bad row. The file is read as
//! a stream and its rows staged ([`crate::store::HostImport`]), so memory stays bounded
//! whatever its size; any bad row refuses the whole file, every bad row named by its line.

use super::csv_rows::{each_row_from, field_count, name_ok, MAX_NAME};
use super::{OperateError, Operator, Result};
use crate::branch::pages::customer::{status, token_state};
use crate::clock::jst;
use crate::config::Policy;
use crate::phc;
use crate::store::{
    merge_host_row, AuditEvent, Event, HostRow, Outcome, Source, Store, StoreError, TokenKind,
    TokenState,
};
use std::fmt;
use std::io::Read;

/// What a row does to the stored customer (or business contract).
pub(super) use crate::store::HostChange as Change;

/// The header the export must have, in this order.
pub const HEADER: [&str; 5] = [
    "contract_id",
    "name",
    "login_password_hash",
    "transfer_password_hash",
    "status",
];
/// Contract IDs a report lists by kind of change before it only counts them.
const LISTED: usize = 20;

/// What `customers import` is asked to do.
pub struct ImportArgs<'a> {
    /// The file, read once from start to end.
    pub csv: &'a mut dyn Read,
    /// How the audit trail and the report name the file.
    pub file_name: &'a str,
    /// Report what would change; write nothing.
    pub dry_run: bool,
    pub now: u64,
    pub operator: &'a Operator,
}

/// Contract IDs of one kind of change: how many, and the first [`LISTED`].
#[derive(Debug, Default)]
pub struct Listed {
    pub count: u64,
    pub first: Vec<String>,
}

impl Listed {
    fn push(&mut self, id: &str) {
        self.count += 1;
        if self.first.len() < LISTED {
            self.first.push(id.to_owned());
        }
    }
}

/// What an import changed (or, dry run, would change): contract IDs by kind of change (of
/// customers, or of business contracts).
#[derive(Debug, Default)]
pub struct ImportReport {
    pub dry_run: bool,
    pub file_name: String,
    pub added: Listed,
    pub updated: Listed,
    pub closed: Listed,
    pub reopened: Listed,
    pub unchanged: u64,
}

impl ImportReport {
    pub(super) fn count(&mut self, change: Change, id: &str) {
        let list = match change {
            Change::Add => &mut self.added,
            Change::Update => &mut self.updated,
            Change::Close => &mut self.closed,
            Change::Reopen => &mut self.reopened,
            Change::Same => {
                self.unchanged += 1;
                return;
            }
        };
        list.push(id);
    }

    pub(super) fn summary(&self) -> String {
        format!(
            "{} added, {} updated, {} closed, {} reopened, {} unchanged",
            self.added.count,
            self.updated.count,
            self.closed.count,
            self.reopened.count,
            self.unchanged
        )
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.dry_run {
            "dry run, nothing written; would be"
        } else {
            "loaded"
        };
        writeln!(f, "{} ({verb}): {}", self.file_name, self.summary())?;
        for (what, ids) in [
            ("added", &self.added),
            ("updated", &self.updated),
            ("closed", &self.closed),
            ("reopened", &self.reopened),
        ] {
            if ids.count == 0 {
                continue;
            }
            let more = ids.count.saturating_sub(ids.first.len() as u64);
            let tail = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            writeln!(f, "  {what}: {}{tail}", ids.first.join(" "))?;
        }
        Ok(())
    }
}

/// The digest kept of a hash the host exported (see [`crate::store::HostHashes`]).
pub(super) fn digest(hash: &str) -> String {
    crate::store::host_digest(hash)
}

fn valid_contract_id(id: &str) -> bool {
    (1..=16).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit())
}

/// Reads the export row by row: each good row goes to `each`, which may name why it is bad
/// after all (a contract ID seen before). Returns every bad row as `line N: why`.
fn parse(
    input: &mut dyn Read,
    mut each: impl FnMut(HostRow) -> std::result::Result<Option<String>, StoreError>,
) -> Result<Vec<String>> {
    // A storage error stops the import; the rows after it are only read.
    let mut failed: Option<StoreError> = None;
    let bad = each_row_from(input, &HEADER, |line, fields| {
        if failed.is_some() {
            return Ok(());
        }
        let r = row(fields, line).map_err(|reasons| reasons.join("; "))?;
        match each(r) {
            Ok(None) => Ok(()),
            Ok(Some(why)) => Err(why),
            Err(e) => {
                failed = Some(e);
                Ok(())
            }
        }
    })
    .map_err(|e| OperateError::Refused(format!("cannot read: {e}")))?;
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(bad),
    }
}

/// One data row checked; every reason it is bad (never echoing a hash column, which may hold
/// a password typed in the wrong place).
fn row(fields: &[&str], line: u64) -> std::result::Result<HostRow, Vec<String>> {
    if fields.len() != HEADER.len() {
        // A PBKDF2 hash holds a comma (`i=600000,l=32`): unquoted, it splits its field.
        let hint = if fields.len() > HEADER.len() && fields.iter().any(|f| f.contains("$pbkdf2")) {
            " (a PBKDF2 hash contains a comma: the field must be quoted)"
        } else {
            ""
        };
        return Err(vec![format!(
            "{}{hint}",
            field_count(fields.len(), HEADER.len())
        )]);
    }
    let mut why = Vec::new();
    let (id, name, login, transfer, state) =
        (fields[0], fields[1], fields[2], fields[3], fields[4]);
    if !valid_contract_id(id) {
        why.push("contract_id must be 1 to 16 digits".to_owned());
    }
    if !name_ok(name) {
        why.push(format!("name must be 1 to {MAX_NAME} characters"));
    }
    for (column, hash) in [
        ("login_password_hash", login),
        ("transfer_password_hash", transfer),
    ] {
        if let Err(e) = phc::scheme(hash) {
            why.push(format!("{column}: {e}"));
        }
    }
    let closed = match state {
        "active" => false,
        "closed" => true,
        _ => {
            why.push("status must be active or closed".to_owned());
            false
        }
    };
    if !why.is_empty() {
        return Err(why);
    }
    Ok(HostRow {
        contract_id: id.to_owned(),
        name: name.to_owned(),
        login_hash: login.to_owned(),
        transfer_hash: transfer.to_owned(),
        closed,
        line,
    })
}

/// Rows staged at once.
const BATCH: usize = 1_000;

/// The line a `line N: why` message names.
fn line_of(message: &str) -> u64 {
    message
        .strip_prefix("line ")
        .and_then(|m| m.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The bad rows `parse` found and the duplicates staging found, as one list in line order.
pub(super) fn in_line_order(parsed: Vec<String>, duplicates: Vec<(u64, String)>) -> Vec<String> {
    let mut all: Vec<(u64, String)> = parsed.into_iter().map(|m| (line_of(&m), m)).collect();
    all.extend(duplicates);
    // Stable: messages of one line keep their order.
    all.sort_by_key(|(line, _)| *line);
    all.into_iter().map(|(_, m)| m).collect()
}

/// `customers import FILE [--dry-run]`: all rows or none. The rows are staged as they are
/// read; a file without a bad row is then published in one atomic write and applied
/// (`progress(n)` as rows are read and again as they are applied).
pub fn import(
    store: &Store,
    args: &mut ImportArgs,
    mut progress: impl FnMut(u64),
) -> Result<ImportReport> {
    let mut report = ImportReport {
        dry_run: args.dry_run,
        file_name: args.file_name.to_owned(),
        ..ImportReport::default()
    };
    let mut staging = store.begin_host_import()?;
    // Rows are staged a batch at a time (a few round trips per batch on PostgreSQL); a contract
    // ID staged before is found then, so its row is named apart and merged in line order.
    let mut batch: Vec<HostRow> = Vec::with_capacity(BATCH);
    let mut duplicates: Vec<(u64, String)> = Vec::new();
    let mut stage = |batch: &mut Vec<HostRow>,
                     report: &mut ImportReport|
     -> std::result::Result<(), StoreError> {
        let n = batch.len() as u64;
        for (r, outcome) in staging.stage(std::mem::take(batch))? {
            match outcome {
                Outcome::Duplicate(first) => duplicates.push((
                    r.line,
                    format!(
                        "line {}: contract ID {} is also on line {first}",
                        r.line, r.contract_id
                    ),
                )),
                Outcome::Staged(old) => {
                    report.count(merge_host_row(old.as_deref(), &r).1, &r.contract_id);
                }
            }
        }
        progress(n);
        Ok(())
    };
    let mut bad = parse(args.csv, |r| {
        batch.push(r);
        if batch.len() >= BATCH {
            stage(&mut batch, &mut report)?;
        }
        Ok(None)
    })?;
    stage(&mut batch, &mut report)?;
    if !duplicates.is_empty() {
        bad = in_line_order(bad, duplicates);
    }
    if !bad.is_empty() {
        return Err(OperateError::Refused(format!(
            "nothing loaded from {}: {} bad row(s)\n  {}",
            args.file_name,
            bad.len(),
            bad.join("\n  ")
        )));
    }
    if args.dry_run {
        // Dropping the staging drops its rows.
        return Ok(report);
    }
    let source = Source {
        file_name: args.file_name.to_owned(),
        by: args.operator.tag(),
        at: args.now,
    };
    let event = Event {
        detail: format!(
            "{}: {}, {}",
            args.file_name,
            report.summary(),
            args.operator.tag()
        ),
        ..Event::new(AuditEvent::CustomersImport)
    };
    staging.publish(source, event, progress)?;
    Ok(report)
}

/// `customers show ID`: what the branch console's customer page shows, as text (never a hash).
pub struct CustomerShow(Vec<String>);

impl fmt::Display for CustomerShow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in &self.0 {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

pub fn show(store: &Store, contract_id: &str, policy: &Policy) -> Result<CustomerShow> {
    let Some(c) = store.customer(contract_id)? else {
        return Err(OperateError::Refused(format!(
            "no customer with contract ID {contract_id}"
        )));
    };
    let token = match &c.token {
        Some(b) => store.token(&b.serial)?,
        None => None,
    };
    let issued = store
        .assigned_tokens(contract_id)?
        .iter()
        .any(|t| t.state == TokenState::Available);
    let mut out = vec![
        format!("契約者ID\t{}", c.contract_id),
        format!("氏名\t{}", c.name),
        format!(
            "状態\t{}",
            status(&c, token.as_ref().map(|t| t.locked(policy)), issued)
        ),
        format!(
            "ログイン\t{} / パスワード誤り {}回",
            if c.login_locked(policy) {
                "ロック中 (locked)"
            } else {
                "利用可"
            },
            c.login_fails
        ),
    ];
    match &token {
        Some(t) => {
            let kind = match t.kind {
                TokenKind::Hardware => "ハードウェア",
                TokenKind::Software => "ソフトウェア",
            };
            out.push(format!("トークン\t{} ({kind})", t.serial));
            out.push(format!(
                "トークンの状態\t{}{} / ワンタイムパスワード誤り {}回",
                token_state(&t.state),
                if t.locked(policy) {
                    " ・ロック中 (locked)"
                } else {
                    ""
                },
                t.otp.fails
            ));
        }
        None => out.push("トークン\tなし".into()),
    }
    out.push(format!(
        "振込等\t{}",
        if c.transfers_blocked {
            "停止中(新しいトークンの利用開始まで)"
        } else {
            "—"
        }
    ));
    let assigned: Vec<String> = store
        .assigned_tokens(contract_id)?
        .into_iter()
        .filter(|t| t.state == TokenState::Available)
        .map(|t| t.serial)
        .collect();
    if !assigned.is_empty() {
        out.push(format!("払出済み・未登録\t{}", assigned.join(" ")));
    }
    out.push("受付履歴(受付番号)".into());
    for r in store.receipts_of(contract_id)? {
        out.push(format!(
            "  {}\t{:?}\t{}\t{}\t{} JST",
            r.number_text(),
            r.kind,
            r.serial,
            r.old_serial.as_deref().unwrap_or("-"),
            jst(r.at)
        ));
    }
    for a in store.attempts_of(contract_id)? {
        out.push(format!("携帯電話からの利用中止操作\t{} JST", jst(a.at)));
    }
    for f in store.forms_of(contract_id)? {
        out.push(format!(
            "利用中止届\t{}\t{}\t{}\t{}",
            f.form_no,
            f.received_on,
            f.decision.label(),
            f.recorded_by
        ));
    }
    for a in store.applications_of(contract_id)? {
        out.push(format!(
            "発行申込書\t{}\t{}\t{}\t{}円",
            a.application_no,
            a.reason.label(),
            a.serial,
            a.fee_yen
        ));
    }
    for r in store.releases_of(contract_id)? {
        out.push(format!(
            "ロック解除\t{}\t{}\t{}",
            r.number(),
            r.kind.label(),
            r.decision.label()
        ));
    }
    Ok(CustomerShow(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn csv(rows: &[&str]) -> Vec<u8> {
        let mut s = format!("\u{feff}{}\r\n", HEADER.join(","));
        for r in rows {
            s.push_str(r);
            s.push_str("\r\n");
        }
        s.into_bytes()
    }

    /// The good rows and the bad ones, duplicates found as the import finds them.
    fn rows_of(data: &[u8]) -> (Vec<HostRow>, Vec<String>) {
        let mut good = Vec::new();
        let mut lines = HashMap::new();
        let bad = parse(&mut &data[..], |r| {
            if let Some(first) = lines.get(&r.contract_id) {
                return Ok(Some(format!(
                    "contract ID {} is also on line {first}",
                    r.contract_id
                )));
            }
            lines.insert(r.contract_id.clone(), r.line);
            good.push(r);
            Ok(None)
        })
        .unwrap();
        (good, bad)
    }

    #[test]
    fn every_bad_row_is_named_by_line_and_no_hash_is_echoed() {
        let bc = bcrypt::hash("x", 4).unwrap();
        let data = csv(&[
            &format!("1000000101,山田太郎,{bc},{bc},active"),
            "1000000102,佐藤,Secret123,Secret456,active",
            &format!("1000000101,again,{bc},{bc},active"),
            &format!("abc,,{bc},{bc},gone"),
            "short,row",
        ]);
        let bad = rows_of(&data).1;
        assert_eq!(bad.len(), 4, "{bad:?}");
        assert!(bad[0].starts_with("line 3: login_password_hash"), "{bad:?}");
        assert!(bad[1].starts_with("line 4: contract ID 1000000101 is also on line 2"));
        assert!(bad[2].starts_with("line 5: contract_id") && bad[2].contains("status"));
        assert!(bad[3].starts_with("line 6: 2 fields"));
        assert!(!bad.join("").contains("Secret123"));
    }

    #[test]
    fn header_bom_and_crlf() {
        let bc = bcrypt::hash("x", 4).unwrap();
        let (rows, bad) = rows_of(&csv(&[&format!("1000000101,山田太郎,{bc},{bc},closed")]));
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].line, 2);
        assert!(rows[0].closed && rows[0].name == "山田太郎");
        let lf = format!("{}\n\n1000000102,x,{bc},{bc},active\n", HEADER.join(","));
        assert_eq!(
            rows_of(lf.as_bytes()).0[0].line,
            3,
            "LF only, a blank line skipped"
        );
        assert!(rows_of(b"id,name\n").1[0].starts_with("line 1: the header"));
        assert!(!rows_of(b"").1.is_empty());
    }

    #[test]
    fn lines_are_counted_across_read_buffers_and_quoted_line_breaks() {
        let bc = bcrypt::hash("x", 4).unwrap();
        let mut rows: Vec<String> = (0..2000)
            .map(|i| format!("{},\"名前\",{bc},{bc},active", 1_000_000 + i))
            .collect();
        rows.push(format!("9,\"two\nlines\",{bc},{bc},active"));
        rows.push("9999,x,plain,plain,active".into());
        let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
        let (good, bad) = rows_of(&csv(&refs));
        assert_eq!(good.len(), 2000);
        assert_eq!(good[1999].line, 2001);
        assert_eq!(bad.len(), 2, "{bad:?}");
        assert!(bad[0].starts_with("line 2002: name"), "{bad:?}");
        assert!(bad[1].starts_with("line 2004:"), "{bad:?}");
    }
}
