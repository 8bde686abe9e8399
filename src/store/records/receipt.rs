//! A 受付番号 and what it stands for.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReceiptKind {
    Registration,
    Exchange,
    /// 利用中止 from a paper form, approved at a branch.
    Cancellation,
    /// 法人: a token registered to a business user (or as the contract's shared token).
    #[serde(rename = "biz_registration")]
    BizRegistration,
    /// 法人: a registration released (利用登録解除).
    #[serde(rename = "biz_release")]
    BizRelease,
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
