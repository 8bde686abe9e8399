//! Customers from the bank's internet-banking host (`customers import`) in bounded memory, all
//! or nothing. The checked rows of the export are written, a batch at a time, to the `staged`
//! tree under the import's ID, where nothing reads them; a bad file drops them. Publishing is
//! one small atomic, durable write: a marker naming the import (file, operator, time) and the
//! import's audit record. From then on the import is committed: its rows are applied to the
//! customers a batch per transaction (each row against the customer as stored at that moment,
//! so a login or a registration made meanwhile is kept), each batch removing its staged rows
//! in the same transaction. A crash before publishing leaves only staged rows, dropped at the
//! next open; a crash while applying is finished at the next open.
//!
//! PostgreSQL keeps the rows in memory and applies them in one transaction (its own all or
//! nothing; memory grows with the file there).

use super::records::{AuditEvent, Customer, Event, HostHashes, TokenState};
use super::staging::{self, CHUNK};
use super::{decode, encode, Engine, Sled, Store, StoreError, Tx, TxResult, T};
use crate::seal::Sealer;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::MutexGuard;

/// Meta key of the published customer import being applied ([`Marker`], JSON).
const APPLYING: &str = "host_import_applying";

/// One checked row of the host's export, as staged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostRow {
    pub contract_id: String,
    pub name: String,
    pub login_hash: String,
    pub transfer_hash: String,
    pub closed: bool,
    /// Its line in the file (to name the first of two rows of one contract ID).
    pub line: u64,
}

/// What a row does to the stored customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostChange {
    Add,
    Update,
    Close,
    Reopen,
    Same,
}

/// Who imported which file, when: what the audit records of the applied rows say.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Source {
    pub file_name: String,
    /// The operator's audit tag.
    pub by: String,
    pub at: u64,
}

/// The published import being applied.
#[derive(Debug, Serialize, Deserialize)]
struct Marker {
    id: u64,
    source: Source,
}

/// The digest kept of a hash the host exported (see [`HostHashes`]).
pub fn host_digest(hash: &str) -> String {
    hex::encode(Sha256::digest(hash.as_bytes()))
}

/// The customer `row` makes of `old`, and what kind of change that is (closing's effects on
/// the token are [`apply`]'s).
pub fn merge(old: Option<&Customer>, row: &HostRow) -> (Customer, HostChange) {
    let host = HostHashes {
        login: host_digest(&row.login_hash),
        transfer: host_digest(&row.transfer_hash),
    };
    let Some(old) = old else {
        let c = Customer {
            contract_id: row.contract_id.clone(),
            name: row.name.clone(),
            login_hash: row.login_hash.clone(),
            transfer_hash: row.transfer_hash.clone(),
            login_fails: 0,
            claim_fails: 0,
            login_temp_locks: 0,
            login_locked_until: 0,
            transfer_lock: Default::default(),
            token: None,
            transfers_blocked: row.closed,
            closed: row.closed,
            from_host: Some(host),
        };
        return (c, HostChange::Add);
    };
    let mut c = old.clone();
    c.name = row.name.clone();
    // A hash the host exported before stays as stored (it may have been re-hashed since).
    let before = old.from_host.as_ref();
    if before.is_none_or(|h| h.login != host.login) {
        c.login_hash = row.login_hash.clone();
    }
    if before.is_none_or(|h| h.transfer != host.transfer) {
        c.transfer_hash = row.transfer_hash.clone();
    }
    c.from_host = Some(host);
    let change = match (old.closed, row.closed) {
        (false, true) => HostChange::Close,
        (true, false) => HostChange::Reopen,
        _ if c != *old => HostChange::Update,
        _ => HostChange::Same,
    };
    (c, change)
}

/// Applies one row in a transaction: the customer stored, a closed contract's token
/// cancelled, closing and reopening audited.
fn apply(tx: &mut Tx, row: &HostRow, source: &Source) -> TxResult<HostChange> {
    let old = tx.customer(&row.contract_id)?;
    let (mut c, change) = merge(old.as_ref(), row);
    let (by, file, at) = (&source.by, &source.file_name, source.at);
    match change {
        HostChange::Same => return Ok(change),
        HostChange::Close => {
            c.closed = true;
            c.transfers_blocked = true;
            let mut serial = None;
            if let Some(binding) = c.token.take() {
                if let Some(mut t) = tx.token(&binding.serial)? {
                    t.state = TokenState::Cancelled {
                        contract_id: c.contract_id.clone(),
                        at,
                    };
                    tx.put_token(&t)?;
                }
                serial = Some(binding.serial);
            }
            let detail = match &serial {
                Some(s) => format!("closed by {file}: token {s} cancelled, {by}"),
                None => format!("closed by {file} (no token), {by}"),
            };
            tx.audit(
                at,
                Event {
                    event: AuditEvent::ContractClosed,
                    contract_id: Some(&c.contract_id),
                    serial: serial.as_deref(),
                    detail,
                },
            )?;
        }
        HostChange::Reopen => {
            // Transfers stay blocked until the customer registers a new token.
            c.closed = false;
            tx.audit(
                at,
                Event {
                    event: AuditEvent::ContractReopened,
                    contract_id: Some(&c.contract_id),
                    serial: None,
                    detail: format!("reopened by {file}, {by}"),
                },
            )?;
        }
        HostChange::Add | HostChange::Update => {}
    }
    tx.put_customer(&c)?;
    Ok(change)
}

