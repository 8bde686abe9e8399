//! Staff sessions: random IDs in a Secure, HttpOnly, SameSite=Strict cookie, a 15-minute idle
//! timeout, an anti-forgery value per session (checked in constant time), and a new ID at
//! sign-in so a value planted before sign-in is worth nothing after it.
//!
//! The sign-in page keeps nothing on the server: its cookie carries a random value no one
//! stores, and its form an anti-forgery value signed over that cookie value and a time window
//! ([`crate::form_token`], [`SignInForm`]), so however many anonymous visitors open it, staff
//! can always sign in. A signed-in session is stored ([`StaffSessionRecord`], under the
//! SHA-256 of its ID), so a restart does not sign staff out; each request re-reads the staff
//! record, so `staff disable` ends the sessions and an initial password sends every page to
//! the password change.

use super::procedures::Actor;
use crate::clock;
use crate::form_token::{Check, FormKey, Purpose};
use crate::session_table::random_token;
use crate::store::{Staff, StaffSessionRecord, Store, StoreError};
use sha2::{Digest, Sha256};
use std::time::Duration;
use subtle::ConstantTimeEq;

/// Name of the staff session cookie.
pub const COOKIE: &str = "kg_staff";
/// Idle minutes before a staff session ends.
pub const IDLE: Duration = Duration::from_secs(15 * 60);
/// Wrong passwords for one staff ID before sign-in is refused for [`SIGN_IN_PAUSE`].
pub const SIGN_IN_LIMIT: u32 = 5;
pub const SIGN_IN_PAUSE: Duration = Duration::from_secs(15 * 60);
/// A stored session's last-seen time is written at most this often (seconds): a write per
/// request would cost more than the minute of idle time a crash can lose.
const TOUCH_EVERY: u64 = 60;
const ID_BYTES: usize = 18;
const CSRF_BYTES: usize = 18;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffSession {
    pub id: String,
    /// Anti-forgery value every form of this session returns.
    pub csrf: String,
    /// The signed-in staff member (always there: anonymous visitors have no session).
    pub staff: Option<Actor>,
    /// Signed in with an initial password: only the password change and sign-out are open.
    pub must_change: bool,
}

impl StaffSession {
    /// Whether `sent` is this session's anti-forgery value (constant time).
    pub fn csrf_ok(&self, sent: &str) -> bool {
        bool::from(sent.as_bytes().ct_eq(self.csrf.as_bytes()))
    }
}

/// The actor a staff record signs in as.
pub fn actor(s: &Staff) -> Actor {
    Actor {
        staff_id: s.staff_id.clone(),
        name: s.name.clone(),
        branch_code: s.branch_code.clone(),
        role: s.role,
    }
}

