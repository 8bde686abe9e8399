//! All storage, behind one engine-neutral API: the gateway's records ([`records`]), reads by
//! key or secondary index, and atomic transactions ([`Tx`]) made durable by [`Store::commit`].
//! Two engines implement it: sled, embedded under the data directory (one gateway), and
//! PostgreSQL (`pg/`, any number of gateways on one database). Nothing outside this module
//! names either; [`tests`](self) run against both.
//!
//! - [`records`]: one file per record kind (customer, token, receipt, attempt, form, …).
//! - [`Tx`] (`tx.rs`): what a transaction may read and write, keeping indexes in step.
//! - `audit.rs`: the hash-chained audit trail: appending and verifying.
//! - `index.rs`: the secondary indexes and their rebuild.
//! - `bulk.rs`: loading many records at once (inventory imports, migrations, benchmarks).
//! - `error.rs`: [`StoreError`], and [`Abort`], what a transaction body returns.
//!
//! sled layout: one tree per record kind (`customers`, `tokens`, `receipts`, `attempts`,
//! `audit`, `api_keys`, `staff`, `forms`, `applications`, `releases`, `staff_sessions`,
//! `businesses`, `cards`), `meta` (counters, key check, index format), and one tree per index
//! (`history` and the `ix_*` trees). Every write
//! is one sled transaction over all trees, taken under one in-process lock (so transactions
//! never conflict and the audit chain head can live in memory); durability is a group commit:
//! many waiters share one flush.

mod audit;
mod backup;
mod bulk;
mod error;
mod host_import;
mod index;
mod owned_import;
mod pg;
pub mod records;
mod rekey;
mod staging;
#[cfg(test)]
mod tests;
mod tx;

pub use backup::{restore, BackupInfo};
pub use error::{Abort, EngineError, StoreError, TxResult};
pub use host_import::{
    host_digest, merge as merge_host_row, HostChange, HostImport, HostRow, Outcome, Source,
};
pub use owned_import::OwnedImport;
/// The throw-away PostgreSQL cluster of the library's tests.
#[cfg(test)]
pub(crate) use pg::harness;
pub use pg::{SharedSessions, MIGRATIONS, SCHEMA_VERSION};
pub use records::*;
pub use staging::Staging;
pub use tx::Tx;

use crate::banks::BankCode;
use crate::seal::Sealer;
use serde::{de::DeserializeOwned, Serialize};
use sled::transaction::TransactionError;
use sled::Transactional;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use zeroize::Zeroizing;

/// The first 受付番号; numbers stay seven digits.
const FIRST_RECEIPT: u32 = 1_000_001;
const LAST_RECEIPT: u32 = 9_999_999;

/// The engine's page cache while serving. sled's default (1 GiB) would let a big bank's
/// records fill memory; hot records (customers mid-journey, their tokens) are few, and the OS
/// caches the files anyway.
pub const SERVING_CACHE: u64 = 32 * 1024 * 1024;
/// The page cache of a one-off bulk job (importing an inventory): a big batch evicting and
/// re-reading its own pages from a small cache costs more than the memory, which the job
/// gives back when it ends.
pub const BULK_CACHE: u64 = 1024 * 1024 * 1024;

/// The embedded database's format (stored in `meta` as `db_format`). A database without it
/// predates versioning (format 0) and is migrated at open; a newer one is refused. Raise it
/// with a migration step in `Sled::migrate`.
pub const DB_FORMAT: u32 = 1;

/// Who wants to know what the store did (the gateway's metrics): told after each committed
/// write which audit events it recorded, and how long each group flush took.
pub trait Observer: Send + Sync {
    fn committed(&self, events: &[AuditEvent]);
    fn flushed(&self, seconds: f64);
}

/// What the key-check record seals: opening it at start-up proves the key file is the right one.
const KEY_CHECK: &[u8] = b"keitai-gateway key check";

macro_rules! trees {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// The engine's trees, in the order they are opened.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum T { $($(#[$doc])* $variant,)* }

        impl T {
            const ALL: &'static [T] = &[$(T::$variant,)*];

            fn name(self) -> &'static str {
                match self { $(T::$variant => $name,)* }
            }
        }
    };
}

trees! {
    Customers = "customers",
    Tokens = "tokens",
    Receipts = "receipts",
    /// contract ID \0 受付番号 → ().
    History = "history",
    Attempts = "attempts",
    Audit = "audit",
    Meta = "meta",
    ApiKeys = "api_keys",
    Staff = "staff",
    Forms = "forms",
    Applications = "applications",
    Releases = "releases",
    /// SHA-256 of the session ID (hex) → signed-in staff session.
    StaffSessions = "staff_sessions",
    /// contract ID \0 serial → (): tokens handed out for a customer.
    IxAssigned = "ix_assigned",
    /// serial → (): hardware tokens a branch may hand out.
    IxFreeHardware = "ix_free_hardware",
    /// contract ID \0 attempt key → ().
    IxAttempts = "ix_attempts",
    /// contract ID \0 form number → ().
    IxForms = "ix_forms",
    /// contract ID \0 application number → ().
    IxApplications = "ix_applications",
    /// contract ID \0 release ID → ().
    IxReleases = "ix_releases",
    /// kind, record key → (): forms and releases waiting for a supervisor.
    IxPending = "ix_pending",
    /// time, kind, record key → (): forms and releases decided, applications carried out.
    IxProcessed = "ix_processed",
    /// caller name \0 key hash → ().
    IxApiNames = "ix_api_names",
    /// contract ID \0 audit sequence → ().
    IxAuditContract = "ix_audit_contract",
    /// 法人 contracts, by 契約先ID.
    Businesses = "businesses",
    /// お客様カード, by contract ID (personal or business).
    Cards = "cards",
    /// import ID \0 serial → token, or import ID \0 contract ID → host row: an import's rows
    /// before they are made visible (`staging.rs`, `host_import.rs`).
    Staged = "staged",
}

impl T {
    fn i(self) -> usize {
        self as usize
    }
}

fn decode<R: DeserializeOwned>(tree: &'static str, bytes: &[u8]) -> Result<R, Abort> {
    serde_json::from_slice(bytes).map_err(|e| Abort::corrupt(tree, e.to_string()))
}

