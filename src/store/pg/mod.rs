//! The PostgreSQL engine: the same records and guarantees as the embedded engine, in a database
//! any number of gateways share.
//!
//! - `migrate.rs`: the schema, from the versioned SQL files in `migrations/`.
//! - `batch.rs`: group commit: the bodies running at once share one transaction and one COMMIT.
//! - `tx.rs`: [`PgTx`], what a transaction body reads and writes.
//! - `reads.rs`: reads outside a transaction.
//! - `bulk.rs`: bulk loads, token imports, and copying a whole embedded database in.
//! - `sessions.rs`: phone and staff sessions in the database, for every gateway.
//! - `staging.rs`: an import's rows staged before they are published, and its import lock.
//! - `rekey.rs`: master-key rotation of the whole database, in one transaction.
//! - `tls.rs`: TLS to the server, as the URL's `sslmode` says (rustls).
//!
//! **Banks.** A [`Pg`] is one bank's view ([`Bank`]): every key of every table leads with a
//! `bank` column (migration 0005; '' in a one-bank database), and each bank has its own
//! receipt counter and audit chain head, so banks' writes never wait for each other. The views
//! of one gateway share its pool and runtime ([`Core`]).
//! - `harness.rs` (tests): a throw-away cluster.
//!
//! **Synchronous bodies over an async driver.** Transaction bodies are plain closures (the
//! store's API is engine-neutral and sled's is synchronous). The engine owns a small runtime
//! of its own that drives the connections (`tokio-postgres` through a `deadpool-postgres`
//! pool); a body runs on the caller's thread, and each statement it issues is handed to that
//! runtime and waited for (`block_on`). When the caller is a task of the gateway's runtime,
//! the whole transaction runs inside `block_in_place`, so the worker's other tasks move on
//! while this one waits for PostgreSQL.
//!
//! **Isolation.** A body runs inside its batch's transaction (READ COMMITTED), in a savepoint of
//! its own, and every read locks the row it reads (`SELECT … FOR UPDATE`) until the batch
//! commits: bodies read by key only, so this is strict two-phase locking over the rows they
//! touch. A body runs holding the audit chain's head row (locked before it), so those writes
//! of all gateways run one batch at a time, in the order the embedded engine's single writer
//! would give, and the chain is one; only the OTP API's check (`Store::commit_receipted`,
//! which reads nothing unlocked) leaves the head to its batch's last statement, so that the
//! gateways' checks overlap (see `batch.rs`). A deadlock, a serialisation failure, or an
//! insert race (none should happen with the head taken first) runs the body again (bodies may
//! run more than once). The
//! token's time step is moreover only ever raised by one conditional UPDATE
//! (`… AND last_step < $new`): a code is accepted once even if a lock were missing.
//!
//! **Durability.** Every session runs with `synchronous_commit = on`: a COMMIT returns once its
//! WAL is flushed (and on a synchronous standby, when the server is set up so); no body of a
//! batch returns before its COMMIT has. A commit whose outcome is unknown (the connection broke
//! during COMMIT) is never retried: the callers get an error and the phones a "try again later"
//! page.

mod batch;
mod bulk;
#[cfg(test)]
pub(crate) mod harness;
mod migrate;
mod reads;
mod rekey;
mod sessions;
pub(crate) mod staging;
mod tls;
mod tx;

pub(crate) use bulk::Everything;
pub use migrate::{MIGRATIONS, SCHEMA_VERSION};
pub(crate) use rekey::CHUNK as REKEY_CHUNK;
pub use sessions::SharedSessions;
pub(crate) use staging::ImportLock;
pub(crate) use tx::PgTx;

use super::error::{Abort, EngineError, EngineFault, Stop};
use super::{StoreError, Tx, TxResult, KEY_CHECK};
use crate::banks::BankCode;
use crate::seal::Sealer;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;

/// Connections per gateway. PostgreSQL's default allows 100; two or three gateways and the
/// tools fit well within it.
const POOL_SIZE: usize = 32;
/// How long a request waits for a connection (the database is down: the page says so).
const WAIT: Duration = Duration::from_secs(3);
/// How many times a body is run again after a deadlock or an insert race before giving up.
const RETRIES: u32 = 50;

/// One bank's view of a PostgreSQL database shared by every gateway that opens it (the banks
/// of one gateway share its connections).
pub(crate) struct Pg {
    core: Arc<Core>,
    bank: Bank,
    /// Group commit of this bank's writes (each bank's batches lock its own chain head).
    batcher: batch::Batcher,
}

/// The bank whose records a view reads and writes: every key of every table leads with it
/// (migration 0005).
#[derive(Clone)]
pub(crate) struct Bank {
    /// The `bank` column: the 金融機関コード, or '' in a one-bank database.
    pub key: String,
    /// The code, stamped on the bank's audit records (None: a one-bank database).
    pub code: Option<BankCode>,
}

