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

/// Any phone path opened from a PC or smartphone (unless `serve --allow-pc`): the short page
/// pointing to the bank's PC/smartphone site.
pub fn pc_pointer(step: &Step) -> Reply {
    let ctx = step.ctx(None);
    let url = &step.app.config.bank.pc_site_url;
    step.page(markup::pc::pointer(&ctx, url), None)
}