fn encode<R: Serialize>(value: &R) -> Vec<u8> {
    // Our records are plain structs of strings and numbers: serialising cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

/// Counters a transaction advances; committed only with it.
#[derive(Debug, Clone)]
struct Counters {
    next_receipt: u32,
    next_audit: u64,
    audit_head: String,
    next_attempt: u64,
}

/// The database, on one of two engines: sled (embedded, one gateway) or PostgreSQL (shared by
/// several gateways). Every method means the same on both.
///
/// A [`Store`] holds one bank. On a multi-bank gateway every bank's store is a view of the same
/// engine database whose keys carry the bank: in sled, each bank's trees are named `CODE/tree`
/// (see [`Store::open_banks`]), in PostgreSQL every table's key leads with a `bank` column
/// ([`Store::open_banks_postgres`]); a one-bank setup keeps the bare names (bank '') it always
/// had.
pub struct Store {
    sealer: Sealer,
    engine: Engine,
    observer: OnceLock<Arc<dyn Observer>>,
}

enum Engine {
    // Boxed: the embedded engine carries its trees and counters, PostgreSQL its bank's batcher.
    Sled(Box<Sled>),
    Postgres(Box<pg::Pg>),
}

/// Runs `$body` with `$e` bound to the store's engine, whichever it is (both engines have the
/// same method names and signatures).
macro_rules! on_engine {
    ($self:expr, $e:ident => $body:expr) => {
        match &$self.engine {
            Engine::Sled($e) => $body,
            Engine::Postgres($e) => $body,
        }
    };
}

/// The embedded engine.
struct Sled {
    db: sled::Db,
    /// The bank every record here belongs to (None: a one-bank setup).
    bank: Option<BankCode>,
    trees: Vec<sled::Tree>,
    write_lock: Mutex<Counters>,
    /// Group commit: writes take a ticket, one flush covers every ticket issued before it.
    tickets: AtomicU64,
    flushed: AtomicU64,
    flush_lock: tokio::sync::Mutex<()>,
    /// The import whose staged rows are visible but not yet moved into `tokens` (0: none).
    folding: AtomicU64,
    /// One import at a time.
    import_lock: Mutex<()>,
}

/// What a branch processed in a span of time (see [`Store::processed_between`]).
#[derive(Debug, Default)]
pub struct Processed {
    pub forms: Vec<CancelForm>,
    pub releases: Vec<Release>,
    pub applications: Vec<Application>,
}

fn open_secret(sealer: &Sealer, token: &Token) -> Result<Zeroizing<Vec<u8>>, Abort> {
    let corrupt = || Abort::corrupt("tokens", format!("seed of {} does not open", token.serial));
    let sealed = data_encoding::BASE64
        .decode(token.secret_sealed.as_bytes())
        .map_err(|_| corrupt())?;
    sealer
        .open(token.serial.as_bytes(), &sealed)
        .map_err(|_| corrupt())
}

fn open_card(sealer: &Sealer, card: &Card) -> Result<Zeroizing<Vec<u8>>, Abort> {
    let corrupt = || {
        Abort::corrupt(
            "cards",
            format!("card of {} does not open", card.contract_id),
        )
    };
    let sealed = data_encoding::BASE64
        .decode(card.sealed.as_bytes())
        .map_err(|_| corrupt())?;
    sealer
        .open(&Card::aad(&card.contract_id), &sealed)
        .map_err(|_| corrupt())
}

fn meta_u32(tree: &sled::Tree, key: &str) -> Result<Option<u32>, StoreError> {
    match tree.get(key)? {
        None => Ok(None),
        Some(v) => {
            let b: [u8; 4] = v
                .as_ref()
                .try_into()
                .map_err(|_| Abort::corrupt("meta", key))?;
            Ok(Some(u32::from_be_bytes(b)))
        }
    }
}

impl Store {
    /// Opens (or creates) the database in `dir`, with the master key that seals token seeds.
    /// A key other than the one the database was created with is refused here, at start-up.
    /// Indexes missing from a database written before them are built once, here.
    /// The key that signs the anti-forgery values of pages before any session.
    pub fn form_key(&self) -> &crate::form_token::FormKey {
        self.sealer.form_key()
    }

    pub fn open(dir: &Path, sealer: Sealer) -> Result<Store, StoreError> {
        Store::open_with_cache(dir, sealer, SERVING_CACHE)
    }

    /// [`Store::open`] with a page cache of `cache_bytes` (see [`BULK_CACHE`]).
    pub fn open_with_cache(
        dir: &Path,
        sealer: Sealer,
        cache_bytes: u64,
    ) -> Result<Store, StoreError> {
        let db = Sled::engine(dir, cache_bytes)?;
        let engine = Engine::Sled(Box::new(Sled::open_in(db, &sealer, None)?));
        Ok(Store {
            sealer,
            engine,
            observer: OnceLock::new(),
        })
    }

    /// Opens (or creates) one embedded database in `dir` holding every bank of `banks`: one
    /// [`Store`] per bank, in the order given, each seeing only its own bank's records,
    /// counters (受付番号) and audit chain.
    pub fn open_banks(
        dir: &Path,
        sealer: &Sealer,
        cache_bytes: u64,
        banks: &[BankCode],
    ) -> Result<Vec<Store>, StoreError> {
        let db = Sled::engine(dir, cache_bytes)?;
        banks
            .iter()
            .map(|b| {
                let engine = Engine::Sled(Box::new(Sled::open_in(
                    db.clone(),
                    sealer,
                    Some(b.clone()),
                )?));
                Ok(Store {
                    sealer: sealer.clone(),
                    engine,
                    observer: OnceLock::new(),
                })
            })
            .collect()
    }

    /// Opens every bank an embedded database in `dir` holds (its trees named `CODE/…`), in
    /// code order: what `restore` checks of a backup of several banks. Empty for a database of
    /// one bank (whose trees carry no code); open that with [`Store::open`].
    pub fn open_every_bank(
        dir: &Path,
        sealer: &Sealer,
        cache_bytes: u64,
    ) -> Result<Vec<Store>, StoreError> {
        let db = Sled::engine(dir, cache_bytes)?;
        let codes = bank_codes(&db);
        drop(db);
        if codes.is_empty() {
            return Ok(Vec::new());
        }
        Store::open_banks(dir, sealer, cache_bytes, &codes)
    }

    /// The bank this store holds (None: a one-bank setup).
    pub fn bank(&self) -> Option<&BankCode> {
        match &self.engine {
            Engine::Sled(s) => s.bank.as_ref(),
            Engine::Postgres(e) => e.bank().code.as_ref(),
        }
    }

    /// Opens the PostgreSQL database at `url` (`postgres://USER@HOST:PORT/DB`), creating or
    /// migrating its schema; refuses a database whose schema is newer than this gateway, or
    /// sealed with another master key. Any number of gateways may open the same database.
    pub fn open_postgres(url: &str, sealer: Sealer) -> Result<Store, StoreError> {
        let engine = Engine::Postgres(Box::new(pg::Pg::open(url, &sealer)?));
        let store = Store {
            sealer,
            engine,
            observer: OnceLock::new(),
        };
        store.finish_cut_short_import()?;
        Ok(store)
    }

    /// [`Store::open_postgres`] for several banks in one database: one [`Store`] per bank of
    /// `banks`, in the order given, each seeing only its own bank's records, counters (受付番号)
    /// and audit chain (every row's key leads with its bank). The stores share one pool.
    pub fn open_banks_postgres(
        url: &str,
        sealer: &Sealer,
        banks: &[BankCode],
    ) -> Result<Vec<Store>, StoreError> {
        let stores: Vec<Store> = pg::Pg::open_banks(url, sealer, banks)?
            .into_iter()
            .map(|e| Store {
                sealer: sealer.clone(),
                engine: Engine::Postgres(Box::new(e)),
                observer: OnceLock::new(),
            })
            .collect();
        for store in &stores {
            store.finish_cut_short_import()?;
        }
        Ok(stores)
    }

    /// Sessions of `kind` ("phone", "staff") kept in the database, for engines that several
    /// gateways share (PostgreSQL); `None` on the embedded engine, whose one gateway keeps
    /// sessions in memory.
    pub fn shared_sessions(
        &self,
        kind: &'static str,
        idle: std::time::Duration,
    ) -> Option<SharedSessions> {
        match &self.engine {
            Engine::Sled(_) => None,
            Engine::Postgres(e) => Some(SharedSessions::new(e.core(), &e.bank().key, kind, idle)),
        }
    }

    /// Runs `f` while no other gateway or tool on this database runs an `exclusively` of its
    /// own (PostgreSQL: an advisory lock; the embedded database has one process anyway):
    /// "load the demo bank if the database is empty" done once by gateways started together.
    pub fn exclusively<R>(&self, f: impl FnOnce() -> R) -> Result<R, StoreError> {
        match &self.engine {
            Engine::Sled(_) => Ok(f()),
            Engine::Postgres(e) => e.exclusively(f),
        }
    }

    /// Which engine this is: "sled" or "postgres" (logs, tools).
    pub fn engine_name(&self) -> &'static str {
        match self.engine {
            Engine::Sled(_) => "sled",
            Engine::Postgres(_) => "postgres",
        }
    }

    /// Copies every record of this embedded database into `target`, a new PostgreSQL database
    /// opened with the same master key (`keitai-gateway migrate`). Returns how many audit
    /// records were copied; their chain verifies unchanged.
    pub fn copy_into(&self, target: &Store) -> Result<u64, StoreError> {
        let (Engine::Sled(from), Engine::Postgres(to)) = (&self.engine, &target.engine) else {
            return Err(StoreError::Schema(
                "copying goes from the embedded engine into PostgreSQL only".into(),
            ));
        };
        let all = from.everything()?;
        to.import_all(&target.sealer, &all)?;
        Ok(all.audit.len() as u64)
    }

    /// The embedded engine's own tests reach its trees.
    #[cfg(test)]
    fn sled(&self) -> &Sled {
        match &self.engine {
            Engine::Sled(s) => s,
            Engine::Postgres(_) => panic!("not a sled store"),
        }
    }
}

