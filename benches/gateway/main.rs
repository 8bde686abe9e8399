//! The benchmark suite: `cargo bench --bench gateway` prints one table (and writes it as
//! markdown to target/bench-report.md). `BENCH_QUICK=1` runs a short smoke version: small
//! banks, 2-second loads. `BENCH_API=0` leaves out the OTP API measurement. `BENCH_ONLY=a,b`
//! runs only the sections named (see [`SECTIONS`]); `BENCH_ONLY=lookup` runs only the branch
//! customer lookup (see `lookup.rs`), `BENCH_ONLY=banks` only the several-banks
//! comparison (see `banks.rs`). `BENCH_PEERS=1` adds privacyIDEA's `/validate/check` under the
//! same load beside the gateway's OTP API (see `peers.rs`; `BENCH_ONLY=peers` runs it alone).
//!
//! Figures never fail the run; correctness does (every flow must succeed, every page must be
//! within its byte budget, every OTP check must be accepted).

mod admin;
mod banks;
mod child;
mod cpu;
mod data;
mod flood;
mod flows;
mod loaded;
mod lookup;
mod million;
mod otp;
mod peers;
mod perreq;
mod phone;
mod postgres;
mod report;
mod wrk;

use child::Gateway;
use phone::{Phone, AU, FOMA, SOFTBANK};
use report::{air_time, bytes, mb, Latencies, Table};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How big and how long.
struct Sizes {
    quick: bool,
    /// Customers (and tokens) of the serving bank.
    customers: u64,
    live_sessions: u64,
    /// Customers and tokens of the start-up bank, tokens of the imported CSV.
    big: u64,
    load: Duration,
}

/// What `BENCH_ONLY` may name: bytes on the air, page throughput (wrk), per-request counts
/// (callgrind), 利用開始 flows (with the pages under that load), live sessions, OTP checks,
/// start-up and import, the branch customer lookup (store, in process), the bank of a million,
/// `customers import` of a big export, `import-tokens` of a big encrypted PSKC file, the several
/// banks, PostgreSQL, `customers import` of the big export into PostgreSQL, and privacyIDEA side
/// by side (`peers`: only when named or `BENCH_PEERS=1`).
const SECTIONS: [&str; 17] = [
    "air",
    "throughput",
    "perreq",
    "flows",
    "sessions",
    "otp",
    "scale",
    "lookup",
    "million",
    "flood",
    "import",
    "customers",
    "pskc",
    "banks",
    "postgres",
    "pgimport",
    "peers",
];

/// Whether `section` is to run (all of them unless `BENCH_ONLY` names some).
fn wanted(section: &str) -> bool {
    match std::env::var("BENCH_ONLY") {
        Ok(only) if !only.trim().is_empty() => only.split(',').any(|s| s.trim() == section),
        _ => true,
    }
}

/// Interleaved wrk rounds per server for the page throughput; the median counts.
const ROUNDS: usize = 5;

const PAGE_BUDGET: usize = 2048;
const START_FLOW_BUDGET: u64 = 6 * 1024;
const PHONES: u64 = 64;

fn main() {
    if let Ok(body) = std::env::var(perreq::BARE_SERVER) {
        return perreq::bare_server_main(&body);
    }
    if let Ok(only) = std::env::var("BENCH_ONLY") {
        for s in only.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            assert!(
                SECTIONS.contains(&s),
                "BENCH_ONLY: no section {s:?}; sections: {SECTIONS:?}"
            );
        }
    }
    let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| v == "1");
    let sizes = if quick {
        Sizes {
            quick,
            customers: 10_000,
            live_sessions: 500,
            big: 100_000,
            load: Duration::from_secs(2),
        }
    } else {
        Sizes {
            quick,
            customers: 100_000,
            live_sessions: 10_000,
            big: 1_000_000,
            load: Duration::from_secs(10),
        }
    };
    if wanted("throughput") || wanted("flows") {
        wrk::ensure();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut table = Table::default();
    runtime.block_on(run(&sizes, &mut table));
    let cores = cores();
    let header = format!(
        "keitai-gateway benchmarks ({}; {cores} cores{})",
        machine(),
        if sizes.quick {
            "; BENCH_QUICK smoke run: small banks, 2 s loads"
        } else {
            ""
        }
    );
    println!("\n{}", table.text(&header));
    let path = data::repo().join("target/bench-report.md");
    std::fs::write(&path, table.markdown(&format!("**{header}**"))).expect("write report");
    println!("written to {}", path.display());
}

