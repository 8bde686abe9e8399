//! 法人 (business) internet banking, the bank side: the administrator's secrets with lockout,
//! token registration per user or shared (seeds 000, 002, 004), 利用登録解除, the 利用形態
//! change, and the OTP check of a business user. Each change is one atomic store write with
//! its receipt and audit record, durable before the caller may report it.
//!
//! [`load`] brings contracts in (demo data now, the `customers import` command later). The
//! administrator's phone screens are in `flows::biz`, the card check in [`crate::card`].
//!
//! Tokens: a registered token is `Active` for the contract, however many of its users it
//! serves (one replay state, one fail counter). A token no user of the contract uses any more
//! (replaced, released, 利用形態 changed) goes back to the inventory *assigned to the contract*:
//! only that contract's administrator may register it again, with its current OTP.

pub mod load;

use crate::ids::{ContractId, OtpCode, Serial};
use crate::ledger::{attempt_in, check_token_in, OtpCheck, OtpRefusal};
use crate::password;
use crate::store::{
    AuditEvent, Business, Event, Receipt, ReceiptKind, Store, StoreError, Token, TokenKind,
    TokenState, Tx, TxResult, Usage,
};

/// Which of the administrator's secrets is checked; both share the administrator's counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminSecret {
    /// ご契約先暗証番号 (login).
    Password,
    /// ご契約先確認暗証番号 (registration, release).
    Confirm,
}

/// The result of an administrator's secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminCheck {
    Ok(Box<Business>),
    /// Wrong secret or unknown 契約先ID (the page must not tell which).
    Wrong {
        left: u32,
    },
    LockedNow,
    Locked,
}

enum Begin {
    Unknown,
    Locked,
    Counted(String),
}

/// Checks an administrator's secret, counting the attempt before the (slow) hash check so
/// that parallel guesses cannot exceed `limit` (as customers' password checks once did; see `crate::attempts` for theirs).
pub async fn check_admin(
    store: &Store,
    which: AdminSecret,
    contract_id: &ContractId,
    secret: &str,
    now: u64,
    limit: u32,
) -> Result<AdminCheck, StoreError> {
    let contract_id = contract_id.as_str();
    let begun = store.write(|tx| {
        let Some(mut b) = tx.business(contract_id)? else {
            return Ok(Begin::Unknown);
        };
        // A closed contract answers as an unknown one.
        if b.closed {
            return Ok(Begin::Unknown);
        }
        if b.admin_fails >= limit {
            return Ok(Begin::Locked);
        }
        b.admin_fails += 1;
        tx.put_business(&b)?;
        Ok(Begin::Counted(match which {
            AdminSecret::Password => b.admin_hash.clone(),
            AdminSecret::Confirm => b.confirm_hash.clone(),
        }))
    })?;
    let what = match which {
        AdminSecret::Password => "ご契約先暗証番号",
        AdminSecret::Confirm => "ご契約先確認暗証番号",
    };
    let hash = match begun {
        Begin::Locked => {
            audit(store, now, AuditEvent::LoginLocked, contract_id, what).await?;
            return Ok(AdminCheck::Locked);
        }
        Begin::Unknown => None,
        Begin::Counted(h) => Some(h),
    };
    let known = hash.is_some();
    // An unknown ID costs the same hash as a known one.
    let ok = password::verify_async(hash.clone(), secret.to_owned()).await;
    // A secret imported in another scheme becomes argon2id with the write that records this
    // login, as customers' passwords do (hashed first, off the runtime).
    let rehashed = match &hash {
        Some(old) if ok => password::rehash_if_imported(old, secret).await,
        _ => None,
    };
    if !known {
        store
            .commit(|tx| {
                tx.audit(
                    now,
                    Event {
                        detail: "unknown 契約先ID".into(),
                        ..Event::new(AuditEvent::LoginFailed)
                    },
                )
            })
            .await?;
        return Ok(AdminCheck::Wrong { left: limit });
    }
    store
        .commit(|tx| {
            let Some(mut b) = tx.business(contract_id)? else {
                return Ok(AdminCheck::Wrong { left: limit });
            };
            let mut detail = format!("法人管理者 {what}");
            if let (Some(new), Some(old)) = (&rehashed, &hash) {
                let stored = match which {
                    AdminSecret::Password => &mut b.admin_hash,
                    AdminSecret::Confirm => &mut b.confirm_hash,
                };
                if password::replace_verified(stored, old, new) {
                    detail.push_str(", re-hashed to argon2id");
                }
            }
            let (event, result) = if ok {
                // Only this attempt is taken back: earlier wrong answers (card digits too)
                // stand until the card completes a login, so a known password cannot be used
                // to reset the count of card guesses.
                b.admin_fails = b.admin_fails.saturating_sub(1);
                (AuditEvent::LoginOk, AdminCheck::Ok(Box::new(b.clone())))
            } else if b.admin_fails >= limit {
                (AuditEvent::LoginLockout, AdminCheck::LockedNow)
            } else {
                let left = limit - b.admin_fails;
                (AuditEvent::LoginFailed, AdminCheck::Wrong { left })
            };
            tx.put_business(&b)?;
            tx.audit(
                now,
                Event {
                    contract_id: Some(contract_id),
                    detail,
                    ..Event::new(event)
                },
            )?;
            Ok(result)
        })
        .await
}

