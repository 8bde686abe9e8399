//! What every front shares: the configuration, the store and the metrics. Each front keeps its own state
//! (phone sessions, staff sessions, cached pages) in its own type, see [`crate::front`].

use crate::config::Config;
use crate::metrics::Metrics;
use crate::store::Store;
use std::sync::Arc;

pub struct App {
    pub config: Config,
    pub store: Store,
    /// Password attempts in flight and client budgets (see [`crate::attempts`]).
    pub attempts: crate::attempts::Attempts,
    pub metrics: Arc<Metrics>,
}

impl App {
    /// The app over `store`, whose writes and flushes are counted in its metrics.
    pub fn new(config: Config, store: Store) -> App {
        let metrics = Arc::new(Metrics::new());
        store.observe(metrics.clone());
        App {
            config,
            store,
            attempts: Default::default(),
            metrics,
        }
    }
}
