//! 利用開始 (seeds 001, 003): contract ID + login password, then serial + current OTP +
//! login-time OTP choice + 資金移動用パスワード (or the お客様カード, see [`super::card`]), then
//! the receipt.

use super::card::{self, Answer};
use super::{input, password_message, receipt_text, refusal_message, Step};
use crate::attempts::{PasswordCheck, Secret};
use crate::error::AppError;
use crate::ledger;
use crate::reply::Reply;
use crate::session::{Finished, Session, Stage};
use markup::start::{Receipt, TokenForm};

const TITLE: &str = "ワンタイムパスワード利用開始";
/// Where the token form posts; a re-send of it after the receipt shows the receipt again.
const PATH: &str = markup::paths::START_TOKEN;

fn is_start(stage: &Stage) -> bool {
    matches!(stage, Stage::StartAuthed { .. })
}

/// `GET /start`: step 1, or straight to step 2 from the menu (already logged in).
pub async fn entry(step: &Step<'_>) -> Result<Reply, AppError> {
    if let Ok(session) = step.session_at(|s| *s == Stage::Menu) {
        let session = step.advance(&session, Stage::StartAuthed { logged_in: true })?;
        return Ok(token_form(step, &session, None, ""));
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
            markup::paths::START,
            label,
            message,
            contract_id,
        ),
        None,
    )
}

fn token_form(step: &Step, session: &Session, message: Option<&str>, serial: &str) -> Reply {
    let login_otp = match step.req.form.get("login_otp") {
        Some(v) => v != "0",
        None => step.app.config.bank.login_otp_default,
    };
    let (session, card) = card::ask(step, session);
    let ctx = step.ctx(Some(&session));
    let form = TokenForm {
        serial,
        login_otp,
        card,
    };
    step.page(markup::start::token(&ctx, message, form), Some(&session))
}

/// `POST /start`: checks contract ID and login password.
pub async fn credentials_post(step: &Step<'_>) -> Result<Reply, AppError> {
    if let Some(m) = step.credentials_form_refused() {
        return Ok(credentials(step, Some(m), ""));
    }
    let customer = match step.credentials().await? {
        Ok(c) => c,
        Err(retry) => return Ok(credentials(step, Some(&retry.message), &retry.contract_id)),
    };
    let id = &customer.contract_id;
    if customer.token.is_some() {
        let m = "既にトークンが登録されています。トークンの変更は交換から行ってください。";
        return Ok(credentials(step, Some(m), id));
    }
    let session = step.sessions.create(
        &customer.contract_id,
        &customer.name,
        Stage::StartAuthed { logged_in: false },
        step.req.subscriber.clone(),
    );
    Ok(token_form(step, &session, None, ""))
}

/// `POST /start/token`: registers the token and shows the receipt.
pub async fn token_post(step: &Step<'_>) -> Result<Reply, AppError> {
    let session = match step.posted_session(is_start) {
        Ok(s) => s,
        Err(e @ (AppError::Session | AppError::Step)) => {
            return step.resent(PATH, e, |ctx, f| {
                let receipt = Receipt {
                    number: &f.number,
                    time: &f.time,
                };
                markup::start::done(ctx, receipt, &f.serial)
            })
        }
        Err(e) => return Err(e),
    };
    let typed_serial = step.req.form.text("serial");
    let serial = match input::serial(&typed_serial) {
        Ok(s) => s,
        Err(m) => return Ok(token_form(step, &session, Some(m), &typed_serial)),
    };
    let code = match input::otp(&step.req.form.text("otp")) {
        Ok(c) => c,
        Err(m) => return Ok(token_form(step, &session, Some(m), &serial)),
    };
    let login_otp = step.req.form.get("login_otp") != Some("0");
    let policy = step.bank_policy();
    let store = &step.app.store;
    if card::wanted(step) {
        // Seed 001: the お客様カード instead of the 資金移動用パスワード.
        match card::check(step, &session).await? {
            Answer::Right => {}
            Answer::Again(m) => return Ok(token_form(step, &session, Some(&m), &serial)),
            Answer::Locked(m) => {
                step.sessions.end(&session.id);
                return Ok(super::pages::top_with(step, Some(m), ""));
            }
        }
    } else {
        let transfer = match input::password(
            step.req.form.get("transfer_password"),
            "資金移動用パスワードを入力してください。",
        ) {
            Ok(p) => p,
            Err(m) => return Ok(token_form(step, &session, Some(m), &serial)),
        };
        let check = step
            .check_password(Secret::Transfer, &session.contract_id, &transfer)
            .await?;
        match check {
            PasswordCheck::Ok(_) => {}
            PasswordCheck::TempLockedNow { .. }
            | PasswordCheck::TempLocked { .. }
            | PasswordCheck::BranchLockedNow
            | PasswordCheck::BranchLocked => {
                step.sessions.end(&session.id);
                return Ok(super::pages::top_with(
                    step,
                    Some(&password_message(&check, Secret::Transfer)),
                    "",
                ));
            }
            // Wrong, throttled or busy: the same form, to try again.
            _ => {
                let m = password_message(&check, Secret::Transfer);
                return Ok(token_form(step, &session, Some(&m), &serial));
            }
        }
    }
    let now = step.now();
    // Only a trusted ID reaches `req.subscriber`; a bound session has already matched it.
    let subscriber = step
        .req
        .subscriber
        .as_deref()
        .filter(|_| step.app.config.bank.remember_subscriber_id);
    let result = ledger::register_from(
        store,
        &session.contract_id,
        &serial,
        &code,
        login_otp,
        subscriber,
        now,
        policy.otp_fail_limit,
    )
    .await?;
    let done = match result {
        Ok(done) => done,
        Err(r) => {
            return Ok(token_form(
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
            old_serial: None,
            number: number.clone(),
            time: time.clone(),
        },
    );
    let receipt = Receipt {
        number: &number,
        time: &time,
    };
    step.finish(&session, |ctx| markup::start::done(ctx, receipt, &serial))
}
