//! Loading many records at once, outside transactions: inventory imports, migrations from
//! another system, the benchmarks' generated banks. Records go in engine batches (atomic per
//! record kind); the indexes are marked stale before and current after, so a load cut short
//! has its indexes rebuilt from the records at the next open.

use super::index::{self, Entry, FORMAT, INDEXED, INDEXES};
use super::records::{Customer, Event, Token};
use super::{encode, Store, StoreError, T};
use serde::Serialize;
use std::collections::BTreeMap;

/// Records per engine batch in a bulk load.
const CHUNK: usize = 10_000;

/// Index entries gathered for one batch per index.
#[derive(Default)]
struct Entries(BTreeMap<usize, sled::Batch>);

impl Entries {
    fn add(&mut self, entries: Vec<Entry>) {
        for (ix, key) in entries {
            self.0.entry(ix.i()).or_default().insert(key, &[][..]);
        }
    }

    fn remove(&mut self, (ix, key): Entry) {
        self.0.entry(ix.i()).or_default().remove(key);
    }

    fn apply(self, store: &Store) -> Result<(), StoreError> {
        for (i, batch) in self.0 {
            store.trees[i].apply_batch(batch)?;
        }
        Ok(())
    }
}

impl Store {
    fn set_format(&self, format: u32) -> Result<(), StoreError> {
        self.tree(T::Meta).insert("format", &format.to_be_bytes())?;
        self.db.flush()?;
        Ok(())
    }

    /// Builds every index anew from the records (a database older than its indexes, or a bulk
    /// load cut short).
    pub(super) fn rebuild_indexes(&self) -> Result<(), StoreError> {
        self.set_format(0)?;
        for ix in INDEXES {
            self.tree(ix).clear()?;
        }
        for tree in INDEXED {
            let mut entries = Entries::default();
            for (n, kv) in self.tree(tree).iter().enumerate() {
                let (k, v) = kv?;
                entries.add(index::of_stored(tree, &k, &v)?);
                if (n + 1).is_multiple_of(CHUNK) {
                    std::mem::take(&mut entries).apply(self)?;
                }
            }
            entries.apply(self)?;
        }
        self.set_format(FORMAT)
    }

    /// Loads customers and tokens into an empty database, then one audit record and a flush:
    /// migrations from another system and the benchmarks' generated banks. Not atomic and
    /// without clash checks, unlike [`Store::load_tokens`]; for a database no one is using yet.
    pub fn bulk_load(
        &self,
        customers: impl IntoIterator<Item = Customer>,
        tokens: impl IntoIterator<Item = Token>,
        at: u64,
    ) -> Result<(u64, u64), StoreError> {
        self.set_format(0)?;
        let customers = self.load_chunked(T::Customers, customers, |c| {
            (c.contract_id.as_bytes().to_vec(), Vec::new())
        })?;
        let tokens = self.load_chunked(T::Tokens, tokens, |t| {
            (t.serial.as_bytes().to_vec(), index::of_token(t))
        })?;
        self.set_format(FORMAT)?;
        self.commit_now(|tx| {
            tx.audit(
                at,
                Event {
                    detail: format!("{customers} customers, {tokens} tokens"),
                    ..Event::new(super::AuditEvent::BulkLoad)
                },
            )
        })?;
        Ok((customers, tokens))
    }

    fn load_chunked<R: Serialize>(
        &self,
        tree: T,
        records: impl IntoIterator<Item = R>,
        key: impl Fn(&R) -> (Vec<u8>, Vec<Entry>),
    ) -> Result<u64, StoreError> {
        let mut count = 0;
        let mut batch = sled::Batch::default();
        let mut entries = Entries::default();
        for (i, r) in records.into_iter().enumerate() {
            let (k, e) = key(&r);
            batch.insert(k, encode(&r));
            entries.add(e);
            count += 1;
            if (i + 1).is_multiple_of(CHUNK) {
                std::mem::take(&mut entries).apply(self)?;
                self.tree(tree).apply_batch(std::mem::take(&mut batch))?;
            }
        }
        entries.apply(self)?;
        self.tree(tree).apply_batch(batch)?;
        Ok(count)
    }

    /// The stored tokens among `serials`, in the order given.
    pub fn existing_tokens<'s>(
        &self,
        serials: impl IntoIterator<Item = &'s str>,
    ) -> Result<Vec<Token>, StoreError> {
        let mut out = Vec::new();
        for s in serials {
            if let Some(t) = self.token(s)? {
                out.push(t);
            }
        }
        Ok(out)
    }

    /// Stores `tokens` (new, or replacing stored ones) in one engine batch, all or none, then
    /// `event` in the audit trail, flushed. Returns how many. The caller decides which tokens
    /// may be stored (see `inventory::import`).
    pub fn load_tokens<'t>(
        &self,
        tokens: impl IntoIterator<Item = &'t Token>,
        event: Event,
        at: u64,
    ) -> Result<u64, StoreError> {
        self.set_format(0)?;
        let mut count = 0;
        let mut batch = sled::Batch::default();
        let mut entries = Entries::default();
        for t in tokens {
            // A replaced token may have been free hardware; its other entries name an owner,
            // and such tokens are never replaced.
            entries.remove((T::IxFreeHardware, t.serial.as_bytes().to_vec()));
            entries.add(index::of_token(t));
            batch.insert(t.serial.as_bytes(), encode(t));
            count += 1;
        }
        self.tree(T::Tokens).apply_batch(batch)?;
        entries.apply(self)?;
        self.set_format(FORMAT)?;
        self.commit_now(|tx| tx.audit(at, event.clone()))?;
        Ok(count)
    }
}
