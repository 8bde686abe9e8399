//! Pages without a journey: the top (login) page and help.

use super::Step;
use crate::error::AppError;
use crate::reply::Reply;

/// `GET /`: the login screen.
pub fn top(step: &Step) -> Result<Reply, AppError> {
    Ok(top_with(step, None, ""))
}

/// The top page with a message (after logout, or a failed login) and the typed contract ID.
pub fn top_with(step: &Step, message: Option<&str>, contract_id: &str) -> Reply {
    let ctx = step.ctx(None);
    let label = &step.app.config.bank.contract_id_label;
    step.page_ending(markup::top::top(&ctx, label, message, contract_id))
}

/// `GET /help`.
pub fn help(step: &Step) -> Result<Reply, AppError> {
    let ctx = step.ctx(None);
    let s = &step.app.config.bank.support;
    let support = markup::Support {
        name: &s.name,
        phone: &s.phone,
        hours: &s.hours,
    };
    Ok(step.page(markup::help::help(&ctx, support), None))
}
