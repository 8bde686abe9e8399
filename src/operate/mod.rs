//! The operator's commands on a bank's people: [`customers`] (the internet-banking host's
//! export) and [`staff`] (branch staff accounts). Each command is a plain function of the store
//! and its arguments returning what it prints, so the command line and an admin socket can
//! call the same code. Every change is one [`crate::store::Store::commit_now`] carrying its
//! audit records, which name the operator.

pub mod customers;
pub mod staff;

use crate::store::StoreError;

/// Why a command did nothing; the message is what the operator reads.
#[derive(Debug, thiserror::Error)]
pub enum OperateError {
    /// The input was refused as a whole (every reason listed); nothing was written.
    #[error("{0}")]
    Refused(String),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

pub type Result<T> = std::result::Result<T, OperateError>;

/// Who runs a command: the OS user name, recorded in the audit trail for the record's sake. It
/// comes from the environment and proves nothing; access to the command is the data
/// directory's file permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator(pub String);

impl Operator {
    /// The OS user running this process: `$USER` or `$LOGNAME`, else the numeric user ID.
    pub fn from_os() -> Operator {
        let named = ["USER", "LOGNAME"]
            .iter()
            .filter_map(|v| std::env::var(v).ok())
            .find(|n| !n.is_empty() && n.len() <= 64 && !n.chars().any(char::is_control));
        match named {
            Some(n) => Operator(n),
            // SAFETY: getuid has no arguments, cannot fail and touches no memory of ours.
            #[cfg(unix)]
            None => Operator(format!("uid {}", unsafe { libc::getuid() })),
            #[cfg(not(unix))]
            None => Operator("unknown".into()),
        }
    }

    /// The audit detail's suffix naming the operator.
    fn tag(&self) -> String {
        format!("operator {}", self.0)
    }
}
