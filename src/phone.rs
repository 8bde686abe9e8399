//! The phone front: every path no other front owns. Shift_JIS in and out, each page within the
//! handset's budget, and every error as the one Japanese error page in the handset's dialect
//! (sent with status 200, see [`Reply::phone_error`]).
//!
//! It owns the phone sessions and the pages rendered once per kind of phone, reads the body
//! itself (form posts are a few hundred bytes) and routes to the steps in [`crate::flows`].

use crate::app::App;
use crate::body::{self, Limits};
use crate::error::AppError;
use crate::flows::pages::PageCache;
use crate::flows::{biz, cancel, exchange, login, login_otp, pages, start, Step};
use crate::front::{Answer, Front, HttpRequest};
use crate::log::log;
use crate::reply::Reply;
use crate::request::Request;
use crate::session::Sessions;
use hyper::http::request::Parts;
use hyper::Method;
use markup::paths;
use std::net::SocketAddr;

/// Largest phone request body accepted (form posts are a few hundred bytes).
pub const MAX_BODY: usize = 8 * 1024;

/// The phone front's own state.
pub struct PhoneFront {
    sessions: Sessions,
    /// Pages rendered once per kind of phone (the top page).
    pages: PageCache,
}

impl PhoneFront {
    pub fn new(config: &crate::config::Config) -> PhoneFront {
        PhoneFront {
            sessions: Sessions::new(config.bank.session_idle()),
            pages: PageCache::default(),
        }
    }

    /// The phone front with its sessions where `app`'s store keeps them (see
    /// [`Sessions::for_store`]).
    pub fn for_app(app: &App) -> PhoneFront {
        PhoneFront {
            sessions: Sessions::for_store(app.config.bank.session_idle(), &app.store),
            pages: PageCache::default(),
        }
    }

    fn step<'a>(&'a self, app: &'a App, request: &'a Request) -> Step<'a> {
        Step::new(app, &self.sessions, &self.pages, request)
    }

    /// [`Front::answer`], for a caller that can await it in place.
    pub async fn handle(&self, app: &App, req: HttpRequest, peer: SocketAddr) -> Reply {
        let (parts, body) = req.into_parts();
        let mut request = heard(&parts, peer, app);
        let limits = Limits {
            max_bytes: MAX_BODY,
            timeout: app.config.client_timeout,
        };
        let read = match body::read(&parts.headers, body, limits).await {
            Ok(bytes) => Request::form(parts.uri.query(), &bytes),
            Err(e) => Err(AppError::from(e)),
        };
        let result = match read {
            Ok(form) => {
                request.form = form;
                route(&self.step(app, &request)).await
            }
            Err(e) => Err(e),
        };
        self.finish(app, &request, result)
    }

    /// The answer to a request that needs nothing waited for: the top page (`GET /` without a
    /// body; it reads and stores nothing), answered as [`PhoneFront::handle`] would answer it,
    /// without a future. None for every other request.
    pub fn answer_now(
        &self,
        app: &App,
        head: &Parts,
        body_empty: bool,
        peer: SocketAddr,
    ) -> Option<Reply> {
        if !body_empty || head.method != Method::GET || head.uri.path() != paths::TOP {
            return None;
        }
        let mut request = heard(head, peer, app);
        let result = match Request::form(head.uri.query(), &[]) {
            Ok(form) => {
                request.form = form;
                route_now(&self.step(app, &request))?
            }
            Err(e) => Err(e),
        };
        Some(self.finish(app, &request, result))
    }

    /// The reply to `request`: its error page if it failed; a page over the handset's budget
    /// is logged.
    fn finish(&self, app: &App, request: &Request, result: Result<Reply, AppError>) -> Reply {
        let reply = result.unwrap_or_else(|e| {
            if let AppError::Store(inner) = &e {
                log(format_args!("storage error: {inner}"));
            }
            self.step(app, request).error_page(&e)
        });
        if reply.body.len() > request.handset.budget_bytes {
            log(format_args!(
                "page over budget: {} is {} bytes, budget {}",
                request.path(),
                reply.body.len(),
                request.handset.budget_bytes
            ));
        }
        reply
    }
}

/// What the head says ([`Request::from_head`]); a subscriber ID from an untrusted address is
/// logged (and ignored).
fn heard(head: &Parts, peer: SocketAddr, app: &App) -> Request {
    let request = Request::from_head(head, peer, &app.config);
    if request.untrusted_subscriber_claim {
        log(format_args!(
            "ignored subscriber-ID header from untrusted address {}",
            peer.ip()
        ));
    }
    request
}

impl Front for PhoneFront {
    fn name(&self) -> &'static str {
        "phone"
    }

    fn owns(&self, _path: &str) -> bool {
        true
    }

    fn answer<'a>(&'a self, app: &'a App, req: HttpRequest, peer: SocketAddr) -> Answer<'a> {
        Box::pin(self.handle(app, req, peer))
    }

    fn sweep(&self) {
        self.sessions.sweep();
    }

    fn live_sessions(&self, _app: &App) -> Option<usize> {
        Some(self.sessions.len())
    }
}

/// The steps that read and store nothing, answered without waiting; None for the others.
fn route_now(step: &Step<'_>) -> Option<Result<Reply, AppError>> {
    let req = step.req;
    if req.handset.is_pc_or_smartphone() && !step.app.config.allow_pc {
        return Some(Ok(pages::pc_pointer(step)));
    }
    match (req.method.as_str(), req.path()) {
        ("GET", paths::TOP) => Some(pages::top(step)),
        _ => None,
    }
}

async fn route(step: &Step<'_>) -> Result<Reply, AppError> {
    if let Some(now) = route_now(step) {
        return now;
    }
    let req = step.req;
    match (req.method.as_str(), req.path()) {
        ("GET", paths::HELP) => pages::help(step),
        ("POST", paths::LOGIN) => login::login(step).await,
        ("POST", paths::LOGIN_OTP) => login::otp(step).await,
        ("GET", paths::MENU) => login::menu(step).await,
        ("GET", paths::MENU_LOGIN_OTP) => login_otp::entry(step).await,
        ("POST", paths::MENU_LOGIN_OTP) => login_otp::post(step).await,
        ("GET", paths::LOGOUT) => login::logout(step),
        ("GET", paths::START) => start::entry(step).await,
        ("POST", paths::START) => start::credentials_post(step).await,
        ("POST", paths::START_TOKEN) => start::token_post(step).await,
        ("GET", paths::EXCHANGE) => exchange::entry(step).await,
        ("POST", paths::EXCHANGE) => exchange::credentials_post(step).await,
        ("POST", paths::EXCHANGE_CURRENT) => exchange::current_post(step).await,
        ("POST", paths::EXCHANGE_NEW) => exchange::new_post(step).await,
        ("GET", paths::CANCEL) => cancel::notice(step).await,
        (_, path) if biz::owns(path) => biz::route(step).await,
        (_, path) if paths::ALL.contains(&path) => Err(AppError::Method),
        _ => Err(AppError::NotFound),
    }
}
