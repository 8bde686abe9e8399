//! A 発行申込書 carried out (keyed by application number): a hardware token handed out.

use serde::{Deserialize, Serialize};

/// Why a hardware token is issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IssueReason {
    /// A first or additional token: the bank profile's fee.
    New,
    /// Replaces a broken token, which is handed back: no fee.
    Broken,
    /// Replaces a token whose battery is dead, which is handed back: no fee.
    Battery,
}

/// A 発行申込書 carried out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    pub application_no: String,
    pub contract_id: String,
    pub serial: String,
    pub reason: IssueReason,
    pub fee_yen: u32,
    /// The token handed back (replacements).
    pub returned_serial: Option<String>,
    pub recorded_by: String,
    pub branch_code: String,
    pub at: u64,
}
