//! All storage: sled trees, typed records, atomic multi-tree writes, the audit chain and group
//! commit. Nothing outside this module names sled, so another engine can replace it here alone.
//!
//! Trees: `customers` (contract ID → [`Customer`]), `tokens` (serial → [`Token`]), `receipts`
//! (受付番号 → [`Receipt`]), `history` (contract ID + 受付番号 → ()), `attempts` (feature-phone
//! 利用中止 attempts), `audit` (sequence → hash-chained [`AuditRecord`]), `meta` (counters), and
//! the branch console's trees (see [`Tree`]): `staff`, `forms`, `applications`, `releases`, whose
//! record types belong to `crate::branch`.
//!
//! Every write goes through [`Store::write`]: one sled transaction over all trees, taken under one
//! in-process lock (so transactions never conflict and the audit chain head can live in memory),
//! followed by [`Store::durable`], which flushes to disk with many waiters sharing one flush.

use crate::otp::{OtpState, Outcome, Params};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use sled::Transactional;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sled::Error),
    #[error("corrupt record in {tree}: {detail}")]
    Corrupt { tree: &'static str, detail: String },
    #[error("receipt numbers are exhausted")]
    ReceiptsExhausted,
    #[error("flush task failed")]
    Flush,
}

/// A customer of internet banking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub contract_id: String,
    pub name: String,
    /// argon2 PHC strings; the passwords themselves are never stored.
    pub login_hash: String,
    pub transfer_hash: String,
    /// Password attempts not yet known to be right. Counted before the hash is checked, so
    /// parallel guesses cannot exceed the limit; the login is locked while it is at the limit.
    pub login_fails: u32,
    pub token: Option<Binding>,
    /// Transfers are blocked after a cancellation until a new token is registered.
    #[serde(default)]
    pub transfers_blocked: bool,
}

/// The token a customer uses, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    pub serial: String,
    pub since: u64,
    /// ログイン時のワンタイムパスワード: 認証する.
    pub login_otp: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Hardware,
    Software,
}

/// Where a token is in its life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum TokenState {
    /// In the inventory, bound to nobody.
    Available,
    Active {
        contract_id: String,
        since: u64,
    },
    /// Released by an exchange: never usable again, by anyone.
    Replaced {
        contract_id: String,
        at: u64,
    },
    Cancelled {
        contract_id: String,
        at: u64,
    },
    /// Handed back at a branch (broken, battery dead) when a replacement was issued: never
    /// usable again.
    Returned {
        contract_id: String,
        at: u64,
        reason: String,
    },
}

/// A token of the inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    pub serial: String,
    pub kind: TokenKind,
    pub params: Params,
    /// The seed, hex. Never logged, never rendered.
    pub secret_hex: String,
    pub state: TokenState,
    pub otp: OtpState,
    /// A hardware token handed out at a branch for one customer: only they may register it.
    #[serde(default)]
    pub assigned_to: Option<String>,
}

impl Token {
    pub fn new(serial: String, kind: TokenKind, params: Params, secret: &[u8]) -> Token {
        Token {
            serial,
            kind,
            params,
            secret_hex: hex::encode(secret),
            state: TokenState::Available,
            otp: OtpState::default(),
            assigned_to: None,
        }
    }

    pub fn secret(&self) -> Vec<u8> {
        hex::decode(&self.secret_hex).unwrap_or_default()
    }

    /// One OTP attempt against this token, updating its state.
    pub fn attempt(&mut self, code: &str, now: u64, limit: u32) -> Outcome {
        let secret = self.secret();
        self.otp.attempt(&self.params, &secret, code, now, limit)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReceiptKind {
    Registration,
    Exchange,
    /// 利用中止 from a paper form, approved at a branch.
    Cancellation,
}

/// A 受付番号 and what it stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub number: u32,
    pub kind: ReceiptKind,
    pub contract_id: String,
    pub serial: String,
    pub old_serial: Option<String>,
    pub at: u64,
}

impl Receipt {
    /// Seven digits, as the seeds print them.
    pub fn number_text(&self) -> String {
        format!("{:07}", self.number)
    }
}

/// A feature-phone 利用中止 attempt (the phone cannot cancel; the branch follows up).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub at: u64,
    pub contract_id: Option<String>,
}

