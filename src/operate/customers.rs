//! Customers from the internet-banking host's export, and what the console shows of one.
//!
//! The export is CSV (UTF-8, a BOM and CRLF line ends accepted) with the header
//! `contract_id,name,login_password_hash,transfer_password_hash,status`. It is a delta: new
//! contract IDs are added, existing ones updated (name, hashes); `status` is `active` or
//! `closed`, and closing a contract cancels its token and blocks transfers. Hashes must be
//! hash strings [`crate::phc`] recognises: a plain password is a bad row. Any bad row refuses
//! the whole file, every bad row named by its line; otherwise the file is one transaction.

use super::csv_rows::{each_row, field_count, name_ok, Unique, MAX_NAME};
use super::{OperateError, Operator, Result};
use crate::branch::pages::customer::{status, token_state};
use crate::clock::jst;
use crate::config::Policy;
use crate::phc;
use crate::store::{
    AuditEvent, Customer, Event, HostHashes, Store, TokenKind, TokenState, Tx, TxResult,
};
use sha2::{Digest, Sha256};
use std::fmt;

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
    /// The file's bytes.
    pub csv: &'a [u8],
    /// How the audit trail and the report name the file.
    pub file_name: &'a str,
    /// Report what would change; write nothing.
    pub dry_run: bool,
    pub now: u64,
    pub operator: &'a Operator,
}

/// One good row of the export.
#[derive(Debug, Clone)]
struct Row {
    contract_id: String,
    name: String,
    login_hash: String,
    transfer_hash: String,
    closed: bool,
}

/// What a row does to the stored customer (or business contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Change {
    Add,
    Update,
    Close,
    Reopen,
    Same,
}

/// What an import changed (or, dry run, would change): contract IDs by kind of change (of
/// customers, or of business contracts).
#[derive(Debug, Default)]
pub struct ImportReport {
    pub dry_run: bool,
    pub file_name: String,
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub closed: Vec<String>,
    pub reopened: Vec<String>,
    pub unchanged: usize,
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
        list.push(id.to_owned());
    }

    pub(super) fn summary(&self) -> String {
        format!(
            "{} added, {} updated, {} closed, {} reopened, {} unchanged",
            self.added.len(),
            self.updated.len(),
            self.closed.len(),
            self.reopened.len(),
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
            if ids.is_empty() {
                continue;
            }
            let shown: Vec<&str> = ids.iter().take(LISTED).map(String::as_str).collect();
            let more = ids.len().saturating_sub(LISTED);
            let tail = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            writeln!(f, "  {what}: {}{tail}", shown.join(" "))?;
        }
        Ok(())
    }
}

/// The digest kept of a hash the host exported (see [`crate::store::HostHashes`]).
pub(super) fn digest(hash: &str) -> String {
    hex::encode(Sha256::digest(hash.as_bytes()))
}

fn valid_contract_id(id: &str) -> bool {
    (1..=16).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit())
}

/// The rows of the export, or every bad row as `line N: why`.
fn parse(csv_bytes: &[u8]) -> std::result::Result<Vec<(u64, Row)>, Vec<String>> {
    let mut rows: Vec<(u64, Row)> = Vec::new();
    let mut seen = Unique::default();
    let bad = each_row(csv_bytes, &HEADER, |line, fields| {
        let r = row(fields).map_err(|reasons| reasons.join("; "))?;
        seen.first(&r.contract_id, line)
            .map_err(|first| format!("contract ID {} is also on line {first}", r.contract_id))?;
        rows.push((line, r));
        Ok(())
    });
    if bad.is_empty() {
        Ok(rows)
    } else {
        Err(bad)
    }
}

/// One data row checked; every reason it is bad (never echoing a hash column, which may hold
/// a password typed in the wrong place).
fn row(fields: &[&str]) -> std::result::Result<Row, Vec<String>> {
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
    Ok(Row {
        contract_id: id.to_owned(),
        name: name.to_owned(),
        login_hash: login.to_owned(),
        transfer_hash: transfer.to_owned(),
        closed,
    })
}

