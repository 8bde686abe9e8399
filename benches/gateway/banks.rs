//! Several banks in one gateway: 利用開始 flows on a one-bank gateway, then the same load
//! spread over three banks of one gateway (one database), in the same run; the ratio shows
//! what serving several banks costs. `BENCH_ONLY=banks` runs this section alone.

use crate::child::Gateway;
use crate::phone::{Phone, AU, FOMA, SOFTBANK};
use crate::report::Table;
use crate::{data, flows, PHONES};
use keitai_gateway::banks::BankCode;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SECTION: &str = "several banks";
const CODES: [&str; 3] = ["1020", "1021", "1022"];

pub async fn run(customers: u64, load: Duration, table: &mut Table) {
    crate::step("several banks: one bank, then three banks of one gateway");
    let one_dir = data::root().join("banks-one");
    let key = data::build_bank(&one_dir, customers, 0);
    let one = Gateway::start(&one_dir, &key);
    let single = flows_per_second(one.addr, &[""], customers, load).await;
    one.stop();

    let three_dir = data::root().join("banks-three");
    let codes: Vec<BankCode> = CODES.iter().filter_map(|c| BankCode::parse(c)).collect();
    // Each bank a third of the customers: the same database size as the one bank's.
    let per_bank = customers / 3;
    let key = data::build_banks(&three_dir, &codes, per_bank);
    let profiles = profiles(&three_dir);
    let three = Gateway::start_banks(&three_dir, &key, &profiles, &[]);
    let bases: Vec<String> = codes.iter().map(BankCode::prefix).collect();
    let bases: Vec<&str> = bases.iter().map(String::as_str).collect();
    let multi = flows_per_second(three.addr, &bases, per_bank, load).await;
    three.stop();

    let secs = load.as_secs();
    table.add(
        SECTION,
        format!("利用開始 flows, one bank ({customers} customers), {PHONES} phones {secs} s"),
        format!("{single:.1} flows/s"),
    );
    table.add(
        SECTION,
        format!("same, three banks of one gateway ({per_bank} customers each), phones spread"),
        format!("{multi:.1} flows/s"),
    );
    let ratio = multi / single.max(f64::MIN_POSITIVE);
    table.check(
        SECTION,
        "three banks / one bank",
        format!("{ratio:.2}"),
        "≥ 0.90 (no loss)",
        ratio >= 0.90,
    );
}

/// Three bank profiles (the repository's one-bank bank.toml under each code) in `dir/profiles`.
fn profiles(dir: &std::path::Path) -> std::path::PathBuf {
    let profiles = dir.join("profiles");
    std::fs::create_dir_all(profiles.join("banks")).expect("profiles dir");
    let template =
        std::fs::read_to_string(crate::child::one_bank().join("bank.toml")).expect("bank.toml");
    for code in CODES {
        let text = template.replace("bank_code = \"1999\"", &format!("bank_code = \"{code}\""));
        std::fs::write(profiles.join(format!("banks/{code}.toml")), text).expect("profile");
    }
    profiles
}

/// 利用開始 flows/s with `PHONES` phones, phone `k` at bank `bases[k % n]`, each bank's
/// customers taken in turn until `load` is over.
async fn flows_per_second(addr: SocketAddr, bases: &[&str], last: u64, load: Duration) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(load).await;
            stop.store(true, Ordering::Relaxed);
        });
    }
    let next: Vec<Arc<AtomicU64>> = bases.iter().map(|_| Arc::new(AtomicU64::new(0))).collect();
    let began = Instant::now();
    let mut tasks = Vec::new();
    for k in 0..PHONES {
        let bank = (k as usize) % bases.len();
        let base = bases[bank].to_owned();
        let next = next[bank].clone();
        let stop = stop.clone();
        let ua = [FOMA, AU, SOFTBANK][(k % 3) as usize];
        tasks.push(tokio::spawn(async move {
            let mut phone = Phone::new(addr, ua);
            phone.phone.headers.push(crate::subscriber_id(ua, k));
            let mut done = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let i = next.fetch_add(1, Ordering::Relaxed);
                assert!(i < last, "the bench bank ran out of customers");
                flows::start_at(&mut phone, &base, i, None)
                    .await
                    .unwrap_or_else(|e| panic!("利用開始 of customer {i} at {base}/: {e}"));
                done += 1;
            }
            done
        }));
    }
    let mut flows = 0;
    for t in tasks {
        flows += t.await.expect("phone task");
    }
    flows as f64 / began.elapsed().as_secs_f64()
}
