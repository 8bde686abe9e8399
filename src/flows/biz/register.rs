//! ワンタイムパスワード利用登録 (seed 004: A per user, B shared) and 利用登録解除. Both ask the
//! ご契約先確認暗証番号 (counted toward the administrator's lockout) before the store is
//! changed. No completion message: the same screen comes back with 現在のシリアル番号 updated
//! (and the 受付番号, small, when the bank profile asks for it).

use super::{admin_post, admin_session, rows, LOCKED};
use crate::business::{self, AdminCheck, AdminSecret, Refusal, Target};
use crate::error::AppError;
use crate::flows::{input, otp_message, Step};
use crate::reply::Reply;
use crate::session::Session;
use crate::store::{Receipt, TokenKind, Usage};
use markup::biz::register::RegisterView;

/// What the form keeps of the last post.
#[derive(Default)]
struct Kept<'a> {
    message: Option<&'a str>,
    chosen: &'a str,
    serial: &'a str,
    receipt: Option<&'a Receipt>,
}

fn render(step: &Step, session: &Session, release: bool, kept: Kept) -> Result<Reply, AppError> {
    let b = super::contract(step, session)?;
    let all = rows(&b);
    // 解除 lists only the users that have a token.
    let rows: Vec<_> = match (b.usage, release) {
        (Usage::Shared, _) => Vec::new(),
        (Usage::PerUser, false) => all,
        (Usage::PerUser, true) => all.into_iter().filter(|r| r.serial.is_some()).collect(),
    };
    let number = kept
        .receipt
        .filter(|_| step.app.config.bank.business.show_receipt)
        .map(Receipt::number_text);
    let message = match (b.usage, release, rows.is_empty()) {
        (Usage::PerUser, true, true) if kept.message.is_none() => {
            Some("利用登録されているトークンはありません。")
        }
        _ => kept.message,
    };
    let v = RegisterView {
        usage: b.usage.label(),
        rows: &rows,
        shared: b.shared_serial.as_deref(),
        message,
        chosen: kept.chosen,
        serial: kept.serial,
        receipt: number.as_deref(),
    };
    let ctx = step.ctx(Some(session));
    let page = if release {
        markup::biz::register::release(&ctx, v)
    } else {
        markup::biz::register::register(&ctx, v)
    };
    Ok(step.page(page, Some(session)))
}

/// The 利用登録 screen for the contract's 利用形態 now.
pub fn page_for(
    step: &Step,
    session: &Session,
    message: Option<&str>,
    receipt: Option<&Receipt>,
) -> Result<Reply, AppError> {
    let kept = Kept {
        message,
        receipt,
        ..Kept::default()
    };
    render(step, session, false, kept)
}

/// `GET /biz/register`.
pub fn form(step: &Step) -> Result<Reply, AppError> {
    let (session, _) = admin_session(step)?;
    render(step, &session, false, Kept::default())
}

/// `GET /biz/release`.
pub fn release_form(step: &Step) -> Result<Reply, AppError> {
    let (session, _) = admin_session(step)?;
    render(step, &session, true, Kept::default())
}