fn machine() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn rss_note(gateway: &Gateway) {
    let (peak, now) = gateway.rss();
    eprintln!("bench: gateway RSS {} (peak {})", mb(now), mb(peak));
}

fn step(what: &str) {
    eprintln!("bench: {what}");
}

async fn run(sizes: &Sizes, table: &mut Table) {
    if ["air", "throughput", "perreq", "flows", "flood", "sessions"]
        .iter()
        .any(|s| wanted(s))
    {
        serving(sizes, table).await;
    }
    if wanted("otp") {
        otp_checks(sizes, table).await;
    }
    if wanted("scale") {
        scale(sizes, table);
    }
    if wanted("lookup") {
        lookup::run(sizes.big, sizes.load, table);
    }
    if wanted("million") {
        let (small, big) = if sizes.quick {
            (10_000, 100_000)
        } else {
            (100_000, 1_000_000)
        };
        let (samples, budget) = if sizes.quick {
            (50, Duration::from_secs(3))
        } else {
            (300, Duration::from_secs(10))
        };
        million::run(table, small, big, samples, budget).await;
    }
    if wanted("import") {
        imports(sizes, table).await;
    }
    if wanted("customers") {
        customers_import(sizes, table);
    }
    if wanted("pskc") {
        pskc_import(sizes, table);
    }
    if wanted("banks") {
        banks::run(sizes.customers, sizes.load, table).await;
    }
    if wanted("postgres") {
        // A bank of its own on PostgreSQL: the serving bank's size when run alone.
        let alone = std::env::var("BENCH_ONLY").is_ok_and(|v| v.trim() == "postgres");
        let customers = if alone {
            sizes.customers
        } else {
            sizes.customers.min(20_000)
        };
        postgres::run(customers, sizes.load, table).await;
    }
    if wanted("pgimport") {
        // A million rows take PostgreSQL about four minutes to apply here: the full run imports
        // a fifth of that (its memory bound shows alike), `BENCH_ONLY=pgimport` all of them.
        let alone = std::env::var("BENCH_ONLY").is_ok_and(|v| v.trim() == "pgimport");
        let rows = if alone { sizes.big } else { sizes.big / 5 };
        postgres::customers_import(rows, table);
    }
    if peers::wanted() {
        // Enough tokens that no caller runs out within the load (two checks a token).
        let (tokens, peer_tokens) = if sizes.quick {
            (10_000, 512)
        } else {
            (50_000, 1_152)
        };
        peers::run(tokens, peer_tokens, sizes.load, table).await;
    }
}

