//! Phone sessions: what a phone session holds (the step it has reached), rotation and the
//! binding to a carrier subscriber ID, on the shared [`SessionTable`] (random IDs, idle expiry).
//!
//! Sessions live in memory only: they hold no fact a success page reports, and a restart
//! simply asks customers to log in again.

use crate::session_table::random_token;
use crate::session_table::SessionTable;
use std::time::Duration;

/// Where a customer is in a journey; every step checks it before acting.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    ExchangeVerified { old_serial: String, logged_in: bool },
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub contract_id: String,
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
}

/// Session IDs carry 144 random bits.
const ID_BYTES: usize = 18;
const CSRF_BYTES: usize = 12;

impl Sessions {
    pub fn new(idle: Duration) -> Sessions {
        Sessions {
            table: SessionTable::new(idle),
        }
    }

    /// Starts a session at `stage`; returns it with its new ID and anti-forgery value.
    pub fn create(
        &self,
        contract_id: &str,
        name: &str,
        stage: Stage,
        subscriber: Option<String>,
    ) -> Session {
        let session = Session {
            id: random_token(ID_BYTES),
            contract_id: contract_id.to_owned(),
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

    #[test]
    fn ids_are_long_and_distinct() {
        let s = Sessions::new(Duration::from_secs(600));
        let a = s.create("1", "n", Stage::Menu, None);
        let b = s.create("1", "n", Stage::Menu, None);
        assert_ne!(a.id, b.id);
        assert!(a.id.len() >= 22, "at least 128 bits");
        assert_ne!(a.csrf, b.csrf);
    }

    #[test]
    fn rotate_refuses_the_old_id_and_end_refuses_all() {
        let s = Sessions::new(Duration::from_secs(600));
        let a = s.create("1", "n", Stage::StartAuthed { logged_in: false }, None);
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
        let a = s.create("1", "n", Stage::Menu, None);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(s.get(&a.id, None), Err(Refused::Unknown));
    }

    #[test]
    fn bound_to_subscriber() {
        let s = Sessions::new(Duration::from_secs(600));
        let a = s.create("1", "n", Stage::Menu, Some("ABC1234".into()));
        assert!(s.get(&a.id, Some("ABC1234")).is_ok());
        assert_eq!(s.get(&a.id, Some("XYZ9999")), Err(Refused::OtherHandset));
        assert_eq!(s.get(&a.id, None), Err(Refused::OtherHandset));
    }
}
