//! What every front shares: the configuration, the store and the metrics. Each front keeps its own state
//! (phone sessions, staff sessions, cached pages) in its own type, see [`crate::front`].

use crate::config::Config;
use crate::metrics::Metrics;
use crate::store::Store;
use std::sync::Arc;

pub struct App {
    pub config: Config,
    pub store: Store,
    /// The bank's path prefix on a multi-bank gateway (`/1020`); empty for one bank. Phone
    /// pages put it before their own links (see `markup::Ctx::base`).
    pub base: String,
    /// Password attempts in flight and client budgets (see [`crate::attempts`]).
    pub attempts: crate::attempts::Attempts,
    /// 利用中止 attempts counted in memory until written (see [`crate::cancel_count`]).
    pub cancels: crate::cancel_count::CancelCounts,
    pub metrics: Arc<Metrics>,
}

impl App {
    /// The app over `store`, whose writes and flushes are counted in its metrics.
    pub fn new(config: Config, store: Store) -> App {
        App::under(config, store, String::new())
    }

    /// The app of one bank of a multi-bank gateway, its pages under `base`. Each bank counts
    /// its own answers and writes in metrics of its own (`/CODE/metrics`).
    pub fn under(config: Config, store: Store, base: String) -> App {
        let metrics = Arc::new(Metrics::new());
        store.observe(metrics.clone());
        App {
            config,
            store,
            base,
            attempts: Default::default(),
            cancels: Default::default(),
            metrics,
        }
    }

    /// Writes the anonymous 利用中止 counts not written yet (the minute sweep, shutdown).
    pub fn write_cancel_counts(&self) -> Result<(), crate::store::StoreError> {
        match self.cancels.take(crate::clock::now_unix()) {
            Some(batch) => crate::ledger::write_cancel_counts(&self.store, &batch),
            None => Ok(()),
        }
    }
}