/// The machine's cores.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The sections served by one gateway on a bank of `sizes.customers`.
async fn serving(sizes: &Sizes, table: &mut Table) {
    step(&format!(
        "building a bank of {} customers and tokens",
        sizes.customers
    ));
    let bank_dir = data::root().join("serving");
    let key = data::build_bank(&bank_dir, sizes.customers, 0);
    let gateway = Gateway::start(&bank_dir, &key);
    let addr = gateway.addr;

    if wanted("air") {
        step("bytes on the air");
        bytes_on_the_air(addr, sizes.customers, table).await;
    }
    // Customers 0..3 are used by the walks above; the last three tokens too.
    let next = Arc::new(AtomicU64::new(3));
    let last_free = sizes.customers - 3;

    let top = Phone::new(addr, FOMA).get("/").await.expect("top page");
    let mut unloaded = None;
    if wanted("throughput") {
        rss_note(&gateway);
        unloaded = Some(page_throughput(addr, &top.body, sizes, table));
    }
    if wanted("perreq") {
        per_request(&top.body, table);
    }

    // What the gateway can hash, for the flood's rate (measured by the flows when they run).
    let mut hash_rate = None;
    if wanted("flows") {
        rss_note(&gateway);
        // Measured right before the flows it limits, the gateway idle.
        step("argon2 verifications on all cores");
        let argon2 = argon2_limit(sizes.load);
        table.add(
            "利用開始 flows",
            "argon2 verifications/s, all cores, gateway parameters",
            format!("{argon2:.1}/s"),
        );
        step("利用開始 flows, 64 phones");
        let (flows, mut lat) = flow_load(addr, next.clone(), last_free, sizes.load, None).await;
        let limit = argon2 / 2.0;
        // The flows hash too: on a busy machine they show a higher rate than the short argon2
        // measurement, and the flood should be 10× what the gateway can really hash.
        hash_rate = Some(argon2.max(2.0 * flows));
        table.add(
            "利用開始 flows",
            format!(
                "complete flows/s, {PHONES} phones, {} customers",
                sizes.customers
            ),
            format!("{flows:.1}/s"),
        );
        table.add("利用開始 flows", "latency per request", lat.p50_p99());
        table.check(
            "利用開始 flows",
            "flows/s ÷ argon2 limit (argon2/s ÷ 2: a flow checks 2 passwords)",
            format!("{:.2} (limit {limit:.1}/s)", flows / limit),
            "≥ 0.85",
            flows / limit >= 0.85,
        );

        rss_note(&gateway);
        step("pages that need no password check while 利用開始 flows saturate the checks");
        let (mut pages, mut flow_lat, rate) =
            loaded::pages_during_flows(addr, &next, last_free, sizes.load).await;
        table.check(
            "利用開始 flows",
            format!(
                "GET /help and / during flows ({} requests by 3 phones; flows {rate:.1}/s)",
                pages.len()
            ),
            pages.p50_p99(),
            "p99 < 50 ms",
            pages.quantile(0.99) < 50.0,
        );
        table.add(
            "利用開始 flows",
            "their flows' requests meanwhile (each waits for its password check)",
            flow_lat.p50_p99(),
        );

        if let Some(unloaded) = unloaded {
            rss_note(&gateway);
            step("top page while 利用開始 flows saturate the password checks");
            let (loaded_flows, _, loaded) =
                flows_with_wrk(addr, &next, last_free, sizes.load).await;
            table.check(
                "利用開始 flows",
                format!(
                    "GET / during flows ({loaded:.0} req/s, flows {loaded_flows:.1}/s) ÷ unloaded"
                ),
                format!("{:.2}", loaded / unloaded),
                "≥ 0.50",
                loaded / unloaded >= 0.5,
            );
        }
    }

    if wanted("flood") {
        rss_note(&gateway);
        step("a customer's login while one client floods the password checks");
        let first = next.fetch_add(1000 + 2000, Ordering::Relaxed);
        let rate = 10.0 * hash_rate.unwrap_or_else(|| argon2_limit(sizes.load));
        let f = flood::run(
            addr,
            rate,
            first,
            1000,
            sizes.load,
            data::contract_id,
            data::LOGIN_PASSWORD,
        )
        .await;
        table.add(
            "password-check flood",
            format!(
                "one client sends logins at 10× the argon2 limit ({:.0}/s sent, half hung up at once; right passwords, so each costs a hash)",
                f.rate
            ),
            format!(
                "answered: {} checked, {} throttled, {} other",
                f.flood_checked, f.flood_throttled, f.flood_busy
            ),
        );
        table.check(
            "password-check flood",
            format!(
                "another client's logins meanwhile ({}, one after another), p50 {:.0} ms",
                f.logins.len(),
                f.p50().as_secs_f64() * 1000.0
            ),
            format!("p99 {:.0} ms", f.p99().as_secs_f64() * 1000.0),
            "p99 ≤ 2 s",
            f.p99() <= Duration::from_secs(2),
        );
        // The flood's last checks drain before the next measurement.
        tokio::time::sleep(Duration::from_secs(2)).await;
    }

    if wanted("sessions") {
        rss_note(&gateway);
        step(&format!("{} live sessions", sizes.live_sessions));
        let live = live_sessions(addr, &next, last_free, sizes.live_sessions).await;
        let (peak, now) = gateway.rss();
        table.check(
            "memory and scale",
            format!(
                "peak RSS serving {} customers, {live} live sessions (now {})",
                sizes.customers,
                mb(now)
            ),
            mb(peak),
            "≤ 150 MB",
            peak <= 150 * 1024 * 1024,
        );
    }
    gateway.stop();
}

