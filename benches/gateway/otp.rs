//! OTP checks without password hashing: in process through `ledger::check_otp` on a real store
//! (group commit), and through the gateway's OTP API when it has one.

use crate::data;
use crate::phone::Phone;
use crate::report::Latencies;
use keitai_gateway::ids::{ContractId, OtpCode};
use keitai_gateway::ledger::{check_otp, OtpCheck};
use keitai_gateway::seal::Sealer;
use keitai_gateway::store::Store;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const CLIENTS: u64 = 64;

/// Checks/s and latencies of `ledger::check_otp` with 64 concurrent tasks, each over its own
/// customers (`customers[k], customers[k + 64], ...` of the first `bound`), every check with
/// the right code: every one must be accepted, and each is durable before it returns.
///
/// Each task runs its own clock one token period ahead per round, so a code is never a replay
/// however fast the checks go (the store's last-used step is what is exercised, durably).
pub async fn in_process(dir: &Path, key: &Path, bound: u64, run: Duration) -> (f64, Latencies) {
    let sealer = Sealer::load(key).expect("key");
    let store = Arc::new(Store::open(&dir.join("db"), sealer).expect("store"));
    let stop = Arc::new(AtomicBool::new(false));
    let start = keitai_gateway::clock::now_unix();
    let mut tasks = Vec::new();
    for k in 0..CLIENTS {
        let store = store.clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut round = 0u64;
            while !stop.load(Ordering::Relaxed) {
                round += 1;
                let now = start + round * 60;
                let mut i = k;
                while i < bound && !stop.load(Ordering::Relaxed) {
                    let id = ContractId::parse(&data::contract_id(i)).expect("contract ID");
                    let code = OtpCode::parse(&data::code(i, now)).expect("code");
                    let t = Instant::now();
                    let r = check_otp(&store, &id, &code, now, 5, "bench")
                        .await
                        .expect("store");
                    lat.push(t.elapsed());
                    assert!(
                        matches!(r, OtpCheck::Accepted { .. }),
                        "OTP check of customer {i} not accepted: {r:?}"
                    );
                    i += CLIENTS;
                }
            }
            lat
        }));
    }
    let began = Instant::now();
    tokio::time::sleep(run).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Latencies::default();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    let rate = all.len() as f64 / began.elapsed().as_secs_f64();
    // Durable: the store flushed every accepted code before answering; a clean close too.
    store.flush().expect("flush");
    (rate, all)
}

/// What the API measurement found.
pub enum Api {
    /// The gateway has no OTP API (it answered 404) or no `api-key` command.
    Absent(String),
    Measured {
        rate: f64,
        latencies: Latencies,
    },
}

// ---------------------------------------------------------------------------------------------
// The OTP API (`POST /api/v1/otp/verify`), written against its contract: JSON
// {"contract_id","otp","purpose"} with `Authorization: Bearer KEY`, answering
// {"result":"accept"|...,"receipt":"..."}. Keys come from `keitai-gateway api-key add NAME
// --data-dir DIR`, printed once. Until the API is merged this finds no command or a 404 and
// says so; set BENCH_API=0 to leave it out altogether.
// ---------------------------------------------------------------------------------------------

/// Accepted verifications/s through the API with 64 concurrent callers, each over its own
/// tokens among customers `from..to` (all bound), each token checked with the code of this
/// step and then of the next (the only two a real clock allows).
pub async fn api(dir: &Path, key: &Path, from: u64, to: u64, run: Duration) -> Api {
    let out = crate::child::command()
        .args(["api-key", "add", "bench", "--data-dir"])
        .arg(dir)
        .arg("--key-file")
        .arg(key)
        .output();
    let api_key = match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .last()
            .unwrap_or_default()
            .to_owned(),
        Ok(o) => {
            return Api::Absent(format!(
                "`api-key add` failed: {}",
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .trim()
            ))
        }
        Err(e) => return Api::Absent(format!("cannot run keitai-gateway: {e}")),
    };
    let gateway = crate::child::Gateway::start(dir, key);
    let addr = gateway.addr;
    let auth = format!("Bearer {api_key}");
    let probe = {
        let mut p = Phone::new(addr, "keitai-gateway-bench");
        p.phone.headers.push(("Authorization".into(), auth.clone()));
        p.post_json("/api/v1/otp/verify", &body(from, 0)).await
    };
    match probe {
        Ok(r) if r.status == 404 => {
            return Api::Absent("POST /api/v1/otp/verify answered 404".into())
        }
        Err(e) => return Api::Absent(format!("POST /api/v1/otp/verify: {e}")),
        Ok(_) => {}
    }
    // The probe used `from`'s code of this step: start past it.
    let (rate, latencies, _) = verify_load(&[addr], &auth, from + 1..to, run).await;
    gateway.stop();
    Api::Measured { rate, latencies }
}

