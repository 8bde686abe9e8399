//! Branch customer lookup: the store reads one branch customer page makes (the customer, their
//! token, receipts, tokens handed out for them, 利用中止 attempts, forms, applications and
//! release requests), timed in process on a small and a big database, printed side by side.
//! Every read is by key or index, so the big database should take no longer per lookup.

use crate::data;
use crate::report::Table;
use keitai_gateway::seal::Sealer;
use keitai_gateway::store::{
    Application, Attempt, CancelForm, Decision, IssueReason, ReceiptKind, Release, ReleaseKind,
    Store, TokenState,
};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const SECTION: &str = "branch customer lookup";

/// The customer looked up: customer 0 holds token 0 and was handed token 1.
fn who() -> String {
    data::contract_id(0)
}

/// A bank of `tokens` customers and tokens with customer 0's branch records, built once and
/// kept between runs (under target/bench-data/).
fn bank(tokens: u64) -> (PathBuf, PathBuf) {
    let dir = data::root().join(format!("lookup-{tokens}"));
    let done = dir.join("complete");
    let key = dir.join("master.key");
    if done.exists() {
        return (dir, key);
    }
    data::build_bank(&dir, tokens, 1);
    let store = data::reopen(&dir, &key);
    let id = who();
    let now = keitai_gateway::clock::now_unix();
    let mut handed = store
        .token(&data::serial(1))
        .expect("read")
        .expect("token 1");
    handed.assigned_to = Some(id.clone());
    let decided = Decision::Approved {
        by: "S0012".into(),
        at: now,
        receipt: None,
    };
    store
        .commit_now(|tx| {
            tx.put_token(&handed)?;
            tx.receipt(ReceiptKind::Registration, &id, &data::serial(0), None, now)?;
            for (n, decision) in [Decision::Received, decided.clone()]
                .into_iter()
                .enumerate()
            {
                tx.put_form(&CancelForm {
                    form_no: format!("F{n:07}"),
                    contract_id: id.clone(),
                    serial: data::serial(0),
                    received_on: "2026-11-30".into(),
                    branch_code: "001".into(),
                    identity_checked: true,
                    recorded_by: "C0011".into(),
                    recorded_at: now,
                    decision: decision.clone(),
                    replacement: None,
                    user_id: None,
                })?;
                tx.put_release(&Release {
                    id: n as u64,
                    contract_id: id.clone(),
                    kind: ReleaseKind::Login,
                    serial: None,
                    note: String::new(),
                    recorded_by: "C0011".into(),
                    branch_code: "001".into(),
                    recorded_at: now,
                    decision,
                })?;
                tx.add_attempt(&Attempt {
                    at: now,
                    contract_id: Some(id.clone()),
                    ..Default::default()
                })?;
            }
            tx.put_application(&Application {
                application_no: "A0000001".into(),
                contract_id: id.clone(),
                serial: handed.serial.clone(),
                reason: IssueReason::New,
                fee_yen: 1100,
                returned_serial: None,
                recorded_by: "C0011".into(),
                branch_code: "001".into(),
                at: now,
            })
        })
        .expect("branch records");
    drop(store);
    std::fs::write(&done, b"").expect("marker");
    (dir, key)
}

/// What the customer page reads; returns how many records, so nothing is optimised away.
fn lookup(store: &Store, id: &str) -> usize {
    let c = store.customer(id).expect("read").expect("customer");
    let token = match &c.token {
        Some(b) => store.token(&b.serial).expect("read"),
        None => None,
    };
    let assigned = store
        .assigned_tokens(id)
        .expect("read")
        .into_iter()
        .filter(|t| t.state == TokenState::Available)
        .count();
    usize::from(token.is_some())
        + assigned
        + store.attempts_of(id).expect("read").len()
        + store.receipts_of(id).expect("read").len()
        + store.forms_of(id).expect("read").len()
        + store.applications_of(id).expect("read").len()
        + store.releases_of(id).expect("read").len()
}

/// Median time of one lookup over about `run`, after a warm-up; the records it found; and the
/// time of one pass over every token, which is what each lookup cost before the indexes.
fn time_lookups(dir: &Path, key: &Path, run: Duration) -> (Duration, usize, Duration) {
    let store = Store::open(&dir.join("db"), Sealer::load(key).expect("key")).expect("store");
    let id = who();
    let found = lookup(&store, &id);
    for _ in 0..100 {
        black_box(lookup(&store, &id));
    }
    let mut times = Vec::new();
    let start = Instant::now();
    while start.elapsed() < run {
        let t = Instant::now();
        black_box(lookup(&store, black_box(&id)));
        times.push(t.elapsed());
    }
    times.sort();
    let t = Instant::now();
    let tokens = store.tokens().filter(Result::is_ok).count();
    let scan = t.elapsed();
    black_box(tokens);
    (times[times.len() / 2], found, scan)
}

pub fn run(big: u64, run: Duration, table: &mut Table) {
    let mut figures = Vec::new();
    for tokens in [100, big] {
        crate::step(&format!("branch customer lookup, {tokens}-token database"));
        let (dir, key) = bank(tokens);
        figures.push(time_lookups(&dir, &key, run));
    }
    let [(small, found_small, scan_small), (large, found_large, scan_large)] =
        [figures[0], figures[1]];
    assert_eq!(found_small, found_large, "both banks hold the same page");
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let ratio = us(large) / us(small);
    table.check(
        SECTION,
        format!("median per lookup ({found_small} records), 100 tokens / {big} tokens"),
        format!("{:.1} µs / {:.1} µs ({ratio:.2}×)", us(small), us(large)),
        "≤ 2× (indexed: no whole-tree scans)",
        ratio <= 2.0,
    );
    table.add(
        SECTION,
        format!("for comparison, one pass over every token (each lookup before the indexes), 100 / {big} tokens"),
        format!("{:.1} µs / {:.0} ms", us(scan_small), scan_large.as_secs_f64() * 1e3),
    );
}
