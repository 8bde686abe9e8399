//! 利用中止届 (procedure, maker–checker): a clerk records the paper form (受付済) and nothing
//! happens to the token; a supervisor other than the maker approves it (the token is cancelled,
//! transfers are blocked until a new token is registered, a 受付番号 is issued) or rejects it
//! with a reason. A 法人 contract's form names a user (their token) or the shared token; a
//! token registered to several users is cancelled for all of them. A replacement 発行申込書
//! ([`super::issue`]) waits for approval in the same list and is decided by the same routes.
//! Handlers, the form's checks and the transactions are here; the wording is
//! [`crate::branch::pages::cancel`]'s.

use super::{
    audit_form, bad_input, can_decide, checkable, contract_id, done, name_of, nav, refuse, refused,
    today, two, Actor, Bad, CancelForm, Decision, Outcome, Refused, Step,
};
use crate::branch::pages::cancel as page;
use crate::branch::{html, input, Staffed};
use crate::store::{AuditEvent, ReceiptKind, Store, TokenState, Tx, TxResult, Usage};
use hyper::StatusCode;

/// The form as typed: every field checked before anything is looked up.
fn fields(s: &Staffed, now: u64) -> Result<CancelForm, Bad> {
    let id = contract_id(s.req, "contract_id")?;
    let bad = Bad::of(&id);
    let form_no = input::number(&s.req.text("form_no"), "用紙番号").map_err(&bad)?;
    let received_on =
        input::date_not_after(&s.req.text("received_on"), &today(now), "受付日").map_err(&bad)?;
    let branch_code =
        input::branch(&s.app.config.bank, &s.req.text("branch_code")).map_err(&bad)?;
    input::identity_checked(s.req.form.get("identity_checked")).map_err(&bad)?;
    let user = s.req.text("user_id");
    Ok(CancelForm {
        form_no,
        contract_id: id.clone(),
        serial: String::new(),
        received_on,
        branch_code,
        identity_checked: true,
        recorded_by: String::new(),
        recorded_at: now,
        decision: Decision::Received,
        replacement: None,
        // 法人: the user whose token it is; empty for the shared token (and personal customers).
        user_id: (!user.is_empty()).then_some(user),
    })
}

/// `POST /branch/forms`: records a paper 利用中止届 (受付済).
pub async fn record(s: &Staffed<'_>) -> Step {
    let now = s.now();
    let form = match fields(s, now) {
        Ok(f) => f,
        Err(bad) => return bad_input(s, page::RECORD, bad),
    };
    let id = form.contract_id.clone();
    match record_form(&s.app.store, &s.actor, form, now).await? {
        Ok(f) => done(s, page::RECORD, &page::recorded(&f), Some(&id)),
        Err(r) => refused(s, page::RECORD, &r, Some(&id)),
    }
}

/// `GET /branch/form?no=`.
pub fn view(s: &Staffed) -> Step {
    let no = s.req.text("no").to_ascii_uppercase();
    let Some(f) = s.app.store.form(&no)? else {
        return refused(s, page::FORM, &Refused::NotFound, None);
    };
    let name = name_of(s, &f.contract_id)?;
    let decide = can_decide(&s.actor, &f.recorded_by, &f.decision);
    Ok(html(
        StatusCode::OK,
        page::detail(nav(s), &f, &name, decide),
    ))
}

/// `POST /branch/forms/approve`.
pub async fn approve(s: &Staffed<'_>) -> Step {
    let no = s.req.text("form_no").to_ascii_uppercase();
    // A replacement 発行申込書 issues a new token too: the 発行申込書 procedure approves it.
    if s.app
        .store
        .form(&no)?
        .is_some_and(|f| f.replacement.is_some())
    {
        return super::issue::approve(s, &no).await;
    }
    match approve_form(&s.app.store, &s.actor, &no, s.now()).await? {
        Ok(f) => done(s, page::APPROVE, &page::approved(&f), Some(&f.contract_id)),
        Err(r) => refused(s, page::APPROVE, &r, None),
    }
}

