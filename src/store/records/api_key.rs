//! A caller of the OTP API (another banking channel), stored under the SHA-256 of its key.

use serde::{Deserialize, Serialize};

/// A caller of the OTP API. The key itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub name: String,
    /// SHA-256 of the key, hex (the record's key too; kept for a constant-time comparison).
    pub hash_hex: String,
    pub created: u64,
    pub revoked: Option<u64>,
}
