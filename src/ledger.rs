//! The bank-side operations on customers and tokens: OTP checks (password checks are
//! `crate::attempts`), registration (利用開始) and exchange (交換). Each is one atomic store write carrying its audit
//! record, made durable before the caller may report it.

use crate::cancel_count::Batch;
use crate::ids::{ContractId, OtpCode, Serial};
use crate::otp::Outcome;
use crate::store::{
    Attempt, AuditEvent, Binding, Customer, Event, Receipt, ReceiptKind, Store, StoreError, Token,
    TokenKind, TokenState, Tx, TxResult,
};

/// Why an OTP was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpRefusal {
    Wrong { left: u32 },
    Replayed,
    LockedNow,
    Locked,
}

fn otp_event(o: Outcome) -> (AuditEvent, Result<u64, OtpRefusal>) {
    match o {
        Outcome::Accepted { step } => (AuditEvent::OtpOk, Ok(step)),
        Outcome::Rejected { left } => (AuditEvent::OtpFailed, Err(OtpRefusal::Wrong { left })),
        Outcome::Replayed => (AuditEvent::OtpReplayed, Err(OtpRefusal::Replayed)),
        Outcome::LockedNow => (AuditEvent::OtpLockout, Err(OtpRefusal::LockedNow)),
        Outcome::Locked => (AuditEvent::OtpLocked, Err(OtpRefusal::Locked)),
    }
}

/// One OTP attempt on `token` inside a transaction: stores the new OTP state and audits it.
/// Returns the result and the audit record's sequence number. The one OTP check every
/// journey uses (法人 registrations and API checks too, see [`crate::business`]).
pub(crate) fn attempt_in(
    tx: &mut Tx,
    token: &mut Token,
    contract_id: &str,
    code: &OtpCode,
    now: u64,
    limit: u32,
    detail: &str,
) -> TxResult<(Result<u64, OtpRefusal>, u64)> {
    let secret = tx.secret(token)?;
    let (event, result) = otp_event(token.attempt(&secret, code, now, limit));
    tx.put_token(token)?;
    let seq = tx.audit(
        now,
        Event {
            event,
            contract_id: Some(contract_id),
            serial: Some(&token.serial),
            detail: detail.into(),
        },
    )?;
    Ok((result, seq))
}

/// Result of checking a customer's OTP against the token bound to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OtpCheck {
    Accepted {
        serial: Serial,
    },
    Refused(OtpRefusal),
    NoToken,
    /// The customer's token was cancelled at a branch (transfers blocked).
    Cancelled,
    UnknownCustomer,
}

/// Checks `code` against the customer's own token (login, exchange step 1). Only checks that
/// reach a token are audited.
pub async fn check_otp(
    store: &Store,
    contract_id: &ContractId,
    code: &OtpCode,
    now: u64,
    limit: u32,
    purpose: &str,
) -> Result<OtpCheck, StoreError> {
    let contract_id = contract_id.as_str();
    let (result, _) = store
        .commit(|tx| check_in(tx, contract_id, code, now, limit, purpose))
        .await?;
    Ok(result)
}

/// [`check_otp`] for another channel: the same state, counter and lockout, but every check is
/// audited (with `detail` naming the caller and purpose, never the code), and the audit record's
/// sequence number comes back with the result. Durable on return.
pub async fn check_otp_audited(
    store: &Store,
    contract_id: &ContractId,
    code: &OtpCode,
    now: u64,
    limit: u32,
    detail: &str,
) -> Result<(OtpCheck, u64), StoreError> {
    check_otp_audited_for(store, contract_id, None, code, now, limit, detail).await
}

