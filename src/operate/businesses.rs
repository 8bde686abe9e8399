//! 法人 contracts from the bank's files (`customers import --business CONTRACTS --users USERS`),
//! with the rules of the customers import ([`super::customers`]): a delta, all rows or none,
//! every bad row named by file and line, a dry run, audited with the operator's name.
//!
//! Both files are CSV (UTF-8, a BOM and CRLF line ends accepted):
//! - contracts: `contract_id,name,admin_password_hash,confirm_pin_hash,card,usage,status`; the
//!   two hashes are the host's hash strings of the ご契約先暗証番号 and the ご契約先確認暗証番号
//!   ([`crate::phc`] recognises them; a plain password is a bad row), `card` the お客様カード's
//!   eight digits (sealed under the master key at import, like token seeds; never repeated in a
//!   message), `usage` `per_user` or `shared`, `status` `active` or `closed`;
//! - users: `contract_id,user_id,name`: for each contract it names, all of its users (a user
//!   left out is removed, and a token no user uses any more goes back to the contract).
//!
//! A new 契約先ID is added; an existing one gets the row's name, hashes, card and 利用形態 (a
//! changed 利用形態 releases every registration, as on the administrator's phone); `closed`
//! closes the contract: its registered tokens are cancelled, its administrator's login answers
//! as for an unknown 契約先ID and the OTP API answers `cancelled`. A 契約先ID of a personal
//! customer is a bad row.
//!
//! Bounded memory, as customers: both files are read as streams and their rows staged
//! ([`OwnedImport`]; the card sealed before it is staged); the checks that need the whole of
//! both files (a user of a contract in neither the file nor the database) and the report read
//! the staged rows back, a contract and its users at a time. A file without a bad row is
//! published by one atomic write (a marker and the `biz_load` audit record), then applied a
//! contract per transaction, each removing its staged rows; a crash after publishing is
//! finished by the next import, or by a gateway's sweep ([`finish_cut_short`]).

use super::csv_rows::{each_row_from, field_count, name_ok, MAX_NAME};
use super::customers::{digest, in_line_order, Change, ImportReport};
use super::{OperateError, Operator, Result};
use crate::business::load::valid_id;
use crate::business::release_if_unused;
use crate::phc;
use crate::store::{
    AuditEvent, BizHostHashes, BizUser, Business, Card, Event, OwnedImport, Store, StoreError,
    TokenState, Tx, TxResult, Usage,
};
use serde::{Deserialize, Serialize};
use std::io::Read;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The contracts file's header, in this order.
pub const CONTRACT_HEADER: [&str; 7] = [
    "contract_id",
    "name",
    "admin_password_hash",
    "confirm_pin_hash",
    "card",
    "usage",
    "status",
];
/// The users file's header, in this order.
pub const USER_HEADER: [&str; 3] = ["contract_id", "user_id", "name"];

/// What `customers import --business` is asked to do.
pub struct BusinessImportArgs<'a> {
    /// The contracts file, read once from start to end.
    pub contracts: &'a mut dyn Read,
    /// The users file, read once from start to end.
    pub users: &'a mut dyn Read,
    /// How the report and the audit trail name the files.
    pub contracts_name: &'a str,
    pub users_name: &'a str,
    /// Report what would change; write nothing.
    pub dry_run: bool,
    pub now: u64,
    pub operator: &'a Operator,
}

/// One good row of the contracts file.
struct ContractRow {
    line: u64,
    contract_id: String,
    name: String,
    admin_hash: String,
    confirm_hash: String,
    /// The お客様カード digits: zeroed when dropped, never printed.
    card: Zeroizing<String>,
    usage: Usage,
    closed: bool,
}

/// One good row of the users file.
struct UserRow {
    line: u64,
    contract_id: String,
    user_id: String,
    name: String,
}

