//! The branch console under `/branch/`: staff sign in and carry out what customers bring to the
//! counter on paper (利用中止届, 発行申込書, lock releases), look customers up, list and export
//! the work, and read the audit trail. UTF-8 HTML for PC browsers, no JavaScript.
//!
//! This file owns the door: the network guard (every client outside the branch networks gets 403
//! before anything else happens), UTF-8 request decoding, the staff session check, the routes and
//! the one error page. `auth` keeps sessions, `input` checks typed fields, `steps` carries out
//! requests, `ops` writes the store, `pages` renders, `export` writes CSV.

pub mod auth;
pub mod export;
pub mod input;
pub mod ops;
pub mod pages;
pub mod steps;

use crate::app::App;
use crate::form::{Form, FormError};
use crate::reply::{Reply, UTF8_HTML};
use crate::server::log;
use crate::store::StoreError;
use auth::StaffSession;
use hyper::http::request::Parts;
use hyper::StatusCode;
use std::net::{IpAddr, SocketAddr};

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
        let cookie_sid = parts
            .headers
            .get_all(hyper::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(cookie::Cookie::split_parse)
            .filter_map(Result::ok)
            .find(|c| c.name() == auth::COOKIE)
            .map(|c| c.value().to_owned());
        let method = match parts.method.as_str() {
            "HEAD" => "GET".to_owned(),
            m => m.to_owned(),
        };
        Ok(BranchRequest {
            method,
            path: parts.uri.path().to_owned(),
            form,
            cookie_sid,
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
            BranchError::Form(_) => StatusCode::BAD_REQUEST,
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
            BranchError::Form(_) => "送信内容を読み取れませんでした(UTF-8、各項目256文字まで)。",
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
    format!(
        "{} JST\t{}\t{staff}\t{}\t{}\t{}",
        crate::clock::jst(r.at),
        r.event,
        or_dash(&r.contract_id),
        or_dash(&r.serial),
        if r.detail.is_empty() { "-" } else { &r.detail }
    )
}

/// Whether `peer` is in the branch networks (IPv4 peers of a dual-stack listener included).
pub fn allowed(networks: &[ipnet::IpNet], peer: IpAddr) -> bool {
    let peer = peer.to_canonical();
    networks.iter().any(|n| n.contains(&peer))
}

/// Answers one console request.
pub async fn handle(app: &App, parts: &Parts, body: &[u8], peer: SocketAddr) -> Reply {
    if !allowed(&app.config.branch_networks, peer.ip()) {
        log(format_args!(
            "branch console refused to {} (not in the branch networks)",
            peer.ip()
        ));
        return html(StatusCode::FORBIDDEN, pages::forbidden());
    }
    let result = match BranchRequest::decode(parts, body) {
        Ok(req) => route(app, &req).await,
        Err(e) => Err(e),
    };
    result.unwrap_or_else(|e| error_page(&e))
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
    pub req: &'a BranchRequest,
    pub session: StaffSession,
    pub actor: ops::Actor,
}

impl Staffed<'_> {
    pub fn now(&self) -> u64 {
        crate::clock::now_unix()
    }

    pub fn csrf(&self) -> &str {
        &self.session.csrf
    }
}

fn live_session(app: &App, req: &BranchRequest) -> Option<StaffSession> {
    app.staff_sessions.get(req.cookie_sid.as_deref()?)
}

/// The signed-in staff member; a form post must also return the session's anti-forgery value.
fn staffed<'a>(app: &'a App, req: &'a BranchRequest) -> Result<Staffed<'a>, BranchError> {
    let session = live_session(app, req).ok_or(BranchError::SignedOut)?;
    if req.method == "POST" && !session.csrf_ok(req.form.get("csrf").unwrap_or("")) {
        return Err(BranchError::Forgery);
    }
    let actor = session.staff.clone().ok_or(BranchError::SignedOut)?;
    Ok(Staffed {
        app,
        req,
        session,
        actor,
    })
}

async fn route(app: &App, req: &BranchRequest) -> Result<Reply, BranchError> {
    let path = req.path.trim_end_matches('/');
    // Sign-in and its page work without a signed-in session.
    match (req.method.as_str(), path) {
        ("GET", "/branch") => {
            return match staffed(app, req) {
                Ok(s) => steps::home(&s),
                Err(_) => steps::sign_in_page(app, None, StatusCode::OK),
            }
        }
        ("GET", "/branch/login") => return steps::sign_in_page(app, None, StatusCode::OK),
        ("POST", "/branch/login") => return steps::sign_in(app, req).await,
        _ => {}
    }
    let known = ROUTES.iter().any(|(_, p)| *p == path);
    if !known {
        return Err(BranchError::NotFound);
    }
    if !ROUTES.contains(&(req.method.as_str(), path)) {
        return Err(BranchError::Method);
    }
    let s = match staffed(app, req) {
        Ok(s) => s,
        Err(BranchError::SignedOut) if req.method == "GET" => {
            return steps::sign_in_page(
                app,
                Some(BranchError::SignedOut.message()),
                StatusCode::UNAUTHORIZED,
            )
        }
        Err(e) => return Err(e),
    };
    match path {
        "/branch/logout" => steps::sign_out(&s).await,
        "/branch/customer" => steps::customer(&s),
        "/branch/forms" => steps::record_form(&s).await,
        "/branch/form" => steps::form(&s),
        "/branch/forms/approve" => steps::approve_form(&s).await,
        "/branch/forms/reject" => steps::reject_form(&s).await,
        "/branch/applications" => steps::issue(&s).await,
        "/branch/releases" => steps::record_release(&s).await,
        "/branch/release" => steps::release(&s),
        "/branch/releases/approve" => steps::decide_release(&s, false).await,
        "/branch/releases/reject" => steps::decide_release(&s, true).await,
        "/branch/lists/pending" => steps::pending(&s, false),
        "/branch/lists/pending.csv" => steps::pending(&s, true),
        "/branch/lists/today" => steps::today_list(&s, false),
        "/branch/lists/today.csv" => steps::today_list(&s, true),
        "/branch/lists/attempts" => steps::attempts(&s, false),
        "/branch/lists/attempts.csv" => steps::attempts(&s, true),
        "/branch/audit" => steps::audit(&s),
        _ => Err(BranchError::NotFound),
    }
}

/// Every route behind sign-in, with its method.
const ROUTES: [(&str, &str); 18] = [
    ("POST", "/branch/logout"),
    ("GET", "/branch/customer"),
    ("POST", "/branch/forms"),
    ("GET", "/branch/form"),
    ("POST", "/branch/forms/approve"),
    ("POST", "/branch/forms/reject"),
    ("POST", "/branch/applications"),
    ("POST", "/branch/releases"),
    ("GET", "/branch/release"),
    ("POST", "/branch/releases/approve"),
    ("POST", "/branch/releases/reject"),
    ("GET", "/branch/lists/pending"),
    ("GET", "/branch/lists/pending.csv"),
    ("GET", "/branch/lists/today"),
    ("GET", "/branch/lists/today.csv"),
    ("GET", "/branch/lists/attempts"),
    ("GET", "/branch/lists/attempts.csv"),
    ("GET", "/branch/audit"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_matches_networks_and_mapped_ipv4() {
        let loopback = crate::config::default_branch_networks();
        assert!(allowed(&loopback, "127.0.0.1".parse().unwrap()));
        assert!(allowed(&loopback, "::1".parse().unwrap()));
        assert!(allowed(&loopback, "::ffff:127.0.0.1".parse().unwrap()));
        assert!(!allowed(&loopback, "10.1.2.3".parse().unwrap()));
        let branch: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        assert!(allowed(&branch, "10.1.2.3".parse().unwrap()));
        assert!(!allowed(&branch, "127.0.0.1".parse().unwrap()));
    }
}
