//! Master-key rotation: every sealed value (token seeds, お客様カード, the key check) re-sealed
//! under a new key.
//! Resumable: a marker holding the new key's check is written first (into every bank's `meta`
//! at once, in a database of several banks); each batch of tokens is re-sealed and written (a
//! seed that already opens with the new key is left as it is); the last step swaps the key
//! check and drops the marker in one transaction (every bank's). While the marker is there the
//! database refuses to open except to finish the rotation, so it never serves half-rotated.

use super::{decode, encode, Abort, Card, Sled, Store, StoreError, Token, KEY_CHECK, T};
use crate::seal::Sealer;
use std::path::Path;

/// Meta key of an unfinished rotation (the new key's sealed check).
pub(super) const PENDING: &str = "rekey_pending";
const CHUNK: usize = 10_000;

impl Store {
    /// Re-seals the database in `dir` from key `old` to key `new`, finishing a rotation cut
    /// short if there is one: every bank's records in a database of several banks (their
    /// trees `CODE/…`), and the bare trees of a one-bank database. `progress(n)` as records are
    /// done. Returns how many sealed values (seeds, cards) were re-sealed now. The gateway must
    /// be stopped.
    ///
    /// Every bank's marker is written in one transaction over their `meta` trees, and every
    /// bank's key check swapped (and marker dropped) in another: the database is sealed under
    /// the old key, rotating (refusing to open), or sealed under the new one, never some banks
    /// under each.
    pub fn rekey(
        dir: &Path,
        old: Sealer,
        new: Sealer,
        mut progress: impl FnMut(u64),
    ) -> Result<u64, StoreError> {
        let banks = Sled::open_raw_banks(dir, super::SERVING_CACHE)?;
        let metas: Vec<&sled::Tree> = banks.iter().map(|b| b.tree(T::Meta)).collect();
        for bank in &banks {
            // The key check is swapped last, so the old key proves itself until then.
            bank.check_key(&old)?;
            if let Some(check) = bank.tree(T::Meta).get(PENDING)? {
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
        }
        let pending = new.seal(b"key_check", KEY_CHECK);
        every_meta(&metas, |meta| {
            if meta.get(PENDING)?.is_none() {
                meta.insert(PENDING, pending.clone())?;
            }
            Ok(())
        })?;
        banks[0].db.flush()?;
        let mut done = 0;
        for bank in &banks {
            done += bank.reseal(&old, T::Tokens, &new, &mut progress, |t: &mut Token| {
                (t.serial.as_bytes().to_vec(), &mut t.secret_sealed)
            })?;
            done += bank.reseal(&old, T::Cards, &new, &mut progress, |c: &mut Card| {
                (Card::aad(&c.contract_id), &mut c.sealed)
            })?;
        }
        let check = new.seal(b"key_check", KEY_CHECK);
        every_meta(&metas, |meta| {
            meta.insert("key_check", check.clone())?;
            meta.remove(PENDING)?;
            Ok(())
        })?;
        banks[0].db.flush()?;
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

/// Runs `f` on every bank's `meta` tree in one sled transaction (all of it, or none).
fn every_meta(
    metas: &[&sled::Tree],
    f: impl Fn(
        &sled::transaction::TransactionalTree,
    ) -> sled::transaction::ConflictableTransactionResult<(), ()>,
) -> Result<(), StoreError> {
    use sled::Transactional;
    metas
        .transaction(|trees| {
            for meta in trees {
                f(meta)?;
            }
            Ok(())
        })
        .map_err(|e| match e {
            sled::transaction::TransactionError::Storage(e) => StoreError::from(e),
            sled::transaction::TransactionError::Abort(()) => {
                StoreError::Io("the key rotation's marker could not be written".into())
            }
        })
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

    fn add_tokens_named(store: &Store, prefix: &str, n: usize) {
        for i in 0..n {
            let t = store.new_token(&NewToken {
                serial: &format!("{prefix}{i:08}"),
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
    fn every_bank_of_a_database_of_several_banks_is_rekeyed_even_when_cut_short() {
        let dir = tempfile::tempdir().unwrap();
        let banks = ["1020", "1021", "1022"].map(|c| crate::banks::BankCode::parse(c).unwrap());
        let open =
            |k: u8| Store::open_banks(dir.path(), &key(k), super::super::SERVING_CACHE, &banks);
        {
            let stores = open(1).unwrap();
            for (i, store) in stores.iter().enumerate() {
                add_tokens_named(store, &format!("B{i}KY"), 3);
            }
            let card = stores[2].seal_card("3000000001", "40173958");
            stores[2].commit_now(|tx| tx.put_card(&card)).unwrap();
            // Cut short: every bank's marker written, one seed of the second bank re-sealed.
            for store in &stores {
                store
                    .sled()
                    .tree(T::Meta)
                    .insert(PENDING, key(2).seal(b"key_check", KEY_CHECK))
                    .unwrap();
            }
            let mut t = stores[1].token("B1KY00000000").unwrap().unwrap();
            let seed = stores[1].secret(&t).unwrap();
            t.secret_sealed =
                data_encoding::BASE64.encode(&key(2).seal(t.serial.as_bytes(), &seed));
            stores[1]
                .sled()
                .tree(T::Tokens)
                .insert(t.serial.as_bytes(), encode(&t))
                .unwrap();
            stores[1].flush().unwrap();
        }
        assert!(matches!(open(1), Err(StoreError::RekeyPending)));
        assert!(Store::rekey(dir.path(), key(1), key(3), |_| {}).is_err());
        let resealed = Store::rekey(dir.path(), key(1), key(2), |_| {}).unwrap();
        assert_eq!(
            resealed, 9,
            "8 seeds (one was done before the cut) and the card"
        );
        assert!(matches!(open(1), Err(StoreError::WrongKey)));
        let stores = open(2).unwrap();
        for store in &stores {
            assert_eq!(store.tokens().count(), 3);
            for t in store.tokens() {
                let t = t.unwrap();
                assert_eq!(&store.secret(&t).unwrap()[..], b"12345678901234567890");
            }
        }
        let digits = stores[2]
            .write(|tx| tx.card_digits("3000000001"))
            .unwrap()
            .expect("card");
        assert_eq!(&digits[..], b"40173958");
        drop(stores);
        // Run again on a finished rotation: nothing left under the old key.
        assert!(matches!(
            Store::rekey(dir.path(), key(1), key(2), |_| {}),
            Err(StoreError::WrongKey)
        ));
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
