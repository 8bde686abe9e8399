//! A paper form that retires a token, as a clerk recorded it (keyed by form number): a
//! 利用中止届, or a 発行申込書 replacing a broken or battery-dead token (both wait for a
//! supervisor other than the maker); and where a maker–checker record stands.

use super::IssueReason;
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

/// A paper form retiring a token: 利用中止届, or a replacement 発行申込書 ([`Self::replacement`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelForm {
    /// The 用紙番号, or the 申込書番号 of a replacement.
    pub form_no: String,
    pub contract_id: String,
    /// The token the form retires, as it was when the form was recorded.
    pub serial: String,
    /// The day the branch received the paper (YYYY-MM-DD).
    pub received_on: String,
    pub branch_code: String,
    pub identity_checked: bool,
    pub recorded_by: String,
    pub recorded_at: u64,
    pub decision: Decision,
    /// A 発行申込書 replacing the token: on approval it is handed back (返却済) and a new hardware
    /// token issued, instead of 利用中止. Absent on a 利用中止届 (and on records from before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement: Option<Replacement>,
    /// 法人: the user whose token the form names (`None`: the contract's shared token, or a
    /// personal customer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// What a replacement 発行申込書 asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replacement {
    /// 故障 or 電池切れ (never 新規発行).
    pub reason: IssueReason,
    /// The new hardware token staff picked; `None` takes the first free one at approval.
    pub serial: Option<String>,
}
