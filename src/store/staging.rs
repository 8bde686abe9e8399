//! Imports in bounded memory, all or nothing. [`Staged`] is the one staging area of every
//! record type imported in bulk (token inventories here, the host's customers in
//! `host_import.rs`): an import claims an ID (one import at a time per bank), its rows are
//! written a batch at a time where nothing reads them (the `staged` tree of the embedded
//! engine, the `staged` table on PostgreSQL, `pg/staging.rs`), found again by key (a key twice
//! in a file), and dropped when the import is abandoned or cut short before publishing. How a
//! published import's rows become records is the record type's own:
//!
//! - tokens, embedded engine: publishing is one small atomic write (a marker naming the
//!   import, and the audit record); from then on every token read looks in `staged` first,
//!   and the rows are moved into `tokens` batch by batch under the write lock (the fold). A
//!   crash during the fold is finished at the next open.
//! - tokens, PostgreSQL: one transaction moves the staged rows into `tokens` (a thousand per
//!   statement) with the audit record: visible all at once, as before staging.
//! - customers: see `host_import.rs`.

use super::index::{self, Entry, FORMAT};
use super::pg::{ImportLock, Pg};
use super::records::{Event, Token};
use super::{decode, encode, Engine, Sled, Store, StoreError, T};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::MutexGuard;

/// Rows per engine batch, staged or folded: the engine's memory grows with its batches
/// (10,000-row batches peaked near 270 MB on a 1,000,000-token import, 1,000-row ones far
/// lower), and a fold batch holds the write lock, so phone writes wait at most one batch.
pub(super) const CHUNK: usize = 1_000;
/// Meta key of the import being folded (its ID, 8 bytes).
const FOLDING: &str = "import_folding";
/// Meta key of the last import ID issued.
const LAST_ID: &str = "import_last_id";

/// `import ID \0 serial`: the staged row of one serial.
pub(super) fn key(import: u64, serial: &str) -> Vec<u8> {
    let mut k = import.to_be_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(serial.as_bytes());
    k
}

/// An import's staged rows, on either engine. Dropped unpublished, its rows are removed (a
/// failure there, or a crash, leaves them to the bank's next import or open).
pub(super) enum Staged<'s> {
    /// The embedded engine: rows go to the `staged` tree a batch at a time.
    Sled {
        sled: &'s Sled,
        id: u64,
        batch: sled::Batch,
        /// Keys (and lines) of the batch not yet written (the written ones are in `staged`).
        pending: HashMap<String, u64>,
        published: bool,
        _one_at_a_time: MutexGuard<'s, ()>,
    },
    /// PostgreSQL: rows go to the `staged` table a batch per statement (`pg/staging.rs`).
    Postgres {
        pg: &'s Pg,
        /// The bank's import lock, held until the import ends.
        lock: Option<ImportLock>,
        id: u64,
        /// The batch not yet written: key, line, row JSON.
        pending: Vec<(String, u64, String)>,
        /// Lines of `pending`, by key.
        lines: HashMap<String, u64>,
        published: bool,
    },
}

impl Store {
    /// Claims a staging area for a new import: one import at a time per bank (on PostgreSQL
    /// across every gateway and tool; a published import cut short is finished first, and
    /// rows left by one cut short before publishing are dropped).
    pub(super) fn stage_rows(&self) -> Result<Staged<'_>, StoreError> {
        self.claim_staging(true)
    }

    /// [`Store::stage_rows`]; `wait`: a moment for the lock on PostgreSQL (an operator's
    /// command), else none (a gateway's sweep, which must not hold up its runtime).
    pub(super) fn claim_staging(&self, wait: bool) -> Result<Staged<'_>, StoreError> {
        Ok(match &self.engine {
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
            Engine::Postgres(pg) => {
                // A gateway's sweep holds the lock for a moment when nothing is to be done.
                let mut lock = pg.lock_imports()?;
                for _ in 0..if wait { 20 } else { 0 } {
                    if lock.is_some() {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    lock = pg.lock_imports()?;
                }
                let lock = lock.ok_or(StoreError::ImportBusy)?;
                let id = match self
                    .finish_postgres_import(pg, &lock)
                    .and_then(|()| pg.next_import_id(&lock))
                {
                    Ok(id) => id,
                    Err(e) => {
                        pg.release_imports(lock);
                        return Err(e);
                    }
                };
                Staged::Postgres {
                    pg,
                    lock: Some(lock),
                    id,
                    pending: Vec::new(),
                    lines: HashMap::new(),
                    published: false,
                }
            }
        })
    }
}