/// `GET /` on the gateway, on bare hyper with the same body, and on bare hyper with the
/// header-read timer hyper arms per request (what the gateway did before its deadline sweep):
/// [`ROUNDS`] interleaved wrk rounds each, medians. Returns the gateway's.
fn page_throughput(addr: SocketAddr, body: &[u8], sizes: &Sizes, table: &mut Table) -> f64 {
    step("page throughput (wrk), gateway then bare hyper");
    // Interleaved rounds, medians: on a small shared machine one run of each varies by ±15%,
    // and interleaving spreads any drift over all three servers alike.
    let secs = (sizes.load.as_secs() / 2).max(1);
    let bare_addr = wrk::bare_hyper(body.to_vec(), false);
    let timed_addr = wrk::bare_hyper(body.to_vec(), true);
    let mut rounds = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..ROUNDS {
        for (i, a) in [addr, bare_addr, timed_addr].into_iter().enumerate() {
            rounds[i].push(wrk::run(a, secs, FOMA));
        }
    }
    let spread = |r: &[f64], decimals: usize| {
        let (lo, hi) = r
            .iter()
            .fold((f64::MAX, 0f64), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        format!("{lo:.decimals$}–{hi:.decimals$}")
    };
    let ranges = rounds.each_ref().map(|r| spread(r, 0));
    let ratios: Vec<f64> = rounds[0]
        .iter()
        .zip(&rounds[1])
        .map(|(g, b)| g / b)
        .collect();
    let [unloaded, bare, timed] = rounds.map(median);
    table.add(
        "page throughput",
        format!(
            "GET / gateway ({} B body), wrk 2 threads 64 connections {secs} s, median of {ROUNDS}",
            body.len()
        ),
        format!("{unloaded:.0} req/s (rounds {})", ranges[0]),
    );
    table.add(
        "page throughput",
        "bare hyper 1, same body",
        format!("{bare:.0} req/s (rounds {})", ranges[1]),
    );
    table.check(
        "page throughput",
        "gateway / bare hyper (ratio of medians; per round: median, range)",
        format!(
            "{:.2} ({:.2}, {})",
            unloaded / bare,
            median(ratios.clone()),
            spread(&ratios, 2)
        ),
        "≥ 0.90",
        unloaded / bare >= 0.9,
    );
    table.add(
        "page throughput",
        "bare hyper with hyper's header-read timer (one per request; the gateway's deadline sweep replaced it)",
        format!("{timed:.0} req/s ({:.2} of bare)", timed / bare),
    );
    unloaded
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Instructions and allocations per `GET /` (callgrind), gateway and bare hyper.
fn per_request(body: &[u8], table: &mut Table) {
    if !perreq::available() {
        table.note("per-request counts not measured: valgrind is not installed");
        return;
    }
    step("instructions and allocations per request (callgrind), gateway then bare hyper");
    // A small bank of its own: the serving gateway holds its database's lock.
    let dir = data::root().join("perreq");
    let key = data::build_bank(&dir, 10, 0);
    let [gateway, bare, timed] = perreq::measure(&dir, &dir, &key, body, FOMA);
    let section = "page throughput";
    table.add(
        section,
        "GET / per request, gateway: user-space instructions, heap allocations (callgrind)",
        format!(
            "{:.0} instructions, {:.1} allocations",
            gateway.instructions, gateway.allocations
        ),
    );
    table.add(
        section,
        "GET / per request, bare hyper with the same body",
        format!(
            "{:.0} instructions, {:.1} allocations",
            bare.instructions, bare.allocations
        ),
    );
    table.add(
        section,
        "GET / per request, bare hyper with hyper's header-read timer",
        format!(
            "{:.0} instructions, {:.1} allocations",
            timed.instructions, timed.allocations
        ),
    );
    table.add(
        section,
        "gateway's extra per request over bare hyper",
        format!(
            "{:+.0} instructions ({:.2}×), {:+.1} allocations",
            gateway.instructions - bare.instructions,
            gateway.instructions / bare.instructions,
            // Rounded first, so equal counts print as +0.0 (a -0.00001 printed "+-0.0").
            ((gateway.allocations - bare.allocations) * 10.0).round() / 10.0 + 0.0
        ),
    );
}

async fn otp_checks(sizes: &Sizes, table: &mut Table) {
    step("OTP checks");
    let otp_dir = data::root().join("otp");
    let otp_key = data::build_bank(&otp_dir, sizes.customers, sizes.customers);
    let half = sizes.customers / 2;
    let (rate, mut lat) = otp::in_process(&otp_dir, &otp_key, half, sizes.load).await;
    table.check(
        "OTP checks",
        "in process: ledger::check_otp, 64 tasks, durable (group commit)",
        format!("{rate:.0}/s, {}", lat.p50_p99()),
        "≥ 5000/s",
        rate >= 5000.0,
    );
    if std::env::var("BENCH_API").is_ok_and(|v| v == "0") {
        table.note("OTP API not measured (BENCH_API=0)");
    } else {
        match otp::api(&otp_dir, &otp_key, half, sizes.customers, sizes.load).await {
            otp::Api::Absent(why) => table.note(format!("OTP API not measured: {why}")),
            otp::Api::Measured {
                rate,
                mut latencies,
            } => table.check(
                "OTP checks",
                "API: POST /api/v1/otp/verify accepted/s, 64 callers",
                format!("{rate:.0}/s, {}", latencies.p50_p99()),
                "≥ 5000/s",
                rate >= 5000.0,
            ),
        }
    }
}

/// Start-up with a big bank, and a big import.
fn scale(sizes: &Sizes, table: &mut Table) {
    step(&format!("start-up with {} customers and tokens", sizes.big));
    let (big_dir, big_key) = data::cached_bank(&format!("big-{}", sizes.big), sizes.big);
    let mut times: Vec<Duration> = (0..3)
        .map(|_| {
            let g = Gateway::start(&big_dir, &big_key);
            let t = g.startup;
            g.stop();
            t
        })
        .collect();
    times.sort();
    let startup = times[1];
    table.check(
        "memory and scale",
        format!(
            "start-up with {} customers and tokens (median of 3)",
            sizes.big
        ),
        format!("{:.3} s", startup.as_secs_f64()),
        "≤ 1 s",
        startup <= Duration::from_secs(1),
    );
}

/// `import-tokens` of a big CSV alone (time, peak RSS), then an import through the admin
/// socket of a serving gateway (the top page's latency meanwhile).
async fn imports(sizes: &Sizes, table: &mut Table) {
    step(&format!("importing a {}-token CSV", sizes.big));
    let csv = data::inventory_csv(sizes.big);
    let import_dir = data::root().join("import");
    if import_dir.exists() {
        std::fs::remove_dir_all(&import_dir).expect("clean import dir");
    }
    std::fs::create_dir_all(&import_dir).expect("import dir");
    let import_key = import_dir.join("master.key");
    keitai_gateway::seal::Sealer::create(&import_key).expect("key");
    let (took, peak, out) = admin::import(&csv, &import_dir, &import_key);
    assert!(
        out.contains(&format!("loaded {} tokens", sizes.big)),
        "import did not load every token: {out}"
    );
    table.check(
        "memory and scale",
        format!("import-tokens, {}-token CSV", sizes.big),
        format!("{:.1} s", took.as_secs_f64()),
        "≤ 60 s",
        took <= Duration::from_secs(60),
    );
    table.check(
        "memory and scale",
        format!("import-tokens peak RSS, {}-token CSV", sizes.big),
        mb(peak),
        "≤ 256 MB",
        peak <= 256 * 1024 * 1024,
    );

    let while_serving = if sizes.quick { 20_000 } else { 200_000 };
    step(&format!(
        "top page during an import of {while_serving} tokens through the admin socket"
    ));
    admin::import_while_serving(while_serving, sizes.load, table).await;
}

/// `import-tokens` of an encrypted PSKC file of `sizes.big` keys into an empty database: time
/// and the command's peak RSS (the file and the database are removed after).
fn pskc_import(sizes: &Sizes, table: &mut Table) {
    step(&format!(
        "importing a {}-key encrypted PSKC file",
        sizes.big
    ));
    let pskc = data::pskc_file(sizes.big);
    let dir = data::root().join("pskc-import");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("clean pskc dir");
    }
    std::fs::create_dir_all(&dir).expect("pskc dir");
    let key = dir.join("master.key");
    keitai_gateway::seal::Sealer::create(&key).expect("key");
    let psk = dir.join("psk.hex");
    std::fs::write(&psk, data::PSKC_PSK_HEX).expect("psk");
    let (took, peak, out) = admin::import_pskc(&pskc, &psk, &dir, &key);
    let size = std::fs::metadata(&pskc).map_or(0, |m| m.len());
    let _ = std::fs::remove_file(&pskc);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.contains(&format!("loaded {} tokens", sizes.big)),
        "import did not load every key: {out}"
    );
    eprintln!(
        "bench: PSKC import of {} keys ({}) took {:.1} s, peak RSS {}",
        sizes.big,
        mb(size),
        took.as_secs_f64(),
        mb(peak)
    );
    table.add(
        "memory and scale",
        format!(
            "import-tokens, {}-key encrypted PSKC ({})",
            sizes.big,
            mb(size)
        ),
        format!("{:.1} s", took.as_secs_f64()),
    );
    table.check(
        "memory and scale",
        format!("import-tokens peak RSS, {}-key encrypted PSKC", sizes.big),
        mb(peak),
        "≤ 256 MB",
        peak <= 256 * 1024 * 1024,
    );
}

