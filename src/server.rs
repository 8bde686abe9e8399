//! The accept loop: hyper HTTP/1 with a bounded wait for each request head (see
//! [`crate::deadline`]) and a header-size limit, one log line per request (with the logical
//! status), graceful shutdown. It reads no body: the request goes to the [`Gateway`] with its
//! body unread, and the front the path selects reads it.

use crate::deadline::{Deadlines, Watch};
use crate::log::log;
use crate::reply::Reply;
use crate::router::{Gateway, Routed};
use bytes::Bytes;
use futures_util::future::{ready, Either, Ready};
use http_body_util::Full;
use hyper::body::{Body as _, Incoming};
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, SET_COOKIE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// hyper's read buffer bounds the request head; hyper answers 431 past it.
const MAX_HEAD: usize = 16 * 1024;

/// What every request of one connection shares (one reference count per request).
struct Connection {
    gateway: Arc<Gateway>,
    deadlines: Arc<Deadlines>,
    watch: Watch,
    peer: SocketAddr,
}

/// Serves until `shutdown` resolves, then lets open requests finish (up to 10 s).
pub async fn serve(
    gateway: Arc<Gateway>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let sweeper = {
        let gateway = gateway.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                gateway.sweep();
            }
        })
    };
    // Slow clients are cut off, not waited for.
    let deadlines = Arc::new(Deadlines::new(gateway.app().config.client_timeout));
    let cutter = tokio::spawn(deadlines.clone().run());
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
                let watch = deadlines.watch();
                let conn = Arc::new(Connection {
                    gateway: gateway.clone(),
                    deadlines: deadlines.clone(),
                    watch: watch.clone(),
                    peer,
                });
                let service = service_fn(move |req| {
                    conn.watch.busy();
                    answer(&conn, req)
                });
                // No half-closed connections: hyper watches for the phone hanging up while its
                // request is answered, and drops the request then (a queued password check is
                // withdrawn, not hashed for nobody).
                let http = http1::Builder::new()
                    .max_buf_size(MAX_HEAD)
                    .serve_connection(TokioIo::new(stream), service);
                let http = graceful.watch(http);
                let task = tokio::spawn(async move {
                    let _ = http.await;
                });
                deadlines.track(watch, task.abort_handle());
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
    cutter.abort();
}

/// A response now, or one to come. The future to come is boxed: unboxed, it is the size of the
/// largest journey's state, and hyper would copy that much for every answer, made now or not.
type Answer = Either<
    Ready<Result<Response<Full<Bytes>>, Infallible>>,
    Pin<Box<dyn Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send>>,
>;

/// The answer to one request. A page that needs nothing waited for (the phone top page) is
/// answered here, before hyper reads on: no future to build and move, and hyper's request (and
/// the read buffer it shares) is gone before the next one is read. Everything else is a future
/// that reads its body and waits for the store.
fn answer(conn: &Arc<Connection>, req: hyper::Request<Incoming>) -> Answer {
    let started = crate::log::Started::now();
    let (mut parts, body) = req.into_parts();
    // For the log line, the method and path as asked: answering may make a HEAD a GET, and
    // on a multi-bank gateway the path the bank's own (the URI shares hyper's buffer).
    let method = parts.method.clone();
    let asked = conn.gateway.is_multi_bank().then(|| parts.uri.clone());
    match conn
        .gateway
        .answer_now(&mut parts, body.is_end_stream(), conn.peer)
    {
        Routed::Now(reply) => {
            let uri = asked.as_ref().unwrap_or(&parts.uri);
            Either::Left(ready(Ok(respond(conn, &method, uri, reply, started))))
        }
        Routed::Bank(bank) => {
            let uri = asked.unwrap_or_else(|| parts.uri.clone());
            let conn = conn.clone();
            Either::Right(Box::pin(async move {
                // The body goes to the front unread: each front reads it with its own limits,
                // after its gate.
                let req = hyper::Request::from_parts(parts, crate::body::Body::from(body));
                let reply = conn.gateway.answer(bank, req, conn.peer).await;
                Ok(respond(&conn, &method, &uri, reply, started))
            }))
        }
    }
}

/// Header values made at compile time: `HeaderValue::from_static` checks its text byte by
/// byte when it runs.
const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");
const PHONE_PAGE: HeaderValue = HeaderValue::from_static(crate::reply::SHIFT_JIS_HTML);

fn content_type(of: &'static str) -> HeaderValue {
    if of == crate::reply::SHIFT_JIS_HTML {
        PHONE_PAGE
    } else {
        HeaderValue::from_static(of)
    }
}

/// The reply as hyper's response, its log line written and the connection's wait for its next
/// head begun.
fn respond(
    conn: &Connection,
    method: &hyper::Method,
    uri: &hyper::Uri,
    reply: Reply,
    started: crate::log::Started,
) -> Response<Full<Bytes>> {
    let bytes = reply.body.len();
    let logged = reply.log_status();
    let mut response = Response::new(Full::new(reply.body));
    *response.status_mut() = reply.status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, content_type(reply.content_type));
    headers.insert(CACHE_CONTROL, NO_STORE);
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
    log_request(method, uri.path(), logged, bytes, started);
    conn.watch.waiting(&conn.deadlines);
    response
}

fn log_request(
    method: &hyper::Method,
    path: &str,
    status: StatusCode,
    bytes: usize,
    started: crate::log::Started,
) {
    // Path only: queries carry session IDs. "GET / 200 787B 0ms", pieces pushed as they are.
    crate::log::log_request_line(
        |line| {
            line.push_str(method.as_str());
            line.push(' ');
            line.push_str(path);
            line.push(' ');
            line.push_str(status.as_str());
            line.push(' ');
            crate::log::push_number(line, bytes as u64);
            line.push_str("B ");
        },
        started,
    );
}
