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
//! PostgreSQL works the same way over its `staged` table (`pg/staging.rs`, migration 0006):
//! rows staged a batch per statement, outside any transaction; the marker (meta
//! `host_import_applying/BANK`) and the audit record committed together; the rows applied a
//! batch per transaction. The bank's import lock (held by the importing connection) makes one
//! import per bank at a time across every gateway; whoever takes it next (an import, or a
//! gateway starting) finishes a published import cut short and drops unpublished rows.

use super::pg::{staging as pg_staging, ImportLock, Pg};
use super::records::{AuditEvent, Customer, Event, HostHashes, TokenState};
use super::staging::{Staged, CHUNK};
use super::{decode, encode, Engine, Sled, Store, StoreError, Tx, TxResult, T};
use crate::seal::Sealer;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

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

/// What staging a row found: it is staged (with the customer it changes, if stored), or its
/// contract ID was staged before, on the line given.
#[derive(Debug)]
pub enum Outcome {
    Staged(Option<Box<Customer>>),
    Duplicate(u64),
}

impl Store {
    /// Starts a customer import (one import of any kind at a time per bank; see
    /// [`Store::stage_rows`]).
    pub fn begin_host_import(&self) -> Result<HostImport<'_>, StoreError> {
        Ok(HostImport {
            store: self,
            engine: self.stage_rows()?,
        })
    }

    /// PostgreSQL, at open and at the gateway's minute sweep: finishes the bank's published
    /// import cut short (its importer died) and drops rows staged by one cut short before
    /// publishing, unless an import of the bank is running (it holds the lock, and did both
    /// when it began). Nothing to do on the embedded engine, whose one process does it at open.
    pub fn finish_cut_short_import(&self) -> Result<(), StoreError> {
        let Engine::Postgres(pg) = &self.engine else {
            return Ok(());
        };
        let Some(lock) = pg.lock_imports()? else {
            return Ok(());
        };
        let done = self.finish_postgres_import(pg, &lock);
        pg.release_imports(lock);
        done
    }

    /// Under the bank's import lock: applies the published import, if one was cut short, then
    /// drops every staged row left.
    pub(super) fn finish_postgres_import(
        &self,
        pg: &Pg,
        lock: &ImportLock,
    ) -> Result<(), StoreError> {
        let key = pg_staging::marker_key(APPLYING, &pg.bank().key);
        if let Some(v) = pg.meta(&key)? {
            let marker: Marker = decode("meta", &v)?;
            self.apply_postgres(marker.id, &marker.source, |_| {})?;
            pg.remove_meta(&key)?;
        }
        // A published owned import's rows are its owner's to apply (`owned_import.rs`).
        let owned = pg.meta(&pg_staging::marker_key(
            super::owned_import::OWNED,
            &pg.bank().key,
        ))?;
        let keep = owned.and_then(|v| Some(u64::from_be_bytes(v.get(..8)?.try_into().ok()?)));
        pg.drop_staged_except(lock, keep)
    }

    /// Applies import `id`'s staged rows on PostgreSQL, a batch per transaction, each batch
    /// deleting its rows in the same transaction.
    fn apply_postgres(
        &self,
        id: u64,
        source: &Source,
        mut progress: impl FnMut(u64),
    ) -> Result<(), StoreError> {
        let mut after = String::new();
        loop {
            let (n, last) = self.write(|tx| {
                let rows = tx.staged_rows(id, &after, PG_APPLY_CHUNK)?;
                for (_, body) in &rows {
                    let row: HostRow = decode("staged", body.as_bytes())?;
                    apply(tx, &row, source)?;
                }
                let keys: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
                tx.remove_staged_rows(id, &keys)?;
                Ok((rows.len(), rows.last().map(|r| r.0.clone())))
            })?;
            let Some(last) = last else {
                break;
            };
            after = last;
            progress(n as u64);
        }
        Ok(())
    }

    /// The stored customers among `ids`, by contract ID.
    fn customers_among(&self, ids: &[&str]) -> Result<HashMap<String, Customer>, StoreError> {
        match &self.engine {
            Engine::Postgres(pg) => pg.customers_among(ids),
            Engine::Sled(_) => {
                let mut out = HashMap::new();
                for id in ids {
                    if let Some(c) = self.customer(id)? {
                        out.insert((*id).to_owned(), c);
                    }
                }
                Ok(out)
            }
        }
    }
}

/// Rows per applying transaction on PostgreSQL: a batch holds the audit chain's head (every
/// other write of the bank waits) for its few hundred milliseconds.
const PG_APPLY_CHUNK: usize = 500;

