//! The operator's commands on a bank's people: [`customers`] (the internet-banking host's
//! export), [`businesses`] (its 法人 contracts and their users) and [`staff`] (branch staff
//! accounts). Each command is a plain function of the store
//! and its arguments returning what it prints, so the command line and an admin socket can
//! call the same code. Every change is one [`crate::store::Store::commit_now`] carrying its
//! audit records, which name the operator.

pub mod businesses;
mod csv_rows;
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
    /// The OS user running this process: `$USER` or `$LOGNAME`, else the account name of the
    /// real user ID, with that ID (`alice (uid 1000)`).
    pub fn from_os() -> Operator {
        let named = ["USER", "LOGNAME"]
            .iter()
            .filter_map(|v| std::env::var(v).ok())
            .find(|n| !n.is_empty() && n.len() <= 64 && !n.chars().any(char::is_control));
        #[cfg(unix)]
        {
            // SAFETY: getuid has no arguments, cannot fail and touches no memory of ours.
            let uid = unsafe { libc::getuid() };
            match named.or_else(|| account_name(uid)) {
                Some(n) => Operator(format!("{n} (uid {uid})")),
                None => Operator(format!("uid {uid}")),
            }
        }
        #[cfg(not(unix))]
        Operator(named.unwrap_or_else(|| "unknown".into()))
    }

    /// The audit detail's suffix naming the operator.
    fn tag(&self) -> String {
        format!("operator {}", self.0)
    }
}

/// The account name of `uid` from the password database, if it has one.
#[cfg(unix)]
fn account_name(uid: libc::uid_t) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: an all-zero passwd (null pointers, zero IDs) is a valid value to be overwritten.
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is to a live local of the stated size; getpwuid_r writes only
    // into `entry` and `buf` and sets `found` to `&entry` or null.
    let rc = unsafe { libc::getpwuid_r(uid, &mut entry, buf.as_mut_ptr(), buf.len(), &mut found) };
    if rc != 0 || found.is_null() || entry.pw_name.is_null() {
        return None;
    }
    // SAFETY: on success pw_name points to a NUL-terminated string inside `buf`, alive here.
    let name = unsafe { std::ffi::CStr::from_ptr(entry.pw_name) };
    Some(name.to_string_lossy().into_owned())
}