/// A customer import being staged. Dropped without [`HostImport::publish`], its rows go.
pub struct HostImport<'s> {
    store: &'s Store,
    engine: Staged<'s>,
}

enum Staged<'s> {
    Sled {
        sled: &'s Sled,
        id: u64,
        batch: sled::Batch,
        /// Lines of the batch's rows not yet written (the written ones are in `staged`).
        pending: HashMap<String, u64>,
        published: bool,
        _one_at_a_time: MutexGuard<'s, ()>,
    },
    Memory {
        rows: Vec<HostRow>,
        lines: HashMap<String, u64>,
    },
}

impl Store {
    /// Starts a customer import (one import of any kind at a time on the embedded engine).
    pub fn begin_host_import(&self) -> Result<HostImport<'_>, StoreError> {
        let engine = match &self.engine {
            Engine::Sled(sled) => {
                let (id, guard) = sled.claim_import()?;
                Staged::Sled {
                    sled,
                    id,
                    batch: sled::Batch::default(),
                    pending: HashMap::new(),
                    published: false,
                    _one_at_a_time: guard,
                }
            }
            Engine::Postgres(_) => Staged::Memory {
                rows: Vec::new(),
                lines: HashMap::new(),
            },
        };
        Ok(HostImport {
            store: self,
            engine,
        })
    }
}

impl HostImport<'_> {
    /// The line of the row staged for `contract_id`, if one is.
    pub fn staged_line(&self, contract_id: &str) -> Result<Option<u64>, StoreError> {
        match &self.engine {
            Staged::Sled {
                sled, id, pending, ..
            } => {
                if let Some(line) = pending.get(contract_id) {
                    return Ok(Some(*line));
                }
                match sled.tree(T::Staged).get(staging::key(*id, contract_id))? {
                    Some(v) => Ok(Some(decode::<HostRow>("staged", &v)?.line)),
                    None => Ok(None),
                }
            }
            Staged::Memory { lines, .. } => Ok(lines.get(contract_id).copied()),
        }
    }

    /// Stages one row (nothing reads it until [`HostImport::publish`]).
    pub fn put(&mut self, row: &HostRow) -> Result<(), StoreError> {
        match &mut self.engine {
            Staged::Sled {
                sled,
                id,
                batch,
                pending,
                ..
            } => {
                batch.insert(staging::key(*id, &row.contract_id), encode(row));
                pending.insert(row.contract_id.clone(), row.line);
                if pending.len() >= CHUNK {
                    sled.tree(T::Staged).apply_batch(std::mem::take(batch))?;
                    pending.clear();
                }
            }
            Staged::Memory { rows, lines } => {
                lines.insert(row.contract_id.clone(), row.line);
                rows.push(row.clone());
            }
        }
        Ok(())
    }

    /// Commits the import with `event` in the audit trail (one atomic, durable write), then
    /// applies its rows (`progress(n)` as it goes) and flushes.
    pub fn publish(
        mut self,
        source: Source,
        event: Event,
        progress: impl FnMut(u64),
    ) -> Result<(), StoreError> {
        let store = self.store;
        match &mut self.engine {
            Staged::Sled {
                sled,
                id,
                batch,
                pending,
                published,
                ..
            } => {
                sled.tree(T::Staged).apply_batch(std::mem::take(batch))?;
                pending.clear();
                sled.flush()?;
                let marker = encode(&Marker {
                    id: *id,
                    source: source.clone(),
                });
                store.commit_now(|tx| {
                    tx.put_meta_bytes(APPLYING, &marker)?;
                    tx.audit(source.at, event.clone())
                })?;
                *published = true;
                sled.apply_host_import(&store.sealer, *id, &source, progress)?;
            }
            Staged::Memory { rows, .. } => {
                let mut progress = progress;
                store.commit_now(|tx| {
                    for row in rows.iter() {
                        apply(tx, row, &source)?;
                    }
                    tx.audit(source.at, event.clone())
                })?;
                progress(rows.len() as u64);
            }
        }
        Ok(())
    }
}

impl Drop for HostImport<'_> {
    fn drop(&mut self) {
        if let Staged::Sled {
            sled,
            id,
            published: false,
            ..
        } = &self.engine
        {
            // Abandoned (bad rows, a dry run, an error): a failure here leaves the rows for
            // the next open to drop.
            sled.drop_staged(*id);
        }
    }
}

impl Sled {
    /// At open: finishes applying a published customer import cut short.
    pub(super) fn recover_host_import(&self, sealer: &Sealer) -> Result<(), StoreError> {
        let Some(v) = self.tree(T::Meta).get(APPLYING)? else {
            return Ok(());
        };
        let marker: Marker = decode("meta", &v)?;
        self.apply_host_import(sealer, marker.id, &marker.source, |_| {})
    }

