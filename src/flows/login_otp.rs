//! Changing the ログイン時のワンタイムパスワード choice from the menu (seed 003: the customer
//! chooses it, 任意で): the current OTP is asked, and the change is durable and audited.

use super::login::menu_page;
use super::{input, otp_message, Step};
use crate::error::AppError;
use crate::ledger::{self, OtpCheck};
use crate::reply::Reply;
use crate::session::{Session, Stage};

/// The customer's current choice, read fresh; `None` without a token to ask an OTP of.
fn current(step: &Step, session: &Session) -> Result<Option<bool>, AppError> {
    let customer = step
        .app
        .store
        .customer(session.contract_id.as_str())?
        .ok_or(AppError::Session)?;
    Ok(customer.token.map(|b| b.login_otp))
}

fn form(step: &Step, session: &Session, login_otp: bool, message: Option<&str>) -> Reply {
    let ctx = step.ctx(Some(session));
    step.page(
        markup::login::login_otp_setting(&ctx, login_otp, message),
        Some(session),
    )
}

/// `GET /menu/login-otp`.
pub async fn entry(step: &Step<'_>) -> Result<Reply, AppError> {
    let session = step.session_at(|s| *s == Stage::Menu)?;
    match current(step, &session)? {
        Some(login_otp) => Ok(form(step, &session, login_otp, None)),
        None => menu_page(step, &session, Some(NO_TOKEN)),
    }
}

const NO_TOKEN: &str =
    "トークンが登録されていないため、ログイン時のワンタイムパスワードは設定できません。";

/// `POST /menu/login-otp`: the new choice and the current OTP; back to the menu when done.
pub async fn post(step: &Step<'_>) -> Result<Reply, AppError> {
    let session = step.posted_session(|s| *s == Stage::Menu)?;
    let Some(was) = current(step, &session)? else {
        return menu_page(step, &session, Some(NO_TOKEN));
    };
    let wanted = step.req.form.get("login_otp") != Some("0");
    let code = match input::otp(&step.req.form.text("otp")) {
        Ok(c) => c,
        Err(m) => return Ok(form(step, &session, was, Some(m))),
    };
    let limit = step.bank_policy().otp_fail_limit;
    let check = ledger::set_login_otp(
        &step.app.store,
        &session.contract_id,
        &code,
        wanted,
        step.now(),
        limit,
    )
    .await?;
    match check {
        OtpCheck::Accepted { .. } => {
            let m = if wanted {
                "ログイン時のワンタイムパスワード認証要否を「認証する」に変更しました。"
            } else {
                "ログイン時のワンタイムパスワード認証要否を「認証しない」に変更しました。"
            };
            menu_page(step, &session, Some(m))
        }
        OtpCheck::Refused(r) => Ok(form(step, &session, was, Some(&otp_message(r)))),
        OtpCheck::NoToken | OtpCheck::Cancelled | OtpCheck::UnknownCustomer => {
            menu_page(step, &session, Some(NO_TOKEN))
        }
    }
}
