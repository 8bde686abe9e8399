//! "Bank of a million": the same requests against a bank of 100,000 customers and tokens and one
//! of 1,000,000 (all tokens bound), each bank served by its own gateway: a branch customer lookup
//! (`GET /branch/customer`), a phone login (`POST /login`, the OTP page back), an OTP API
//! verification, one request at a time, and the gateway's memory while it serves them.
//!
//! Both banks are built once and kept under target/bench-data/ (a million takes a while);
//! what the requests change in them (a code's step used, a session) does not change the next
//! run's figures.

use crate::child::Gateway;
use crate::data;
use crate::phone::{Phone, FOMA};
use crate::report::{mb, Latencies, Table};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const SECTION: &str = "bank of a million";
/// The staff member the bench signs in as (put into the banks it builds).
const STAFF: (&str, &str) = ("C9001", "Clerk9001");
const PC: &str = "Mozilla/5.0 (Windows NT 10.0)";

/// What one bank's gateway measured.
struct Figures {
    lookup: Latencies,
    login: Latencies,
    api: Latencies,
    /// (peak, now) RSS after the requests.
    rss: (u64, u64),
}

/// Builds (once) and measures both banks; `small` and `big` are their sizes.
pub async fn run(table: &mut Table, small: u64, big: u64, samples: u64, budget: Duration) {
    let mut all = Vec::new();
    for n in [small, big] {
        crate::step(&format!("bank of a million: {n} customers and tokens"));
        let (dir, key) = bank(n);
        all.push((n, measure(&dir, &key, n, samples, budget).await));
    }
    let [(n0, mut f0), (n1, mut f1)] = <[_; 2]>::try_from(all).ok().expect("two banks");
    let rows: [(&str, &mut Latencies, &mut Latencies); 3] = [
        (
            "branch customer lookup, GET /branch/customer",
            &mut f0.lookup,
            &mut f1.lookup,
        ),
        (
            "phone login, POST /login (one argon2 check) to the OTP page",
            &mut f0.login,
            &mut f1.login,
        ),
        (
            "API verification, POST /api/v1/otp/verify",
            &mut f0.api,
            &mut f1.api,
        ),
    ];
    for (what, small_lat, big_lat) in rows {
        let ratio = big_lat.quantile(0.99) / small_lat.quantile(0.99);
        table.check(
            SECTION,
            format!("{what}: {n0} / {n1} ({} / {} requests)", small_lat.len(), big_lat.len()),
            format!("{} / {}", small_lat.p50_p99(), big_lat.p50_p99()),
            "p99 ≤ 2× at 1M",
            ratio <= 2.0,
        );
    }
    table.check(
        SECTION,
        format!("gateway RSS after those requests (peak): {n0} / {n1}"),
        format!(
            "{} ({}) / {} ({})",
            mb(f0.rss.1),
            mb(f0.rss.0),
            mb(f1.rss.1),
            mb(f1.rss.0)
        ),
        "≤ 2× at 1M",
        f1.rss.0 as f64 <= 2.0 * f0.rss.0 as f64,
    );
}

/// The bank of `n` customers and tokens, all bound, with the bench's staff member: built once.
pub fn bank(n: u64) -> (PathBuf, PathBuf) {
    let dir = data::root().join(format!("million-{n}"));
    let done = dir.join("complete");
    let key = dir.join("master.key");
    if !done.exists() {
        let began = Instant::now();
        data::build_bank(&dir, n, n);
        let sealer = keitai_gateway::seal::Sealer::load(&key).expect("key");
        let store =
            keitai_gateway::store::Store::open(&dir.join("db"), sealer).expect("open store");
        let staff = keitai_gateway::branch::ops::Staff {
            staff_id: STAFF.0.into(),
            name: "試験一郎".into(),
            branch_code: "001".into(),
            role: keitai_gateway::branch::ops::Role::Clerk,
            password_hash: keitai_gateway::password::hash(STAFF.1).expect("hash"),
        };
        keitai_gateway::branch::ops::put_staff(&store, &[staff], keitai_gateway::clock::now_unix())
            .expect("staff");
        store.flush().expect("flush");
        drop(store);
        std::fs::write(&done, b"").expect("marker");
        crate::step(&format!(
            "built the bank of {n} in {:.0} s (kept for later runs)",
            began.elapsed().as_secs_f64()
        ));
    }
    (dir, key)
}