    /// Applies import `id`'s staged rows, a batch per transaction, each batch removing its
    /// rows; then clears the marker and flushes.
    fn apply_host_import(
        &self,
        sealer: &Sealer,
        id: u64,
        source: &Source,
        mut progress: impl FnMut(u64),
    ) -> Result<(), StoreError> {
        let prefix = id.to_be_bytes();
        // Each batch is read from where the last one ended (scanning over the emptied nodes
        // from the start every time would be quadratic).
        let mut from = std::ops::Bound::Included(prefix.to_vec());
        loop {
            let rows: Vec<(sled::IVec, sled::IVec)> = self
                .tree(T::Staged)
                .range((from.clone(), std::ops::Bound::Unbounded))
                .take_while(|kv| kv.as_ref().map_or(true, |(k, _)| k.starts_with(&prefix)))
                .take(CHUNK)
                .collect::<Result<_, _>>()?;
            let Some((last, _)) = rows.last() else {
                break;
            };
            from = std::ops::Bound::Excluded(last.to_vec());
            let decoded: Vec<(sled::IVec, HostRow)> = rows
                .iter()
                .map(|(k, v)| Ok((k.clone(), decode("staged", v)?)))
                .collect::<Result<_, StoreError>>()?;
            self.write(sealer, |tx| {
                for (k, row) in &decoded {
                    apply(tx, row, source)?;
                    tx.remove_staged(k)?;
                }
                Ok(())
            })?;
            progress(rows.len() as u64);
        }
        self.tree(T::Meta).remove(APPLYING)?;
        self.db.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &std::path::Path) -> Store {
        Store::open(dir, Sealer::from_key(&[7; 32])).unwrap()
    }

    fn row(i: usize) -> HostRow {
        HostRow {
            contract_id: format!("{}", 1_000_000 + i),
            name: "名前".into(),
            login_hash: "$2b$04$abcdefghijklmnopqrstuu5Ju6g2ff.Vj5bY7B2GYOtnV2z8uWHlK".into(),
            transfer_hash: "$2b$04$abcdefghijklmnopqrstuu5Ju6g2ff.Vj5bY7B2GYOtnV2z8uWHlK".into(),
            closed: false,
            line: i as u64 + 2,
        }
    }

    fn source() -> Source {
        Source {
            file_name: "export.csv".into(),
            by: "operator test".into(),
            at: 1,
        }
    }

    /// More rows than one batch, so some reach the engine before the "crash".
    const ROWS: usize = CHUNK * 2 + 5;

    fn staged(store: &Store) -> HostImport<'_> {
        let mut staging = store.begin_host_import().unwrap();
        for i in 0..ROWS {
            staging.put(&row(i)).unwrap();
        }
        staging
    }

    #[test]
    fn staged_rows_are_invisible_and_dropped_when_abandoned_or_cut_short() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = open(dir.path());
            let staging = staged(&store);
            assert_eq!(staging.staged_line(&row(0).contract_id).unwrap(), Some(2));
            assert_eq!(
                staging.staged_line(&row(ROWS - 1).contract_id).unwrap(),
                Some(ROWS as u64 + 1)
            );
            assert_eq!(
                store.customer(&row(0).contract_id).unwrap(),
                None,
                "not visible"
            );
            drop(staging);
            assert!(
                store.sled().tree(T::Staged).is_empty(),
                "abandoned: dropped"
            );
            let staging = staged(&store);
            // The process dies before publishing: no clean-up runs.
            std::mem::forget(staging);
            store.flush().unwrap();
        }
        let store = open(dir.path());
        assert_eq!(store.customer(&row(0).contract_id).unwrap(), None);
        assert!(store.sled().tree(T::Staged).is_empty(), "dropped at open");
    }

    #[test]
    fn a_published_import_cut_short_is_finished_at_open() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = open(dir.path());
            let mut staging = staged(&store);
            let Staged::Sled {
                sled, id, batch, ..
            } = &mut staging.engine
            else {
                unreachable!()
            };
            sled.tree(T::Staged)
                .apply_batch(std::mem::take(batch))
                .unwrap();
            let marker = encode(&Marker {
                id: *id,
                source: source(),
            });
            // Published (the switch is written), then the process dies before applying.
            store
                .commit_now(|tx| tx.put_meta_bytes(APPLYING, &marker))
                .unwrap();
            std::mem::forget(staging);
        }
        let store = open(dir.path());
        assert_eq!(store.customers().count(), ROWS);
        assert!(store.sled().tree(T::Staged).is_empty());
        assert!(!store.sled().tree(T::Meta).contains_key(APPLYING).unwrap());
    }

    #[test]
    fn publishing_applies_every_row() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let staging = staged(&store);
        let mut applied = 0;
        staging
            .publish(source(), Event::new(AuditEvent::CustomersImport), |n| {
                applied += n
            })
            .unwrap();
        assert_eq!(applied, ROWS as u64);
        assert_eq!(store.customers().count(), ROWS);
        assert!(store.sled().tree(T::Staged).is_empty());
    }
}
