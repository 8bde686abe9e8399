//! 利用中止 from a feature phone: refused by design (seed 003), the customer is sent to a branch
//! with the paper form, and the attempt is recorded for the branch console: a logged-in
//! customer's once per session, anonymous ones as counts ([`crate::cancel_count`]), so that
//! views of this page cannot flood the disk or the audit trail.

use super::Step;
use crate::error::AppError;
use crate::ledger;
use crate::reply::Reply;
use crate::session::Stage;

/// `GET /cancel`: the notice with branches and the support desk; changes nothing but the
/// record of the attempt.
pub async fn notice(step: &Step<'_>) -> Result<Reply, AppError> {
    // A logged-in customer is known: the branch can follow up on them.
    let session = step.session_at(Stage::logged_in).ok();
    let session = match session {
        Some(s) if s.stage != Stage::Menu => Some(step.advance(&s, Stage::Menu)?),
        other => other,
    };
    let (app, now) = (step.app, step.now());
    match &session {
        Some(s) => {
            if app.cancels.first_of_session(&s.csrf) {
                ledger::cancel_attempt(&app.store, Some(&s.contract_id), now).await?;
            }
        }
        None => {
            if let Some(batch) = app.cancels.anonymous(step.req.handset.carrier, now) {
                ledger::commit_cancel_counts(&app.store, &batch).await?;
            }
        }
    }
    let bank = &step.app.config.bank;
    let branches: Vec<markup::Branch> = bank
        .branches
        .iter()
        .map(|b| markup::Branch {
            name: &b.name,
            address: &b.address,
            phone: &b.phone,
        })
        .collect();
    let support = markup::Support {
        name: &bank.support.name,
        phone: &bank.support.phone,
        hours: &bank.support.hours,
    };
    let ctx = step.ctx(session.as_ref());
    Ok(step.page(
        markup::cancel::notice(&ctx, &branches, support),
        session.as_ref(),
    ))
}