/// One audit event: hash-chained to the one before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub seq: u64,
    pub at: u64,
    pub event: String,
    pub contract_id: Option<String>,
    pub serial: Option<String>,
    pub detail: String,
    /// Staff IDs (maker, then checker) for actions taken at a branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff: Option<String>,
    /// The branch code of the staff member who acted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// SHA-256 of the previous record (hex; zeros for the first).
    pub prev: String,
    /// SHA-256 over `prev` and this record's other fields.
    pub hash: String,
}

/// What a write adds to the audit trail.
#[derive(Debug, Clone, Default)]
pub struct Event<'a> {
    pub event: &'a str,
    pub contract_id: Option<&'a str>,
    pub serial: Option<&'a str>,
    pub detail: String,
}

impl AuditRecord {
    fn digest(&self) -> String {
        let mut h = Sha256::new();
        for part in [
            self.prev.as_str(),
            &self.seq.to_string(),
            &self.at.to_string(),
            &self.event,
            self.contract_id.as_deref().unwrap_or(""),
            self.serial.as_deref().unwrap_or(""),
            &self.detail,
        ] {
            // Length-prefixed so no two field splits hash alike.
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        // Staff and branch are hashed only when present, so records without them keep the
        // digests they had before these fields existed.
        for part in [&self.staff, &self.branch].into_iter().flatten() {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        hex::encode(h.finalize())
    }
}

const ZERO_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// The first 受付番号; numbers stay seven digits.
const FIRST_RECEIPT: u32 = 1_000_001;
const LAST_RECEIPT: u32 = 9_999_999;

#[derive(Debug, Clone)]
struct Counters {
    next_receipt: u32,
    next_audit: u64,
    audit_head: String,
}

const T_CUSTOMERS: usize = 0;
const T_TOKENS: usize = 1;
const T_RECEIPTS: usize = 2;
const T_HISTORY: usize = 3;
const T_ATTEMPTS: usize = 4;
const T_AUDIT: usize = 5;
const T_META: usize = 6;
const TREE_NAMES: [&str; 11] = [
    "customers",
    "tokens",
    "receipts",
    "history",
    "attempts",
    "audit",
    "meta",
    "staff",
    "forms",
    "applications",
    "releases",
];

/// Trees whose records are defined by their owner (the branch console), reached through the
/// generic [`Tx::get_in`] / [`Tx::put_in`] and [`Store::get_in`] / [`Store::scan_in`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tree {
    /// Staff ID → branch staff record.
    Staff,
    /// Paper cancellation form number → form.
    Forms,
    /// 発行申込書 number → hardware-token application.
    Applications,
    /// Release ID → lock release request.
    Releases,
}

impl Tree {
    fn index(self) -> usize {
        match self {
            Tree::Staff => 7,
            Tree::Forms => 8,
            Tree::Applications => 9,
            Tree::Releases => 10,
        }
    }
}

/// The database.
pub struct Store {
    db: sled::Db,
    trees: Vec<sled::Tree>,
    write_lock: Mutex<Counters>,
    /// Group commit: writes take a ticket, one flush covers every ticket issued before it.
    tickets: AtomicU64,
    flushed: AtomicU64,
    flush_lock: tokio::sync::Mutex<()>,
}

/// Why a transaction body stopped.
#[derive(Debug)]
pub enum Abort {
    Corrupt(&'static str, String),
    ReceiptsExhausted,
}

type TxResult<T> = Result<T, ConflictableTransactionError<Abort>>;

fn abort<T>(a: Abort) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(a))
}

fn decode<T: DeserializeOwned>(tree: &'static str, bytes: &[u8]) -> Result<T, Abort> {
    serde_json::from_slice(bytes).map_err(|e| Abort::Corrupt(tree, e.to_string()))
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Our records are plain structs of strings and numbers: serialising cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

/// Typed access to the trees inside one transaction.
pub struct Tx<'a> {
    trees: &'a [TransactionalTree],
    counters: Counters,
}