/// [`check_otp_audited`] for a 法人 contract's user too: with `user_id`, the code is checked
/// against the token registered to that user (or the contract's shared token), see
/// [`crate::business::check_in`]. A business contract asked without a user has no token.
pub async fn check_otp_audited_for(
    store: &Store,
    contract_id: &ContractId,
    user_id: Option<&str>,
    code: &OtpCode,
    now: u64,
    limit: u32,
    detail: &str,
) -> Result<(OtpCheck, u64), StoreError> {
    let contract_id = contract_id.as_str();
    // The receipt is the number of the check's one audit record, known after COMMIT (see
    // `Store::commit_receipted`): the number `audit` returns inside the body is not used.
    let (check, receipt) = store
        .commit_receipted(|tx| {
            let (check, seq) = match user_id {
                Some(user) => {
                    crate::business::check_in(tx, contract_id, user, code, now, limit, detail)?
                }
                None if tx.business(contract_id)?.is_some() => (OtpCheck::NoToken, None),
                None => check_in(tx, contract_id, code, now, limit, detail)?,
            };
            if seq.is_none() {
                // The check stopped before a token: record why, in the same write.
                tx.audit(
                    now,
                    Event {
                        contract_id: Some(contract_id),
                        detail: detail.into(),
                        ..Event::new(match check {
                            OtpCheck::UnknownCustomer => AuditEvent::OtpUnknownContract,
                            OtpCheck::Cancelled => AuditEvent::OtpCancelled,
                            _ => AuditEvent::OtpNoToken,
                        })
                    },
                )?;
            }
            Ok(check)
        })
        .await?;
    let receipt = receipt.ok_or_else(|| StoreError::Corrupt {
        tree: "audit",
        detail: "an audited OTP check appended no record".into(),
    })?;
    Ok((check, receipt))
}

/// Changes the customer's ログイン時のワンタイムパスワード choice (seed 003: the customer chooses
/// it, 任意で) once `code` is accepted from their token: the OTP attempt, the new choice and its
/// audit record (`login_otp_changed`, detail `on`/`off`) are one write, durable on return.
pub async fn set_login_otp(
    store: &Store,
    contract_id: &ContractId,
    code: &OtpCode,
    login_otp: bool,
    now: u64,
    limit: u32,
) -> Result<OtpCheck, StoreError> {
    let contract_id = contract_id.as_str();
    store
        .commit(|tx| {
            let (check, _) = check_in(tx, contract_id, code, now, limit, "login otp setting")?;
            let OtpCheck::Accepted { serial } = &check else {
                return Ok(check);
            };
            let Some(mut customer) = tx.customer(contract_id)? else {
                return Ok(OtpCheck::UnknownCustomer);
            };
            if let Some(binding) = customer.token.as_mut() {
                binding.login_otp = login_otp;
            }
            tx.put_customer(&customer)?;
            tx.audit(
                now,
                Event {
                    event: AuditEvent::LoginOtpChanged,
                    contract_id: Some(contract_id),
                    serial: Some(serial.as_str()),
                    detail: if login_otp { "on" } else { "off" }.into(),
                },
            )?;
            Ok(check)
        })
        .await
}

/// The check inside one transaction. Returns the audit record's sequence number when the check
/// reached a token (and so was audited).
fn check_in(
    tx: &mut Tx,
    contract_id: &str,
    code: &OtpCode,
    now: u64,
    limit: u32,
    detail: &str,
) -> TxResult<(OtpCheck, Option<u64>)> {
    let Some(c) = tx.customer(contract_id)? else {
        return Ok((OtpCheck::UnknownCustomer, None));
    };
    let Some(binding) = c.token else {
        let check = if c.transfers_blocked {
            OtpCheck::Cancelled
        } else {
            OtpCheck::NoToken
        };
        return Ok((check, None));
    };
    check_token_in(tx, &binding.serial, contract_id, code, now, limit, detail)
}

/// Checks `code` against the token `serial` used by `contract_id` (a customer's, or one a
/// business user is registered to), audited; [`OtpCheck::NoToken`] when the token is gone.
pub(crate) fn check_token_in(
    tx: &mut Tx,
    serial: &str,
    contract_id: &str,
    code: &OtpCode,
    now: u64,
    limit: u32,
    detail: &str,
) -> TxResult<(OtpCheck, Option<u64>)> {
    let Some(mut token) = tx.token(serial)? else {
        return Ok((OtpCheck::NoToken, None));
    };
    let (result, seq) = attempt_in(tx, &mut token, contract_id, code, now, limit, detail)?;
    let check = match result {
        Ok(_) => OtpCheck::Accepted {
            serial: Serial::stored(token.serial),
        },
        Err(r) => OtpCheck::Refused(r),
    };
    Ok((check, Some(seq)))
}

