//! One-time password checks over a token record: TOTP (RFC 6238) through totp-rs, replay
//! protection by time step, and the fail counter that locks a token.
//!
//! Pure: no clock, no storage. The caller passes the time and persists the changed state.

use serde::{Deserialize, Serialize};
use totp_rs::{Algorithm, Builder, Totp};

/// HMAC hash of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HashAlg {
    #[serde(rename = "SHA1")]
    Sha1,
    #[serde(rename = "SHA256")]
    Sha256,
    #[serde(rename = "SHA512")]
    Sha512,
}

impl HashAlg {
    pub fn parse(s: &str) -> Option<HashAlg> {
        match s.to_ascii_uppercase().replace('-', "").as_str() {
            "SHA1" => Some(HashAlg::Sha1),
            "SHA256" => Some(HashAlg::Sha256),
            "SHA512" => Some(HashAlg::Sha512),
            _ => None,
        }
    }
}

/// How a token computes its codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Params {
    pub algorithm: HashAlg,
    pub digits: u8,
    /// Seconds per step: 60 for the bank's hardware tokens, 30 for software tokens.
    pub period: u64,
    /// T0, the Unix time the token counts steps from (0 for almost every token).
    #[serde(default)]
    pub t0: u64,
}

/// Steps of clock drift accepted either way.
pub const SKEW: u16 = 1;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamsError {
    #[error("digits must be 6 to 8, got {0}")]
    Digits(u8),
    #[error("period must be 1 to 3600 seconds, got {0}")]
    Period(u64),
    #[error("secret must be at least 16 bytes, got {0}")]
    Secret(usize),
}

impl Params {
    pub fn validate(&self, secret_len: usize) -> Result<(), ParamsError> {
        if !(6..=8).contains(&self.digits) {
            return Err(ParamsError::Digits(self.digits));
        }
        if !(1..=3600).contains(&self.period) {
            return Err(ParamsError::Period(self.period));
        }
        if secret_len < 16 {
            return Err(ParamsError::Secret(secret_len));
        }
        Ok(())
    }

    fn totp(&self, secret: &[u8]) -> Totp {
        let algorithm = match self.algorithm {
            HashAlg::Sha1 => Algorithm::SHA1,
            HashAlg::Sha256 => Algorithm::SHA256,
            HashAlg::Sha512 => Algorithm::SHA512,
        };
        // Parameters are validated at import; `build_noncompliant` only skips totp-rs's own
        // secret-length policy, which `validate` already enforces.
        Builder::new()
            .with_algorithm(algorithm)
            .with_digits(self.digits.clamp(6, 8))
            .with_skew(SKEW)
            .with_step_duration(self.period.max(1))
            .with_secret(secret.to_vec())
            .build_noncompliant()
    }

    fn token_time(&self, unix: u64) -> u64 {
        unix.saturating_sub(self.t0)
    }

    /// The code the token shows at `unix` (the token simulator).
    pub fn code_at(&self, secret: &[u8], unix: u64) -> String {
        self.totp(secret)
            .generate(self.token_time(unix))
            .to_string()
    }

    /// The time step a token is in at `unix`.
    pub fn step_at(&self, unix: u64) -> u64 {
        self.token_time(unix) / self.period.max(1)
    }
}

/// What a code proves, before any state is considered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// The code belongs to this time step (within the skew window).
    Step(u64),
    NoMatch,
}

/// Checks `code` against the token at `unix`, one step of skew either way.
pub fn match_code(params: &Params, secret: &[u8], code: &str, unix: u64) -> Match {
    if code.len() != usize::from(params.digits) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Match::NoMatch;
    }
    // totp-rs compares tokens in constant time and returns the matched step.
    match params.totp(secret).check(code, params.token_time(unix)) {
        Some(step) => Match::Step(step),
        None => Match::NoMatch,
    }
}

/// The mutable OTP state of a token, stored with it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtpState {
    /// The last time step accepted: a code of this step or an earlier one is a replay.
    pub last_step: Option<u64>,
    /// Wrong codes in a row.
    pub fails: u32,
    pub locked: bool,
}

