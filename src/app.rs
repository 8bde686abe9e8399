//! The running gateway's shared state: configuration, store and sessions (phone and staff).

use crate::branch::auth::StaffSessions;
use crate::config::Config;
use crate::flows::pages::PageCache;
use crate::session::Sessions;
use crate::store::Store;

pub struct App {
    pub config: Config,
    pub store: Store,
    pub sessions: Sessions,
    pub staff_sessions: StaffSessions,
    /// Pages rendered once per kind of phone (the top page).
    pub pages: PageCache,
    /// Password attempts in flight and client budgets.
    pub attempts: crate::attempts::Attempts,
}

impl App {
    pub fn new(config: Config, store: Store) -> App {
        let sessions = Sessions::new(config.bank.session_idle());
        App {
            config,
            store,
            sessions,
            staff_sessions: StaffSessions::new(),
            pages: PageCache::default(),
            attempts: Default::default(),
        }
    }
}