/// `customers import` of the host's export of `sizes.big` customers into an empty database:
/// time and the command's peak RSS (the file and the database are removed after).
fn customers_import(sizes: &Sizes, table: &mut Table) {
    step(&format!("importing a {}-customer export", sizes.big));
    let csv = data::customers_csv(sizes.big);
    let dir = data::root().join("customers-import");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("clean customers dir");
    }
    std::fs::create_dir_all(&dir).expect("customers dir");
    let key = dir.join("master.key");
    keitai_gateway::seal::Sealer::create(&key).expect("key");
    let (took, peak, out) = admin::import_customers(&csv, &dir, &key);
    assert!(
        out.contains(&format!("{} added", sizes.big)),
        "import did not add every customer: {out}"
    );
    let size = std::fs::metadata(&csv).map_or(0, |m| m.len());
    let _ = std::fs::remove_file(&csv);
    let _ = std::fs::remove_dir_all(&dir);
    table.add(
        "memory and scale",
        format!(
            "customers import, {}-customer export ({}), seconds",
            sizes.big,
            mb(size)
        ),
        format!("{:.1} s", took.as_secs_f64()),
    );
    eprintln!(
        "bench: customers import of {} took {:.1} s, peak RSS {}",
        sizes.big,
        took.as_secs_f64(),
        mb(peak)
    );
    table.check(
        "memory and scale",
        format!("customers import peak RSS, {}-customer export", sizes.big),
        mb(peak),
        "≤ 256 MB",
        peak <= 256 * 1024 * 1024,
    );
}

