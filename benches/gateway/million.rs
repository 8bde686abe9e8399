//! "Bank of a million": the same requests against a bank of 100,000 customers and tokens and one
//! of 1,000,000 (all tokens bound), each bank served by its own gateway: a branch customer lookup
//! (`GET /branch/customer`), a phone login (`POST /login`, the OTP page back), an OTP API
//! verification, one request at a time, alternating between the two gateways, and each
//! gateway's memory while it serves them.
//!
//! Both banks are built once and kept under target/bench-data/ (a million takes a while);
//! what the requests change in them (a code's step used, a session) does not change the next
//! run's figures.

use crate::child::Gateway;
use crate::data;
use crate::phone::{Phone, Resp, FOMA};
use crate::report::{mb, Latencies, Table};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const SECTION: &str = "bank of a million";
/// The staff member the bench signs in as (put into the banks it builds).
const STAFF: (&str, &str) = ("C9001", "Clerk9001");
const PC: &str = "Mozilla/5.0 (Windows NT 10.0)";

/// What one bank's gateway measured.
#[derive(Default)]
struct Figures {
    lookup: Latencies,
    login: Latencies,
    api: Latencies,
    /// API verifications answered "accept" (the others: the code's step already used).
    accepted: u64,
    /// RSS once started, and (peak, now) after the requests.
    rss_started: u64,
    rss: (u64, u64),
}

/// Builds (once) and measures both banks; `small` and `big` are their sizes. Both gateways run
/// at once and the requests alternate between them, one at a time: whatever else the machine
/// does at a moment falls on both alike.
pub async fn run(table: &mut Table, small: u64, big: u64, samples: u64, budget: Duration) {
    let mut sides = Vec::new();
    for n in [small, big] {
        crate::step(&format!("bank of a million: {n} customers and tokens"));
        let (dir, key) = bank(n);
        sides.push(Side::start(&dir, &key, n).await);
    }
    crate::step("bank of a million: lookups, logins and API verifications, alternating");
    let salt = keitai_gateway::clock::now_unix();
    let kinds: [(u64, Kind); 3] = [
        (samples, Kind::Lookup),
        (samples.min(200), Kind::Login),
        (samples * 2, Kind::Verify),
    ];
    for (count, kind) in kinds {
        let began = Instant::now();
        for k in 0..count {
            if k >= 5 && began.elapsed() > budget {
                break;
            }
            for side in sides.iter_mut() {
                side.request(kind, k, salt).await;
            }
        }
    }
    let mut all: Vec<(u64, Figures)> = sides.into_iter().map(Side::stop).collect();
    let (n1, mut f1) = all.pop().expect("big bank");
    let (n0, mut f0) = all.pop().expect("small bank");
    let accepted = format!("{} / {} accepted", f0.accepted, f1.accepted);
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
            "API verification, POST /api/v1/otp/verify (durable)",
            &mut f0.api,
            &mut f1.api,
        ),
    ];
    for (what, small_lat, big_lat) in rows {
        let ratio = big_lat.quantile(0.99) / small_lat.quantile(0.99);
        let extra = if what.starts_with("API") {
            format!("; {accepted}")
        } else {
            String::new()
        };
        table.check(
            SECTION,
            format!(
                "{what}: {n0} / {n1} ({} / {} requests{extra})",
                small_lat.len(),
                big_lat.len()
            ),
            format!("{} / {}", small_lat.p50_p99(), big_lat.p50_p99()),
            "p99 ≤ 2× at 1M",
            ratio <= 2.0,
        );
    }
    table.check(
        SECTION,
        format!("gateway RSS started → after those requests (peak): {n0} / {n1}"),
        format!(
            "{} → {} ({}) / {} → {} ({})",
            mb(f0.rss_started),
            mb(f0.rss.1),
            mb(f0.rss.0),
            mb(f1.rss_started),
            mb(f1.rss.1),
            mb(f1.rss.0)
        ),
        "≤ 2× at 1M",
        f1.rss.0 as f64 <= 2.0 * f0.rss.0 as f64,
    );
}

#[derive(Clone, Copy)]
enum Kind {
    Lookup,
    Login,
    Verify,
}

/// One bank's gateway and its three clients.
struct Side {
    n: u64,
    gateway: Gateway,
    staff: Phone,
    phone: Phone,
    top: Resp,
    caller: Phone,
    figures: Figures,
}