/// One contracts row checked; every reason it is bad (never echoing a hash or the card).
fn contract_row(line: u64, f: &[&str]) -> std::result::Result<ContractRow, String> {
    if f.len() != CONTRACT_HEADER.len() {
        return Err(field_count(f.len(), CONTRACT_HEADER.len()));
    }
    let mut why = Vec::new();
    if !valid_id(f[0]) {
        why.push("contract_id must be 1 to 16 ASCII letters or digits".to_owned());
    }
    if !name_ok(f[1]) {
        why.push(format!("name must be 1 to {MAX_NAME} characters"));
    }
    for (column, hash) in [("admin_password_hash", f[2]), ("confirm_pin_hash", f[3])] {
        if let Err(e) = phc::scheme(hash) {
            why.push(format!("{column}: {e}"));
        }
    }
    if !crate::card::valid(f[4]) {
        why.push("card must be the eight digits of the お客様カード".to_owned());
    }
    let usage = Usage::parse(f[5]);
    if usage.is_none() {
        why.push("usage must be per_user or shared".to_owned());
    }
    let closed = match f[6] {
        "active" => false,
        "closed" => true,
        _ => {
            why.push("status must be active or closed".to_owned());
            false
        }
    };
    match usage {
        Some(usage) if why.is_empty() => Ok(ContractRow {
            line,
            contract_id: f[0].to_owned(),
            name: f[1].to_owned(),
            admin_hash: f[2].to_owned(),
            confirm_hash: f[3].to_owned(),
            card: Zeroizing::new(f[4].to_owned()),
            usage,
            closed,
        }),
        _ => Err(why.join("; ")),
    }
}

fn user_row(line: u64, f: &[&str]) -> std::result::Result<UserRow, String> {
    if f.len() != USER_HEADER.len() {
        return Err(field_count(f.len(), USER_HEADER.len()));
    }
    let mut why = Vec::new();
    if !valid_id(f[0]) {
        why.push("contract_id must be 1 to 16 ASCII letters or digits".to_owned());
    }
    if !valid_id(f[1]) {
        why.push("user_id must be 1 to 16 ASCII letters or digits".to_owned());
    }
    if !name_ok(f[2]) {
        why.push(format!("name must be 1 to {MAX_NAME} characters"));
    }
    if !why.is_empty() {
        return Err(why.join("; "));
    }
    Ok(UserRow {
        line,
        contract_id: f[0].to_owned(),
        user_id: f[1].to_owned(),
        name: f[2].to_owned(),
    })
}

/// Reads both files row by row: each good row goes to `contract` or `user`, which may name
/// why it is bad after all (a key seen before). Returns every bad row of either file as
/// `FILE line N: why`, each file's in line order.
fn read_files(
    args: &mut BusinessImportArgs,
    mut contract: impl FnMut(ContractRow) -> std::result::Result<Option<String>, StoreError>,
    mut user: impl FnMut(UserRow) -> std::result::Result<Option<String>, StoreError>,
) -> Result<Vec<String>> {
    // A storage error stops the import; the rows after it are only read.
    let mut failed: Option<StoreError> = None;
    let mut check = |outcome: std::result::Result<Option<String>, StoreError>| match outcome {
        Ok(None) => Ok(()),
        Ok(Some(why)) => Err(why),
        Err(e) => {
            failed.get_or_insert(e);
            Ok(())
        }
    };
    let cannot = |e: std::io::Error| OperateError::Refused(format!("cannot read: {e}"));
    let bad_contracts = each_row_from(args.contracts, &CONTRACT_HEADER, |line, fields| {
        check(contract(contract_row(line, fields)?))
    })
    .map_err(cannot)?;
    let bad_users = each_row_from(args.users, &USER_HEADER, |line, fields| {
        check(user(user_row(line, fields)?))
    })
    .map_err(cannot)?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    Ok((bad_contracts.iter().map(|b| (args.contracts_name, b)))
        .chain(bad_users.iter().map(|b| (args.users_name, b)))
        .map(|(file, b)| format!("{file} {b}"))
        .collect())
}

