//! The console's procedures, one module each: what staff do at the counter, from the request's
//! fields through the checks of the record to its transaction. Each module holds its handlers
//! (`GET`/`POST` of its routes), the validation of what staff typed, and the store operation
//! (one atomic [`crate::store::Store::commit`] carrying its audit record, durable before the page
//! is sent); what staff read is on the page side, in [`super::pages`].
//!
//! This file holds what the procedures share: who acts ([`Actor`]), why an operation was
//! refused ([`Refused`]), the maker–checker rule, and the result pages' plumbing.
//!
//! Maker–checker: a form or release is recorded by one staff member and approved or rejected by a
//! supervisor other than its maker. Approval re-reads the record inside the transaction, so two
//! approvals at once (double click, two supervisors) have exactly one effect.

pub mod audit;
pub mod business;
pub mod cancel;
pub mod customer;
pub mod issue;
pub mod lists;
pub mod sign_in;
pub mod staff;
pub mod unlock;

use super::pages::{self, Nav};
use super::{html, BranchError, BranchRequest, Staffed};
use crate::clock;
use crate::reply::Reply;
pub use crate::store::{
    Application, CancelForm, Decision, IssueReason, Release, ReleaseKind, Role, Staff,
};
use crate::store::{AuditEvent, Event, StoreError, Tx, TxResult};
use hyper::StatusCode;

/// What a handler answers.
pub type Step = Result<Reply, BranchError>;

/// Who acts: the signed-in staff member, as the session knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub staff_id: String,
    pub name: String,
    pub branch_code: String,
    pub role: Role,
}

/// Why an operation was refused; nothing was changed. What staff read of it is
/// [`Refused::message`], on the page side.
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
    #[error("token neither theirs nor free")]
    NotTheirs,
    #[error("contract closed")]
    Closed,
    #[error("no such business user")]
    UnknownUser,
    #[error("a business user must be chosen")]
    ChooseUser,
}

/// Result of an operation: done, or refused with nothing changed.
pub type Outcome<T> = Result<Result<T, Refused>, StoreError>;

pub(crate) fn refuse<T>(r: Refused) -> TxResult<Result<T, Refused>> {
    Ok(Err(r))
}

/// The audit trail's staff field of a decision: maker and checker.
pub(crate) fn two(maker: &str, checker: &str) -> String {
    format!("{maker},{checker}")
}

/// Audits a step on a form (its contract, `serial`) by `who` = (staff, branch); staff is one
/// staff ID, or `maker,checker` for a decision.
pub(crate) fn audit_form(
    tx: &mut Tx,
    now: u64,
    event: AuditEvent,
    form: &CancelForm,
    serial: &str,
    detail: String,
    who: (&str, &str),
) -> TxResult<u64> {
    let e = Event {
        event,
        contract_id: Some(&form.contract_id),
        serial: Some(serial),
        detail,
    };
    tx.audit_by(now, e, who.0, who.1)
}

/// The checks every approval and rejection shares, inside the transaction.
pub(crate) fn checkable(actor: &Actor, maker: &str, decision: &Decision) -> Result<(), Refused> {
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

/// Whether the page offers `actor` the approve and reject buttons.
pub(crate) fn can_decide(actor: &Actor, maker: &str, decision: &Decision) -> bool {
    checkable(actor, maker, decision).is_ok()
}

/// What staff typed that cannot be used: the message, and the customer to go back to.
pub struct Bad {
    pub message: String,
    pub contract: Option<String>,
}

impl Bad {
    /// Bad input about `contract`'s procedure.
    pub fn of(contract: &str) -> impl Fn(String) -> Bad + '_ {
        move |message| Bad {
            message,
            contract: Some(contract.to_owned()),
        }
    }
}

impl From<String> for Bad {
    fn from(message: String) -> Bad {
        Bad {
            message,
            contract: None,
        }
    }
}

pub(crate) fn nav<'a>(s: &'a Staffed) -> Nav<'a> {
    Nav {
        actor: &s.actor,
        csrf: s.csrf(),
    }
}

/// The bank profile's branches (code, name), for the 受付店 select.
pub(crate) fn branches(s: &Staffed) -> Vec<(String, String)> {
    let bank = &s.app.config.bank;
    bank.branches
        .iter()
        .map(|b| (b.code.clone(), b.name.clone()))
        .collect()
}

pub(crate) fn today(now: u64) -> String {
    clock::iso_day(now)
}

fn refused_status(r: &Refused) -> StatusCode {
    match r {
        Refused::UnknownContract | Refused::NotFound => StatusCode::NOT_FOUND,
        Refused::NotSupervisor => StatusCode::FORBIDDEN,
        Refused::NumberUsed | Refused::AlreadyDecided(_) | Refused::OwnEntry => {
            StatusCode::CONFLICT
        }
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// A result page: `lines` said, `contract` linked back to.
pub(crate) fn outcome(
    s: &Staffed,
    status: StatusCode,
    title: &str,
    ok: bool,
    lines: &[String],
    contract: Option<&str>,
) -> Step {
    Ok(html(
        status,
        pages::result(nav(s), title, ok, lines, contract),
    ))
}

/// A done page (200).
pub(crate) fn done(s: &Staffed, title: &str, lines: &[String], contract: Option<&str>) -> Step {
    outcome(s, StatusCode::OK, title, true, lines, contract)
}

pub(crate) fn refused(s: &Staffed, title: &str, r: &Refused, contract: Option<&str>) -> Step {
    outcome(s, refused_status(r), title, false, &[r.message()], contract)
}

/// The page for bad input (422), nothing changed.
pub(crate) fn bad_input(s: &Staffed, title: &str, bad: Bad) -> Step {
    outcome(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        title,
        false,
        &[bad.message],
        bad.contract.as_deref(),
    )
}

/// A contract ID from field `name`, or the message to show.
pub(crate) fn contract_id(req: &BranchRequest, name: &str) -> Result<String, String> {
    crate::flows::input::contract_id(&req.text(name))
        .map(String::from)
        .map_err(str::to_owned)
}

/// The customer's (or 法人 contract's) name for lists and detail pages (empty for none).
pub(crate) fn name_of(s: &Staffed, contract_id: &str) -> Result<String, BranchError> {
    let store = &s.app.store;
    Ok(match store.customer(contract_id)? {
        Some(c) => c.name,
        None => store
            .business(contract_id)?
            .map(|b| b.name)
            .unwrap_or_default(),
    })
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
}
