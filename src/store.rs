//! All storage: sled trees, typed records, atomic multi-tree writes, the audit chain and group
//! commit. Nothing outside this module names sled, so another engine can replace it here alone.
//!
//! Trees: `customers` (contract ID → [`Customer`]), `tokens` (serial → [`Token`]), `receipts`
//! (受付番号 → [`Receipt`]), `history` (contract ID + 受付番号 → ()), `attempts` (feature-phone
//! 利用中止 attempts), `audit` (sequence → hash-chained [`AuditRecord`]), `meta` (counters),
//! `api_keys` (SHA-256 of an API key → [`ApiKey`]; the keys themselves are never stored), and
//! the branch console's trees (see [`Tree`]): `staff`, `forms`, `applications`, `releases`, whose
//! record types belong to `crate::branch`.
//!
//! Every write goes through [`Store::write`]: one sled transaction over all trees, taken under one
//! in-process lock (so transactions never conflict and the audit chain head can live in memory),
//! followed by [`Store::durable`], which flushes to disk with many waiters sharing one flush.

use crate::inventory::Seed;
use crate::otp::{OtpState, Outcome, Params};
use crate::seal::Sealer;
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
    #[error("the key file does not match this database (wrong key file?)")]
    WrongKey,
}

impl StoreError {
    /// The database's files are damaged (not merely busy or unreachable).
    pub fn is_damage(&self) -> bool {
        matches!(
            self,
            StoreError::Db(sled::Error::Corruption { .. }) | StoreError::Corrupt { .. }
        )
    }
}

/// A customer of internet banking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub contract_id: String,
    pub name: String,
    /// argon2 PHC strings; the passwords themselves are never stored.
    pub login_hash: String,
    pub transfer_hash: String,
    /// Wrong login passwords since the last right one or temporary lock; at the limit, the
    /// login is locked until a branch releases it.
    pub login_fails: u32,
    /// Temporary login locks since the last right login password, and when the current one
    /// ends (see `crate::lockout`).
    #[serde(default)]
    pub login_temp_locks: u32,
    #[serde(default)]
    pub login_locked_until: u64,
    /// The 資金移動用パスワード's own count and lock, never touched by the login password.
    #[serde(default)]
    pub transfer_lock: crate::lockout::State,
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
    /// The carrier subscriber ID (i-mode ID, au subscriber ID, SoftBank UID) that registered
    /// the token, when the bank remembers it (bank.toml `remember_subscriber_id`) and the ID
    /// came from a trusted carrier network. Shown on the branch console; records written
    /// before this field existed read as none.
    #[serde(default)]
    pub subscriber_id: Option<String>,
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
    /// The seed sealed under the master key (base64 of nonce and ciphertext), with the serial
    /// as associated data. Never logged, never rendered.
    pub secret_sealed: String,
    pub state: TokenState,
    pub otp: OtpState,
    /// A hardware token handed out at a branch for one customer: only they may register it.
    #[serde(default)]
    pub assigned_to: Option<String>,
}

impl Token {
    /// One OTP attempt against this token (its opened `secret`), updating its state.
    pub fn attempt(&mut self, secret: &[u8], code: &str, now: u64, limit: u32) -> Outcome {
        self.otp.attempt(&self.params, secret, code, now, limit)
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

/// A caller of the OTP API (another banking channel). Stored under the SHA-256 of its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub name: String,
    /// SHA-256 of the key, hex (the tree key too; kept for a constant-time comparison).
    pub hash_hex: String,
    pub created: u64,
    pub revoked: Option<u64>,
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
const T_API_KEYS: usize = 7;
const TREE_NAMES: [&str; 12] = [
    "customers",
    "tokens",
    "receipts",
    "history",
    "attempts",
    "audit",
    "meta",
    "api_keys",
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
            Tree::Staff => 8,
            Tree::Forms => 9,
            Tree::Applications => 10,
            Tree::Releases => 11,
        }
    }
}

fn open_secret(sealer: &Sealer, token: &Token) -> Result<zeroize::Zeroizing<Vec<u8>>, Abort> {
    let corrupt = || Abort::Corrupt("tokens", format!("seed of {} does not open", token.serial));
    let sealed = data_encoding::BASE64
        .decode(token.secret_sealed.as_bytes())
        .map_err(|_| corrupt())?;
    sealer
        .open(token.serial.as_bytes(), &sealed)
        .map_err(|_| corrupt())
}