async fn audit(
    store: &Store,
    now: u64,
    event: AuditEvent,
    contract_id: &str,
    detail: &str,
) -> Result<(), StoreError> {
    store
        .commit(|tx| {
            tx.audit(
                now,
                Event {
                    contract_id: Some(contract_id),
                    detail: format!("法人管理者 {detail}"),
                    ..Event::new(event)
                },
            )
        })
        .await?;
    Ok(())
}

/// Whose registration: one user's, or the contract's shared token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    User(&'a str),
    Shared,
}

/// Why a token cannot be registered (or a registration released).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    UnknownContract,
    UnknownUser,
    /// The form does not fit the contract's 利用形態 (changed meanwhile).
    WrongUsage,
    UnknownSerial,
    /// The bank profile does not let phones register this kind (seed 003).
    KindNotAllowed(TokenKind),
    /// A hardware token not issued to this contract at a branch (発行申込書, seed 000).
    NotIssued,
    /// Bound to another customer or contract, or issued to another.
    Taken,
    /// Replaced, cancelled or returned: never usable again.
    Retired,
    /// Already the token of this user (or the shared token).
    SameToken,
    /// 利用登録解除 of a user (or shared token) with none registered.
    NothingRegistered,
    Otp(OtpRefusal),
}

/// Whether `token` may be registered for `b` from a phone allowing `kinds`.
fn claimable(token: &Token, b: &Business, kinds: &[TokenKind]) -> Result<(), Refusal> {
    if !kinds.contains(&token.kind) {
        return Err(Refusal::KindNotAllowed(token.kind));
    }
    let ours = |owner: &Option<String>| owner.as_deref() == Some(b.contract_id.as_str());
    match &token.state {
        // Already one of this contract's: a token may serve several users.
        TokenState::Active { contract_id, .. } if *contract_id == b.contract_id => Ok(()),
        TokenState::Active { .. } => Err(Refusal::Taken),
        TokenState::Available => match (&token.assigned_to, token.kind) {
            (Some(_), _) if ours(&token.assigned_to) => Ok(()),
            (Some(_), _) => Err(Refusal::Taken),
            (None, TokenKind::Hardware) => Err(Refusal::NotIssued),
            (None, TokenKind::Software) => Ok(()),
        },
        TokenState::Replaced { .. }
        | TokenState::Cancelled { .. }
        | TokenState::Returned { .. } => Err(Refusal::Retired),
    }
}

