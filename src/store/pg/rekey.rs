//! Master-key rotation on PostgreSQL: every token seed and お客様カード of every bank re-sealed
//! under the new key, and the key check swapped, in one transaction. Atomic: cut short (the
//! tool killed, the server gone) it changed nothing, and running it again starts over; once
//! committed only the new key opens the database. Bounded in memory: rows are read and
//! rewritten [`CHUNK`] at a time (keyset pages in key order), not all at once. The tables are
//! locked against writes for its duration, and it refuses to begin while any other
//! keitai-gateway connection is open (a gateway still running on the old key would write seeds
//! the new key cannot open).

use super::super::records::{Card, Token};
use super::super::rekey::reseal_one;
use super::super::{decode, encode, Abort, StoreError, KEY_CHECK};
use super::{unavailable, Core};
use crate::seal::Sealer;
use serde::{de::DeserializeOwned, Serialize};

/// Rows per page.
pub(crate) const CHUNK: i64 = 10_000;

/// A table whose records carry a sealed value: its name, key column, and the field.
struct Sealed<R> {
    table: &'static str,
    key: &'static str,
    field: fn(&mut R) -> (Vec<u8>, &mut String),
}

impl Core {
    /// Re-seals every sealed value from `old` to `new` (see the module doc), `chunk` rows at a
    /// time; `progress(n)` as rows are done. Returns how many were re-sealed.
    pub(crate) fn rekey(
        &self,
        old: &Sealer,
        new: &Sealer,
        chunk: i64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, StoreError> {
        self.block(async {
            let mut client = self.pool().get().await.map_err(unavailable)?;
            // The connections of a gateway stopped a moment ago take a moment to go.
            let mut others: i64 = 0;
            for _ in 0..20 {
                others = client
                    .query_one(
                        "SELECT count(*) FROM pg_stat_activity \
                         WHERE datname = current_database() \
                         AND application_name = 'keitai-gateway' AND pid <> pg_backend_pid()",
                        &[],
                    )
                    .await?
                    .get(0);
                if others == 0 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            if others > 0 {
                return Err(StoreError::Io(format!(
                    "{others} other keitai-gateway connections are open on this database: stop \
                     every gateway and tool using it first"
                )));
            }
            let tx = client.transaction().await?;
            // Anything that would write waits (and a gateway starting meanwhile then finds the
            // new key check and refuses the old key).
            tx.batch_execute("LOCK TABLE meta, tokens, cards IN EXCLUSIVE MODE")
                .await?;
            let stored: Vec<u8> = tx
                .query_one("SELECT value FROM meta WHERE key = 'key_check'", &[])
                .await?
                .get(0);
            if old
                .open(b"key_check", &stored)
                .map_or(true, |c| c[..] != *KEY_CHECK)
            {
                return Err(StoreError::WrongKey);
            }
            let tokens = Sealed::<Token> {
                table: "tokens",
                key: "serial",
                field: |t| (t.serial.as_bytes().to_vec(), &mut t.secret_sealed),
            };
            let cards = Sealed::<Card> {
                table: "cards",
                key: "contract_id",
                field: |c| (Card::aad(&c.contract_id), &mut c.sealed),
            };
            let mut done = reseal(&tx, &tokens, old, new, chunk, progress).await?;
            done += reseal(&tx, &cards, old, new, chunk, progress).await?;
            tx.execute(
                "UPDATE meta SET value = $1 WHERE key = 'key_check'",
                &[&new.seal(b"key_check", KEY_CHECK)],
            )
            .await?;
            tx.commit().await?;
            Ok(done)
        })
    }
}

/// Re-seals every row of one table, a page of `chunk` rows at a time.
async fn reseal<R: DeserializeOwned + Serialize>(
    tx: &tokio_postgres::Transaction<'_>,
    of: &Sealed<R>,
    old: &Sealer,
    new: &Sealer,
    chunk: i64,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, StoreError> {
    let (table, key) = (of.table, of.key);
    let page = format!(
        "SELECT bank, {key}, body::text FROM {table} WHERE (bank, {key}) > ($1, $2) \
         ORDER BY bank, {key} LIMIT $3"
    );
    let write = format!(
        "UPDATE {table} t SET body = u.b::jsonb FROM unnest($1::text[], $2::text[], $3::text[]) \
         AS u(k, s, b) WHERE t.bank = u.k AND t.{key} = u.s"
    );
    let (mut after_bank, mut after_key) = (String::new(), String::new());
    let mut done = 0;
    loop {
        let rows = tx.query(&page, &[&after_bank, &after_key, &chunk]).await?;
        let Some(last) = rows.last() else {
            return Ok(done);
        };
        (after_bank, after_key) = (last.try_get(0)?, last.try_get(1)?);
        let (mut banks, mut keys, mut bodies) = (Vec::new(), Vec::new(), Vec::new());
        for row in &rows {
            let text: String = row.try_get(2)?;
            let mut r: R = decode(table, text.as_bytes())?;
            let (aad, sealed) = (of.field)(&mut r);
            if reseal_one(table, old, new, &aad, sealed)? {
                banks.push(row.try_get::<_, String>(0)?);
                keys.push(row.try_get::<_, String>(1)?);
                bodies.push(
                    String::from_utf8(encode(&r)).map_err(|_| Abort::corrupt(table, "body"))?,
                );
            }
        }
        if !keys.is_empty() {
            tx.execute(&write, &[&banks, &keys, &bodies]).await?;
        }
        done += keys.len() as u64;
        progress(rows.len() as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::super::harness;
    use super::*;
    use crate::banks::BankCode;
    use crate::store::tests::token as test_token;
    use crate::store::{Store, TokenKind};

    fn key(b: u8) -> Sealer {
        Sealer::from_key(&[b; 32])
    }

    fn add_tokens(store: &Store, n: usize) {
        let tokens: Vec<Token> = (0..n)
            .map(|i| test_token(store, &format!("REKY{i:08}"), TokenKind::Hardware))
            .collect();
        store
            .commit_now(|tx| tokens.iter().try_for_each(|t| tx.put_token(t)))
            .unwrap();
    }

    /// Every bank's seeds and cards of a database sealed with `k` open with it.
    fn all_open(url: &str, k: u8, codes: &[BankCode]) {
        let stores = Store::open_banks_postgres(url, &key(k), codes).unwrap();
        for store in &stores {
            let mut n = 0;
            for t in store.tokens() {
                let t = t.unwrap();
                assert_eq!(&store.secret(&t).unwrap()[..], b"12345678901234567890");
                n += 1;
            }
            assert_eq!(n, 5);
            let digits = store.write(|tx| tx.card_digits("1000000001")).unwrap();
            assert_eq!(&digits.expect("card")[..], b"40173958");
        }
    }

    #[test]
    fn every_banks_seeds_are_resealed_at_once_and_the_old_key_stops_working() {
        let dir = tempfile::tempdir().unwrap();
        let url = harness::shared().database(&harness::name_for(dir.path()));
        let codes = ["1020", "1021"].map(|c| BankCode::parse(c).unwrap());
        {
            let stores = Store::open_banks_postgres(&url, &key(1), &codes).unwrap();
            for store in &stores {
                add_tokens(store, 5);
                let card = store.seal_card("1000000001", "40173958");
                store.commit_now(|tx| tx.put_card(&card)).unwrap();
            }
            // A gateway (or tool) still connected: refused, nothing changed.
            let refused = Store::rekey_postgres(&url, key(1), key(2), |_| {});
            assert!(
                matches!(&refused, Err(StoreError::Io(m)) if m.contains("stop every gateway")),
                "{refused:?}"
            );
        }
        // Cut short after the first pages were rewritten (a seed no key opens stops it there):
        // the transaction rolls back, every seed still opens with the old key.
        {
            let core = super::super::Pg::connect(&url, &key(1)).unwrap();
            core.block(async {
                let client = core.pool().get().await.unwrap();
                client
                    .batch_execute(
                        "UPDATE tokens SET body = jsonb_set(body, '{secret_sealed}', '\"AAAA\"') \
                         WHERE bank = '1021' AND serial = 'REKY00000004'",
                    )
                    .await
                    .unwrap();
            });
            let mut seen = 0;
            let cut = core.rekey(&key(1), &key(2), 2, &mut |n| seen += n);
            assert!(cut.is_err() && seen >= 6, "{seen} {:?}", cut.err());
            core.block(async {
                let client = core.pool().get().await.unwrap();
                let sealed = key(1).seal(b"REKY00000004", b"12345678901234567890");
                let text = data_encoding::BASE64.encode(&sealed);
                client
                    .execute(
                        "UPDATE tokens SET body = jsonb_set(body, '{secret_sealed}', to_jsonb($1::text)) \
                         WHERE bank = '1021' AND serial = 'REKY00000004'",
                        &[&text],
                    )
                    .await
                    .unwrap();
            });
        }
        all_open(&url, 1, &codes);
        let mut seen = 0;
        let resealed = Store::rekey_postgres(&url, key(1), key(2), |n| seen += n).unwrap();
        assert_eq!((resealed, seen), (12, 12), "10 seeds and 2 cards");
        assert!(matches!(
            Store::open_postgres(&url, key(1)),
            Err(StoreError::WrongKey)
        ));
        all_open(&url, 2, &codes);
        // Run again (as after a cut it could not tell had committed): nothing left to do.
        assert_eq!(
            Store::rekey_postgres(&url, key(1), key(2), |_| {}).unwrap(),
            0
        );
    }
}
