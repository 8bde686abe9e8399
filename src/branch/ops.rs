//! The branch console's operations on the store: staff, paper cancellation forms (利用中止届),
//! hardware-token applications (発行申込書) and lock releases. The records are the store's
//! (`store::records`); how staff read and type them is here. Every operation is
//! one atomic [`Store::commit`] carrying its audit record (with the staff IDs and branch), made
//! durable before it returns. Nothing here knows HTTP.
//!
//! Maker–checker: a form or release is recorded by one staff member and approved or rejected by a
//! supervisor other than its maker. Approval re-reads the record inside the transaction, so two
//! approvals at once (double click, two supervisors) have exactly one effect.

use crate::config::Policy;
pub use crate::store::{
    Application, CancelForm, Decision, IssueReason, Release, ReleaseKind, Role, Staff,
};
use crate::store::{AuditEvent, Event, ReceiptKind, Store, StoreError, TokenState, Tx, TxResult};

// The records are the store's; what staff read of them, and how they type them, is here.

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::Clerk => "担当者",
            Role::Supervisor => "役席者",
        }
    }
}

/// Who acts: the signed-in staff member, as the session knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub staff_id: String,
    pub name: String,
    pub branch_code: String,
    pub role: Role,
}

impl Decision {
    pub fn label(&self) -> &'static str {
        match self {
            Decision::Received => "受付済",
            Decision::Approved { .. } => "承認済",
            Decision::Rejected { .. } => "却下",
        }
    }
}

impl IssueReason {
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

    pub fn label(self) -> &'static str {
        match self {
            IssueReason::New => "新規発行",
            IssueReason::Broken => "故障による交換",
            IssueReason::Battery => "電池切れによる交換",
        }
    }

    pub fn is_replacement(self) -> bool {
        self != IssueReason::New
    }
}

