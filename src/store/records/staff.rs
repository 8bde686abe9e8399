//! A member of branch staff, keyed by staff ID.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Clerk,
    Supervisor,
}

/// A member of branch staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staff {
    pub staff_id: String,
    pub name: String,
    pub branch_code: String,
    pub role: Role,
    /// argon2 PHC string; the password itself is never stored.
    pub password_hash: String,
}
