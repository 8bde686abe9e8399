//! メイン → ご契約先管理情報変更 → 利用者情報登録/変更 (利用者情報選択) → ワンタイムパスワードの
//! 設定, and 利用形態設定 (a change releases every registration of the contract).

use super::{admin_post, admin_session, rows};
use crate::business;
use crate::error::AppError;
use crate::flows::Step;
use crate::reply::Reply;
use crate::store::Usage;

/// `GET /biz/main`.
pub fn main(step: &Step) -> Result<Reply, AppError> {
    let (session, _) = admin_session(step)?;
    let ctx = step.ctx(Some(&session));
    Ok(step.page(markup::biz::admin::main(&ctx), Some(&session)))
}

/// `GET /biz/manage`.
pub fn manage(step: &Step) -> Result<Reply, AppError> {
    let (session, _) = admin_session(step)?;
    let ctx = step.ctx(Some(&session));
    Ok(step.page(markup::biz::admin::manage(&ctx), Some(&session)))
}

/// `GET /biz/users`: each user with 現在のシリアル番号.
pub fn users(step: &Step) -> Result<Reply, AppError> {
    let (session, b) = admin_session(step)?;
    let ctx = step.ctx(Some(&session));
    let page = markup::biz::admin::users(&ctx, b.usage.label(), &rows(&b), None);
    Ok(step.page(page, Some(&session)))
}

/// `GET /biz/otp`: ワンタイムパスワードの設定.
pub fn otp(step: &Step) -> Result<Reply, AppError> {
    let (session, b) = admin_session(step)?;
    let ctx = step.ctx(Some(&session));
    let page = markup::biz::admin::otp(&ctx, b.usage.label(), None);
    Ok(step.page(page, Some(&session)))
}

/// `GET /biz/usage`: 利用形態設定, the current 利用形態 chosen.
pub fn usage(step: &Step) -> Result<Reply, AppError> {
    let (session, b) = admin_session(step)?;
    let ctx = step.ctx(Some(&session));
    let page = markup::biz::admin::usage(&ctx, b.usage.code());
    Ok(step.page(page, Some(&session)))
}

/// `POST /biz/usage` (次へ): sets the 利用形態 (a change releases every registration in one
/// audited write) and goes on to 利用登録 for it, as the seed's 次へ does.
pub async fn usage_post(step: &Step<'_>) -> Result<Reply, AppError> {
    let (session, b) = admin_post(step)?;
    let Some(usage) = step.req.form.get("usage").and_then(Usage::parse) else {
        let ctx = step.ctx(Some(&session));
        let page = markup::biz::admin::usage(&ctx, b.usage.code());
        return Ok(step.page(page, Some(&session)));
    };
    business::set_usage(&step.app.store, &b.contract_id, usage, step.now())
        .await?
        .ok_or(AppError::Session)?;
    super::register::page_for(step, &session, None, None)
}