impl ReleaseKind {
    pub fn parse(s: &str) -> Option<ReleaseKind> {
        match s {
            "token" => Some(ReleaseKind::Token),
            "login" => Some(ReleaseKind::Login),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ReleaseKind::Token => "トークンロック解除",
            ReleaseKind::Login => "ログインロック解除",
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

/// Why an operation was refused; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("unknown contract ID")]
    UnknownContract,
    #[error("number already used")]
    NumberUsed,
    #[error("customer has no token")]
    NoToken,
    #[error("no such record")]
    NotFound,
    #[error("already decided")]
    AlreadyDecided(String),
    #[error("own entry")]
    OwnEntry,
    #[error("supervisor only")]
    NotSupervisor,
    #[error("no free hardware token")]
    NoFreeToken,
    #[error("token not free")]
    SerialNotFree,
    #[error("not locked")]
    NotLocked,
    #[error("token changed")]
    TokenChanged,
    #[error("nothing to hand back")]
    NothingToReturn,
    #[error("contract closed")]
    Closed,
}

impl Refused {
    /// What staff read.
    pub fn message(&self) -> String {
        match self {
            Refused::UnknownContract => "この契約者IDのお客様は登録されていません。".into(),
            Refused::NumberUsed => "この番号は既に使用されています。用紙の番号をご確認ください。".into(),
            Refused::NoToken => "このお客様にはご利用中のトークンがありません。".into(),
            Refused::NotFound => "該当する受付がありません。".into(),
            Refused::AlreadyDecided(state) => {
                format!("この受付は既に処理されています(状態: {state})。処理は一度だけ行われました。")
            }
            Refused::OwnEntry => "ご自身が受け付けた案件は承認・却下できません。別の役席者が処理してください。".into(),
            Refused::NotSupervisor => "承認・却下は役席者のみが行えます。".into(),
            Refused::NoFreeToken => "払い出せるハードウェアトークンの在庫がありません。".into(),
            Refused::SerialNotFree => "このシリアル番号のトークンは払い出せません(在庫にない、ソフトウェアトークン、または割当済み)。".into(),
            Refused::NotLocked => "ロックされていないため、解除の必要はありません。".into(),
            Refused::TokenChanged => "受付後にお客様のトークンが変更されています。この受付は却下してください。".into(),
            Refused::NothingToReturn => "交換の対象となるご利用中のトークンがありません。新規発行を選んでください。".into(),
            Refused::Closed => "このお客様の契約は解約されています(インターネットバンキングのホストから)。".into(),
        }
    }
}

/// Result of an operation: done, or refused with nothing changed.
pub type Outcome<T> = Result<Result<T, Refused>, StoreError>;

fn refuse<T>(r: Refused) -> TxResult<Result<T, Refused>> {
    Ok(Err(r))
}

/// Stores staff records (the demo loader; an HR feed later).
pub fn put_staff(store: &Store, staff: &[Staff], at: u64) -> Result<(), StoreError> {
    store.commit_now(|tx| {
        for s in staff {
            tx.put_staff(s)?;
        }
        tx.audit(
            at,
            Event {
                detail: format!("{} staff", staff.len()),
                ..Event::new(AuditEvent::StaffLoad)
            },
        )
    })?;
    Ok(())
}

pub fn staff(store: &Store, staff_id: &str) -> Result<Option<Staff>, StoreError> {
    store.staff(staff_id)
}

/// Audits a sign-in, sign-in failure or sign-out.
pub async fn audit_sign_in(
    store: &Store,
    at: u64,
    event: AuditEvent,
    staff: Option<(&str, &str)>,
    detail: &str,
) -> Result<(), StoreError> {
    store
        .commit(|tx| {
            let e = Event {
                detail: detail.into(),
                ..Event::new(event)
            };
            match staff {
                Some((id, branch)) => tx.audit_by(at, e, id, branch),
                None => tx.audit(at, e),
            }
        })
        .await?;
    Ok(())
}

fn two(maker: &str, checker: &str) -> String {
    format!("{maker},{checker}")
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
            let Some(c) = tx.customer(&form.contract_id)? else {
                return refuse(Refused::UnknownContract);
            };
            let Some(binding) = c.token else {
                return refuse(Refused::NoToken);
            };
            let mut form = form.clone();
            form.serial = binding.serial;
            form.recorded_by = actor.staff_id.clone();
            form.recorded_at = now;
            form.decision = Decision::Received;
            tx.put_form(&form)?;
            tx.audit_by(
                now,
                Event {
                    event: AuditEvent::BranchCancelReceived,
                    contract_id: Some(&form.contract_id),
                    serial: Some(&form.serial),
                    detail: format!(
                        "form {} received {} at branch {}",
                        form.form_no, form.received_on, form.branch_code
                    ),
                },
                &actor.staff_id,
                &actor.branch_code,
            )?;
            Ok(Ok(form))
        })
        .await
}

/// The checks every approval and rejection shares, inside the transaction.
fn checkable(actor: &Actor, maker: &str, decision: &Decision) -> Result<(), Refused> {
    if actor.role != Role::Supervisor {
        return Err(Refused::NotSupervisor);
    }
    if *decision != Decision::Received {
        return Err(Refused::AlreadyDecided(decision.label().into()));
    }
    if actor.staff_id == maker {
        return Err(Refused::OwnEntry);
    }
    Ok(())
}

