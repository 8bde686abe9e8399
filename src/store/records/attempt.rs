//! A feature-phone 利用中止 attempt (the phone cannot cancel; the branch follows up).

use serde::{Deserialize, Serialize};

/// A feature-phone 利用中止 attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub at: u64,
    pub contract_id: Option<String>,
}