/// The ご契約先確認暗証番号 check's outcome for a form.
enum Confirm {
    Ok,
    /// Missing or wrong: the form again, with the message.
    Wrong(&'static str),
    /// Locked: the session ended, this page (the entrance) instead.
    Locked(Reply),
}

/// Checks the ご契約先確認暗証番号.
async fn confirmed(step: &Step<'_>, session: &Session) -> Result<Confirm, AppError> {
    let Ok(pin) = input::password(step.req.form.get("confirm"), "") else {
        return Ok(Confirm::Wrong("ご契約先確認暗証番号を入力してください。"));
    };
    let limit = step.bank_policy().login_fail_limit;
    let check = business::check_admin(
        &step.app.store,
        AdminSecret::Confirm,
        &session.contract_id,
        &pin,
        step.now(),
        limit,
    )
    .await?;
    Ok(match check {
        AdminCheck::Ok(_) => Confirm::Ok,
        AdminCheck::Wrong { .. } => Confirm::Wrong("ご契約先確認暗証番号が正しくありません。"),
        AdminCheck::LockedNow | AdminCheck::Locked => {
            step.sessions.end(&session.id);
            let ctx = step.ctx(None);
            let url = &step.app.config.bank.pc_site_url;
            Confirm::Locked(step.page_ending(markup::biz::login::entry(
                &ctx,
                url,
                Some(LOCKED),
                "",
            )))
        }
    })
}

/// What the administrator reads when a token cannot be registered or released.
pub fn refusal_message(r: &Refusal) -> String {
    match r {
        Refusal::UnknownContract | Refusal::WrongUsage => {
            "利用形態が変更されています。最初からやり直してください。".into()
        }
        Refusal::UnknownUser => "利用者を選択してください。".into(),
        Refusal::UnknownSerial => {
            "シリアル番号が正しくありません。トークン裏面の12桁の英数字をご確認ください。".into()
        }
        Refusal::KindNotAllowed(TokenKind::Software) => "携帯電話(ガラケー)ではハードウェアトークンのみご利用いただけます。ソフトウェアトークンは登録できません。".into(),
        Refusal::KindNotAllowed(TokenKind::Hardware) => {
            "携帯電話からはハードウェアトークンを登録できません。".into()
        }
        Refusal::NotIssued => "ハードウェアトークンは事前に書面(発行申込書)の手続きが必要です。お取引店の窓口でお申込みください。".into(),
        Refusal::Taken => "このトークンは既に登録されているため、ご利用いただけません。".into(),
        Refusal::Retired => "このトークンは利用が終了しているため、登録できません。".into(),
        Refusal::SameToken => "既に登録されているトークンです。".into(),
        Refusal::NothingRegistered => "トークンが登録されていません。".into(),
        Refusal::Otp(o) => otp_message(*o),
    }
}

/// `POST /biz/register`: 利用登録 for the chosen user, or the shared token.
pub async fn post(step: &Step<'_>) -> Result<Reply, AppError> {
    let (session, b) = admin_post(step)?;
    let chosen = step.req.form.text("user");
    let typed = step.req.form.text("serial");
    let again = |message: &str, serial: &str| {
        let kept = Kept {
            message: Some(message),
            chosen: &chosen,
            serial,
            receipt: None,
        };
        render(step, &session, false, kept)
    };
    let target = match b.usage {
        Usage::Shared => Target::Shared,
        Usage::PerUser if b.user(&chosen).is_some() => Target::User(&chosen),
        Usage::PerUser => return again("利用者を選択してください。", &typed),
    };
    let serial = match input::serial(&typed) {
        Ok(s) => s,
        Err(m) => return again(m, &typed),
    };
    let code = match input::otp(&step.req.form.text("otp")) {
        Ok(c) => c,
        Err(m) => return again(m, serial.as_str()),
    };
    match confirmed(step, &session).await? {
        Confirm::Ok => {}
        Confirm::Wrong(m) => return again(m, serial.as_str()),
        Confirm::Locked(reply) => return Ok(reply),
    }
    let policy = step.bank_policy();
    let kinds = &step.app.config.bank.business.phone_token_kinds;
    let result = business::register(
        &step.app.store,
        &b.id(),
        target,
        &serial,
        &code,
        kinds,
        step.now(),
        policy.otp_fail_limit,
    )
    .await?;
    match result {
        // No completion message: the list comes back with the new serial.
        Ok(receipt) => render(
            step,
            &session,
            false,
            Kept {
                receipt: Some(&receipt),
                ..Kept::default()
            },
        ),
        Err(r) => again(&refusal_message(&r), serial.as_str()),
    }
}

/// `POST /biz/release`: 利用登録解除 for the chosen user, or the shared token.
pub async fn release_post(step: &Step<'_>) -> Result<Reply, AppError> {
    let (session, b) = admin_post(step)?;
    let chosen = step.req.form.text("user");
    let again = |message: &str| {
        let kept = Kept {
            message: Some(message),
            chosen: &chosen,
            ..Kept::default()
        };
        render(step, &session, true, kept)
    };
    let target = match b.usage {
        Usage::Shared => Target::Shared,
        Usage::PerUser if b.user(&chosen).is_some() => Target::User(&chosen),
        Usage::PerUser => return again("利用者を選択してください。"),
    };
    match confirmed(step, &session).await? {
        Confirm::Ok => {}
        Confirm::Wrong(m) => return again(m),
        Confirm::Locked(reply) => return Ok(reply),
    }
    let result = business::release(&step.app.store, &b.contract_id, target, step.now()).await?;
    match result {
        Ok(receipt) => render(
            step,
            &session,
            true,
            Kept {
                receipt: Some(&receipt),
                ..Kept::default()
            },
        ),
        Err(r) => again(&refusal_message(&r)),
    }
}
