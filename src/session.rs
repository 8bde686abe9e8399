//! Phone sessions: what a phone session holds (the step it has reached), rotation and the
//! binding to a carrier subscriber ID, on the shared [`SessionTable`] (random IDs, idle expiry).
//!
//! Sessions hold no fact a success page reports. On the embedded engine they live in memory
//! (a restart asks customers to log in again); on PostgreSQL in the database, shared by every
//! gateway ([`Sessions::shared`]).

use crate::ids::{ContractId, Serial};
use crate::session_table::random_token;
use crate::session_table::SessionTable;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Where a customer is in a journey; every step checks it before acting.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Stage {
    /// 利用開始 step 1 passed (contract ID and password were right), or entered from the menu.
    StartAuthed { logged_in: bool },
    /// Password right; the login OTP is still to come.
    LoginOtp,
    /// Logged in: the menu is open.
    Menu,
    /// 交換 entered; `logged_in` when it came from the menu.
    ExchangeAuthed { logged_in: bool },
    /// 交換 step 1 passed for `old_serial`.
    ExchangeVerified { old_serial: Serial, logged_in: bool },
    /// 法人: the administrator's ご契約先暗証番号 was right; the お客様カード is still to come.
    BizCard,
    /// 法人: the administrator is logged in (its pages show the administrator's keys).
    BizAdmin,
}

impl Stage {
    /// Whether the pages of this stage show the logged-in footer keys.
    pub fn logged_in(&self) -> bool {
        match self {
            Stage::Menu => true,
            Stage::StartAuthed { logged_in }
            | Stage::ExchangeAuthed { logged_in }
            | Stage::ExchangeVerified { logged_in, .. } => *logged_in,
            Stage::LoginOtp | Stage::BizCard | Stage::BizAdmin => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Session {
    pub id: String,
    pub contract_id: ContractId,
    pub name: String,
    pub stage: Stage,
    /// Anti-forgery value every form of this session must return.
    pub csrf: String,
    /// Trusted carrier subscriber ID seen when the session began; other handsets are refused.
    pub subscriber: Option<String>,
    /// The お客様カード positions asked on the form shown last (new ones after each answer).
    pub card: Option<crate::card::Positions>,
}

/// Why a session ID was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Unknown, logged out, rotated away or expired.
    Unknown,
    /// Presented by a handset other than the one it belongs to.
    OtherHandset,
}

pub struct Sessions {
    table: SessionTable<Session>,
    /// Receipts of completed steps by the session's anti-forgery value, so that a form re-sent
    /// with the back button shows its receipt again instead of failing (issue 14). Kept in
    /// memory by the gateway that showed them, on either engine: a re-send that reaches
    /// another gateway gets the session page, and nothing is written twice either way.
    finished: Mutex<HashMap<String, (Finished, Instant)>>,
    idle: Duration,
}

/// What a completed 利用開始 or 交換 showed: enough to show the same receipt again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// The form's action (`/start/token`, `/exchange/new`).
    pub path: &'static str,
    pub name: String,
    /// The trusted subscriber ID the session was bound to: only that handset sees the receipt.
    pub subscriber: Option<String>,
    /// The serial the form registered (the new one for 交換), and 交換's old one.
    pub serial: String,
    pub old_serial: Option<String>,
    pub number: String,
    pub time: String,
}

/// Session IDs carry 144 random bits.
const ID_BYTES: usize = 18;
const CSRF_BYTES: usize = 12;

impl Sessions {
    pub fn new(idle: Duration) -> Sessions {
        Sessions {
            table: SessionTable::new(idle),
            finished: Mutex::new(HashMap::new()),
            idle,
        }
    }

    /// Sessions in the database when the store's engine is shared by several gateways, in
    /// memory otherwise.
    pub fn for_store(idle: Duration, store: &crate::store::Store) -> Sessions {
        match store.shared_sessions("phone", idle) {
            Some(db) => Sessions {
                table: SessionTable::shared(idle, db),
                finished: Mutex::new(HashMap::new()),
                idle,
            },
            None => Sessions::new(idle),
        }
    }

