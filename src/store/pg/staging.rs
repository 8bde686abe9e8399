//! Staged import rows on this engine (migration 0006): what `host_import.rs` stages, a batch per
//! statement and outside any transaction (staging never waits for the audit chain's head, so
//! phone writes go on meanwhile). An import holds its bank's import lock, a session advisory
//! lock on a connection of its own, from its start to its end: one import per bank at a time
//! across every gateway and tool, and a process that dies lets go of it with its connection.
//! Whoever takes the lock may therefore delete every unpublished staged row of the bank: they
//! are the leftovers of an import cut short.

use super::super::records::{Customer, Event, Token};
use super::super::{decode, StoreError, TxResult};
use super::{unavailable, Pg, PgTx};
use crate::seal::Sealer;
use deadpool_postgres::Object;
use std::collections::HashMap;

/// The meta key of bank `bank`'s published import being applied.
pub(crate) fn marker_key(prefix: &str, bank: &str) -> String {
    format!("{prefix}/{bank}")
}

/// A connection holding bank `bank`'s import lock; unlocked by [`ImportLock::release`] (or by
/// the connection's end).
pub(crate) struct ImportLock {
    pub(in crate::store) client: Object,
}

const LOCK_SQL: &str = "SELECT pg_try_advisory_lock(hashtextextended('keitai-import/' || $1, 0))";
const UNLOCK_SQL: &str = "SELECT pg_advisory_unlock(hashtextextended('keitai-import/' || $1, 0))";

impl Pg {
    /// Takes this bank's import lock on a connection of its own; `None` when another import of
    /// the bank (any gateway or tool) holds it.
    pub(crate) fn lock_imports(&self) -> Result<Option<ImportLock>, StoreError> {
        let bank = self.bank().key.clone();
        self.block(async {
            let client = self.pool().get().await.map_err(unavailable)?;
            let got: bool = client.query_one(LOCK_SQL, &[&bank]).await?.get(0);
            Ok(got.then_some(ImportLock { client }))
        })
    }

    /// Gives the import lock back (the connection returns to the pool).
    pub(crate) fn release_imports(&self, lock: ImportLock) {
        let bank = self.bank().key.clone();
        let _ = self.block(lock.client.query_one(UNLOCK_SQL, &[&bank]));
    }

    /// A new import ID (unique across gateways).
    pub(crate) fn next_import_id(&self, lock: &ImportLock) -> Result<u64, StoreError> {
        let id: i64 = self
            .block(lock.client.query_one("SELECT nextval('import_ids')", &[]))?
            .get(0);
        Ok(u64::try_from(id).unwrap_or(0))
    }

    /// Stages rows `(key, line, body JSON)` of import `id` in one statement.
    pub(crate) fn stage(
        &self,
        lock: &ImportLock,
        id: u64,
        rows: &[(String, u64, String)],
    ) -> Result<(), StoreError> {
        let keys: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        let lines: Vec<i64> = rows.iter().map(|r| big(r.1)).collect();
        let bodies: Vec<&str> = rows.iter().map(|r| r.2.as_str()).collect();
        let bank = self.bank().key.clone();
        self.block(lock.client.execute(
            "INSERT INTO staged (bank, import, key, line, body) \
             SELECT $1, $2, k, l, b::jsonb FROM unnest($3::text[], $4::bigint[], $5::text[]) \
             AS t(k, l, b)",
            &[&bank, &big(id), &keys, &lines, &bodies],
        ))?;
        Ok(())
    }

    /// The lines of the rows of import `id` staged under any of `keys`.
    pub(crate) fn staged_lines(
        &self,
        lock: &ImportLock,
        id: u64,
        keys: &[&str],
    ) -> Result<HashMap<String, u64>, StoreError> {
        let bank = self.bank().key.clone();
        let rows = self.block(lock.client.query(
            "SELECT key, line FROM staged WHERE bank = $1 AND import = $2 AND key = ANY($3)",
            &[&bank, &big(id), &keys],
        ))?;
        rows.iter()
            .map(|r| {
                let line: i64 = r.try_get(1)?;
                Ok((r.try_get(0)?, u64::try_from(line).unwrap_or(0)))
            })
            .collect()
    }

    /// The stored customers among `ids` (one statement; no locks).
    pub(crate) fn customers_among(
        &self,
        ids: &[&str],
    ) -> Result<HashMap<String, Customer>, StoreError> {
        let bank = self.bank().key.clone();
        let rows = self.block(async {
            let client = self.pool().get().await.map_err(unavailable)?;
            Ok::<_, StoreError>(
                client
                    .query(
                        "SELECT contract_id, body::text FROM customers \
                         WHERE bank = $1 AND contract_id = ANY($2)",
                        &[&bank, &ids],
                    )
                    .await?,
            )
        })?;
        let mut out = HashMap::with_capacity(rows.len());
        for r in rows {
            let body: String = r.try_get(1)?;
            out.insert(r.try_get(0)?, decode("customers", body.as_bytes())?);
        }
        Ok(out)
    }

