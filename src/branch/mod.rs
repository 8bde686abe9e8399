//! The branch console under `/branch/`: staff sign in and carry out what customers bring to the
//! counter on paper (利用中止届, 発行申込書, lock releases), look customers up, list and export
//! the work, and read the audit trail. UTF-8 HTML for PC browsers, no JavaScript.
//!
//! This file is the console front: the network guard (every client outside the branch networks
//! gets 403 before anything else happens, the body unread), reading the body with the console's
//! own limits, UTF-8 request decoding, the staff session check, the routes and the one error
//! page (UTF-8 HTML, with the real status). `auth` keeps sessions, `input` checks typed fields,
//! `procedures` holds each procedure (its handlers, checks and transaction together), `pages`
//! says it to staff, `export` writes CSV.

pub mod auth;
pub mod export;
pub mod input;
pub mod pages;
pub mod paths;
pub mod procedures;

use crate::app::App;
use crate::body::{self, BodyError, Limits};
use crate::form::{Form, FormError};
use crate::front::{Answer, Front, HttpRequest};
use crate::log::log;
use crate::reply::{Reply, UTF8_HTML};
use crate::store::StoreError;
use auth::{StaffSession, StaffSessions};
use hyper::http::request::Parts;
use hyper::StatusCode;
use procedures::{audit, business, cancel, customer, issue, lists, sign_in, unlock};
use std::net::SocketAddr;

/// A console request, decoded.
pub struct BranchRequest {
    pub method: String,
    pub path: String,
    /// Query fields, then body fields (UTF-8).
    pub form: Form,
    pub cookie_sid: Option<String>,
}

impl BranchRequest {
    fn decode(parts: &Parts, body: &[u8]) -> Result<BranchRequest, BranchError> {
        let mut form = Form::parse_in(
            parts.uri.query().unwrap_or("").as_bytes(),
            encoding_rs::UTF_8,
        )?;
        form.extend(Form::parse_in(body, encoding_rs::UTF_8)?);
        Ok(BranchRequest {
            method: parts.method.as_str().to_owned(),
            path: parts.uri.path().to_owned(),
            form,
            cookie_sid: crate::cookies::get(&parts.headers, auth::COOKIE),
        })
    }

    /// A field as typed, trimmed, full-width ASCII made half-width; empty when absent.
    pub fn text(&self, name: &str) -> String {
        self.form.text(name)
    }
}

