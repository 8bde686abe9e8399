//! Two gateways on one PostgreSQL database (`BENCH_ONLY=postgres`, or part of the full run):
//! OTP API accepted checks/s with 64 callers spread over both, and 利用開始 flows/s with 64
//! phones spread over both, p50/p99. The cluster is a throw-away one (the tests' harness) with
//! `fsync=on` and `synchronous_commit=on`: every accepted check is on disk before its answer,
//! and the run checks afterwards that the database holds one `otp_ok` record per acceptance,
//! and that the audit chain both gateways wrote verifies.
//! The CPU time the gateways and PostgreSQL spend per accepted check is reported too: on a
//! shared machine it moves far less with the load than checks/s do.

#[path = "../../src/store/pg/harness.rs"]
pub mod harness;

use crate::child::{cli, Gateway};
use crate::cpu::{cpu_ticks, postmaster_pid, ticks_per_second};
use crate::phone::{Phone, AU, FOMA, SOFTBANK};
use crate::report::{Latencies, Table};
use crate::{data, flows, otp};
use keitai_gateway::seal::Sealer;
use keitai_gateway::store::Store;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CALLERS: u64 = 64;
const TARGET: f64 = 3000.0;

pub async fn run(customers: u64, load: Duration, table: &mut Table) {
    crate::step("PostgreSQL: a throw-away cluster (fsync on), two gateways");
    let cluster = harness::Cluster::start_with(true);
    let url = cluster.database("bench");
    let dir = data::root().join("postgres");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench dir");
    let key = dir.join("master.key");
    let sealer = Sealer::create(&key).expect("key file");
    // Customers 0..half hold tokens (API checks); the rest register theirs (flows).
    let half = customers / 2;
    {
        let store = Store::open_postgres(&url, sealer).expect("open PostgreSQL");
        data::fill(&store, customers, half);
    }
    let out = cli(
        &["api-key", "add", "bench", "--database", &url, "--key-file"],
        &[&key],
    );
    let api_key = out.split_whitespace().last().unwrap_or_default().to_owned();
    let gateways: Vec<Gateway> = ["a", "b"]
        .iter()
        .map(|name| {
            let d = dir.join(name);
            std::fs::create_dir_all(&d).expect("gateway dir");
            Gateway::start_with(&d, &key, &["--database", &url])
        })
        .collect();
    let addrs: Vec<_> = gateways.iter().map(|g| g.addr).collect();

    crate::step("PostgreSQL: OTP API, 64 callers over two gateways");
    let postmaster = postmaster_pid(cluster.port).unwrap_or(0);
    let gateway_ticks = || gateways.iter().map(|g| cpu_ticks(g.pid())).sum::<u64>();
    let before = (gateway_ticks(), cpu_ticks(postmaster));
    let (rate, mut lat, accepted) =
        otp::verify_load(&addrs, &format!("Bearer {api_key}"), 0..half, load).await;
    let per_check = |ticks: u64| ticks as f64 / ticks_per_second() * 1e3 / accepted.max(1) as f64;
    let cpu = (
        per_check(gateway_ticks().saturating_sub(before.0)),
        per_check(cpu_ticks(postmaster).saturating_sub(before.1)),
    );
    let stored: u64 = cluster
        .sql(
            "bench",
            "SELECT count(*) FROM audit WHERE body->>'event' = 'otp_ok'",
        )
        .parse()
        .unwrap_or(0);
    table.check(
        "PostgreSQL (2 gateways)",
        format!("OTP API accepted checks/s, {CALLERS} callers over 2 gateways, fsync on"),
        format!("{rate:.0}/s"),
        format!("≥ {TARGET:.0}/s"),
        rate >= TARGET,
    );
    table.add("PostgreSQL (2 gateways)", "OTP API latency", lat.p50_p99());
    table.add(
        "PostgreSQL (2 gateways)",
        "CPU per accepted check, user + system: both gateways + PostgreSQL",
        format!("{:.2} + {:.2} ms", cpu.0, cpu.1),
    );
    table.check(
        "PostgreSQL (2 gateways)",
        "accepted checks found committed (otp_ok records)",
        format!("{stored} of {accepted}"),
        "all",
        stored == accepted,
    );

    crate::step("PostgreSQL: 利用開始 flows, 64 phones over two gateways");
    let (flows, mut lat) = flow_load(&addrs, half, customers, load).await;
    table.add(
        "PostgreSQL (2 gateways)",
        format!("利用開始 flows/s, {CALLERS} phones over 2 gateways"),
        format!("{flows:.1}/s"),
    );
    table.add(
        "PostgreSQL (2 gateways)",
        "利用開始 latency per request",
        lat.p50_p99(),
    );
    drop(gateways);
    // Both loads wrote one chain from two gateways, their batches interleaved: it must verify.
    let chain = Sealer::load(&key)
        .ok()
        .and_then(|sealer| Store::open_postgres(&url, sealer).ok())
        .map(|store| store.verify_audit());
    let (shown, whole) = match chain {
        Some(Ok(Ok(n))) => (format!("{n} records, whole"), true),
        Some(Ok(Err(at))) => (format!("broken at record {at}"), false),
        Some(Err(e)) => (format!("not read: {e}"), false),
        None => ("not opened".to_owned(), false),
    };
    table.check(
        "PostgreSQL (2 gateways)",
        "audit chain after both loads (audit --verify)",
        shown,
        "whole",
        whole,
    );
    drop(cluster);
}