/// The banks whose trees (`CODE/…`) the engine database holds, in code order.
fn bank_codes(db: &sled::Db) -> Vec<BankCode> {
    let mut codes: Vec<BankCode> = db
        .tree_names()
        .iter()
        .filter_map(|n| {
            let name = std::str::from_utf8(n).ok()?;
            BankCode::parse(name.split_once('/')?.0)
        })
        .collect();
    codes.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    codes.dedup();
    codes
}

/// Opens the engine in `dir`. The engine's file lock outlives a closed database by the time
/// its background writers take to finish (a reopen in the same process right after closing
/// may find it held), so a held lock is retried for up to a second before it is reported.
fn open_locked(dir: &Path, cache_bytes: u64) -> Result<sled::Db, sled::Error> {
    let mut tries = 0;
    loop {
        match sled::Config::new()
            .path(dir)
            .cache_capacity(cache_bytes)
            .open()
        {
            Err(e) if tries < 20 && e.to_string().contains("could not acquire lock") => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

impl Sled {
    /// The engine database in `dir`, for [`Sled::open_in`] (one per bank on a multi-bank one).
    fn engine(dir: &Path, cache_bytes: u64) -> Result<sled::Db, StoreError> {
        Ok(open_locked(dir, cache_bytes)?)
    }

    /// Opens the trees of `bank` (None: the one bank's bare names) in `db`, checked.
    fn open_in(db: sled::Db, sealer: &Sealer, bank: Option<BankCode>) -> Result<Sled, StoreError> {
        let store = Sled::raw_in(db, bank)?;
        if store.tree(T::Meta).contains_key(rekey::PENDING)? {
            return Err(StoreError::RekeyPending);
        }
        store.check_key(sealer)?;
        store.migrate()?;
        // A published customer import first: its staged rows are the only ones kept.
        store.recover_host_import(sealer)?;
        store.recover_import()?;
        if meta_u32(store.tree(T::Meta), "format")? != Some(index::FORMAT) {
            store.rebuild_indexes()?;
        }
        Ok(store)
    }

    /// Proves the master key is this database's (the key-check record opens with it), or
    /// writes the check into a new database.
    fn check_key(&self, sealer: &Sealer) -> Result<(), StoreError> {
        let meta = self.tree(T::Meta);
        match meta.get(b"key_check")? {
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
                meta.insert(b"key_check", sealer.seal(b"key_check", KEY_CHECK))?;
                self.db.flush()?;
            }
        }
        Ok(())
    }

    /// Brings an older database to [`DB_FORMAT`], one step per version.
    fn migrate(&self) -> Result<(), StoreError> {
        let meta = self.tree(T::Meta);
        let mut format = meta_u32(meta, "db_format")?.unwrap_or(0);
        while format < DB_FORMAT {
            // 0 → 1: versioning itself; the records are unchanged (their indexes are rebuilt
            // when their own layout is older).
            format += 1;
            meta.insert("db_format", &format.to_be_bytes())?;
        }
        self.db.flush()?;
        Ok(())
    }

    /// Opens the engine, refusing a newer format: every bank's trees, and reads their counters;
    /// nothing else (key rotation). The banks of a database of several (trees `CODE/…`), in
    /// code order, and the bare trees when the database has them (a one-bank database, or one
    /// served with one bank before several).
    fn open_raw_banks(dir: &Path, cache_bytes: u64) -> Result<Vec<Sled>, StoreError> {
        let db = open_locked(dir, cache_bytes)?;
        let codes = bank_codes(&db);
        let bare = db
            .tree_names()
            .iter()
            .any(|n| n.as_ref() == T::Meta.name().as_bytes());
        let mut banks = Vec::new();
        if bare || codes.is_empty() {
            banks.push(Sled::raw_in(db.clone(), None)?);
        }
        for code in codes {
            banks.push(Sled::raw_in(db.clone(), Some(code))?);
        }
        Ok(banks)
    }

    /// Opens the trees of `bank` in `db`, refusing a newer format, and reads the counters.
    fn raw_in(db: sled::Db, bank: Option<BankCode>) -> Result<Sled, StoreError> {
        // The bank is the first part of every key: its own set of trees.
        let name = |t: &T| match &bank {
            Some(b) => format!("{b}/{}", t.name()),
            None => t.name().to_owned(),
        };
        let trees = T::ALL
            .iter()
            .map(|t| db.open_tree(name(t)))
            .collect::<Result<Vec<_>, _>>()?;
        let meta = &trees[T::Meta.i()];
        let fresh = meta.is_empty();
        match meta_u32(meta, "db_format")? {
            Some(found) if found > DB_FORMAT => {
                return Err(StoreError::NewerFormat {
                    found,
                    supported: DB_FORMAT,
                })
            }
            None if fresh => {
                meta.insert("db_format", &DB_FORMAT.to_be_bytes())?;
            }
            _ => {}
        }
        let next_receipt = meta_u32(meta, "next_receipt")?.unwrap_or(FIRST_RECEIPT);
        let (next_audit, audit_head) = match trees[T::Audit.i()].last()? {
            Some((_, v)) => {
                let rec: AuditRecord = decode("audit", &v)?;
                (rec.seq + 1, rec.hash)
            }
            None => (0, audit::ZERO_HASH.to_owned()),
        };
        // Attempts written before they had a counter of their own were keyed by audit
        // sequence numbers; the counter starts past the last of them either way.
        let next_attempt = match trees[T::Attempts.i()].last()? {
            Some((k, _)) => {
                let b: [u8; 8] = k
                    .as_ref()
                    .try_into()
                    .map_err(|_| Abort::corrupt("attempts", "key"))?;
                u64::from_be_bytes(b) + 1
            }
            None => 0,
        };
        let store = Sled {
            db,
            bank,
            trees,
            write_lock: Mutex::new(Counters {
                next_receipt,
                next_audit,
                audit_head,
                next_attempt,
            }),
            tickets: AtomicU64::new(0),
            flushed: AtomicU64::new(0),
            flush_lock: tokio::sync::Mutex::new(()),
            folding: AtomicU64::new(0),
            import_lock: Mutex::new(()),
        };
        Ok(store)
    }

    fn tree(&self, t: T) -> &sled::Tree {
        &self.trees[t.i()]
    }

    fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.tree(T::Customers).is_empty() && self.tree(T::Tokens).is_empty())
    }

    fn write<R>(
        &self,
        sealer: &Sealer,
        body: impl Fn(&mut Tx) -> TxResult<R>,
    ) -> Result<R, StoreError> {
        let mut counters = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let folding = self.folding.load(Ordering::SeqCst);
        let refs: Vec<&sled::Tree> = self.trees.iter().collect();
        let result = refs.as_slice().transaction(|trees| {
            let mut tx = Tx::sled(trees, counters.clone(), sealer, folding, self.bank.as_ref());
            let out = body(&mut tx)?;
            Ok((out, tx.into_counters()))
        });
        match result {
            Ok((out, next)) => {
                *counters = next;
                drop(counters);
                self.tickets.fetch_add(1, Ordering::SeqCst);
                Ok(out)
            }
            Err(TransactionError::Abort(e)) => Err(e),
            Err(TransactionError::Storage(e)) => Err(e.into()),
        }
    }

    /// Waits until every write made so far is on disk. Concurrent callers share flushes: the
    /// first flushes for all who wrote before it started, the rest find their write covered.
    /// Returns how long the flush took when this caller made one.
    async fn durable(&self) -> Result<Option<f64>, StoreError> {
        let mine = self.tickets.load(Ordering::SeqCst);
        if self.flushed.load(Ordering::SeqCst) >= mine {
            return Ok(None);
        }
        let _guard = self.flush_lock.lock().await;
        if self.flushed.load(Ordering::SeqCst) >= mine {
            return Ok(None);
        }
        let upto = self.tickets.load(Ordering::SeqCst);
        let db = self.db.clone();
        let started = std::time::Instant::now();
        tokio::task::spawn_blocking(move || db.flush())
            .await
            .map_err(|_| StoreError::Flush)??;
        self.flushed.fetch_max(upto, Ordering::SeqCst);
        Ok(Some(started.elapsed().as_secs_f64()))
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// Every record, for copying into another engine.
    fn everything(&self) -> Result<pg::Everything, StoreError> {
        Ok(pg::Everything {
            customers: self.all(T::Customers).collect::<Result<_, _>>()?,
            tokens: self.all(T::Tokens).collect::<Result<_, _>>()?,
            receipts: self.all(T::Receipts).collect::<Result<_, _>>()?,
            attempts: self.all(T::Attempts).collect::<Result<_, _>>()?,
            audit: self.all(T::Audit).collect::<Result<_, _>>()?,
            api_keys: self.all(T::ApiKeys).collect::<Result<_, _>>()?,
            staff: self.all(T::Staff).collect::<Result<_, _>>()?,
            forms: self.all(T::Forms).collect::<Result<_, _>>()?,
            releases: self.all(T::Releases).collect::<Result<_, _>>()?,
            applications: self.all(T::Applications).collect::<Result<_, _>>()?,
            businesses: self.all(T::Businesses).collect::<Result<_, _>>()?,
            cards: self.all(T::Cards).collect::<Result<_, _>>()?,
            next_receipt: meta_u32(self.tree(T::Meta), "next_receipt")?.unwrap_or(FIRST_RECEIPT),
        })
    }
}

impl Store {
    /// True when no customer and no token has been loaded yet.
    pub fn is_empty(&self) -> bool {
        // An engine that cannot answer is not known to be empty: nothing is loaded over it.
        on_engine!(self, e => e.is_empty()).unwrap_or(false)
    }

    /// Runs `body` as one atomic transaction over every record and index, and waits until it
    /// is on disk: what a page or API answer reporting the write needs. When `body` returns
    /// an error nothing is written. `body` may run more than once; it must not have effects
    /// outside the transaction.
    pub async fn commit<R>(&self, body: impl Fn(&mut Tx) -> TxResult<R>) -> Result<R, StoreError> {
        let out = self.write(body)?;
        match &self.engine {
            Engine::Sled(e) => {
                if let (Some(seconds), Some(o)) = (e.durable().await?, self.observer.get()) {
                    o.flushed(seconds);
                }
                Ok(out)
            }
            // Every PostgreSQL commit waits for its WAL flush (synchronous_commit on).
            Engine::Postgres(_) => Ok(out),
        }
    }

    /// [`Store::commit`] for a body whose last audit record's number the caller hands out
    /// (the OTP API's `receipt`): returns it (None if the body appended none) with the body's
    /// result. Inside such a body on PostgreSQL, [`Tx::audit`] returns the record's place in
    /// its batch, not its number: the batch numbers its records only at its last statement
    /// before COMMIT, so that it need not hold the audit chain's head (which every gateway's
    /// writes of the bank wait for) while its bodies run. A body that needs the number itself
    /// ([`Tx::next_audit_seq`]) takes the head there and then. On the embedded engine this is
    /// [`Store::commit`] and the number `Tx::audit` returned.
    pub async fn commit_receipted<R>(
        &self,
        body: impl Fn(&mut Tx) -> TxResult<R>,
    ) -> Result<(R, Option<u64>), StoreError> {
        // The run that committed (a body may run more than once) left its receipt here.
        let receipt = Mutex::new(None);
        let marked = |tx: &mut Tx| {
            let out = body(tx)?;
            *receipt.lock().unwrap_or_else(|p| p.into_inner()) = tx.receipt;
            Ok(out)
        };
        let Engine::Postgres(pg) = &self.engine else {
            let out = self.commit(marked).await?;
            return Ok((out, receipt.into_inner().unwrap_or_else(|p| p.into_inner())));
        };
        let events = Mutex::new(Vec::new());
        let counted = |tx: &mut Tx| {
            let out = marked(tx)?;
            *events.lock().unwrap_or_else(|p| p.into_inner()) = std::mem::take(&mut tx.events);
            Ok(out)
        };
        let (out, base) = pg.write_late(&self.sealer, counted)?;
        self.tell_committed(events);
        let place = receipt.into_inner().unwrap_or_else(|p| p.into_inner());
        // The batch's records are numbered on from its first, in the order appended.
        Ok((out, place.zip(base).map(|(place, base)| base + place)))
    }

    /// Tells the observer (if any) about the audit events of a committed write.
    fn tell_committed(&self, events: Mutex<Vec<AuditEvent>>) {
        if let Some(o) = self.observer.get() {
            let events = events.into_inner().unwrap_or_else(|p| p.into_inner());
            if !events.is_empty() {
                o.committed(&events);
            }
        }
    }

    /// Tells `observer` about every committed write and flush from now on (set once).
    pub fn observe(&self, observer: Arc<dyn Observer>) {
        let _ = self.observer.set(observer);
    }

    /// Audit record `seq` (the OTP API's `receipt`).
    pub fn audit_record(&self, seq: u64) -> Result<Option<AuditRecord>, StoreError> {
        match &self.engine {
            Engine::Sled(e) => e.read(T::Audit, &seq.to_be_bytes()),
            Engine::Postgres(e) => e.audit_record(seq),
        }
    }

    /// [`Store::commit`] for command-line tools, without a runtime: writes, then flushes.
    pub fn commit_now<R>(&self, body: impl Fn(&mut Tx) -> TxResult<R>) -> Result<R, StoreError> {
        let out = self.write(body)?;
        self.flush()?;
        Ok(out)
    }

    /// Runs `body` as one atomic transaction, without waiting for the disk: for a write that
    /// a later [`Store::commit`] of the same request makes durable before anything is
    /// reported (a password attempt counted before its slow hash check). On PostgreSQL every
    /// write is durable when it returns.
    pub fn write<R>(&self, body: impl Fn(&mut Tx) -> TxResult<R>) -> Result<R, StoreError> {
        // The audit events of the run that committed (a body may run more than once).
        let events = Mutex::new(Vec::new());
        let counted = |tx: &mut Tx| {
            let out = body(tx)?;
            *events.lock().unwrap_or_else(|p| p.into_inner()) = std::mem::take(&mut tx.events);
            Ok(out)
        };
        let out = on_engine!(self, e => e.write(&self.sealer, counted))?;
        self.tell_committed(events);
        Ok(out)
    }

    /// Flushes now (command-line tools, shutdown).
    pub fn flush(&self) -> Result<(), StoreError> {
        match &self.engine {
            Engine::Sled(e) => e.flush(),
            Engine::Postgres(_) => Ok(()),
        }
    }

    /// The token record for a new inventory token, its seed sealed under the master key.
    pub fn new_token(&self, new: &NewToken) -> Token {
        let sealed = self.sealer.seal(new.serial.as_bytes(), new.secret);
        Token {
            serial: new.serial.to_owned(),
            kind: new.kind,
            params: new.params,
            secret_sealed: data_encoding::BASE64.encode(&sealed),
            state: TokenState::Available,
            otp: crate::otp::OtpState::default(),
            assigned_to: None,
        }
    }

    /// The card record for `contract_id`'s お客様カード `digits` (eight ASCII digits), sealed
    /// under the master key like token seeds.
    pub fn seal_card(&self, contract_id: &str, digits: &str) -> Card {
        let sealed = self.sealer.seal(&Card::aad(contract_id), digits.as_bytes());
        Card {
            contract_id: contract_id.to_owned(),
            sealed: data_encoding::BASE64.encode(&sealed),
        }
    }

    /// Opens a token's seed (tools that must show codes, tests); zeroed when dropped.
    pub fn secret(&self, token: &Token) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        Ok(open_secret(&self.sealer, token)?)
    }
}