impl<'s> Staged<'s> {
    /// The engine the rows are staged on: the embedded one, or PostgreSQL.
    pub(super) fn on(&self) -> Result<&'s Sled, &'s Pg> {
        match self {
            Staged::Sled { sled, .. } => Ok(*sled),
            Staged::Postgres { pg, .. } => Err(*pg),
        }
    }

    /// The import's ID.
    pub(super) fn id(&self) -> u64 {
        match self {
            Staged::Sled { id, .. } | Staged::Postgres { id, .. } => *id,
        }
    }

    /// Stages `value` under `key` (from line `line` of its file; nothing reads it until the
    /// import is published).
    pub(super) fn put<R: Serialize>(
        &mut self,
        key_text: &str,
        line: u64,
        value: &R,
    ) -> Result<(), StoreError> {
        let full = match self {
            Staged::Sled {
                id, batch, pending, ..
            } => {
                batch.insert(key(*id, key_text), encode(value));
                pending.insert(key_text.to_owned(), line);
                pending.len() >= CHUNK
            }
            Staged::Postgres { pending, lines, .. } => {
                lines.insert(key_text.to_owned(), line);
                let json = String::from_utf8(encode(value)).unwrap_or_default();
                pending.push((key_text.to_owned(), line, json));
                pending.len() >= CHUNK
            }
        };
        if full {
            self.write_pending()?;
        }
        Ok(())
    }

    /// Writes the rows of the batch not yet written.
    pub(super) fn write_pending(&mut self) -> Result<(), StoreError> {
        match self {
            Staged::Sled {
                sled,
                batch,
                pending,
                ..
            } => {
                sled.tree(T::Staged).apply_batch(std::mem::take(batch))?;
                pending.clear();
            }
            Staged::Postgres {
                pg,
                lock: Some(lock),
                id,
                pending,
                lines,
                ..
            } => {
                if !pending.is_empty() {
                    pg.stage(lock, *id, pending)?;
                }
                pending.clear();
                lines.clear();
            }
            Staged::Postgres { lock: None, .. } => {}
        }
        Ok(())
    }

    /// Whether a row is staged under `key_text`.
    pub(super) fn contains(&self, key_text: &str) -> Result<bool, StoreError> {
        match self {
            Staged::Sled {
                sled, id, pending, ..
            } => Ok(pending.contains_key(key_text)
                || sled.tree(T::Staged).contains_key(key(*id, key_text))?),
            Staged::Postgres { .. } => Ok(!self.lines(&[key_text], |_| Ok(0))?.is_empty()),
        }
    }

    /// The lines of the rows staged under any of `keys` (`line_of` reads it from a row the
    /// embedded engine staged, which keeps the row alone).
    pub(super) fn lines(
        &self,
        keys: &[&str],
        line_of: impl Fn(&[u8]) -> Result<u64, StoreError>,
    ) -> Result<HashMap<String, u64>, StoreError> {
        let mut out = HashMap::new();
        match self {
            Staged::Sled {
                sled, id, pending, ..
            } => {
                for k in keys {
                    let line = match pending.get(*k) {
                        Some(line) => Some(*line),
                        None => match sled.tree(T::Staged).get(key(*id, k))? {
                            Some(v) => Some(line_of(&v)?),
                            None => None,
                        },
                    };
                    if let Some(line) = line {
                        out.insert((*k).to_owned(), line);
                    }
                }
            }
            Staged::Postgres {
                pg,
                lock,
                id,
                lines,
                ..
            } => {
                if let Some(lock) = lock {
                    out = pg.staged_lines(lock, *id, keys)?;
                }
                for k in keys {
                    if let Some(line) = lines.get(*k) {
                        out.insert((*k).to_owned(), *line);
                    }
                }
            }
        }
        Ok(out)
    }