/// Errors that end a console request, each mapped once to a status and the error page.
#[derive(Debug, thiserror::Error)]
pub enum BranchError {
    #[error("bad form or query: {0}")]
    Form(#[from] FormError),
    #[error("{0}")]
    Body(#[from] BodyError),
    #[error("no such page")]
    NotFound,
    #[error("method not allowed")]
    Method,
    #[error("not signed in")]
    SignedOut,
    #[error("anti-forgery value missing or wrong")]
    Forgery,
    #[error("too many sessions")]
    Busy,
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

impl BranchError {
    pub fn status(&self) -> StatusCode {
        match self {
            BranchError::Form(_) | BranchError::Body(BodyError::Broken) => StatusCode::BAD_REQUEST,
            BranchError::Body(BodyError::TooLarge) => StatusCode::PAYLOAD_TOO_LARGE,
            BranchError::Body(BodyError::Timeout) => StatusCode::REQUEST_TIMEOUT,
            BranchError::NotFound => StatusCode::NOT_FOUND,
            BranchError::Method => StatusCode::METHOD_NOT_ALLOWED,
            BranchError::SignedOut => StatusCode::UNAUTHORIZED,
            BranchError::Forgery => StatusCode::FORBIDDEN,
            BranchError::Busy | BranchError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// What staff read. Never contains input, secrets or internals.
    pub fn message(&self) -> &'static str {
        match self {
            BranchError::Form(_) | BranchError::Body(BodyError::Broken) => {
                "送信内容を読み取れませんでした(UTF-8、各項目256文字まで)。"
            }
            BranchError::Body(BodyError::TooLarge) => {
                "送信内容が大きすぎます(8KBまで)。入力内容をご確認ください。"
            }
            BranchError::Body(BodyError::Timeout) => {
                "送信に時間がかかりすぎたため中断しました。もう一度送信してください。"
            }
            BranchError::NotFound => "ページが見つかりません。",
            BranchError::Method => "この操作はできません。",
            BranchError::SignedOut => {
                "サインインしていないか、15分間操作がなかったためサインアウトしました。サインインし直してください。"
            }
            BranchError::Forgery => {
                "画面が古いか、正しい画面から送信されていません。画面を開き直してから操作してください。"
            }
            BranchError::Busy | BranchError::Store(_) => {
                "ただいま処理できません。しばらくしてからもう一度お試しください。"
            }
        }
    }
}

/// One audit record as the `audit` command prints it, tab-separated: time (JST), event,
/// staff@branch, contract ID, serial, detail; `-` where a record has no value.
pub fn audit_line(r: &crate::store::AuditRecord) -> String {
    let staff = match (&r.staff, &r.branch) {
        (Some(s), Some(b)) => format!("{s}@{b}"),
        (Some(s), None) => s.clone(),
        _ => "-".into(),
    };
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    // `#N` is the record number: the API's `receipt`, so a bank can look one up.
    let mut line = format!(
        "#{}\t{} JST\t{}\t{staff}\t{}\t{}\t{}",
        r.seq,
        crate::clock::jst(r.at),
        r.event,
        or_dash(&r.contract_id),
        or_dash(&r.serial),
        if r.detail.is_empty() { "-" } else { &r.detail }
    );
    // A multi-bank gateway's records say their bank; a one-bank trail's lines are unchanged.
    if let Some(bank) = &r.bank {
        line.push_str("\tbank=");
        line.push_str(bank);
    }
    line
}

/// Largest console request body accepted (a form of a few fields of at most 256 characters).
pub const MAX_BODY: usize = 8 * 1024;

/// The console front and its own state: the staff sessions.
#[derive(Default)]
pub struct ConsoleFront {
    sessions: StaffSessions,
}

impl ConsoleFront {
    pub fn new() -> ConsoleFront {
        ConsoleFront::default()
    }

    /// Answers one console request: the gate, then the body, then the route.
    async fn handle(&self, app: &App, req: HttpRequest, peer: SocketAddr) -> Reply {
        if !app.config.branch_networks.contains(peer.ip()) {
            log(format_args!(
                "branch console refused to {} (not in the branch networks)",
                peer.ip()
            ));
            return html(StatusCode::FORBIDDEN, pages::forbidden());
        }
        let (parts, body) = req.into_parts();
        let limits = Limits {
            max_bytes: MAX_BODY,
            timeout: app.config.client_timeout,
        };
        let result = match body::read(&parts.headers, body, limits).await {
            Ok(bytes) => match BranchRequest::decode(&parts, &bytes) {
                Ok(req) => route(app, &self.sessions, &req).await,
                Err(e) => Err(e),
            },
            Err(e) => Err(BranchError::Body(e)),
        };
        result.unwrap_or_else(|e| error_page(&e))
    }
}

impl Front for ConsoleFront {
    fn name(&self) -> &'static str {
        "console"
    }

    fn owns(&self, path: &str) -> bool {
        path == paths::ROOT || path.starts_with(paths::HOME)
    }

    fn answer<'a>(&'a self, app: &'a App, req: HttpRequest, peer: SocketAddr) -> Answer<'a> {
        Box::pin(self.handle(app, req, peer))
    }

    fn live_sessions(&self, app: &App) -> Option<usize> {
        Some(self.sessions.live(&app.store))
    }
}

/// A UTF-8 page.
pub fn html(status: StatusCode, page: maud::Markup) -> Reply {
    Reply::new(status, UTF8_HTML, page.into_string().into_bytes())
}

fn error_page(e: &BranchError) -> Reply {
    if let BranchError::Store(inner) = e {
        log(format_args!("storage error: {inner}"));
    }
    html(e.status(), pages::error(e.message()))
}

/// A signed-in request: the staff member, their session and the request.
pub struct Staffed<'a> {
    pub app: &'a App,
    /// The console's staff sessions.
    pub sessions: &'a StaffSessions,
    pub req: &'a BranchRequest,
    pub session: StaffSession,
    pub actor: procedures::Actor,
}

impl Staffed<'_> {
    pub fn now(&self) -> u64 {
        crate::clock::now_unix()
    }

    pub fn csrf(&self) -> &str {
        &self.session.csrf
    }
}

/// The signed-in staff member; a form post must also return the session's anti-forgery value.
fn staffed<'a>(
    app: &'a App,
    sessions: &'a StaffSessions,
    req: &'a BranchRequest,
) -> Result<Staffed<'a>, BranchError> {
    let session = match req.cookie_sid.as_deref() {
        Some(id) => sessions.get(&app.store, id)?,
        None => None,
    }
    .ok_or(BranchError::SignedOut)?;
    if req.method == "POST" && !session.csrf_ok(req.form.get("csrf").unwrap_or("")) {
        return Err(BranchError::Forgery);
    }
    let actor = session.staff.clone().ok_or(BranchError::SignedOut)?;
    Ok(Staffed {
        app,
        sessions,
        req,
        session,
        actor,
    })
}