/// Why a token cannot be registered to this customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    UnknownCustomer,
    /// The customer already uses a token (exchange is the way to change it).
    HasToken,
    /// Exchange: the customer's token is no longer the one step 1 verified.
    TokenChanged,
    UnknownSerial,
    /// Feature phones register hardware tokens only (seed 003).
    Software,
    /// Bound to someone else, or handed out at a branch for another customer.
    Taken,
    /// The customer's own token, replaced, cancelled or handed back: never usable again.
    Retired,
    /// The new serial is the customer's current token.
    SameToken,
    Otp(OtpRefusal),
    /// A wrong code for a token not yet theirs: `left` more lock the customer's claims.
    ClaimWrong {
        left: u32,
    },
    /// Too many wrong codes for tokens not yet theirs: a branch must release the customer.
    ClaimLocked,
}

/// What a successful registration or exchange reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    pub receipt: Receipt,
}

/// Checks that `serial` may become `contract_id`'s token.
fn claimable(token: &Token, contract_id: &str) -> Result<(), Refusal> {
    if token.kind == TokenKind::Software {
        return Err(Refusal::Software);
    }
    match &token.state {
        TokenState::Available => {}
        TokenState::Active { .. } => return Err(Refusal::Taken),
        // The customer's own old token may be named as such; anyone else's is "taken", so
        // that a serial's history is not for a stranger to learn.
        TokenState::Replaced {
            contract_id: owner, ..
        }
        | TokenState::Cancelled {
            contract_id: owner, ..
        }
        | TokenState::Returned {
            contract_id: owner, ..
        } => {
            return Err(if owner == contract_id {
                Refusal::Retired
            } else {
                Refusal::Taken
            })
        }
    }
    match &token.assigned_to {
        Some(owner) if owner != contract_id => Err(Refusal::Taken),
        _ => Ok(()),
    }
}

/// Makes `serial` customer `c`'s active token inside a transaction, once it may be claimed and
/// its current OTP checks out. The token is nobody's yet, so a wrong code counts against the
/// customer who typed it (`c.claim_fails`, stored either way) and never against the token: a
/// stranger's guesses cannot lock a token for its future owner. Every attempt is audited.
fn claim_in(
    tx: &mut Tx,
    c: &mut Customer,
    serial: &str,
    code: &OtpCode,
    now: u64,
    limit: u32,
    purpose: &str,
) -> TxResult<Result<(), Refusal>> {
    let contract_id = c.contract_id.clone();
    let Some(mut token) = tx.token(serial)? else {
        return Ok(Err(Refusal::UnknownSerial));
    };
    if let Err(r) = claimable(&token, &contract_id) {
        return Ok(Err(r));
    }
    if c.claim_fails >= limit {
        return Ok(Err(Refusal::ClaimLocked));
    }
    let secret = tx.secret(&token)?;
    let before = token.otp;
    // No limit on the token's own count: only the customer's count locks here.
    let outcome = token.attempt(&secret, code, now, u32::MAX);
    let (event, refusal) = match outcome {
        Outcome::Accepted { .. } => {
            c.claim_fails = 0;
            (AuditEvent::OtpOk, None)
        }
        Outcome::Rejected { .. } | Outcome::LockedNow => {
            token.otp = before;
            c.claim_fails = c.claim_fails.saturating_add(1);
            let refusal = match limit.saturating_sub(c.claim_fails) {
                0 => Refusal::ClaimLocked,
                left => Refusal::ClaimWrong { left },
            };
            (AuditEvent::OtpFailed, Some(refusal))
        }
        Outcome::Replayed => (
            AuditEvent::OtpReplayed,
            Some(Refusal::Otp(OtpRefusal::Replayed)),
        ),
        // Locked before unbound tokens stopped counting: released at a branch.
        Outcome::Locked => (
            AuditEvent::OtpLocked,
            Some(Refusal::Otp(OtpRefusal::Locked)),
        ),
    };
    tx.audit(
        now,
        Event {
            event,
            contract_id: Some(&contract_id),
            serial: Some(serial),
            detail: format!(
                "{purpose}, counted for the customer ({} wrong)",
                c.claim_fails
            ),
        },
    )?;
    tx.put_customer(c)?;
    if let Some(r) = refusal {
        return Ok(Err(r));
    }
    token.state = TokenState::Active {
        contract_id,
        since: now,
    };
    tx.put_token(&token)?;
    Ok(Ok(()))
}

/// 利用開始: binds a hardware token after its current OTP checks out. Registration, receipt and
/// audit record are one write, durable on return.
pub async fn register(
    store: &Store,
    contract_id: &ContractId,
    serial: &Serial,
    code: &OtpCode,
    login_otp: bool,
    now: u64,
    limit: u32,
) -> Result<Result<Done, Refusal>, StoreError> {
    register_from(
        store,
        contract_id,
        serial,
        code,
        login_otp,
        None,
        now,
        limit,
    )
    .await
}

