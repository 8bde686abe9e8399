//! Staff sign-in and password change on the store: attempts counted in the staff record before
//! the slow hash check (so parallel guesses cannot pass the limit, and a restart does not reset
//! it), the pause after [`SIGN_IN_LIMIT`] wrong passwords, disabled accounts, and choosing a
//! password in place of an initial one. Nothing here knows HTTP.

use crate::branch::auth::{SIGN_IN_LIMIT, SIGN_IN_PAUSE};
use crate::password;
use crate::store::{AuditEvent, Event, Staff, Store, StoreError};

/// Before the hash check.
pub enum Begin {
    /// No such staff ID (the decoy hash is checked, so timing does not tell).
    Unknown,
    /// Too many wrong passwords lately: refused without a check.
    Paused(Staff),
    /// Counted; check the password against this record's hash.
    Counted(Staff),
}

fn paused(s: &Staff, now: u64) -> bool {
    s.sign_in_fails >= SIGN_IN_LIMIT && now < s.last_attempt.saturating_add(SIGN_IN_PAUSE.as_secs())
}

/// Counts a sign-in attempt for `staff_id`. Written without waiting for the disk: the
/// [`finish`] commit of the same request makes it durable before any page is sent.
pub fn begin(store: &Store, staff_id: &str, now: u64) -> Result<Begin, StoreError> {
    store.write(|tx| {
        let Some(mut s) = tx.staff(staff_id)? else {
            return Ok(Begin::Unknown);
        };
        if paused(&s, now) {
            return Ok(Begin::Paused(s));
        }
        if s.sign_in_fails >= SIGN_IN_LIMIT {
            s.sign_in_fails = 0; // the pause is over: a fresh count
        }
        s.sign_in_fails += 1;
        s.last_attempt = now;
        tx.put_staff(&s)?;
        Ok(Begin::Counted(s))
    })
}

/// How a counted attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    /// Signed in: the record as it now stands.
    In(Box<Staff>),
    Wrong,
    /// The right password of a disabled account.
    Disabled,
}

/// Records the outcome of a counted attempt with its audit record, durably.
pub async fn finish(
    store: &Store,
    staff_id: &str,
    ok: bool,
    now: u64,
) -> Result<Finish, StoreError> {
    store
        .commit(|tx| {
            let Some(mut s) = tx.staff(staff_id)? else {
                return Ok(Finish::Wrong);
            };
            let (event, detail, out) = match (ok, s.disabled) {
                (false, _) => (
                    AuditEvent::StaffSignInFailed,
                    "wrong password",
                    Finish::Wrong,
                ),
                (true, true) => (
                    AuditEvent::StaffSignInFailed,
                    "account disabled",
                    Finish::Disabled,
                ),
                (true, false) => {
                    s.sign_in_fails = 0;
                    let detail = if s.must_change {
                        "initial password: must change it"
                    } else {
                        ""
                    };
                    (
                        AuditEvent::StaffSignIn,
                        detail,
                        Finish::In(Box::new(s.clone())),
                    )
                }
            };
            if ok {
                s.sign_in_fails = 0;
                tx.put_staff(&s)?;
            }
            tx.audit_by(
                now,
                Event {
                    detail: detail.into(),
                    ..Event::new(event)
                },
                &s.staff_id,
                &s.branch_code,
            )?;
            Ok(out)
        })
        .await
}

/// Why a password change was refused; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeRefused {
    WrongCurrent,
    Mismatch,
    SameAsCurrent,
    Weak(String),
    /// Hashing could not run (no random source): try later.
    Unavailable,
}

impl ChangeRefused {
    pub fn message(&self) -> String {
        match self {
            ChangeRefused::WrongCurrent => "現在のパスワードが正しくありません。".into(),
            ChangeRefused::Mismatch => "新しいパスワードが確認用と一致しません。".into(),
            ChangeRefused::SameAsCurrent => {
                "新しいパスワードは現在(初期)のパスワードと違うものにしてください。".into()
            }
            ChangeRefused::Weak(_) => format!(
                "新しいパスワードは{}文字以上にしてください。",
                crate::operate::staff::MIN_PASSWORD
            ),
            ChangeRefused::Unavailable => {
                "ただいま処理できません。しばらくしてからもう一度お試しください。".into()
            }
        }
    }
}

/// A staff member replaces their password (the initial one, or any): the current one must
/// check out, the new one is long enough and differs from it. Durable on return.
pub async fn change_password(
    store: &Store,
    staff_id: &str,
    current: &str,
    new: &str,
    confirm: &str,
    now: u64,
) -> Result<Result<(), ChangeRefused>, StoreError> {
    let Some(s) = store.staff(staff_id)? else {
        return Ok(Err(ChangeRefused::WrongCurrent));
    };
    if !password::verify_async(Some(s.password_hash.clone()), current.to_owned()).await {
        return Ok(Err(ChangeRefused::WrongCurrent));
    }
    if new != confirm {
        return Ok(Err(ChangeRefused::Mismatch));
    }
    if new == current {
        return Ok(Err(ChangeRefused::SameAsCurrent));
    }
    if let Some(why) = crate::operate::staff::password_problem(new) {
        return Ok(Err(ChangeRefused::Weak(why)));
    }
    let Ok(hash) = password::hash_async(new.to_owned()).await else {
        return Ok(Err(ChangeRefused::Unavailable));
    };
    store
        .commit(|tx| {
            let Some(mut s) = tx.staff(staff_id)? else {
                return Ok(Err(ChangeRefused::WrongCurrent));
            };
            s.password_hash = hash.clone();
            s.must_change = false;
            tx.put_staff(&s)?;
            tx.audit_by(
                now,
                Event::new(AuditEvent::StaffPasswordChange),
                &s.staff_id,
                &s.branch_code,
            )?;
            Ok(Ok(()))
        })
        .await
}
