//! ロック解除 (procedure, maker–checker): a clerk records the release of a locked token (wrong
//! OTPs) or login (wrong passwords); a supervisor other than the maker approves it (the counts
//! back to 0) or rejects it. Handlers, the request's checks and the transactions are here; the
//! wording is [`crate::branch::pages::unlock`]'s.

use super::{bad_input, can_decide, checkable, contract_id, done, name_of, nav, refuse, refused};
use super::{two, Actor, Bad, Decision, Outcome, Refused, Release, ReleaseKind, Step};
use crate::branch::pages::unlock as page;
use crate::branch::{html, input, Staffed};
use crate::config::Policy;
use crate::store::{AuditEvent, Customer, Event, Store, Token, TokenState};
use hyper::StatusCode;

impl ReleaseKind {
    /// The form's value.
    pub fn parse(s: &str) -> Option<ReleaseKind> {
        match s {
            "token" => Some(ReleaseKind::Token),
            "login" => Some(ReleaseKind::Login),
            _ => None,
        }
    }
}

impl Release {
    /// As staff see and type it.
    pub fn number(&self) -> String {
        format!("R{:07}", self.id)
    }

    /// The ID from its number (`R0000012` or `12`).
    pub fn parse_number(s: &str) -> Option<u64> {
        s.trim().trim_start_matches(['R', 'r']).parse().ok()
    }
}

/// A release request as typed: contract, kind, note and the optional serial.
struct Fields {
    contract_id: String,
    kind: ReleaseKind,
    note: String,
    serial: Option<String>,
}

fn fields(s: &Staffed) -> Result<Fields, Bad> {
    let id = contract_id(s.req, "contract_id")?;
    let bad = Bad::of(&id);
    let kind = ReleaseKind::parse(&s.req.text("kind"))
        .ok_or_else(|| "解除の種類を選んでください。".to_owned())
        .map_err(&bad)?;
    let note = input::reason(&s.req.text("note"), false).map_err(&bad)?;
    // Optional: a locked token that is not (yet) the customer's own, e.g. one handed out to them.
    let serial = input::serial(
        &s.req.text("serial"),
        "シリアル番号はトークン裏面の12桁の英数字で入力してください。",
    )
    .map_err(&bad)?;
    Ok(Fields {
        contract_id: id.clone(),
        kind,
        note,
        serial,
    })
}

/// `POST /branch/releases`: records a lock release request.
pub async fn record(s: &Staffed<'_>) -> Step {
    let f = match fields(s) {
        Ok(f) => f,
        Err(bad) => return bad_input(s, page::RECORD, bad),
    };
    let id = &f.contract_id;
    let policy = &s.app.config.bank.policy;
    let now = s.now();
    let store = &s.app.store;
    let serial = f.serial.as_deref();
    match record_release(store, &s.actor, id, f.kind, serial, &f.note, policy, now).await? {
        Ok(r) => done(s, page::RECORD, &page::recorded(&r), Some(id)),
        Err(r) => refused(s, page::RECORD, &r, Some(id)),
    }
}

/// `GET /branch/release?id=`.
pub fn view(s: &Staffed) -> Step {
    let r = match Release::parse_number(&s.req.text("id")) {
        Some(id) => s.app.store.release(id)?,
        None => None,
    };
    let Some(r) = r else {
        return refused(s, page::RELEASE, &Refused::NotFound, None);
    };
    let name = name_of(s, &r.contract_id)?;
    let decide = can_decide(&s.actor, &r.recorded_by, &r.decision);
    Ok(html(
        StatusCode::OK,
        page::detail(nav(s), &r, &name, decide),
    ))
}

/// `POST /branch/releases/approve` and `/reject`.
pub async fn decide(s: &Staffed<'_>, reject: bool) -> Step {
    let title = page::decide_title(reject);
    let Some(id) = Release::parse_number(&s.req.text("id")) else {
        return refused(s, title, &Refused::NotFound, None);
    };
    let reason = if reject {
        match input::reason(&s.req.text("reason"), true) {
            Ok(r) => Some(r),
            Err(m) => return bad_input(s, title, m.into()),
        }
    } else {
        None
    };
    match decide_release(&s.app.store, &s.actor, id, reason.as_deref(), s.now()).await? {
        Ok(r) => done(s, title, &page::decided(&r, reject), Some(&r.contract_id)),
        Err(e) => refused(s, title, &e, None),
    }
}

/// Whether a token release for customer `c` may reset `t`: their own token, one handed out to
/// them, or one in the inventory (locked by wrong codes before unbound tokens stopped counting).
fn releasable(t: &Token, c: &Customer) -> bool {
    let theirs = c.token.as_ref().is_some_and(|b| b.serial == t.serial);
    let unbound = t.state == TokenState::Available
        && t.assigned_to.as_ref().is_none_or(|a| *a == c.contract_id);
    theirs || unbound
}