/// The customer `row` makes of `old`, and what kind of change that is.
fn merge(old: Option<&Customer>, row: &Row) -> (Customer, Change) {
    let host = HostHashes {
        login: digest(&row.login_hash),
        transfer: digest(&row.transfer_hash),
    };
    let Some(old) = old else {
        let c = Customer {
            contract_id: row.contract_id.clone(),
            name: row.name.clone(),
            login_hash: row.login_hash.clone(),
            transfer_hash: row.transfer_hash.clone(),
            login_fails: 0,
            claim_fails: 0,
            login_temp_locks: 0,
            login_locked_until: 0,
            transfer_lock: Default::default(),
            token: None,
            transfers_blocked: row.closed,
            closed: row.closed,
            from_host: Some(host),
        };
        return (c, Change::Add);
    };
    let mut c = old.clone();
    c.name = row.name.clone();
    // A hash the host exported before stays as stored (it may have been re-hashed since).
    let before = old.from_host.as_ref();
    if before.is_none_or(|h| h.login != host.login) {
        c.login_hash = row.login_hash.clone();
    }
    if before.is_none_or(|h| h.transfer != host.transfer) {
        c.transfer_hash = row.transfer_hash.clone();
    }
    c.from_host = Some(host);
    let change = match (old.closed, row.closed) {
        (false, true) => Change::Close,
        (true, false) => Change::Reopen,
        _ if c != *old => Change::Update,
        _ => Change::Same,
    };
    (c, change)
}

/// Applies one row inside the import's transaction.
fn apply(tx: &mut Tx, row: &Row, args: &ImportArgs) -> TxResult<Change> {
    let old = tx.customer(&row.contract_id)?;
    let (mut c, change) = merge(old.as_ref(), row);
    let by = args.operator.tag();
    match change {
        Change::Same => return Ok(change),
        Change::Close => {
            c.closed = true;
            c.transfers_blocked = true;
            let mut serial = None;
            if let Some(binding) = c.token.take() {
                if let Some(mut t) = tx.token(&binding.serial)? {
                    t.state = TokenState::Cancelled {
                        contract_id: c.contract_id.clone(),
                        at: args.now,
                    };
                    tx.put_token(&t)?;
                }
                serial = Some(binding.serial);
            }
            let detail = match &serial {
                Some(s) => format!("closed by {}: token {s} cancelled, {by}", args.file_name),
                None => format!("closed by {} (no token), {by}", args.file_name),
            };
            tx.audit(
                args.now,
                Event {
                    event: AuditEvent::ContractClosed,
                    contract_id: Some(&c.contract_id),
                    serial: serial.as_deref(),
                    detail,
                },
            )?;
        }
        Change::Reopen => {
            // Transfers stay blocked until the customer registers a new token.
            c.closed = false;
            tx.audit(
                args.now,
                Event {
                    event: AuditEvent::ContractReopened,
                    contract_id: Some(&c.contract_id),
                    serial: None,
                    detail: format!("reopened by {}, {by}", args.file_name),
                },
            )?;
        }
        Change::Add | Change::Update => {}
    }
    tx.put_customer(&c)?;
    Ok(change)
}

/// `customers import FILE [--dry-run]`: all rows or none.
pub fn import(store: &Store, args: &ImportArgs) -> Result<ImportReport> {
    let rows = parse(args.csv).map_err(|bad| {
        OperateError::Refused(format!(
            "nothing loaded from {}: {} bad row(s)\n  {}",
            args.file_name,
            bad.len(),
            bad.join("\n  ")
        ))
    })?;
    let fresh = || ImportReport {
        dry_run: args.dry_run,
        file_name: args.file_name.to_owned(),
        ..ImportReport::default()
    };
    if args.dry_run {
        let mut report = fresh();
        for (_, row) in &rows {
            let old = store.customer(&row.contract_id)?;
            report.count(merge(old.as_ref(), row).1, &row.contract_id);
        }
        return Ok(report);
    }
    let report = store.commit_now(|tx| {
        let mut report = fresh();
        for (_, row) in &rows {
            let change = apply(tx, row, args)?;
            report.count(change, &row.contract_id);
        }
        tx.audit(
            args.now,
            Event {
                detail: format!(
                    "{}: {}, {}",
                    args.file_name,
                    report.summary(),
                    args.operator.tag()
                ),
                ..Event::new(AuditEvent::CustomersImport)
            },
        )?;
        Ok(report)
    })?;
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

    fn csv(rows: &[&str]) -> Vec<u8> {
        let mut s = format!("\u{feff}{}\r\n", HEADER.join(","));
        for r in rows {
            s.push_str(r);
            s.push_str("\r\n");
        }
        s.into_bytes()
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
        let bad = parse(&data).unwrap_err();
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
        let rows = parse(&csv(&[&format!("1000000101,山田太郎,{bc},{bc},closed")])).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].0, 2);
        assert!(rows[0].1.closed && rows[0].1.name == "山田太郎");
        let lf = format!("{}\n\n1000000102,x,{bc},{bc},active\n", HEADER.join(","));
        assert_eq!(
            parse(lf.as_bytes()).unwrap()[0].0,
            3,
            "LF only, a blank line skipped"
        );
        assert!(parse(b"id,name\n").unwrap_err()[0].starts_with("line 1: the header"));
        assert!(parse(b"").is_err());
    }
}
