//! Two gateway processes on one PostgreSQL database (a throw-away cluster): a code accepted
//! once whichever gateways it reaches, lockout counted across them, 受付番号 unique, one audit
//! chain, a gateway killed mid-stream, PostgreSQL stopped mid-stream and back.

use crate::support::pg::{name_for, shared, Cluster, Db};
use crate::support::*;
use serde_json::{json, Value};
use std::sync::{Arc, Barrier};

const VERIFY: &str = "/api/v1/otp/verify";

/// One OTP API call: (HTTP status, JSON answer).
fn verify(server_addr: std::net::SocketAddr, key: &str, contract_id: &str, otp: &str) -> Resp {
    let body = json!({"contract_id": contract_id, "otp": otp, "purpose": "login"}).to_string();
    let req = format!(
        "POST {VERIFY} HTTP/1.1\r\nHost: {server_addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nAuthorization: Bearer {key}\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    Phone::new(server_addr, "").raw(req.as_bytes())
}

fn result_of(r: &Resp) -> (String, u64) {
    assert_eq!(r.status, 200, "{}", r.text);
    let v: Value = serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.text));
    (
        v["result"].as_str().expect("result").to_owned(),
        v["receipt"]
            .as_str()
            .expect("receipt")
            .parse()
            .expect("number"),
    )
}