/// [`register`], remembering the carrier subscriber ID of the phone that registered (trusted,
/// and only when the bank asks for it) in the same write.
#[allow(clippy::too_many_arguments)]
pub async fn register_from(
    store: &Store,
    contract_id: &ContractId,
    serial: &Serial,
    code: &OtpCode,
    login_otp: bool,
    subscriber_id: Option<&str>,
    now: u64,
    limit: u32,
) -> Result<Result<Done, Refusal>, StoreError> {
    let contract_id = contract_id.as_str();
    let serial = serial.as_str();
    store
        .commit(|tx| {
            let Some(mut c) = tx.customer(contract_id)?.filter(|c| !c.closed) else {
                return Ok(Err(Refusal::UnknownCustomer));
            };
            if c.token.is_some() {
                return Ok(Err(Refusal::HasToken));
            }
            if let Err(r) = claim_in(tx, &mut c, serial, code, now, limit, "registration")? {
                return Ok(Err(r));
            }
            c.token = Some(Binding {
                serial: serial.to_owned(),
                since: now,
                login_otp,
                subscriber_id: subscriber_id.map(str::to_owned),
            });
            c.transfers_blocked = false;
            tx.put_customer(&c)?;
            let receipt = tx.receipt(ReceiptKind::Registration, contract_id, serial, None, now)?;
            tx.audit(
                now,
                Event {
                    event: AuditEvent::Registration,
                    contract_id: Some(contract_id),
                    serial: Some(serial),
                    detail: format!("receipt {} login_otp={}", receipt.number_text(), login_otp),
                },
            )?;
            Ok(Ok(Done { receipt }))
        })
        .await
}

/// 交換: releases `old_serial` (verified in step 1) and binds `new_serial` after its OTP checks
/// out. Both tokens, the customer, receipt and audit record change in one durable write.
pub async fn exchange(
    store: &Store,
    contract_id: &ContractId,
    old_serial: &Serial,
    new_serial: &Serial,
    code: &OtpCode,
    now: u64,
    limit: u32,
) -> Result<Result<Done, Refusal>, StoreError> {
    let contract_id = contract_id.as_str();
    let old_serial = old_serial.as_str();
    let new_serial = new_serial.as_str();
    store
        .commit(|tx| {
            let Some(mut c) = tx.customer(contract_id)? else {
                return Ok(Err(Refusal::UnknownCustomer));
            };
            let Some(binding) = c.token.clone().filter(|b| b.serial == old_serial) else {
                return Ok(Err(Refusal::TokenChanged));
            };
            if new_serial == old_serial {
                return Ok(Err(Refusal::SameToken));
            }
            let Some(mut old) = tx.token(old_serial)? else {
                return Ok(Err(Refusal::TokenChanged));
            };
            if let Err(r) = claim_in(tx, &mut c, new_serial, code, now, limit, "exchange")? {
                return Ok(Err(r));
            }
            old.state = TokenState::Replaced {
                contract_id: contract_id.to_owned(),
                at: now,
            };
            tx.put_token(&old)?;
            c.token = Some(Binding {
                serial: new_serial.to_owned(),
                since: now,
                login_otp: binding.login_otp,
                // The same customer's phone: the ID remembered at 利用開始 stays.
                subscriber_id: binding.subscriber_id.clone(),
            });
            tx.put_customer(&c)?;
            let receipt = tx.receipt(
                ReceiptKind::Exchange,
                contract_id,
                new_serial,
                Some(old_serial),
                now,
            )?;
            tx.audit(
                now,
                Event {
                    event: AuditEvent::Exchange,
                    contract_id: Some(contract_id),
                    serial: Some(new_serial),
                    detail: format!("receipt {} replaces {}", receipt.number_text(), old_serial),
                },
            )?;
            Ok(Ok(Done { receipt }))
        })
        .await
}

