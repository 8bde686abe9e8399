//! A business contract (法人, 契約先) of business internet banking: the administrator's secrets,
//! the お客様カード, the 利用形態 and the users with the token each one is registered to
//! (seeds 000, 002, 004); its お客様カード is a [`super::Card`]. One record per contract: a contract has a handful of users, and
//! every change to them (利用形態 change releasing all tokens) is then one record write.

use crate::config::Policy;
use crate::ids::ContractId;
use serde::{Deserialize, Serialize};

/// 利用形態: how the contract's users use tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Usage {
    /// 全ての利用者が異なるトークンを使用する (a token may still serve several users).
    PerUser,
    /// 全ての利用者が同じトークンを使用する.
    Shared,
}

impl Usage {
    /// The seed's wording.
    pub fn label(self) -> &'static str {
        match self {
            Usage::PerUser => "全ての利用者が異なるトークンを使用する",
            Usage::Shared => "全ての利用者が同じトークンを使用する",
        }
    }

    /// The loader's and the form's value.
    pub fn parse(s: &str) -> Option<Usage> {
        match s {
            "per_user" => Some(Usage::PerUser),
            "shared" => Some(Usage::Shared),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Usage::PerUser => "per_user",
            Usage::Shared => "shared",
        }
    }
}

/// A user (利用者) of a business contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BizUser {
    pub user_id: String,
    pub name: String,
    /// 現在のシリアル番号 under [`Usage::PerUser`]; none under [`Usage::Shared`].
    pub serial: Option<String>,
    /// The user's token was retired at a branch (利用中止届, replacement 発行申込書) and no token
    /// has been registered to the user since: the OTP API answers `cancelled`, not `no_token`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub blocked: bool,
}

/// A business contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Business {
    /// 契約先ID (利用者番号).
    pub contract_id: String,
    pub name: String,
    /// ご契約先暗証番号 (the administrator's login password), argon2 PHC string.
    pub admin_hash: String,
    /// ご契約先確認暗証番号 (asked when registering or releasing a token), argon2 PHC string.
    pub confirm_hash: String,
    pub usage: Usage,
    pub users: Vec<BizUser>,
    /// The shared token under [`Usage::Shared`].
    pub shared_serial: Option<String>,
    /// Wrong ご契約先暗証番号, お客様カード and 確認暗証番号 answers; only a right card answer
    /// (a completed login) clears it. The administrator is locked out at the login fail limit
    /// (a branch releases it).
    pub admin_fails: u32,
    /// The bank closed the contract (`customers import --business`, status `closed`): its
    /// tokens are cancelled, the administrator's login answers as for an unknown 契約先ID and
    /// the OTP API answers `cancelled`. Absent in records written before it: open.
    #[serde(default)]
    pub closed: bool,
    /// What the host exported last (digests), so that a re-import bringing the same hashes
    /// leaves the argon2id ones they were re-hashed to at login in place. Absent in records
    /// written before it, or loaded by the demo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_host: Option<BizHostHashes>,
}

/// SHA-256 (hex) of the administrator's two hashes as the host last exported them (see
/// [`crate::store::HostHashes`] for customers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BizHostHashes {
    pub admin: String,
    pub confirm: String,
}

impl Business {
    /// The contract ID, as the type the flows pass on.
    pub fn id(&self) -> ContractId {
        ContractId::stored(self.contract_id.clone())
    }

    pub fn locked(&self, policy: &Policy) -> bool {
        self.admin_fails >= policy.login_fail_limit
    }

    pub fn user(&self, user_id: &str) -> Option<&BizUser> {
        self.users.iter().find(|u| u.user_id == user_id)
    }

    /// The token `user_id` uses now, whatever the 利用形態 (none for an unknown user).
    pub fn token_of(&self, user_id: &str) -> Option<&str> {
        let user = self.user(user_id)?;
        match self.usage {
            Usage::PerUser => user.serial.as_deref(),
            Usage::Shared => self.shared_serial.as_deref(),
        }
    }

    /// Whether any user of the contract still uses `serial`.
    pub fn uses(&self, serial: &str) -> bool {
        self.shared_serial.as_deref() == Some(serial)
            || self
                .users
                .iter()
                .any(|u| u.serial.as_deref() == Some(serial))
    }

    /// Every serial registered now, each once, in user order.
    pub fn serials(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let all = self
            .shared_serial
            .iter()
            .chain(self.users.iter().filter_map(|u| u.serial.as_ref()));
        for s in all {
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
        out
    }
}