/// The embedded engine's reads: by key, or by secondary index (never a scan of a whole tree,
/// except the `every …` listings for tools).
impl Sled {
    fn read<R: DeserializeOwned>(&self, t: T, key: &[u8]) -> Result<Option<R>, StoreError> {
        match self.tree(t).get(key)? {
            None => Ok(None),
            Some(v) => Ok(Some(decode(t.name(), &v)?)),
        }
    }

    fn all<R: DeserializeOwned>(&self, t: T) -> impl Iterator<Item = Result<R, StoreError>> + '_ {
        self.tree(t).iter().map(move |kv| {
            let (_, v) = kv?;
            Ok(decode(t.name(), &v)?)
        })
    }

    /// The record keys an index lists under `prefix`, in index order.
    fn keys_under(&self, ix: T, prefix: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
        self.tree(ix)
            .scan_prefix(prefix)
            .map(|kv| Ok(kv?.0[prefix.len()..].to_vec()))
            .collect()
    }

    /// The records of `tree` an index lists under `owner`, those `keep` agrees belong there.
    fn owned<R: DeserializeOwned>(
        &self,
        ix: T,
        tree: T,
        owner: &str,
        keep: impl Fn(&R) -> bool,
    ) -> Result<Vec<R>, StoreError> {
        self.listed(ix, &index::prefix(owner), tree, keep)
    }

    /// The records of `tree` an index lists under `prefix`, those `keep` agrees belong there.
    fn listed<R: DeserializeOwned>(
        &self,
        ix: T,
        prefix: &[u8],
        tree: T,
        keep: impl Fn(&R) -> bool,
    ) -> Result<Vec<R>, StoreError> {
        let mut out = Vec::new();
        for key in self.keys_under(ix, prefix)? {
            if let Some(r) = self.read(tree, &key)? {
                if keep(&r) {
                    out.push(r);
                }
            }
        }
        Ok(out)
    }

    pub fn customer(&self, contract_id: &str) -> Result<Option<Customer>, StoreError> {
        self.read(T::Customers, contract_id.as_bytes())
    }

    pub fn token(&self, serial: &str) -> Result<Option<Token>, StoreError> {
        // An import made visible but not yet moved into `tokens` is read where it is staged.
        let folding = self.folding.load(Ordering::SeqCst);
        if folding != 0 {
            if let Some(t) = self.read(T::Staged, &staging::key(folding, serial))? {
                return Ok(Some(t));
            }
        }
        self.read(T::Tokens, serial.as_bytes())
    }

    /// A 法人 contract by its 契約先ID.
    pub fn business(&self, contract_id: &str) -> Result<Option<Business>, StoreError> {
        self.read(T::Businesses, contract_id.as_bytes())
    }

    /// Every 法人 contract, in contract-ID order (tools, demo listing).
    pub fn businesses(&self) -> impl Iterator<Item = Result<Business, StoreError>> + '_ {
        self.all(T::Businesses)
    }

    /// Whether `contract_id` has an お客様カード on file.
    pub fn has_card(&self, contract_id: &str) -> Result<bool, StoreError> {
        Ok(self
            .read::<Card>(T::Cards, contract_id.as_bytes())?
            .is_some())
    }

    pub fn receipt(&self, number: u32) -> Result<Option<Receipt>, StoreError> {
        self.read(T::Receipts, &number.to_be_bytes())
    }

    /// A customer's receipts, oldest first.
    pub fn receipts_of(&self, contract_id: &str) -> Result<Vec<Receipt>, StoreError> {
        self.owned(T::History, T::Receipts, contract_id, |r: &Receipt| {
            r.contract_id == contract_id
        })
    }

    /// Tokens handed out at a branch for this customer (any state), in serial order.
    pub fn assigned_tokens(&self, contract_id: &str) -> Result<Vec<Token>, StoreError> {
        self.owned(T::IxAssigned, T::Tokens, contract_id, |t: &Token| {
            t.assigned_to.as_deref() == Some(contract_id)
        })
    }

    /// Up to `limit` serials of hardware tokens a branch may hand out, in serial order.
    pub fn free_hardware_tokens(&self, limit: usize) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        for kv in self.tree(T::IxFreeHardware).iter() {
            if out.len() == limit {
                break;
            }
            let serial = String::from_utf8_lossy(&kv?.0).into_owned();
            if self.token(&serial)?.is_some_and(|t| t.free_hardware()) {
                out.push(serial);
            }
        }
        Ok(out)
    }

    /// A customer's feature-phone 利用中止 attempts, oldest first.
    pub fn attempts_of(&self, contract_id: &str) -> Result<Vec<Attempt>, StoreError> {
        self.owned(T::IxAttempts, T::Attempts, contract_id, |a: &Attempt| {
            a.contract_id.as_deref() == Some(contract_id)
        })
    }

    pub fn staff(&self, staff_id: &str) -> Result<Option<Staff>, StoreError> {
        self.read(T::Staff, staff_id.as_bytes())
    }

    pub fn form(&self, form_no: &str) -> Result<Option<CancelForm>, StoreError> {
        self.read(T::Forms, form_no.as_bytes())
    }

    /// A customer's cancellation forms, by form number.
    pub fn forms_of(&self, contract_id: &str) -> Result<Vec<CancelForm>, StoreError> {
        self.owned(T::IxForms, T::Forms, contract_id, |f: &CancelForm| {
            f.contract_id == contract_id
        })
    }

    pub fn release(&self, id: u64) -> Result<Option<Release>, StoreError> {
        self.read(T::Releases, &id.to_be_bytes())
    }

    /// A customer's lock release requests, oldest first.
    pub fn releases_of(&self, contract_id: &str) -> Result<Vec<Release>, StoreError> {
        self.owned(T::IxReleases, T::Releases, contract_id, |r: &Release| {
            r.contract_id == contract_id
        })
    }

    pub fn application(&self, application_no: &str) -> Result<Option<Application>, StoreError> {
        self.read(T::Applications, application_no.as_bytes())
    }

    /// A customer's 発行申込書, by application number.
    pub fn applications_of(&self, contract_id: &str) -> Result<Vec<Application>, StoreError> {
        self.owned(
            T::IxApplications,
            T::Applications,
            contract_id,
            |a: &Application| a.contract_id == contract_id,
        )
    }

    /// Forms (by number) and releases (oldest first) waiting for a supervisor.
    pub fn pending(&self) -> Result<(Vec<CancelForm>, Vec<Release>), StoreError> {
        let forms = self.listed(T::IxPending, &[index::FORM], T::Forms, |f: &CancelForm| {
            f.decision == Decision::Received
        })?;
        let releases = self.listed(
            T::IxPending,
            &[index::RELEASE],
            T::Releases,
            |r: &Release| r.decision == Decision::Received,
        )?;
        Ok((forms, releases))
    }

    /// Forms and releases decided, and applications carried out, at `from <= t < to`; each
    /// list in number order.
    pub fn processed_between(&self, from: u64, to: u64) -> Result<Processed, StoreError> {
        let mut out = Processed::default();
        let range = from.to_be_bytes().to_vec()..to.to_be_bytes().to_vec();
        for kv in self.tree(T::IxProcessed).range(range) {
            let (k, _) = kv?;
            let (Some(&tag), Some(key)) = (k.get(8), k.get(9..)) else {
                return Err(Abort::corrupt("ix_processed", "key").into());
            };
            let at = |t: Option<u64>| t.is_some_and(|t| (from..to).contains(&t));
            match tag {
                index::FORM => {
                    if let Some(f) = self.read::<CancelForm>(T::Forms, key)? {
                        if at(f.decision.decided_at()) {
                            out.forms.push(f);
                        }
                    }
                }
                index::RELEASE => {
                    if let Some(r) = self.read::<Release>(T::Releases, key)? {
                        if at(r.decision.decided_at()) {
                            out.releases.push(r);
                        }
                    }
                }
                _ => {
                    if let Some(a) = self.read::<Application>(T::Applications, key)? {
                        if at(Some(a.at)) {
                            out.applications.push(a);
                        }
                    }
                }
            }
        }
        out.forms.sort_by(|a, b| a.form_no.cmp(&b.form_no));
        out.releases.sort_by_key(|r| r.id);
        out.applications
            .sort_by(|a, b| a.application_no.cmp(&b.application_no));
        Ok(out)
    }

    /// The API caller whose key hashes to `hash`, revoked or not.
    pub fn api_key(&self, hash: &[u8; 32]) -> Result<Option<ApiKey>, StoreError> {
        self.read(T::ApiKeys, hash)
    }

    /// Every key API caller `name` has had, revoked or not.
    pub fn api_keys_named(&self, name: &str) -> Result<Vec<ApiKey>, StoreError> {
        self.owned(T::IxApiNames, T::ApiKeys, name, |k: &ApiKey| k.name == name)
    }

    /// Every API caller, in key-hash order (tools).
    pub fn api_keys(&self) -> impl Iterator<Item = Result<ApiKey, StoreError>> + '_ {
        self.all(T::ApiKeys)
    }

    /// Every token, in serial order (tools, tests).
    pub fn tokens(&self) -> impl Iterator<Item = Result<Token, StoreError>> + '_ {
        self.all(T::Tokens)
    }

    /// Every customer, in contract-ID order (tools, tests).
    pub fn customers(&self) -> impl Iterator<Item = Result<Customer, StoreError>> + '_ {
        self.all(T::Customers)
    }

    /// The signed-in staff session stored under `key` ([`StaffSessionRecord::key`]).
    pub fn staff_session(&self, key: &str) -> Result<Option<StaffSessionRecord>, StoreError> {
        self.read(T::StaffSessions, key.as_bytes())
    }

    /// Every stored staff session (sweeping the expired ones).
    pub fn staff_sessions(
        &self,
    ) -> impl Iterator<Item = Result<StaffSessionRecord, StoreError>> + '_ {
        self.all(T::StaffSessions)
    }

    /// Every staff member, in staff-ID order (tools).
    pub fn every_staff(&self) -> impl Iterator<Item = Result<Staff, StoreError>> + '_ {
        self.all(T::Staff)
    }

    /// Every feature-phone 利用中止 attempt, oldest first.
    pub fn attempts(&self) -> impl Iterator<Item = Result<Attempt, StoreError>> + '_ {
        self.all(T::Attempts)
    }

    /// The audit trail, oldest first.
    pub fn audit(&self) -> impl Iterator<Item = Result<AuditRecord, StoreError>> + '_ {
        self.all(T::Audit)
    }
}

