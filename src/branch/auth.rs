//! Staff sessions (on the shared [`SessionTable`]): random IDs in a Secure, HttpOnly,
//! SameSite=Strict cookie, a 15-minute idle timeout, an anti-forgery value per session (checked in constant time), and a new ID at
//! sign-in so a session planted before sign-in is worth nothing after it.
//!
//! The sign-in page itself runs in an anonymous session, so that its form carries an
//! anti-forgery value like every other form. Sessions live in memory: a restart signs staff out.

use super::ops::Actor;
use crate::session_table::{random_token, SessionTable};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// Name of the staff session cookie.
pub const COOKIE: &str = "kg_staff";
/// Idle minutes before a staff session ends.
pub const IDLE: Duration = Duration::from_secs(15 * 60);
/// Sessions kept at most; sign-in pages beyond it are refused until idle ones expire.
const MAX_SESSIONS: usize = 10_000;
/// Wrong passwords for one staff ID before sign-in is refused for [`SIGN_IN_PAUSE`].
pub const SIGN_IN_LIMIT: u32 = 5;
pub const SIGN_IN_PAUSE: Duration = Duration::from_secs(15 * 60);
const ID_BYTES: usize = 18;
const CSRF_BYTES: usize = 18;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffSession {
    pub id: String,
    /// Anti-forgery value every form of this session returns.
    pub csrf: String,
    /// `None` until sign-in.
    pub staff: Option<Actor>,
}

impl StaffSession {
    /// Whether `sent` is this session's anti-forgery value (constant time).
    pub fn csrf_ok(&self, sent: &str) -> bool {
        bool::from(sent.as_bytes().ct_eq(self.csrf.as_bytes()))
    }
}

pub struct StaffSessions {
    table: SessionTable<StaffSession>,
    /// Sign-in attempts not yet known to be right, per staff ID, and when the last one began.
    attempts: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Default for StaffSessions {
    fn default() -> Self {
        StaffSessions::new()
    }
}

impl StaffSessions {
    pub fn new() -> StaffSessions {
        StaffSessions::with_idle(IDLE)
    }

    pub fn with_idle(idle: Duration) -> StaffSessions {
        StaffSessions {
            table: SessionTable::new(idle),
            attempts: Mutex::new(HashMap::new()),
        }
    }

    fn new_session(staff: Option<Actor>) -> StaffSession {
        StaffSession {
            id: random_token(ID_BYTES),
            csrf: random_token(CSRF_BYTES),
            staff,
        }
    }

    /// An anonymous session for the sign-in page; `None` when too many are open.
    pub fn begin(&self) -> Option<StaffSession> {
        let session = StaffSessions::new_session(None);
        self.table
            .insert_capped(&session.id, session.clone(), MAX_SESSIONS)
            .then_some(session)
    }

    /// The live session `id`, its idle clock restarted.
    pub fn get(&self, id: &str) -> Option<StaffSession> {
        self.table.get(id)
    }

    /// Signs `actor` in: the anonymous session `old` ends and a new one (new ID and
    /// anti-forgery value) begins.
    pub fn sign_in(&self, old: &str, actor: Actor) -> StaffSession {
        self.table.remove(old);
        let session = StaffSessions::new_session(Some(actor));
        self.table.insert(&session.id, session.clone());
        session
    }

    pub fn end(&self, id: &str) {
        self.table.remove(id);
    }

    /// Drops idle sessions; run now and then.
    pub fn sweep(&self) {
        self.table.sweep();
    }

    /// Counts a sign-in attempt for `staff_id` before its password is checked, so parallel
    /// guesses cannot exceed the limit; `false` when the ID is paused after too many.
    pub fn attempt(&self, staff_id: &str) -> bool {
        let mut map = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        map.retain(|_, (_, at)| now.duration_since(*at) <= SIGN_IN_PAUSE);
        let entry = map.entry(staff_id.to_owned()).or_insert((0, now));
        if entry.0 >= SIGN_IN_LIMIT {
            return false;
        }
        *entry = (entry.0 + 1, now);
        true
    }

    /// A right password: the count for `staff_id` starts again.
    pub fn attempt_ok(&self, staff_id: &str) {
        let mut map = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(staff_id);
    }
}

/// The Set-Cookie value carrying session `id`.
pub fn cookie(id: &str) -> String {
    cookie::Cookie::build((COOKIE, id.to_owned()))
        .path(super::paths::ROOT)
        .http_only(true)
        .secure(true)
        .same_site(cookie::SameSite::Strict)
        .build()
        .to_string()
}

/// The Set-Cookie value that removes the session cookie.
pub fn clear_cookie() -> String {
    cookie::Cookie::build((COOKIE, ""))
        .path(super::paths::ROOT)
        .http_only(true)
        .secure(true)
        .same_site(cookie::SameSite::Strict)
        .max_age(cookie::time::Duration::ZERO)
        .build()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::branch::ops::Role;

    fn actor() -> Actor {
        Actor {
            staff_id: "C0011".into(),
            name: "n".into(),
            branch_code: "001".into(),
            role: Role::Clerk,
        }
    }

    #[test]
    fn sign_in_rotates_the_id_and_the_anti_forgery_value() {
        let s = StaffSessions::new();
        let anon = s.begin().unwrap();
        assert!(anon.staff.is_none());
        let signed = s.sign_in(&anon.id, actor());
        assert_ne!(signed.id, anon.id);
        assert_ne!(signed.csrf, anon.csrf);
        assert!(s.get(&anon.id).is_none());
        assert_eq!(s.get(&signed.id).unwrap().staff, Some(actor()));
        assert!(signed.csrf_ok(&signed.csrf));
        assert!(!signed.csrf_ok(""));
        assert!(!signed.csrf_ok(&anon.csrf));
        s.end(&signed.id);
        assert!(s.get(&signed.id).is_none());
    }

    #[test]
    fn sign_in_attempts_are_limited_per_staff_id() {
        let s = StaffSessions::new();
        for _ in 0..SIGN_IN_LIMIT {
            assert!(s.attempt("C0011"));
        }
        assert!(!s.attempt("C0011"));
        assert!(s.attempt("S0012"), "other IDs are not affected");
        s.attempt_ok("S0012");
        s.attempt_ok("C0011");
        assert!(s.attempt("C0011"));
    }

    #[test]
    fn expires_when_idle() {
        let s = StaffSessions::with_idle(Duration::from_millis(0));
        let a = s.begin().unwrap();
        std::thread::sleep(Duration::from_millis(5));
        assert!(s.get(&a.id).is_none());
    }

    #[test]
    fn cookie_is_strict_secure_and_http_only() {
        let c = cookie("abc");
        assert!(c.starts_with("kg_staff=abc"));
        for part in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/branch"] {
            assert!(c.contains(part), "{part} in {c}");
        }
        assert!(clear_cookie().contains("Max-Age=0"));
    }
}
