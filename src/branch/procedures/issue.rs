//! 発行申込書 (procedure): a hardware token issued to a customer (or a 法人 contract) at the
//! counter. 新規発行 (the bank profile's fee) is carried out at once: the token is only assigned,
//! nothing is retired. A free replacement of a broken or battery-dead token (故障/電池切れ)
//! retires the active token, so it is maker–checker like a 利用中止届: the clerk records it
//! (受付済, the active token stays active) and a supervisor other than the maker approves it
//! (the old token handed back as 返却済, the holder between tokens — transfers blocked, the
//! OTP API answering `cancelled` — and the new token assigned to them for 利用開始) or rejects
//! it. A 法人 contract's replacement names a user's token or the shared one. Handlers, the
//! application's checks and the transactions are here; the wording is
//! [`crate::branch::pages::issue`]'s.

use super::cancel::{pending_form, retire_in, token_named, user_text};
use super::{
    audit_form, bad_input, checkable, contract_id, done, refuse, refused, today, two, Actor,
};
use super::{Application, Bad, CancelForm, Decision, IssueReason, Outcome, Refused, Step};
use crate::branch::pages::issue as page;
use crate::branch::{input, Staffed};
use crate::store::{AuditEvent, Event, Replacement, Store, TokenState, Tx, TxResult};

impl IssueReason {
    /// The form's value.
    pub fn parse(s: &str) -> Option<IssueReason> {
        match s {
            "new" => Some(IssueReason::New),
            "broken" => Some(IssueReason::Broken),
            "battery" => Some(IssueReason::Battery),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            IssueReason::New => "new",
            IssueReason::Broken => "broken",
            IssueReason::Battery => "battery",
        }
    }

    pub fn is_replacement(self) -> bool {
        self != IssueReason::New
    }
}

/// What staff ask for when issuing a hardware token.
#[derive(Debug, Clone)]
pub struct IssueRequest {
    pub application_no: String,
    pub contract_id: String,
    pub reason: IssueReason,
    /// A serial picked by staff; `None` takes the first free one of the inventory.
    pub serial: Option<String>,
    /// The bank profile's fee for a new token.
    pub fee_yen: u32,
    /// 法人 replacements: the user whose token is replaced (`None`: the shared token).
    pub user_id: Option<String>,
}

/// The application as typed: every field checked before anything is looked up.
fn fields(s: &Staffed) -> Result<IssueRequest, Bad> {
    let id = contract_id(s.req, "contract_id")?;
    let bad = Bad::of(&id);
    let application_no =
        input::number(&s.req.text("application_no"), "申込書番号").map_err(&bad)?;
    let reason = IssueReason::parse(&s.req.text("reason"))
        .ok_or_else(|| "発行の区分を選んでください。".to_owned())
        .map_err(&bad)?;
    let serial = input::serial(
        &s.req.text("serial"),
        "シリアル番号は12桁の英数字で入力してください。",
    )
    .map_err(&bad)?;
    let user = s.req.text("user_id");
    Ok(IssueRequest {
        application_no,
        contract_id: id.clone(),
        reason,
        serial,
        fee_yen: s.app.config.bank.hardware_token_fee_yen,
        user_id: (!user.is_empty()).then_some(user),
    })
}

/// `POST /branch/applications`: carries out a 発行申込書.
pub async fn record(s: &Staffed<'_>) -> Step {
    let req = match fields(s) {
        Ok(r) => r,
        Err(bad) => return bad_input(s, page::TITLE, bad),
    };
    let id = &req.contract_id;
    if req.reason.is_replacement() {
        return match record_replacement(&s.app.store, &s.actor, &req, s.now()).await? {
            Ok(f) => done(s, page::TITLE, &page::replacement_recorded(&f), Some(id)),
            Err(r) => refused(s, page::TITLE, &r, Some(id)),
        };
    }
    match issue(&s.app.store, &s.actor, &req, s.now()).await? {
        Ok(a) => done(s, page::TITLE, &page::issued(&a), Some(id)),
        Err(r) => refused(s, page::TITLE, &r, Some(id)),
    }
}

/// `POST /branch/forms/approve` of a replacement (`form_no` = its 申込書番号).
pub async fn approve(s: &Staffed<'_>, no: &str) -> Step {
    match approve_replacement(&s.app.store, &s.actor, no, s.now()).await? {
        Ok((f, a)) => done(
            s,
            page::APPROVE,
            &page::replacement_approved(&f, &a),
            Some(&f.contract_id),
        ),
        Err(r) => refused(s, page::APPROVE, &r, None),
    }
}