/// `CLIENTS` callers spread over `addrs` in turn, caller k over customers `ids.start + k`,
/// `+ CLIENTS`, … (right codes only: this step's, then the next's): (accepted/s, latencies,
/// accepted). Callers that run out of customers stop early: the rate is over the time they all ran.
pub async fn verify_load(
    addrs: &[SocketAddr],
    auth: &str,
    ids: Range<u64>,
    run: Duration,
) -> (f64, Latencies, u64) {
    let l = load(addrs, &Target::gateway(auth), ids, run).await;
    (l.rate, l.latencies, l.accepted)
}

/// A verification endpoint the load generator drives: the gateway's OTP API, or a peer's.
pub struct Target {
    pub path: &'static str,
    /// Headers sent with every request (the API key).
    pub headers: Vec<(String, String)>,
    /// The JSON body checking token `i` with its code at now + `ahead` seconds.
    pub body: fn(u64, u64) -> String,
    /// Whether an answer (status 200) says the code was accepted.
    pub accepted: fn(&str) -> bool,
    /// A status other than 200 fails the run (the gateway's); else it counts as not accepted.
    pub strict: bool,
}

impl Target {
    /// `POST /api/v1/otp/verify` with `Authorization: <auth>`.
    pub fn gateway(auth: &str) -> Target {
        Target {
            path: "/api/v1/otp/verify",
            headers: vec![("Authorization".into(), auth.to_owned())],
            body,
            accepted: |text| text.contains("\"accept\""),
            strict: true,
        }
    }
}

/// What one load found.
pub struct Load {
    /// Accepted checks per second over the time every caller ran.
    pub rate: f64,
    pub latencies: Latencies,
    pub accepted: u64,
    /// Answers received (accepted or not).
    pub answered: u64,
    /// The first answer that was not an acceptance, for the report.
    pub refusal: Option<String>,
    /// From the start until the last caller stopped (early when they ran out of tokens).
    pub took: Duration,
}

/// [`verify_load`] against any [`Target`], counting every answer.
pub async fn load(addrs: &[SocketAddr], target: &Target, ids: Range<u64>, run: Duration) -> Load {
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for k in 0..CLIENTS {
        let stop = stop.clone();
        let addr = addrs[k as usize % addrs.len()];
        let ids = ids.clone();
        let headers = target.headers.clone();
        let (path, body, accepted_by, strict) =
            (target.path, target.body, target.accepted, target.strict);
        tasks.push(tokio::spawn(async move {
            let mut p = Phone::new(addr, "keitai-gateway-bench");
            p.phone.headers.extend(headers);
            let (mut accepted, mut answered, mut refusal) = (0u64, 0u64, None);
            'passes: for ahead in [0u64, 60] {
                let mut i = ids.start + k;
                while i < ids.end {
                    if stop.load(Ordering::Relaxed) {
                        break 'passes;
                    }
                    let r = p
                        .post_json(path, &body(i, ahead))
                        .await
                        .unwrap_or_else(|e| panic!("{path}: {e}"));
                    if strict {
                        assert_eq!(r.status, 200, "{path} answered {}: {}", r.status, r.text);
                    }
                    answered += 1;
                    // A step boundary between the two passes can make a code a replay; only
                    // accepted ones are counted.
                    if r.status == 200 && accepted_by(&r.text) {
                        accepted += 1;
                    } else if refusal.is_none() {
                        refusal = Some(format!("token {i}: {} {}", r.status, r.text));
                    }
                    i += CLIENTS;
                }
            }
            (accepted, answered, refusal, p.latencies, Instant::now())
        }));
    }
    let began = Instant::now();
    let stopper = {
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(run).await;
            stop.store(true, Ordering::Relaxed);
        })
    };
    let mut out = Load {
        rate: 0.0,
        latencies: Latencies::default(),
        accepted: 0,
        answered: 0,
        refusal: None,
        took: Duration::ZERO,
    };
    let mut last = began;
    for t in tasks {
        let (a, n, refusal, l, done) = t.await.expect("API task");
        out.accepted += a;
        out.answered += n;
        out.refusal = out.refusal.or(refusal);
        out.latencies.extend(l);
        last = last.max(done);
    }
    stopper.abort();
    out.took = last - began;
    out.rate = out.accepted as f64 / out.took.as_secs_f64();
    out
}

fn body(i: u64, ahead: u64) -> String {
    let code = data::code(i, keitai_gateway::clock::now_unix() + ahead);
    format!(
        r#"{{"contract_id":"{}","otp":"{code}","purpose":"login"}}"#,
        data::contract_id(i)
    )
}
