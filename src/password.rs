//! Password hashing (argon2id with the crate's recommended parameters) and verification.
//!
//! Hashing costs tens of milliseconds by design: callers on the async runtime use the `_async`
//! forms, which run on the blocking pool so page serving never waits behind a hash.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// An argon2id PHC string for `password`.
pub fn hash(password: &str) -> Result<String, HashError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| HashError(e.to_string()))?;
    let salt = SaltString::encode_b64(&bytes).map_err(|e| HashError(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Whether `password` matches `phc` (argon2 compares in constant time).
pub fn verify(phc: &str, password: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash of nothing anyone knows, verified against for unknown contract IDs so that the time
/// taken does not tell which IDs exist.
const DECOY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$7MsAsTEAZaWeDtd2CkqiB0gK0vR9y8Q6tEGhmoxwUdM";

/// [`verify`] on the blocking pool; `None` as hash runs the decoy and answers false.
pub async fn verify_async(phc: Option<String>, password: String) -> bool {
    tokio::task::spawn_blocking(move || match phc {
        Some(phc) => verify(&phc, &password),
        None => {
            verify(DECOY, &password);
            false
        }
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let h = hash("Pass1234").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify(&h, "Pass1234"));
        assert!(!verify(&h, "pass1234"));
        assert!(!verify("not a hash", "x"));
        assert!(PasswordHash::new(DECOY).is_ok());
    }
}