/// The form `form_no`, if `actor` may decide it (a supervisor other than its maker, still
/// undecided).
fn pending_form(
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
            let Some(mut c) = tx.customer(&form.contract_id)? else {
                return refuse(Refused::UnknownContract);
            };
            match &c.token {
                Some(b) if b.serial == form.serial => {}
                Some(_) => return refuse(Refused::TokenChanged),
                None => return refuse(Refused::NoToken),
            }
            let Some(mut token) = tx.token(&form.serial)? else {
                return refuse(Refused::NoToken);
            };
            token.state = TokenState::Cancelled {
                contract_id: c.contract_id.clone(),
                at: now,
            };
            tx.put_token(&token)?;
            c.token = None;
            c.transfers_blocked = true;
            tx.put_customer(&c)?;
            let receipt = tx.receipt(
                ReceiptKind::Cancellation,
                &c.contract_id,
                &token.serial,
                None,
                now,
            )?;
            form.decision = Decision::Approved {
                by: actor.staff_id.clone(),
                at: now,
                receipt: Some(receipt.number_text()),
            };
            tx.put_form(&form)?;
            tx.audit_by(
                now,
                Event {
                    event: AuditEvent::BranchCancelApproved,
                    contract_id: Some(&c.contract_id),
                    serial: Some(&token.serial),
                    detail: format!(
                        "form {} receipt {} recorded by {} approved by {}",
                        form.form_no,
                        receipt.number_text(),
                        form.recorded_by,
                        actor.staff_id
                    ),
                },
                &two(&form.recorded_by, &actor.staff_id),
                &actor.branch_code,
            )?;
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
            tx.audit_by(
                now,
                Event {
                    event: AuditEvent::BranchCancelRejected,
                    contract_id: Some(&form.contract_id),
                    serial: Some(&form.serial),
                    detail: format!("form {} rejected: {reason}", form.form_no),
                },
                &two(&form.recorded_by, &actor.staff_id),
                &actor.branch_code,
            )?;
            Ok(Ok(form))
        })
        .await
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

/// Records a lock release request (受付済); nothing is released until approval.
pub async fn record_release(
    store: &Store,
    actor: &Actor,
    contract_id: &str,
    kind: ReleaseKind,
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
                    let Some(b) = &c.token else {
                        return refuse(Refused::NoToken);
                    };
                    let Some(t) = tx.token(&b.serial)? else {
                        return refuse(Refused::NoToken);
                    };
                    if !t.locked(policy) {
                        return refuse(Refused::NotLocked);
                    }
                    Some(t.serial)
                }
                ReleaseKind::Login => {
                    if !c.login_locked(policy) {
                        return refuse(Refused::NotLocked);
                    }
                    None
                }
            };
            let release = Release {
                id: tx.next_audit_seq(),
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
                        let serial = r.serial.clone().unwrap_or_default();
                        if c.token.as_ref().map(|b| &b.serial) != Some(&serial) {
                            return refuse(Refused::TokenChanged);
                        }
                        let Some(mut t) = tx.token(&serial)? else {
                            return refuse(Refused::TokenChanged);
                        };
                        t.otp.fails = 0;
                        t.otp.locked = false;
                        tx.put_token(&t)?;
                    }
                    ReleaseKind::Login => {
                        c.login_fails = 0;
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

pub fn form(store: &Store, form_no: &str) -> Result<Option<CancelForm>, StoreError> {
    store.form(form_no)
}

pub fn release(store: &Store, id: u64) -> Result<Option<Release>, StoreError> {
    store.release(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(id: &str, role: Role) -> Actor {
        Actor {
            staff_id: id.into(),
            name: String::new(),
            branch_code: "001".into(),
            role,
        }
    }

    #[test]
    fn maker_checker_rules() {
        let received = Decision::Received;
        let sup = actor("S0012", Role::Supervisor);
        assert_eq!(checkable(&sup, "C0011", &received), Ok(()));
        assert_eq!(
            checkable(&actor("C0021", Role::Clerk), "C0011", &received),
            Err(Refused::NotSupervisor)
        );
        assert_eq!(checkable(&sup, "S0012", &received), Err(Refused::OwnEntry));
        let done = Decision::Approved {
            by: "S0022".into(),
            at: 1,
            receipt: None,
        };
        assert_eq!(
            checkable(&sup, "C0011", &done),
            Err(Refused::AlreadyDecided("承認済".into()))
        );
    }

    #[test]
    fn release_numbers() {
        assert_eq!(Release::parse_number("R0000012"), Some(12));
        assert_eq!(Release::parse_number("12"), Some(12));
        assert_eq!(Release::parse_number("R-1"), None);
        assert_eq!(IssueReason::parse("battery"), Some(IssueReason::Battery));
        assert!(IssueReason::Broken.is_replacement() && !IssueReason::New.is_replacement());
    }
}
