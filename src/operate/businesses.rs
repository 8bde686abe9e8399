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

use super::csv_rows::{each_row, field_count, name_ok, Unique, MAX_NAME};
use super::customers::{digest, Change, ImportReport};
use super::{OperateError, Operator, Result};
use crate::business::load::valid_id;
use crate::business::release_if_unused;
use crate::phc;
use crate::store::{
    AuditEvent, BizHostHashes, BizUser, Business, Event, Store, TokenState, Tx, TxResult, Usage,
};
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
    /// The contracts file's bytes.
    pub contracts: &'a [u8],
    /// The users file's bytes.
    pub users: &'a [u8],
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

/// Both files read, or every bad row of either as `FILE line N: why`.
fn parse(
    args: &BusinessImportArgs,
) -> std::result::Result<(Vec<ContractRow>, Vec<UserRow>), Vec<String>> {
    let mut contracts = Vec::new();
    let mut ids = Unique::default();
    let bad_contracts = each_row(args.contracts, &CONTRACT_HEADER, |line, fields| {
        let r = contract_row(line, fields)?;
        ids.first(&r.contract_id, line)
            .map_err(|first| format!("契約先ID {} is also on line {first}", r.contract_id))?;
        contracts.push(r);
        Ok(())
    });
    let mut users = Vec::new();
    let mut pairs = Unique::default();
    let bad_users = each_row(args.users, &USER_HEADER, |line, fields| {
        let u = user_row(line, fields)?;
        pairs
            .first(&format!("{}\t{}", u.contract_id, u.user_id), line)
            .map_err(|first| {
                format!(
                    "利用者ID {} of {} is also on line {first}",
                    u.user_id, u.contract_id
                )
            })?;
        users.push(u);
        Ok(())
    });
    let bad: Vec<String> = (bad_contracts.iter().map(|b| (args.contracts_name, b)))
        .chain(bad_users.iter().map(|b| (args.users_name, b)))
        .map(|(file, b)| format!("{file} {b}"))
        .collect();
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

/// What the import does inside its transaction; writes only when not a dry run. `Err` lists
/// the rows the database refuses (nothing is written then).
fn run(
    store: &Store,
    tx: &mut Tx,
    contracts: &[ContractRow],
    users: &[UserRow],
    args: &BusinessImportArgs,
) -> TxResult<std::result::Result<ImportReport, Vec<String>>> {
    let mut bad = Vec::new();
    for row in contracts {
        if tx.customer(&row.contract_id)?.is_some() {
            bad.push(format!(
                "{} line {}: 契約先ID {} is a personal customer's contract ID",
                args.contracts_name, row.line, row.contract_id
            ));
        }
    }
    // Users of contracts the contracts file does not name: the database must have them.
    let mut others: Vec<&str> = Vec::new();
    for u in users {
        if contracts.iter().any(|c| c.contract_id == u.contract_id) {
            continue;
        }
        if tx.business(&u.contract_id)?.is_none() {
            bad.push(format!(
                "{} line {}: contract {} is in neither {} nor the database",
                args.users_name, u.line, u.contract_id, args.contracts_name
            ));
        } else if !others.contains(&u.contract_id.as_str()) {
            others.push(&u.contract_id);
        }
    }
    if !bad.is_empty() {
        return Ok(Err(bad));
    }
    let mut report = ImportReport {
        dry_run: args.dry_run,
        file_name: format!("{} + {}", args.contracts_name, args.users_name),
        ..ImportReport::default()
    };
    for row in contracts {
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
        report.count(change, &row.contract_id);
        if !args.dry_run && change != Change::Same {
            apply(tx, old.as_ref(), &b, change, args)?;
            if !same_card {
                tx.put_card(&store.seal_card(&row.contract_id, &row.card))?;
            }
        }
    }
    for id in others {
        let Some(old) = tx.business(id)? else {
            continue;
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
        report.count(change, id);
        if !args.dry_run && change != Change::Same {
            apply(tx, Some(&old), &b, change, args)?;
        }
    }
    if !args.dry_run {
        tx.audit(
            args.now,
            Event {
                detail: format!(
                    "{}: {}, {}",
                    report.file_name,
                    report.summary(),
                    args.operator.tag()
                ),
                ..Event::new(AuditEvent::BizLoad)
            },
        )?;
    }
    Ok(Ok(report))
}

/// Stores `b` (made of `old` by [`merge`]) with what it means for its tokens and its audit
/// records: a closing cancels every registered token, a changed 利用形態 releases them all, a
/// removed user's token goes back to the contract when nobody else uses it.
fn apply(
    tx: &mut Tx,
    old: Option<&Business>,
    b: &Business,
    change: Change,
    args: &BusinessImportArgs,
) -> TxResult<()> {
    let by = args.operator.tag();
    let file = args.contracts_name;
    let id = b.contract_id.as_str();
    let before = old.map(Business::serials).unwrap_or_default();
    if change == Change::Close {
        for serial in &before {
            if let Some(mut t) = tx.token(serial)? {
                if matches!(&t.state, TokenState::Active { contract_id, .. } if contract_id == id) {
                    t.state = TokenState::Cancelled {
                        contract_id: id.to_owned(),
                        at: args.now,
                    };
                    tx.put_token(&t)?;
                }
            }
        }
        tx.audit(
            args.now,
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
            args.now,
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
            args.now,
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

/// `customers import --business CONTRACTS --users USERS [--dry-run]`: all rows or none.
pub fn import(store: &Store, args: &BusinessImportArgs) -> Result<ImportReport> {
    let refused = |bad: Vec<String>| {
        OperateError::Refused(format!(
            "nothing loaded from {} and {}: {} bad row(s)\n  {}",
            args.contracts_name,
            args.users_name,
            bad.len(),
            bad.join("\n  ")
        ))
    };
    let (contracts, users) = parse(args).map_err(refused)?;
    let body = |tx: &mut Tx| run(store, tx, &contracts, &users, args);
    // A dry run reads in a transaction of its own that writes nothing.
    let outcome = if args.dry_run {
        store.write(body)?
    } else {
        store.commit_now(body)?
    };
    outcome.map_err(refused)
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

    fn args<'a>(contracts: &'a [u8], users: &'a [u8], op: &'a Operator) -> BusinessImportArgs<'a> {
        BusinessImportArgs {
            contracts,
            users,
            contracts_name: "c.csv",
            users_name: "u.csv",
            dry_run: false,
            now: 0,
            operator: op,
        }
    }

    /// What `parse` refuses (the rows have no Debug: a card is never printed).
    fn refused(a: &BusinessImportArgs) -> Vec<String> {
        match parse(a) {
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
        let bad = refused(&args(&contracts, &users, &op));
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
        let no_header = refused(&args(&contracts, b"id\n", &op));
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
}
