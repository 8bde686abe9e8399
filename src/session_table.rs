//! Sessions by random ID that end after an idle time: the one table under both the phone
//! sessions ([`crate::session`]) and the staff sessions ([`crate::branch::auth`]). It knows
//! nothing of what a session holds; each front keeps its own table of its own sessions.
//!
//! On the embedded engine tables live in memory: a restart ends every session. On an engine
//! several gateways share (PostgreSQL), a table made with [`SessionTable::shared`] keeps its
//! sessions in the database instead ([`SharedSessions`]), so a phone's next request may reach
//! any gateway; the same rotation and idle expiry apply. A database that cannot be reached
//! then makes a session look gone (the page asks to start again), and is logged.

use crate::log::log;
use crate::store::SharedSessions;
use serde::{de::DeserializeOwned, Serialize};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// `bytes` random bytes from the OS as URL-safe text (no padding).
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    // The OS random source failing is unrecoverable for a server that issues secrets.
    getrandom::fill(&mut buf).expect("OS random source");
    data_encoding::BASE64URL_NOPAD.encode(&buf)
}

struct Entry<T> {
    session: T,
    last_seen: Instant,
}

pub struct SessionTable<T> {
    map: Mutex<HashMap<String, Entry<T>>>,
    idle: Duration,
    /// Set: the sessions are in the database, not in `map`.
    shared: Option<Shared<T>>,
}

/// A table's sessions in the database, and how a session becomes text and back.
struct Shared<T> {
    db: SharedSessions,
    encode: fn(&T) -> String,
    decode: fn(&str) -> Option<T>,
}

impl<T> Shared<T> {
    /// The session as stored, and as `T`; `None` when gone (or unreadable).
    fn read(&self, id: &str) -> Option<(String, T)> {
        let text = self.db.get(id).map_err(report).ok()??;
        let session = (self.decode)(&text)?;
        Some((text, session))
    }
}

fn report(e: crate::store::StoreError) {
    log(format_args!("session storage error: {e}"));
}

impl<T: Clone + Serialize + DeserializeOwned> SessionTable<T> {
    /// A table kept in the database that every gateway on it shares.
    pub fn shared(idle: Duration, db: SharedSessions) -> SessionTable<T> {
        SessionTable {
            map: Mutex::new(HashMap::new()),
            idle,
            shared: Some(Shared {
                db,
                // Sessions are plain structs of strings: serialising cannot fail.
                encode: |t| serde_json::to_string(t).unwrap_or_default(),
                decode: |s| serde_json::from_str(s).ok(),
            }),
        }
    }
}

