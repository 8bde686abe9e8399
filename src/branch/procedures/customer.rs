//! お客様の照会 (procedure): a customer found by contract ID, with the token, its state and
//! fail counts, the history and the customer's forms, applications and releases; a 法人
//! contract's ID shows [`super::business`]'s page. Every list read by key or index.

use super::{bad_input, branches, contract_id, nav, refused, today, Refused, Step};
use crate::branch::pages::customer::{status, token_state};
use crate::branch::pages::{self, CustomerView, TokenView};
use crate::branch::{html, Staffed};
use crate::clock;
use crate::store::{AuditEvent, Customer, Event, TokenState};
use hyper::StatusCode;

/// `GET /branch/customer?contract_id=`.
pub async fn customer(s: &Staffed<'_>) -> Step {
    let id = match contract_id(s.req, "contract_id") {
        Ok(id) => id,
        Err(m) => return bad_input(s, pages::customer::TITLE, m.into()),
    };
    let Some(c) = s.app.store.customer(&id)? else {
        // 法人 contracts are looked up by the same ID field.
        if let Some(b) = s.app.store.business(&id)? {
            return super::business::page(s, &b, None);
        }
        // A staff member sees only their own bank: another bank's customer is unknown here,
        // and looking for one is on the trail (durably: the refusal is reported).
        s.app
            .store
            .commit(|tx| {
                let e = Event {
                    contract_id: Some(&id),
                    detail: "not a contract of this bank".into(),
                    ..Event::new(AuditEvent::StaffLookupUnknown)
                };
                tx.audit_by(
                    clock::now_unix(),
                    e,
                    &s.actor.staff_id,
                    &s.actor.branch_code,
                )
            })
            .await?;
        return refused(s, pages::customer::TITLE, &Refused::UnknownContract, None);
    };
    customer_page(s, &c, None)
}

fn customer_page(s: &Staffed, c: &Customer, message: Option<&str>) -> Step {
    let store = &s.app.store;
    let policy = &s.app.config.bank.policy;
    let token = match &c.token {
        Some(b) => store.token(&b.serial)?.map(|t| TokenView {
            kind: pages::customer::kind(t.kind),
            state: token_state(&t.state),
            fails: t.otp.fails,
            locked: t.locked(policy),
            serial: t.serial,
        }),
        None => None,
    };
    let login_locked = c.login_locked(policy);
    let id = &c.contract_id;
    let assigned: Vec<String> = store
        .assigned_tokens(id)?
        .into_iter()
        .filter(|t| t.state == TokenState::Available)
        .map(|t| t.serial)
        .collect();
    let status = status(c, token.as_ref().map(|t| t.locked), !assigned.is_empty());
    let attempts = store.attempts_of(id)?.iter().map(|a| a.at).collect();
    let now = s.now();
    let view = CustomerView {
        customer: c,
        token,
        status,
        login_locked,
        history: store.receipts_of(id)?,
        attempts,
        forms: store.forms_of(id)?,
        applications: store.applications_of(id)?,
        releases: store.releases_of(id)?,
        assigned,
        today: today(now),
        branches: branches(s),
        fee_yen: s.app.config.bank.hardware_token_fee_yen,
    };
    Ok(html(
        StatusCode::OK,
        pages::customer(nav(s), &view, message),
    ))
}