    /// Takes up published import `id` (to finish applying it): its rows stay when dropped.
    pub(super) fn adopt(&mut self, to: u64) {
        match self {
            Staged::Sled { id, published, .. } | Staged::Postgres { id, published, .. } => {
                *id = to;
                *published = true;
            }
        }
    }

    /// Up to `limit` staged rows (key, row bytes) whose keys start with `prefix`, after key
    /// `after`, in key order; outside transactions (only the import's owner reads its rows).
    pub(super) fn scan(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        match self {
            Staged::Sled { sled, id, .. } => {
                let start = match after {
                    Some(a) => std::ops::Bound::Excluded(key(*id, a)),
                    None => std::ops::Bound::Included(key(*id, prefix)),
                };
                let whole = key(*id, prefix);
                let mut out = Vec::new();
                for kv in sled
                    .tree(T::Staged)
                    .range((start, std::ops::Bound::Unbounded))
                {
                    let (k, v) = kv?;
                    if !k.starts_with(&whole) || out.len() == limit {
                        break;
                    }
                    let text = String::from_utf8_lossy(&k[9..]).into_owned();
                    out.push((text, v.to_vec()));
                }
                Ok(out)
            }
            Staged::Postgres {
                pg,
                lock: Some(lock),
                id,
                ..
            } => pg.scan_staged(lock, *id, prefix, after.unwrap_or(""), limit),
            Staged::Postgres { lock: None, .. } => Ok(Vec::new()),
        }
    }

    /// Marks the import published: its rows are the store's now, and stay when it is dropped.
    pub(super) fn set_published(&mut self) {
        match self {
            Staged::Sled { published, .. } | Staged::Postgres { published, .. } => {
                *published = true
            }
        }
    }
}

impl Drop for Staged<'_> {
    fn drop(&mut self) {
        match self {
            Staged::Sled {
                sled,
                id,
                published: false,
                ..
            } => sled.drop_staged(*id),
            Staged::Sled { .. } => {}
            Staged::Postgres {
                pg,
                lock,
                id,
                published,
                ..
            } => {
                if let Some(lock) = lock.take() {
                    if !*published {
                        let _ = pg.drop_staged(&lock, Some(*id));
                    }
                    pg.release_imports(lock);
                }
            }
        }
    }
}

/// A token import being staged. Dropped without [`Staging::publish`], its rows are removed.
pub struct Staging<'s> {
    store: &'s Store,
    engine: Staged<'s>,
    staged: u64,
}

impl Store {
    /// Starts a token import (one import of any kind at a time per bank).
    pub fn begin_import(&self) -> Result<Staging<'_>, StoreError> {
        Ok(Staging {
            store: self,
            engine: self.stage_rows()?,
            staged: 0,
        })
    }
}

impl Sled {
    /// Takes the one-import-at-a-time lock and issues the next import ID (token and customer
    /// imports share both, so their staged rows never mix).
    pub(super) fn claim_import(&self) -> Result<(u64, MutexGuard<'_, ()>), StoreError> {
        let guard = self
            .import_lock
            .try_lock()
            .map_err(|_| StoreError::ImportBusy)?;
        let meta = self.tree(T::Meta);
        let last = match meta.get(LAST_ID)? {
            Some(v) => u64::from_be_bytes(v.as_ref().try_into().unwrap_or([0; 8])),
            None => 0,
        };
        let id = last + 1;
        meta.insert(LAST_ID, &id.to_be_bytes())?;
        Ok((id, guard))
    }