/// Both files read in memory (the unit tests' view of the row checks), or every bad row.
#[cfg(test)]
fn parse(
    args: &mut BusinessImportArgs,
) -> std::result::Result<(Vec<ContractRow>, Vec<UserRow>), Vec<String>> {
    use std::collections::HashMap;
    let (mut contracts, mut users) = (Vec::new(), Vec::new());
    let (mut ids, mut pairs) = (HashMap::new(), HashMap::new());
    let bad = read_files(
        args,
        |r| {
            if let Some(first) = ids.insert(r.contract_id.clone(), r.line) {
                return Ok(Some(format!(
                    "契約先ID {} is also on line {first}",
                    r.contract_id
                )));
            }
            contracts.push(r);
            Ok(None)
        },
        |u| {
            let pair = format!("{}\t{}", u.contract_id, u.user_id);
            if let Some(first) = pairs.insert(pair, u.line) {
                return Ok(Some(format!(
                    "利用者ID {} of {} is also on line {first}",
                    u.user_id, u.contract_id
                )));
            }
            users.push(u);
            Ok(None)
        },
    )
    .unwrap_or_else(|e| vec![e.to_string()]);
    if bad.is_empty() {
        Ok((contracts, users))
    } else {
        Err(bad)
    }
}

/// The users file's users of `contract_id`, as the contract's users: each keeping the token it
/// had (`old`); None when the file names none of them (the contract keeps its users).
fn users_of(users: &[UserRow], contract_id: &str, old: Option<&Business>) -> Option<Vec<BizUser>> {
    let listed: Vec<BizUser> = users
        .iter()
        .filter(|u| u.contract_id == contract_id)
        .map(|u| BizUser {
            user_id: u.user_id.clone(),
            name: u.name.clone(),
            serial: old
                .and_then(|b| b.user(&u.user_id))
                .and_then(|x| x.serial.clone()),
            // A user between tokens (retired at a branch) stays so across an import.
            blocked: old
                .and_then(|b| b.user(&u.user_id))
                .is_some_and(|x| x.blocked),
        })
        .collect();
    (!listed.is_empty()).then_some(listed)
}

/// The contract a row makes of `old`, and what kind of change that is (the card compared
/// apart). A changed 利用形態 or a closing drops every registration here; the caller releases
/// or cancels the tokens.
fn merge(
    old: Option<&Business>,
    row: &ContractRow,
    users: Option<Vec<BizUser>>,
) -> (Business, Change) {
    let host = BizHostHashes {
        admin: digest(&row.admin_hash),
        confirm: digest(&row.confirm_hash),
    };
    let Some(old) = old else {
        let b = Business {
            contract_id: row.contract_id.clone(),
            name: row.name.clone(),
            admin_hash: row.admin_hash.clone(),
            confirm_hash: row.confirm_hash.clone(),
            usage: row.usage,
            users: users.unwrap_or_default(),
            shared_serial: None,
            admin_fails: 0,
            closed: row.closed,
            from_host: Some(host),
        };
        return (b, Change::Add);
    };
    let mut b = old.clone();
    b.name = row.name.clone();
    // A hash the host exported before stays as stored (it may have been re-hashed since).
    let before = old.from_host.as_ref();
    if before.is_none_or(|h| h.admin != host.admin) {
        b.admin_hash = row.admin_hash.clone();
    }
    if before.is_none_or(|h| h.confirm != host.confirm) {
        b.confirm_hash = row.confirm_hash.clone();
    }
    b.from_host = Some(host);
    b.usage = row.usage;
    if let Some(users) = users {
        b.users = users;
    }
    b.closed = row.closed;
    if b.usage != old.usage || b.closed {
        b.shared_serial = None;
        for u in &mut b.users {
            u.serial = None;
        }
    }
    let change = match (old.closed, row.closed) {
        (false, true) => Change::Close,
        (true, false) => Change::Reopen,
        _ if b != *old => Change::Update,
        _ => Change::Same,
    };
    (b, change)
}

/// A contracts row as staged: the card sealed under the master key (never staged in clear).
#[derive(Serialize, Deserialize)]
struct StagedContract {
    line: u64,
    contract_id: String,
    name: String,
    admin_hash: String,
    confirm_hash: String,
    card: Card,
    usage: Usage,
    closed: bool,
}

/// A users row as staged.
#[derive(Serialize, Deserialize)]
struct StagedUser {
    line: u64,
    contract_id: String,
    user_id: String,
    name: String,
}

