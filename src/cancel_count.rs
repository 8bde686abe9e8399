//! 利用中止 attempts from feature phones, counted so that page views do not become writes.
//!
//! Anyone may open `GET /cancel` (it only points to a branch), so a write per view would let
//! a flood of views fill the disk and bury the audit trail. Anonymous views are counted in
//! memory per carrier and written as one counted attempt record, with one audit record, per
//! carrier and interval of [`WRITE_EVERY`] seconds: the first view after a quiet interval is
//! written at once, the others of the interval with the next write (the next view after the
//! interval, the minute sweep, or shutdown). A crash loses at most one interval's counts.
//! A logged-in customer's attempt is recorded once per session, since the branch follows up
//! on the customer, not on each view.

use crate::carrier::Carrier;
use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

/// Seconds between writes of anonymous counts.
pub const WRITE_EVERY: u64 = 60;
/// Sessions remembered as recorded; forgotten all at once beyond this (a session seen again
/// after that is recorded once more, nothing worse).
const MAX_SESSIONS: usize = 10_000;

/// Counts to write: anonymous attempts per carrier, counted from `since`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub since: u64,
    pub counts: Vec<(&'static str, u64)>,
}

#[derive(Default)]
pub struct CancelCounts {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    pending: BTreeMap<&'static str, u64>,
    /// When the oldest pending attempt was counted.
    since: u64,
    last_write: Option<u64>,
    recorded: HashSet<String>,
}

/// The name a count's record gives its carrier.
pub fn carrier_name(c: Carrier) -> &'static str {
    match c {
        Carrier::Docomo => "docomo",
        Carrier::Au => "au",
        Carrier::Softbank => "softbank",
        Carrier::Willcom => "willcom",
        Carrier::None => "other",
    }
}

impl Inner {
    fn take(&mut self, now: u64) -> Option<Batch> {
        if self.pending.is_empty() {
            return None;
        }
        self.last_write = Some(now);
        let counts = std::mem::take(&mut self.pending).into_iter().collect();
        Some(Batch {
            since: self.since,
            counts,
        })
    }
}

impl CancelCounts {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts one anonymous attempt from `carrier` at `now`; what to write now, if the last
    /// write is [`WRITE_EVERY`] seconds old or there was none yet.
    pub fn anonymous(&self, carrier: Carrier, now: u64) -> Option<Batch> {
        let mut inner = self.lock();
        if inner.pending.is_empty() {
            inner.since = now;
        }
        *inner.pending.entry(carrier_name(carrier)).or_default() += 1;
        let due = inner
            .last_write
            .is_none_or(|t| now.saturating_sub(t) >= WRITE_EVERY);
        if due {
            inner.take(now)
        } else {
            None
        }
    }

    /// Everything counted and not written yet (the sweep, shutdown).
    pub fn take(&self, now: u64) -> Option<Batch> {
        self.lock().take(now)
    }

    /// Anonymous attempts counted and not written yet (the console adds them to the stored).
    pub fn unwritten(&self) -> u64 {
        self.lock().pending.values().sum()
    }

    /// Whether the session `key` (its anti-forgery value, which lasts as long as it) has yet
    /// to have its attempt recorded: true the first time only.
    pub fn first_of_session(&self, key: &str) -> bool {
        let mut inner = self.lock();
        if inner.recorded.contains(key) {
            return false;
        }
        if inner.recorded.len() >= MAX_SESSIONS {
            inner.recorded.clear();
        }
        inner.recorded.insert(key.to_owned());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_one_write_now_and_one_per_interval_after() {
        let c = CancelCounts::default();
        let first = c.anonymous(Carrier::Au, 1000).unwrap();
        assert_eq!(first.counts, vec![("au", 1)]);
        for i in 0..500 {
            assert!(c.anonymous(Carrier::Au, 1001 + i % 50).is_none());
        }
        assert!(c.anonymous(Carrier::Docomo, 1030).is_none());
        assert_eq!(c.unwritten(), 501);
        let next = c.anonymous(Carrier::Au, 1060).unwrap();
        assert_eq!(next.since, 1001);
        assert_eq!(next.counts, vec![("au", 501), ("docomo", 1)]);
        assert_eq!(c.unwritten(), 0);
        assert!(c.take(1070).is_none());
        c.anonymous(Carrier::None, 1071);
        assert_eq!(c.take(1072).unwrap().counts, vec![("other", 1)]);
    }

    #[test]
    fn a_session_is_recorded_once() {
        let c = CancelCounts::default();
        assert!(c.first_of_session("csrf-a"));
        assert!(!c.first_of_session("csrf-a"));
        assert!(c.first_of_session("csrf-b"));
    }
}
