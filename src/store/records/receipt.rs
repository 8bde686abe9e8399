//! A 受付番号 and what it stands for.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReceiptKind {
    Registration,
    Exchange,
    /// 利用中止 from a paper form, approved at a branch.
    Cancellation,
}

/// A 受付番号 and what it stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub number: u32,
    pub kind: ReceiptKind,
    pub contract_id: String,
    pub serial: String,
    pub old_serial: Option<String>,
    pub at: u64,
}

impl Receipt {
    /// Seven digits, as the seeds print them.
    pub fn number_text(&self) -> String {
        format!("{:07}", self.number)
    }
}