/// Reads outside a transaction: by key, or by secondary index (never a scan of a whole table,
/// except the `every …` listings for tools).
impl Store {
    pub fn customer(&self, contract_id: &str) -> Result<Option<Customer>, StoreError> {
        on_engine!(self, e => e.customer(contract_id))
    }

    pub fn token(&self, serial: &str) -> Result<Option<Token>, StoreError> {
        on_engine!(self, e => e.token(serial))
    }

    pub fn receipt(&self, number: u32) -> Result<Option<Receipt>, StoreError> {
        on_engine!(self, e => e.receipt(number))
    }

    /// A customer's receipts, oldest first.
    pub fn receipts_of(&self, contract_id: &str) -> Result<Vec<Receipt>, StoreError> {
        on_engine!(self, e => e.receipts_of(contract_id))
    }

    /// Tokens handed out at a branch for this customer (any state), in serial order.
    pub fn assigned_tokens(&self, contract_id: &str) -> Result<Vec<Token>, StoreError> {
        on_engine!(self, e => e.assigned_tokens(contract_id))
    }

    /// Up to `limit` serials of hardware tokens a branch may hand out, in serial order.
    pub fn free_hardware_tokens(&self, limit: usize) -> Result<Vec<String>, StoreError> {
        on_engine!(self, e => e.free_hardware_tokens(limit))
    }

