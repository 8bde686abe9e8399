//! A customer of internet banking and the token bound to them.

use crate::config::Policy;
use crate::ids::ContractId;
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
    /// Wrong login passwords since the last right one or temporary lock; at the limit, the
    /// login is locked until a branch releases it (see `crate::lockout`).
    pub login_fails: u32,
    /// Wrong codes this customer typed for a token not yet theirs (利用開始, 交換's new token):
    /// counted against the customer, never the token, which belongs to nobody yet. At the OTP
    /// limit the customer cannot claim a token until a branch releases it.
    #[serde(default)]
    pub claim_fails: u32,
    /// Temporary login locks since the last right login password, and when the current one
    /// ends.
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
    /// The contract ID, as the type the flows pass on.
    pub fn id(&self) -> ContractId {
        ContractId::stored(self.contract_id.clone())
    }

    /// Whether wrong passwords have locked the login or the 資金移動用パスワード until a branch
    /// releases them (a temporary lock is not this).
    pub fn login_locked(&self, policy: &Policy) -> bool {
        self.login_fails >= policy.login_fail_limit
            || self.transfer_lock.fails >= policy.login_fail_limit
    }

    /// Whether wrong codes for tokens not yet theirs have locked the customer's claims (a
    /// branch releases them with a token release).
    pub fn claims_locked(&self, policy: &Policy) -> bool {
        self.claim_fails >= policy.otp_fail_limit
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