async fn route(
    app: &App,
    sessions: &StaffSessions,
    req: &BranchRequest,
) -> Result<Reply, BranchError> {
    let path = req.path.trim_end_matches('/');
    // Sign-in and its page work without a signed-in session.
    match (req.method.as_str(), path) {
        ("GET", paths::ROOT) => {
            return match staffed(app, sessions, req) {
                Ok(s) if s.session.must_change => sign_in::password_page(&s, None, StatusCode::OK),
                Ok(s) => sign_in::home(&s),
                Err(_) => sign_in::sign_in_page(app, None, StatusCode::OK),
            }
        }
        ("GET", paths::LOGIN) => return sign_in::sign_in_page(app, None, StatusCode::OK),
        ("POST", paths::LOGIN) => return sign_in::sign_in(app, sessions, req).await,
        _ => {}
    }
    let known = ROUTES.iter().any(|(_, p)| *p == path);
    if !known {
        return Err(BranchError::NotFound);
    }
    if !ROUTES.contains(&(req.method.as_str(), path)) {
        return Err(BranchError::Method);
    }
    let s = match staffed(app, sessions, req) {
        Ok(s) => s,
        Err(BranchError::SignedOut) if req.method == "GET" => {
            return sign_in::sign_in_page(
                app,
                Some(BranchError::SignedOut.message()),
                StatusCode::UNAUTHORIZED,
            )
        }
        Err(e) => return Err(e),
    };
    // An initial password opens nothing but its change (and sign-out).
    if s.session.must_change && path != paths::PASSWORD && path != paths::LOGOUT {
        return sign_in::password_page(&s, None, StatusCode::FORBIDDEN);
    }
    match (req.method.as_str(), path) {
        ("GET", paths::PASSWORD) => return sign_in::password_page(&s, None, StatusCode::OK),
        ("POST", paths::PASSWORD) => return sign_in::change_password(&s).await,
        _ => {}
    }
    match path {
        paths::LOGOUT => sign_in::sign_out(&s).await,
        paths::CUSTOMER => customer::customer(&s).await,
        paths::FORMS => cancel::record(&s).await,
        paths::FORM => cancel::view(&s),
        paths::FORMS_APPROVE => cancel::approve(&s).await,
        paths::FORMS_REJECT => cancel::reject(&s).await,
        paths::APPLICATIONS => issue::record(&s).await,
        paths::RELEASES => unlock::record(&s).await,
        paths::RELEASE => unlock::view(&s),
        paths::RELEASES_APPROVE => unlock::decide(&s, false).await,
        paths::RELEASES_REJECT => unlock::decide(&s, true).await,
        paths::PENDING => lists::pending(&s, false),
        paths::PENDING_CSV => lists::pending(&s, true),
        paths::TODAY => lists::today_list(&s, false),
        paths::TODAY_CSV => lists::today_list(&s, true),
        paths::ATTEMPTS => lists::attempts(&s, false),
        paths::ATTEMPTS_CSV => lists::attempts(&s, true),
        paths::AUDIT => audit::audit(&s),
        paths::BUSINESS_UNLOCK => business::unlock(&s).await,
        _ => Err(BranchError::NotFound),
    }
}

/// Every route behind sign-in, with its method.
const ROUTES: [(&str, &str); 21] = [
    ("POST", paths::LOGOUT),
    ("GET", paths::PASSWORD),
    ("POST", paths::PASSWORD),
    ("GET", paths::CUSTOMER),
    ("POST", paths::FORMS),
    ("GET", paths::FORM),
    ("POST", paths::FORMS_APPROVE),
    ("POST", paths::FORMS_REJECT),
    ("POST", paths::APPLICATIONS),
    ("POST", paths::RELEASES),
    ("GET", paths::RELEASE),
    ("POST", paths::RELEASES_APPROVE),
    ("POST", paths::RELEASES_REJECT),
    ("GET", paths::PENDING),
    ("GET", paths::PENDING_CSV),
    ("GET", paths::TODAY),
    ("GET", paths::TODAY_CSV),
    ("GET", paths::ATTEMPTS),
    ("GET", paths::ATTEMPTS_CSV),
    ("GET", paths::AUDIT),
    ("POST", paths::BUSINESS_UNLOCK),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Every error's status, and its page: UTF-8 HTML with that status.
    #[test]
    fn every_error_has_one_status_and_a_utf8_page() {
        for (err, status) in [
            (BranchError::Form(FormError::Encoding), 400),
            (BranchError::Body(BodyError::Broken), 400),
            (BranchError::Body(BodyError::TooLarge), 413),
            (BranchError::Body(BodyError::Timeout), 408),
            (BranchError::NotFound, 404),
            (BranchError::Method, 405),
            (BranchError::SignedOut, 401),
            (BranchError::Forgery, 403),
            (BranchError::Busy, 503),
            (
                BranchError::Store(StoreError::Corrupt {
                    tree: "staff",
                    detail: "x".into(),
                }),
                503,
            ),
        ] {
            let page = error_page(&err);
            assert_eq!(page.status.as_u16(), status, "{err:?}");
            assert_eq!(page.content_type, UTF8_HTML);
            let text = String::from_utf8(page.body.to_vec()).unwrap();
            assert!(text.contains(err.message()), "{err:?}");
        }
    }
}
