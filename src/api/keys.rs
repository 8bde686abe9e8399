//! API keys: making them, hashing them, and knowing a caller by the key it presents.
//!
//! A caller has at most one live key: a new key for a name needs the old one revoked first.
//!
//! A key is 32 random bytes (base64url, prefixed `kgw_`), shown once when it is made. Only its
//! SHA-256 is stored, and callers are looked up by that hash: a fast hash is right for keys of
//! 256 random bits (nothing to brute-force, unlike passwords), and keeps every API call cheap.

use super::ApiError;
use crate::log::log;
use crate::store::{ApiKey, AuditEvent, Event, Store, StoreError};
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
        return Err(ApiError::Unauthorized);
    }
    Ok(Caller { name: record.name })
}

/// Adds API caller `name` with the key hashing to `hash`, audited and flushed. `false`
/// (nothing written) when `name` already has a live key. For the command line, while the
/// gateway is stopped (the name check reads outside the write).
pub fn add(store: &Store, name: &str, hash: &[u8; 32], at: u64) -> Result<bool, StoreError> {
    if store
        .api_keys_named(name)?
        .iter()
        .any(|k| k.revoked.is_none())
    {
        return Ok(false);
    }
    let key = ApiKey {
        name: name.to_owned(),
        hash_hex: hex::encode(hash),
        created: at,
        revoked: None,
    };
    store.commit_now(|tx| {
        tx.put_api_key(&key)?;
        tx.audit(
            at,
            Event {
                detail: format!("caller={name}"),
                ..Event::new(AuditEvent::ApiKeyAdd)
            },
        )
    })?;
    Ok(true)
}

/// Revokes every live key of API caller `name`, audited and flushed. Returns how many.
pub fn revoke(store: &Store, name: &str, at: u64) -> Result<usize, StoreError> {
    let live: Vec<ApiKey> = store
        .api_keys_named(name)?
        .into_iter()
        .filter(|k| k.revoked.is_none())
        .collect();
    if live.is_empty() {
        return Ok(0);
    }
    store.commit_now(|tx| {
        for k in &live {
            tx.put_api_key(&ApiKey {
                revoked: Some(at),
                ..k.clone()
            })?;
        }
        tx.audit(
            at,
            Event {
                detail: format!("caller={name}"),
                ..Event::new(AuditEvent::ApiKeyRevoke)
            },
        )
    })?;
    Ok(live.len())
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
    fn one_live_key_per_caller() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), crate::seal::Sealer::from_key(&[5; 32])).unwrap();
        let (a, b) = (hash("kgw_a"), hash("kgw_b"));
        assert!(add(&store, "ib-core", &a, 1).unwrap());
        // A second live key for the same name is refused, and nothing is written.
        assert!(!add(&store, "ib-core", &b, 2).unwrap());
        assert_eq!(store.api_key(&b).unwrap(), None);
        assert_eq!(revoke(&store, "ib-core", 3).unwrap(), 1);
        assert_eq!(revoke(&store, "ib-core", 4).unwrap(), 0);
        assert_eq!(store.api_key(&a).unwrap().unwrap().revoked, Some(3));
        assert!(add(&store, "ib-core", &b, 5).unwrap());
        let events: Vec<String> = store.audit().map(|r| r.unwrap().event).collect();
        assert_eq!(events, ["api_key_add", "api_key_revoke", "api_key_add"]);
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