/// `customers import` of an `n`-customer export into an empty PostgreSQL database (durable
/// cluster): its time and the command's own peak RSS (rows are staged and applied in
/// batches, so memory stays bounded whatever the file's size).
pub fn customers_import(n: u64, table: &mut Table) {
    crate::step(&format!("PostgreSQL: importing a {n}-customer export"));
    let cluster = harness::Cluster::start_with(true);
    let url = cluster.database("import");
    let dir = data::root().join("postgres-import");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench dir");
    let key = dir.join("master.key");
    Sealer::create(&key).expect("key file");
    let csv = data::customers_csv(n);
    let (took, peak, out) = crate::admin::import_customers_postgres(&csv, &url, &key);
    assert!(
        out.contains(&format!("{n} added")),
        "import did not add every customer: {out}"
    );
    let _ = std::fs::remove_file(&csv);
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!(
        "bench: PostgreSQL customers import of {n} took {:.1} s, peak RSS {}",
        took.as_secs_f64(),
        crate::report::mb(peak)
    );
    table.add(
        "PostgreSQL",
        format!("customers import, {n}-customer export, seconds"),
        format!("{:.1} s", took.as_secs_f64()),
    );
    table.check(
        "PostgreSQL",
        format!("customers import peak RSS (the command's), {n}-customer export"),
        crate::report::mb(peak),
        "≤ 256 MB",
        peak <= 256 * 1024 * 1024,
    );
    drop(cluster);
}

/// 64 phones, half on each gateway, registering customers `from..to`'s tokens.
async fn flow_load(
    addrs: &[std::net::SocketAddr],
    from: u64,
    to: u64,
    run: Duration,
) -> (f64, Latencies) {
    let next = Arc::new(AtomicU64::new(from));
    let stop = Arc::new(AtomicBool::new(false));
    let began = Instant::now();
    let mut tasks = Vec::new();
    for k in 0..CALLERS {
        let (next, stop) = (next.clone(), stop.clone());
        let addr = addrs[(k % 2) as usize];
        let ua = [FOMA, AU, SOFTBANK][(k % 3) as usize];
        tasks.push(tokio::spawn(async move {
            let mut phone = Phone::new(addr, ua);
            let mut done = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= to {
                    break;
                }
                flows::start(&mut phone, i, None)
                    .await
                    .unwrap_or_else(|e| panic!("利用開始 of customer {i}: {e}"));
                done += 1;
            }
            (done, phone.latencies)
        }));
    }
    tokio::time::sleep(run).await;
    stop.store(true, Ordering::Relaxed);
    let (mut flows, mut lat) = (0, Latencies::default());
    for t in tasks {
        let (d, l) = t.await.expect("phone task");
        flows += d;
        lat.extend(l);
    }
    (flows as f64 / began.elapsed().as_secs_f64(), lat)
}