    fn finished_lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Finished, Instant)>> {
        self.finished.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps the receipt of a step that `csrf`'s session completed (as long as a session lives).
    pub fn remember_finished(&self, csrf: &str, finished: Finished) {
        self.finished_lock()
            .insert(csrf.to_owned(), (finished, Instant::now()));
    }

    /// The receipt a form with anti-forgery value `csrf` completed at `path`, if it is still
    /// kept and the request's subscriber ID (when trusted) matches the session's.
    pub fn finished(&self, csrf: &str, path: &str, subscriber: Option<&str>) -> Option<Finished> {
        let map = self.finished_lock();
        let (f, at) = map.get(csrf)?;
        let fresh = at.elapsed() <= self.idle;
        let same_handset = f
            .subscriber
            .as_deref()
            .is_none_or(|s| subscriber == Some(s));
        (fresh && same_handset && f.path == path).then(|| f.clone())
    }

    /// Starts a session at `stage`; returns it with its new ID and anti-forgery value.
    pub fn create(
        &self,
        contract_id: &ContractId,
        name: &str,
        stage: Stage,
        subscriber: Option<String>,
    ) -> Session {
        let session = Session {
            id: random_token(ID_BYTES),
            contract_id: contract_id.clone(),
            name: name.to_owned(),
            stage,
            csrf: random_token(CSRF_BYTES),
            subscriber,
            card: None,
        };
        self.table.insert(&session.id, session.clone());
        session
    }

    /// The live session `id`, if the request's subscriber ID (when trusted) matches it.
    pub fn get(&self, id: &str, subscriber: Option<&str>) -> Result<Session, Refused> {
        self.table.get_checked(id, Refused::Unknown, |session| {
            // A bound session answers only the same trusted subscriber ID, never a request
            // without one.
            match session.subscriber.as_deref() {
                Some(bound) if subscriber != Some(bound) => Err(Refused::OtherHandset),
                _ => Ok(()),
            }
        })
    }

    /// Gives session `old` a new ID (the old one stops working at once), keeping its stage and
    /// anti-forgery value: a session ID seen in a URL or a Referer is worthless one step later.
    pub fn rotate(&self, old: &str) -> Option<Session> {
        let new = random_token(ID_BYTES);
        self.table.rename(old, &new, |s| s.id = new.clone())
    }

    /// Moves session `id` to `stage`. Returns `None` if it is gone.
    pub fn set_stage(&self, id: &str, stage: Stage) -> Option<Session> {
        self.table.update(id, |s| s.stage = stage)
    }

    /// Sets the お客様カード positions the next form of session `id` asks.
    pub fn set_card(&self, id: &str, card: Option<crate::card::Positions>) -> Option<Session> {
        self.table.update(id, |s| s.card = card)
    }

    /// Ends a session (logout, finished journey).
    pub fn end(&self, id: &str) {
        self.table.remove(id);
    }

    /// Drops idle sessions; run now and then.
    pub fn sweep(&self) {
        self.table.sweep();
        let idle = self.idle;
        self.finished_lock()
            .retain(|_, (_, at)| at.elapsed() <= idle);
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one() -> ContractId {
        ContractId::parse("1").unwrap()
    }

    #[test]
    fn ids_are_long_and_distinct() {
        let s = Sessions::new(Duration::from_secs(600));
        let a = s.create(&one(), "n", Stage::Menu, None);
        let b = s.create(&one(), "n", Stage::Menu, None);
        assert_ne!(a.id, b.id);
        assert!(a.id.len() >= 22, "at least 128 bits");
        assert_ne!(a.csrf, b.csrf);
    }

    #[test]
    fn rotate_refuses_the_old_id_and_end_refuses_all() {
        let s = Sessions::new(Duration::from_secs(600));
        let a = s.create(&one(), "n", Stage::StartAuthed { logged_in: false }, None);
        let b = s.rotate(&a.id).unwrap();
        assert_eq!(b.csrf, a.csrf);
        let b = s.set_stage(&b.id, Stage::Menu).unwrap();
        assert_eq!(s.get(&a.id, None), Err(Refused::Unknown));
        assert_eq!(s.get(&b.id, None).unwrap().stage, Stage::Menu);
        s.end(&b.id);
        assert_eq!(s.get(&b.id, None), Err(Refused::Unknown));
    }

    #[test]
    fn expires_when_idle() {
        let s = Sessions::new(Duration::from_millis(0));
        let a = s.create(&one(), "n", Stage::Menu, None);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(s.get(&a.id, None), Err(Refused::Unknown));
    }

    #[test]
    fn finished_receipts_answer_their_own_form_only() {
        let s = Sessions::new(Duration::from_secs(600));
        let f = Finished {
            path: "/start/token",
            name: "n".into(),
            subscriber: Some("ABC1234".into()),
            serial: "GMHW00000001".into(),
            old_serial: None,
            number: "1000001".into(),
            time: "t".into(),
        };
        s.remember_finished("csrf", f.clone());
        assert_eq!(s.finished("csrf", "/start/token", Some("ABC1234")), Some(f));
        assert_eq!(s.finished("csrf", "/exchange/new", Some("ABC1234")), None);
        assert_eq!(s.finished("other", "/start/token", Some("ABC1234")), None);
        assert_eq!(s.finished("csrf", "/start/token", None), None);
        let gone = Sessions::new(Duration::from_millis(0));
        gone.remember_finished(
            "csrf",
            s.finished("csrf", "/start/token", Some("ABC1234")).unwrap(),
        );
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(gone.finished("csrf", "/start/token", Some("ABC1234")), None);
    }

    #[test]
    fn bound_to_subscriber() {
        let s = Sessions::new(Duration::from_secs(600));
        let a = s.create(&one(), "n", Stage::Menu, Some("ABC1234".into()));
        assert!(s.get(&a.id, Some("ABC1234")).is_ok());
        assert_eq!(s.get(&a.id, Some("XYZ9999")), Err(Refused::OtherHandset));
        assert_eq!(s.get(&a.id, None), Err(Refused::OtherHandset));
    }
}
