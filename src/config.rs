//! Configuration: a bank profile (`bank.toml`, or `banks/CODE.toml` of a multi-bank gateway)
//! and the server's runtime settings.

use crate::net::{NetSet, Networks};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// The bank profile: what pages say about the bank, and the settings where banks differ.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bank {
    pub name: String,
    pub bank_code: String,
    /// Where PCs and smartphones are sent.
    pub pc_site_url: String,
    pub hardware_token_fee_yen: u32,
    #[serde(default = "default_id_label")]
    pub contract_id_label: String,
    #[serde(default = "yes")]
    pub login_otp_default: bool,
    /// Store the trusted carrier subscriber ID (i-mode ID, au subscriber ID, SoftBank UID) with
    /// the token binding at 利用開始, for the branch console to show. Off unless the bank
    /// turns it on: it is personal data the bank must then declare.
    #[serde(default)]
    pub remember_subscriber_id: bool,
    pub support: Support,
    #[serde(default)]
    pub policy: Policy,
    /// The last confirmation of 利用開始 and 交換: the 資金移動用パスワード (seed 003) or the
    /// お客様カード at two random positions (seed 001).
    #[serde(default)]
    pub start_confirmation: Confirmation,
    /// 法人 (business) internet banking settings.
    #[serde(default)]
    pub business: BusinessProfile,
    pub branches: Vec<Branch>,
    /// Host names that reach this bank on a multi-bank gateway (besides its `/CODE/` prefix).
    #[serde(default)]
    pub hosts: Vec<String>,
}

fn default_id_label() -> String {
    "契約者ID(利用者番号)".into()
}

fn yes() -> bool {
    true
}

/// What 利用開始 and 交換 ask last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confirmation {
    #[default]
    TransferPassword,
    /// お客様カード 確認用パスワード at two positions chosen per attempt.
    Card,
}

/// 法人 settings of the bank profile (`[business]` in bank.toml).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BusinessProfile {
    /// Token kinds an administrator may register from a phone (seed 003: ガラケー users get
    /// hardware tokens only).
    pub phone_token_kinds: Vec<crate::store::TokenKind>,
    /// Show the 受付番号 (small, under the user list) after a registration or release; the
    /// seeds show no completion message, so off unless the bank asks for it.
    pub show_receipt: bool,
}

impl Default for BusinessProfile {
    fn default() -> BusinessProfile {
        BusinessProfile {
            phone_token_kinds: vec![crate::store::TokenKind::Hardware],
            show_receipt: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Support {
    pub name: String,
    pub phone: String,
    pub hours: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    pub otp_fail_limit: u32,
    pub login_fail_limit: u32,
    /// How long `login_fail_limit` wrong passwords in a row lock that password.
    pub temp_lock_minutes: u64,
    /// The temporary lock (since the last right password) that becomes the branch lock.
    pub temp_locks_before_branch: u32,
    pub session_idle_minutes: u64,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            otp_fail_limit: 5,
            login_fail_limit: 5,
            temp_lock_minutes: 15,
            temp_locks_before_branch: 5,
            session_idle_minutes: 10,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Branch {
    pub code: String,
    pub name: String,
    pub address: String,
    pub phone: String,
}

impl Bank {
    pub fn load(path: &Path) -> Result<Bank, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        };
        let bank: Bank = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        if bank.policy.otp_fail_limit == 0
            || bank.policy.login_fail_limit == 0
            || bank.policy.temp_locks_before_branch == 0
        {
            return Err(invalid("fail limits must be at least 1".into()));
        }
        if bank.policy.session_idle_minutes == 0 {
            return Err(invalid("session_idle_minutes must be at least 1".into()));
        }
        if bank.branches.is_empty() {
            return Err(invalid(
                "at least one branch is needed for the 利用中止 page".into(),
            ));
        }
        Ok(bank)
    }

    pub fn session_idle(&self) -> Duration {
        Duration::from_secs(self.policy.session_idle_minutes * 60)
    }
}

/// Everything the server needs at run time.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub bank: Bank,
    pub networks: Networks,
    /// Serve the phone flows to PCs and smartphones too (testers without an emulator).
    pub allow_pc: bool,
    /// How long a client may take to send its request head, and then its body.
    pub client_timeout: Duration,
    /// TLS-terminating proxies: only a peer in these may say `X-Forwarded-Proto: https`.
    pub tls_proxies: NetSet,
    /// The only client networks that reach `/api/` (the bank's own systems).
    pub internal_networks: NetSet,
    /// Client networks the branch console answers; everyone else gets 403.
    pub branch_networks: NetSet,
    /// `serve --emulator`: the phone emulator for testers at `/emulator/` (None: off).
    pub emulator: Option<crate::emulator::Settings>,
}
