//! A customer of internet banking and the token bound to them.

use crate::config::Policy;
use serde::{Deserialize, Serialize};

/// A customer of internet banking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub contract_id: String,
    pub name: String,
    /// PHC strings (argon2id; bcrypt, PBKDF2 or scrypt as imported from the bank's host until
    /// the next right password re-hashes them); the passwords themselves are never stored.
    pub login_hash: String,
    pub transfer_hash: String,
    /// Password attempts not yet known to be right. Counted before the hash is checked, so
    /// parallel guesses cannot exceed the limit; the login is locked while it is at the limit.
    pub login_fails: u32,
    pub token: Option<Binding>,
    /// Transfers are blocked after a cancellation until a new token is registered.
    #[serde(default)]
    pub transfers_blocked: bool,
    /// The bank closed the contract (`customers import` status `closed`): no login, no token.
    #[serde(default)]
    pub closed: bool,
    /// What the host exported last, for telling a changed hash from the same one exported again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_host: Option<HostHashes>,
}

/// SHA-256 (hex) of the password hashes the bank's host last exported for a customer: a
/// re-import bringing the same hash leaves the argon2id one it was re-hashed to in place. A
/// digest of the hash, not the hash, so the weaker imported hash is not kept beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostHashes {
    pub login: String,
    pub transfer: String,
}

impl Customer {
    /// Whether wrong passwords have locked the login (a branch releases it).
    pub fn login_locked(&self, policy: &Policy) -> bool {
        self.login_fails >= policy.login_fail_limit
    }
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