/// Records a feature-phone 利用中止 attempt (the phone is sent to a branch).
pub async fn cancel_attempt(
    store: &Store,
    contract_id: Option<&ContractId>,
    now: u64,
) -> Result<(), StoreError> {
    let contract_id = contract_id.map(ContractId::as_str);
    store
        .commit(|tx| {
            tx.add_attempt(&Attempt {
                at: now,
                contract_id: contract_id.map(str::to_owned),
                ..Attempt::default()
            })?;
            tx.audit(
                now,
                Event {
                    contract_id,
                    detail: "feature phone sent to branch".into(),
                    ..Event::new(AuditEvent::CancelAttempt)
                },
            )
        })
        .await?;
    Ok(())
}

/// Writes a batch of anonymous 利用中止 counts ([`crate::cancel_count`]): per carrier one
/// counted attempt record and one audit record, whatever the number of views. Not waiting
/// for the disk (the sweep and shutdown; shutdown flushes after).
pub fn write_cancel_counts(store: &Store, batch: &Batch) -> Result<(), StoreError> {
    store.write(|tx| cancel_counts_in(tx, batch))
}

/// [`write_cancel_counts`], durable on return (written on a request's path).
pub async fn commit_cancel_counts(store: &Store, batch: &Batch) -> Result<(), StoreError> {
    store.commit(|tx| cancel_counts_in(tx, batch)).await
}

