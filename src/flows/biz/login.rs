//! 管理者ログイン (IDパスワード方式): 契約先ID + ご契約先暗証番号, then the お客様カード at two
//! positions picked for each attempt (a new pair after a wrong answer), then メイン.

use super::LOCKED;
use crate::business::{self, AdminCheck, AdminSecret};
use crate::card::{self, CardCheck, Holder};
use crate::error::AppError;
use crate::flows::{input, Step};
use crate::reply::Reply;
use crate::session::{Session, Stage};
use markup::paths::biz as paths;

/// `GET /biz`: the entrance, with `message` and the typed 契約先ID after an error.
pub fn entry(step: &Step, message: Option<&str>, contract_id: &str) -> Reply {
    let ctx = step.ctx(None);
    let url = &step.app.config.bank.pc_site_url;
    step.page(
        markup::biz::login::entry(&ctx, url, message, contract_id),
        None,
    )
}

/// The entrance again, the session (if any) ended.
fn back_to_entry(step: &Step, session: &Session, message: &str) -> Reply {
    step.sessions.end(&session.id);
    let ctx = step.ctx(None);
    let url = &step.app.config.bank.pc_site_url;
    step.page_ending(markup::biz::login::entry(&ctx, url, Some(message), ""))
}

/// `POST /biz/login`: checks 契約先ID and ご契約先暗証番号.
pub async fn login_post(step: &Step<'_>) -> Result<Reply, AppError> {
    let typed = step.req.form.text("contract_id");
    let id = match input::contract_id(&typed) {
        Ok(id) => id,
        Err(_) => {
            return Ok(entry(
                step,
                Some("契約先IDを半角数字で入力してください。"),
                &typed,
            ))
        }
    };
    let Ok(password) = input::password(step.req.form.get("password"), "") else {
        return Ok(entry(
            step,
            Some("ご契約先暗証番号を入力してください。"),
            id.as_str(),
        ));
    };
    let limit = step.bank_policy().login_fail_limit;
    let check = business::check_admin(
        &step.app.store,
        AdminSecret::Password,
        &id,
        &password,
        step.now(),
        limit,
    )
    .await?;
    let b = match check {
        AdminCheck::Ok(b) => b,
        AdminCheck::Wrong { .. } => {
            let m = "契約先IDまたはご契約先暗証番号が正しくありません。";
            return Ok(entry(step, Some(m), id.as_str()));
        }
        AdminCheck::LockedNow | AdminCheck::Locked => {
            return Ok(entry(step, Some(LOCKED), id.as_str()))
        }
    };
    let session = step.sessions.create(
        &b.id(),
        &b.name,
        Stage::BizCard,
        step.req.subscriber.clone(),
    );
    Ok(card_form(step, &session, None))
}

/// The card question with a new pair of positions, remembered in the session.
fn card_form(step: &Step, session: &Session, message: Option<&str>) -> Reply {
    let p = card::pick();
    let session = step
        .sessions
        .set_card(&session.id, Some(p))
        .unwrap_or_else(|| session.clone());
    let ctx = step.ctx(Some(&session));
    step.page(
        markup::biz::login::card(&ctx, paths::CARD, card::labels(p), message),
        Some(&session),
    )
}

/// `POST /biz/card`: the お客様カード digits at the positions asked.
pub async fn card_post(step: &Step<'_>) -> Result<Reply, AppError> {
    let session = step.posted_session(|s| *s == Stage::BizCard)?;
    let Some(p) = session.card else {
        return Err(AppError::Step);
    };
    let Some(answer) = crate::flows::card::answer(step) else {
        // Not an answer: the same pair again, nothing counted.
        let ctx = step.ctx(Some(&session));
        let m = Some("確認用パスワードを入力してください。");
        return Ok(step.page(
            markup::biz::login::card(&ctx, paths::CARD, card::labels(p), m),
            Some(&session),
        ));
    };
    let limit = step.bank_policy().login_fail_limit;
    let check = card::check(
        &step.app.store,
        Holder::Business,
        session.contract_id.as_str(),
        p,
        [&answer[0], &answer[1]],
        step.now(),
        limit,
    )
    .await?;
    match check {
        CardCheck::Ok => {
            step.sessions.set_card(&session.id, None);
            let session = step.advance(&session, Stage::BizAdmin)?;
            let ctx = step.ctx(Some(&session));
            Ok(step.page(markup::biz::admin::main(&ctx), Some(&session)))
        }
        CardCheck::Wrong { left } => {
            let m = format!(
                "確認用パスワードが正しくありません。あと{left}回間違えるとロックされます。"
            );
            Ok(card_form(step, &session, Some(&m)))
        }
        CardCheck::LockedNow | CardCheck::Locked => Ok(back_to_entry(step, &session, LOCKED)),
        CardCheck::NoCard => Ok(back_to_entry(
            step,
            &session,
            "お客様カードが登録されていません。お取引店にお問い合わせください。",
        )),
    }
}

/// `GET /biz/logout`.
pub fn logout(step: &Step) -> Reply {
    if let Some(sid) = step.req.sid() {
        step.sessions.end(sid);
    }
    let ctx = step.ctx(None);
    let url = &step.app.config.bank.pc_site_url;
    step.page_ending(markup::biz::login::entry(
        &ctx,
        url,
        Some("ログアウトしました。"),
        "",
    ))
}