/// What applying the published rows needs to know (the marker's body: a crash's finisher
/// applies them as the import would have).
#[derive(Clone, Serialize, Deserialize)]
struct Run {
    contracts_name: String,
    by: String,
    now: u64,
}

fn contract_key(id: &str) -> String {
    format!("c\t{id}")
}

fn users_prefix(id: &str) -> String {
    format!("u\t{id}\t")
}

fn decode<R: serde::de::DeserializeOwned>(bytes: &[u8]) -> std::result::Result<R, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Io(format!("staged row: {e}")))
}

/// Every staged user of contract `id`, as users rows (one contract's users at a time).
fn staged_users(
    staging: &mut OwnedImport,
    id: &str,
) -> std::result::Result<(Vec<String>, Vec<UserRow>), StoreError> {
    let prefix = users_prefix(id);
    let (mut keys, mut users) = (Vec::new(), Vec::new());
    staging.for_each(&prefix, 1000, |_, k, v| {
        let u: StagedUser = decode(&v)?;
        keys.push(k);
        users.push(UserRow {
            line: u.line,
            contract_id: u.contract_id,
            user_id: u.user_id,
            name: u.name,
        });
        Ok::<_, StoreError>(())
    })?;
    Ok((keys, users))
}

/// What one contracts row does, inside a transaction (`write`: also does it, with its card).
fn one_contract(
    tx: &mut Tx,
    row: &ContractRow,
    card: &Card,
    users: &[UserRow],
    run: &Run,
    write: bool,
) -> TxResult<Change> {
    let old = tx.business(&row.contract_id)?;
    let listed = users_of(users, &row.contract_id, old.as_ref());
    let (b, mut change) = merge(old.as_ref(), row, listed);
    let same_card = match tx.card_digits(&row.contract_id)? {
        Some(d) => bool::from(d.as_slice().ct_eq(row.card.as_bytes())),
        None => false,
    };
    if change == Change::Same && !same_card {
        change = Change::Update;
    }
    if write && change != Change::Same {
        apply(tx, old.as_ref(), &b, change, run)?;
        if !same_card {
            tx.put_card(card)?;
        }
    }
    Ok(change)
}

/// What the users of contract `id` (in the users file only) do to it.
fn other_contract(
    tx: &mut Tx,
    id: &str,
    users: &[UserRow],
    run: &Run,
    write: bool,
) -> TxResult<Change> {
    let Some(old) = tx.business(id)? else {
        return Ok(Change::Same);
    };
    let mut b = old.clone();
    if let Some(listed) = users_of(users, id, Some(&old)) {
        b.users = listed;
    }
    let change = if b == old {
        Change::Same
    } else {
        Change::Update
    };
    if write && change != Change::Same {
        apply(tx, Some(&old), &b, change, run)?;
    }
    Ok(change)
}

/// Goes through the staged rows: every contracts row with its users, then the users of
/// contracts the contracts file does not name; `count`s each change. Writing, each contract is
/// one transaction that also removes its staged rows (so a crash resumes where it stopped);
/// otherwise (the report) each is a transaction that writes nothing.
fn walk(
    store: &Store,
    staging: &mut OwnedImport,
    run: &Run,
    write: bool,
    mut count: impl FnMut(Change, &str),
) -> std::result::Result<(), StoreError> {
    let id = staging.id();
    staging.for_each("c\t", 100, |staging, key, v| {
        let c: StagedContract = decode(&v)?;
        let digits = store.card_digits_of(&c.card)?;
        let row = ContractRow {
            line: c.line,
            contract_id: c.contract_id.clone(),
            name: c.name,
            admin_hash: c.admin_hash,
            confirm_hash: c.confirm_hash,
            card: Zeroizing::new(String::from_utf8_lossy(&digits).into_owned()),
            usage: c.usage,
            closed: c.closed,
        };
        let (user_keys, users) = staged_users(staging, &row.contract_id)?;
        let change = store.write(|tx| {
            let change = one_contract(tx, &row, &c.card, &users, run, write)?;
            if write {
                let mut keys: Vec<&str> = user_keys.iter().map(String::as_str).collect();
                keys.push(&key);
                tx.unstage(id, &keys)?;
            }
            Ok(change)
        })?;
        count(change, &row.contract_id);
        Ok::<_, StoreError>(())
    })?;
    // Users of contracts named only in the users file, a contract at a time.
    let mut after: Option<String> = None;
    loop {
        let rows = staging.scan("u\t", after.as_deref(), 1)?;
        let Some((last, v)) = rows.first() else {
            break;
        };
        let u: StagedUser = decode(v)?;
        let (user_keys, users) = staged_users(staging, &u.contract_id)?;
        after = Some(user_keys.last().cloned().unwrap_or_else(|| last.clone()));
        if staging.line_of(&contract_key(&u.contract_id))?.is_some() {
            continue; // its contracts row took them (the report: nothing removed)
        }
        let change = store.write(|tx| {
            let change = other_contract(tx, &u.contract_id, &users, run, write)?;
            if write {
                let keys: Vec<&str> = user_keys.iter().map(String::as_str).collect();
                tx.unstage(id, &keys)?;
            }
            Ok(change)
        })?;
        count(change, &u.contract_id);
    }
    Ok(())
}