/// Sends `calls` (gateway index, code) all at once, one thread each; their answers in order.
fn at_once(
    gateways: &[std::net::SocketAddr],
    key: &str,
    contract: &str,
    calls: Vec<(usize, String)>,
) -> Vec<(String, u64)> {
    let barrier = Arc::new(Barrier::new(calls.len()));
    let threads: Vec<_> = calls
        .into_iter()
        .map(|(g, otp)| {
            let (addr, key, contract) = (gateways[g], key.to_owned(), contract.to_owned());
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                result_of(&verify(addr, &key, &contract, &otp))
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

#[test]
fn one_code_sent_to_two_gateways_at_once_is_accepted_once() {
    let db = Db::new(shared());
    let (a, b) = (db.gateway("a"), db.gateway("b"));
    let otp = code(HANAKO_TOKEN, 0);
    let calls = (0..16).map(|i| (i % 2, otp.clone())).collect();
    let answers = at_once(&[a.addr, b.addr], &db.api_key, HANAKO.0, calls);
    let accepted = answers.iter().filter(|(r, _)| r == "accept").count();
    let replayed = answers.iter().filter(|(r, _)| r == "replayed").count();
    assert_eq!((accepted, replayed), (1, 15), "{answers:?}");
    // Every answer has its own audit record, in one chain.
    let mut receipts: Vec<u64> = answers.iter().map(|(_, n)| *n).collect();
    receipts.sort_unstable();
    receipts.dedup();
    assert_eq!(receipts.len(), 16);
    assert!(db.assert_audit_intact() >= 16);
}

#[test]
fn wrong_codes_spread_over_two_gateways_check_at_most_five() {
    let db = Db::new(shared());
    let (a, b) = (db.gateway("a"), db.gateway("b"));
    let wrong = wrong_code(HANAKO_TOKEN);
    let calls = (0..100).map(|i| (i % 2, wrong.clone())).collect();
    let answers = at_once(&[a.addr, b.addr], &db.api_key, HANAKO.0, calls);
    let checked = answers.iter().filter(|(r, _)| r == "reject").count();
    let locked = answers.iter().filter(|(r, _)| r == "locked").count();
    // Four wrong answers, the fifth locks ("locked"), every later one finds it locked.
    assert_eq!((checked, locked), (4, 96), "{answers:?}");
    // Locked for the right code too, on either gateway.
    let right = code(HANAKO_TOKEN, 0);
    for g in [&a, &b] {
        assert_eq!(
            result_of(&verify(g.addr, &db.api_key, HANAKO.0, &right)).0,
            "locked"
        );
    }
    db.assert_audit_intact();
}

/// 利用開始 up to the token form, then the registration: the 受付番号 shown.
fn register(addr: std::net::SocketAddr, who: (&str, &str, &str), serial: &str) -> String {
    let mut phone = Phone::new(addr, AU);
    let top = phone.get("/");
    let step1 = phone.follow(&top, '1');
    let form = phone.submit(&step1, &[("contract_id", who.0), ("password", who.1)]);
    form.assert_contains("シリアル番号");
    let done = phone.submit(
        &form,
        &[
            ("serial", serial),
            ("otp", &code(serial, 0)),
            ("login_otp", "1"),
            ("transfer_password", who.2),
        ],
    );
    done.assert_contains("登録が完了しました");
    done.receipt_number().expect("受付番号")
}

#[test]
fn registrations_on_two_gateways_get_distinct_consecutive_receipts() {
    let db = Db::new(shared());
    let (a, b) = (db.gateway("a"), db.gateway("b"));
    let (a_addr, b_addr) = (a.addr, b.addr);
    let barrier = Arc::new(Barrier::new(3));
    let jobs = [
        (a_addr, TARO, "GMHW00000001"),
        (b_addr, ICHIRO, "GMHW00000002"),
        (a_addr, JIRO, "GMHW00000003"),
    ];
    let threads: Vec<_> = jobs
        .into_iter()
        .map(|(addr, who, serial)| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                register(addr, who, serial)
            })
        })
        .collect();
    let mut numbers: Vec<u32> = threads
        .into_iter()
        .map(|t| t.join().unwrap().parse().unwrap())
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, vec![1_000_001, 1_000_002, 1_000_003]);
    db.assert_audit_intact();
    // The tools find the database in the environment too (no password in the process list).
    let out = command()
        .args(["audit", "--verify", "--key-file"])
        .arg(&db.key_file)
        .env("KEITAI_DATABASE", &db.url)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("audit chain intact"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn phone_and_staff_sessions_follow_requests_to_either_gateway() {
    let db = Db::new(shared());
    let (a, b) = (db.gateway("a"), db.gateway("b"));
    // Each request of a 利用開始 goes to the other gateway, with and without cookies.
    for (ua, who, serial) in [(AU, TARO, "GMHW00000001"), (FOMA, ICHIRO, "GMHW00000002")] {
        let mut phone = a.phone(ua);
        let top = phone.get("/");
        phone.switch_to(b.addr);
        let step1 = phone.follow(&top, '1');
        phone.switch_to(a.addr);
        let form = phone.submit(&step1, &[("contract_id", who.0), ("password", who.1)]);
        form.assert_contains("シリアル番号");
        phone.switch_to(b.addr);
        let done = phone.submit(
            &form,
            &[
                ("serial", serial),
                ("otp", &code(serial, 0)),
                ("login_otp", "1"),
                ("transfer_password", who.2),
            ],
        );
        done.assert_contains("登録が完了しました");
        // The rotated-away ID of the step before is refused on either gateway.
        phone.switch_to(a.addr);
        let again = phone.submit(&form, &[("serial", serial), ("otp", "000000")]);
        assert!(!again.text.contains("登録が完了しました"), "{}", again.text);
    }
    // A staff member signed in on one gateway is signed in on the other.
    let mut staff = Staff::sign_in(a.addr, CLERK_HONTEN);
    staff.switch_to(b.addr);
    staff
        .get("/branch/")
        .assert_status(200)
        .assert_contains("ホーム");
    db.assert_audit_intact();
}

#[test]
fn a_gateway_killed_mid_stream_loses_no_answer_and_the_other_serves_on() {
    let db = Db::new(shared());
    let (a, b) = (db.gateway("a"), db.gateway("b"));
    let (a_addr, b_addr) = (a.addr, b.addr);
    let key = db.api_key.clone();
    // Checks of unknown contract IDs, for 1.5 s on each gateway: each one is audited and
    // answered with its receipt (the audit record's number).
    let stream = |addr: std::net::SocketAddr, key: String| {
        std::thread::spawn(move || {
            let (mut seen, mut failed) = (Vec::new(), 0);
            let end = std::time::Instant::now() + std::time::Duration::from_millis(1500);
            for i in 0..5000 {
                if std::time::Instant::now() > end {
                    break;
                }
                let body = json!({"contract_id": format!("9{i:09}"), "otp": "123456",
                    "purpose": "login"})
                .to_string();
                let req = format!(
                    "POST {VERIFY} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
                     Content-Type: application/json\r\nAuthorization: Bearer {key}\r\n\
                     Content-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                match Phone::new(addr, "").try_raw(req.as_bytes()) {
                    Some(r) if r.status == 200 => seen.push(result_of(&r).1),
                    _ => failed += 1,
                }
            }
            (seen, failed)
        })
    };
    let on_a = stream(a_addr, key.clone());
    let on_b = stream(b_addr, key.clone());
    std::thread::sleep(std::time::Duration::from_millis(500));
    a.kill();
    let (seen_a, failed_a) = on_a.join().unwrap();
    let (seen_b, failed_b) = on_b.join().unwrap();
    assert_eq!(failed_b, 0, "the other gateway answered every call");
    assert!(failed_a > 0 && !seen_a.is_empty(), "a served, then died");
    // Every receipt a caller saw is an audit record, and the chain is whole.
    let b_still = result_of(&verify(b_addr, &key, "9999999999", "123456"));
    assert_eq!(b_still.0, "reject");
    let listing = db.cli(&["audit"]).1;
    let count = db.assert_audit_intact();
    for seq in seen_a.iter().chain(&seen_b) {
        assert!(*seq < count, "receipt {seq} not in the trail of {count}");
    }
    assert!(listing.matches("otp_unknown_contract").count() >= seen_a.len() + seen_b.len());
}

#[test]
fn postgres_stopped_mid_stream_answers_try_later_and_recovers() {
    let cluster = Cluster::start();
    let db = Db::new(&cluster);
    let gw = db.gateway("a");
    let key = db.api_key.clone();
    let ok = result_of(&verify(gw.addr, &key, HANAKO.0, &wrong_code(HANAKO_TOKEN)));
    assert_eq!(ok.0, "reject");

    cluster.stop_immediate();
    let down = verify(gw.addr, &key, HANAKO.0, "123456");
    assert_eq!(down.status, 503, "{}", down.text);
    let v: Value = serde_json::from_slice(&down.body).unwrap();
    assert_eq!(v["error"], "unavailable", "{v}");
    let mut phone = gw.phone(AU);
    let top = phone.get("/");
    let page = phone.submit(&top, &[("contract_id", HANAKO.0), ("password", HANAKO.1)]);
    page.assert_contains("しばらくしてからもう一度お試しください");

    cluster.start_server();
    // The pool reconnects by itself: no restart of the gateway.
    let back = result_of(&verify(gw.addr, &key, HANAKO.0, &wrong_code(HANAKO_TOKEN)));
    assert_eq!(back.0, "reject");
    let page = gw.phone(AU).get("/");
    assert_eq!(page.status, 200);
    // Nothing half-written: the chain is whole and counts the two rejected codes' records.
    assert!(db.assert_audit_intact() >= 2);
}

#[test]
fn migrate_copies_an_embedded_database_and_its_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap();
    let key_file = tmp.path().join("master.key");
    let key_path = key_file.to_str().unwrap();
    let first = {
        let sled_gw = Server::start_in(tmp.path(), &[]);
        let n = register(sled_gw.addr, TARO, "GMHW00000001");
        sled_gw.kill();
        n
    };
    let (ok, api_key, err) = cli(&["api-key", "add", "ib-core", "--data-dir", dir]);
    assert!(ok, "{err}");
    let (ok, out, _) = cli(&["audit", "--verify", "--data-dir", dir]);
    assert!(ok);
    let url = shared().database(&crate::support::pg::name_for(tmp.path()));
    let (ok, copied, err) = cli(&["migrate", "--from-data-dir", dir, "--to", &url]);
    assert!(ok, "migrate: {err}");
    assert!(copied.contains("chain intact"), "{copied}");
    let (ok, verified, err) = cli(&[
        "audit",
        "--verify",
        "--database",
        &url,
        "--key-file",
        key_path,
    ]);
    assert!(ok, "{err}");
    assert_eq!(verified, out, "the same chain, record for record");
    // Copying twice is refused: the target is no longer empty.
    let (ok, _, err) = cli(&["migrate", "--from-data-dir", dir, "--to", &url]);
    assert!(!ok && err.contains("not empty"), "{err}");

    // A gateway on the copy: the caller's key works, Hanako's token checks, and 受付番号
    // continue after the embedded engine's last.
    let pg_dir = tmp.path().join("pg");
    std::fs::create_dir_all(&pg_dir).unwrap();
    let gw = Server::start_in(&pg_dir, &["--database", &url, "--key-file", key_path]);
    let (result, _) = result_of(&verify(
        gw.addr,
        api_key.trim(),
        HANAKO.0,
        &code(HANAKO_TOKEN, 0),
    ));
    assert_eq!(result, "accept");
    let next = register(gw.addr, ICHIRO, "GMHW00000002");
    assert_eq!(
        next.parse::<u32>().unwrap(),
        first.parse::<u32>().unwrap() + 1
    );
}

#[test]
fn a_database_newer_than_the_gateway_is_refused() {
    let db = Db::new(shared());
    let name = crate::support::pg::name_for(db.path());
    shared().sql(
        &name,
        "INSERT INTO schema_migrations (version, name) VALUES (9999, 'from the future')",
    );
    let (ok, out) = db.cli(&["audit", "--verify"]);
    assert!(!ok);
    assert!(out.contains("newer than this gateway"), "{out}");
}

#[test]
fn two_gateways_started_at_once_with_demo_load_it_once() {
    let db = Db::new(shared());
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| db.gateway("a"));
        let b = s.spawn(|| db.gateway("b"));
        (a.join().unwrap(), b.join().unwrap())
    });
    let listing = db.cli(&["audit"]).1;
    assert_eq!(listing.matches("demo_load").count(), 1, "{listing}");
    // Both serve the one bank.
    for g in [&a, &b] {
        let otp = wrong_code(HANAKO_TOKEN);
        assert_eq!(
            result_of(&verify(g.addr, &db.api_key, HANAKO.0, &otp)).0,
            "reject"
        );
    }
    db.assert_audit_intact();
}