/// sled's page cache while serving. Its default (1 GiB) would let a big bank's records fill
/// memory; hot records (customers mid-journey, their tokens) are few, and the OS caches the files
/// anyway.
pub const SERVING_CACHE: u64 = 32 * 1024 * 1024;
/// The page cache of a one-off bulk job (importing an inventory): a big batch evicting and
/// re-reading its own pages from a small cache costs more than the memory, which the job
/// gives back when it ends.
pub const BULK_CACHE: u64 = 1024 * 1024 * 1024;

/// What the key-check record seals: opening it at start-up proves the key file is the right one.
const KEY_CHECK: &[u8] = b"keitai-gateway key check";

/// The database.
pub struct Store {
    db: sled::Db,
    sealer: Sealer,
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
    sealer: &'a Sealer,
}

impl Tx<'_> {
    /// The token's seed, opened for one check; zeroed when dropped.
    pub fn secret(&self, token: &Token) -> TxResult<zeroize::Zeroizing<Vec<u8>>> {
        match open_secret(self.sealer, token) {
            Ok(s) => Ok(s),
            Err(a) => abort(a),
        }
    }

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
        )?;
        Ok(())
    }

    /// Appends an audit record, chained to the previous one. Returns its sequence number (the
    /// receipt the OTP API hands out).
    pub fn audit(&mut self, at: u64, e: Event) -> TxResult<u64> {
        self.append_audit(at, e, None, None)
    }

    /// Appends an audit record for an action taken at a branch: `staff` names the staff IDs
    /// (maker, then checker), `branch` the acting staff member's branch code.
    pub fn audit_by(&mut self, at: u64, e: Event, staff: &str, branch: &str) -> TxResult<u64> {
        self.append_audit(at, e, Some(staff.to_owned()), Some(branch.to_owned()))
    }

    fn append_audit(
        &mut self,
        at: u64,
        e: Event,
        staff: Option<String>,
        branch: Option<String>,
    ) -> TxResult<u64> {
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
        Ok(rec.seq)
    }
}

impl Store {
    /// Opens (or creates) the database in `dir`, with the master key that seals token seeds.
    /// A key other than the one the database was created with is refused here, at start-up.
    pub fn open(dir: &Path, sealer: Sealer) -> Result<Store, StoreError> {
        Store::open_with_cache(dir, sealer, SERVING_CACHE)
    }

    /// [`Store::open`] with a page cache of `cache_bytes` (see [`BULK_CACHE`]).
    pub fn open_with_cache(
        dir: &Path,
        sealer: Sealer,
        cache_bytes: u64,
    ) -> Result<Store, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(cache_bytes)
            .open()?;
        let trees = TREE_NAMES
            .iter()
            .map(|n| db.open_tree(n))
            .collect::<Result<Vec<_>, _>>()?;
        match trees[T_META].get(b"key_check")? {
            Some(sealed) => {
                if sealer
                    .open(b"key_check", &sealed)
                    .map_err(|_| StoreError::WrongKey)?[..]
                    != *KEY_CHECK
                {
                    return Err(StoreError::WrongKey);
                }
            }
            None => {
                trees[T_META].insert(b"key_check", sealer.seal(b"key_check", KEY_CHECK))?;
                db.flush()?;
            }
        }
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
            sealer,
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

    /// Checks the audit chain: `Ok(count)`, or `Err(n)` where record `n` is the first that is
    /// missing, altered, or not linked to the one before it.
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
                sealer: &self.sealer,
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

    /// Loads customers and tokens into an empty database in sled batches of `BULK_CHUNK`
    /// records, then one audit record and a flush: migrations from another system and the
    /// benchmarks' generated banks. Not atomic and without clash checks, unlike
    /// [`Store::import_tokens`]; for a database no one is using yet.
    pub fn bulk_load(
        &self,
        customers: impl IntoIterator<Item = Customer>,
        tokens: impl IntoIterator<Item = Token>,
        at: u64,
    ) -> Result<(u64, u64), StoreError> {
        let customers = self.load_chunked(T_CUSTOMERS, customers, |c| c.contract_id.as_bytes())?;
        let tokens = self.load_chunked(T_TOKENS, tokens, |t| t.serial.as_bytes())?;
        self.write(|tx| {
            tx.audit(
                at,
                Event {
                    event: "bulk_load",
                    detail: format!("{customers} customers, {tokens} tokens"),
                    ..Event::default()
                },
            )
        })?;
        self.flush()?;
        Ok((customers, tokens))
    }