fn cancel_counts_in(tx: &mut Tx, batch: &Batch) -> TxResult<()> {
    for &(carrier, count) in &batch.counts {
        tx.add_attempt(&Attempt {
            at: batch.since,
            contract_id: None,
            count,
            carrier: Some(carrier.to_owned()),
        })?;
        tx.audit(
            batch.since,
            Event {
                detail: format!(
                    "{count} anonymous feature-phone attempt(s) ({carrier}) sent to branch"
                ),
                ..Event::new(AuditEvent::CancelAttempt)
            },
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cid(s: &str) -> ContractId {
        ContractId::parse(s).unwrap()
    }

    fn serial(s: &str) -> Serial {
        Serial::parse(s).unwrap()
    }

    fn otp(s: &str) -> OtpCode {
        OtpCode::parse(s).unwrap()
    }
    use crate::otp::{HashAlg, Params};
    use crate::seal::Sealer;
    use crate::store::Customer;
    use crate::store::NewToken;

    const SECRET: &[u8] = b"12345678901234567890";
    const NOW: u64 = 1_700_000_000;
    const SERIAL: &str = "GMHW00000001";

    fn params() -> Params {
        Params {
            algorithm: HashAlg::Sha1,
            digits: 6,
            period: 60,
            t0: 0,
        }
    }

    fn customer(id: &str, token: Option<&str>, transfers_blocked: bool) -> Customer {
        Customer {
            contract_id: id.into(),
            name: "テスト".into(),
            login_hash: String::new(),
            transfer_hash: String::new(),
            login_fails: 0,
            claim_fails: 0,
            login_temp_locks: 0,
            login_locked_until: 0,
            transfer_lock: Default::default(),
            token: token.map(|serial| Binding {
                serial: serial.into(),
                since: NOW,
                login_otp: true,
                subscriber_id: None,
            }),
            transfers_blocked,
            closed: false,
            from_host: None,
        }
    }

    /// A store with customer 1 holding SERIAL, 2 with no token, 3 whose token was cancelled.
    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), Sealer::from_key(&[3; 32])).unwrap();
        let mut token = store.new_token(&NewToken {
            serial: SERIAL,
            kind: TokenKind::Hardware,
            params: params(),
            secret: SECRET,
        });
        token.state = TokenState::Active {
            contract_id: "1".into(),
            since: NOW,
        };
        store
            .write(|tx| {
                tx.put_token(&token)?;
                tx.put_customer(&customer("1", Some(SERIAL), false))?;
                tx.put_customer(&customer("2", None, false))?;
                tx.put_customer(&customer("3", None, true))
            })
            .unwrap();
        (dir, store)
    }

    fn record(store: &Store, seq: u64) -> crate::store::AuditRecord {
        store
            .audit()
            .map(Result::unwrap)
            .find(|r| r.seq == seq)
            .unwrap()
    }

    #[tokio::test]
    async fn every_audited_check_returns_its_own_record() {
        let (_dir, store) = store();
        let code = params().code_at(SECRET, NOW);
        let detail = "api caller=ib purpose=transfer";
        for (id, code, want, event) in [
            ("1", code.as_str(), "accepted", "otp_ok"),
            ("1", code.as_str(), "replayed", "otp_replayed"),
            ("2", code.as_str(), "no_token", "otp_no_token"),
            ("3", code.as_str(), "cancelled", "otp_cancelled"),
            ("9", code.as_str(), "unknown", "otp_unknown_contract"),
        ] {
            let (check, seq) = check_otp_audited(&store, &cid(id), &otp(code), NOW, 5, detail)
                .await
                .unwrap();
            let got = match check {
                OtpCheck::Accepted { .. } => "accepted",
                OtpCheck::Refused(OtpRefusal::Replayed) => "replayed",
                OtpCheck::NoToken => "no_token",
                OtpCheck::Cancelled => "cancelled",
                OtpCheck::UnknownCustomer => "unknown",
                OtpCheck::Refused(_) => "refused",
            };
            assert_eq!(got, want, "contract {id}");
            let rec = record(&store, seq);
            assert_eq!(rec.event, event);
            assert_eq!(rec.contract_id.as_deref(), Some(id));
            assert_eq!(rec.detail, detail);
            assert!(!rec.detail.contains(code));
        }
        assert_eq!(store.verify_audit().unwrap(), Ok(5));
    }

    #[tokio::test]
    async fn phone_checks_are_unchanged_and_share_the_counter() {
        let (_dir, store) = store();
        // The phone's check does not audit checks that reach no token, as before.
        assert_eq!(
            check_otp(&store, &cid("3"), &otp("123456"), NOW, 5, "login")
                .await
                .unwrap(),
            OtpCheck::Cancelled
        );
        assert_eq!(store.audit().count(), 0);
        // Four wrong codes through the API, the fifth on the phone locks the token.
        let right = params().code_at(SECRET, NOW);
        let wrong = if right == "000000" {
            "111111"
        } else {
            "000000"
        };
        for _ in 0..4 {
            check_otp_audited(&store, &cid("1"), &otp(wrong), NOW, 5, "api")
                .await
                .unwrap();
        }
        assert_eq!(
            check_otp(&store, &cid("1"), &otp(wrong), NOW, 5, "login")
                .await
                .unwrap(),
            OtpCheck::Refused(OtpRefusal::LockedNow)
        );
        let (check, _) = check_otp_audited(&store, &cid("1"), &otp(&right), NOW, 5, "api")
            .await
            .unwrap();
        assert_eq!(check, OtpCheck::Refused(OtpRefusal::Locked));
    }

    #[tokio::test]
    async fn wrong_codes_for_a_free_token_count_against_the_customer() {
        let (_dir, store) = store();
        let free = "GMHW00000002";
        let token = store.new_token(&NewToken {
            serial: free,
            kind: TokenKind::Hardware,
            params: params(),
            secret: SECRET,
        });
        store
            .write(|tx| {
                tx.put_token(&token)?;
                tx.put_customer(&customer("4", None, false))
            })
            .unwrap();
        let right = params().code_at(SECRET, NOW);
        let wrong = if right == "000000" {
            "111111"
        } else {
            "000000"
        };
        // Customer 2 types five wrong codes: their claims lock, the token does not count.
        let mut last = None;
        for _ in 0..5 {
            last = Some(
                register(&store, &cid("2"), &serial(free), &otp(wrong), false, NOW, 5)
                    .await
                    .unwrap(),
            );
        }
        assert_eq!(last, Some(Err(Refusal::ClaimLocked)));
        assert_eq!(store.customer("2").unwrap().unwrap().claim_fails, 5);
        let t = store.token(free).unwrap().unwrap();
        assert_eq!((t.otp.fails, t.otp.locked), (0, false));
        assert_eq!(
            register(
                &store,
                &cid("2"),
                &serial(free),
                &otp(&right),
                false,
                NOW,
                5
            )
            .await
            .unwrap(),
            Err(Refusal::ClaimLocked)
        );
        // Another customer registers it with the right code; their own count starts at 0.
        assert_eq!(
            register(&store, &cid("4"), &serial(free), &otp(wrong), false, NOW, 5)
                .await
                .unwrap(),
            Err(Refusal::ClaimWrong { left: 4 })
        );
        assert!(register(
            &store,
            &cid("4"),
            &serial(free),
            &otp(&right),
            false,
            NOW,
            5
        )
        .await
        .unwrap()
        .is_ok());
        assert_eq!(store.customer("4").unwrap().unwrap().claim_fails, 0);
        assert_eq!(store.verify_audit().unwrap(), Ok(8));
    }
}
