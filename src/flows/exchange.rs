//! 交換 (seed 003, 5. トークンの交換): the current token's OTP, then the new token's serial and
//! OTP, then the result with 変更後 / 変更前.

use super::card;
use super::journey::{self, Journey};
use super::{otp_message, refusal_message, Step};
use crate::error::AppError;
use crate::ledger::{self, OtpCheck};
use crate::reply::Reply;
use crate::session::{Finished, Session, Stage};
use crate::store::Customer;
use markup::start::Receipt;
use markup::Ctx;

/// Its names; the new-token form posts to `last`, and a re-send of it after the result shows
/// the result again.
const JOURNEY: Journey = Journey {
    title: "ワンタイムパスワード交換",
    credentials: markup::paths::EXCHANGE,
    last: markup::paths::EXCHANGE_NEW,
};

/// `GET /exchange`: from the menu straight to step 1; from the top page, credentials first.
pub async fn entry(step: &Step<'_>) -> Result<Reply, AppError> {
    if let Ok(session) = step.session_at(|s| *s == Stage::Menu) {
        let session = step.advance(&session, Stage::ExchangeAuthed { logged_in: true })?;
        return Ok(current_form(step, &session, None));
    }
    Ok(JOURNEY.credentials_form(step, None, ""))
}

fn current_form(step: &Step, session: &Session, message: Option<&str>) -> Reply {
    let ctx = step.ctx(Some(session));
    step.page(markup::exchange::current(&ctx, message), Some(session))
}

fn new_form(step: &Step, session: &Session, message: Option<&str>, serial: &str) -> Reply {
    let (session, card) = card::ask(step, session);
    let ctx = step.ctx(Some(&session));
    step.page(
        markup::exchange::new_token(&ctx, message, serial, card),
        Some(&session),
    )
}

/// `POST /exchange`: contract ID and login password (entry from the top page).
pub async fn credentials_post(step: &Step<'_>) -> Result<Reply, AppError> {
    let refuse = |c: &Customer| {
        c.token
            .is_none()
            .then_some("トークンが登録されていません。利用開始から登録を行ってください。")
    };
    let stage = Stage::ExchangeAuthed { logged_in: false };
    Ok(match JOURNEY.sign_in(step, refuse, stage).await? {
        Ok(session) => current_form(step, &session, None),
        Err(form) => form,
    })
}

/// `POST /exchange/current`: step 1, the OTP of the token in use.
pub async fn current_post(step: &Step<'_>) -> Result<Reply, AppError> {
    let session = step.posted_session(|s| matches!(s, Stage::ExchangeAuthed { .. }))?;
    let form = |m: &str| current_form(step, &session, Some(m));
    let check = match step.posted_otp(&session, "exchange step 1", form).await? {
        Ok(check) => check,
        Err(again) => return Ok(again),
    };
    let logged_in = session.stage.logged_in();
    match check {
        OtpCheck::Accepted { serial } => {
            let stage = Stage::ExchangeVerified {
                old_serial: serial,
                logged_in,
            };
            let session = step.advance(&session, stage)?;
            Ok(new_form(step, &session, None, ""))
        }
        OtpCheck::Refused(r) => Ok(current_form(step, &session, Some(&otp_message(r)))),
        OtpCheck::NoToken | OtpCheck::Cancelled | OtpCheck::UnknownCustomer => {
            let m = "トークンが登録されていません。利用開始から登録を行ってください。";
            Ok(current_form(step, &session, Some(m)))
        }
    }
}

/// `POST /exchange/new`: step 2, the new token; on success the result page.
pub async fn new_post(step: &Step<'_>) -> Result<Reply, AppError> {
    let done = |ctx: &Ctx, r: Receipt, f: &Finished| {
        let old = f.old_serial.as_deref().unwrap_or("");
        markup::exchange::done(ctx, r, &f.serial, old)
    };
    let verified = |s: &Stage| matches!(s, Stage::ExchangeVerified { .. });
    let session = match JOURNEY.last_session(step, verified, done)? {
        Ok(s) => s,
        Err(resent) => return Ok(resent),
    };
    let Stage::ExchangeVerified { old_serial, .. } = &session.stage else {
        return Err(AppError::Step);
    };
    let form = |m: &str, serial: &str| new_form(step, &session, Some(m), serial);
    let (serial, code) = match journey::new_token(step, form) {
        Ok(fields) => fields,
        Err(again) => return Ok(again),
    };
    if let Some(r) = journey::card_refused(step, &session, |m| form(m, serial.as_str())).await? {
        return Ok(r);
    }
    let limit = step.bank_policy().otp_fail_limit;
    let result = ledger::exchange(
        &step.app.store,
        &session.contract_id,
        old_serial,
        &serial,
        &code,
        step.now(),
        limit,
    )
    .await?;
    let done = match result {
        Ok(done) => done,
        Err(r) => return Ok(form(&refusal_message(&r), serial.as_str())),
    };
    let registered = (serial.as_str(), Some(old_serial.as_str()));
    JOURNEY.receipt(step, &session, registered, &done.receipt, |ctx, r| {
        markup::exchange::done(ctx, r, serial.as_str(), old_serial.as_str())
    })
}
