//! The store's errors: [`StoreError`] for callers, and [`Abort`], the one error a transaction
//! body returns (`?` on any transaction operation gives it). Both are engine-neutral: the
//! engine's own errors are carried inside, never named in a signature.

use sled::transaction::{ConflictableTransactionError, UnabortableTransactionError};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Engine(EngineError),
    #[error("corrupt record in {tree}: {detail}")]
    Corrupt { tree: &'static str, detail: String },
    #[error("receipt numbers are exhausted")]
    ReceiptsExhausted,
    #[error("flush task failed")]
    Flush,
    #[error("the key file does not match this database (wrong key file?)")]
    WrongKey,
    /// The database's schema is one this gateway cannot use (newer than itself, or damaged).
    #[error("database schema: {0}")]
    Schema(String),
    #[error("the database is format {found}, newer than this keitai-gateway reads ({supported}): run the newer version, or restore a backup made by this one")]
    NewerFormat { found: u32, supported: u32 },
    #[error("a master-key rotation was cut short: run `keitai-gateway rekey` again with the same --key-file and --new-key-file to finish it")]
    RekeyPending,
    #[error("another import is running; try again when it has finished")]
    ImportBusy,
    #[error("{0}")]
    Io(String),
}

impl StoreError {
    /// The database's files are damaged (not merely busy or unreachable).
    pub fn is_damage(&self) -> bool {
        matches!(
            self,
            StoreError::Engine(EngineError(EngineFault::Sled(
                sled::Error::Corruption { .. }
            ))) | StoreError::Corrupt { .. }
        )
    }
}

/// A failure of the storage engine itself (I/O, a damaged file, a database out of reach).
#[derive(Debug)]
pub struct EngineError(pub(super) EngineFault);

#[derive(Debug)]
pub(super) enum EngineFault {
    Sled(sled::Error),
    Postgres(tokio_postgres::Error),
    /// No connection could be had from the pool (the database is down or out of reach).
    Pool(String),
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            EngineFault::Sled(e) => e.fmt(f),
            EngineFault::Postgres(e) => e.fmt(f),
            EngineFault::Pool(e) => f.write_str(e),
        }
    }
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> StoreError {
        StoreError::Engine(EngineError(EngineFault::Sled(e)))
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> StoreError {
        StoreError::Engine(EngineError(EngineFault::Postgres(e)))
    }
}

/// Why a transaction body stopped: the transaction writes nothing (its records, indexes and
/// counters all stay as they were). Business refusals are not aborts: a body returns them as
/// `Ok(Err(refusal))`, so its reads and audit records still commit.
#[derive(Debug)]
pub struct Abort(pub(super) Stop);

#[derive(Debug)]
pub(super) enum Stop {
    Corrupt(&'static str, String),
    ReceiptsExhausted,
    /// The engine wants the body run again (it is; callers never see this).
    Conflict,
    Engine(sled::Error),
    /// PostgreSQL failed, or the transaction must be run again (a serialisation failure, a
    /// deadlock, a unique key two transactions raced to insert): see `pg::retryable`.
    Postgres(tokio_postgres::Error),
    /// PostgreSQL could not be reached.
    Pool(String),
}

/// What every transaction operation and body returns.
pub type TxResult<T> = Result<T, Abort>;

impl Abort {
    pub(super) fn corrupt(tree: &'static str, detail: impl Into<String>) -> Abort {
        Abort(Stop::Corrupt(tree, detail.into()))
    }
}

impl From<tokio_postgres::Error> for Abort {
    fn from(e: tokio_postgres::Error) -> Abort {
        Abort(Stop::Postgres(e))
    }
}

impl From<UnabortableTransactionError> for Abort {
    fn from(e: UnabortableTransactionError) -> Abort {
        match e {
            UnabortableTransactionError::Conflict => Abort(Stop::Conflict),
            UnabortableTransactionError::Storage(e) => Abort(Stop::Engine(e)),
        }
    }
}

impl From<Abort> for ConflictableTransactionError<StoreError> {
    fn from(a: Abort) -> Self {
        match a.0 {
            Stop::Conflict => ConflictableTransactionError::Conflict,
            Stop::Postgres(e) => ConflictableTransactionError::Abort(e.into()),
            Stop::Pool(e) => ConflictableTransactionError::Abort(StoreError::Engine(EngineError(
                EngineFault::Pool(e),
            ))),
            Stop::Engine(e) => ConflictableTransactionError::Storage(e),
            Stop::Corrupt(tree, detail) => {
                ConflictableTransactionError::Abort(StoreError::Corrupt { tree, detail })
            }
            Stop::ReceiptsExhausted => {
                ConflictableTransactionError::Abort(StoreError::ReceiptsExhausted)
            }
        }
    }
}

impl From<Abort> for StoreError {
    fn from(a: Abort) -> StoreError {
        match a.0 {
            Stop::Corrupt(tree, detail) => StoreError::Corrupt { tree, detail },
            Stop::ReceiptsExhausted => StoreError::ReceiptsExhausted,
            Stop::Engine(e) => e.into(),
            Stop::Postgres(e) => e.into(),
            Stop::Pool(e) => StoreError::Engine(EngineError(EngineFault::Pool(e))),
            // Only inside a transaction, which retries it.
            Stop::Conflict => StoreError::Engine(EngineError(EngineFault::Sled(
                sled::Error::Unsupported("transaction conflict".into()),
            ))),
        }
    }
}