impl HostImport<'_> {
    /// The line of the row staged for `contract_id`, if one is.
    pub fn staged_line(&self, contract_id: &str) -> Result<Option<u64>, StoreError> {
        Ok(self.staged_lines(&[contract_id])?.remove(contract_id))
    }

    /// The lines of the rows staged under any of `ids`.
    fn staged_lines(&self, ids: &[&str]) -> Result<HashMap<String, u64>, StoreError> {
        self.engine
            .lines(ids, |v| Ok(decode::<HostRow>("staged", v)?.line))
    }

    /// Stages a batch of rows (a few round trips for all of them on PostgreSQL): each row is
    /// staged with the customer it changes, unless its contract ID was staged before (by an
    /// earlier batch or earlier in this one), which is returned instead.
    pub fn stage(&mut self, rows: Vec<HostRow>) -> Result<Vec<(HostRow, Outcome)>, StoreError> {
        let ids: Vec<&str> = rows.iter().map(|r| r.contract_id.as_str()).collect();
        let mut first = self.staged_lines(&ids)?;
        let mut old = self.store.customers_among(&ids)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some(line) = first.get(&row.contract_id) {
                out.push((row, Outcome::Duplicate(*line)));
                continue;
            }
            first.insert(row.contract_id.clone(), row.line);
            self.put(&row)?;
            let was = old.remove(&row.contract_id).map(Box::new);
            out.push((row, Outcome::Staged(was)));
        }
        Ok(out)
    }

    /// Stages one row (nothing reads it until [`HostImport::publish`]).
    pub fn put(&mut self, row: &HostRow) -> Result<(), StoreError> {
        self.engine.put(&row.contract_id, row.line, row)
    }

    /// Writes the rows of the batch not yet written.
    fn write_pending(&mut self) -> Result<(), StoreError> {
        self.engine.write_pending()
    }

    /// Commits the import with `event` in the audit trail (one atomic, durable write), then
    /// applies its rows (`progress(n)` as it goes) and flushes.
    pub fn publish(
        mut self,
        source: Source,
        event: Event,
        progress: impl FnMut(u64),
    ) -> Result<(), StoreError> {
        self.write_pending()?;
        let store = self.store;
        let id = self.engine.id();
        let marker = encode(&Marker {
            id,
            source: source.clone(),
        });
        match self.engine.on() {
            Ok(sled) => {
                sled.flush()?;
                store.commit_now(|tx| {
                    tx.put_meta_bytes(APPLYING, &marker)?;
                    tx.audit(source.at, event.clone())
                })?;
                self.engine.set_published();
                sled.apply_host_import(&store.sealer, id, &source, progress)?;
            }
            Err(pg) => {
                let key = pg_staging::marker_key(APPLYING, &pg.bank().key);
                store.commit_now(|tx| {
                    tx.put_meta_bytes(&key, &marker)?;
                    tx.audit(source.at, event.clone())
                })?;
                self.engine.set_published();
                store.apply_postgres(id, &source, progress)?;
                pg.remove_meta(&key)?;
            }
        }
        Ok(())
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

    /// The same import on PostgreSQL, over its `staged` table.
    mod postgres {
        use super::*;
        use crate::store::pg::harness;

        fn open_pg(dir: &std::path::Path) -> Store {
            let url = harness::shared().database(&harness::name_for(dir));
            Store::open_postgres(&url, Sealer::from_key(&[7; 32])).unwrap()
        }

        impl Store {
            fn pg(&self) -> &Pg {
                let Engine::Postgres(pg) = &self.engine else {
                    unreachable!()
                };
                pg
            }
        }

        fn staged_count(store: &Store) -> String {
            let pg = store.pg();
            let n: i64 = pg
                .block(async {
                    let c = pg.pool().get().await.unwrap();
                    c.query_one("SELECT count(*) FROM staged", &[]).await
                })
                .unwrap()
                .get(0);
            n.to_string()
        }

        /// The importing process dies: no clean-up runs (`staging` is forgotten), and its
        /// connection, with the import lock, is gone once PostgreSQL has ended its session,
        /// which this waits for (a dropped socket alone ends it only some time later).
        fn die(store: &Store, staging: HostImport<'_>) {
            let Staged::Postgres { lock: Some(l), .. } = &staging.engine else {
                unreachable!()
            };
            let pg = store.pg();
            let pid: i32 = pg
                .block(l.client.query_one("SELECT pg_backend_pid()", &[]))
                .unwrap()
                .get(0);
            std::mem::forget(staging);
            pg.block(async {
                let c = pg.pool().get().await.unwrap();
                c.execute("SELECT pg_terminate_backend($1)", &[&pid])
                    .await
                    .unwrap();
                while c
                    .query_opt("SELECT 1 FROM pg_stat_activity WHERE pid = $1", &[&pid])
                    .await
                    .unwrap()
                    .is_some()
                {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            });
        }

        #[test]
        fn rows_staged_in_batches_are_invisible_and_an_import_cut_short_leaves_the_old_state() {
            let dir = tempfile::tempdir().unwrap();
            let store = open_pg(dir.path());
            let mut staging = store.begin_host_import().unwrap();
            let found = staging.stage((0..ROWS).map(row).collect()).unwrap();
            assert!(found
                .iter()
                .all(|(_, o)| matches!(o, Outcome::Staged(None))));
            // A contract ID of an earlier batch, and one twice in a batch.
            let again = staging.stage(vec![row(0), row(ROWS), row(ROWS)]).unwrap();
            assert!(matches!(again[0].1, Outcome::Duplicate(2)), "{again:?}");
            assert!(matches!(again[1].1, Outcome::Staged(None)));
            assert!(matches!(again[2].1, Outcome::Duplicate(l) if l == ROWS as u64 + 2));
            assert_eq!(
                staged_count(&store),
                (CHUNK * 2).to_string(),
                "whole batches written"
            );
            assert_eq!(
                store.customer(&row(0).contract_id).unwrap(),
                None,
                "not visible"
            );
            // A second import of the bank, from any gateway or tool, waits its turn.
            let other = open_pg(dir.path());
            assert!(matches!(
                other.begin_host_import(),
                Err(StoreError::ImportBusy)
            ));
            // The process dies: no clean-up runs, but its connection (and lock) goes.
            die(&store, staging);
            let store = open_pg(dir.path());
            assert_eq!(
                staged_count(&store),
                "0",
                "dropped by the next gateway to open"
            );
            assert_eq!(store.customers().count(), 0);
            let fresh = store
                .begin_host_import()
                .expect("the lock went with the connection");
            drop(fresh);
        }

        #[test]
        fn a_published_import_cut_short_is_finished_by_the_next_to_open_and_verifies() {
            let dir = tempfile::tempdir().unwrap();
            {
                let store = open_pg(dir.path());
                let mut staging = store.begin_host_import().unwrap();
                staging.stage((0..ROWS).map(row).collect()).unwrap();
                staging.write_pending().unwrap();
                let Staged::Postgres { pg, id, .. } = &staging.engine else {
                    unreachable!()
                };
                let key = pg_staging::marker_key(APPLYING, &pg.bank().key);
                let marker = encode(&Marker {
                    id: *id,
                    source: source(),
                });
                // Published, one batch applied, then the process dies.
                store
                    .commit_now(|tx| {
                        tx.put_meta_bytes(&key, &marker)?;
                        tx.audit(1, Event::new(AuditEvent::CustomersImport))
                    })
                    .unwrap();
                let id = *id;
                store
                    .write(|tx| {
                        let rows = tx.staged_rows(id, "", 10)?;
                        for (_, body) in &rows {
                            apply(tx, &decode("staged", body.as_bytes())?, &source())?;
                        }
                        let keys: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
                        tx.remove_staged_rows(id, &keys)
                    })
                    .unwrap();
                assert_eq!(store.customers().count(), 10);
                die(&store, staging);
            }
            let store = open_pg(dir.path());
            assert_eq!(store.customers().count(), ROWS, "finished at open");
            assert_eq!(staged_count(&store), "0");
            assert_eq!(store.verify_audit().unwrap(), Ok(1));
        }

        #[test]
        fn publishing_applies_every_row_and_audits_once() {
            let dir = tempfile::tempdir().unwrap();
            let store = open_pg(dir.path());
            let mut staging = store.begin_host_import().unwrap();
            staging.stage((0..ROWS).map(row).collect()).unwrap();
            let mut applied = 0;
            staging
                .publish(source(), Event::new(AuditEvent::CustomersImport), |n| {
                    applied += n
                })
                .unwrap();
            assert_eq!(applied, ROWS as u64);
            assert_eq!(store.customers().count(), ROWS);
            assert_eq!(staged_count(&store), "0");
            assert_eq!(store.verify_audit().unwrap(), Ok(1));
            // The lock was given back.
            drop(store.begin_host_import().unwrap());
        }
    }
}