    fn load_chunked<T: Serialize>(
        &self,
        tree: usize,
        records: impl IntoIterator<Item = T>,
        key: impl Fn(&T) -> &[u8],
    ) -> Result<u64, StoreError> {
        const BULK_CHUNK: usize = 10_000;
        let mut count = 0;
        let mut batch = sled::Batch::default();
        for (i, r) in records.into_iter().enumerate() {
            batch.insert(key(&r), encode(&r));
            count += 1;
            if (i + 1).is_multiple_of(BULK_CHUNK) {
                self.trees[tree].apply_batch(std::mem::take(&mut batch))?;
            }
        }
        self.trees[tree].apply_batch(batch)?;
        Ok(count)
    }

    /// An inventory token for `seed`, its secret sealed under the master key.
    pub fn token_from_seed(&self, seed: &Seed) -> Token {
        let sealed = self.sealer.seal(seed.serial.as_bytes(), &seed.secret);
        Token {
            serial: seed.serial.clone(),
            kind: seed.kind,
            params: seed.params,
            secret_sealed: data_encoding::BASE64.encode(&sealed),
            state: TokenState::Available,
            otp: OtpState::default(),
            assigned_to: None,
        }
    }

    /// Opens a token's seed (tools that must show codes, tests).
    pub fn secret(&self, token: &Token) -> Result<zeroize::Zeroizing<Vec<u8>>, StoreError> {
        open_secret(&self.sealer, token).map_err(abort_to_store)
    }

    /// Stores many new tokens at once, all or none. Returns the serials that already exist
    /// (nothing is written when any does, unless `replace` allows overwriting unbound ones).
    pub fn import_tokens(
        &self,
        tokens: &[Token],
        replace: bool,
        at: u64,
    ) -> Result<ImportResult, StoreError> {
        self.import_tokens_with_progress(tokens, replace, at, |_| {})
    }

