//! Sign-in (procedure): the sign-in page, `POST /branch/login`, the password change and
//! sign-out, each audited. [`attempts`] counts sign-in attempts and changes passwords on the
//! store; the sessions are [`crate::branch::auth`]'s.

pub mod attempts;

use super::{nav, Step};
use crate::app::App;
use crate::branch::auth::{self, StaffSessions};
use crate::branch::pages;
use crate::branch::{html, BranchError, BranchRequest, Staffed};
use crate::clock;
use crate::form_token::Check;
use crate::password;
use crate::store::{AuditEvent, Event, Store, StoreError};
use attempts as sign_in;
use hyper::StatusCode;

/// The sign-in page: a random cookie value and the form's anti-forgery value signed over it
/// ([`auth::SignInForm`]); nothing is kept on the server.
pub fn sign_in_page(app: &App, message: Option<&str>, status: StatusCode) -> Step {
    let form = auth::SignInForm::new(app.store.form_key(), clock::now_unix());
    Ok(html(status, pages::sign_in(&form.csrf, message))
        .with_cookie(Some(auth::cookie(&form.cookie_value))))
}

/// `POST /branch/login`.
pub async fn sign_in(app: &App, sessions: &StaffSessions, req: &BranchRequest) -> Step {
    let store = &app.store;
    let now = clock::now_unix();
    // The form must come back with the value its page was given with this cookie.
    let cookie_value = req.cookie_sid.clone().unwrap_or_default();
    let sent = req.form.get("csrf").unwrap_or("");
    match auth::SignInForm::check(store.form_key(), &cookie_value, sent, now) {
        Check::Valid => {}
        Check::Expired => {
            return sign_in_page(
                app,
                Some("サインイン画面の有効期限が切れました。もう一度入力してください。"),
                StatusCode::FORBIDDEN,
            )
        }
        Check::Forged => {
            return sign_in_page(
                app,
                Some(BranchError::Forgery.message()),
                StatusCode::FORBIDDEN,
            )
        }
    }
    // The same page again after a refusal: its value still holds.
    let anon = auth::SignInForm {
        cookie_value,
        csrf: sent.to_owned(),
    };
    let staff_id = req.text("staff_id").to_ascii_uppercase();
    let password = req.form.get("password").unwrap_or("").to_owned();
    let wrong = || {
        let page = pages::sign_in(
            &anon.csrf,
            Some("職員番号またはパスワードが正しくありません。"),
        );
        Ok(html(StatusCode::UNAUTHORIZED, page))
    };
    let begun = if staff_id.is_empty() || staff_id.len() > 32 {
        sign_in::Begin::Unknown
    } else {
        sign_in::begin(store, &staff_id, now)?
    };
    let staff = match begun {
        sign_in::Begin::Paused(s) => {
            audit_sign_in(
                store,
                now,
                AuditEvent::StaffSignInPaused,
                Some((&s.staff_id, &s.branch_code)),
                "too many wrong passwords",
            )
            .await?;
            let page = pages::sign_in(
                &anon.csrf,
                Some("パスワードの誤りが続いたため、この職員番号は15分間サインインできません。"),
            );
            return Ok(html(StatusCode::TOO_MANY_REQUESTS, page));
        }
        sign_in::Begin::Unknown => {
            password::verify_async(None, password).await;
            audit_sign_in(
                store,
                now,
                AuditEvent::StaffSignInFailed,
                None,
                "unknown staff ID",
            )
            .await?;
            return wrong();
        }
        sign_in::Begin::Counted(s) => s,
    };
    let ok = password::verify_async(Some(staff.password_hash.clone()), password).await;
    let staff = match sign_in::finish(store, &staff.staff_id, ok, now).await? {
        sign_in::Finish::In(s) => s,
        sign_in::Finish::Wrong => return wrong(),
        sign_in::Finish::Disabled => {
            let page = pages::sign_in(
                &anon.csrf,
                Some("この職員番号は利用停止中です。管理者にお問い合わせください。"),
            );
            return Ok(html(StatusCode::FORBIDDEN, page));
        }
    };
    let session = sessions.sign_in(store, &anon.cookie_value, &staff).await?;
    let s = Staffed {
        app,
        sessions,
        req,
        actor: auth::actor(&staff),
        session: session.clone(),
    };
    let page = if session.must_change {
        password_page(&s, None, StatusCode::OK)?
    } else {
        home(&s)?
    };
    Ok(page.with_cookie(Some(auth::cookie(&session.id))))
}

/// The password change page (forced while the password is an initial one).
pub fn password_page(s: &Staffed, message: Option<&str>, status: StatusCode) -> Step {
    let forced = s.session.must_change;
    Ok(html(
        status,
        pages::password(nav(s), forced, crate::operate::staff::MIN_PASSWORD, message),
    ))
}

/// `POST /branch/password`: the staff member chooses a password.
pub async fn change_password(s: &Staffed<'_>) -> Step {
    let field = |name: &str| s.req.form.get(name).unwrap_or("").to_owned();
    let result = sign_in::change_password(
        &s.app.store,
        &s.actor.staff_id,
        &field("current"),
        &field("new"),
        &field("confirm"),
        s.now(),
    )
    .await?;
    match result {
        Ok(()) => Ok(html(
            StatusCode::OK,
            pages::home_with(nav(s), home_pending(s)?, Some("パスワードを変更しました。")),
        )),
        Err(r) => password_page(s, Some(&r.message()), StatusCode::UNPROCESSABLE_ENTITY),
    }
}

/// `POST /branch/logout`.
pub async fn sign_out(s: &Staffed<'_>) -> Step {
    s.sessions.end(&s.app.store, &s.session.id).await?;
    audit_sign_in(
        &s.app.store,
        s.now(),
        AuditEvent::StaffSignOut,
        Some((&s.actor.staff_id, &s.actor.branch_code)),
        "",
    )
    .await?;
    sign_in_page(s.app, Some("サインアウトしました。"), StatusCode::OK)
}

fn home_pending(s: &Staffed) -> Result<usize, BranchError> {
    let (forms, releases) = s.app.store.pending()?;
    Ok(forms.len() + releases.len())
}

/// `GET /branch/`.
pub fn home(s: &Staffed) -> Step {
    Ok(html(StatusCode::OK, pages::home(nav(s), home_pending(s)?)))
}

/// Audits a sign-in, sign-in failure or sign-out.
pub async fn audit_sign_in(
    store: &Store,
    at: u64,
    event: AuditEvent,
    staff: Option<(&str, &str)>,
    detail: &str,
) -> Result<(), StoreError> {
    store
        .commit(|tx| {
            let e = Event {
                detail: detail.into(),
                ..Event::new(event)
            };
            match staff {
                Some((id, branch)) => tx.audit_by(at, e, id, branch),
                None => tx.audit(at, e),
            }
        })
        .await?;
    Ok(())
}
