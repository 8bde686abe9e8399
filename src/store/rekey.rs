//! Master-key rotation: every sealed token seed (and the key check) re-sealed under a new key.
//! Resumable: a marker holding the new key's check is written first; each batch of tokens is
//! re-sealed and written (a seed that already opens with the new key is left as it is); the
//! last step swaps the key check and drops the marker in one batch. While the marker is there
//! the database refuses to open except to finish the rotation, so it never serves half-rotated.

use super::{decode, encode, Abort, Store, StoreError, Token, KEY_CHECK, T};
use crate::seal::Sealer;
use std::path::Path;

/// Meta key of an unfinished rotation (the new key's sealed check).
pub(super) const PENDING: &str = "rekey_pending";
const CHUNK: usize = 10_000;

impl Store {
    /// Re-seals the database in `dir` from key `old` to key `new`, finishing a rotation cut
    /// short if there is one. `progress(n)` as tokens are done. Returns how many tokens were
    /// re-sealed now. The gateway must be stopped.
    pub fn rekey(
        dir: &Path,
        old: Sealer,
        new: Sealer,
        mut progress: impl FnMut(u64),
    ) -> Result<u64, StoreError> {
        let store = Store::open_engine(dir, old, super::SERVING_CACHE)?;
        let meta = store.tree(T::Meta);
        // The key check is swapped last, so the old key proves itself until then.
        store.check_key()?;
        match meta.get(PENDING)? {
            Some(check) => {
                // Finishing: the pending check must be the new key's.
                if new
                    .open(b"key_check", &check)
                    .map_or(true, |c| c[..] != *KEY_CHECK)
                {
                    return Err(StoreError::Io(
                        "--new-key-file is not the key the unfinished rotation was started with"
                            .into(),
                    ));
                }
            }
            None => {
                meta.insert(PENDING, new.seal(b"key_check", KEY_CHECK))?;
                store.db.flush()?;
            }
        }
        let tokens = store.tree(T::Tokens);
        let mut done = 0;
        let mut batch = sled::Batch::default();
        let mut n: usize = 0;
        for kv in tokens.iter() {
            let (k, v) = kv?;
            let mut t: Token = decode("tokens", &v)?;
            let sealed = data_encoding::BASE64
                .decode(t.secret_sealed.as_bytes())
                .map_err(|_| Abort::corrupt("tokens", format!("seed of {}", t.serial)))?;
            match store.sealer.open(t.serial.as_bytes(), &sealed) {
                Ok(seed) => {
                    t.secret_sealed =
                        data_encoding::BASE64.encode(&new.seal(t.serial.as_bytes(), &seed));
                    batch.insert(k, encode(&t));
                    done += 1;
                }
                Err(_) if new.open(t.serial.as_bytes(), &sealed).is_ok() => {}
                Err(_) => {
                    return Err(Abort::corrupt(
                        "tokens",
                        format!("seed of {} opens with neither key", t.serial),
                    )
                    .into())
                }
            }
            n += 1;
            if n.is_multiple_of(CHUNK) {
                tokens.apply_batch(std::mem::take(&mut batch))?;
                store.db.flush()?;
                progress(CHUNK as u64);
            }
        }
        tokens.apply_batch(batch)?;
        store.db.flush()?;
        progress((n % CHUNK) as u64);
        let mut swap = sled::Batch::default();
        swap.insert("key_check", new.seal(b"key_check", KEY_CHECK));
        swap.remove(PENDING);
        meta.apply_batch(swap)?;
        store.db.flush()?;
        Ok(done)
    }
}