/// Customer `k`'s index among `n`, spread over the whole bank (a different one per `k`, and
/// per run, so no code is checked twice).
fn spread(k: u64, n: u64, salt: u64) -> u64 {
    (k.wrapping_add(salt).wrapping_mul(2_654_435_761)) % n
}

async fn measure(dir: &Path, key: &Path, n: u64, samples: u64, budget: Duration) -> Figures {
    let api_key = api_key(dir, key);
    let gateway = Gateway::start(dir, key);
    let addr = gateway.addr;
    let salt = keitai_gateway::clock::now_unix();

    // Branch lookups: one staff session, customers all over the bank.
    let mut staff = Phone::new(addr, PC);
    let signin = staff.get("/branch/").await.expect("sign-in page");
    let csrf = csrf(&signin.body).expect("anti-forgery value on the sign-in page");
    let home = staff
        .post_form(
            "/branch/login",
            &[("csrf", &csrf), ("staff_id", STAFF.0), ("password", STAFF.1)],
        )
        .await
        .expect("staff sign-in");
    assert!(
        String::from_utf8_lossy(&home.body).contains("ホーム"),
        "staff sign-in failed"
    );
    staff.latencies.clear();
    let began = Instant::now();
    for k in 0..samples {
        if k >= 5 && began.elapsed() > budget {
            break;
        }
        let id = data::contract_id(spread(k, n, salt));
        let r = staff
            .get(&format!("/branch/customer?contract_id={id}"))
            .await
            .expect("lookup");
        assert!(
            r.status == 200 && String::from_utf8_lossy(&r.body).contains(&id),
            "lookup of {id} failed ({})",
            r.status
        );
    }
    let lookup = take(&mut staff.latencies);

    // Phone logins: the top page's form, as a phone submits it.
    let mut phone = Phone::new(addr, FOMA);
    let top = phone.get("/").await.expect("top page");
    phone.latencies.clear();
    let began = Instant::now();
    for k in 0..samples.min(200) {
        if k >= 5 && began.elapsed() > budget {
            break;
        }
        let id = data::contract_id(spread(k + samples, n, salt));
        let r = phone
            .submit(&top, &[("contract_id", &id), ("password", data::LOGIN_PASSWORD)])
            .await
            .expect("login");
        assert!(
            r.text.contains("ワンタイムパスワード"),
            "login of {id} did not reach the OTP page:\n{}",
            r.text
        );
    }
    let login = take(&mut phone.latencies);

    // API verifications with the current code of tokens all over the bank.
    let mut caller = Phone::new(addr, "keitai-gateway-bench");
    caller
        .headers
        .push(("Authorization".into(), format!("Bearer {api_key}")));
    let began = Instant::now();
    for k in 0..samples * 2 {
        if k >= 5 && began.elapsed() > budget {
            break;
        }
        let i = spread(k + 3 * samples, n, salt);
        let code = data::code(i, keitai_gateway::clock::now_unix());
        let body = format!(
            r#"{{"contract_id":"{}","otp":"{code}","purpose":"login"}}"#,
            data::contract_id(i)
        );
        let r = caller
            .post_json("/api/v1/otp/verify", &body)
            .await
            .expect("API request");
        assert_eq!(r.status, 200, "API answered {}: {}", r.status, r.text);
    }
    let api = take(&mut caller.latencies);
    let rss = gateway.rss();
    gateway.stop();
    Figures {
        lookup,
        login,
        api,
        rss,
    }
}

fn take(latencies: &mut Vec<Duration>) -> Latencies {
    let mut l = Latencies::default();
    l.extend(latencies.drain(..));
    l
}

/// A fresh API key for the bench (the gateway must not be running).
fn api_key(dir: &Path, key: &Path) -> String {
    let name = format!("bench-{}", keitai_gateway::clock::now_unix());
    let out = crate::child::cli(
        &["api-key", "add", &name],
        &[
            &"--data-dir".into(),
            &dir.to_path_buf(),
            &"--key-file".into(),
            &key.to_path_buf(),
        ],
    );
    out.split_whitespace().last().unwrap_or_default().to_owned()
}

/// The anti-forgery value of a console page (UTF-8).
fn csrf(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let marker = "name=\"csrf\" value=\"";
    let start = text.find(marker)? + marker.len();
    let end = start + text[start..].find('"')?;
    Some(text[start..end].to_owned())
}
