//! 発行申込書 (procedure): a hardware token issued to a customer (or a 法人 contract) at the
//! counter, 新規発行 with the bank profile's fee, or a free replacement of a broken or
//! battery-dead token, which is handed back. Handlers, the application's checks and the
//! transaction are here; the wording is [`crate::branch::pages::issue`]'s.

use super::{bad_input, contract_id, done, refuse, refused, Actor, Application, Bad};
use super::{IssueReason, Outcome, Refused, Step};
use crate::branch::pages::issue as page;
use crate::branch::{input, Staffed};
use crate::store::{AuditEvent, Event, Store, TokenState, Tx, TxResult};

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
    Ok(IssueRequest {
        application_no,
        contract_id: id.clone(),
        reason,
        serial,
        fee_yen: s.app.config.bank.hardware_token_fee_yen,
    })
}

/// `POST /branch/applications`: carries out a 発行申込書.
pub async fn record(s: &Staffed<'_>) -> Step {
    let req = match fields(s) {
        Ok(r) => r,
        Err(bad) => return bad_input(s, page::TITLE, bad),
    };
    let id = &req.contract_id;
    match issue(&s.app.store, &s.actor, &req, s.now()).await? {
        Ok(a) => done(s, page::TITLE, &page::issued(&a), Some(id)),
        Err(r) => refused(s, page::TITLE, &r, Some(id)),
    }
}

/// Carries out a 発行申込書: assigns a free hardware token to the customer (only they may then
/// register it), with the fee, or none when it replaces a broken or battery-dead token, which is
/// marked as handed back and unbound from the customer.
pub async fn issue(
    store: &Store,
    actor: &Actor,
    req: &IssueRequest,
    now: u64,
) -> Outcome<Application> {
    // A transaction cannot scan, so candidates are picked from the free-token index outside
    // it and re-checked inside; a candidate taken meanwhile moves on to the next one.
    const CANDIDATES: usize = 8;
    loop {
        let candidates: Vec<String> = match &req.serial {
            Some(s) => vec![s.clone()],
            None => store.free_hardware_tokens(CANDIDATES)?,
        };
        if candidates.is_empty() {
            return Ok(Err(Refused::NoFreeToken));
        }
        for serial in &candidates {
            let result = store
                .commit(|tx| issue_in(tx, actor, req, serial, now))
                .await?;
            match result {
                Err(Refused::SerialNotFree) if req.serial.is_none() => continue,
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
    if tx.application(&req.application_no)?.is_some() {
        return refuse(Refused::NumberUsed);
    }
    let customer = tx.customer(&req.contract_id)?;
    // A 法人 contract gets new tokens (seed 000: 事前に書面の手続きが必要です); its administrator
    // registers them, in place of a broken one too, from the phone.
    if customer.is_none() && tx.business(&req.contract_id)?.is_none() {
        return refuse(Refused::UnknownContract);
    }
    if customer.as_ref().is_some_and(|c| c.closed) {
        return refuse(Refused::Closed);
    }
    let Some(mut token) = tx.token(serial)? else {
        return refuse(Refused::SerialNotFree);
    };
    if !token.free_hardware() {
        return refuse(Refused::SerialNotFree);
    }
    let mut returned_serial = None;
    if req.reason.is_replacement() {
        let Some(mut c) = customer else {
            return refuse(Refused::NothingToReturn);
        };
        let Some(binding) = c.token.take() else {
            return refuse(Refused::NothingToReturn);
        };
        let Some(mut old) = tx.token(&binding.serial)? else {
            return refuse(Refused::NothingToReturn);
        };
        old.state = TokenState::Returned {
            contract_id: c.contract_id.clone(),
            at: now,
            reason: req.reason.code().into(),
        };
        tx.put_token(&old)?;
        tx.put_customer(&c)?;
        returned_serial = Some(old.serial);
    }
    token.assigned_to = Some(req.contract_id.clone());
    tx.put_token(&token)?;
    let app = Application {
        application_no: req.application_no.clone(),
        contract_id: req.contract_id.clone(),
        serial: token.serial.clone(),
        reason: req.reason,
        fee_yen: if req.reason.is_replacement() {
            0
        } else {
            req.fee_yen
        },
        returned_serial,
        recorded_by: actor.staff_id.clone(),
        branch_code: actor.branch_code.clone(),
        at: now,
    };
    tx.put_application(&app)?;
    let returned = app
        .returned_serial
        .as_deref()
        .map(|s| format!(", {s} handed back"))
        .unwrap_or_default();
    tx.audit_by(
        now,
        Event {
            event: AuditEvent::BranchTokenIssued,
            contract_id: Some(&app.contract_id),
            serial: Some(&app.serial),
            detail: format!(
                "application {} {} fee {} yen{returned}",
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
