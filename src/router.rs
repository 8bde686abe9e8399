//! Paths to flow steps: the only place that knows the gateway's URLs.

use crate::app::App;
use crate::error::AppError;
use crate::flows::{cancel, exchange, login, pages, start, Reply, Step};
use crate::request::Request;
use markup::Ctx;

/// Every path the gateway answers (for 405 versus 404).
const PATHS: [&str; 12] = [
    "/",
    "/help",
    "/login",
    "/login/otp",
    "/menu",
    "/logout",
    "/start",
    "/start/token",
    "/exchange",
    "/exchange/current",
    "/exchange/new",
    "/cancel",
];

pub async fn route(app: &App, req: &Request) -> Result<Reply, AppError> {
    let step = Step::new(app, req);
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
        ("GET", "/logout") => login::logout(&step),
        ("GET", "/start") => start::entry(&step).await,
        ("POST", "/start") => start::credentials_post(&step).await,
        ("POST", "/start/token") => start::token_post(&step).await,
        ("GET", "/exchange") => exchange::entry(&step).await,
        ("POST", "/exchange") => exchange::credentials_post(&step).await,
        ("POST", "/exchange/current") => exchange::current_post(&step).await,
        ("POST", "/exchange/new") => exchange::new_post(&step).await,
        ("GET", "/cancel") => cancel::notice(&step).await,
        (_, path) if PATHS.contains(&path) => Err(AppError::Method),
        _ => Err(AppError::NotFound),
    }
}

/// The one error page, for any error at any phase.
pub fn error_reply(bank: &str, guid_on: bool, err: &AppError) -> Reply {
    let ctx = Ctx {
        bank,
        guid_on,
        ..Ctx::default()
    };
    Reply {
        status: err.status(),
        page: markup::encode(markup::error::error(&ctx, err.message(), "/")),
        set_cookie: None,
    }
}
