//! Imports in bounded memory, all or nothing: an import's token records are written, a batch
//! at a time, to the `staged` tree under the import's ID, where nothing reads them. Publishing
//! is one small atomic write (a marker naming the import, and the audit record): from then on
//! every token read looks in `staged` first, and the rows are moved into `tokens` batch by
//! batch under the write lock (the fold). A crash before publishing leaves only staged rows,
//! dropped at the next open; a crash during the fold is finished at the next open.

use super::index::{self, Entry, FORMAT};
use super::records::{Event, Token};
use super::{decode, encode, Engine, Sled, Store, StoreError, T};
use std::collections::HashSet;
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

/// An import being staged. Dropped without [`Staging::publish`], its rows are removed.
pub struct Staging<'s> {
    store: &'s Store,
    engine: Staged<'s>,
    staged: u64,
}

enum Staged<'s> {
    /// The embedded engine: rows go to the `staged` tree a batch at a time.
    Sled {
        sled: &'s Sled,
        id: u64,
        batch: sled::Batch,
        /// Serials of the batch not yet written (the written ones are found in `staged`).
        pending: HashSet<String>,
        published: bool,
        _one_at_a_time: MutexGuard<'s, ()>,
    },
    /// PostgreSQL: the rows are kept until one transaction loads them (its own all or
    /// nothing; memory grows with the file there).
    Memory {
        tokens: Vec<Token>,
        serials: HashSet<String>,
    },
}

impl Store {
    /// Starts an import (one at a time per gateway on the embedded engine).
    pub fn begin_import(&self) -> Result<Staging<'_>, StoreError> {
        let engine = match &self.engine {
            Engine::Sled(sled) => {
                let (id, guard) = sled.claim_import()?;
                Staged::Sled {
                    sled,
                    id,
                    batch: sled::Batch::default(),
                    pending: HashSet::new(),
                    published: false,
                    _one_at_a_time: guard,
                }
            }
            Engine::Postgres(_) => Staged::Memory {
                tokens: Vec::new(),
                serials: HashSet::new(),
            },
        };
        Ok(Staging {
            store: self,
            engine,
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
        if !self.tree(T::Staged).is_empty() {
            self.tree(T::Staged).clear()?;
            self.db.flush()?;
        }
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
        match &self.engine {
            Staged::Sled {
                sled, id, pending, ..
            } => {
                Ok(pending.contains(serial)
                    || sled.tree(T::Staged).contains_key(key(*id, serial))?)
            }
            Staged::Memory { serials, .. } => Ok(serials.contains(serial)),
        }
    }

    /// Stages one token record (nothing reads it until [`Staging::publish`]).
    pub fn put(&mut self, t: &Token) -> Result<(), StoreError> {
        self.staged += 1;
        match &mut self.engine {
            Staged::Sled {
                id, batch, pending, ..
            } => {
                batch.insert(key(*id, &t.serial), encode(t));
                pending.insert(t.serial.clone());
                if pending.len() >= CHUNK {
                    self.write_batch()?;
                }
            }
            Staged::Memory { tokens, serials } => {
                serials.insert(t.serial.clone());
                tokens.push(t.clone());
            }
        }
        Ok(())
    }

    fn write_batch(&mut self) -> Result<(), StoreError> {
        if let Staged::Sled {
            sled,
            batch,
            pending,
            ..
        } = &mut self.engine
        {
            sled.tree(T::Staged).apply_batch(std::mem::take(batch))?;
            pending.clear();
        }
        Ok(())
    }

    /// How many rows are staged.
    pub fn count(&self) -> u64 {
        self.staged
    }

    /// Makes every staged row visible at once, with `event` in the audit trail (one atomic,
    /// durable write), then moves the rows into `tokens` (`progress(n)` as it goes). Returns
    /// how many tokens the import holds.
    pub fn publish(
        mut self,
        event: Event,
        at: u64,
        progress: impl FnMut(u64),
    ) -> Result<u64, StoreError> {
        self.write_batch()?;
        let store = self.store;
        match &mut self.engine {
            Staged::Sled {
                sled,
                id,
                published,
                ..
            } => {
                sled.flush()?;
                let id = *id;
                store.commit_now(|tx| {
                    tx.put_staged_marker(FOLDING, id)?;
                    tx.audit(at, event.clone())
                })?;
                sled.folding.store(id, Ordering::SeqCst);
                *published = true;
                sled.fold(id, progress)?;
            }
            Staged::Memory { tokens, .. } => {
                store.load_tokens(tokens.iter(), event, at)?;
            }
        }
        Ok(self.staged)
    }
}

#[cfg(test)]
impl Staging<'_> {
    fn id(&self) -> u64 {
        match &self.engine {
            Staged::Sled { id, .. } => *id,
            Staged::Memory { .. } => 0,
        }
    }
}

impl Drop for Staging<'_> {
    fn drop(&mut self) {
        let Staged::Sled {
            sled,
            id,
            published: false,
            ..
        } = &self.engine
        else {
            return;
        };
        // Abandoned (bad rows, clashes, an error): its rows go.
        sled.drop_staged(*id);
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
}