/// Hands `serial` back to the inventory, assigned to the contract, when no user of `b` uses
/// it any more.
pub(crate) fn release_if_unused(tx: &Tx, b: &Business, serial: &str) -> TxResult<()> {
    if b.uses(serial) {
        return Ok(());
    }
    if let Some(mut t) = tx.token(serial)? {
        if matches!(&t.state, TokenState::Active { contract_id, .. } if *contract_id == b.contract_id)
        {
            t.state = TokenState::Available;
            t.assigned_to = Some(b.contract_id.clone());
            tx.put_token(&t)?;
        }
    }
    Ok(())
}

fn target_text(target: Target) -> String {
    match target {
        Target::User(u) => format!("user={u}"),
        Target::Shared => "shared".into(),
    }
}

/// 利用登録 (seed 004 A and B): makes `serial` the token of `target` once its current OTP
/// checks out (the OTP attempt is stored and audited either way). A user (or the shared slot)
/// holding another token gets the new one in its place, and the old one serves that user no
/// more. Registration, receipt and audit record are one write, durable on return.
#[allow(clippy::too_many_arguments)]
pub async fn register(
    store: &Store,
    contract_id: &ContractId,
    target: Target<'_>,
    serial: &Serial,
    code: &OtpCode,
    kinds: &[TokenKind],
    now: u64,
    limit: u32,
) -> Result<Result<Receipt, Refusal>, StoreError> {
    let contract_id = contract_id.as_str();
    let serial = serial.as_str();
    store
        .commit(|tx| {
            let Some(mut b) = tx.business(contract_id)? else {
                return Ok(Err(Refusal::UnknownContract));
            };
            let old = match (target, b.usage) {
                (Target::User(u), Usage::PerUser) => match b.user(u) {
                    Some(user) => user.serial.clone(),
                    None => return Ok(Err(Refusal::UnknownUser)),
                },
                (Target::Shared, Usage::Shared) => b.shared_serial.clone(),
                _ => return Ok(Err(Refusal::WrongUsage)),
            };
            if old.as_deref() == Some(serial) {
                return Ok(Err(Refusal::SameToken));
            }
            let Some(mut token) = tx.token(serial)? else {
                return Ok(Err(Refusal::UnknownSerial));
            };
            if let Err(r) = claimable(&token, &b, kinds) {
                return Ok(Err(r));
            }
            let purpose = format!("法人 利用登録 {}", target_text(target));
            let (result, _) = attempt_in(tx, &mut token, contract_id, code, now, limit, &purpose)?;
            if let Err(r) = result {
                return Ok(Err(Refusal::Otp(r)));
            }
            if !matches!(token.state, TokenState::Active { .. }) {
                token.state = TokenState::Active {
                    contract_id: contract_id.to_owned(),
                    since: now,
                };
                tx.put_token(&token)?;
            }
            match target {
                Target::User(u) => {
                    for user in b.users.iter_mut().filter(|x| x.user_id == u) {
                        user.serial = Some(serial.to_owned());
                        user.blocked = false;
                    }
                }
                Target::Shared => {
                    b.shared_serial = Some(serial.to_owned());
                    // Every user uses the shared token: none is between tokens any more.
                    for user in &mut b.users {
                        user.blocked = false;
                    }
                }
            }
            if let Some(old) = &old {
                release_if_unused(tx, &b, old)?;
            }
            tx.put_business(&b)?;
            let receipt = tx.receipt(
                ReceiptKind::BizRegistration,
                contract_id,
                serial,
                old.as_deref(),
                now,
            )?;
            let replaces = old.map(|o| format!(" replaces {o}")).unwrap_or_default();
            tx.audit(
                now,
                Event {
                    event: AuditEvent::BizRegistration,
                    contract_id: Some(contract_id),
                    serial: Some(serial),
                    detail: format!(
                        "receipt {} 受付時刻 {} {}{replaces}",
                        receipt.number_text(),
                        crate::clock::receipt_time(now),
                        target_text(target)
                    ),
                },
            )?;
            Ok(Ok(receipt))
        })
        .await
}