/// Records a lock release request (受付済); nothing is released until approval. A token
/// release names the customer's token, or `serial` (any locked token the customer may
/// register), or, with neither locked, the customer's own count of wrong codes for tokens not
/// yet theirs.
#[allow(clippy::too_many_arguments)]
pub async fn record_release(
    store: &Store,
    actor: &Actor,
    contract_id: &str,
    kind: ReleaseKind,
    serial: Option<&str>,
    note: &str,
    policy: &Policy,
    now: u64,
) -> Outcome<Release> {
    store
        .commit(|tx| {
            let Some(c) = tx.customer(contract_id)? else {
                return refuse(Refused::UnknownContract);
            };
            let serial = match kind {
                ReleaseKind::Token => {
                    let token = match (serial, &c.token) {
                        (Some(s), _) => match tx.token(s)? {
                            Some(t) if releasable(&t, &c) => Some(t),
                            Some(_) => return refuse(Refused::NotTheirs),
                            None => return refuse(Refused::SerialNotFree),
                        },
                        (None, Some(b)) => tx.token(&b.serial)?,
                        (None, None) => None,
                    };
                    let token_locked = token.as_ref().is_some_and(|t| t.locked(policy));
                    // Wrong codes for a token not yet theirs lock the customer's claims instead.
                    match token {
                        Some(t) if token_locked => Some(t.serial),
                        _ if c.claims_locked(policy) => None,
                        None => return refuse(Refused::NoToken),
                        Some(_) => return refuse(Refused::NotLocked),
                    }
                }
                ReleaseKind::Login => {
                    if !c.login_locked(policy) {
                        return refuse(Refused::NotLocked);
                    }
                    None
                }
            };
            let release = Release {
                id: tx.next_audit_seq()?,
                contract_id: contract_id.to_owned(),
                kind,
                serial,
                note: note.to_owned(),
                recorded_by: actor.staff_id.clone(),
                branch_code: actor.branch_code.clone(),
                recorded_at: now,
                decision: Decision::Received,
            };
            tx.put_release(&release)?;
            tx.audit_by(
                now,
                Event {
                    event: AuditEvent::BranchReleaseReceived,
                    contract_id: Some(contract_id),
                    serial: release.serial.as_deref(),
                    detail: format!("{} {}", release.number(), kind.label()),
                },
                &actor.staff_id,
                &actor.branch_code,
            )?;
            Ok(Ok(release))
        })
        .await
}

/// Approves (`Ok(None)` reason) or rejects (`Some(reason)`) a release request.
pub async fn decide_release(
    store: &Store,
    actor: &Actor,
    id: u64,
    reject: Option<&str>,
    now: u64,
) -> Outcome<Release> {
    store
        .commit(|tx| {
            let Some(mut r) = tx.release(id)? else {
                return refuse(Refused::NotFound);
            };
            if let Err(e) = checkable(actor, &r.recorded_by, &r.decision) {
                return refuse(e);
            }
            let event = if let Some(reason) = reject {
                r.decision = Decision::Rejected {
                    by: actor.staff_id.clone(),
                    at: now,
                    reason: reason.to_owned(),
                };
                AuditEvent::BranchReleaseRejected
            } else {
                let Some(mut c) = tx.customer(&r.contract_id)? else {
                    return refuse(Refused::UnknownContract);
                };
                match r.kind {
                    ReleaseKind::Token => {
                        if let Some(serial) = r.serial.clone() {
                            let Some(mut t) = tx.token(&serial)?.filter(|t| releasable(t, &c))
                            else {
                                return refuse(Refused::TokenChanged);
                            };
                            t.otp.fails = 0;
                            t.otp.locked = false;
                            tx.put_token(&t)?;
                        }
                        // The customer's own count of wrong codes for tokens not yet theirs.
                        c.claim_fails = 0;
                        tx.put_customer(&c)?;
                    }
                    ReleaseKind::Login => {
                        // Both passwords' counts and locks (see crate::lockout).
                        crate::attempts::release(&mut c);
                        tx.put_customer(&c)?;
                    }
                }
                r.decision = Decision::Approved {
                    by: actor.staff_id.clone(),
                    at: now,
                    receipt: None,
                };
                AuditEvent::BranchReleaseApproved
            };
            tx.put_release(&r)?;
            let detail = match reject {
                Some(reason) => format!("{} rejected: {reason}", r.number()),
                None => format!(
                    "{} {} recorded by {} approved by {}",
                    r.number(),
                    r.kind.label(),
                    r.recorded_by,
                    actor.staff_id
                ),
            };
            tx.audit_by(
                now,
                Event {
                    event,
                    contract_id: Some(&r.contract_id),
                    serial: r.serial.as_deref(),
                    detail,
                },
                &two(&r.recorded_by, &actor.staff_id),
                &actor.branch_code,
            )?;
            Ok(Ok(r))
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_numbers() {
        assert_eq!(Release::parse_number("R0000012"), Some(12));
        assert_eq!(Release::parse_number("12"), Some(12));
        assert_eq!(Release::parse_number("R-1"), None);
    }
}