/// Finishes applying a published business import a crash cut short, if there is one (the
/// next import does it first; gateways at their sweep). Nothing when another import runs.
pub fn finish_cut_short(store: &Store) -> std::result::Result<(), StoreError> {
    let Some((id, marker)) = store.published_import()? else {
        return Ok(());
    };
    let run: Run = decode(&marker)?;
    let mut staging = match store.resume_owned_import(id) {
        Ok(s) => s,
        Err(StoreError::ImportBusy) => return Ok(()),
        Err(e) => return Err(e),
    };
    walk(store, &mut staging, &run, true, |_, _| {})?;
    staging.finish()
}

/// Stores `b` (made of `old` by [`merge`]) with what it means for its tokens and its audit
/// records: a closing cancels every registered token, a changed 利用形態 releases them all, a
/// removed user's token goes back to the contract when nobody else uses it.
fn apply(
    tx: &mut Tx,
    old: Option<&Business>,
    b: &Business,
    change: Change,
    run: &Run,
) -> TxResult<()> {
    let by = &run.by;
    let file = &run.contracts_name;
    let now = run.now;
    let id = b.contract_id.as_str();
    let before = old.map(Business::serials).unwrap_or_default();
    if change == Change::Close {
        for serial in &before {
            if let Some(mut t) = tx.token(serial)? {
                if matches!(&t.state, TokenState::Active { contract_id, .. } if contract_id == id) {
                    t.state = TokenState::Cancelled {
                        contract_id: id.to_owned(),
                        at: now,
                    };
                    tx.put_token(&t)?;
                }
            }
        }
        tx.audit(
            now,
            Event {
                event: AuditEvent::ContractClosed,
                contract_id: Some(id),
                serial: None,
                detail: format!(
                    "法人 closed by {file}: tokens [{}] cancelled, {by}",
                    before.join(" ")
                ),
            },
        )?;
    } else {
        for serial in &before {
            release_if_unused(tx, b, serial)?;
        }
    }
    if change == Change::Reopen {
        tx.audit(
            now,
            Event {
                event: AuditEvent::ContractReopened,
                contract_id: Some(id),
                serial: None,
                detail: format!("法人 reopened by {file}, {by}"),
            },
        )?;
    }
    if let Some(old) = old.filter(|o| o.usage != b.usage && !b.closed) {
        // As the administrator's 利用形態設定 records it: every registration released.
        tx.audit(
            now,
            Event {
                contract_id: Some(id),
                detail: format!(
                    "利用形態 {} -> {} by {file}; released [{}], {by}",
                    old.usage.code(),
                    b.usage.code(),
                    before.join(" ")
                ),
                ..Event::new(AuditEvent::BizUsage)
            },
        )?;
    }
    tx.put_business(b)
}

/// `customers import --business CONTRACTS --users USERS [--dry-run]`: all rows or none, in
/// bounded memory (see the module's doc).
pub fn import(store: &Store, args: &mut BusinessImportArgs) -> Result<ImportReport> {
    let (mut staging, report, run) = stage(store, args)?;
    if args.dry_run {
        // Dropping the staging drops its rows.
        return Ok(report);
    }
    publish(&mut staging, &report, &run)?;
    walk(store, &mut staging, &run, true, |_, _| {})?;
    staging.finish()?;
    Ok(report)
}