impl<T: Clone> SessionTable<T> {
    pub fn new(idle: Duration) -> SessionTable<T> {
        SessionTable {
            map: Mutex::new(HashMap::new()),
            idle,
            shared: None,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry<T>>> {
        // A panic elsewhere while holding the lock leaves the map itself consistent.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fresh(session: T) -> Entry<T> {
        Entry {
            session,
            last_seen: Instant::now(),
        }
    }

    /// Adds `session` under `id`.
    pub fn insert(&self, id: &str, session: T) {
        if let Some(s) = &self.shared {
            return s
                .db
                .insert(id, &(s.encode)(&session))
                .unwrap_or_else(report);
        }
        self.lock().insert(id.to_owned(), Self::fresh(session));
    }

    /// Adds `session` under `id` unless `max` live sessions are open (idle ones are dropped
    /// first); `false` when refused.
    pub fn insert_capped(&self, id: &str, session: T, max: usize) -> bool {
        if let Some(s) = &self.shared {
            return s
                .db
                .insert_capped(id, &(s.encode)(&session), max)
                .unwrap_or_else(|e| {
                    report(e);
                    false
                });
        }
        let mut map = self.lock();
        let (idle, now) = (self.idle, Instant::now());
        map.retain(|_, e| now.duration_since(e.last_seen) <= idle);
        if map.len() >= max {
            return false;
        }
        map.insert(id.to_owned(), Self::fresh(session));
        true
    }

    /// The live session `id` if `check` accepts it, its idle clock restarted. An expired
    /// session is dropped and `gone` returned; one `check` refuses is left as it was.
    pub fn get_checked<E>(
        &self,
        id: &str,
        gone: E,
        check: impl FnOnce(&T) -> Result<(), E>,
    ) -> Result<T, E> {
        if let Some(s) = &self.shared {
            let Some((_, session)) = s.read(id) else {
                return Err(gone);
            };
            check(&session)?;
            s.db.touch(id).unwrap_or_else(report);
            return Ok(session);
        }
        let mut map = self.lock();
        let now = Instant::now();
        let Some(entry) = map.get_mut(id) else {
            return Err(gone);
        };
        if now.duration_since(entry.last_seen) > self.idle {
            map.remove(id);
            return Err(gone);
        }
        check(&entry.session)?;
        entry.last_seen = now;
        Ok(entry.session.clone())
    }

    /// The live session `id`, its idle clock restarted.
    pub fn get(&self, id: &str) -> Option<T> {
        self.get_checked(id, (), |_| Ok(())).ok()
    }

    /// Changes session `id` in place (its idle clock untouched); `None` if it is gone.
    pub fn update(&self, id: &str, change: impl FnOnce(&mut T)) -> Option<T> {
        if let Some(s) = &self.shared {
            let (old, mut session) = s.read(id)?;
            change(&mut session);
            // Changed by another request meanwhile: that one wins, this one finds it gone.
            let new = (s.encode)(&session);
            return s
                .db
                .replace(id, &old, &new)
                .map_err(report)
                .ok()?
                .then_some(session);
        }
        let mut map = self.lock();
        let entry = map.get_mut(id)?;
        change(&mut entry.session);
        Some(entry.session.clone())
    }

    /// Moves session `old` to the ID `new` (the old ID stops working at once), letting
    /// `change` update it; its idle clock restarts. `None` if it is gone.
    pub fn rename(&self, old: &str, new: &str, change: impl FnOnce(&mut T)) -> Option<T> {
        if let Some(s) = &self.shared {
            let (text, mut session) = s.read(old)?;
            change(&mut session);
            let moved = (s.encode)(&session);
            return s
                .db
                .rename(old, &text, new, &moved)
                .map_err(report)
                .ok()?
                .then_some(session);
        }
        let mut map = self.lock();
        let mut entry = map.remove(old)?;
        change(&mut entry.session);
        entry.last_seen = Instant::now();
        let session = entry.session.clone();
        map.insert(new.to_owned(), entry);
        Some(session)
    }

    /// Ends session `id`.
    pub fn remove(&self, id: &str) {
        if let Some(s) = &self.shared {
            return s.db.remove(id).unwrap_or_else(report);
        }
        self.lock().remove(id);
    }

    /// Drops idle sessions; run now and then.
    pub fn sweep(&self) {
        if let Some(s) = &self.shared {
            return s.db.sweep().unwrap_or_else(report);
        }
        let (idle, now) = (self.idle, Instant::now());
        self.lock()
            .retain(|_, e| now.duration_since(e.last_seen) <= idle);
    }

    pub fn len(&self) -> usize {
        if let Some(s) = &self.shared {
            return s.db.count().unwrap_or_else(|e| {
                report(e);
                0
            });
        }
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_restarts_the_clock_and_idle_sessions_end() {
        let t = SessionTable::new(Duration::from_secs(600));
        t.insert("a", 1);
        assert_eq!(t.get("a"), Some(1));
        assert_eq!(t.get("b"), None);
        assert_eq!(t.update("a", |v| *v = 2), Some(2));
        assert_eq!(t.rename("a", "c", |v| *v = 3), Some(3));
        assert_eq!(t.get("a"), None);
        assert_eq!(t.get("c"), Some(3));
        t.remove("c");
        assert!(t.is_empty());

        let t = SessionTable::new(Duration::ZERO);
        t.insert("a", 1);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(t.get("a"), None);
        t.insert("b", 1);
        std::thread::sleep(Duration::from_millis(5));
        t.sweep();
        assert!(t.is_empty());
    }

    #[test]
    fn a_refused_check_leaves_the_session() {
        let t = SessionTable::new(Duration::from_secs(600));
        t.insert("a", 7);
        assert_eq!(t.get_checked("a", "gone", |_| Err("no")), Err("no"));
        assert_eq!(t.get_checked("x", "gone", |_| Ok(())), Err("gone"));
        assert_eq!(t.get_checked("a", "gone", |_| Ok(())), Ok(7));
    }

    #[test]
    fn capped_inserts_refuse_when_full() {
        let t = SessionTable::new(Duration::from_secs(600));
        assert!(t.insert_capped("a", 1, 2));
        assert!(t.insert_capped("b", 1, 2));
        assert!(!t.insert_capped("c", 1, 2));
        t.remove("a");
        assert!(t.insert_capped("c", 1, 2));
    }
}
