//! Backups: a consistent copy of the whole database into a new database directory, made while
//! the gateway serves (writes wait for the copy, reads go on), and restoring one.

use super::{meta_u32, Engine, Sled, Store, StoreError, T};
use std::path::Path;

/// Records per engine batch while copying (the engine's memory grows with its batches).
const CHUNK: u64 = 1_000;
/// Entries between flushes of the copy.
const FLUSH_EVERY: u64 = 50_000;

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupInfo {
    /// Entries copied (records and index entries).
    pub entries: u64,
    /// Audit records in the copy.
    pub audit_records: u64,
    /// The copy's format version.
    pub format: u32,
}

impl Store {
    /// Copies every record into a new database in `dir` (which must not exist yet). Writes
    /// wait meanwhile (the copy holds the write lock, so it is one point in time); reads do
    /// not. The copy is flushed before this returns. The master key is not copied. The
    /// embedded engine only: a PostgreSQL database is backed up with PostgreSQL's own tools.
    pub fn backup(&self, dir: &Path) -> Result<BackupInfo, StoreError> {
        match &self.engine {
            Engine::Sled(e) => e.backup(dir),
            Engine::Postgres(_) => Err(StoreError::Io(
                "a PostgreSQL database is backed up with PostgreSQL's own tools, while the \
                 gateways serve: pg_dump --format=custom --file=FILE URL (README: Backup and \
                 restore)"
                    .into(),
            )),
        }
    }
}

impl Sled {
    fn backup(&self, dir: &Path) -> Result<BackupInfo, StoreError> {
        if dir.exists() {
            return Err(StoreError::Io(format!("{} exists already", dir.display())));
        }
        // The copy is written, never read: a small cache and small batches keep the serving
        // gateway's memory where it was.
        let copy = sled::Config::new()
            .path(dir)
            .cache_capacity(super::SERVING_CACHE)
            .open()?;
        let _writes_wait = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut entries: u64 = 0;
        for name in self.db.tree_names() {
            let from = self.db.open_tree(&name)?;
            let to = copy.open_tree(&name)?;
            let mut batch = sled::Batch::default();
            let mut n: u64 = 0;
            for kv in from.iter() {
                let (k, v) = kv?;
                batch.insert(k, v);
                n += 1;
                if n.is_multiple_of(CHUNK) {
                    to.apply_batch(std::mem::take(&mut batch))?;
                }
                if n.is_multiple_of(FLUSH_EVERY) {
                    // Written pages stay in memory until they are on disk.
                    copy.flush()?;
                }
            }
            to.apply_batch(batch)?;
            entries += n;
        }
        copy.flush()?;
        Ok(BackupInfo {
            entries,
            audit_records: self.tree(T::Audit).len() as u64,
            format: meta_u32(self.tree(T::Meta), "db_format")?.unwrap_or(0),
        })
    }
}

/// Copies the backup database `from` (a directory [`Store::backup`] wrote) to `to`, which
/// must not exist; then `to` opens like any database. For a stopped gateway only.
pub fn restore(from: &Path, to: &Path) -> Result<(), StoreError> {
    let io = |e: std::io::Error| StoreError::Io(e.to_string());
    if to.exists() {
        return Err(StoreError::Io(format!(
            "{} exists already: move it away first",
            to.display()
        )));
    }
    if !from.join("conf").is_file() {
        return Err(StoreError::Io(format!(
            "{} is not a backup database (no conf file)",
            from.display()
        )));
    }
    copy_dir(from, to).map_err(io)
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
