//! Master-key rotation: every sealed value (token seeds, お客様カード, the key check) re-sealed
//! under a new key.
//! Resumable: a marker holding the new key's check is written first; each batch of tokens is
//! re-sealed and written (a seed that already opens with the new key is left as it is); the
//! last step swaps the key check and drops the marker in one batch. While the marker is there
//! the database refuses to open except to finish the rotation, so it never serves half-rotated.

use super::{decode, encode, Abort, Card, Sled, Store, StoreError, Token, KEY_CHECK, T};
use crate::seal::Sealer;
use std::path::Path;

/// Meta key of an unfinished rotation (the new key's sealed check).
pub(super) const PENDING: &str = "rekey_pending";
const CHUNK: usize = 10_000;

impl Store {
    /// Re-seals the database in `dir` from key `old` to key `new`, finishing a rotation cut
    /// short if there is one. `progress(n)` as records are done. Returns how many sealed
    /// values (seeds, cards) were re-sealed now. The gateway must be stopped.
    pub fn rekey(
        dir: &Path,
        old: Sealer,
        new: Sealer,
        mut progress: impl FnMut(u64),
    ) -> Result<u64, StoreError> {
        let store = Sled::open_raw(dir, super::SERVING_CACHE)?;
        let meta = store.tree(T::Meta);
        // The key check is swapped last, so the old key proves itself until then.
        store.check_key(&old)?;
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
        let mut done = store.reseal(&old, T::Tokens, &new, &mut progress, |t: &mut Token| {
            (t.serial.as_bytes().to_vec(), &mut t.secret_sealed)
        })?;
        done += store.reseal(&old, T::Cards, &new, &mut progress, |c: &mut Card| {
            (Card::aad(&c.contract_id), &mut c.sealed)
        })?;
        let mut swap = sled::Batch::default();
        swap.insert("key_check", new.seal(b"key_check", KEY_CHECK));
        swap.remove(PENDING);
        meta.apply_batch(swap)?;
        store.db.flush()?;
        Ok(done)
    }

    /// [`Store::rekey`] for the PostgreSQL database at `url` (every bank in it): refused while
    /// any gateway or tool is connected to it; one transaction, so a rotation cut short changed
    /// nothing and is simply run again (see `pg/rekey.rs`). Returns how many sealed values were
    /// re-sealed; 0 when the database is sealed with `new` already (a rotation that finished).
    pub fn rekey_postgres(
        url: &str,
        old: Sealer,
        new: Sealer,
        mut progress: impl FnMut(u64),
    ) -> Result<u64, StoreError> {
        match super::pg::Pg::connect(url, &old) {
            Ok(core) => core.rekey(&old, &new, super::pg::REKEY_CHUNK, &mut progress),
            Err(StoreError::WrongKey) if super::pg::Pg::connect(url, &new).is_ok() => Ok(0),
            Err(e) => Err(e),
        }
    }
}

/// Re-seals `sealed_text` (base64, associated data `aad`) from `old` to `new`: true when it was
/// re-sealed, false when it opens with `new` already (a rotation cut short got that far).
pub(super) fn reseal_one(
    table: &'static str,
    old: &Sealer,
    new: &Sealer,
    aad: &[u8],
    sealed_text: &mut String,
) -> Result<bool, Abort> {
    let corrupt = || Abort::corrupt(table, "a sealed value opens with neither key");
    let sealed = data_encoding::BASE64
        .decode(sealed_text.as_bytes())
        .map_err(|_| corrupt())?;
    match old.open(aad, &sealed) {
        Ok(plain) => {
            *sealed_text = data_encoding::BASE64.encode(&new.seal(aad, &plain));
            Ok(true)
        }
        Err(_) if new.open(aad, &sealed).is_ok() => Ok(false),
        Err(_) => Err(corrupt()),
    }
}