    /// A customer's feature-phone 利用中止 attempts, oldest first.
    pub fn attempts_of(&self, contract_id: &str) -> Result<Vec<Attempt>, StoreError> {
        on_engine!(self, e => e.attempts_of(contract_id))
    }

    pub fn staff(&self, staff_id: &str) -> Result<Option<Staff>, StoreError> {
        on_engine!(self, e => e.staff(staff_id))
    }

    pub fn form(&self, form_no: &str) -> Result<Option<CancelForm>, StoreError> {
        on_engine!(self, e => e.form(form_no))
    }

    /// A customer's cancellation forms, by form number.
    pub fn forms_of(&self, contract_id: &str) -> Result<Vec<CancelForm>, StoreError> {
        on_engine!(self, e => e.forms_of(contract_id))
    }

    pub fn release(&self, id: u64) -> Result<Option<Release>, StoreError> {
        on_engine!(self, e => e.release(id))
    }

    /// A customer's lock release requests, oldest first.
    pub fn releases_of(&self, contract_id: &str) -> Result<Vec<Release>, StoreError> {
        on_engine!(self, e => e.releases_of(contract_id))
    }

    pub fn application(&self, application_no: &str) -> Result<Option<Application>, StoreError> {
        on_engine!(self, e => e.application(application_no))
    }