/// Records a replacement 発行申込書 (受付済): the token to retire is the customer's active one
/// (or the 法人 user's, or the shared one); a typed new serial must be free now. Nothing
/// changes on any token until approval.
pub async fn record_replacement(
    store: &Store,
    actor: &Actor,
    req: &IssueRequest,
    now: u64,
) -> Outcome<CancelForm> {
    // The free-token index is read outside the transaction; approval picks (and re-checks) the
    // token, so here it only tells staff at once that none is left.
    if req.serial.is_none() && store.free_hardware_tokens(1)?.is_empty() {
        return Ok(Err(Refused::NoFreeToken));
    }
    store
        .commit(|tx| {
            let no = &req.application_no;
            if tx.application(no)?.is_some() || tx.form(no)?.is_some() {
                return refuse(Refused::NumberUsed);
            }
            if tx.customer(&req.contract_id)?.is_some_and(|c| c.closed) {
                return refuse(Refused::Closed);
            }
            let old = match token_named(tx, &req.contract_id, req.user_id.as_deref())? {
                Ok(serial) => serial,
                Err(Refused::NoToken) => return refuse(Refused::NothingToReturn),
                Err(r) => return refuse(r),
            };
            if let Some(serial) = &req.serial {
                if !tx.token(serial)?.is_some_and(|t| t.free_hardware()) {
                    return refuse(Refused::SerialNotFree);
                }
            }
            let form = CancelForm {
                form_no: no.clone(),
                contract_id: req.contract_id.clone(),
                serial: old,
                received_on: today(now),
                branch_code: actor.branch_code.clone(),
                identity_checked: true,
                recorded_by: actor.staff_id.clone(),
                recorded_at: now,
                decision: Decision::Received,
                replacement: Some(Replacement {
                    reason: req.reason,
                    serial: req.serial.clone(),
                }),
                user_id: req.user_id.clone(),
            };
            tx.put_form(&form)?;
            let detail = format!(
                "application {} {}{}",
                form.form_no,
                req.reason.code(),
                user_text(&form)
            );
            let who = (actor.staff_id.as_str(), actor.branch_code.as_str());
            let event = AuditEvent::BranchReplaceReceived;
            audit_form(tx, now, event, &form, &form.serial, detail, who)?;
            Ok(Ok(form))
        })
        .await
}

/// Approves a replacement: the old token handed back (返却済) and its holder between tokens,
/// the new hardware token assigned to the contract, the application carried out (no fee), in
/// one write with the audit record naming maker and checker.
pub async fn approve_replacement(
    store: &Store,
    actor: &Actor,
    form_no: &str,
    now: u64,
) -> Outcome<(CancelForm, Application)> {
    let Some(form) = store.form(form_no)? else {
        return Ok(Err(Refused::NotFound));
    };
    // Who may decide is answered before the inventory (re-checked in the transaction).
    if let Err(r) = checkable(actor, &form.recorded_by, &form.decision) {
        return Ok(Err(r));
    }
    let typed = form.replacement.and_then(|r| r.serial);
    on_free_token(store, typed.as_deref(), |tx, serial| {
        approve_in(tx, actor, form_no, serial, now)
    })
    .await
}

fn approve_in(
    tx: &mut Tx,
    actor: &Actor,
    form_no: &str,
    serial: &str,
    now: u64,
) -> TxResult<Result<(CancelForm, Application), Refused>> {
    let mut form = match pending_form(tx, actor, form_no)? {
        Ok(form) => form,
        Err(r) => return refuse(r),
    };
    let Some(rep) = form.replacement.clone() else {
        return refuse(Refused::NotFound);
    };
    let Some(mut token) = tx.token(serial)?.filter(|t| t.free_hardware()) else {
        return refuse(Refused::SerialNotFree);
    };
    let returned = TokenState::Returned {
        contract_id: form.contract_id.clone(),
        at: now,
        reason: rep.reason.code().into(),
    };
    if let Err(r) = retire_in(tx, &form, returned)? {
        return refuse(r);
    }
    token.assigned_to = Some(form.contract_id.clone());
    tx.put_token(&token)?;
    let app = Application {
        application_no: form.form_no.clone(),
        contract_id: form.contract_id.clone(),
        serial: token.serial.clone(),
        reason: rep.reason,
        fee_yen: 0,
        returned_serial: Some(form.serial.clone()),
        recorded_by: form.recorded_by.clone(),
        branch_code: form.branch_code.clone(),
        at: now,
    };
    tx.put_application(&app)?;
    form.decision = Decision::Approved {
        by: actor.staff_id.clone(),
        at: now,
        receipt: None,
    };
    tx.put_form(&form)?;
    let detail = format!(
        "application {} {} fee 0 yen, {} handed back{}, recorded by {} approved by {}",
        app.application_no,
        rep.reason.code(),
        form.serial,
        user_text(&form),
        form.recorded_by,
        actor.staff_id
    );
    let staff = two(&form.recorded_by, &actor.staff_id);
    let who = (staff.as_str(), actor.branch_code.as_str());
    let event = AuditEvent::BranchReplaceApproved;
    audit_form(tx, now, event, &form, &app.serial, detail, who)?;
    Ok(Ok((form, app)))
}

