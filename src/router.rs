//! Paths to handlers: the only place that knows the gateway's URLs. It picks the part of the
//! gateway a request is for (phone pages, branch console, API) before anything is decoded, so
//! each part decodes its own way and network restrictions apply before any page logic.

use crate::app::App;
use crate::error::AppError;
use crate::flows::{cancel, exchange, login, login_otp, pages, start, Step};
use crate::reply::Reply;
use crate::request::Request;
use crate::server::log;
use hyper::http::request::Parts;
use markup::Ctx;
use std::net::SocketAddr;

/// Every phone path the gateway answers (for 405 versus 404).
const PHONE_PATHS: [&str; 13] = [
    "/",
    "/help",
    "/login",
    "/login/otp",
    "/menu",
    "/menu/login-otp",
    "/logout",
    "/start",
    "/start/token",
    "/exchange",
    "/exchange/current",
    "/exchange/new",
    "/cancel",
];

/// Answers one request whose body has been read.
pub async fn dispatch(app: &App, parts: &Parts, body: &[u8], peer: SocketAddr) -> Reply {
    let path = parts.uri.path();
    if path.starts_with("/api/") {
        return crate::api::handle(app, parts, body, peer).await;
    }
    if path == "/branch" || path.starts_with("/branch/") {
        return crate::branch::handle(app, parts, body, peer).await;
    }
    phone(app, parts, body, peer).await
}

/// The feature-phone pages: Shift_JIS in and out, each page within the handset's budget.
async fn phone(app: &App, parts: &Parts, body: &[u8], peer: SocketAddr) -> Reply {
    let request = match Request::decode(parts, body, peer, &app.config) {
        Ok(r) => r,
        Err(e) => return phone_error(app, &e),
    };
    if request.untrusted_subscriber_claim {
        log(format_args!(
            "ignored subscriber-ID header from untrusted address {}",
            peer.ip()
        ));
    }
    let reply = match phone_route(app, &request).await {
        Ok(reply) => reply,
        Err(e) => {
            log_error(&e);
            Step::new(app, &request).error_page(&e)
        }
    };
    if reply.body.len() > request.handset.budget_bytes {
        log(format_args!(
            "page over budget: {} is {} bytes, budget {}",
            request.path,
            reply.body.len(),
            request.handset.budget_bytes
        ));
    }
    reply
}

async fn phone_route(app: &App, req: &Request) -> Result<Reply, AppError> {
    let step = Step::new(app, req);
    if req.handset.is_pc_or_smartphone() && !app.config.allow_pc {
        return Ok(pages::pc_pointer(&step));
    }
    let method = match req.method.as_str() {
        "HEAD" => "GET",
        m => m,
    };
    match (method, req.path.as_str()) {
        ("GET", "/") => pages::top(&step),
        ("GET", "/help") => pages::help(&step),
        ("POST", "/login") => login::login(&step).await,
        ("POST", "/login/otp") => login::otp(&step).await,
        ("GET", "/menu") => login::menu(&step).await,
        ("GET", "/menu/login-otp") => login_otp::entry(&step).await,
        ("POST", "/menu/login-otp") => login_otp::post(&step).await,
        ("GET", "/logout") => login::logout(&step),
        ("GET", "/start") => start::entry(&step).await,
        ("POST", "/start") => start::credentials_post(&step).await,
        ("POST", "/start/token") => start::token_post(&step).await,
        ("GET", "/exchange") => exchange::entry(&step).await,
        ("POST", "/exchange") => exchange::credentials_post(&step).await,
        ("POST", "/exchange/current") => exchange::current_post(&step).await,
        ("POST", "/exchange/new") => exchange::new_post(&step).await,
        ("GET", "/cancel") => cancel::notice(&step).await,
        (_, path) if PHONE_PATHS.contains(&path) => Err(AppError::Method),
        _ => Err(AppError::NotFound),
    }
}

fn log_error(err: &AppError) {
    if let AppError::Store(inner) = err {
        log(format_args!("storage error: {inner}"));
    }
}

/// The error page for a request that could not even be decoded (no handset known yet): the
/// same page in plain `[9]` text.
pub fn phone_error(app: &App, err: &AppError) -> Reply {
    log_error(err);
    let ctx = Ctx {
        bank: &app.config.bank.name,
        ..Ctx::default()
    };
    let page = markup::encode(markup::error::error(&ctx, err.message(), "/"));
    Reply::phone(err.status(), page)
}
