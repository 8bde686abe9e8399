//! The OTP API for the bank's other channels (PC/smartphone banking, transfers): JSON over
//! HTTP under `/api/`. This module is the API front: the internal-network gate (before anything
//! else is looked at), the routes, caller authentication (before the body is read), reading the
//! body with the API's own limits, and the JSON error replies — every error, body errors
//! included, as `{"error":..,"message":..}`. [`keys`] owns API keys, [`verify`] the
//! verification call itself.

pub mod keys;
pub mod verify;

use crate::app::App;
use crate::body::{self, BodyError, Limits};
use crate::front::{Answer, Front, HttpRequest};
use crate::log::log;
use crate::reply::{Reply, JSON};
use crate::store::StoreError;
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
    #[error("{0}")]
    Body(#[from] BodyError),
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
            ApiError::Body(BodyError::TooLarge) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Body(BodyError::Timeout) => StatusCode::REQUEST_TIMEOUT,
            ApiError::BadRequest(_) | ApiError::Body(BodyError::Broken) => StatusCode::BAD_REQUEST,
            ApiError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::Method => "method_not_allowed",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Body(BodyError::TooLarge) => "too_large",
            ApiError::Body(BodyError::Timeout) => "timeout",
            ApiError::BadRequest(_) | ApiError::Body(BodyError::Broken) => "bad_request",
            ApiError::Store(_) => "unavailable",
        }
    }

    /// What the caller reads: storage details stay in the log.
    fn message(&self) -> String {
        match self {
            ApiError::Store(_) => "storage unavailable, try again later".into(),
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

/// `/api/…` on a multi-bank gateway outside every bank: the path must name the bank
/// (`/CODE/api/…`). Says nothing about any bank.
pub fn not_found_outside_banks() -> Reply {
    error_reply(&ApiError::NotFound)
}

/// Largest API request body accepted (a verification is under 100 bytes).
pub const MAX_BODY: usize = 8 * 1024;

/// The API front: stateless (callers are known by their keys, in the store).
pub struct ApiFront;

impl Front for ApiFront {
    fn name(&self) -> &'static str {
        "api"
    }

    fn owns(&self, path: &str) -> bool {
        path.starts_with("/api/")
    }

    fn answer<'a>(&'a self, app: &'a App, req: HttpRequest, peer: SocketAddr) -> Answer<'a> {
        Box::pin(async move {
            match route(app, req, peer).await {
                Ok(reply) => reply,
                Err(e) => error_reply(&e),
            }
        })
    }
}

/// Whether `peer` may reach the API at all.
pub fn internal(app: &App, peer: SocketAddr) -> bool {
    app.config.internal_networks.contains(peer.ip())
}

/// The gate, then the route, then the key, and only then the body.
async fn route(app: &App, req: HttpRequest, peer: SocketAddr) -> Result<Reply, ApiError> {
    // Health answers the networks /metrics answers, and this host (a local health check).
    if req.uri().path() == "/api/v1/health" && crate::net::NetSet::loopback().contains(peer.ip()) {
        return health(req.method());
    }
    if !internal(app, peer) {
        log(format_args!("api: refused {} (not internal)", peer.ip()));
        return Err(ApiError::Forbidden);
    }
    let (parts, body) = req.into_parts();
    match parts.uri.path() {
        "/api/v1/health" => health(&parts.method),
        "/api/v1/otp/verify" => {
            if parts.method != Method::POST {
                return Err(ApiError::Method);
            }
            let caller = keys::authenticate(&app.store, &parts.headers)?;
            let limits = Limits {
                max_bytes: MAX_BODY,
                timeout: app.config.client_timeout,
            };
            let body = body::read(&parts.headers, body, limits).await?;
            verify::verify(app, &caller, &body).await
        }
        _ => Err(ApiError::NotFound),
    }
}

fn health(method: &Method) -> Result<Reply, ApiError> {
    match *method {
        Method::GET => Ok(json(StatusCode::OK, &Health { status: "ok" })),
        _ => Err(ApiError::Method),
    }
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every error's status and code, in one table (like miniserve's `errors.rs`).
    #[test]
    fn every_error_has_one_status_and_code() {
        let store = || {
            ApiError::Store(StoreError::Corrupt {
                tree: "api_keys",
                detail: "x".into(),
            })
        };
        for (err, status, code) in [
            (ApiError::Forbidden, 403, "forbidden"),
            (ApiError::NotFound, 404, "not_found"),
            (ApiError::Method, 405, "method_not_allowed"),
            (ApiError::Unauthorized, 401, "unauthorized"),
            (ApiError::BadRequest("x"), 400, "bad_request"),
            (ApiError::Body(BodyError::Broken), 400, "bad_request"),
            (ApiError::Body(BodyError::TooLarge), 413, "too_large"),
            (ApiError::Body(BodyError::Timeout), 408, "timeout"),
            (store(), 503, "unavailable"),
        ] {
            let reply = error_reply(&err);
            assert_eq!(reply.status.as_u16(), status, "{err:?}");
            assert_eq!(reply.content_type, JSON);
            let v: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
            assert_eq!(v["error"], code, "{err:?}");
            assert!(v["message"].is_string());
        }
        let v: serde_json::Value = serde_json::from_slice(&error_reply(&store()).body).unwrap();
        assert!(
            !v["message"].as_str().unwrap().contains("api_keys"),
            "no internals"
        );
    }
}
