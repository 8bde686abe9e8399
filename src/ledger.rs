//! The bank-side operations on customers and tokens: password checks with lockout, OTP checks,
//! registration (利用開始) and exchange (交換). Each is one atomic store write carrying its audit
//! record, made durable before the caller may report it.

use crate::otp::Outcome;
use crate::password;
use crate::store::{
    Binding, Customer, Event, Receipt, ReceiptKind, Store, StoreError, Token, TokenKind,
    TokenState, Tx,
};
use sled::transaction::ConflictableTransactionError;

type TxResult<T> = Result<T, ConflictableTransactionError<crate::store::Abort>>;

/// Which of the customer's passwords is being checked; both share the login fail counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret {
    Login,
    Transfer,
}

/// Result of a password check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordCheck {
    Ok(Box<Customer>),
    /// Wrong password or unknown contract ID (the page must not tell which).
    Wrong {
        left: u32,
    },
    LockedNow,
    Locked,
}

/// Checks a password, counting the attempt before the (slow) hash check so that parallel
/// guesses cannot exceed `limit`.
pub async fn check_password(
    store: &Store,
    which: Secret,
    contract_id: &str,
    password: &str,
    now: u64,
    limit: u32,
) -> Result<PasswordCheck, StoreError> {
    let begun = store.write(|tx| {
        let Some(mut c) = tx.customer(contract_id)? else {
            return Ok(Begin::Unknown);
        };
        if c.login_fails >= limit {
            return Ok(Begin::Locked);
        }
        c.login_fails += 1;
        tx.put_customer(&c)?;
        Ok(Begin::Counted(match which {
            Secret::Login => c.login_hash.clone(),
            Secret::Transfer => c.transfer_hash.clone(),
        }))
    })?;
    let hash = match begun {
        Begin::Locked => {
            audit_only(
                store,
                now,
                "login_locked",
                Some(contract_id),
                "attempt on locked login",
            )?;
            return Ok(PasswordCheck::Locked);
        }
        Begin::Unknown => None,
        Begin::Counted(h) => Some(h),
    };
    let known = hash.is_some();
    let ok = password::verify_async(hash, password.to_owned()).await;
    if !known {
        audit_only(store, now, "login_failed", None, "unknown contract ID")?;
        store.durable().await?;
        return Ok(PasswordCheck::Wrong { left: limit });
    }
    let what = match which {
        Secret::Login => "login password",
        Secret::Transfer => "transfer password",
    };
    let result = store.write(|tx| {
        let Some(mut c) = tx.customer(contract_id)? else {
            return Ok(PasswordCheck::Wrong { left: limit });
        };
        let (event, result) = if ok {
            c.login_fails = 0;
            ("login_ok", PasswordCheck::Ok(Box::new(c.clone())))
        } else if c.login_fails >= limit {
            ("login_lockout", PasswordCheck::LockedNow)
        } else {
            let left = limit - c.login_fails;
            ("login_failed", PasswordCheck::Wrong { left })
        };
        tx.put_customer(&c)?;
        tx.audit(
            now,
            Event {
                event,
                contract_id: Some(contract_id),
                detail: what.into(),
                ..Event::default()
            },
        )?;
        Ok(result)
    })?;
    store.durable().await?;
    Ok(result)
}

enum Begin {
    Unknown,
    Locked,
    Counted(String),
}

fn audit_only(
    store: &Store,
    now: u64,
    event: &str,
    contract_id: Option<&str>,
    detail: &str,
) -> Result<(), StoreError> {
    store.write(|tx| {
        tx.audit(
            now,
            Event {
                event,
                contract_id,
                detail: detail.into(),
                ..Event::default()
            },
        )
    })
}

/// Why an OTP was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpRefusal {
    Wrong { left: u32 },
    Replayed,
    LockedNow,
    Locked,
}

fn otp_event(o: Outcome) -> (&'static str, Result<u64, OtpRefusal>) {
    match o {
        Outcome::Accepted { step } => ("otp_ok", Ok(step)),
        Outcome::Rejected { left } => ("otp_failed", Err(OtpRefusal::Wrong { left })),
        Outcome::Replayed => ("otp_replayed", Err(OtpRefusal::Replayed)),
        Outcome::LockedNow => ("otp_lockout", Err(OtpRefusal::LockedNow)),
        Outcome::Locked => ("otp_locked", Err(OtpRefusal::Locked)),
    }
}

/// One OTP attempt on `token` inside a transaction: stores the new OTP state and audits it.
fn attempt_in(
    tx: &mut Tx,
    token: &mut Token,
    contract_id: &str,
    code: &str,
    now: u64,
    limit: u32,
    purpose: &str,
) -> TxResult<Result<u64, OtpRefusal>> {
    let (event, result) = otp_event(token.attempt(code, now, limit));
    tx.put_token(token)?;
    tx.audit(
        now,
        Event {
            event,
            contract_id: Some(contract_id),
            serial: Some(&token.serial),
            detail: purpose.into(),
        },
    )?;
    Ok(result)
}

/// Result of checking a customer's OTP against the token bound to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OtpCheck {
    Accepted {
        serial: String,
    },
    Refused(OtpRefusal),
    NoToken,
    /// The customer's token was cancelled at a branch (transfers blocked).
    Cancelled,
    UnknownCustomer,
}

