//! A token of the inventory: its parameters, sealed seed, life state and OTP state.

use crate::config::Policy;
use crate::ids::OtpCode;
use crate::otp::{OtpState, Outcome, Params};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Hardware,
    Software,
}

/// Where a token is in its life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum TokenState {
    /// In the inventory, bound to nobody.
    Available,
    Active {
        contract_id: String,
        since: u64,
    },
    /// Released by an exchange: never usable again, by anyone.
    Replaced {
        contract_id: String,
        at: u64,
    },
    Cancelled {
        contract_id: String,
        at: u64,
    },
    /// Handed back at a branch (broken, battery dead) when a replacement was issued: never
    /// usable again.
    Returned {
        contract_id: String,
        at: u64,
        reason: String,
    },
}

/// A token of the inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    pub serial: String,
    pub kind: TokenKind,
    pub params: Params,
    /// The seed sealed under the master key (base64 of nonce and ciphertext), with the serial
    /// as associated data. Never logged, never rendered.
    pub secret_sealed: String,
    pub state: TokenState,
    pub otp: OtpState,
    /// A hardware token handed out at a branch for one customer: only they may register it.
    #[serde(default)]
    pub assigned_to: Option<String>,
}

impl Token {
    /// One OTP attempt against this token (its opened `secret`), updating its state.
    pub fn attempt(&mut self, secret: &[u8], code: &OtpCode, now: u64, limit: u32) -> Outcome {
        self.otp
            .attempt(&self.params, secret, code.as_str(), now, limit)
    }

    /// Whether wrong codes have locked the token (a branch releases it).
    pub fn locked(&self, policy: &Policy) -> bool {
        self.otp.locked || self.otp.fails >= policy.otp_fail_limit
    }

    /// A hardware token in the inventory that nobody holds or has been handed, and not locked
    /// (wrong codes typed before they stopped counting against unbound tokens; a branch
    /// releases it first): what a branch may issue.
    pub fn free_hardware(&self) -> bool {
        self.kind == TokenKind::Hardware
            && self.state == TokenState::Available
            && self.assigned_to.is_none()
            && !self.otp.locked
    }
}

/// A token as it enters the store: the plain seed, which the store seals before writing it
/// anywhere (see [`crate::store::Store::new_token`]).
pub struct NewToken<'a> {
    pub serial: &'a str,
    pub kind: TokenKind,
    pub params: Params,
    pub secret: &'a [u8],
}