/// `POST /branch/forms/reject`.
pub async fn reject(s: &Staffed<'_>) -> Step {
    let no = s.req.text("form_no").to_ascii_uppercase();
    let reason = match input::reason(&s.req.text("reason"), true) {
        Ok(r) => r,
        Err(m) => return bad_input(s, page::REJECT, m.into()),
    };
    match reject_form(&s.app.store, &s.actor, &no, &reason, s.now()).await? {
        Ok(f) => done(s, page::REJECT, &page::rejected(&f), Some(&f.contract_id)),
        Err(r) => refused(s, page::REJECT, &r, None),
    }
}

/// Records a paper 利用中止 form (受付済). The token is not touched until approval.
pub async fn record_form(
    store: &Store,
    actor: &Actor,
    form: CancelForm,
    now: u64,
) -> Outcome<CancelForm> {
    store
        .commit(|tx| {
            if tx.form(&form.form_no)?.is_some() {
                return refuse(Refused::NumberUsed);
            }
            let serial = match token_named(tx, &form.contract_id, form.user_id.as_deref())? {
                Ok(serial) => serial,
                Err(r) => return refuse(r),
            };
            let mut form = form.clone();
            form.serial = serial;
            form.recorded_by = actor.staff_id.clone();
            form.recorded_at = now;
            form.decision = Decision::Received;
            tx.put_form(&form)?;
            let detail = format!(
                "form {} received {} at branch {}{}",
                form.form_no,
                form.received_on,
                form.branch_code,
                user_text(&form)
            );
            let who = (actor.staff_id.as_str(), actor.branch_code.as_str());
            let event = AuditEvent::BranchCancelReceived;
            audit_form(tx, now, event, &form, &form.serial, detail, who)?;
            Ok(Ok(form))
        })
        .await
}

/// ` user=ID` for a 法人 user's form, for the audit trail.
pub(crate) fn user_text(form: &CancelForm) -> String {
    form.user_id
        .as_deref()
        .map(|u| format!(" user={u}"))
        .unwrap_or_default()
}

/// The token a form names: the customer's, or a 法人 user's (`None`: the contract's shared
/// token).
pub(crate) fn token_named(
    tx: &Tx,
    contract_id: &str,
    user_id: Option<&str>,
) -> TxResult<Result<String, Refused>> {
    if let Some(c) = tx.customer(contract_id)? {
        return Ok(c.token.map(|b| b.serial).ok_or(Refused::NoToken));
    }
    let Some(b) = tx.business(contract_id)? else {
        return refuse(Refused::UnknownContract);
    };
    if b.closed {
        return refuse(Refused::Closed);
    }
    let serial = match (user_id, b.usage) {
        (Some(u), _) if b.user(u).is_none() => return refuse(Refused::UnknownUser),
        (Some(u), _) => b.token_of(u),
        (None, Usage::Shared) => b.shared_serial.as_deref(),
        (None, Usage::PerUser) => return refuse(Refused::ChooseUser),
    };
    Ok(serial.map(str::to_owned).ok_or(Refused::NoToken))
}

/// Retires the form's token inside the transaction: it takes `state`, and its holder is
/// between tokens — the customer (no token, transfers blocked until 利用開始), or every user of
/// the 法人 contract it is registered to (no token, the OTP API answers `cancelled` until the
/// administrator registers another). Refused when the token is no longer theirs.
pub(crate) fn retire_in(
    tx: &Tx,
    form: &CancelForm,
    state: TokenState,
) -> TxResult<Result<(), Refused>> {
    if let Some(mut c) = tx.customer(&form.contract_id)? {
        match &c.token {
            Some(b) if b.serial == form.serial => {}
            Some(_) => return refuse(Refused::TokenChanged),
            None => return refuse(Refused::NoToken),
        }
        c.token = None;
        c.transfers_blocked = true;
        tx.put_customer(&c)?;
    } else if let Some(mut b) = tx.business(&form.contract_id)? {
        if !b.uses(&form.serial) {
            return refuse(Refused::TokenChanged);
        }
        let shared = b.shared_serial.as_deref() == Some(form.serial.as_str());
        if shared {
            b.shared_serial = None;
        }
        for u in &mut b.users {
            if u.serial.as_deref() == Some(form.serial.as_str()) {
                u.serial = None;
                u.blocked = true;
            } else if shared && b.usage == Usage::Shared {
                u.blocked = true;
            }
        }
        tx.put_business(&b)?;
    } else {
        return refuse(Refused::UnknownContract);
    }
    let Some(mut token) = tx.token(&form.serial)? else {
        return refuse(Refused::NoToken);
    };
    token.state = state;
    tx.put_token(&token)?;
    Ok(Ok(()))
}

