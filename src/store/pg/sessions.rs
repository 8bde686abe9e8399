//! Sessions kept in the database ([`SharedSessions`]): one table for phone and staff sessions
//! (by `kind`), each operation one statement, idle expiry on the database's clock. The session
//! itself is opaque text here (JSON made by [`crate::session_table`]); changes are
//! compare-and-set against the text read, so of two requests changing one session at once,
//! one wins and the other finds it gone.

use super::super::StoreError;
use super::{unavailable, Core};
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::types::ToSql;

/// The sessions of one kind ("phone", "staff") in the database.
pub struct SharedSessions {
    core: Arc<Core>,
    /// The bank whose sessions these are: a session ID of one bank is no session of another.
    bank: String,
    kind: &'static str,
    /// Idle milliseconds after which a session is gone.
    idle_ms: i64,
}

/// The condition "not idle longer than `$n` milliseconds".
fn live(n: u8) -> String {
    format!("last_seen > now() - ${n}::bigint * interval '1 millisecond'")
}

impl SharedSessions {
    pub(crate) fn new(
        core: Arc<Core>,
        bank: &str,
        kind: &'static str,
        idle: Duration,
    ) -> SharedSessions {
        SharedSessions {
            core,
            bank: bank.to_owned(),
            kind,
            idle_ms: i64::try_from(idle.as_millis()).unwrap_or(i64::MAX),
        }
    }

    fn run(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, StoreError> {
        self.core.block(async {
            let client = self.core.pool().get().await.map_err(unavailable)?;
            let stmt = client.prepare_cached(sql).await?;
            Ok(client.query(&stmt, params).await?)
        })
    }

    /// Stores a new session (or replaces one of the same ID), its idle clock started.
    pub fn insert(&self, id: &str, body: &str) -> Result<(), StoreError> {
        self.run(
            "INSERT INTO sessions (bank, kind, id, body) VALUES ($4, $1, $2, $3::text::jsonb) \
             ON CONFLICT (bank, kind, id) DO UPDATE SET body = EXCLUDED.body, last_seen = now()",
            &[&self.kind, &id, &body, &self.bank],
        )
        .map(drop)
    }

    /// [`SharedSessions::insert`] unless `max` live sessions of this kind are open (idle ones
    /// are dropped first); `false` when refused.
    pub fn insert_capped(&self, id: &str, body: &str, max: usize) -> Result<bool, StoreError> {
        self.sweep()?;
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        let rows = self.run(
            "INSERT INTO sessions (bank, kind, id, body) SELECT $5, $1, $2, $3::text::jsonb \
             WHERE (SELECT count(*) FROM sessions WHERE bank = $5 AND kind = $1) < $4 \
             RETURNING 1",
            &[&self.kind, &id, &body, &max, &self.bank],
        )?;
        Ok(!rows.is_empty())
    }

    /// The live session `id` as stored; an expired one is deleted.
    pub fn get(&self, id: &str) -> Result<Option<String>, StoreError> {
        let rows = self.run(
            &format!(
                "SELECT body::text FROM sessions WHERE bank = $4 AND kind = $1 AND id = $2 \
                 AND {}",
                live(3)
            ),
            &[&self.kind, &id, &self.idle_ms, &self.bank],
        )?;
        match rows.first() {
            Some(row) => Ok(Some(row.try_get(0)?)),
            None => {
                self.remove(id)?;
                Ok(None)
            }
        }
    }

    /// Restarts session `id`'s idle clock.
    pub fn touch(&self, id: &str) -> Result<(), StoreError> {
        self.run(
            "UPDATE sessions SET last_seen = now() WHERE bank = $3 AND kind = $1 AND id = $2",
            &[&self.kind, &id, &self.bank],
        )
        .map(drop)
    }

    /// Replaces session `id` by `new` if it is still `old` (its idle clock untouched).
    pub fn replace(&self, id: &str, old: &str, new: &str) -> Result<bool, StoreError> {
        let rows = self.run(
            "UPDATE sessions SET body = $4::text::jsonb \
             WHERE bank = $5 AND kind = $1 AND id = $2 AND body = $3::text::jsonb RETURNING 1",
            &[&self.kind, &id, &old, &new, &self.bank],
        )?;
        Ok(!rows.is_empty())
    }

    /// Moves session `old_id` (if it is still `old`) to `new_id` as `new`, in one statement:
    /// the old ID works for exactly one rotation, whichever gateway does it.
    pub fn rename(
        &self,
        old_id: &str,
        old: &str,
        new_id: &str,
        new: &str,
    ) -> Result<bool, StoreError> {
        let rows = self.run(
            "WITH gone AS (DELETE FROM sessions WHERE bank = $6 AND kind = $1 AND id = $2 \
             AND body = $3::text::jsonb RETURNING 1) \
             INSERT INTO sessions (bank, kind, id, body) \
             SELECT $6, $1, $4, $5::text::jsonb FROM gone RETURNING 1",
            &[&self.kind, &old_id, &old, &new_id, &new, &self.bank],
        )?;
        Ok(!rows.is_empty())
    }

    pub fn remove(&self, id: &str) -> Result<(), StoreError> {
        self.run(
            "DELETE FROM sessions WHERE bank = $3 AND kind = $1 AND id = $2",
            &[&self.kind, &id, &self.bank],
        )
        .map(drop)
    }

    /// Deletes the idle sessions of this kind.
    pub fn sweep(&self) -> Result<(), StoreError> {
        self.run(
            &format!(
                "DELETE FROM sessions WHERE bank = $3 AND kind = $1 AND NOT ({})",
                live(2)
            ),
            &[&self.kind, &self.idle_ms, &self.bank],
        )
        .map(drop)
    }

    /// Live sessions of this kind.
    pub fn count(&self) -> Result<usize, StoreError> {
        let rows = self.run(
            &format!(
                "SELECT count(*) FROM sessions WHERE bank = $3 AND kind = $1 AND {}",
                live(2)
            ),
            &[&self.kind, &self.idle_ms, &self.bank],
        )?;
        let n: i64 = rows.first().map_or(0, |r| r.get(0));
        Ok(usize::try_from(n).unwrap_or(0))
    }
}