/// Checks `code` against the customer's own token (login, exchange step 1, other channels).
pub async fn check_otp(
    store: &Store,
    contract_id: &str,
    code: &str,
    now: u64,
    limit: u32,
    purpose: &str,
) -> Result<OtpCheck, StoreError> {
    let result = store.write(|tx| {
        let Some(c) = tx.customer(contract_id)? else {
            return Ok(OtpCheck::UnknownCustomer);
        };
        let Some(binding) = c.token else {
            return Ok(if c.transfers_blocked {
                OtpCheck::Cancelled
            } else {
                OtpCheck::NoToken
            });
        };
        let Some(mut token) = tx.token(&binding.serial)? else {
            return Ok(OtpCheck::NoToken);
        };
        Ok(
            match attempt_in(tx, &mut token, contract_id, code, now, limit, purpose)? {
                Ok(_) => OtpCheck::Accepted {
                    serial: token.serial,
                },
                Err(r) => OtpCheck::Refused(r),
            },
        )
    })?;
    store.durable().await?;
    Ok(result)
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
    /// Replaced or cancelled: never usable again.
    Retired,
    /// The new serial is the customer's current token.
    SameToken,
    Otp(OtpRefusal),
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
        TokenState::Replaced { .. }
        | TokenState::Cancelled { .. }
        | TokenState::Returned { .. } => return Err(Refusal::Retired),
    }
    match &token.assigned_to {
        Some(owner) if owner != contract_id => Err(Refusal::Taken),
        _ => Ok(()),
    }
}

/// 利用開始: binds a hardware token after its current OTP checks out. Registration, receipt and
/// audit record are one write, durable on return.
pub async fn register(
    store: &Store,
    contract_id: &str,
    serial: &str,
    code: &str,
    login_otp: bool,
    now: u64,
    limit: u32,
) -> Result<Result<Done, Refusal>, StoreError> {
    let result = store.write(|tx| {
        let Some(mut c) = tx.customer(contract_id)? else {
            return Ok(Err(Refusal::UnknownCustomer));
        };
        if c.token.is_some() {
            return Ok(Err(Refusal::HasToken));
        }
        let Some(mut token) = tx.token(serial)? else {
            return Ok(Err(Refusal::UnknownSerial));
        };
        if let Err(r) = claimable(&token, contract_id) {
            return Ok(Err(r));
        }
        if let Err(r) = attempt_in(
            tx,
            &mut token,
            contract_id,
            code,
            now,
            limit,
            "registration",
        )? {
            return Ok(Err(Refusal::Otp(r)));
        }
        token.state = TokenState::Active {
            contract_id: contract_id.to_owned(),
            since: now,
        };
        tx.put_token(&token)?;
        c.token = Some(Binding {
            serial: serial.to_owned(),
            since: now,
            login_otp,
        });
        c.transfers_blocked = false;
        tx.put_customer(&c)?;
        let receipt = tx.receipt(ReceiptKind::Registration, contract_id, serial, None, now)?;
        tx.audit(
            now,
            Event {
                event: "registration",
                contract_id: Some(contract_id),
                serial: Some(serial),
                detail: format!("receipt {} login_otp={}", receipt.number_text(), login_otp),
            },
        )?;
        Ok(Ok(Done { receipt }))
    })?;
    store.durable().await?;
    Ok(result)
}

/// 交換: releases `old_serial` (verified in step 1) and binds `new_serial` after its OTP checks
/// out. Both tokens, the customer, receipt and audit record change in one durable write.
pub async fn exchange(
    store: &Store,
    contract_id: &str,
    old_serial: &str,
    new_serial: &str,
    code: &str,
    now: u64,
    limit: u32,
) -> Result<Result<Done, Refusal>, StoreError> {
    let result = store.write(|tx| {
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
        let Some(mut new) = tx.token(new_serial)? else {
            return Ok(Err(Refusal::UnknownSerial));
        };
        if let Err(r) = claimable(&new, contract_id) {
            return Ok(Err(r));
        }
        if let Err(r) = attempt_in(tx, &mut new, contract_id, code, now, limit, "exchange")? {
            return Ok(Err(Refusal::Otp(r)));
        }
        old.state = TokenState::Replaced {
            contract_id: contract_id.to_owned(),
            at: now,
        };
        tx.put_token(&old)?;
        new.state = TokenState::Active {
            contract_id: contract_id.to_owned(),
            since: now,
        };
        tx.put_token(&new)?;
        c.token = Some(Binding {
            serial: new_serial.to_owned(),
            since: now,
            login_otp: binding.login_otp,
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
                event: "exchange",
                contract_id: Some(contract_id),
                serial: Some(new_serial),
                detail: format!("receipt {} replaces {}", receipt.number_text(), old_serial),
            },
        )?;
        Ok(Ok(Done { receipt }))
    })?;
    store.durable().await?;
    Ok(result)
}

/// Records a feature-phone 利用中止 attempt (the phone is sent to a branch).
pub async fn cancel_attempt(
    store: &Store,
    contract_id: Option<&str>,
    now: u64,
) -> Result<(), StoreError> {
    store.write(|tx| tx.cancel_attempt(now, contract_id))?;
    store.durable().await
}
