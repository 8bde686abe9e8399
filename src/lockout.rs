//! The password lockout policy, pure: what one more attempt on a contract's password may do,
//! and what its result does to the durable count. No I/O; [`crate::attempts`] applies it.
//!
//! Each password (ログインパスワード, 資金移動用パスワード) has its own [`State`]. `limit` wrong
//! passwords in a row lock that password *temporarily* (`temp_lock_secs`); the
//! `temp_locks_before_branch`-th temporary lock without a right password in between becomes the
//! durable lock that only a branch releases. So an outsider who knows only contract IDs can at
//! most delay a customer by minutes, while a guesser gets a fixed number of tries per ID.
//!
//! Attempts in flight are counted ("pending") before their hash runs, so parallel guesses can
//! never exceed `limit` per window; but pending attempts are not failures: an attempt that
//! finds the window full of attempts in flight waits for them instead of being refused, so
//! right passwords typed in parallel are never told the login is locked.

use serde::{Deserialize, Serialize};

/// The lock settings of one bank (bank.toml `[policy]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Wrong passwords in a row that lock the password for a while.
    pub limit: u32,
    pub temp_lock_secs: u64,
    /// The temporary lock that becomes the branch lock (counted since the last right password).
    pub temp_locks_before_branch: u32,
}

/// The durable lock state of one password of one customer. The default is "never failed".
///
/// `fails >= limit` is the branch lock, as `login_fails` always meant, so records written
/// before temporary locks existed keep their meaning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Wrong passwords since the last right one or the last temporary lock.
    pub fails: u32,
    /// Temporary locks since the last right password.
    #[serde(default)]
    pub temp_locks: u32,
    /// Unix time the current temporary lock ends (0: none).
    #[serde(default)]
    pub until: u64,
}

/// What an attempt that arrives now may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Check the password (and count it as pending until it is known).
    Check,
    /// Every try left in this window is in flight: wait for one to finish.
    Wait,
    /// Temporarily locked: `secs` more seconds.
    TempLocked {
        secs: u64,
    },
    BranchLocked,
}

/// What a checked attempt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Right,
    /// Wrong; `left` more wrong ones start a lock, which is the branch lock if `branch_next`.
    Wrong {
        left: u32,
        branch_next: bool,
    },
    /// This wrong password started a temporary lock of `secs`.
    TempLockedNow {
        secs: u64,
    },
    /// This wrong password started the branch lock.
    BranchLockedNow,
}

impl Policy {
    pub fn branch_locked(&self, s: &State) -> bool {
        s.fails >= self.limit
    }

    /// Whether an attempt may be checked, given `pending` attempts already in flight.
    pub fn gate(&self, s: &State, pending: u32, now: u64) -> Gate {
        if self.branch_locked(s) {
            Gate::BranchLocked
        } else if s.until > now {
            Gate::TempLocked {
                secs: s.until - now,
            }
        } else if s.fails + pending >= self.limit {
            Gate::Wait
        } else {
            Gate::Check
        }
    }

    /// Applies a checked attempt's result to `s`.
    pub fn record(&self, s: &mut State, right: bool, now: u64) -> Verdict {
        if right {
            *s = State::default();
            return Verdict::Right;
        }
        s.fails = (s.fails + 1).min(self.limit);
        if s.fails < self.limit {
            return Verdict::Wrong {
                left: self.limit - s.fails,
                branch_next: s.temp_locks + 1 >= self.temp_locks_before_branch,
            };
        }
        s.temp_locks += 1;
        if s.temp_locks >= self.temp_locks_before_branch {
            // fails stays at the limit: the branch lock.
            s.until = 0;
            return Verdict::BranchLockedNow;
        }
        s.fails = 0;
        s.until = now + self.temp_lock_secs;
        Verdict::TempLockedNow {
            secs: self.temp_lock_secs,
        }
    }

    /// The branch's ロック解除: as if a right password had been typed.
    pub fn release(s: &mut State) {
        *s = State::default();
    }

    /// Wrong passwords one ID takes from a fresh state before the branch lock.
    pub fn tries_before_branch(&self) -> u32 {
        self.limit * self.temp_locks_before_branch
    }
}

impl crate::config::Policy {
    /// The password lockout this bank profile asks for.
    pub fn lockout(&self) -> Policy {
        Policy {
            limit: self.login_fail_limit,
            temp_lock_secs: self.temp_lock_minutes * 60,
            temp_locks_before_branch: self.temp_locks_before_branch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Policy = Policy {
        limit: 5,
        temp_lock_secs: 900,
        temp_locks_before_branch: 5,
    };

    #[test]
    fn five_wrong_lock_for_a_while_and_the_fifth_lock_is_the_branchs() {
        let mut s = State::default();
        let mut now = 1000;
        for round in 1..=5 {
            for i in 1..5 {
                assert_eq!(P.gate(&s, 0, now), Gate::Check);
                let v = P.record(&mut s, false, now);
                assert_eq!(
                    v,
                    Verdict::Wrong {
                        left: 5 - i,
                        branch_next: round == 5
                    }
                );
            }
            let v = P.record(&mut s, false, now);
            if round < 5 {
                assert_eq!(v, Verdict::TempLockedNow { secs: 900 });
                assert_eq!(P.gate(&s, 0, now + 899), Gate::TempLocked { secs: 1 });
                now += 900;
            } else {
                assert_eq!(v, Verdict::BranchLockedNow);
            }
        }
        assert_eq!(P.gate(&s, 0, now + 1_000_000), Gate::BranchLocked);
        assert_eq!(P.tries_before_branch(), 25);
        Policy::release(&mut s);
        assert_eq!(P.gate(&s, 0, now), Gate::Check);
    }

    #[test]
    fn pending_attempts_wait_instead_of_failing() {
        let mut s = State::default();
        assert_eq!(P.gate(&s, 4, 0), Gate::Check);
        assert_eq!(P.gate(&s, 5, 0), Gate::Wait);
        P.record(&mut s, false, 0);
        assert_eq!(P.gate(&s, 4, 0), Gate::Wait);
        assert_eq!(P.record(&mut s, true, 0), Verdict::Right);
        assert_eq!(s, State::default());
    }

    #[test]
    fn a_right_password_forgets_earlier_temporary_locks() {
        let mut s = State::default();
        for _ in 0..5 {
            P.record(&mut s, false, 0);
        }
        assert_eq!(s.temp_locks, 1);
        P.record(&mut s, true, 1000);
        assert_eq!(s.temp_locks, 0);
    }

    #[test]
    fn an_old_record_at_the_limit_stays_branch_locked() {
        let s = State {
            fails: 5,
            ..State::default()
        };
        assert_eq!(P.gate(&s, 0, 0), Gate::BranchLocked);
    }
}