/// The store key of session `id`.
fn key(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

/// The sign-in page's state, all of it in the page and its cookie: the cookie's random value
/// (stored nowhere) and the form's anti-forgery value signed over it.
pub struct SignInForm {
    pub cookie_value: String,
    pub csrf: String,
}

impl SignInForm {
    /// A fresh one, for a sign-in page shown at `now`.
    pub fn new(key: &FormKey, now: u64) -> SignInForm {
        let cookie_value = random_token(ID_BYTES);
        let csrf = key
            .issue(Purpose::ConsoleSignIn, cookie_value.as_bytes(), now)
            .to_string();
        SignInForm { cookie_value, csrf }
    }

    /// Whether a sign-in post returns the value its page was given with `cookie_value`.
    pub fn check(key: &FormKey, cookie_value: &str, sent: &str, now: u64) -> Check {
        key.check(Purpose::ConsoleSignIn, cookie_value.as_bytes(), sent, now)
    }
}

pub struct StaffSessions {
    idle: Duration,
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
        StaffSessions { idle }
    }

    /// The live session `id`, its idle clock restarted. A session whose staff member is gone
    /// or disabled ends here.
    pub fn get(&self, store: &Store, id: &str) -> Result<Option<StaffSession>, StoreError> {
        let key = key(id);
        let Some(rec) = store.staff_session(&key)? else {
            return Ok(None);
        };
        let now = clock::now_unix();
        let staff = store.staff(&rec.staff_id)?.filter(|s| !s.disabled);
        let expired = now.saturating_sub(rec.last_seen) > self.idle.as_secs();
        let Some(staff) = staff.filter(|_| !expired) else {
            store.write(|tx| tx.remove_staff_session(&key))?;
            return Ok(None);
        };
        if now.saturating_sub(rec.last_seen) >= TOUCH_EVERY {
            store.write(|tx| match tx.staff_session(&key)? {
                Some(mut r) => {
                    r.last_seen = now;
                    tx.put_staff_session(&r)
                }
                None => Ok(()),
            })?;
        }
        Ok(Some(StaffSession {
            id: id.to_owned(),
            csrf: rec.csrf,
            staff: Some(actor(&staff)),
            must_change: staff.must_change,
        }))
    }

    /// Signs `staff` in: a new session (new ID and anti-forgery value) is stored, durably; a
    /// session `old` the browser still had ends, and expired stored sessions go with it.
    pub async fn sign_in(
        &self,
        store: &Store,
        old: &str,
        staff: &Staff,
    ) -> Result<StaffSession, StoreError> {
        let id = random_token(ID_BYTES);
        let now = clock::now_unix();
        let rec = StaffSessionRecord {
            key: key(&id),
            csrf: random_token(CSRF_BYTES),
            staff_id: staff.staff_id.clone(),
            created: now,
            last_seen: now,
        };
        // Staff sessions are few (one per signed-in member): a pass over them is cheap.
        let mut expired = Vec::new();
        for r in store.staff_sessions() {
            let r = r?;
            if now.saturating_sub(r.last_seen) > self.idle.as_secs() {
                expired.push(r.key);
            }
        }
        // Signing in again from a signed-in session ends that one too.
        expired.push(key(old));
        store
            .commit(|tx| {
                for k in &expired {
                    tx.remove_staff_session(k)?;
                }
                tx.put_staff_session(&rec)
            })
            .await?;
        Ok(StaffSession {
            id,
            csrf: rec.csrf,
            staff: Some(actor(staff)),
            must_change: staff.must_change,
        })
    }

    /// Ends session `id`, durably (a signed-out session must not come back after a restart).
    pub async fn end(&self, store: &Store, id: &str) -> Result<(), StoreError> {
        let key = key(id);
        store.commit(|tx| tx.remove_staff_session(&key)).await
    }

    /// Live sessions: stored ones not idle too long (for metrics; staff sessions are few, so a
    /// pass over them is cheap). Anonymous visitors have none.
    pub fn live(&self, store: &Store) -> usize {
        let now = crate::clock::now_unix();
        let stored = store
            .staff_sessions()
            .filter_map(Result::ok)
            .filter(|r| now.saturating_sub(r.last_seen) <= self.idle.as_secs())
            .count();
        stored
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
    use crate::store::Role;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let sealer = crate::seal::Sealer::create(&dir.path().join("k")).unwrap();
        let store = Store::open(&dir.path().join("db"), sealer).unwrap();
        (dir, store)
    }

    fn staff(disabled: bool) -> Staff {
        Staff {
            staff_id: "C0011".into(),
            name: "n".into(),
            branch_code: "001".into(),
            role: Role::Clerk,
            password_hash: String::new(),
            disabled,
            must_change: false,
            sign_in_fails: 0,
            last_attempt: 0,
        }
    }

    #[tokio::test]
    async fn sign_in_rotates_the_id_and_the_anti_forgery_value() {
        let (_dir, store) = store();
        store.write(|tx| tx.put_staff(&staff(false))).unwrap();
        let s = StaffSessions::new();
        let key = FormKey::derive(&[1; 32]);
        let anon = SignInForm::new(&key, 1_800_000_000);
        let signed = s
            .sign_in(&store, &anon.cookie_value, &staff(false))
            .await
            .unwrap();
        assert_ne!(signed.id, anon.cookie_value);
        assert_ne!(signed.csrf, anon.csrf);
        assert!(s.get(&store, &anon.cookie_value).unwrap().is_none());
        assert_eq!(
            s.get(&store, &signed.id).unwrap().unwrap().staff,
            signed.staff
        );
        assert!(signed.csrf_ok(&signed.csrf));
        assert!(!signed.csrf_ok(""));
        assert!(!signed.csrf_ok(&anon.csrf));
        // Another process (a restart) finds it in the store; the ID itself is not stored.
        let again = StaffSessions::new();
        assert!(again.get(&store, &signed.id).unwrap().is_some());
        assert!(store.staff_session(&signed.id).unwrap().is_none());
        s.end(&store, &signed.id).await.unwrap();
        assert!(again.get(&store, &signed.id).unwrap().is_none());
    }

    #[tokio::test]
    async fn disabling_the_staff_member_ends_the_session() {
        let (_dir, store) = store();
        store.write(|tx| tx.put_staff(&staff(false))).unwrap();
        let s = StaffSessions::new();
        let signed = s.sign_in(&store, "old", &staff(false)).await.unwrap();
        store.write(|tx| tx.put_staff(&staff(true))).unwrap();
        assert!(s.get(&store, &signed.id).unwrap().is_none());
        store.write(|tx| tx.put_staff(&staff(false))).unwrap();
        assert!(
            s.get(&store, &signed.id).unwrap().is_none(),
            "ended, not paused"
        );
    }

    #[test]
    fn the_sign_in_form_holds_for_its_own_cookie_value_for_a_while() {
        let key = FormKey::derive(&[1; 32]);
        let now = 1_800_000_000;
        let form = SignInForm::new(&key, now);
        let check = |cookie: &str, sent: &str, at: u64| SignInForm::check(&key, cookie, sent, at);
        assert_eq!(check(&form.cookie_value, &form.csrf, now), Check::Valid);
        assert_eq!(
            check(&form.cookie_value, &form.csrf, now + 900),
            Check::Valid
        );
        assert_eq!(
            check(&form.cookie_value, &form.csrf, now + 1800),
            Check::Expired
        );
        let other = SignInForm::new(&key, now);
        assert_eq!(check(&other.cookie_value, &form.csrf, now), Check::Forged);
        assert_eq!(check(&form.cookie_value, "", now), Check::Forged);
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