impl Bank {
    fn of(code: Option<&BankCode>) -> Bank {
        Bank {
            key: code.map_or_else(String::new, |c| c.as_str().to_owned()),
            code: code.cloned(),
        }
    }
}

/// The connections and the runtime that drives them, shared with the session tables.
pub(crate) struct Core {
    /// Drives the connections; `None` only while dropping.
    rt: Option<tokio::runtime::Runtime>,
    pool: Pool,
}

impl std::ops::Deref for Pg {
    type Target = Core;

    fn deref(&self) -> &Core {
        &self.core
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        // Dropping a runtime may block, which a runtime's own task must not: let it go.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

fn pool_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Engine(EngineError(EngineFault::Pool(format!(
        "PostgreSQL unavailable: {e}"
    ))))
}

/// [`pool_error`] for an error whose causes say why (a TLS handshake refused, say: its reason
/// is the cause's cause), each cause added once.
fn unavailable(e: impl std::error::Error) -> StoreError {
    let mut why = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !why.contains(&text) {
            why.push_str(": ");
            why.push_str(&text);
        }
        cause = c.source();
    }
    pool_error(why)
}

/// Whether running the body again may succeed: lock order and insert races, not faults.
fn retryable(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(&SqlState::T_R_DEADLOCK_DETECTED)
            | Some(&SqlState::T_R_SERIALIZATION_FAILURE)
            | Some(&SqlState::UNIQUE_VIOLATION)
    )
}

impl Pg {
    /// Connects to `url`, migrates the schema, and checks the master key: the database of a
    /// one-bank setup.
    pub(crate) fn open(url: &str, sealer: &Sealer) -> Result<Pg, StoreError> {
        let core = Pg::connect(url, sealer)?;
        Pg::view(core, None)
    }

    /// [`Pg::open`] for several banks: one view per bank of `banks`, in that order, sharing
    /// one pool.
    pub(crate) fn open_banks(
        url: &str,
        sealer: &Sealer,
        banks: &[BankCode],
    ) -> Result<Vec<Pg>, StoreError> {
        let core = Pg::connect(url, sealer)?;
        banks
            .iter()
            .map(|b| Pg::view(core.clone(), Some(b)))
            .collect()
    }

    /// Bank `code`'s view of the database, its receipt counter and chain head created if the
    /// bank is new here (a one-bank database has both from migration 0001).
    fn view(core: Arc<Core>, code: Option<&BankCode>) -> Result<Pg, StoreError> {
        let bank = Bank::of(code);
        let pg = Pg {
            core,
            batcher: batch::Batcher::default(),
            bank,
        };
        if code.is_some() {
            let key = &pg.bank.key;
            pg.block(async {
                let client = pg.pool.get().await.map_err(unavailable)?;
                client
                    .execute(
                        "INSERT INTO counters (bank, name, next) VALUES ($1, 'receipt', $2) \
                         ON CONFLICT DO NOTHING",
                        &[key, &i64::from(super::FIRST_RECEIPT)],
                    )
                    .await?;
                client
                    .execute(
                        "INSERT INTO audit_head (bank, id, next_seq, hash) VALUES ($1, 1, 0, $2) \
                         ON CONFLICT DO NOTHING",
                        &[key, &"0".repeat(64)],
                    )
                    .await?;
                Ok::<_, StoreError>(())
            })?;
        }
        Ok(pg)
    }

    /// The connected, migrated database whose key is `sealer`'s.
    pub(crate) fn connect(url: &str, sealer: &Sealer) -> Result<Arc<Core>, StoreError> {
        let (url, tls) = tls::split(url)?;
        let mut config = tokio_postgres::Config::from_str(&url)
            .map_err(|e| StoreError::Schema(format!("database URL: {e}")))?;
        config
            .ssl_mode(tls.ssl_mode())
            .application_name("keitai-gateway")
            // A page reports a write only once it is durable: never let a server default or a
            // role setting turn that off. A gateway that hangs (not dies) inside a transaction
            // holds the chain head every other gateway needs: the server ends such a session
            // after a few idle seconds, and a lock is never waited for without end.
            .options(
                "-c synchronous_commit=on -c idle_in_transaction_session_timeout=5000 \
                 -c lock_timeout=15000",
            )
            .connect_timeout(WAIT);
        let how = || ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match tls.mode {
            tls::Mode::Disable => Manager::from_config(config, NoTls, how()),
            _ => Manager::from_config(config, tls.connector()?, how()),
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("postgres")
            .enable_all()
            .build()
            .map_err(|e| pool_error(format!("cannot start its runtime: {e}")))?;
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(WAIT))
            .create_timeout(Some(WAIT))
            .recycle_timeout(Some(WAIT))
            .build()
            .map_err(unavailable)?;
        let core = Arc::new(Core { rt: Some(rt), pool });
        core.block(async {
            let mut client = core.pool.get().await.map_err(unavailable)?;
            migrate::migrate(&mut client).await
        })?;
        core.check_key(sealer)?;
        Ok(core)
    }

