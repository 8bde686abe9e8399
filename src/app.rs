//! What every front shares: the configuration and the store. Each front keeps its own state
//! (phone sessions, staff sessions, cached pages) in its own type, see [`crate::front`].

use crate::config::Config;
use crate::store::Store;

pub struct App {
    pub config: Config,
    pub store: Store,
    /// The bank's path prefix on a multi-bank gateway (`/1020`); empty for one bank. Phone
    /// pages put it before their own links (see `markup::Ctx::base`).
    pub base: String,
}

impl App {
    pub fn new(config: Config, store: Store) -> App {
        App {
            config,
            store,
            base: String::new(),
        }
    }

    /// The app of one bank of a multi-bank gateway, its pages under `base`.
    pub fn under(config: Config, store: Store, base: String) -> App {
        App {
            config,
            store,
            base,
        }
    }
}
