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
}

/// A failure of the storage engine itself (I/O, a damaged file).
#[derive(Debug)]
pub struct EngineError(sled::Error);

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> StoreError {
        StoreError::Engine(EngineError(e))
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
}

/// What every transaction operation and body returns.
pub type TxResult<T> = Result<T, Abort>;

impl Abort {
    pub(super) fn corrupt(tree: &'static str, detail: impl Into<String>) -> Abort {
        Abort(Stop::Corrupt(tree, detail.into()))
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
            // Only inside a transaction, which retries it.
            Stop::Conflict => StoreError::Engine(EngineError(sled::Error::Unsupported(
                "transaction conflict".into(),
            ))),
        }
    }
}