/// 利用登録解除: `target` no longer has a token (the token itself goes back to the contract
/// when no other user uses it). Receipt and audit record in the same durable write.
pub async fn release(
    store: &Store,
    contract_id: &str,
    target: Target<'_>,
    now: u64,
) -> Result<Result<Receipt, Refusal>, StoreError> {
    store
        .commit(|tx| {
            let Some(mut b) = tx.business(contract_id)? else {
                return Ok(Err(Refusal::UnknownContract));
            };
            let old = match (target, b.usage) {
                (Target::User(u), Usage::PerUser) => {
                    let Some(user) = b.users.iter_mut().find(|x| x.user_id == u) else {
                        return Ok(Err(Refusal::UnknownUser));
                    };
                    user.serial.take()
                }
                (Target::Shared, Usage::Shared) => b.shared_serial.take(),
                _ => return Ok(Err(Refusal::WrongUsage)),
            };
            let Some(old) = old else {
                return Ok(Err(Refusal::NothingRegistered));
            };
            release_if_unused(tx, &b, &old)?;
            tx.put_business(&b)?;
            let receipt = tx.receipt(ReceiptKind::BizRelease, contract_id, &old, None, now)?;
            tx.audit(
                now,
                Event {
                    event: AuditEvent::BizRelease,
                    contract_id: Some(contract_id),
                    serial: Some(&old),
                    detail: format!(
                        "receipt {} 受付時刻 {} {}",
                        receipt.number_text(),
                        crate::clock::receipt_time(now),
                        target_text(target)
                    ),
                },
            )?;
            Ok(Ok(receipt))
        })
        .await
}

/// 利用形態設定: sets the contract's 利用形態; a change releases every registration of the
/// contract (◎ 利用形態を変更する場合は、トークンの利用登録が解除されます) in the same atomic,
/// audited write. Returns the serials released (none when the 利用形態 stays).
pub async fn set_usage(
    store: &Store,
    contract_id: &str,
    usage: Usage,
    now: u64,
) -> Result<Option<Vec<String>>, StoreError> {
    store
        .commit(|tx| {
            let Some(mut b) = tx.business(contract_id)? else {
                return Ok(None);
            };
            if b.usage == usage {
                return Ok(Some(Vec::new()));
            }
            let before = b.usage;
            b.usage = usage;
            let released = release_all(tx, &mut b)?;
            tx.put_business(&b)?;
            tx.audit(
                now,
                Event {
                    contract_id: Some(contract_id),
                    detail: format!(
                        "利用形態 {} -> {}; released [{}]",
                        before.code(),
                        usage.code(),
                        released.join(" ")
                    ),
                    ..Event::new(AuditEvent::BizUsage)
                },
            )?;
            Ok(Some(released))
        })
        .await
}

/// Releases every registration of `b` (users' tokens and the shared one), each token going
/// back to the contract's inventory; returns the serials released. The caller stores `b`.
pub(crate) fn release_all(tx: &Tx, b: &mut Business) -> TxResult<Vec<String>> {
    let released = b.serials();
    b.shared_serial = None;
    for u in &mut b.users {
        u.serial = None;
    }
    for s in &released {
        release_if_unused(tx, b, s)?;
    }
    Ok(released)
}

/// A branch releases the administrator's lock (wrong passwords or card answers), audited
/// with the staff member who did it.
pub async fn unlock(
    store: &Store,
    contract_id: &str,
    staff: &str,
    branch: &str,
    now: u64,
) -> Result<bool, StoreError> {
    store
        .commit(|tx| {
            let Some(mut b) = tx.business(contract_id)? else {
                return Ok(false);
            };
            b.admin_fails = 0;
            tx.put_business(&b)?;
            tx.audit_by(
                now,
                Event {
                    contract_id: Some(contract_id),
                    detail: "法人管理者のロック解除".into(),
                    ..Event::new(AuditEvent::BizUnlock)
                },
                staff,
                branch,
            )?;
            Ok(true)
        })
        .await
}