    /// [`Store::import_tokens`], calling `progress(n)` as each token is checked and again as it
    /// is written (so `2 × tokens.len()` in all), for a progress bar on big inventories.
    pub fn import_tokens_with_progress(
        &self,
        tokens: &[Token],
        replace: bool,
        at: u64,
        mut progress: impl FnMut(u64),
    ) -> Result<ImportResult, StoreError> {
        let mut clashes = Vec::new();
        for (i, t) in tokens.iter().enumerate() {
            if let Some(old) = self.token(&t.serial)? {
                let bound = old.state != TokenState::Available || old.assigned_to.is_some();
                if !replace || bound {
                    clashes.push((t.serial.clone(), bound));
                }
            }
            tick(&mut progress, i);
        }
        progress((tokens.len() % PROGRESS_EVERY) as u64);
        if !clashes.is_empty() {
            return Ok(ImportResult::Clashes(clashes));
        }
        // One sled batch is atomic for a tree; the audit record follows in its own write.
        let mut batch = sled::Batch::default();
        for (i, t) in tokens.iter().enumerate() {
            batch.insert(t.serial.as_bytes(), encode(t));
            tick(&mut progress, i);
        }
        self.trees[T_TOKENS].apply_batch(batch)?;
        progress((tokens.len() % PROGRESS_EVERY) as u64);
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

impl Store {
    /// The API caller whose key hashes to `hash`, revoked or not.
    pub fn api_key(&self, hash: &[u8; 32]) -> Result<Option<ApiKey>, StoreError> {
        self.read(T_API_KEYS, hash)
    }

    /// Every API caller, in key-hash order.
    pub fn api_keys(&self) -> impl Iterator<Item = Result<ApiKey, StoreError>> + '_ {
        self.trees[T_API_KEYS].iter().map(|kv| {
            let (_, v) = kv?;
            decode("api_keys", &v).map_err(abort_to_store)
        })
    }

    fn active_api_keys(&self, name: &str) -> Result<Vec<ApiKey>, StoreError> {
        let mut out = Vec::new();
        for k in self.api_keys() {
            let k = k?;
            if k.name == name && k.revoked.is_none() {
                out.push(k);
            }
        }
        Ok(out)
    }

    /// Adds an API caller `name` whose key hashes to `hash`, with its audit record, flushed.
    /// `false` (nothing written) when `name` already has a key that is not revoked. For the
    /// command line, while the gateway is stopped (the name check reads outside the write).
    pub fn add_api_key(&self, name: &str, hash: &[u8; 32], at: u64) -> Result<bool, StoreError> {
        if !self.active_api_keys(name)?.is_empty() {
            return Ok(false);
        }
        let key = ApiKey {
            name: name.to_owned(),
            hash_hex: hex::encode(hash),
            created: at,
            revoked: None,
        };
        self.write(|tx| {
            tx.put(T_API_KEYS, hash, &key)?;
            tx.audit(
                at,
                Event {
                    event: "api_key_add",
                    detail: format!("caller={name}"),
                    ..Event::default()
                },
            )
        })?;
        self.flush()?;
        Ok(true)
    }

    /// Revokes every live key of API caller `name`, audited and flushed. Returns how many.
    pub fn revoke_api_key(&self, name: &str, at: u64) -> Result<usize, StoreError> {
        let keys = self.active_api_keys(name)?;
        if keys.is_empty() {
            return Ok(0);
        }
        self.write(|tx| {
            for k in &keys {
                let hash = hex::decode(&k.hash_hex).map_err(|_| {
                    ConflictableTransactionError::Abort(Abort::Corrupt("api_keys", "hash".into()))
                })?;
                let revoked = ApiKey {
                    revoked: Some(at),
                    ..k.clone()
                };
                tx.put(T_API_KEYS, &hash, &revoked)?;
            }
            tx.audit(
                at,
                Event {
                    event: "api_key_revoke",
                    detail: format!("caller={name}"),
                    ..Event::default()
                },
            )
        })?;
        self.flush()?;
        Ok(keys.len())
    }
}

/// Progress is reported in steps of this many records (a callback per record would cost more
/// than the work on a million-token file).
const PROGRESS_EVERY: usize = 4096;

fn tick(progress: &mut impl FnMut(u64), i: usize) {
    if (i + 1).is_multiple_of(PROGRESS_EVERY) {
        progress(PROGRESS_EVERY as u64);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &Path) -> Store {
        Store::open(dir, Sealer::from_key(&[1; 32])).unwrap()
    }

    fn event(tx: &mut Tx, n: u64) -> TxResult<u64> {
        tx.audit(
            n,
            Event {
                event: "test",
                detail: format!("event {n}"),
                ..Event::default()
            },
        )
    }

    #[test]
    fn audit_chain_verifies_and_names_the_first_broken_record() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        for n in 0..5 {
            s.write(|tx| event(tx, n)).unwrap();
        }
        assert_eq!(s.verify_audit().unwrap(), Ok(5));
        // Rewrite record 2's detail (as an attacker with the database would).
        let key = 2u64.to_be_bytes();
        let mut rec: AuditRecord =
            serde_json::from_slice(&s.trees[T_AUDIT].get(key).unwrap().unwrap()).unwrap();
        rec.detail = "nothing happened".into();
        s.trees[T_AUDIT].insert(key, encode(&rec)).unwrap();
        assert_eq!(s.verify_audit().unwrap(), Err(2));
        // Recomputing its hash does not help: the next record no longer links to it.
        rec.hash = rec.digest();
        s.trees[T_AUDIT].insert(key, encode(&rec)).unwrap();
        assert_eq!(s.verify_audit().unwrap(), Err(3));
        // Deleting a record breaks the sequence: record 3 is named as missing.
        s.trees[T_AUDIT].remove(3u64.to_be_bytes()).unwrap();
        rec.hash = rec.digest();
        assert_eq!(s.verify_audit().unwrap(), Err(3));
    }

    #[test]
    fn chain_continues_across_reopen_and_wrong_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = store(dir.path());
            s.write(|tx| event(tx, 1)).unwrap();
            s.flush().unwrap();
        }
        let s = store(dir.path());
        s.write(|tx| event(tx, 2)).unwrap();
        assert_eq!(s.verify_audit().unwrap(), Ok(2));
        s.flush().unwrap();
        drop(s);
        assert!(matches!(
            Store::open(dir.path(), Sealer::from_key(&[2; 32])),
            Err(StoreError::WrongKey)
        ));
    }

    #[test]
    fn receipt_numbers_are_seven_digits_and_never_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = {
            let s = store(dir.path());
            let r = s
                .write(|tx| tx.receipt(ReceiptKind::Registration, "1", "A", None, 0))
                .unwrap();
            s.flush().unwrap();
            r.number
        };
        let s = store(dir.path());
        let second = s
            .write(|tx| tx.receipt(ReceiptKind::Registration, "1", "B", None, 0))
            .unwrap();
        assert_eq!(second.number, first + 1);
        assert_eq!(second.number_text().len(), 7);
        assert_eq!(s.history("1").unwrap().len(), 2);
    }
}