    /// Removes import `id`'s staged rows, a batch at a time (an abandoned import); errors are
    /// left for the next open, which drops every staged row.
    pub(super) fn drop_staged(&self, id: u64) {
        let staged = self.tree(T::Staged);
        let mut batch = sled::Batch::default();
        let mut n: usize = 0;
        for k in staged.scan_prefix(id.to_be_bytes()).keys().flatten() {
            batch.remove(k);
            n += 1;
            if n.is_multiple_of(CHUNK) {
                let _ = staged.apply_batch(std::mem::take(&mut batch));
            }
        }
        let _ = staged.apply_batch(batch);
    }

    /// At open: finishes the fold of an import that was published, then drops every staged
    /// row left (imports cut short before publishing).
    pub(super) fn recover_import(&self) -> Result<(), StoreError> {
        if let Some(v) = self.tree(T::Meta).get(FOLDING)? {
            let id = u64::from_be_bytes(
                v.as_ref()
                    .try_into()
                    .map_err(|_| super::Abort::corrupt("meta", FOLDING))?,
            );
            self.folding.store(id, Ordering::SeqCst);
            self.fold(id, |_| {})?;
        }
        if self.tree(T::Staged).is_empty() {
            return Ok(());
        }
        // A published owned import's rows are its owner's to apply; every other row goes.
        match self.tree(T::Meta).get(super::owned_import::OWNED)? {
            None => self.tree(T::Staged).clear()?,
            Some(v) => {
                let keep = v.get(..8).map(<[u8]>::to_vec).unwrap_or_default();
                let staged = self.tree(T::Staged);
                let mut batch = sled::Batch::default();
                for k in staged.iter().keys() {
                    let k = k?;
                    if !k.starts_with(&keep) {
                        batch.remove(k);
                    }
                }
                staged.apply_batch(batch)?;
            }
        }
        self.db.flush()?;
        Ok(())
    }
    /// Moves import `id`'s staged rows into `tokens`, a batch at a time under the write lock
    /// (so no transaction runs between reading a staged row and moving it). The indexes are
    /// marked stale meanwhile: a crash mid-fold rebuilds them at the next open.
    fn fold(&self, id: u64, mut progress: impl FnMut(u64)) -> Result<(), StoreError> {
        self.set_format(0)?;
        let prefix = id.to_be_bytes();
        // Each batch is read from where the last one ended: the engine keeps the emptied
        // nodes a while, and scanning over them from the start every time would be quadratic.
        let mut from: std::ops::Bound<Vec<u8>> = std::ops::Bound::Included(prefix.to_vec());
        loop {
            let counters = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
            let rows: Vec<(sled::IVec, sled::IVec)> = self
                .tree(T::Staged)
                .range((from.clone(), std::ops::Bound::Unbounded))
                .take_while(|kv| kv.as_ref().map_or(true, |(k, _)| k.starts_with(&prefix)))
                .take(CHUNK)
                .collect::<Result<_, _>>()?;
            let Some((last, _)) = rows.last() else {
                drop(counters);
                break;
            };
            from = std::ops::Bound::Excluded(last.to_vec());
            let mut tokens = sled::Batch::default();
            let mut staged = sled::Batch::default();
            let mut removed: Vec<Entry> = Vec::new();
            let mut added: Vec<Entry> = Vec::new();
            for (k, v) in &rows {
                let new: Token = decode("staged", v)?;
                let old: Option<Token> = match self.tree(T::Tokens).get(new.serial.as_bytes())? {
                    Some(o) => Some(decode("tokens", &o)?),
                    None => None,
                };
                let (old_e, new_e) = (
                    old.as_ref().map(index::of_token).unwrap_or_default(),
                    index::of_token(&new),
                );
                removed.extend(old_e.iter().filter(|e| !new_e.contains(e)).cloned());
                added.extend(new_e.iter().filter(|e| !old_e.contains(e)).cloned());
                tokens.insert(new.serial.as_bytes(), encode(&new));
                staged.remove(k.clone());
            }
            let mut ix: std::collections::BTreeMap<usize, sled::Batch> = Default::default();
            for (t, k) in removed {
                ix.entry(t.i()).or_default().remove(k);
            }
            for (t, k) in added {
                ix.entry(t.i()).or_default().insert(k, &[][..]);
            }
            for (i, b) in ix {
                self.trees[i].apply_batch(b)?;
            }
            self.tree(T::Tokens).apply_batch(tokens)?;
            self.tree(T::Staged).apply_batch(staged)?;
            drop(counters);
            progress(rows.len() as u64);
        }
        let meta = self.tree(T::Meta);
        meta.remove(FOLDING)?;
        self.db.flush()?;
        self.folding.store(0, Ordering::SeqCst);
        self.set_format(FORMAT)
    }
}

