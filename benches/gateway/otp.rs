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
    let out = std::process::Command::new(crate::child::BIN)
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
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for k in 0..CLIENTS {
        let (stop, auth) = (stop.clone(), auth.to_owned());
        let addr = addrs[k as usize % addrs.len()];
        let ids = ids.clone();
        tasks.push(tokio::spawn(async move {
            let mut p = Phone::new(addr, "keitai-gateway-bench");
            p.phone.headers.push(("Authorization".into(), auth));
            let mut accepted = 0u64;
            'passes: for ahead in [0u64, 60] {
                let mut i = ids.start + k;
                while i < ids.end {
                    if stop.load(Ordering::Relaxed) {
                        break 'passes;
                    }
                    let r = p
                        .post_json("/api/v1/otp/verify", &body(i, ahead))
                        .await
                        .expect("API request");
                    assert_eq!(r.status, 200, "API answered {}: {}", r.status, r.text);
                    // A step boundary between the two passes can make a code a replay; only
                    // accepted ones are counted.
                    if r.text.contains("\"accept\"") {
                        accepted += 1;
                    }
                    i += CLIENTS;
                }
            }
            (accepted, p.latencies, Instant::now())
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
    let (mut accepted, mut latencies, mut last) = (0, Latencies::default(), began);
    for t in tasks {
        let (a, l, done) = t.await.expect("API task");
        accepted += a;
        latencies.extend(l);
        last = last.max(done);
    }
    stopper.abort();
    let rate = accepted as f64 / (last - began).as_secs_f64();
    (rate, latencies, accepted)
}

fn body(i: u64, ahead: u64) -> String {
    let code = data::code(i, keitai_gateway::clock::now_unix() + ahead);
    format!(
        r#"{{"contract_id":"{}","otp":"{code}","purpose":"login"}}"#,
        data::contract_id(i)
    )
}
