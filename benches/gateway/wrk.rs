//! Page throughput: wrk against a server, and the bare hyper 1 server that is the limit.

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Response;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::Command;

/// wrk's result: requests per second.
pub fn run(addr: SocketAddr, seconds: u64, user_agent: &str) -> f64 {
    let out = Command::new("wrk")
        .args(["-t2", "-c64", &format!("-d{seconds}s"), "-H"])
        .arg(format!("User-Agent: {user_agent}"))
        .arg(format!("http://{addr}/"))
        .output()
        .expect("run wrk (bench/setup installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "wrk failed: {text}");
    assert!(
        !text.contains("Non-2xx"),
        "wrk saw error responses from {addr}:\n{text}"
    );
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in wrk output:\n{text}"))
}

/// Installs wrk if it is missing (Debian package, through bench/setup).
pub fn ensure() {
    if Command::new("wrk").arg("--version").output().is_ok() {
        return;
    }
    let status = Command::new(crate::data::repo().join("bench/setup"))
        .status()
        .expect("run bench/setup");
    assert!(status.success(), "bench/setup could not install wrk");
}

/// A bare hyper 1 server answering every request with `body` (the same size as the gateway's
/// top page), on its own runtime with as many workers as the gateway's. Runs until the process
/// ends. With `header_timeout`, it also arms hyper's header-read timer per request, as the
/// gateway did before its deadline sweep cut slow clients off instead: the difference shows
/// what that timer costs.
pub fn bare_hyper(body: Vec<u8>, header_timeout: bool) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("addr")).expect("send");
            let body = Bytes::from(body);
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let body = body.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |_req| {
                        let body = body.clone();
                        async move {
                            let mut r = Response::new(Full::new(body));
                            r.headers_mut().insert(
                                hyper::header::CONTENT_TYPE,
                                hyper::header::HeaderValue::from_static(
                                    "text/html; charset=Shift_JIS",
                                ),
                            );
                            Ok::<_, Infallible>(r)
                        }
                    });
                    let mut builder = http1::Builder::new();
                    if header_timeout {
                        builder
                            .timer(hyper_util::rt::TokioTimer::new())
                            .header_read_timeout(std::time::Duration::from_secs(10));
                    }
                    let _ = builder
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    rx.recv().expect("bare server address")
}