/// The form `form_no`, if `actor` may decide it (a supervisor other than its maker, still
/// undecided).
pub(crate) fn pending_form(
    tx: &mut Tx,
    actor: &Actor,
    form_no: &str,
) -> TxResult<Result<CancelForm, Refused>> {
    let Some(form) = tx.form(form_no)? else {
        return refuse(Refused::NotFound);
    };
    if let Err(r) = checkable(actor, &form.recorded_by, &form.decision) {
        return refuse(r);
    }
    Ok(Ok(form))
}

/// Approves a cancellation form: the token is cancelled, transfers are blocked until a new
/// token is registered, and a 受付番号 is issued, all in one write with the audit record.
pub async fn approve_form(
    store: &Store,
    actor: &Actor,
    form_no: &str,
    now: u64,
) -> Outcome<CancelForm> {
    store
        .commit(|tx| {
            let mut form = match pending_form(tx, actor, form_no)? {
                Ok(form) => form,
                Err(r) => return refuse(r),
            };
            let cancelled = TokenState::Cancelled {
                contract_id: form.contract_id.clone(),
                at: now,
            };
            if let Err(r) = retire_in(tx, &form, cancelled)? {
                return refuse(r);
            }
            let receipt = tx.receipt(
                ReceiptKind::Cancellation,
                &form.contract_id,
                &form.serial,
                None,
                now,
            )?;
            form.decision = Decision::Approved {
                by: actor.staff_id.clone(),
                at: now,
                receipt: Some(receipt.number_text()),
            };
            tx.put_form(&form)?;
            let detail = format!(
                "form {} receipt {} recorded by {} approved by {}{}",
                form.form_no,
                receipt.number_text(),
                form.recorded_by,
                actor.staff_id,
                user_text(&form)
            );
            let staff = two(&form.recorded_by, &actor.staff_id);
            let event = AuditEvent::BranchCancelApproved;
            let who = (staff.as_str(), actor.branch_code.as_str());
            audit_form(tx, now, event, &form, &form.serial, detail, who)?;
            Ok(Ok(form))
        })
        .await
}

/// Rejects a cancellation form with a reason; the token is left as it is.
pub async fn reject_form(
    store: &Store,
    actor: &Actor,
    form_no: &str,
    reason: &str,
    now: u64,
) -> Outcome<CancelForm> {
    store
        .commit(|tx| {
            let mut form = match pending_form(tx, actor, form_no)? {
                Ok(form) => form,
                Err(r) => return refuse(r),
            };
            form.decision = Decision::Rejected {
                by: actor.staff_id.clone(),
                at: now,
                reason: reason.to_owned(),
            };
            tx.put_form(&form)?;
            let event = if form.replacement.is_some() {
                AuditEvent::BranchReplaceRejected
            } else {
                AuditEvent::BranchCancelRejected
            };
            let detail = format!("form {} rejected: {reason}", form.form_no);
            let staff = two(&form.recorded_by, &actor.staff_id);
            let who = (staff.as_str(), actor.branch_code.as_str());
            audit_form(tx, now, event, &form, &form.serial, detail, who)?;
            Ok(Ok(form))
        })
        .await
}
