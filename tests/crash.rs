//! Crash safety: the gateway is killed (SIGKILL) again and again during a stream of
//! registrations and exchanges. After each kill the database must hold every receipt a phone
//! saw, no token may be bound to two customers, bindings must agree with token states, and the
//! audit chain must verify.

use crate::support::*;
use keitai_gateway::seal::Sealer;
use keitai_gateway::store::{ReceiptKind, Store, TokenState};
use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

const CUSTOMERS: usize = 24;
const CYCLES: u64 = 5;
const CLIENTS: usize = 4;

fn customer(i: usize) -> (String, String, String) {
    (
        format!("20000000{i:02}"),
        format!("Pw{i}login"),
        format!("Pw{i}move"),
    )
}

fn serials(i: usize) -> (String, String) {
    (format!("CRHW{:08}", 2 * i), format!("CRHW{:08}", 2 * i + 1))
}

/// A bank directory of our own: many customers, two hardware tokens each.
fn write_bank(dir: &Path) -> HashMap<String, keitai_gateway::inventory::Seed> {
    std::fs::create_dir_all(dir.join("demo")).unwrap();
    std::fs::copy(one_bank().join("bank.toml"), dir.join("bank.toml")).unwrap();
    std::fs::copy(carrier_networks(), dir.join("carrier_networks.toml")).unwrap();
    let mut customers = String::from("contract_id,login_password,transfer_password,name\n");
    let mut tokens = String::from("serial,kind,algorithm,digits,period,secret_base32\n");
    for i in 0..CUSTOMERS {
        let (id, login, transfer) = customer(i);
        customers.push_str(&format!("{id},{login},{transfer},客{i}\n"));
        let (a, b) = serials(i);
        for s in [a, b] {
            let secret = format!("crash-test-seed-{s}");
            let b32 = data_encoding::BASE32_NOPAD.encode(secret.as_bytes());
            tokens.push_str(&format!("{s},hardware,SHA1,6,60,{b32}\n"));
        }
    }
    std::fs::write(dir.join("demo/customers.csv"), customers).unwrap();
    std::fs::write(dir.join("demo/tokens.csv"), &tokens).unwrap();
    std::fs::write(
        dir.join("demo/registrations.csv"),
        "contract_id,serial,login_otp\n",
    )
    .unwrap();
    keitai_gateway::inventory::parse(&tokens)
        .unwrap()
        .into_iter()
        .map(|s| (s.serial.clone(), s))
        .collect()
}

#[derive(Debug, Clone)]
struct Seen {
    number: u32,
    kind: ReceiptKind,
    contract_id: String,
    serial: String,
}

/// One customer's journey: 利用開始 with token A, then 交換 to token B. Stops at the first
/// request the dead server does not answer; records each receipt the phone saw.
fn journey(
    addr: std::net::SocketAddr,
    i: usize,
    seeds: &HashMap<String, keitai_gateway::inventory::Seed>,
    seen: &Mutex<Vec<Seen>>,
) -> Option<()> {
    let (id, login, transfer) = customer(i);
    let (a, b) = serials(i);
    let code = |s: &str, ahead: u64| seeds[s].code_at(now() + ahead * 60);
    let mut phone = Phone::new(addr, FOMA);
    let top = phone.try_get("/start")?;
    let form = phone.try_submit(&top, &[("contract_id", &id), ("password", &login)])?;
    let done = phone.try_submit(
        &form,
        &[
            ("serial", &a),
            ("otp", &code(&a, 0)),
            ("login_otp", "0"),
            ("transfer_password", &transfer),
        ],
    )?;
    let number = done.receipt_number().filter(|n| !n.is_empty())?;
    seen.lock().unwrap().push(Seen {
        number: number.parse().ok()?,
        kind: ReceiptKind::Registration,
        contract_id: id.clone(),
        serial: a.clone(),
    });
    let creds = phone.try_get("/exchange")?;
    let step1 = phone.try_submit(&creds, &[("contract_id", &id), ("password", &login)])?;
    let step2 = phone.try_submit(&step1, &[("otp", &code(&a, 1))])?;
    let done = phone.try_submit(&step2, &[("serial", &b), ("otp", &code(&b, 0))])?;
    let number = done.receipt_number().filter(|n| !n.is_empty())?;
    seen.lock().unwrap().push(Seen {
        number: number.parse().ok()?,
        kind: ReceiptKind::Exchange,
        contract_id: id,
        serial: b,
    });
    Some(())
}

fn check_database(data_dir: &Path, seen: &[Seen]) {
    let sealer = Sealer::load(&data_dir.join("master.key")).unwrap();
    let store = Store::open(&data_dir.join("db"), sealer).unwrap();
    for s in seen {
        let r = store.receipt(s.number).unwrap().unwrap_or_else(|| {
            panic!(
                "receipt {} seen by a phone is not in the database",
                s.number
            )
        });
        assert_eq!(
            (r.kind, &r.contract_id, &r.serial),
            (s.kind, &s.contract_id, &s.serial)
        );
    }
    let mut bound: HashMap<String, String> = HashMap::new();
    for c in store.customers() {
        let c = c.unwrap();
        if let Some(b) = c.token {
            if let Some(other) = bound.insert(b.serial.clone(), c.contract_id.clone()) {
                panic!("{} bound to {other} and {}", b.serial, c.contract_id);
            }
            let t = store.token(&b.serial).unwrap().unwrap();
            assert!(
                matches!(&t.state, TokenState::Active { contract_id, .. } if *contract_id == c.contract_id),
                "{} binds {} whose state is {:?}",
                c.contract_id,
                b.serial,
                t.state
            );
        }
    }
    for t in store.tokens() {
        let t = t.unwrap();
        if let TokenState::Active { contract_id, .. } = &t.state {
            assert_eq!(
                bound.get(&t.serial),
                Some(contract_id),
                "{} active but unbound",
                t.serial
            );
        }
    }
    assert!(store.verify_audit().unwrap().is_ok(), "audit chain broken");
}

#[test]
fn sigkill_during_registrations_and_exchanges_loses_nothing_seen() {
    let tmp = tempfile::tempdir().unwrap();
    let bank = tmp.path().join("bank");
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let seeds = write_bank(&bank);
    let queue = Mutex::new((0..CUSTOMERS).collect::<VecDeque<_>>());
    let seen = Mutex::new(Vec::new());
    for cycle in 0..CYCLES {
        let server = Server::start_with_bank(&data, &bank, &[]);
        let addr = server.addr;
        std::thread::scope(|scope| {
            for _ in 0..CLIENTS {
                scope.spawn(|| loop {
                    let Some(i) = queue.lock().unwrap().pop_front() else {
                        return;
                    };
                    if journey(addr, i, &seeds, &seen).is_none() {
                        return; // the server died under this customer: abandon them
                    }
                });
            }
            std::thread::sleep(Duration::from_millis(600 + 250 * cycle));
            server.kill();
        });
        check_database(&data, &seen.lock().unwrap());
    }
    let seen = seen.into_inner().unwrap();
    eprintln!(
        "crash test: {} receipts seen across {CYCLES} kills",
        seen.len()
    );
    assert!(
        seen.len() >= 10,
        "the stream made progress: {} receipts",
        seen.len()
    );
    assert!(seen.iter().any(|s| s.kind == ReceiptKind::Exchange));
}