impl Tx<'_> {
    fn get<T: DeserializeOwned>(&self, t: usize, key: &[u8]) -> TxResult<Option<T>> {
        match self.trees[t].get(key)? {
            None => Ok(None),
            Some(v) => match decode(TREE_NAMES[t], &v) {
                Ok(r) => Ok(Some(r)),
                Err(a) => abort(a),
            },
        }
    }

    fn put<T: Serialize>(&self, t: usize, key: &[u8], value: &T) -> TxResult<()> {
        self.trees[t].insert(key, encode(value))?;
        Ok(())
    }

    pub fn customer(&self, contract_id: &str) -> TxResult<Option<Customer>> {
        self.get(T_CUSTOMERS, contract_id.as_bytes())
    }

    /// A record of an owner-defined tree.
    pub fn get_in<T: DeserializeOwned>(&self, tree: Tree, key: &[u8]) -> TxResult<Option<T>> {
        self.get(tree.index(), key)
    }

    pub fn put_in<T: Serialize>(&self, tree: Tree, key: &[u8], value: &T) -> TxResult<()> {
        self.put(tree.index(), key, value)
    }

    /// The sequence number the next audit record of this transaction gets: unique, so it can
    /// key records made in the same write.
    pub fn next_audit_seq(&self) -> u64 {
        self.counters.next_audit
    }

    pub fn put_customer(&self, c: &Customer) -> TxResult<()> {
        self.put(T_CUSTOMERS, c.contract_id.as_bytes(), c)
    }

    pub fn token(&self, serial: &str) -> TxResult<Option<Token>> {
        self.get(T_TOKENS, serial.as_bytes())
    }

    pub fn put_token(&self, t: &Token) -> TxResult<()> {
        self.put(T_TOKENS, t.serial.as_bytes(), t)
    }

    /// Issues the next 受付番号 and stores the receipt with it.
    pub fn receipt(
        &mut self,
        kind: ReceiptKind,
        contract_id: &str,
        serial: &str,
        old_serial: Option<&str>,
        at: u64,
    ) -> TxResult<Receipt> {
        let number = self.counters.next_receipt;
        if number > LAST_RECEIPT {
            return abort(Abort::ReceiptsExhausted);
        }
        self.counters.next_receipt += 1;
        let r = Receipt {
            number,
            kind,
            contract_id: contract_id.to_owned(),
            serial: serial.to_owned(),
            old_serial: old_serial.map(str::to_owned),
            at,
        };
        self.put(T_RECEIPTS, &number.to_be_bytes(), &r)?;
        let mut hkey = contract_id.as_bytes().to_vec();
        hkey.push(0);
        hkey.extend_from_slice(&number.to_be_bytes());
        self.trees[T_HISTORY].insert(hkey, &[][..])?;
        // The counter is stored in the same transaction, so a number is never issued twice.
        self.trees[T_META].insert(
            &b"next_receipt"[..],
            &self.counters.next_receipt.to_be_bytes()[..],
        )?;
        Ok(r)
    }

    /// Records a feature-phone 利用中止 attempt and its audit record (keyed by that record's
    /// sequence number, which is unique).
    pub fn cancel_attempt(&mut self, at: u64, contract_id: Option<&str>) -> TxResult<()> {
        let key = self.counters.next_audit.to_be_bytes();
        self.put(
            T_ATTEMPTS,
            &key,
            &Attempt {
                at,
                contract_id: contract_id.map(str::to_owned),
            },
        )?;
        self.audit(
            at,
            Event {
                event: "cancel_attempt",
                contract_id,
                detail: "feature phone sent to branch".into(),
                ..Event::default()
            },
        )
    }

    /// Appends an audit record, chained to the previous one.
    pub fn audit(&mut self, at: u64, e: Event) -> TxResult<()> {
        self.append_audit(at, e, None, None)
    }

    /// Appends an audit record for an action taken at a branch: `staff` names the staff IDs
    /// (maker, then checker), `branch` the acting staff member's branch code.
    pub fn audit_by(&mut self, at: u64, e: Event, staff: &str, branch: &str) -> TxResult<()> {
        self.append_audit(at, e, Some(staff.to_owned()), Some(branch.to_owned()))
    }

    fn append_audit(
        &mut self,
        at: u64,
        e: Event,
        staff: Option<String>,
        branch: Option<String>,
    ) -> TxResult<()> {
        let mut rec = AuditRecord {
            seq: self.counters.next_audit,
            at,
            event: e.event.to_owned(),
            contract_id: e.contract_id.map(str::to_owned),
            serial: e.serial.map(str::to_owned),
            detail: e.detail,
            staff,
            branch,
            prev: self.counters.audit_head.clone(),
            hash: String::new(),
        };
        rec.hash = rec.digest();
        self.put(T_AUDIT, &rec.seq.to_be_bytes(), &rec)?;
        self.counters.next_audit += 1;
        self.counters.audit_head = rec.hash;
        Ok(())
    }
}

