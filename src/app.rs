//! What every front shares: the configuration and the store. Each front keeps its own state
//! (phone sessions, staff sessions, cached pages) in its own type, see [`crate::front`].

use crate::config::Config;
use crate::store::Store;

pub struct App {
    pub config: Config,
    pub store: Store,
}

impl App {
    pub fn new(config: Config, store: Store) -> App {
        App { config, store }
    }
}