/// The subscriber-ID header the carrier adds for phone `k` (the gateway counts password
/// attempts per subscriber; phones without one share a small allowance per carrier).
pub fn subscriber_id(ua: &str, k: u64) -> (String, String) {
    if ua.starts_with("DoCoMo") {
        ("X-DCMGUID".into(), format!("{k:07}"))
    } else if ua.starts_with("KDDI") {
        ("X-UP-SUBNO".into(), format!("{k:014}_ezweb.ne.jp"))
    } else {
        ("X-JPHONE-UID".into(), format!("c{k:015}"))
    }
}

/// argon2 verifications per second with one thread per core, at the gateway's parameters.
fn argon2_limit(run: Duration) -> f64 {
    let phc = keitai_gateway::password::hash(data::LOGIN_PASSWORD).expect("hash");
    let cores = cores();
    let began = Instant::now();
    let total: u64 = std::thread::scope(|s| {
        let workers: Vec<_> = (0..cores)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0u64;
                    while began.elapsed() < run {
                        assert!(keitai_gateway::password::verify(&phc, data::LOGIN_PASSWORD));
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("argon2 thread"))
            .sum()
    });
    total as f64 / began.elapsed().as_secs_f64()
}

/// Every page of 利用開始, 交換, login, help, 利用中止 and the 法人 administrator's for a DoCoMo,
/// au and SoftBank phone;
/// the whole 利用開始 and 交換 flows in bytes (requests and responses, headers included).
async fn bytes_on_the_air(addr: SocketAddr, customers: u64, table: &mut Table) {
    let carriers = [("DoCoMo", FOMA), ("au", AU), ("SoftBank", SOFTBANK)];
    let mut sizes: Vec<(&'static str, Vec<usize>)> = Vec::new();
    let mut flows_bytes: Vec<(&str, u64, u64)> = Vec::new();
    for (c, (name, ua)) in carriers.iter().enumerate() {
        let c = c as u64;
        let mut phone = Phone::new(addr, ua);
        let mut pages = Vec::new();
        flows::start(&mut phone, c, Some(&mut pages))
            .await
            .unwrap_or_else(|e| panic!("{name} 利用開始: {e}"));
        let start = phone.sent + phone.received;
        phone.reset_counts();
        let new = customers - 1 - c;
        flows::exchange(&mut phone, c, c, new, Some(&mut pages))
            .await
            .unwrap_or_else(|e| panic!("{name} 交換: {e}"));
        let exchange = phone.sent + phone.received;
        flows::login_and_others(&mut phone, c, new, &mut pages)
            .await
            .unwrap_or_else(|e| panic!("{name} login: {e}"));
        flows::business(&mut phone, &mut pages)
            .await
            .unwrap_or_else(|e| panic!("{name} 法人: {e}"));
        flows_bytes.push((name, start, exchange));
        for (page, resp) in pages {
            assert!(
                resp.body.len() <= PAGE_BUDGET,
                "{name}: page {page} is {} bytes, over the {PAGE_BUDGET}-byte budget:\n{}",
                resp.body.len(),
                resp.text
            );
            match sizes.iter_mut().find(|(p, _)| *p == page) {
                Some((_, v)) => v.push(resp.body.len()),
                None => sizes.push((page, vec![resp.body.len()])),
            }
        }
    }
    for (page, v) in &sizes {
        let shown: Vec<String> = v.iter().map(ToString::to_string).collect();
        let largest = v.iter().copied().max().unwrap_or(0);
        table.check(
            "bytes on the air",
            format!("page body: {page} (DoCoMo / au / SoftBank)"),
            format!("{} B", shown.join(" / ")),
            format!("≤ {PAGE_BUDGET} B"),
            largest <= PAGE_BUDGET,
        );
    }
    for (name, start, exchange) in flows_bytes {
        assert!(
            start <= START_FLOW_BUDGET,
            "{name}: the 利用開始 flow took {start} bytes, over {START_FLOW_BUDGET}"
        );
        table.check(
            "bytes on the air",
            format!("利用開始 flow, 4 requests, {name}"),
            format!(
                "{} ({} at 9.6 kbps, {} at 28.8 kbps)",
                bytes(start),
                air_time(start, 9600.0),
                air_time(start, 28800.0)
            ),
            "≤ 6144 B",
            start <= START_FLOW_BUDGET,
        );
        table.add(
            "bytes on the air",
            format!("交換 flow, 5 requests, {name}"),
            format!(
                "{} ({} at 9.6 kbps, {} at 28.8 kbps)",
                bytes(exchange),
                air_time(exchange, 9600.0),
                air_time(exchange, 28800.0)
            ),
        );
    }
}

/// 64 phones doing whole 利用開始 flows (customers from `next`) for `run`, or until `stop`
/// when given. Returns flows/s and the latency of every request.
async fn flow_load(
    addr: SocketAddr,
    next: Arc<AtomicU64>,
    last: u64,
    run: Duration,
    stop: Option<Arc<AtomicBool>>,
) -> (f64, Latencies) {
    let stop = stop.unwrap_or_else(|| {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(run).await;
            s.store(true, Ordering::Relaxed);
        });
        stop
    });
    let began = Instant::now();
    let mut tasks = Vec::new();
    for k in 0..PHONES {
        let next = next.clone();
        let stop = stop.clone();
        let ua = [FOMA, AU, SOFTBANK][(k % 3) as usize];
        tasks.push(tokio::spawn(async move {
            let mut phone = Phone::new(addr, ua);
            phone.phone.headers.push(subscriber_id(ua, k));
            let mut done = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let i = next.fetch_add(1, Ordering::Relaxed);
                assert!(i < last, "the bench bank ran out of customers");
                flows::start(&mut phone, i, None)
                    .await
                    .unwrap_or_else(|e| panic!("利用開始 of customer {i}: {e}"));
                done += 1;
            }
            (done, phone.latencies)
        }));
    }
    let mut flows = 0;
    let mut lat = Latencies::default();
    for t in tasks {
        let (d, l) = t.await.expect("phone task");
        flows += d;
        lat.extend(l);
    }
    (flows as f64 / began.elapsed().as_secs_f64(), lat)
}

