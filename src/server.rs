//! The accept loop: hyper HTTP/1 with header-read timeout and header-size limit, the body limit,
//! one log line per request, graceful shutdown.

use crate::app::App;
use crate::error::AppError;
use crate::log::log;
use crate::router;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{
    HeaderValue, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE, SET_COOKIE,
};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// Largest request body accepted (form posts are a few hundred bytes).
pub const MAX_BODY: usize = 8 * 1024;
/// hyper's read buffer bounds the request head; hyper answers 431 past it.
const MAX_HEAD: usize = 16 * 1024;

/// Serves until `shutdown` resolves, then lets open requests finish (up to 10 s).
pub async fn serve(app: Arc<App>, listener: TcpListener, shutdown: impl Future<Output = ()>) {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let sweeper = {
        let app = app.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                app.sessions.sweep();
            }
        })
    };
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        log(format_args!("accept failed: {e}"));
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let timeout = app.config.client_timeout;
                let app = app.clone();
                let service = service_fn(move |req| handle(app.clone(), peer, req));
                let conn = http1::Builder::new()
                    .timer(TokioTimer::new())
                    // Slow clients are cut off, not waited for.
                    .header_read_timeout(timeout)
                    .max_buf_size(MAX_HEAD)
                    .serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            _ = &mut shutdown => break,
        }
    }
    sweeper.abort();
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown())
        .await
        .is_err()
    {
        log(format_args!(
            "shutdown: some connections did not finish in time"
        ));
    }
}

async fn read_body(
    parts: &hyper::http::request::Parts,
    body: Incoming,
    timeout: Duration,
) -> Result<Bytes, AppError> {
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(AppError::TooLarge);
    }
    // Most requests (every GET) have no body: no read, and no timer to set and clear.
    if hyper::body::Body::is_end_stream(&body) {
        return Ok(Bytes::new());
    }
    match tokio::time::timeout(timeout, Limited::new(body, MAX_BODY).collect()).await {
        Err(_) => Err(AppError::BodyTimeout),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(AppError::TooLarge),
        Ok(Err(_)) => Err(AppError::Body),
    }
}

async fn handle(
    app: Arc<App>,
    peer: SocketAddr,
    req: hyper::Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let reply = match read_body(&parts, body, app.config.client_timeout).await {
        Ok(body) => router::dispatch(&app, &parts, &body, peer).await,
        Err(e) => router::phone_error(&app, &e),
    };
    let bytes = reply.body.len();
    let status = reply.status;
    let mut response = Response::new(Full::new(Bytes::from(reply.body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(reply.content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(c) = reply
        .set_cookie
        .and_then(|c| HeaderValue::from_str(&c).ok())
    {
        headers.insert(SET_COOKIE, c);
    }
    if let Some(d) = reply
        .disposition
        .and_then(|d| HeaderValue::from_str(&d).ok())
    {
        headers.insert(CONTENT_DISPOSITION, d);
    }
    log_request(&parts.method, parts.uri.path(), status, bytes, started);
    Ok(response)
}

fn log_request(
    method: &hyper::Method,
    path: &str,
    status: StatusCode,
    bytes: usize,
    started: Instant,
) {
    // Path only: queries carry session IDs.
    log(format_args!(
        "{method} {path} {} {bytes}B {}ms",
        status.as_u16(),
        started.elapsed().as_millis()
    ));
}
