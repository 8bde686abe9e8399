//! 利用開始 (seeds 001, 003): contract ID + login password, then serial + current OTP +
//! login-time OTP choice + 資金移動用パスワード (or the お客様カード, see [`super::card`]), then
//! the receipt.

use super::card;
use super::journey::{self, Journey};
use super::{input, password_message, refusal_message, Step};
use crate::attempts::{PasswordCheck, Secret};
use crate::error::AppError;
use crate::ledger;
use crate::reply::Reply;
use crate::session::{Finished, Session, Stage};
use crate::store::Customer;
use markup::start::{Receipt, TokenForm};
use markup::Ctx;

/// Its names; the token form posts to `last`, and a re-send of it after the receipt shows
/// the receipt again.
const JOURNEY: Journey = Journey {
    title: "ワンタイムパスワード利用開始",
    credentials: markup::paths::START,
    last: markup::paths::START_TOKEN,
};

fn is_start(stage: &Stage) -> bool {
    matches!(stage, Stage::StartAuthed { .. })
}

/// `GET /start`: step 1, or straight to step 2 from the menu (already logged in).
pub async fn entry(step: &Step<'_>) -> Result<Reply, AppError> {
    if let Ok(session) = step.session_at(|s| *s == Stage::Menu) {
        let session = step.advance(&session, Stage::StartAuthed { logged_in: true })?;
        return Ok(token_form(step, &session, None, ""));
    }
    Ok(JOURNEY.credentials_form(step, None, ""))
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
    let refuse = |c: &Customer| {
        c.token
            .is_some()
            .then_some("既にトークンが登録されています。トークンの変更は交換から行ってください。")
    };
    let stage = Stage::StartAuthed { logged_in: false };
    Ok(match JOURNEY.sign_in(step, refuse, stage).await? {
        Ok(session) => token_form(step, &session, None, ""),
        Err(form) => form,
    })
}

/// `POST /start/token`: registers the token and shows the receipt.
pub async fn token_post(step: &Step<'_>) -> Result<Reply, AppError> {
    let done = |ctx: &Ctx, r: Receipt, f: &Finished| markup::start::done(ctx, r, &f.serial);
    let session = match JOURNEY.last_session(step, is_start, done)? {
        Ok(s) => s,
        Err(resent) => return Ok(resent),
    };
    let form = |m: &str, serial: &str| token_form(step, &session, Some(m), serial);
    let (serial, code) = match journey::new_token(step, form) {
        Ok(fields) => fields,
        Err(again) => return Ok(again),
    };
    let login_otp = step.req.form.get("login_otp") != Some("0");
    let policy = step.bank_policy();
    let store = &step.app.store;
    if card::wanted(step) {
        // Seed 001: the お客様カード instead of the 資金移動用パスワード.
        if let Some(r) = journey::card_refused(step, &session, |m| form(m, serial.as_str())).await?
        {
            return Ok(r);
        }
    } else {
        let transfer = match input::password(
            step.req.form.get("transfer_password"),
            "資金移動用パスワードを入力してください。",
        ) {
            Ok(p) => p,
            Err(m) => return Ok(token_form(step, &session, Some(m), serial.as_str())),
        };
        let check = step
            .check_password(Secret::Transfer, session.contract_id.as_str(), &transfer)
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
                return Ok(token_form(step, &session, Some(&m), serial.as_str()));
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
        Err(r) => return Ok(form(&refusal_message(&r), serial.as_str())),
    };
    let registered = (serial.as_str(), None);
    JOURNEY.receipt(step, &session, registered, &done.receipt, |ctx, r| {
        markup::start::done(ctx, r, serial.as_str())
    })
}