impl Staging<'_> {
    /// The stored token `serial`, if any (what a staged row would replace).
    pub fn existing(&self, serial: &str) -> Result<Option<Token>, StoreError> {
        self.store.token(serial)
    }

    /// Whether `serial` is already staged in this import.
    pub fn seen(&self, serial: &str) -> Result<bool, StoreError> {
        self.engine.contains(serial)
    }

    /// Stages one token record (nothing reads it until [`Staging::publish`]).
    pub fn put(&mut self, t: &Token) -> Result<(), StoreError> {
        self.staged += 1;
        self.engine.put(&t.serial, 0, t)
    }

    fn write_batch(&mut self) -> Result<(), StoreError> {
        self.engine.write_pending()
    }

    /// How many rows are staged.
    pub fn count(&self) -> u64 {
        self.staged
    }

    /// Makes every staged row visible at once, with `event` in the audit trail (one atomic,
    /// durable write), then (embedded engine) moves the rows into `tokens` (`progress(n)` as it
    /// goes). Returns how many tokens the import holds.
    pub fn publish(
        mut self,
        event: Event,
        at: u64,
        mut progress: impl FnMut(u64),
    ) -> Result<u64, StoreError> {
        self.write_batch()?;
        let store = self.store;
        let id = self.engine.id();
        match self.engine.on() {
            Ok(sled) => {
                sled.flush()?;
                store.commit_now(|tx| {
                    tx.put_staged_marker(FOLDING, id)?;
                    tx.audit(at, event.clone())
                })?;
                sled.folding.store(id, Ordering::SeqCst);
                self.engine.set_published();
                sled.fold(id, progress)?;
            }
            Err(pg) => {
                pg.publish_staged_tokens(&store.sealer, id, event, at)?;
                self.engine.set_published();
                progress(self.staged);
            }
        }
        Ok(self.staged)
    }
}