impl Store {
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let db = sled::Config::new().path(dir).open()?;
        let trees = TREE_NAMES
            .iter()
            .map(|n| db.open_tree(n))
            .collect::<Result<Vec<_>, _>>()?;
        let next_receipt = match trees[T_META].get(b"next_receipt")? {
            Some(v) => {
                let b: [u8; 4] = v.as_ref().try_into().map_err(|_| StoreError::Corrupt {
                    tree: "meta",
                    detail: "next_receipt".into(),
                })?;
                u32::from_be_bytes(b)
            }
            None => FIRST_RECEIPT,
        };
        let (next_audit, audit_head) = match trees[T_AUDIT].last()? {
            Some((_, v)) => {
                let rec: AuditRecord = decode("audit", &v).map_err(abort_to_store)?;
                (rec.seq + 1, rec.hash)
            }
            None => (0, ZERO_HASH.to_owned()),
        };
        Ok(Store {
            db,
            trees,
            write_lock: Mutex::new(Counters {
                next_receipt,
                next_audit,
                audit_head,
            }),
            tickets: AtomicU64::new(0),
            flushed: AtomicU64::new(0),
            flush_lock: tokio::sync::Mutex::new(()),
        })
    }

    /// True when no customer and no token has been loaded yet.
    pub fn is_empty(&self) -> bool {
        self.trees[T_CUSTOMERS].is_empty() && self.trees[T_TOKENS].is_empty()
    }

    fn read<T: DeserializeOwned>(&self, t: usize, key: &[u8]) -> Result<Option<T>, StoreError> {
        match self.trees[t].get(key)? {
            None => Ok(None),
            Some(v) => decode(TREE_NAMES[t], &v).map(Some).map_err(abort_to_store),
        }
    }

    pub fn customer(&self, contract_id: &str) -> Result<Option<Customer>, StoreError> {
        self.read(T_CUSTOMERS, contract_id.as_bytes())
    }

    pub fn token(&self, serial: &str) -> Result<Option<Token>, StoreError> {
        self.read(T_TOKENS, serial.as_bytes())
    }

    /// A record of an owner-defined tree.
    pub fn get_in<T: DeserializeOwned>(
        &self,
        tree: Tree,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
        self.read(tree.index(), key)
    }

    /// Every record of an owner-defined tree, in key order.
    pub fn scan_in<T: DeserializeOwned>(
        &self,
        tree: Tree,
    ) -> impl Iterator<Item = Result<T, StoreError>> + '_ {
        let t = tree.index();
        self.trees[t].iter().map(move |kv| {
            let (_, v) = kv?;
            decode(TREE_NAMES[t], &v).map_err(abort_to_store)
        })
    }

    pub fn receipt(&self, number: u32) -> Result<Option<Receipt>, StoreError> {
        self.read(T_RECEIPTS, &number.to_be_bytes())
    }

    /// A customer's receipts, oldest first.
    pub fn history(&self, contract_id: &str) -> Result<Vec<Receipt>, StoreError> {
        let mut prefix = contract_id.as_bytes().to_vec();
        prefix.push(0);
        let mut out = Vec::new();
        for kv in self.trees[T_HISTORY].scan_prefix(&prefix) {
            let (k, _) = kv?;
            let n: [u8; 4] = k[prefix.len()..]
                .try_into()
                .map_err(|_| StoreError::Corrupt {
                    tree: "history",
                    detail: "key".into(),
                })?;
            if let Some(r) = self.receipt(u32::from_be_bytes(n))? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Every token, in serial order.
    pub fn tokens(&self) -> impl Iterator<Item = Result<Token, StoreError>> + '_ {
        self.trees[T_TOKENS].iter().map(|kv| {
            let (_, v) = kv?;
            decode("tokens", &v).map_err(abort_to_store)
        })
    }

    /// Every customer, in contract-ID order.
    pub fn customers(&self) -> impl Iterator<Item = Result<Customer, StoreError>> + '_ {
        self.trees[T_CUSTOMERS].iter().map(|kv| {
            let (_, v) = kv?;
            decode("customers", &v).map_err(abort_to_store)
        })
    }

    /// Feature-phone 利用中止 attempts, oldest first.
    pub fn attempts(&self) -> impl Iterator<Item = Result<Attempt, StoreError>> + '_ {
        self.trees[T_ATTEMPTS].iter().map(|kv| {
            let (_, v) = kv?;
            decode("attempts", &v).map_err(abort_to_store)
        })
    }

    /// The audit trail, oldest first.
    pub fn audit(&self) -> impl Iterator<Item = Result<AuditRecord, StoreError>> + '_ {
        self.trees[T_AUDIT].iter().map(|kv| {
            let (_, v) = kv?;
            decode("audit", &v).map_err(abort_to_store)
        })
    }

    /// Checks the audit chain; `Err(seq)` names the first record that does not verify.
    pub fn verify_audit(&self) -> Result<Result<u64, u64>, StoreError> {
        let mut prev = ZERO_HASH.to_owned();
        let mut count = 0;
        for (i, rec) in self.audit().enumerate() {
            let rec = rec?;
            if rec.seq != i as u64 || rec.prev != prev || rec.digest() != rec.hash {
                return Ok(Err(i as u64));
            }
            prev = rec.hash;
            count += 1;
        }
        Ok(Ok(count))
    }

    /// Runs `body` as one atomic transaction over all trees. Not yet durable: call
    /// [`Store::durable`] (or [`Store::flush`]) before reporting success.
    pub fn write<T>(&self, body: impl Fn(&mut Tx) -> TxResult<T>) -> Result<T, StoreError> {
        let mut counters = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let refs: Vec<&sled::Tree> = self.trees.iter().collect();
        let result = refs.as_slice().transaction(|trees| {
            let mut tx = Tx {
                trees,
                counters: counters.clone(),
            };
            let out = body(&mut tx)?;
            Ok((out, tx.counters))
        });
        match result {
            Ok((out, next)) => {
                *counters = next;
                drop(counters);
                self.tickets.fetch_add(1, Ordering::SeqCst);
                Ok(out)
            }
            Err(TransactionError::Abort(a)) => Err(abort_to_store(a)),
            Err(TransactionError::Storage(e)) => Err(StoreError::Db(e)),
        }
    }

    /// Waits until every write made so far is on disk. Concurrent callers share flushes: the
    /// first flushes for all who wrote before it started, the rest find their write covered.
    pub async fn durable(&self) -> Result<(), StoreError> {
        let mine = self.tickets.load(Ordering::SeqCst);
        if self.flushed.load(Ordering::SeqCst) >= mine {
            return Ok(());
        }
        let _guard = self.flush_lock.lock().await;
        if self.flushed.load(Ordering::SeqCst) >= mine {
            return Ok(());
        }
        let upto = self.tickets.load(Ordering::SeqCst);
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.flush())
            .await
            .map_err(|_| StoreError::Flush)??;
        self.flushed.fetch_max(upto, Ordering::SeqCst);
        Ok(())
    }

    /// Flushes now (command-line tools).
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// Stores many new tokens at once, all or none. Returns the serials that already exist
    /// (nothing is written when any does, unless `replace` allows overwriting unbound ones).
    pub fn import_tokens(
        &self,
        tokens: &[Token],
        replace: bool,
        at: u64,
    ) -> Result<ImportResult, StoreError> {
        let mut clashes = Vec::new();
        for t in tokens {
            if let Some(old) = self.token(&t.serial)? {
                let bound = old.state != TokenState::Available || old.assigned_to.is_some();
                if !replace || bound {
                    clashes.push((t.serial.clone(), bound));
                }
            }
        }
        if !clashes.is_empty() {
            return Ok(ImportResult::Clashes(clashes));
        }
        // One sled batch is atomic for a tree; the audit record follows in its own write.
        let mut batch = sled::Batch::default();
        for t in tokens {
            batch.insert(t.serial.as_bytes(), encode(t));
        }
        self.trees[T_TOKENS].apply_batch(batch)?;
        self.write(|tx| {
            tx.audit(
                at,
                Event {
                    event: "import",
                    detail: format!("{} tokens", tokens.len()),
                    ..Event::default()
                },
            )
        })?;
        self.flush()?;
        Ok(ImportResult::Loaded(tokens.len()))
    }
}

/// What [`Store::import_tokens`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum ImportResult {
    Loaded(usize),
    /// Serials that exist already, with whether each is bound to a customer.
    Clashes(Vec<(String, bool)>),
}

fn abort_to_store(a: Abort) -> StoreError {
    match a {
        Abort::Corrupt(tree, detail) => StoreError::Corrupt { tree, detail },
        Abort::ReceiptsExhausted => StoreError::ReceiptsExhausted,
    }
}
