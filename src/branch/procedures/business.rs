//! 法人 (business) contracts at the branch (procedure): the contract found by the same
//! 契約者ID lookup as personal customers (利用形態, the users with their serials, the tokens, the
//! receipts, 発行申込書 and the audit trail), and the release of a lock (the administrator's, or
//! a registered token's), which only a supervisor may do, audited with who did it. The page is
//! [`crate::branch::pages::business`]'s.

use super::{branches, contract_id, nav, refused, today, Refused, Role, Step};
use crate::branch::pages::business::{self as view, Lists, TokenRow};
use crate::branch::pages::customer::token_state;
use crate::branch::{html, Staffed};
use crate::store::{AuditEvent, Business, Event, TokenState};
use hyper::StatusCode;

/// Audit records the page shows at most.
const AUDIT_ROWS: usize = 50;

/// `GET /branch/customer?contract_id=` for a 法人 contract.
pub fn page(s: &Staffed, b: &Business, message: Option<&str>) -> Step {
    let store = &s.app.store;
    let policy = &s.app.config.bank.policy;
    let mut tokens = Vec::new();
    for serial in b.serials() {
        let Some(t) = store.token(&serial)? else {
            continue;
        };
        let users: Vec<&str> = b
            .users
            .iter()
            .filter(|u| b.token_of(&u.user_id) == Some(serial.as_str()))
            .map(|u| u.user_id.as_str())
            .collect();
        tokens.push(TokenRow {
            users: users.join(" "),
            state: token_state(&t.state),
            fails: t.otp.fails,
            locked: t.locked(policy),
            serial,
        });
    }
    let issued: Vec<String> = store
        .assigned_tokens(&b.contract_id)?
        .into_iter()
        .filter(|t| t.state == TokenState::Available)
        .map(|t| t.serial)
        .collect();
    let lists = Lists {
        issued,
        history: store.receipts_of(&b.contract_id)?,
        applications: store.applications_of(&b.contract_id)?,
        audit: store.audit_recent(Some(&b.contract_id), None, AUDIT_ROWS)?,
        fee_yen: s.app.config.bank.hardware_token_fee_yen,
        forms: store.forms_of(&b.contract_id)?,
        today: today(s.now()),
        branches: branches(s),
    };
    let body = view::page(nav(s), b, b.locked(policy), &tokens, &lists, message);
    Ok(html(StatusCode::OK, body))
}

/// `POST /branch/business/unlock`: `what` = `admin` or a registered token's serial.
pub async fn unlock(s: &Staffed<'_>) -> Step {
    let id = match contract_id(s.req, "contract_id") {
        Ok(id) => id,
        Err(_) => return refused(s, view::UNLOCK, &Refused::UnknownContract, None),
    };
    if s.actor.role != Role::Supervisor {
        return refused(s, view::UNLOCK, &Refused::NotSupervisor, Some(&id));
    }
    let what = s.req.text("what");
    let store = &s.app.store;
    let (staff, branch) = (&s.actor.staff_id, &s.actor.branch_code);
    let now = s.now();
    let done = if what == "admin" {
        crate::business::unlock(store, &id, staff, branch, now).await?
    } else {
        store
            .commit(|tx| {
                let Some(b) = tx.business(&id)? else {
                    return Ok(false);
                };
                let Some(mut t) = tx.token(&what)?.filter(|_| b.uses(&what)) else {
                    return Ok(false);
                };
                t.otp.locked = false;
                t.otp.fails = 0;
                tx.put_token(&t)?;
                tx.audit_by(
                    now,
                    Event {
                        contract_id: Some(&id),
                        serial: Some(&what),
                        detail: "法人トークンのロック解除".into(),
                        ..Event::new(AuditEvent::BizUnlock)
                    },
                    staff,
                    branch,
                )?;
                Ok(true)
            })
            .await?
    };
    let Some(b) = store.business(&id)? else {
        return refused(s, view::UNLOCK, &Refused::UnknownContract, None);
    };
    if !done {
        return refused(s, view::UNLOCK, &Refused::NotFound, Some(&id));
    }
    page(s, &b, Some(view::UNLOCKED))
}