    /// The bank this view holds.
    pub(crate) fn bank(&self) -> &Bank {
        &self.bank
    }

    /// The connections, for the database-backed session tables.
    pub(crate) fn core(&self) -> Arc<Core> {
        self.core.clone()
    }
}

impl Core {
    pub(super) fn rt(&self) -> &tokio::runtime::Runtime {
        // Only `drop` takes it.
        self.rt
            .as_ref()
            .unwrap_or_else(|| unreachable!("runtime used after drop"))
    }

    /// Runs `f` on this thread, out of any runtime's way: inside `block_in_place` when called
    /// from a task of the gateway's runtime, directly from a plain thread (tools, tests).
    fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        match tokio::runtime::Handle::try_current() {
            Ok(_) => tokio::task::block_in_place(f),
            Err(_) => f(),
        }
    }

    /// Waits for `f`, driven by the engine's runtime.
    pub(super) fn block<F: Future>(&self, f: F) -> F::Output {
        self.enter(|| self.rt().block_on(f))
    }

    pub(super) fn pool(&self) -> &Pool {
        &self.pool
    }
}

impl Core {
    /// Seals the key check into a new database, or proves the key opens the stored one.
    fn check_key(&self, sealer: &Sealer) -> Result<(), StoreError> {
        let sealed = sealer.seal(b"key_check", KEY_CHECK);
        let stored: Vec<u8> = self.block(async {
            let client = self.pool.get().await.map_err(unavailable)?;
            // Two gateways opening a new database at once: the first key stored is the one
            // both are checked against.
            client
                .execute(
                    "INSERT INTO meta (key, value) VALUES ('key_check', $1) \
                     ON CONFLICT (key) DO NOTHING",
                    &[&sealed],
                )
                .await?;
            let row = client
                .query_one("SELECT value FROM meta WHERE key = 'key_check'", &[])
                .await?;
            Ok::<_, StoreError>(row.get(0))
        })?;
        match sealer.open(b"key_check", &stored) {
            Ok(plain) if plain[..] == *KEY_CHECK => Ok(()),
            _ => Err(StoreError::WrongKey),
        }
    }

    /// Runs `f` holding a session-level advisory lock on a connection of its own.
    pub(super) fn exclusively<R>(&self, f: impl FnOnce() -> R) -> Result<R, StoreError> {
        // Any constant key shared by every gateway: "keitai-gateway exclusive".
        const KEY: i64 = 0x6b67_6578_636c_7573;
        let client = self.block(self.pool.get()).map_err(unavailable)?;
        self.block(client.execute("SELECT pg_advisory_lock($1)", &[&KEY]))?;
        let out = f();
        // Unlocked on this connection; a lost connection unlocks by itself.
        let _ = self.block(client.execute("SELECT pg_advisory_unlock($1)", &[&KEY]));
        Ok(out)
    }
}

impl Pg {
    /// Runs `body` as one transaction and commits it (durable on return); see the module doc.
    pub(super) fn write<R>(
        &self,
        sealer: &Sealer,
        body: impl Fn(&mut Tx) -> TxResult<R>,
    ) -> Result<R, StoreError> {
        self.transaction(sealer, |_, tx| body(tx))
    }

    /// [`Pg::write`] for a body whose audit records may wait for their numbers: its batch
    /// need not hold the chain head while the body runs (see `batch.rs`), and the number of
    /// the batch's first audit record comes back (a record's number is that plus the place
    /// in the batch `Tx` noted for it).
    pub(super) fn write_late<R>(
        &self,
        sealer: &Sealer,
        body: impl Fn(&mut Tx) -> TxResult<R>,
    ) -> Result<(R, Option<u64>), StoreError> {
        let body = |_: &PgTx, tx: &mut Tx| body(tx);
        self.enter(|| {
            self.batcher
                .run(&self.core, &self.bank, sealer, true, &body)
        })
    }

    /// [`Pg::write`] whose body may also use the engine's own statements (bulk loads).
    pub(super) fn transaction<R>(
        &self,
        sealer: &Sealer,
        body: impl Fn(&PgTx, &mut Tx) -> TxResult<R>,
    ) -> Result<R, StoreError> {
        self.enter(|| {
            self.batcher
                .run(&self.core, &self.bank, sealer, false, &body)
                .map(|(out, _)| out)
        })
    }
}

impl From<deadpool_postgres::PoolError> for Abort {
    fn from(e: deadpool_postgres::PoolError) -> Abort {
        Abort(Stop::Pool(e.to_string()))
    }
}
