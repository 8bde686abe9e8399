//! API keys: making them, hashing them, and knowing a caller by the key it presents.
//!
//! A key is 32 random bytes (base64url, prefixed `kgw_`), shown once when it is made. Only its
//! SHA-256 is stored, and callers are looked up by that hash: a fast hash is right for keys of
//! 256 random bits (nothing to brute-force, unlike passwords), and keeps every API call cheap.

use super::ApiError;
use crate::server::log;
use crate::store::{Store, StoreError};
use hyper::header::{HeaderMap, AUTHORIZATION};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Every key starts with this, so a leaked one is recognisable (secret scanners, logs).
pub const PREFIX: &str = "kgw_";
const KEY_BYTES: usize = 32;
/// Longer `Authorization` values are refused without hashing.
const MAX_KEY_LEN: usize = 128;

/// A fresh key.
pub fn generate() -> Result<String, getrandom::Error> {
    let mut raw = [0u8; KEY_BYTES];
    getrandom::fill(&mut raw)?;
    Ok(format!(
        "{PREFIX}{}",
        data_encoding::BASE64URL_NOPAD.encode(&raw)
    ))
}

/// What is stored for `key`.
pub fn hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// A caller name goes into audit records as `caller=NAME`: letters, digits, `.`, `_`, `-`.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// An authenticated caller of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
}

/// The key in `Authorization: Bearer KEY`, if the header has that shape.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = value.split_once(' ')?;
    let key = key.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !key.is_empty() && key.len() <= MAX_KEY_LEN)
        .then_some(key)
}

/// The caller whose live key is presented in `headers`.
pub fn authenticate(store: &Store, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let key = bearer(headers).ok_or(ApiError::Unauthorized)?;
    let digest = hash(key);
    let record = store.api_key(&digest)?.ok_or(ApiError::Unauthorized)?;
    // The lookup already matched the hash; comparing it again in constant time keeps the
    // decision itself free of early exits, whatever the store's lookup does.
    let mut stored = [0u8; 32];
    hex::decode_to_slice(&record.hash_hex, &mut stored).map_err(|_| {
        ApiError::Store(StoreError::Corrupt {
            tree: "api_keys",
            detail: "hash".into(),
        })
    })?;
    if !bool::from(stored.ct_eq(&digest)) {
        return Err(ApiError::Unauthorized);
    }
    if record.revoked.is_some() {
        log(format_args!(
            "api: revoked key of caller {} presented",
            record.name
        ));
        // In the audit trail too: a revoked key still in use is a security event. (Only the
        // bank's internal networks reach the API, so this cannot be used to flood the trail.)
        store.write(|tx| {
            tx.audit(
                crate::clock::now_unix(),
                crate::store::Event {
                    event: "api_key_revoked_used",
                    detail: format!("caller={}", record.name),
                    ..crate::store::Event::default()
                },
            )
        })?;
        // Durable before the refusal is sent, like every answer the audit backs (rare: a
        // synchronous flush here costs no one else anything).
        store.flush()?;
        return Err(ApiError::Unauthorized);
    }
    Ok(Caller { name: record.name })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_random_and_hash_stably() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert!(a.starts_with(PREFIX));
        assert_eq!(a.len(), PREFIX.len() + 43);
        assert_ne!(a, b);
        assert_eq!(hash(&a), hash(&a));
        assert_ne!(hash(&a), hash(&b));
    }

    #[test]
    fn bearer_header_shapes() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        for (value, want) in [
            ("Bearer kgw_abc", Some("kgw_abc")),
            ("bearer kgw_abc", Some("kgw_abc")),
            ("Basic kgw_abc", None),
            ("Bearer ", None),
            ("Bearerkgw_abc", None),
        ] {
            h.insert(AUTHORIZATION, value.parse().unwrap());
            assert_eq!(bearer(&h), want, "{value}");
        }
        h.insert(
            AUTHORIZATION,
            format!("Bearer {}", "a".repeat(200)).parse().unwrap(),
        );
        assert_eq!(bearer(&h), None);
    }

    #[test]
    fn caller_names() {
        assert!(valid_name("ib-core"));
        assert!(valid_name("sp_app.v2"));
        for bad in ["", "a b", "x=y", "名前", &"a".repeat(65)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
