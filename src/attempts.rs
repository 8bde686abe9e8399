//! Password attempts: each check passes the client's budget ([`crate::throttle`]), the
//! contract's lock for that password ([`crate::lockout`]) with the attempts in flight, the
//! (queued, fair) hash, and then one durable write of the result with its audit record.
//!
//! Attempts in flight are held in memory only: the result the phone sees is written durably
//! before the page is sent, so a guess whose answer anyone saw is always counted, even across
//! kill -9, and a guess cut off by a crash told nobody anything.

use crate::clock;
use crate::config;
use crate::lockout::{self, Gate, State, Verdict};
use crate::password;
use crate::store::{AuditEvent, Customer, Event, Store, StoreError};
use crate::throttle::{Client, Throttle};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Which of the customer's passwords is being checked; each has its own count and lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Secret {
    Login,
    Transfer,
}

impl Secret {
    fn detail(self) -> &'static str {
        match self {
            Secret::Login => "login password",
            Secret::Transfer => "transfer password",
        }
    }
}

/// Result of a password check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordCheck {
    Ok(Box<Customer>),
    /// Wrong password or unknown contract ID (the page must not tell which). `left` more wrong
    /// ones lock; `branch_next` when that lock is the branch's.
    Wrong {
        left: u32,
        branch_next: bool,
    },
    TempLockedNow {
        minutes: u64,
    },
    TempLocked {
        minutes: u64,
    },
    BranchLockedNow,
    BranchLocked,
    /// This client has used up its wrong-password budget for now; nothing was checked.
    Throttled,
    /// The hashing queue is full; nothing was checked or counted.
    Busy,
}

/// How long an attempt waits for attempts in flight on the same password before it is told
/// the gateway is busy.
const WAIT_LIMIT: Duration = Duration::from_secs(5);
/// Unknown contract IDs remembered (so that they lock like real ones); forgotten all at once
/// beyond this.
const MAX_UNKNOWN: usize = 10_000;

/// The in-memory side of password checks: client budgets, attempts in flight, unknown IDs.
#[derive(Default)]
pub struct Attempts {
    throttle: Throttle,
    inner: Mutex<Inner>,
    settled: tokio::sync::Notify,
}

#[derive(Default)]
struct Inner {
    pending: HashMap<(String, Secret), u32>,
    unknown: HashMap<(String, Secret), State>,
}

/// The lock state of `which` password of `c`.
pub fn state(c: &Customer, which: Secret) -> State {
    match which {
        Secret::Login => State {
            fails: c.login_fails,
            temp_locks: c.login_temp_locks,
            until: c.login_locked_until,
        },
        Secret::Transfer => c.transfer_lock,
    }
}

fn set_state(c: &mut Customer, which: Secret, s: State) {
    match which {
        Secret::Login => {
            c.login_fails = s.fails;
            c.login_temp_locks = s.temp_locks;
            c.login_locked_until = s.until;
        }
        Secret::Transfer => c.transfer_lock = s,
    }
}

/// Whether either password of `c` waits for a branch's ロック解除.
pub fn branch_locked(c: &Customer, policy: &config::Policy) -> bool {
    let p = policy.lockout();
    p.branch_locked(&state(c, Secret::Login)) || p.branch_locked(&state(c, Secret::Transfer))
}

/// The branch's ロック解除 of a customer's passwords: both counts start afresh.
pub fn release(c: &mut Customer) {
    for which in [Secret::Login, Secret::Transfer] {
        let mut s = state(c, which);
        lockout::Policy::release(&mut s);
        set_state(c, which, s);
    }
}

fn minutes(secs: u64) -> u64 {
    secs.div_ceil(60).max(1)
}

