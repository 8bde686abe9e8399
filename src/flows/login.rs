//! Login (contract ID + password, then the OTP for customers who chose 認証する), the menu and
//! logout.

use super::{otp_message, Step};
use crate::clock;
use crate::error::AppError;
use crate::ledger::OtpCheck;
use crate::reply::Reply;
use crate::session::{Session, Stage};
use markup::login::{MenuToken, TokenLine};

/// `POST /login` from the top page. The form must carry the value the top page gave this
/// phone ([`Step::credentials_form_refused`]): a foreign page posting someone's credentials
/// cannot log the phone in.
pub async fn login(step: &Step<'_>) -> Result<Reply, AppError> {
    if let Some(m) = step.credentials_form_refused() {
        // A form of ours shown long ago keeps what was typed in it; a foreign one nothing.
        let typed = step.req.form.text("contract_id");
        let id = match m == super::FORM_EXPIRED {
            true => super::input::contract_id(&typed)
                .map(|id| id.as_str().to_owned())
                .unwrap_or_default(),
            false => String::new(),
        };
        return Ok(super::pages::top_with(step, Some(m), &id));
    }
    let customer = match step.credentials().await? {
        Ok(c) => c,
        Err(retry) => {
            let page = super::pages::top_with(step, Some(&retry.message), &retry.contract_id);
            return Ok(page);
        }
    };
    let wants_otp = customer.token.as_ref().is_some_and(|b| b.login_otp);
    let stage = if wants_otp {
        Stage::LoginOtp
    } else {
        Stage::Menu
    };
    let session = step.sessions.create(
        &customer.id(),
        &customer.name,
        stage,
        step.req.subscriber.clone(),
    );
    if wants_otp {
        Ok(otp_form(step, &session, None))
    } else {
        menu_page(step, &session, None)
    }
}

fn otp_form(step: &Step, session: &Session, message: Option<&str>) -> Reply {
    let ctx = step.ctx(Some(session));
    step.page(markup::login::otp(&ctx, message), Some(session))
}

/// `POST /login/otp`.
pub async fn otp(step: &Step<'_>) -> Result<Reply, AppError> {
    let session = step.posted_session(|s| *s == Stage::LoginOtp)?;
    let form = |m: &str| otp_form(step, &session, Some(m));
    let check = match step.posted_otp(&session, "login", form).await? {
        Ok(check) => check,
        Err(again) => return Ok(again),
    };
    match check {
        OtpCheck::Accepted { .. } => {
            let session = step.advance(&session, Stage::Menu)?;
            menu_page(step, &session, None)
        }
        OtpCheck::Refused(r) => Ok(otp_form(step, &session, Some(&otp_message(r)))),
        // The token went away since the password step (cancelled at a branch): no OTP to ask.
        OtpCheck::NoToken | OtpCheck::Cancelled | OtpCheck::UnknownCustomer => {
            let session = step.advance(&session, Stage::Menu)?;
            menu_page(step, &session, None)
        }
    }
}

/// `GET /menu`.
pub async fn menu(step: &Step<'_>) -> Result<Reply, AppError> {
    let session = step.session_at(Stage::logged_in)?;
    let session = if session.stage == Stage::Menu {
        session
    } else {
        step.advance(&session, Stage::Menu)?
    };
    menu_page(step, &session, None)
}

/// Whether a hardware token issued to the customer at a branch waits for 利用開始.
fn has_issued_token(store: &crate::store::Store, contract_id: &str) -> Result<bool, AppError> {
    Ok(store
        .assigned_tokens(contract_id)?
        .iter()
        .any(|t| t.state == crate::store::TokenState::Available))
}

/// The menu with the customer's token state, read fresh from the store.
pub fn menu_page(step: &Step, session: &Session, message: Option<&str>) -> Result<Reply, AppError> {
    let store = &step.app.store;
    let customer = store
        .customer(session.contract_id.as_str())?
        .ok_or(AppError::Session)?;
    let policy = step.bank_policy();
    let token = match &customer.token {
        Some(b) => Some((b, store.token(&b.serial)?)),
        None => None,
    };
    let since = token.as_ref().map(|(b, _)| clock::date(b.since));
    let state = match &token {
        Some((b, t)) => {
            let line = TokenLine {
                serial: &b.serial,
                since: since.as_deref().unwrap_or(""),
            };
            if t.as_ref().is_some_and(|t| t.locked(policy)) {
                MenuToken::Locked(line)
            } else {
                MenuToken::Active(line)
            }
        }
        None if customer.claims_locked(policy) => MenuToken::ClaimsLocked,
        // Retired at a branch: after a replacement the new token is in hand (issued to them,
        // not registered yet), so only 利用開始 is missing; after 利用中止 a branch comes first.
        None if customer.transfers_blocked && !has_issued_token(store, &customer.contract_id)? => {
            MenuToken::Cancelled
        }
        None => MenuToken::None,
    };
    let ctx = step.ctx(Some(session));
    Ok(step.page(
        markup::login::menu(&ctx, &session.name, state, message),
        Some(session),
    ))
}

/// `GET /logout`: ends the session on the server; its ID is refused from now on.
pub fn logout(step: &Step) -> Result<Reply, AppError> {
    if let Some(sid) = step.req.sid() {
        step.sessions.end(sid);
    }
    Ok(super::pages::top_with(
        step,
        Some("ログアウトしました。"),
        "",
    ))
}
