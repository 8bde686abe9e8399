//! An import whose rows its owner applies ([`OwnedImport`]: the 法人 contracts of
//! `operate::businesses`, whose rules live there). The store stages its rows in the shared
//! staging area ([`super::staging::Staged`]), publishes it with one marker (meta
//! `owned_import_applying`, `…/BANK` on PostgreSQL) and the import's audit record in one
//! transaction, and keeps the rows of a published import through an open (it drops every other
//! import's staged rows then) until the owner has applied them, a batch per transaction each
//! removing its rows ([`Tx::unstage`]), and [`OwnedImport::finish`]es it. A crash before the
//! marker leaves nothing; after it, the owner finds the import with
//! [`Store::published_import`] and finishes it ([`Store::resume_owned_import`]).

use super::pg::staging::marker_key;
use super::records::{Card, Event};
use super::staging::Staged;
use super::{decode, open_card, Engine, Store, StoreError, Tx, TxResult, T};
use serde::Serialize;
use zeroize::Zeroizing;

/// Meta key of the published owned import (its ID, 8 bytes, then the owner's marker).
pub(super) const OWNED: &str = "owned_import_applying";

/// An import staged for its owner. Dropped unpublished, its rows go.
pub struct OwnedImport<'s> {
    store: &'s Store,
    engine: Staged<'s>,
}

impl Store {
    /// Starts an owned import (one import of any kind at a time per bank).
    pub fn begin_owned_import(&self) -> Result<OwnedImport<'_>, StoreError> {
        Ok(OwnedImport {
            store: self,
            engine: self.stage_rows()?,
        })
    }

    /// The published owned import a crash left: its ID and the owner's marker.
    pub fn published_import(&self) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        let v = match &self.engine {
            Engine::Sled(s) => s.tree(T::Meta).get(OWNED)?.map(|v| v.to_vec()),
            Engine::Postgres(pg) => pg.meta(&marker_key(OWNED, &pg.bank().key))?,
        };
        Ok(v.and_then(|v| {
            let id = u64::from_be_bytes(v.get(..8)?.try_into().ok()?);
            Some((id, v[8..].to_vec()))
        }))
    }

    /// Takes up published import `id` to finish applying it (its rows are kept); at once
    /// [`StoreError::ImportBusy`] when another import holds the bank's lock.
    pub fn resume_owned_import(&self, id: u64) -> Result<OwnedImport<'_>, StoreError> {
        let mut engine = self.claim_staging(false)?;
        engine.adopt(id);
        Ok(OwnedImport {
            store: self,
            engine,
        })
    }

    /// Opens a sealed お客様カード record (a staged one, to compare with the stored card).
    pub fn card_digits_of(&self, card: &Card) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        Ok(open_card(&self.sealer, card)?)
    }
}

impl OwnedImport<'_> {
    pub fn id(&self) -> u64 {
        self.engine.id()
    }

    /// Stages `value` (JSON with its file line in `line`) under `key`.
    pub fn put<R: Serialize>(&mut self, key: &str, line: u64, value: &R) -> Result<(), StoreError> {
        self.engine.put(key, line, value)
    }

    /// The line of the row staged under `key`, if one is.
    pub fn line_of(&self, key: &str) -> Result<Option<u64>, StoreError> {
        Ok(self
            .engine
            .lines(&[key], |v| {
                let row: serde_json::Value = decode("staged", v)?;
                Ok(row["line"].as_u64().unwrap_or(0))
            })?
            .remove(key))
    }

    /// Every staged row (key, JSON) whose key starts with `prefix`, in key order, read `batch`
    /// at a time; `each` gets the import back with each row (to look up or stage more).
    pub fn for_each<E: From<StoreError>>(
        &mut self,
        prefix: &str,
        batch: usize,
        mut each: impl FnMut(&mut Self, String, Vec<u8>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut after: Option<String> = None;
        loop {
            let rows = self.scan(prefix, after.as_deref(), batch)?;
            let Some((last, _)) = rows.last() else {
                return Ok(());
            };
            after = Some(last.clone());
            for (key, value) in rows {
                each(self, key, value)?;
            }
        }
    }

    /// Up to `limit` staged rows (key, JSON) whose keys start with `prefix`, after `after`.
    pub fn scan(
        &mut self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.engine.write_pending()?;
        self.engine.scan(prefix, after, limit)
    }

    /// Publishes the import: `marker` (the owner's, to apply it after a crash) and `event`
    /// in the audit trail, in one durable write.
    pub fn publish(&mut self, marker: &[u8], event: Event, at: u64) -> Result<(), StoreError> {
        self.engine.write_pending()?;
        let mut value = self.id().to_be_bytes().to_vec();
        value.extend_from_slice(marker);
        let key = match self.engine.on() {
            Ok(sled) => {
                sled.flush()?;
                OWNED.to_owned()
            }
            Err(pg) => marker_key(OWNED, &pg.bank().key),
        };
        self.store.commit_now(|tx| {
            tx.put_meta_bytes(&key, &value)?;
            tx.audit(at, event.clone())
        })?;
        self.engine.set_published();
        Ok(())
    }

    /// Ends a published import whose rows are all applied: its marker goes.
    pub fn finish(self) -> Result<(), StoreError> {
        match self.engine.on() {
            Ok(sled) => {
                sled.tree(T::Meta).remove(OWNED)?;
                sled.flush()?;
            }
            Err(pg) => pg.remove_meta(&marker_key(OWNED, &pg.bank().key))?,
        }
        Ok(())
    }
}

impl Tx<'_> {
    /// Removes staged rows `keys` of import `id`, applied in this transaction.
    pub fn unstage(&self, id: u64, keys: &[&str]) -> TxResult<()> {
        for k in keys {
            self.remove_staged(&super::staging::key(id, k))?;
        }
        self.remove_staged_rows(id, keys)
    }
}
