//! A paper 利用中止届 as a clerk recorded it (keyed by form number), and where a maker–checker
//! record stands.

use serde::{Deserialize, Serialize};

/// Where a maker–checker record (form, release) stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum Decision {
    /// 受付済: recorded, waiting for a supervisor.
    Received,
    Approved {
        by: String,
        at: u64,
        /// The 受付番号 issued (cancellations).
        receipt: Option<String>,
    },
    Rejected {
        by: String,
        at: u64,
        reason: String,
    },
}

impl Decision {
    /// When it was approved or rejected.
    pub fn decided_at(&self) -> Option<u64> {
        match self {
            Decision::Received => None,
            Decision::Approved { at, .. } | Decision::Rejected { at, .. } => Some(*at),
        }
    }

    pub fn decided_by(&self) -> Option<&str> {
        match self {
            Decision::Received => None,
            Decision::Approved { by, .. } | Decision::Rejected { by, .. } => Some(by),
        }
    }
}

/// A paper 利用中止 form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelForm {
    pub form_no: String,
    pub contract_id: String,
    /// The customer's token when the form was recorded.
    pub serial: String,
    /// The day the branch received the paper (YYYY-MM-DD).
    pub received_on: String,
    pub branch_code: String,
    pub identity_checked: bool,
    pub recorded_by: String,
    pub recorded_at: u64,
    pub decision: Decision,
}