impl Side {
    async fn start(dir: &Path, key: &Path, n: u64) -> Side {
        let api_key = api_key(dir, key);
        let gateway = Gateway::start(dir, key);
        let addr = gateway.addr;
        let figures = Figures {
            rss_started: gateway.rss().1,
            ..Figures::default()
        };
        // One staff session for the lookups.
        let mut staff = Phone::new(addr, PC);
        let signin = staff.get("/branch/").await.expect("sign-in page");
        let csrf = signin
            .utf8()
            .csrf()
            .expect("anti-forgery value on the sign-in page");
        let home = staff
            .post_form(
                "/branch/login",
                &[
                    ("csrf", &csrf),
                    ("staff_id", STAFF.0),
                    ("password", STAFF.1),
                ],
            )
            .await
            .expect("staff sign-in");
        assert!(
            String::from_utf8_lossy(&home.body).contains("ホーム"),
            "staff sign-in failed"
        );
        staff.latencies.clear();
        // Logins submit the top page's form, as a phone does.
        let mut phone = Phone::new(addr, FOMA);
        let top = phone.get("/").await.expect("top page");
        phone.latencies.clear();
        let mut caller = Phone::new(addr, "keitai-gateway-bench");
        caller
            .phone
            .headers
            .push(("Authorization".into(), format!("Bearer {api_key}")));
        Side {
            n,
            gateway,
            staff,
            phone,
            top,
            caller,
            figures,
        }
    }

    /// The `k`th request of `kind`, for a customer anywhere in the bank.
    async fn request(&mut self, kind: Kind, k: u64, salt: u64) {
        let n = self.n;
        match kind {
            Kind::Lookup => {
                let id = data::contract_id(spread(k, n, salt));
                let r = self
                    .staff
                    .get(&format!("/branch/customer?contract_id={id}"))
                    .await
                    .expect("lookup");
                assert!(
                    r.status == 200 && String::from_utf8_lossy(&r.body).contains(&id),
                    "lookup of {id} failed ({})",
                    r.status
                );
            }
            Kind::Login => {
                let id = data::contract_id(spread(k + 1_000_000, n, salt));
                let fields = [
                    ("contract_id", id.as_str()),
                    ("password", data::LOGIN_PASSWORD),
                ];
                let mut r = self.phone.submit(&self.top, &fields).await.expect("login");
                // The top page's login form value lasts ten to twenty minutes: a long run
                // takes a fresh top page now and then (its refusal page is one).
                if r.text.contains("時間がたったため") {
                    self.top = r;
                    r = self.phone.submit(&self.top, &fields).await.expect("login");
                }
                assert!(
                    r.text.contains("ワンタイムパスワード"),
                    "login of {id} did not reach the OTP page:\n{}",
                    r.text
                );
            }
            Kind::Verify => {
                let i = spread(k + 2_000_000, n, salt);
                let code = data::code(i, keitai_gateway::clock::now_unix());
                let body = format!(
                    r#"{{"contract_id":"{}","otp":"{code}","purpose":"login"}}"#,
                    data::contract_id(i)
                );
                let r = self
                    .caller
                    .post_json("/api/v1/otp/verify", &body)
                    .await
                    .expect("API request");
                assert_eq!(r.status, 200, "API answered {}: {}", r.status, r.text);
                if r.text.contains("\"accept\"") {
                    self.figures.accepted += 1;
                }
            }
        }
    }

    fn stop(mut self) -> (u64, Figures) {
        self.figures.rss = self.gateway.rss();
        self.gateway.stop();
        let f = &mut self.figures;
        f.lookup = take(&mut self.staff.latencies);
        f.login = take(&mut self.phone.latencies);
        f.api = take(&mut self.caller.latencies);
        (self.n, self.figures)
    }
}

/// The bank of `n` customers and tokens, all bound, with the bench's staff member: built once.
pub fn bank(n: u64) -> (PathBuf, PathBuf) {
    let dir = data::root().join(format!("million-{n}"));
    let done = dir.join("complete");
    let key = dir.join("master.key");
    if !done.exists() {
        let began = Instant::now();
        data::build_bank(&dir, n, n);
        let store = data::reopen(&dir, &key);
        let staff = keitai_gateway::branch::procedures::Staff {
            staff_id: STAFF.0.into(),
            name: "試験一郎".into(),
            branch_code: "001".into(),
            role: keitai_gateway::branch::procedures::Role::Clerk,
            password_hash: keitai_gateway::password::hash(STAFF.1).expect("hash"),
            disabled: false,
            must_change: false,
            sign_in_fails: 0,
            last_attempt: 0,
        };
        keitai_gateway::branch::procedures::staff::put_staff(
            &store,
            &[staff],
            keitai_gateway::clock::now_unix(),
        )
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
