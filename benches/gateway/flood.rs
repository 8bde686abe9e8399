//! Login latency under a password-check flood (issue 12, item 2): one client sends logins at
//! ten times the argon2 limit, half of them hung up as soon as sent, while a customer on
//! another phone logs in again and again. Raw sockets of its own, so that it shares nothing
//! with the phone client but the gateway.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const AU: &str = "KDDI-SA31 UP.Browser/6.2.0.7.3.129 (GUI) MMP/2.0";

/// What the flood and the customer saw.
pub struct Flood {
    /// Requests the flood sent per second.
    pub rate: f64,
    /// The customer's logins, each complete (menu page) — sorted.
    pub logins: Vec<Duration>,
    /// The flood's answered requests by what they said.
    pub flood_checked: u64,
    pub flood_throttled: u64,
    pub flood_busy: u64,
}

impl Flood {
    pub fn p99(&self) -> Duration {
        let i = ((self.logins.len() as f64 * 0.99).ceil() as usize).clamp(1, self.logins.len());
        self.logins[i - 1]
    }

    pub fn p50(&self) -> Duration {
        self.logins[self.logins.len() / 2]
    }
}

fn request(
    addr: SocketAddr,
    subscriber: &str,
    value: &str,
    contract_id: &str,
    password: &str,
) -> Vec<u8> {
    let body = format!("csrf={value}&contract_id={contract_id}&password={password}");
    format!(
        "POST /login HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: {AU}\r\nX-UP-SUBNO: {subscriber}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The login form's anti-forgery value the top page gives `subscriber` (good for ten to
/// twenty minutes, longer than a run).
async fn form_value(addr: SocketAddr, subscriber: &str) -> String {
    let req = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: {AU}\r\nX-UP-SUBNO: {subscriber}\r\nConnection: close\r\n\r\n"
    );
    let page = send(addr, req.as_bytes(), true).await.unwrap_or_default();
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker).expect("a login form value") + marker.len();
    page[start..start + page[start..].find('"').unwrap_or(0)].to_owned()
}

/// Sends `req`; with `read`, the whole answer (decoded as Shift_JIS), else hangs up at once.
async fn send(addr: SocketAddr, req: &[u8], read: bool) -> Option<String> {
    let mut s = TcpStream::connect(addr).await.ok()?;
    s.write_all(req).await.ok()?;
    if !read {
        return None;
    }
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.ok()?;
    Some(encoding_rs::SHIFT_JIS.decode(&buf).0.into_owned())
}

/// Floods for `run` at `rate` requests/s from one subscriber on customers
/// `first..first + customers` (their right passwords: every check costs a hash), while another
/// subscriber logs in customers from `first + customers` on, one after another.
pub async fn run(
    addr: SocketAddr,
    rate: f64,
    first: u64,
    customers: u64,
    run: Duration,
    contract_id: fn(u64) -> String,
    password: &'static str,
) -> Flood {
    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new([AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)]);
    const FLOODER: &str = "flood0000000_ezweb.ne.jp";
    const CUSTOMER: &str = "customer0000_ezweb.ne.jp";
    let (flood_value, customer_value) = (
        form_value(addr, FLOODER).await,
        form_value(addr, CUSTOMER).await,
    );
    let flood = {
        let stop = stop.clone();
        let counts = counts.clone();
        tokio::spawn(async move {
            let began = Instant::now();
            let mut sent = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // Paced by the clock, not by answers: the flood never waits for the gateway.
                let due = began + Duration::from_secs_f64(sent as f64 / rate);
                tokio::time::sleep_until(due.into()).await;
                let req = request(
                    addr,
                    FLOODER,
                    &flood_value,
                    &contract_id(first + sent % customers),
                    password,
                );
                let read = sent.is_multiple_of(2);
                let counts = counts.clone();
                tokio::spawn(async move {
                    if let Some(page) = send(addr, &req, read).await {
                        let i = if page.contains("ようこそ") {
                            0
                        } else if page.contains("この端末からのパスワード入力") {
                            1
                        } else {
                            2
                        };
                        counts[i].fetch_add(1, Ordering::Relaxed);
                    }
                });
                sent += 1;
            }
            sent as f64 / began.elapsed().as_secs_f64()
        })
    };
    // Let the flood fill the queue first.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let began = Instant::now();
    let mut logins = Vec::new();
    let mut i = first + customers;
    while began.elapsed() < run {
        let req = request(addr, CUSTOMER, &customer_value, &contract_id(i), password);
        let t = Instant::now();
        let page = send(addr, &req, true).await.unwrap_or_default();
        logins.push(t.elapsed());
        assert!(
            page.contains("ようこそ"),
            "the customer's login under the flood failed:\n{page}"
        );
        i += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let rate = flood.await.expect("flood task");
    logins.sort_unstable();
    Flood {
        rate,
        logins,
        flood_checked: counts[0].load(Ordering::Relaxed),
        flood_throttled: counts[1].load(Ordering::Relaxed),
        flood_busy: counts[2].load(Ordering::Relaxed),
    }
}