/// Carries out a 新規発行 発行申込書: assigns a free hardware token to the customer (only they may
/// then register it), with the fee. Replacements go through [`record_replacement`].
pub async fn issue(
    store: &Store,
    actor: &Actor,
    req: &IssueRequest,
    now: u64,
) -> Outcome<Application> {
    on_free_token(store, req.serial.as_deref(), |tx, serial| {
        issue_in(tx, actor, req, serial, now)
    })
    .await
}

/// Runs `body` on a free hardware token: `typed`, or the first free one of the inventory. A
/// transaction cannot scan, so candidates are picked from the free-token index outside it and
/// re-checked inside (`body` answers [`Refused::SerialNotFree`]); a candidate taken meanwhile
/// moves on to the next one.
async fn on_free_token<T>(
    store: &Store,
    typed: Option<&str>,
    body: impl Fn(&mut Tx, &str) -> TxResult<Result<T, Refused>>,
) -> Outcome<T> {
    const CANDIDATES: usize = 8;
    loop {
        let candidates: Vec<String> = match typed {
            Some(s) => vec![s.to_owned()],
            None => store.free_hardware_tokens(CANDIDATES)?,
        };
        if candidates.is_empty() {
            return Ok(Err(Refused::NoFreeToken));
        }
        for serial in &candidates {
            match store.commit(|tx| body(tx, serial)).await? {
                Err(Refused::SerialNotFree) if typed.is_none() => continue,
                other => return Ok(other),
            }
        }
    }
}

fn issue_in(
    tx: &mut Tx,
    actor: &Actor,
    req: &IssueRequest,
    serial: &str,
    now: u64,
) -> TxResult<Result<Application, Refused>> {
    // One number space with the replacements waiting in the forms.
    let no = &req.application_no;
    if tx.application(no)?.is_some() || tx.form(no)?.is_some() {
        return refuse(Refused::NumberUsed);
    }
    let customer = tx.customer(&req.contract_id)?;
    // A 法人 contract gets new tokens (seed 000: 事前に書面の手続きが必要です); its administrator
    // registers them, in place of a broken one too, from the phone.
    let business = tx.business(&req.contract_id)?;
    if customer.is_none() && business.is_none() {
        return refuse(Refused::UnknownContract);
    }
    if customer.as_ref().is_some_and(|c| c.closed) || business.is_some_and(|b| b.closed) {
        return refuse(Refused::Closed);
    }
    let Some(mut token) = tx.token(serial)? else {
        return refuse(Refused::SerialNotFree);
    };
    if !token.free_hardware() {
        return refuse(Refused::SerialNotFree);
    }
    token.assigned_to = Some(req.contract_id.clone());
    tx.put_token(&token)?;
    let app = Application {
        application_no: req.application_no.clone(),
        contract_id: req.contract_id.clone(),
        serial: token.serial.clone(),
        reason: req.reason,
        fee_yen: req.fee_yen,
        returned_serial: None,
        recorded_by: actor.staff_id.clone(),
        branch_code: actor.branch_code.clone(),
        at: now,
    };
    tx.put_application(&app)?;
    tx.audit_by(
        now,
        Event {
            event: AuditEvent::BranchTokenIssued,
            contract_id: Some(&app.contract_id),
            serial: Some(&app.serial),
            detail: format!(
                "application {} {} fee {} yen",
                app.application_no,
                app.reason.code(),
                app.fee_yen
            ),
        },
        &actor.staff_id,
        &actor.branch_code,
    )?;
    Ok(Ok(app))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons() {
        assert_eq!(IssueReason::parse("battery"), Some(IssueReason::Battery));
        assert!(IssueReason::Broken.is_replacement() && !IssueReason::New.is_replacement());
    }
}