impl Sled {
    /// Re-seals the sealed field of every record of `tree` under `new` (`field` gives the
    /// record's associated data and its sealed text), a batch at a time, each flushed; a value
    /// that already opens with `new` is left as it is. Returns how many were re-sealed.
    fn reseal<R: serde::de::DeserializeOwned + serde::Serialize>(
        &self,
        old: &Sealer,
        tree: T,
        new: &Sealer,
        progress: &mut impl FnMut(u64),
        field: impl Fn(&mut R) -> (Vec<u8>, &mut String),
    ) -> Result<u64, StoreError> {
        let records = self.tree(tree);
        let (mut done, mut n) = (0, 0usize);
        let mut batch = sled::Batch::default();
        for kv in records.iter() {
            let (k, v) = kv?;
            let mut r: R = decode(tree.name(), &v)?;
            let (aad, sealed_text) = field(&mut r);
            if reseal_one(tree.name(), old, new, &aad, sealed_text)? {
                batch.insert(k, encode(&r));
                done += 1;
            }
            n += 1;
            if n.is_multiple_of(CHUNK) {
                records.apply_batch(std::mem::take(&mut batch))?;
                self.db.flush()?;
                progress(CHUNK as u64);
            }
        }
        records.apply_batch(batch)?;
        self.db.flush()?;
        progress((n % CHUNK) as u64);
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otp::{HashAlg, Params};
    use crate::store::{NewToken, TokenKind};

    fn key(b: u8) -> Sealer {
        Sealer::from_key(&[b; 32])
    }

    fn add_tokens(store: &Store, n: usize) {
        for i in 0..n {
            let t = store.new_token(&NewToken {
                serial: &format!("REKY{i:08}"),
                kind: TokenKind::Hardware,
                params: Params {
                    algorithm: HashAlg::Sha1,
                    digits: 6,
                    period: 60,
                    t0: 0,
                },
                secret: b"12345678901234567890",
            });
            store.write(|tx| tx.put_token(&t)).unwrap();
        }
        store.flush().unwrap();
    }

    #[test]
    fn a_database_of_several_banks_is_refused_and_keeps_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let banks = ["1020", "1021"].map(|c| crate::banks::BankCode::parse(c).unwrap());
        {
            let stores =
                Store::open_banks(dir.path(), &key(1), super::super::SERVING_CACHE, &banks)
                    .unwrap();
            add_tokens(&stores[0], 2);
        }
        let refused = Store::rekey(dir.path(), key(1), key(2), |_| {});
        assert!(
            matches!(&refused, Err(StoreError::Io(m)) if m.contains("several banks")),
            "{refused:?}"
        );
        // The old key still opens every bank, and the seeds still read.
        let stores =
            Store::open_banks(dir.path(), &key(1), super::super::SERVING_CACHE, &banks).unwrap();
        let t = stores[0].token("REKY00000000").unwrap().unwrap();
        assert!(stores[0].secret(&t).is_ok());
    }

    #[test]
    fn a_rotation_cut_short_refuses_to_open_and_finishes_when_run_again() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path(), key(1)).unwrap();
            add_tokens(&store, 5);
            let card = store.seal_card("1000000001", "40173958");
            store.commit_now(|tx| tx.put_card(&card)).unwrap();
            // Cut short: the marker written and one seed re-sealed, then the process died.
            let meta = store.sled().tree(T::Meta);
            meta.insert(PENDING, key(2).seal(b"key_check", KEY_CHECK))
                .unwrap();
            let mut t = store.token("REKY00000000").unwrap().unwrap();
            let seed = store.secret(&t).unwrap();
            t.secret_sealed =
                data_encoding::BASE64.encode(&key(2).seal(t.serial.as_bytes(), &seed));
            store
                .sled()
                .tree(T::Tokens)
                .insert(t.serial.as_bytes(), encode(&t))
                .unwrap();
            store.flush().unwrap();
        }
        assert!(matches!(
            Store::open(dir.path(), key(1)),
            Err(StoreError::RekeyPending)
        ));
        // Another new key than the one the rotation began with is refused.
        assert!(Store::rekey(dir.path(), key(1), key(3), |_| {}).is_err());
        let resealed = Store::rekey(dir.path(), key(1), key(2), |_| {}).unwrap();
        assert_eq!(
            resealed, 5,
            "4 seeds (the one done before the cut is left) and the card"
        );
        assert!(matches!(
            Store::open(dir.path(), key(1)),
            Err(StoreError::WrongKey)
        ));
        let store = Store::open(dir.path(), key(2)).unwrap();
        for t in store.tokens() {
            let t = t.unwrap();
            assert_eq!(&store.secret(&t).unwrap()[..], b"12345678901234567890");
        }
        // The お客様カード is sealed under the master key too, and re-sealed with the seeds.
        let digits = store
            .write(|tx| tx.card_digits("1000000001"))
            .unwrap()
            .expect("card");
        assert_eq!(&digits[..], b"40173958");
    }
}
