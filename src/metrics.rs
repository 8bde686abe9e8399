//! What the gateway does, counted for Prometheus (`prometheus-client`), and the metrics front
//! that serves it: `GET /metrics` in the OpenMetrics text format, to the internal networks
//! only (403 to everyone else, before anything else is looked at).
//!
//! Requests and page bytes are counted by the router for every front; OTP outcomes, lockouts
//! and the other audit events come from the store's observer (every security event is
//! audited in the write that makes it, so counting audit events counts each once); flush
//! latency from the store's group commit; live sessions from the fronts when scraped; import
//! progress from the admin socket.

use crate::app::App;
use crate::front::{Answer, Front, HttpRequest};
use crate::reply::Reply;
use crate::store::{AuditEvent, Observer};
use hyper::{Method, StatusCode};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::net::SocketAddr;
use std::sync::RwLock;

/// The content type Prometheus asks for and prometheus-client writes.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    front: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FrontLabel {
    front: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabel {
    event: &'static str,
}

fn page_histogram() -> Histogram {
    // 128 B … 64 KB: phone pages sit around 1–2 KB, handset budgets from 5 KB.
    Histogram::new(exponential_buckets(128.0, 2.0, 10))
}

/// Every metric the gateway keeps.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    page_bytes: Family<FrontLabel, Histogram, fn() -> Histogram>,
    otp: Family<ResultLabel, Counter>,
    lockouts: Family<KindLabel, Counter>,
    audit_events: Family<EventLabel, Counter>,
    flush_seconds: Histogram,
    sessions: Family<FrontLabel, Gauge>,
    import_rows: Gauge,
    import_running: Gauge,
    password_hashes: Gauge,
    /// The request counter and page-bytes histogram of each (front, status) seen so far,
    /// shared with the families: a family lookup hashes its labels (SipHash) under a lock,
    /// which cost more than the counting itself on every request. A handful of entries.
    answered: RwLock<Vec<Answered>>,
}