/// README's backup procedure on PostgreSQL: `pg_dump` while a gateway serves, `pg_restore`
/// into a new database, `audit --verify` on it; the gateway's own `backup`/`restore` say
/// where to look instead. A registration after the dump is not in the copy.
#[test]
fn pg_dump_while_serving_restores_into_a_new_database_that_verifies() {
    let cluster = shared();
    let db = Db::new(cluster);
    let gw = db.gateway("a");
    register(gw.addr, TARO, "GMHW00000001");
    let at_dump = db.assert_audit_intact();
    let (ok, out) = db.cli(&["backup", db.path().join("b").to_str().unwrap()]);
    assert!(!ok && out.contains("pg_dump --format=custom"), "{out}");
    let dump = db.path().join("keitai.dump");
    let bin = crate::support::pg::bin_dir();
    let run = |cmd: &mut std::process::Command| {
        let out = cmd.output().expect("run a PostgreSQL tool");
        assert!(
            out.status.success(),
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(std::process::Command::new(bin.join("pg_dump"))
        .args(["--format=custom", "--file"])
        .arg(&dump)
        .arg(&db.url));
    register(gw.addr, ICHIRO, "GMHW00000002");
    gw.kill();
    let restored = cluster.database(&format!("{}_restored", name_for(db.path())));
    run(std::process::Command::new(bin.join("pg_restore"))
        .args([
            "--no-owner",
            "--exit-on-error",
            "--single-transaction",
            "--dbname",
        ])
        .arg(&restored)
        .arg(&dump));
    std::fs::remove_file(&dump).unwrap();
    let key = db.key_file.to_str().unwrap();
    let (ok, verified, err) = cli(&[
        "audit",
        "--verify",
        "--database",
        &restored,
        "--key-file",
        key,
    ]);
    assert!(ok, "{err}");
    assert!(
        verified.contains(&format!("intact: {at_dump} records")),
        "{verified} (the dump had {at_dump})"
    );
    let (ok, _, err) = cli(&["restore", "b", "--database", &restored, "--key-file", key]);
    assert!(!ok && err.contains("pg_restore"), "{err}");

    // The copy's master key rotated (`rekey` on PostgreSQL): then only the new key opens it.
    let new_key = db.path().join("master-2.key");
    let new_key = new_key.to_str().unwrap();
    assert!(cli(&["init-key", new_key]).0);
    let (ok, out, err) = cli(&[
        "rekey",
        "--new-key-file",
        new_key,
        "--database",
        &restored,
        "--key-file",
        key,
    ]);
    assert!(ok && out.contains("re-sealed"), "{out}{err}");
    let (ok, _, err) = cli(&[
        "audit",
        "--verify",
        "--database",
        &restored,
        "--key-file",
        key,
    ]);
    assert!(!ok && err.contains("another key"), "{err}");
    let (ok, out, err) = cli(&[
        "audit",
        "--verify",
        "--database",
        &restored,
        "--key-file",
        new_key,
    ]);
    assert!(ok && out.contains("intact"), "{err}");
}

/// TLS to the database (issue 17): a gateway whose URL says `sslmode=verify-full` against a
/// cluster with a certificate of its own test CA serves over encrypted connections only; the
/// same setting against a server without TLS (the shared cluster) is refused, never plain.
#[test]
fn a_gateway_requiring_tls_uses_it_and_a_server_without_tls_is_refused() {
    let cluster = Cluster::start_tls();
    let mut db = Db::new(&cluster);
    let ca = cluster.ca_file();
    db.url = format!(
        "{}?sslmode=verify-full&sslrootcert={}",
        db.url,
        ca.to_str().unwrap()
    );
    let gw = db.gateway("a");
    let r = verify(gw.addr, &db.api_key, TARO.0, "000000");
    assert_eq!(r.status, 200, "{}", r.text);
    let name = name_for(db.path());
    let counts = cluster.sql(
        &name,
        "SELECT count(*) FILTER (WHERE s.ssl) || ' ' || count(*) FROM pg_stat_ssl s \
         JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'keitai-gateway'",
    );
    let (tls, all) = counts.split_once(' ').unwrap();
    assert!(all != "0" && tls == all, "encrypted/all: {counts}");
    db.assert_audit_intact();
    gw.kill();

    let plain = Db::new(shared());
    let (ok, _, err) = cli(&[
        "audit",
        "--verify",
        "--database",
        &format!("{}?sslmode=require", plain.url),
        "--key-file",
        plain.key_file.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("TLS"), "{err}");
}

/// `customers import FILE` on `db`, as a process of its own (to be killed).
fn spawn_import(db: &Db, file: &std::path::Path) -> std::process::Child {
    command()
        .args(["customers", "import", file.to_str().expect("utf-8 path")])
        .args(["--database", &db.url, "--key-file"])
        .arg(&db.key_file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run keitai-gateway")
}

/// Polls `sql` (one number) on `db`'s database until `done` holds of it; the last value.
fn poll(cluster: &Cluster, db: &Db, sql: &str, done: impl Fn(u64) -> bool) -> u64 {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let n: u64 = cluster
            .sql(&name_for(db.path()), sql)
            .parse()
            .expect("a count");
        if done(n) || std::time::Instant::now() > end {
            return n;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A customers import streams into PostgreSQL while a gateway serves: killed while staging,
/// it leaves the old customers (its staged rows dropped by the next gateway to open); killed
/// while applying its published rows, the next gateway to open finishes it. Never half.
#[test]
fn a_customers_import_killed_mid_way_leaves_the_old_state_or_the_new_one() {
    let cluster = shared();
    let db = Db::new(cluster);
    let a = db.gateway("a");
    let hash = bcrypt_of("a");
    const N: u64 = 20_000;
    let mut csv =
        String::from("contract_id,name,login_password_hash,transfer_password_hash,status\n");
    for i in 0..N {
        csv.push_str(&format!(
            "{},顧客{i},{hash},{hash},active\n",
            2_100_000_000 + i
        ));
    }
    let file = db.path().join("export.csv");
    std::fs::write(&file, csv).expect("write export");
    let imported = "SELECT count(*) FROM customers WHERE contract_id LIKE '21%'";
    let staged = "SELECT count(*) FROM staged";

    // Killed while staging: the gateway's customers are as they were.
    let mut import = spawn_import(&db, &file);
    assert!(poll(cluster, &db, staged, |n| n > 0) > 0, "staging began");
    assert_eq!(
        a.request("GET", "/", "").0,
        200,
        "the gateway serves meanwhile"
    );
    import.kill().expect("kill");
    import.wait().expect("reap");
    let b = db.gateway("b");
    assert_eq!(poll(cluster, &db, staged, |n| n == 0), 0, "dropped at open");
    assert_eq!(poll(cluster, &db, imported, |_| true), 0, "the old state");
    drop(b);

    // Killed while applying: published, so the next gateway to open finishes it.
    let mut import = spawn_import(&db, &file);
    let seen = poll(cluster, &db, imported, |n| n > 0);
    assert!(seen > 0, "applying began");
    import.kill().expect("kill");
    import.wait().expect("reap");
    let cut = poll(cluster, &db, imported, |_| true);
    assert!(cut < N, "killed half-way through applying ({cut} of {N})");
    let b = db.gateway("b2");
    assert_eq!(poll(cluster, &db, imported, |n| n == N), N, "the new state");
    assert_eq!(poll(cluster, &db, staged, |n| n == 0), 0);
    assert_eq!(b.request("GET", "/", "").0, 200);
    let audit = db.cli(&["audit"]).1;
    assert_eq!(audit.matches("customers_import").count(), 1, "{audit}");
    db.assert_audit_intact();
    // The import lock went with the killed process: the next import runs (all unchanged).
    let (ok, out) = db.cli(&["customers", "import", file.to_str().expect("utf-8")]);
    assert!(ok && out.contains(&format!("{N} unchanged")), "{out}");
}
