//! The OTP API for the bank's other channels (PC/smartphone banking, transfers): JSON over
//! HTTP under `/api/`. This module owns the edge: the internal-network check (before any work),
//! the routes, caller authentication and the JSON error replies. [`keys`] owns API keys,
//! [`verify`] the verification call itself.

pub mod keys;
pub mod verify;

use crate::app::App;
use crate::log::log;
use crate::reply::{Reply, JSON};
use crate::store::StoreError;
use hyper::http::request::Parts;
use hyper::{Method, StatusCode};
use serde::Serialize;
use std::net::SocketAddr;

/// Why an API request was not decided.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("client outside the internal networks")]
    Forbidden,
    #[error("no such endpoint")]
    NotFound,
    #[error("method not allowed")]
    Method,
    #[error("missing, unknown or revoked API key")]
    Unauthorized,
    /// The message is fixed text: never an echo of the request (it may hold an OTP).
    #[error("{0}")]
    BadRequest(&'static str),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Method => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::Method => "method_not_allowed",
            ApiError::Unauthorized => "unauthorized",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Store(_) => "internal",
        }
    }

    /// What the caller reads: storage details stay in the log.
    fn message(&self) -> String {
        match self {
            ApiError::Store(_) => "internal error".into(),
            e => e.to_string(),
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: &'a str,
}

/// A JSON reply.
pub fn json(status: StatusCode, value: &impl Serialize) -> Reply {
    // Our bodies are plain structs of strings: serialising cannot fail.
    Reply::new(status, JSON, serde_json::to_vec(value).unwrap_or_default())
}

/// The one error reply for the API.
fn error_reply(err: &ApiError) -> Reply {
    if let ApiError::Store(inner) = err {
        log(format_args!("api storage error: {inner}"));
    }
    json(
        err.status(),
        &ErrorBody {
            error: err.code(),
            message: &err.message(),
        },
    )
}

/// Answers one request under `/api/`.
pub async fn handle(app: &App, parts: &Parts, body: &[u8], peer: SocketAddr) -> Reply {
    match route(app, parts, body, peer).await {
        Ok(reply) => reply,
        Err(e) => error_reply(&e),
    }
}

/// Whether `peer` may reach the API at all. IPv4 clients of a dual-stack listener arrive as
/// IPv4-mapped IPv6 addresses; they are judged as the IPv4 address they are.
pub fn internal(app: &App, peer: SocketAddr) -> bool {
    app.config.internal_networks.contains(peer.ip())
}

async fn route(app: &App, parts: &Parts, body: &[u8], peer: SocketAddr) -> Result<Reply, ApiError> {
    if !internal(app, peer) {
        log(format_args!("api: refused {} (not internal)", peer.ip()));
        return Err(ApiError::Forbidden);
    }
    match parts.uri.path() {
        "/api/v1/health" => match parts.method {
            Method::GET | Method::HEAD => Ok(json(StatusCode::OK, &Health { status: "ok" })),
            _ => Err(ApiError::Method),
        },
        "/api/v1/otp/verify" => {
            if parts.method != Method::POST {
                return Err(ApiError::Method);
            }
            let caller = keys::authenticate(&app.store, &parts.headers)?;
            verify::verify(app, &caller, body).await
        }
        _ => Err(ApiError::NotFound),
    }
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
}
