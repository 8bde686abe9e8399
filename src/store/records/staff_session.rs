//! A signed-in branch staff session, kept in the store so a restart does not sign staff out.

use serde::{Deserialize, Serialize};

/// A signed-in staff session, stored under the SHA-256 of its ID (hex, [`Self::key`]): a copy
/// of the database (a backup) holds no session ID a browser could present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffSessionRecord {
    /// SHA-256 of the session ID, hex.
    pub key: String,
    /// The anti-forgery value every form of the session returns.
    pub csrf: String,
    pub staff_id: String,
    pub created: u64,
    /// Unix time of the last request seen (written at most once a minute).
    pub last_seen: u64,
}
