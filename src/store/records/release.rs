//! A lock release request (keyed by its ID).

use super::Decision;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReleaseKind {
    /// A token locked by wrong OTPs.
    Token,
    /// A login locked by wrong passwords.
    Login,
}

/// A lock release request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub id: u64,
    pub contract_id: String,
    pub kind: ReleaseKind,
    /// The locked token (token releases).
    pub serial: Option<String>,
    pub note: String,
    pub recorded_by: String,
    pub branch_code: String,
    pub recorded_at: u64,
    pub decision: Decision,
}