/// The OTP check of business user `user_id` inside a transaction: the token registered to
/// the user (or the shared token), with the one replay state and fail counter of that token.
/// Returns the audit record's sequence number when the check reached a token.
pub fn check_in(
    tx: &mut Tx,
    contract_id: &str,
    user_id: &str,
    code: &OtpCode,
    now: u64,
    limit: u32,
    detail: &str,
) -> TxResult<(OtpCheck, Option<u64>)> {
    let Some(b) = tx.business(contract_id)? else {
        return Ok((OtpCheck::UnknownCustomer, None));
    };
    if b.closed {
        return Ok((OtpCheck::Cancelled, None));
    }
    let Some(user) = b.user(user_id) else {
        return Ok((OtpCheck::UnknownCustomer, None));
    };
    // 資金移動 is impossible for users not registered (seed 004 ※); a user whose token a branch
    // retired is between tokens, as a personal customer after 利用中止 is.
    let Some(serial) = b.token_of(user_id) else {
        let check = if user.blocked {
            OtpCheck::Cancelled
        } else {
            OtpCheck::NoToken
        };
        return Ok((check, None));
    };
    check_token_in(tx, serial, contract_id, code, now, limit, detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otp::{HashAlg, OtpState, Params};
    use crate::store::BizUser;

    fn contract(usage: Usage) -> Business {
        Business {
            contract_id: "B1".into(),
            name: "テスト".into(),
            admin_hash: String::new(),
            confirm_hash: String::new(),
            usage,
            users: ["u1", "u2"]
                .map(|u| BizUser {
                    user_id: u.into(),
                    name: u.into(),
                    serial: (u == "u1").then(|| "T1".to_owned()),
                    blocked: false,
                })
                .to_vec(),
            shared_serial: Some("T9".into()),
            admin_fails: 0,
            closed: false,
            from_host: None,
        }
    }

    fn token(kind: TokenKind, state: TokenState, assigned_to: Option<&str>) -> Token {
        Token {
            serial: "T1".into(),
            kind,
            params: Params {
                algorithm: HashAlg::Sha1,
                digits: 6,
                period: 60,
                t0: 0,
            },
            secret_sealed: String::new(),
            state,
            otp: OtpState::default(),
            assigned_to: assigned_to.map(str::to_owned),
        }
    }

    #[test]
    fn a_users_token_follows_the_usage() {
        let per_user = contract(Usage::PerUser);
        assert_eq!(per_user.token_of("u1"), Some("T1"));
        assert_eq!(per_user.token_of("u2"), None);
        assert_eq!(per_user.token_of("nobody"), None);
        let shared = contract(Usage::Shared);
        assert_eq!(shared.token_of("u2"), Some("T9"));
        assert_eq!(shared.serials(), ["T9", "T1"]);
        assert!(shared.uses("T1") && !shared.uses("T2"));
    }

    #[test]
    fn which_tokens_a_contract_may_register() {
        use TokenKind::{Hardware, Software};
        let b = contract(Usage::PerUser);
        let hw = [Hardware];
        let both = [Hardware, Software];
        let active = |c: &str| TokenState::Active {
            contract_id: c.into(),
            since: 0,
        };
        let retired = TokenState::Replaced {
            contract_id: "B1".into(),
            at: 0,
        };
        for (t, kinds, want) in [
            (
                token(Hardware, TokenState::Available, Some("B1")),
                &hw[..],
                Ok(()),
            ),
            (
                token(Hardware, TokenState::Available, None),
                &hw,
                Err(Refusal::NotIssued),
            ),
            (
                token(Hardware, TokenState::Available, Some("B2")),
                &hw,
                Err(Refusal::Taken),
            ),
            (token(Hardware, active("B1"), Some("B1")), &hw, Ok(())),
            (token(Hardware, active("9"), None), &hw, Err(Refusal::Taken)),
            (
                token(Hardware, retired, Some("B1")),
                &hw,
                Err(Refusal::Retired),
            ),
            (
                token(Software, TokenState::Available, None),
                &hw,
                Err(Refusal::KindNotAllowed(Software)),
            ),
            (token(Software, TokenState::Available, None), &both, Ok(())),
        ] {
            assert_eq!(claimable(&t, &b, kinds), want, "{:?} {:?}", t.state, t.kind);
        }
    }
}