    /// Deletes the bank's staged rows: import `id`'s, or (None) every import's (the caller
    /// holds the lock, so none of them is being staged).
    pub(crate) fn drop_staged(&self, lock: &ImportLock, id: Option<u64>) -> Result<(), StoreError> {
        let bank = self.bank().key.clone();
        match id {
            Some(id) => self.block(lock.client.execute(
                "DELETE FROM staged WHERE bank = $1 AND import = $2",
                &[&bank, &big(id)],
            ))?,
            None => self.block(
                lock.client
                    .execute("DELETE FROM staged WHERE bank = $1", &[&bank]),
            )?,
        };
        Ok(())
    }

    /// Deletes every staged row of the bank but those of import `keep` (a published owned
    /// import's); the caller holds the lock.
    pub(crate) fn drop_staged_except(
        &self,
        lock: &ImportLock,
        keep: Option<u64>,
    ) -> Result<(), StoreError> {
        let bank = self.bank().key.clone();
        let keep = keep.map_or(-1, big);
        self.block(lock.client.execute(
            "DELETE FROM staged WHERE bank = $1 AND import <> $2",
            &[&bank, &keep],
        ))?;
        Ok(())
    }

    /// Up to `limit` staged rows (key, JSON) of import `id` whose keys start with `prefix`,
    /// after key `after`, in key order.
    pub(crate) fn scan_staged(
        &self,
        lock: &ImportLock,
        id: u64,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let bank = self.bank().key.clone();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.block(lock.client.query(
            "SELECT key, body::text FROM staged WHERE bank = $1 AND import = $2 \
             AND key > $3 AND key >= $4 AND starts_with(key, $4) ORDER BY key LIMIT $5",
            &[&bank, &big(id), &after, &prefix, &limit],
        ))?;
        rows.iter()
            .map(|r| {
                let body: String = r.try_get(1)?;
                Ok((r.try_get(0)?, body.into_bytes()))
            })
            .collect()
    }

    /// Meta value `key`, if stored.
    pub(crate) fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.block(async {
            let client = self.pool().get().await.map_err(unavailable)?;
            let row = client
                .query_opt("SELECT value FROM meta WHERE key = $1", &[&key])
                .await?;
            Ok(row.map(|r| r.get(0)))
        })
    }

    pub(crate) fn remove_meta(&self, key: &str) -> Result<(), StoreError> {
        self.block(async {
            let client = self.pool().get().await.map_err(unavailable)?;
            client
                .execute("DELETE FROM meta WHERE key = $1", &[&key])
                .await?;
            Ok(())
        })
    }
}

impl Pg {
    /// Moves token import `id`'s staged rows into `tokens` (replacing stored ones of the same
    /// serial), a thousand per statement, with `event` in the audit trail: one transaction, so
    /// the inventory appears at once or not at all. Returns how many.
    pub(crate) fn publish_staged_tokens(
        &self,
        sealer: &Sealer,
        id: u64,
        event: Event,
        at: u64,
    ) -> Result<u64, StoreError> {
        self.transaction(sealer, |ptx, tx| {
            let mut after = String::new();
            let mut n = 0;
            loop {
                let rows = ptx.staged_rows(id, &after, 1000)?;
                let Some((last, _)) = rows.last() else {
                    break;
                };
                after = last.clone();
                let tokens: Vec<Token> = rows
                    .iter()
                    .map(|(_, body)| decode("staged", body.as_bytes()))
                    .collect::<Result<_, _>>()?;
                let refs: Vec<&Token> = tokens.iter().collect();
                ptx.upsert_tokens(&refs)?;
                n += tokens.len() as u64;
            }
            ptx.exec(
                "DELETE FROM staged WHERE bank = $1 AND import = $2",
                &[&ptx.bank, &big(id)],
            )?;
            tx.audit(at, event.clone())?;
            Ok(n)
        })
    }
}

impl PgTx<'_> {
    /// Up to `limit` staged rows of import `id` after key `after`, in key order, locked:
    /// `(key, body JSON)`.
    pub(crate) fn staged_rows(
        &self,
        id: u64,
        after: &str,
        limit: usize,
    ) -> TxResult<Vec<(String, String)>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.rows(
            "SELECT key, body::text FROM staged WHERE bank = $1 AND import = $2 AND key > $3 \
             ORDER BY key LIMIT $4 FOR UPDATE",
            &[&self.bank, &big(id), &after, &limit],
        )?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    /// Deletes staged rows `keys` of import `id`.
    pub(crate) fn remove_staged_rows(&self, id: u64, keys: &[&str]) -> TxResult<()> {
        self.exec(
            "DELETE FROM staged WHERE bank = $1 AND import = $2 AND key = ANY($3)",
            &[&self.bank, &big(id), &keys],
        )
        .map(drop)
    }

    /// Stores meta `key` (an import's marker), in this transaction.
    pub(crate) fn put_meta(&self, key: &str, value: &[u8]) -> TxResult<()> {
        self.exec(
            "INSERT INTO meta (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            &[&key, &value],
        )
        .map(drop)
    }
}

fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
