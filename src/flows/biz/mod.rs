//! 法人 (business) administrator's journey on the phone (seeds 000, 002, 004), one file per
//! screen group: [`login`] (管理者ログイン, お客様カード), [`admin`] (メイン, ご契約先管理情報変更,
//! 利用者情報選択, ワンタイムパスワードの設定, 利用形態設定), [`register`] (利用登録, 利用登録解除).
//! The bank-side operations are [`crate::business`]'s.

pub mod admin;
pub mod login;
pub mod register;

use super::Step;
use crate::error::AppError;
use crate::reply::Reply;
use crate::session::{Session, Stage};
use crate::store::Business;
use markup::paths::biz as paths;

/// Whether `path` is one of the 法人 pages.
pub fn owns(path: &str) -> bool {
    path == paths::ENTRY || path.starts_with("/biz/")
}

/// The 法人 routes.
pub async fn route(step: &Step<'_>) -> Result<Reply, AppError> {
    let req = step.req;
    match (req.method.as_str(), req.path()) {
        ("GET", paths::ENTRY) => Ok(login::entry(step, None, "")),
        ("POST", paths::LOGIN) => login::login_post(step).await,
        ("POST", paths::CARD) => login::card_post(step).await,
        ("GET", paths::LOGOUT) => Ok(login::logout(step)),
        ("GET", paths::MAIN) => admin::main(step),
        ("GET", paths::MANAGE) => admin::manage(step),
        ("GET", paths::USERS) => admin::users(step),
        ("GET", paths::OTP) => admin::otp(step),
        ("GET", paths::USAGE) => admin::usage(step),
        ("POST", paths::USAGE) => admin::usage_post(step).await,
        ("GET", paths::REGISTER) => register::form(step),
        ("POST", paths::REGISTER) => register::post(step).await,
        ("GET", paths::RELEASE) => register::release_form(step),
        ("POST", paths::RELEASE) => register::release_post(step).await,
        (_, path) if paths::ALL.contains(&path) => Err(AppError::Method),
        _ => Err(AppError::NotFound),
    }
}

/// The logged-in administrator's session (rotated) and contract, for a page.
fn admin_session(step: &Step) -> Result<(Session, Business), AppError> {
    let session = step.session_at(|s| *s == Stage::BizAdmin)?;
    let b = contract(step, &session)?;
    Ok((session, b))
}

/// The logged-in administrator's session (rotated) and contract, for a form post.
fn admin_post(step: &Step) -> Result<(Session, Business), AppError> {
    let session = step.posted_session(|s| *s == Stage::BizAdmin)?;
    let b = contract(step, &session)?;
    Ok((session, b))
}

fn contract(step: &Step, session: &Session) -> Result<Business, AppError> {
    step.app
        .store
        .business(session.contract_id.as_str())?
        .ok_or(AppError::Session)
}

fn rows(b: &Business) -> Vec<markup::biz::UserRow<'_>> {
    b.users
        .iter()
        .map(|u| markup::biz::UserRow {
            user_id: &u.user_id,
            name: &u.name,
            serial: b.token_of(&u.user_id),
        })
        .collect()
}

/// What the administrator reads when a secret or card answer locked the login.
const LOCKED: &str = "ログインがロックされています。ロック解除はお取引店の窓口でお手続きください。";