/// Flows as in [`flow_load`] while wrk loads the top page: (flows/s, latencies, top page req/s).
async fn flows_with_wrk(
    addr: SocketAddr,
    next: &Arc<AtomicU64>,
    last: u64,
    run: Duration,
) -> (f64, Latencies, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let flows = tokio::spawn(flow_load(addr, next.clone(), last, run, Some(stop.clone())));
    // Let the password checks fill the pool before measuring the page.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let secs = run.as_secs();
    let page = tokio::task::spawn_blocking(move || wrk::run(addr, secs, FOMA))
        .await
        .expect("wrk");
    stop.store(true, Ordering::Relaxed);
    let (f, l) = flows.await.expect("flows");
    (f, l, page)
}

/// Opens `n` sessions (利用開始 step 1 for `n` customers, left at the token form), 64 at a
/// time. Returns how many are live.
async fn live_sessions(addr: SocketAddr, next: &Arc<AtomicU64>, last: u64, n: u64) -> u64 {
    let opened = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for k in 0..PHONES {
        let next = next.clone();
        let opened = opened.clone();
        tasks.push(tokio::spawn(async move {
            let mut phone = Phone::new(addr, FOMA);
            phone.phone.headers.push(subscriber_id(FOMA, k));
            // The credentials form's anti-forgery value is bound to this phone and lasts
            // longer than the run: one fetch serves every post.
            let form = phone.get("/start?guid=ON").await.expect("credentials form");
            let value = form
                .csrf()
                .expect("anti-forgery value on the credentials form");
            while opened.fetch_add(1, Ordering::Relaxed) < n {
                let i = next.fetch_add(1, Ordering::Relaxed);
                assert!(i < last, "the bench bank ran out of customers");
                let id = data::contract_id(i);
                let r = phone
                    .post_form(
                        "/start?guid=ON",
                        &[
                            ("csrf", &value),
                            ("contract_id", &id),
                            ("password", data::LOGIN_PASSWORD),
                        ],
                    )
                    .await
                    .expect("session");
                assert!(
                    r.text.contains("シリアル番号"),
                    "customer {i} got no session:\n{}",
                    r.text
                );
            }
        }));
    }
    for t in tasks {
        t.await.expect("session task");
    }
    n
}
