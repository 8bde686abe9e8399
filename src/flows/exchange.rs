//! 交換 (seed 003, 5. トークンの交換): the current token's OTP, then the new token's serial and
//! OTP, then the result with 変更後 / 変更前.

use super::card::{self, Answer};
use super::{input, otp_message, receipt_text, refusal_message, Step};
use crate::error::AppError;
use crate::ledger::{self, OtpCheck};
use crate::reply::Reply;
use crate::session::{Finished, Session, Stage};
use markup::start::Receipt;

const TITLE: &str = "ワンタイムパスワード交換";
/// Where the new-token form posts; a re-send of it after the result shows the result again.
const PATH: &str = markup::paths::EXCHANGE_NEW;

/// `GET /exchange`: from the menu straight to step 1; from the top page, credentials first.
pub async fn entry(step: &Step<'_>) -> Result<Reply, AppError> {
    if let Ok(session) = step.session_at(|s| *s == Stage::Menu) {
        let session = step.advance(&session, Stage::ExchangeAuthed { logged_in: true })?;
        return Ok(current_form(step, &session, None));
    }
    Ok(credentials(step, None, ""))
}

fn credentials(step: &Step, message: Option<&str>, contract_id: &str) -> Reply {
    let value = step.login_form_value();
    let ctx = step.credentials_ctx(&value);
    let label = &step.app.config.bank.contract_id_label;
    step.page(
        markup::start::credentials_form(
            &ctx,
            TITLE,
            markup::paths::EXCHANGE,
            label,
            message,
            contract_id,
        ),
        None,
    )
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
    if let Some(m) = step.credentials_form_refused() {
        return Ok(credentials(step, Some(m), ""));
    }
    let customer = match step.credentials().await? {
        Ok(c) => c,
        Err(retry) => return Ok(credentials(step, Some(&retry.message), &retry.contract_id)),
    };
    let id = &customer.contract_id;
    if customer.token.is_none() {
        let m = "トークンが登録されていません。利用開始から登録を行ってください。";
        return Ok(credentials(step, Some(m), id));
    }
    let session = step.sessions.create(
        &customer.contract_id,
        &customer.name,
        Stage::ExchangeAuthed { logged_in: false },
        step.req.subscriber.clone(),
    );
    Ok(current_form(step, &session, None))
}

/// `POST /exchange/current`: step 1, the OTP of the token in use.
pub async fn current_post(step: &Step<'_>) -> Result<Reply, AppError> {
    let session = step.posted_session(|s| matches!(s, Stage::ExchangeAuthed { .. }))?;
    let code = match input::otp(&step.req.form.text("otp")) {
        Ok(c) => c,
        Err(m) => return Ok(current_form(step, &session, Some(m))),
    };
    let limit = step.bank_policy().otp_fail_limit;
    let check = ledger::check_otp(
        &step.app.store,
        &session.contract_id,
        &code,
        step.now(),
        limit,
        "exchange step 1",
    )
    .await?;
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
    let session = match step.posted_session(|s| matches!(s, Stage::ExchangeVerified { .. })) {
        Ok(s) => s,
        Err(e @ (AppError::Session | AppError::Step)) => {
            return step.resent(PATH, e, |ctx, f| {
                let receipt = Receipt {
                    number: &f.number,
                    time: &f.time,
                };
                let old = f.old_serial.as_deref().unwrap_or("");
                markup::exchange::done(ctx, receipt, &f.serial, old)
            })
        }
        Err(e) => return Err(e),
    };
    let Stage::ExchangeVerified { old_serial, .. } = &session.stage else {
        return Err(AppError::Step);
    };
    let typed_serial = step.req.form.text("serial");
    let serial = match input::serial(&typed_serial) {
        Ok(s) => s,
        Err(m) => return Ok(new_form(step, &session, Some(m), &typed_serial)),
    };
    let code = match input::otp(&step.req.form.text("otp")) {
        Ok(c) => c,
        Err(m) => return Ok(new_form(step, &session, Some(m), &serial)),
    };
    if card::wanted(step) {
        match card::check(step, &session).await? {
            Answer::Right => {}
            Answer::Again(m) => return Ok(new_form(step, &session, Some(&m), &serial)),
            Answer::Locked(m) => {
                step.sessions.end(&session.id);
                return Ok(super::pages::top_with(step, Some(m), ""));
            }
        }
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
        Err(r) => {
            return Ok(new_form(
                step,
                &session,
                Some(&refusal_message(&r)),
                &serial,
            ))
        }
    };
    let (number, time) = receipt_text(&done.receipt);
    step.remember_finished(
        &session,
        Finished {
            path: PATH,
            name: session.name.clone(),
            subscriber: session.subscriber.clone(),
            serial: serial.clone(),
            old_serial: Some(old_serial.clone()),
            number: number.clone(),
            time: time.clone(),
        },
    );
    let receipt = Receipt {
        number: &number,
        time: &time,
    };
    step.finish(&session, |ctx| {
        markup::exchange::done(ctx, receipt, &serial, old_serial)
    })
}