    /// A customer's 発行申込書, by application number.
    pub fn applications_of(&self, contract_id: &str) -> Result<Vec<Application>, StoreError> {
        on_engine!(self, e => e.applications_of(contract_id))
    }

    /// Forms (by number) and releases (oldest first) waiting for a supervisor.
    pub fn pending(&self) -> Result<(Vec<CancelForm>, Vec<Release>), StoreError> {
        on_engine!(self, e => e.pending())
    }

    /// Forms and releases decided, and applications carried out, at `from <= t < to`; each
    /// list in number order.
    pub fn processed_between(&self, from: u64, to: u64) -> Result<Processed, StoreError> {
        on_engine!(self, e => e.processed_between(from, to))
    }

    /// The API caller whose key hashes to `hash`, revoked or not.
    pub fn api_key(&self, hash: &[u8; 32]) -> Result<Option<ApiKey>, StoreError> {
        on_engine!(self, e => e.api_key(hash))
    }

    /// Every key API caller `name` has had, revoked or not.
    pub fn api_keys_named(&self, name: &str) -> Result<Vec<ApiKey>, StoreError> {
        on_engine!(self, e => e.api_keys_named(name))
    }

    /// Every API caller, in key-hash order (tools).
    pub fn api_keys(&self) -> impl Iterator<Item = Result<ApiKey, StoreError>> + '_ {
        let it: Box<dyn Iterator<Item = Result<ApiKey, StoreError>> + '_> = match &self.engine {
            Engine::Sled(e) => Box::new(e.api_keys()),
            Engine::Postgres(e) => Box::new(e.api_keys()),
        };
        it
    }

    /// Every token, in serial order (tools, tests).
    pub fn tokens(&self) -> impl Iterator<Item = Result<Token, StoreError>> + '_ {
        let it: Box<dyn Iterator<Item = Result<Token, StoreError>> + '_> = match &self.engine {
            Engine::Sled(e) => Box::new(e.tokens()),
            Engine::Postgres(e) => Box::new(e.tokens()),
        };
        it
    }

    /// Every customer, in contract-ID order (tools, tests).
    pub fn customers(&self) -> impl Iterator<Item = Result<Customer, StoreError>> + '_ {
        let it: Box<dyn Iterator<Item = Result<Customer, StoreError>> + '_> = match &self.engine {
            Engine::Sled(e) => Box::new(e.customers()),
            Engine::Postgres(e) => Box::new(e.customers()),
        };
        it
    }

    /// Every feature-phone 利用中止 attempt, oldest first.
    pub fn attempts(&self) -> impl Iterator<Item = Result<Attempt, StoreError>> + '_ {
        let it: Box<dyn Iterator<Item = Result<Attempt, StoreError>> + '_> = match &self.engine {
            Engine::Sled(e) => Box::new(e.attempts()),
            Engine::Postgres(e) => Box::new(e.attempts()),
        };
        it
    }

    /// The signed-in staff session stored under `key` ([`StaffSessionRecord::key`]).
    pub fn staff_session(&self, key: &str) -> Result<Option<StaffSessionRecord>, StoreError> {
        on_engine!(self, e => e.staff_session(key))
    }

    /// A 法人 contract by its 契約先ID.
    pub fn business(&self, contract_id: &str) -> Result<Option<Business>, StoreError> {
        on_engine!(self, e => e.business(contract_id))
    }

    /// Every 法人 contract, in contract-ID order (tools, demo listing).
    pub fn businesses(&self) -> impl Iterator<Item = Result<Business, StoreError>> + '_ {
        let it: Box<dyn Iterator<Item = Result<Business, StoreError>> + '_> = match &self.engine {
            Engine::Sled(e) => Box::new(e.businesses()),
            Engine::Postgres(e) => Box::new(e.businesses()),
        };
        it
    }

    /// Whether `contract_id` has an お客様カード on file.
    pub fn has_card(&self, contract_id: &str) -> Result<bool, StoreError> {
        on_engine!(self, e => e.has_card(contract_id))
    }

    /// Every stored staff session (sweeping the expired ones).
    pub fn staff_sessions(
        &self,
    ) -> impl Iterator<Item = Result<StaffSessionRecord, StoreError>> + '_ {
        let it: Box<dyn Iterator<Item = Result<StaffSessionRecord, StoreError>> + '_> =
            match &self.engine {
                Engine::Sled(e) => Box::new(e.staff_sessions()),
                Engine::Postgres(e) => Box::new(e.staff_sessions()),
            };
        it
    }

    /// Every staff member, in staff-ID order (tools).
    pub fn every_staff(&self) -> impl Iterator<Item = Result<Staff, StoreError>> + '_ {
        let it: Box<dyn Iterator<Item = Result<Staff, StoreError>> + '_> = match &self.engine {
            Engine::Sled(e) => Box::new(e.every_staff()),
            Engine::Postgres(e) => Box::new(e.every_staff()),
        };
        it
    }

    /// The audit trail, oldest first.
    pub fn audit(&self) -> impl Iterator<Item = Result<AuditRecord, StoreError>> + '_ {
        let it: Box<dyn Iterator<Item = Result<AuditRecord, StoreError>> + '_> = match &self.engine
        {
            Engine::Sled(e) => Box::new(e.audit()),
            Engine::Postgres(e) => Box::new(e.audit()),
        };
        it
    }
}