/// One (front, status)'s series, as [`Metrics::request`] counts into them.
struct Answered {
    front: &'static str,
    status: u16,
    requests: Counter,
    page_bytes: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("keitai");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Requests answered, by front and (logical) status",
            requests.clone(),
        );
        let page_bytes = Family::new_with_constructor(page_histogram as fn() -> Histogram);
        registry.register(
            "page_bytes",
            "Body bytes of each answer, by front",
            page_bytes.clone(),
        );
        let otp = Family::<ResultLabel, Counter>::default();
        registry.register(
            "otp_checks",
            "OTP checks by result (phone and API)",
            otp.clone(),
        );
        let lockouts = Family::<KindLabel, Counter>::default();
        registry.register(
            "lockouts",
            "Lockouts: tokens (otp), logins (login), staff sign-in pauses (staff)",
            lockouts.clone(),
        );
        let audit_events = Family::<EventLabel, Counter>::default();
        registry.register(
            "audit_events",
            "Audit records written, by event",
            audit_events.clone(),
        );
        let flush_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 14));
        registry.register(
            "flush_seconds",
            "Latency of the store's group-commit flushes",
            flush_seconds.clone(),
        );
        let sessions = Family::<FrontLabel, Gauge>::default();
        registry.register(
            "live_sessions",
            "Live sessions, by front (phone, console), as of the scrape",
            sessions.clone(),
        );
        let import_rows = Gauge::default();
        registry.register(
            "import_rows",
            "Rows the running import has processed (staged, then made visible)",
            import_rows.clone(),
        );
        let import_running = Gauge::default();
        registry.register(
            "import_running",
            "1 while an admin command runs an import through the admin socket",
            import_running.clone(),
        );
        let password_hashes = Gauge::default();
        registry.register(
            "password_hashes",
            "Password checks hashed on the queue by this process (locked and unknown contract IDs included)",
            password_hashes.clone(),
        );
        // Every result and kind shows from the start, at 0: a dashboard sees the series.
        for result in [
            "accept",
            "reject",
            "unknown_contract",
            "replayed",
            "lockout",
            "locked",
            "cancelled",
            "no_token",
        ] {
            let _ = otp.get_or_create(&ResultLabel { result });
        }
        for kind in ["otp", "login", "staff"] {
            let _ = lockouts.get_or_create(&KindLabel { kind });
        }
        Metrics {
            registry,
            requests,
            page_bytes,
            otp,
            lockouts,
            audit_events,
            flush_seconds,
            sessions,
            import_rows,
            import_running,
            password_hashes,
            answered: RwLock::new(Vec::new()),
        }
    }

    /// One answered request.
    pub fn request(&self, front: &'static str, status: StatusCode, bytes: usize) {
        let status = status.as_u16();
        let count = |a: &Answered| {
            a.requests.inc();
            a.page_bytes.observe(bytes as f64);
        };
        let seen = |a: &&Answered| a.status == status && a.front == front;
        {
            let answered = self.answered.read().unwrap_or_else(|p| p.into_inner());
            if let Some(a) = answered.iter().find(seen) {
                return count(a);
            }
        }
        let mut answered = self.answered.write().unwrap_or_else(|p| p.into_inner());
        let at = match answered.iter().position(|a| seen(&a)) {
            Some(at) => at,
            None => {
                answered.push(Answered {
                    front,
                    status,
                    requests: self
                        .requests
                        .get_or_create(&RequestLabels { front, status })
                        .clone(),
                    page_bytes: self.page_bytes.get_or_create(&FrontLabel { front }).clone(),
                });
                answered.len() - 1
            }
        };
        count(&answered[at]);
    }

    /// The live sessions of `front` now.
    pub fn live_sessions(&self, front: &'static str, n: usize) {
        self.sessions
            .get_or_create(&FrontLabel { front })
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// `n` more rows of a running import.
    pub fn import_progress(&self, n: u64) {
        self.import_running.set(1);
        self.import_rows
            .inc_by(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// The admin command is over.
    pub fn import_done(&self) {
        self.import_running.set(0);
        self.import_rows.set(0);
    }

    /// The text Prometheus scrapes.
    pub fn render(&self) -> String {
        self.password_hashes
            .set(i64::try_from(crate::password::hashes_run()).unwrap_or(i64::MAX));
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// The `result` label of an OTP event, and the `kind` of a lockout.
fn classify(e: AuditEvent) -> (Option<&'static str>, Option<&'static str>) {
    use AuditEvent as A;
    let result = match e {
        A::OtpOk => Some("accept"),
        A::OtpFailed => Some("reject"),
        A::OtpUnknownContract => Some("unknown_contract"),
        A::OtpReplayed => Some("replayed"),
        A::OtpLockout => Some("lockout"),
        A::OtpLocked => Some("locked"),
        A::OtpCancelled => Some("cancelled"),
        A::OtpNoToken => Some("no_token"),
        _ => None,
    };
    let lockout = match e {
        A::OtpLockout => Some("otp"),
        A::LoginLockout => Some("login"),
        A::StaffSignInPaused => Some("staff"),
        _ => None,
    };
    (result, lockout)
}

impl Observer for Metrics {
    fn committed(&self, events: &[AuditEvent]) {
        for &e in events {
            self.audit_events
                .get_or_create(&EventLabel { event: e.name() })
                .inc();
            let (result, lockout) = classify(e);
            if let Some(result) = result {
                self.otp.get_or_create(&ResultLabel { result }).inc();
            }
            if let Some(kind) = lockout {
                self.lockouts.get_or_create(&KindLabel { kind }).inc();
            }
        }
    }

    fn flushed(&self, seconds: f64) {
        self.flush_seconds.observe(seconds);
    }
}

/// `GET /metrics`, for the internal networks.
pub struct MetricsFront;

/// The bare `/metrics` of a multi-bank gateway: a plain 404 (a scraper reads the status, not
/// a phone page), since each bank counts apart at `/CODE/metrics`.
pub fn not_found_outside_banks() -> Reply {
    Reply::new(
        StatusCode::NOT_FOUND,
        "text/plain; charset=utf-8",
        b"no bank's metrics here: each bank's are at /CODE/metrics\n".to_vec(),
    )
}

pub const PATH: &str = "/metrics";

impl Front for MetricsFront {
    fn name(&self) -> &'static str {
        "metrics"
    }

    fn owns(&self, path: &str) -> bool {
        path == PATH
    }

    fn answer<'a>(&'a self, app: &'a App, req: HttpRequest, peer: SocketAddr) -> Answer<'a> {
        Box::pin(async move {
            let text = |status, body: &str| {
                Reply::new(
                    status,
                    "text/plain; charset=utf-8",
                    body.as_bytes().to_vec(),
                )
            };
            if !app.config.internal_networks.contains(peer.ip()) {
                return text(StatusCode::FORBIDDEN, "forbidden\n");
            }
            if req.method() != Method::GET {
                return text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
            }
            Reply::new(
                StatusCode::OK,
                OPENMETRICS,
                app.metrics.render().into_bytes(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_answer_counts_once_in_its_front_and_status_however_often_it_is_seen() {
        let m = Metrics::new();
        for _ in 0..3 {
            m.request("phone", StatusCode::OK, 900);
        }
        m.request("phone", StatusCode::NOT_FOUND, 300);
        m.request("api", StatusCode::OK, 50);
        let text = m.render();
        for line in [
            "keitai_requests_total{front=\"phone\",status=\"200\"} 3",
            "keitai_requests_total{front=\"phone\",status=\"404\"} 1",
            "keitai_requests_total{front=\"api\",status=\"200\"} 1",
            "keitai_page_bytes_sum{front=\"phone\"} 3000.0",
            "keitai_page_bytes_count{front=\"phone\"} 4",
            "keitai_page_bytes_count{front=\"api\"} 1",
        ] {
            assert!(text.contains(line), "{line} not in:\n{text}");
        }
    }
}