/// The outcome of one OTP attempt against a token's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Accepted {
        step: u64,
    },
    /// Wrong code; `left` more wrong codes lock the token.
    Rejected {
        left: u32,
    },
    /// Right code, but its step was already used: refused, and not counted as a guess.
    Replayed,
    /// This wrong code used up the last try: the token is now locked.
    LockedNow,
    /// The token was already locked: nothing is checked.
    Locked,
}

impl OtpState {
    /// Applies one attempt; the caller stores `self` afterwards whatever the outcome.
    pub fn attempt(
        &mut self,
        params: &Params,
        secret: &[u8],
        code: &str,
        unix: u64,
        limit: u32,
    ) -> Outcome {
        if self.locked {
            return Outcome::Locked;
        }
        match match_code(params, secret, code, unix) {
            Match::Step(step) if self.last_step.is_some_and(|last| step <= last) => {
                Outcome::Replayed
            }
            Match::Step(step) => {
                self.last_step = Some(step);
                self.fails = 0;
                Outcome::Accepted { step }
            }
            Match::NoMatch => {
                self.fails = self.fails.saturating_add(1);
                if self.fails >= limit {
                    self.locked = true;
                    Outcome::LockedNow
                } else {
                    Outcome::Rejected {
                        left: limit - self.fails,
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha1() -> Params {
        Params {
            algorithm: HashAlg::Sha1,
            digits: 6,
            period: 60,
            t0: 0,
        }
    }
    const SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn accepts_once_then_replay() {
        let p = sha1();
        let now = 1_700_000_000;
        let code = p.code_at(SECRET, now);
        let mut st = OtpState::default();
        assert_eq!(
            st.attempt(&p, SECRET, &code, now, 5),
            Outcome::Accepted {
                step: p.step_at(now)
            }
        );
        assert_eq!(st.attempt(&p, SECRET, &code, now, 5), Outcome::Replayed);
        // A code of the previous step is also refused now.
        let prev = p.code_at(SECRET, now - 60);
        assert_eq!(st.attempt(&p, SECRET, &prev, now, 5), Outcome::Replayed);
        // The next step's code (skew +1) is fresh.
        let next = p.code_at(SECRET, now + 60);
        assert!(matches!(
            st.attempt(&p, SECRET, &next, now, 5),
            Outcome::Accepted { .. }
        ));
    }

    #[test]
    fn skew_is_one_step() {
        let p = sha1();
        let now = 1_700_000_000;
        for (delta, ok) in [(-120i64, false), (-60, true), (60, true), (120, false)] {
            let code = p.code_at(SECRET, (now as i64 + delta) as u64);
            let got = matches!(match_code(&p, SECRET, &code, now), Match::Step(_));
            assert_eq!(got, ok, "delta {delta}");
        }
    }

    #[test]
    fn five_wrong_lock_and_right_resets() {
        let p = sha1();
        let now = 1_700_000_000;
        let wrong = if p.code_at(SECRET, now) == "000000" {
            "111111"
        } else {
            "000000"
        };
        let mut st = OtpState::default();
        for left in (1..5).rev() {
            assert_eq!(
                st.attempt(&p, SECRET, wrong, now, 5),
                Outcome::Rejected { left }
            );
        }
        let good = p.code_at(SECRET, now);
        assert!(matches!(
            st.attempt(&p, SECRET, &good, now, 5),
            Outcome::Accepted { .. }
        ));
        assert_eq!(st.fails, 0);
        for _ in 0..4 {
            st.attempt(&p, SECRET, wrong, now, 5);
        }
        assert_eq!(st.attempt(&p, SECRET, wrong, now, 5), Outcome::LockedNow);
        let next = p.code_at(SECRET, now + 60);
        assert_eq!(st.attempt(&p, SECRET, &next, now, 5), Outcome::Locked);
    }

    #[test]
    fn malformed_codes_never_match() {
        let p = sha1();
        for code in ["", "12345", "1234567", "12a456", "１２３４５６", "123 56"] {
            assert_eq!(match_code(&p, SECRET, code, 1_700_000_000), Match::NoMatch);
        }
    }

    #[test]
    fn t0_shifts_steps() {
        let p = Params { t0: 600, ..sha1() };
        assert_eq!(p.step_at(600), 0);
        assert_eq!(p.code_at(SECRET, 600), sha1().code_at(SECRET, 0));
    }
}
