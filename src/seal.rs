//! Token seeds at rest: XChaCha20-Poly1305 under a master key kept in its own file, away from the
//! database. Each seed is sealed with its serial as associated data, so a sealed seed cannot be
//! moved to another token; a random 192-bit nonce per seal makes nonce reuse a non-issue.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use std::io::Write;
use std::path::Path;
use zeroize::Zeroizing;

const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key file {0} not found; create one with `keitai-gateway init-key {0}`")]
    Missing(String),
    #[error("key file {0} already exists; refusing to overwrite it")]
    Exists(String),
    #[error("key file {path}: {message}")]
    Bad { path: String, message: String },
    /// Group or others may read it (the message says how to fix that).
    #[error("{0}")]
    Exposed(String),
}

#[derive(Debug, thiserror::Error)]
#[error("sealed value does not open with this key")]
pub struct SealError;

/// Seals and opens secrets under the master key.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
    /// Signs the anti-forgery values of pages before any session ([`crate::form_token`]).
    forms: std::sync::Arc<crate::form_token::FormKey>,
}

impl Sealer {
    pub fn from_key(key: &[u8; KEY_BYTES]) -> Sealer {
        Sealer {
            cipher: XChaCha20Poly1305::new(key.into()),
            forms: std::sync::Arc::new(crate::form_token::FormKey::derive(key)),
        }
    }

    /// Reads a key file (64 hex digits), readable by its owner only.
    pub fn load(path: &Path) -> Result<Sealer, KeyError> {
        crate::private::check_key_file(path).map_err(KeyError::Exposed)?;
        let shown = path.display().to_string();
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                KeyError::Missing(shown.clone())
            } else {
                KeyError::Bad {
                    path: shown.clone(),
                    message: e.to_string(),
                }
            }
        })?);
        let mut key = Zeroizing::new([0u8; KEY_BYTES]);
        hex::decode_to_slice(text.trim(), key.as_mut()).map_err(|_| KeyError::Bad {
            path: shown,
            message: "not 64 hex digits".into(),
        })?;
        Ok(Sealer::from_key(&key))
    }

    /// Creates a new random key file readable by its owner only (mode 0600), and its missing
    /// parent directories (mode 0700).
    pub fn create(path: &Path) -> Result<Sealer, KeyError> {
        let shown = path.display().to_string();
        let bad = |e: std::io::Error| KeyError::Bad {
            path: shown.clone(),
            message: e.to_string(),
        };
        let mut key = Zeroizing::new([0u8; KEY_BYTES]);
        getrandom::fill(key.as_mut()).map_err(|e| KeyError::Bad {
            path: shown.clone(),
            message: e.to_string(),
        })?;
        // Missing parent directories are made, owner-only (a key directory such as
        // /etc/keitai-gateway/ outside the data directory).
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            let mut dirs = std::fs::DirBuilder::new();
            dirs.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                dirs.mode(0o700);
            }
            dirs.create(parent).map_err(bad)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                KeyError::Exists(shown.clone())
            } else {
                bad(e)
            }
        })?;
        let text = Zeroizing::new(hex::encode(key.as_ref()) + "\n");
        file.write_all(text.as_bytes()).map_err(bad)?;
        file.sync_all().map_err(bad)?;
        Ok(Sealer::from_key(&key))
    }

    /// The key that signs form values, derived from this master key.
    pub fn form_key(&self) -> &crate::form_token::FormKey {
        &self.forms
    }

    /// `nonce || ciphertext+tag`.
    pub fn seal(&self, aad: &[u8], plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_BYTES];
        // The OS random source failing is unrecoverable for a server that issues secrets.
        getrandom::fill(&mut nonce).expect("OS random source");
        let nonce = XNonce::from(nonce);
        let sealed = self
            .cipher
            .encrypt(&nonce, Payload { msg: plain, aad })
            .expect("XChaCha20-Poly1305 encryption of a short message cannot fail");
        let mut out = Vec::with_capacity(NONCE_BYTES + sealed.len());
        out.extend_from_slice(nonce.as_slice());
        out.extend_from_slice(&sealed);
        out
    }

    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        if sealed.len() < NONCE_BYTES {
            return Err(SealError);
        }
        let (nonce, body) = sealed.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| SealError)?;
        self.cipher
            .decrypt(&XNonce::from(nonce), Payload { msg: body, aad })
            .map(Zeroizing::new)
            .map_err(|_| SealError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_and_bind_to_aad() {
        let s = Sealer::from_key(&[7; 32]);
        let sealed = s.seal(b"GMHW00000001", b"12345678901234567890");
        assert!(!sealed.windows(20).any(|w| w == b"12345678901234567890"));
        assert_eq!(
            &s.open(b"GMHW00000001", &sealed).unwrap()[..],
            b"12345678901234567890"
        );
        assert!(
            s.open(b"GMHW00000002", &sealed).is_err(),
            "moved to another serial"
        );
        assert!(Sealer::from_key(&[8; 32])
            .open(b"GMHW00000001", &sealed)
            .is_err());
        let mut flipped = sealed.clone();
        flipped[30] ^= 1;
        assert!(s.open(b"GMHW00000001", &flipped).is_err());
        assert!(s.open(b"x", b"short").is_err());
    }

    #[test]
    fn key_file_is_private_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let a = Sealer::create(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(matches!(Sealer::create(&path), Err(KeyError::Exists(_))));
        let b = Sealer::load(&path).unwrap();
        let sealed = a.seal(b"x", b"y");
        assert_eq!(&b.open(b"x", &sealed).unwrap()[..], b"y");
        assert!(matches!(
            Sealer::load(&dir.path().join("none")),
            Err(KeyError::Missing(_))
        ));
    }
}
