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
    /// Set by `staff disable`: sign-in refused, sessions end.
    #[serde(default)]
    pub disabled: bool,
    /// The password is an initial one (`staff add`, `staff reset-password`): the first
    /// sign-in must choose another before anything else.
    #[serde(default)]
    pub must_change: bool,
    /// Sign-in attempts not yet known to be right, counted before the hash check; at the limit
    /// sign-in pauses until a while after `last_attempt` (or `staff unlock`).
    #[serde(default)]
    pub sign_in_fails: u32,
    #[serde(default)]
    pub last_attempt: u64,
}