/// Commits a staged import: the marker (what applying needs) and the `biz_load` record.
fn publish(
    staging: &mut OwnedImport,
    report: &ImportReport,
    run: &Run,
) -> std::result::Result<(), StoreError> {
    let event = Event {
        detail: format!("{}: {}, {}", report.file_name, report.summary(), run.by),
        ..Event::new(AuditEvent::BizLoad)
    };
    let marker = serde_json::to_vec(run).unwrap_or_default();
    staging.publish(&marker, event, run.now)
}

/// Stages both files and checks them (every bad row, or the report of what they change).
fn stage<'s>(
    store: &'s Store,
    args: &mut BusinessImportArgs,
) -> Result<(OwnedImport<'s>, ImportReport, Run)> {
    let names = (args.contracts_name.to_owned(), args.users_name.to_owned());
    let refused = |bad: Vec<String>| {
        OperateError::Refused(format!(
            "nothing loaded from {} and {}: {} bad row(s)\n  {}",
            names.0,
            names.1,
            bad.len(),
            bad.join("\n  ")
        ))
    };
    finish_cut_short(store)?;
    let mut staging = store.begin_owned_import()?;
    // Contract IDs of personal customers, found as the rows are staged (reported only when
    // the files have no bad row, as the database's own checks are).
    let mut personal: Vec<(u64, String)> = Vec::new();
    let staging_cell = std::cell::RefCell::new(&mut staging);
    let bad = read_files(
        args,
        |r| {
            let mut staging = staging_cell.borrow_mut();
            let key = contract_key(&r.contract_id);
            if let Some(first) = staging.line_of(&key)? {
                return Ok(Some(format!(
                    "契約先ID {} is also on line {first}",
                    r.contract_id
                )));
            }
            if store.customer(&r.contract_id)?.is_some() {
                personal.push((
                    r.line,
                    format!(
                        "{} line {}: 契約先ID {} is a personal customer's contract ID",
                        names.0, r.line, r.contract_id
                    ),
                ));
            }
            let staged = StagedContract {
                line: r.line,
                card: store.seal_card(&r.contract_id, &r.card),
                contract_id: r.contract_id,
                name: r.name,
                admin_hash: r.admin_hash,
                confirm_hash: r.confirm_hash,
                usage: r.usage,
                closed: r.closed,
            };
            staging.put(&key, staged.line, &staged)?;
            Ok(None)
        },
        |u| {
            let mut staging = staging_cell.borrow_mut();
            let key = format!("{}{}", users_prefix(&u.contract_id), u.user_id);
            if let Some(first) = staging.line_of(&key)? {
                return Ok(Some(format!(
                    "利用者ID {} of {} is also on line {first}",
                    u.user_id, u.contract_id
                )));
            }
            let staged = StagedUser {
                line: u.line,
                contract_id: u.contract_id,
                user_id: u.user_id,
                name: u.name,
            };
            staging.put(&key, staged.line, &staged)?;
            Ok(None)
        },
    )?;
    if !bad.is_empty() {
        return Err(refused(bad));
    }
    // Users of contracts in neither file nor database.
    let mut neither: Vec<(u64, String)> = Vec::new();
    staging.for_each("u\t", 1000, |staging, _, v| {
        let u: StagedUser = decode(&v)?;
        if staging.line_of(&contract_key(&u.contract_id))?.is_none()
            && store.business(&u.contract_id)?.is_none()
        {
            neither.push((
                u.line,
                format!(
                    "{} line {}: contract {} is in neither {} nor the database",
                    names.1, u.line, u.contract_id, names.0
                ),
            ));
        }
        Ok::<_, StoreError>(())
    })?;
    if !personal.is_empty() || !neither.is_empty() {
        let mut bad: Vec<String> = personal.into_iter().map(|(_, m)| m).collect();
        bad.extend(in_line_order(Vec::new(), neither));
        return Err(refused(bad));
    }
    let run = Run {
        contracts_name: names.0.clone(),
        by: args.operator.tag(),
        now: args.now,
    };
    let mut report = ImportReport {
        dry_run: args.dry_run,
        file_name: format!("{} + {}", names.0, names.1),
        ..ImportReport::default()
    };
    walk(store, &mut staging, &run, false, |change, id| {
        report.count(change, id)
    })?;
    Ok((staging, report, run))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(header: &[&str], rows: &[&str]) -> Vec<u8> {
        let mut s = format!("\u{feff}{}\r\n", header.join(","));
        for r in rows {
            s.push_str(r);
            s.push_str("\r\n");
        }
        s.into_bytes()
    }

    /// The files as readers (leaked: a test's few bytes).
    fn args<'a>(contracts: &'a [u8], users: &'a [u8], op: &'a Operator) -> BusinessImportArgs<'a> {
        BusinessImportArgs {
            contracts: Box::leak(Box::new(contracts)),
            users: Box::leak(Box::new(users)),
            contracts_name: "c.csv",
            users_name: "u.csv",
            dry_run: false,
            now: 0,
            operator: op,
        }
    }

    /// What `parse` refuses (the rows have no Debug: a card is never printed).
    fn refused(mut a: BusinessImportArgs) -> Vec<String> {
        match parse(&mut a) {
            Err(bad) => bad,
            Ok(_) => panic!("the files were accepted"),
        }
    }

    #[test]
    fn every_bad_row_of_both_files_is_named_and_no_secret_is_echoed() {
        let bc = bcrypt::hash("x", 4).unwrap();
        let contracts = file(
            &CONTRACT_HEADER,
            &[
                &format!("3000000001,有限会社テスト,{bc},{bc},40173958,per_user,active"),
                &format!("3000000002,x,Admin-plain,{bc},4017395,both,open"),
                &format!("3000000001,again,{bc},{bc},12345678,shared,active"),
                "short,row",
            ],
        );
        let users = file(
            &USER_HEADER,
            &["3000000001,u1,一郎", "3000000001,u1,二郎", "x"],
        );
        let op = Operator("t".into());
        let bad = refused(args(&contracts, &users, &op));
        assert_eq!(bad.len(), 5, "{bad:?}");
        assert!(
            bad[0].starts_with("c.csv line 3: admin_password_hash"),
            "{bad:?}"
        );
        for why in ["card must be", "usage", "status"] {
            assert!(bad[0].contains(why), "{bad:?}");
        }
        assert!(bad[1].starts_with("c.csv line 4: 契約先ID 3000000001 is also on line 2"));
        assert!(bad[2].starts_with("c.csv line 5: 2 fields"));
        assert!(bad[3].starts_with("u.csv line 3: 利用者ID u1 of 3000000001 is also on line 2"));
        assert!(bad[4].starts_with("u.csv line 4: 1 fields"));
        let all = bad.join("");
        assert!(
            !all.contains("Admin-plain") && !all.contains("4017395"),
            "{all}"
        );
        let no_header = refused(args(&contracts, b"id\n", &op));
        assert!(
            no_header
                .iter()
                .any(|b| b.starts_with("u.csv line 1: the header")),
            "{no_header:?}"
        );
    }

    #[test]
    fn a_row_keeps_the_users_tokens_unless_the_usage_changes_or_it_closes() {
        let row = |usage, closed| ContractRow {
            line: 2,
            contract_id: "B1".into(),
            name: "n".into(),
            admin_hash: "a".into(),
            confirm_hash: "c".into(),
            card: Zeroizing::new("40173958".into()),
            usage,
            closed,
        };
        let old = Business {
            contract_id: "B1".into(),
            name: "n".into(),
            admin_hash: "a".into(),
            confirm_hash: "c".into(),
            usage: Usage::PerUser,
            users: vec![BizUser {
                user_id: "u1".into(),
                name: "一郎".into(),
                serial: Some("T1".into()),
                blocked: false,
            }],
            shared_serial: None,
            admin_fails: 1,
            closed: false,
            from_host: Some(BizHostHashes {
                admin: digest("a"),
                confirm: digest("c"),
            }),
        };
        let (same, change) = merge(Some(&old), &row(Usage::PerUser, false), None);
        assert_eq!((change, same.token_of("u1")), (Change::Same, Some("T1")));
        let (shared, change) = merge(Some(&old), &row(Usage::Shared, false), None);
        assert_eq!((change, shared.serials().len()), (Change::Update, 0));
        let (closed, change) = merge(Some(&old), &row(Usage::PerUser, true), None);
        assert_eq!((change, closed.serials().len()), (Change::Close, 0));
        assert_eq!(closed.admin_fails, 1, "the lock count stays");
        let (reopened, change) = merge(Some(&closed), &row(Usage::PerUser, false), None);
        assert!(change == Change::Reopen && !reopened.closed);
    }

    /// `n` contracts of two users each.
    fn many(n: usize) -> (Vec<u8>, Vec<u8>) {
        let bc = bcrypt::hash("x", 4).unwrap();
        let rows: Vec<String> = (0..n)
            .map(|i| format!("B{i:06},有限会社{i},{bc},{bc},40173958,per_user,active"))
            .collect();
        let users: Vec<String> = (0..n)
            .flat_map(|i| [format!("B{i:06},u1,一郎"), format!("B{i:06},u2,二郎")])
            .collect();
        fn refs(v: &[String]) -> Vec<&str> {
            v.iter().map(String::as_str).collect()
        }
        (
            file(&CONTRACT_HEADER, &refs(&rows)),
            file(&USER_HEADER, &refs(&users)),
        )
    }

    /// Published, then cut short before a row was applied: nothing of it shows (the rows stay
    /// staged through an open), and the next import or sweep finishes it whole.
    fn cut_short_then_finished(open: impl Fn() -> Store) {
        // 3 staged rows per contract: more than one batch (1,000) of them.
        const N: usize = 400;
        let (contracts, users) = many(N);
        let op = Operator("t".into());
        {
            let store = open();
            let mut a = args(&contracts, &users, &op);
            a.dry_run = true;
            let report = import(&store, &mut a).unwrap();
            assert_eq!(report.added.count, N as u64);
            assert!(store.business("B000000").unwrap().is_none(), "a dry run");
            let (mut staging, report, run) =
                stage(&store, &mut args(&contracts, &users, &op)).unwrap_or_else(|e| panic!("{e}"));
            publish(&mut staging, &report, &run).unwrap();
            // The process dies: nothing applied, no clean-up.
            std::mem::forget(staging);
        }
        let store = open();
        assert!(store.business("B000000").unwrap().is_none(), "not half");
        // PostgreSQL lets go of the dead importer's lock once it has ended its session, a
        // moment after the socket closed; until then the finisher finds the import busy and
        // leaves it to its next try, as the minute sweep does.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            finish_cut_short(&store).unwrap();
            if store.published_import().unwrap().is_none() || std::time::Instant::now() > deadline {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert_eq!(store.businesses().count(), N, "the new state, whole");
        let b = store.business(&format!("B{:06}", N - 1)).unwrap().unwrap();
        assert_eq!(b.users.len(), 2);
        assert!(store.has_card("B000000").unwrap());
        assert!(store.published_import().unwrap().is_none());
        assert_eq!(store.verify_audit().unwrap(), Ok(1), "one biz_load record");
        // The same files again: nothing changes.
        let again = import(&store, &mut args(&contracts, &users, &op)).unwrap();
        assert_eq!(again.unchanged, N as u64);
    }

    #[test]
    fn a_business_import_cut_short_after_publishing_is_finished_whole() {
        let dir = tempfile::tempdir().unwrap();
        cut_short_then_finished(|| {
            Store::open(dir.path(), crate::seal::Sealer::from_key(&[5; 32])).unwrap()
        });
    }

    #[test]
    fn a_business_import_cut_short_after_publishing_is_finished_whole_on_postgres() {
        use crate::store::harness;
        let dir = tempfile::tempdir().unwrap();
        let url = harness::shared().database(&harness::name_for(dir.path()));
        cut_short_then_finished(|| {
            Store::open_postgres(&url, crate::seal::Sealer::from_key(&[5; 32])).unwrap()
        });
    }
}