impl Attempts {
    /// Checks `password` as `contract_id`'s `which` password, for `client`.
    pub async fn check(
        &self,
        store: &Store,
        policy: &config::Policy,
        client: &Client,
        which: Secret,
        contract_id: &str,
        password: &str,
    ) -> Result<PasswordCheck, StoreError> {
        let now = clock::now_unix();
        let rules = policy.lockout();
        if !self.throttle.take(client, now) {
            return Ok(PasswordCheck::Throttled);
        }
        // Until the password is known wrong, the client's token comes back.
        let mut token = Token {
            throttle: &self.throttle,
            client,
            spent: false,
        };
        let key = (contract_id.to_owned(), which);
        let deadline = tokio::time::Instant::now() + WAIT_LIMIT;
        let hash = loop {
            let settled = self.settled.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();
            let gate = {
                let mut inner = self.lock();
                // A closed contract answers like an unknown one: the page must not tell which.
                let (s, hash) = match store.customer(contract_id)?.filter(|c| !c.closed) {
                    Some(c) => (
                        state(&c, which),
                        Some(match which {
                            Secret::Login => c.login_hash,
                            Secret::Transfer => c.transfer_hash,
                        }),
                    ),
                    None => (inner.unknown.get(&key).copied().unwrap_or_default(), None),
                };
                let pending = inner.pending.get(&key).copied().unwrap_or(0);
                let gate = rules.gate(&s, pending, now);
                if gate == Gate::Check {
                    *inner.pending.entry(key.clone()).or_default() += 1;
                    break hash;
                }
                gate
            };
            let locked = match gate {
                Gate::TempLocked { secs } => PasswordCheck::TempLocked {
                    minutes: minutes(secs),
                },
                Gate::BranchLocked => PasswordCheck::BranchLocked,
                Gate::Check | Gate::Wait => {
                    if tokio::time::timeout_at(deadline, settled).await.is_err() {
                        return Ok(PasswordCheck::Busy);
                    }
                    continue;
                }
            };
            // A locked password is hashed like any other (against the decoy, the answer is
            // known): a locked contract must not answer faster than an unknown one, which
            // would tell that it exists.
            if password::verify_for(client.id(), None, password.to_owned())
                .await
                .is_err()
            {
                return Ok(PasswordCheck::Busy);
            }
            // A try at a locked password is a try all the same: it costs the client.
            token.spent = true;
            audit_only(store, now, contract_id, which)?;
            store.commit(|_| Ok(())).await?;
            return Ok(locked);
        };
        let mut slot = Slot {
            attempts: self,
            key: &key,
            settled: false,
        };
        let known = hash.is_some();
        let right = match password::verify_for(client.id(), hash.clone(), password.to_owned()).await
        {
            Ok(right) => right,
            Err(password::Busy) => return Ok(PasswordCheck::Busy),
        };
        // A hash imported in another scheme becomes argon2id with the write that records this
        // login; hashed first, off the runtime, as slow as the check itself.
        let rehashed = match &hash {
            Some(old) if right => password::rehash_if_imported(old, password).await,
            _ => None,
        };
        let result = {
            let mut inner = self.lock();
            let result = if known {
                store.write(|tx| {
                    let Some(mut c) = tx.customer(contract_id)? else {
                        return Ok(PasswordCheck::Wrong {
                            left: rules.limit,
                            branch_next: false,
                        });
                    };
                    let mut s = state(&c, which);
                    let verdict = rules.record(&mut s, right, now);
                    set_state(&mut c, which, s);
                    let (event, mut detail) = event_of(verdict, which, &rules);
                    if let (Some(new), Some(old)) = (&rehashed, &hash) {
                        let stored = match which {
                            Secret::Login => &mut c.login_hash,
                            Secret::Transfer => &mut c.transfer_hash,
                        };
                        if password::replace_verified(stored, old, new) {
                            detail.push_str(", re-hashed to argon2id");
                        }
                    }
                    tx.put_customer(&c)?;
                    tx.audit(
                        now,
                        Event {
                            contract_id: Some(contract_id),
                            detail,
                            ..Event::new(event)
                        },
                    )?;
                    Ok(check_of(verdict, Some(c)))
                })?
            } else {
                if inner.unknown.len() >= MAX_UNKNOWN {
                    inner.unknown.clear();
                }
                let s = inner.unknown.entry(key.clone()).or_default();
                let verdict = rules.record(s, false, now);
                store.write(|tx| {
                    tx.audit(
                        now,
                        Event {
                            detail: "unknown contract ID".into(),
                            ..Event::new(AuditEvent::LoginFailed)
                        },
                    )
                })?;
                check_of(verdict, None)
            };
            slot.settle(&mut inner);
            result
        };
        self.settled.notify_waiters();
        token.spent = !right;
        // Durable before the page is sent (the write above was made under the lock).
        store.commit(|_| Ok(())).await?;
        Ok(result)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn event_of(v: Verdict, which: Secret, rules: &lockout::Policy) -> (AuditEvent, String) {
    let what = which.detail();
    match v {
        Verdict::Right => (AuditEvent::LoginOk, what.into()),
        Verdict::Wrong { .. } => (AuditEvent::LoginFailed, what.into()),
        Verdict::TempLockedNow { secs } => (
            AuditEvent::LoginLockout,
            format!("{what}; locked for {} min", minutes(secs)),
        ),
        Verdict::BranchLockedNow => (
            AuditEvent::LoginLockout,
            format!(
                "{what}; locked until released at a branch ({} wrong in a row)",
                rules.tries_before_branch()
            ),
        ),
    }
}

fn check_of(v: Verdict, c: Option<Customer>) -> PasswordCheck {
    match (v, c) {
        (Verdict::Right, Some(c)) => PasswordCheck::Ok(Box::new(c)),
        (Verdict::Right, None) => PasswordCheck::Wrong {
            left: 0,
            branch_next: false,
        },
        (Verdict::Wrong { left, branch_next }, _) => PasswordCheck::Wrong { left, branch_next },
        (Verdict::TempLockedNow { secs }, _) => PasswordCheck::TempLockedNow {
            minutes: minutes(secs),
        },
        (Verdict::BranchLockedNow, _) => PasswordCheck::BranchLockedNow,
    }
}

fn audit_only(store: &Store, now: u64, contract_id: &str, which: Secret) -> Result<(), StoreError> {
    store.write(|tx| {
        tx.audit(
            now,
            Event {
                contract_id: Some(contract_id),
                detail: format!("attempt on locked {}", which.detail()),
                ..Event::new(AuditEvent::LoginLocked)
            },
        )
    })?;
    Ok(())
}

/// A client's budget token for one attempt: given back on drop unless the attempt was wrong.
struct Token<'a> {
    throttle: &'a Throttle,
    client: &'a Client,
    spent: bool,
}

impl Drop for Token<'_> {
    fn drop(&mut self) {
        if !self.spent {
            self.throttle.give_back(self.client);
        }
    }
}

/// One attempt in flight. Settled when its result is written; dropped unsettled (the phone hung
/// up, the queue was full) it simply leaves, counting nothing.
struct Slot<'a> {
    attempts: &'a Attempts,
    key: &'a (String, Secret),
    settled: bool,
}

impl Slot<'_> {
    /// Leaves the in-flight count under the lock its result was written under.
    fn settle(&mut self, inner: &mut Inner) {
        leave(inner, self.key);
        self.settled = true;
    }
}

fn leave(inner: &mut Inner, key: &(String, Secret)) {
    if let Some(n) = inner.pending.get_mut(key) {
        *n -= 1;
        if *n == 0 {
            inner.pending.remove(key);
        }
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if !self.settled {
            leave(&mut self.attempts.lock(), self.key);
            self.attempts.settled.notify_waiters();
        }
    }
}