#[cfg(test)]
impl Staging<'_> {
    fn id(&self) -> u64 {
        self.engine.id()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otp::{HashAlg, Params};
    use crate::seal::Sealer;
    use crate::store::{NewToken, TokenKind};

    fn open(dir: &std::path::Path) -> Store {
        Store::open(dir, Sealer::from_key(&[7; 32])).unwrap()
    }

    fn token(store: &Store, i: usize) -> Token {
        store.new_token(&NewToken {
            serial: &format!("STGD{i:08}"),
            kind: TokenKind::Hardware,
            params: Params {
                algorithm: HashAlg::Sha1,
                digits: 6,
                period: 60,
                t0: 0,
            },
            secret: b"12345678901234567890",
        })
    }

    /// More rows than one batch, so some reach the engine before the "crash".
    const ROWS: usize = CHUNK * 2 + 5;

    #[test]
    fn an_import_cut_short_before_publishing_leaves_nothing_and_is_cleaned_up() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = open(dir.path());
            let mut staging = store.begin_import().unwrap();
            for i in 0..ROWS {
                staging.put(&token(&store, i)).unwrap();
            }
            assert!(!store.sled().tree(T::Staged).is_empty());
            assert_eq!(store.token("STGD00000000").unwrap(), None, "not visible");
            // The process dies: no clean-up runs.
            std::mem::forget(staging);
            store.flush().unwrap();
        }
        let store = open(dir.path());
        assert_eq!(store.token("STGD00000000").unwrap(), None);
        assert!(
            store.sled().tree(T::Staged).is_empty(),
            "staged rows dropped at open"
        );
        assert_eq!(store.tokens().count(), 0);
    }

    #[test]
    fn an_import_cut_short_while_folding_is_finished_at_open() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = open(dir.path());
            let mut staging = store.begin_import().unwrap();
            for i in 0..ROWS {
                staging.put(&token(&store, i)).unwrap();
            }
            staging.write_batch().unwrap();
            let id = staging.id();
            // Published (the switch is written), then the process dies before the fold.
            store
                .commit_now(|tx| tx.put_staged_marker(FOLDING, id))
                .unwrap();
            std::mem::forget(staging);
        }
        let store = open(dir.path());
        assert_eq!(store.tokens().count(), ROWS);
        assert!(store.sled().tree(T::Staged).is_empty());
        assert_eq!(store.free_hardware_tokens(ROWS + 1).unwrap().len(), ROWS);
    }

    #[test]
    fn published_rows_are_read_at_once_and_a_write_supersedes_its_staged_row() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let mut staging = store.begin_import().unwrap();
        staging.put(&token(&store, 1)).unwrap();
        staging.write_batch().unwrap();
        let id = staging.id();
        // As between the switch and the fold: readers see the staged row.
        store.sled().folding.store(id, Ordering::SeqCst);
        let mut t = store.token("STGD00000001").unwrap().expect("visible");
        t.assigned_to = Some("1000000001".into());
        store.write(|tx| tx.put_token(&t)).unwrap();
        assert!(
            store.sled().tree(T::Staged).is_empty(),
            "the write took its place"
        );
        store.sled().fold(id, |_| {}).unwrap();
        std::mem::forget(staging);
        assert_eq!(store.token("STGD00000001").unwrap(), Some(t));
    }

    #[test]
    fn one_import_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let _first = store.begin_import().unwrap();
        assert!(matches!(store.begin_import(), Err(StoreError::ImportBusy)));
    }

    /// Token imports on PostgreSQL stage the same way, over the `staged` table.
    mod postgres {
        use super::*;
        use crate::store::pg::harness;

        fn open_pg(dir: &std::path::Path) -> Store {
            let url = harness::shared().database(&harness::name_for(dir));
            Store::open_postgres(&url, Sealer::from_key(&[7; 32])).unwrap()
        }

        #[test]
        fn a_token_import_stages_in_batches_and_appears_at_once_or_not_at_all() {
            let dir = tempfile::tempdir().unwrap();
            let store = open_pg(dir.path());
            {
                let mut staging = store.begin_import().unwrap();
                for i in 0..ROWS {
                    staging.put(&token(&store, i)).unwrap();
                }
                assert!(staging.seen("STGD00000000").unwrap(), "an earlier batch");
                assert!(staging.seen(&format!("STGD{:08}", ROWS - 1)).unwrap());
                assert!(!staging.seen("STGD99999999").unwrap());
                assert_eq!(store.token("STGD00000000").unwrap(), None, "not visible");
                // Abandoned: its rows go with it.
            }
            assert_eq!(store.tokens().count(), 0);
            let mut staging = store.begin_import().unwrap();
            for i in 0..ROWS {
                staging.put(&token(&store, i)).unwrap();
            }
            let n = staging
                .publish(Event::new(crate::store::AuditEvent::Import), 1, |_| {})
                .unwrap();
            assert_eq!(n, ROWS as u64);
            assert_eq!(store.tokens().count(), ROWS);
            assert_eq!(store.free_hardware_tokens(ROWS + 1).unwrap().len(), ROWS);
            assert_eq!(store.verify_audit().unwrap(), Ok(1));
            drop(
                store
                    .begin_import()
                    .expect("the import lock was given back"),
            );
        }
    }
}
