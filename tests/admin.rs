//! Admin commands against a gateway that serves, over its real admin socket (and without one:
//! a stale socket, a stopped gateway), backups and restores, key rotation, the format
//! version, `/metrics` and its network gate, and what two copies of one data directory do.

use crate::api::{json_of, VERIFY};
use crate::support::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

fn d(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A small inventory CSV of `n` hardware tokens `PREFIXnnnnnnnn`.
fn inventory_csv(dir: &Path, prefix: &str, n: usize) -> std::path::PathBuf {
    let mut text = String::from("serial,kind,algorithm,digits,period,secret_base32\n");
    for i in 0..n {
        text.push_str(&format!(
            "{prefix}{i:08},hardware,SHA1,6,60,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n"
        ));
    }
    let path = dir.join(format!("{prefix}.csv"));
    std::fs::write(&path, text).unwrap();
    path
}

/// One HTTP request to the gateway, optionally with an API key.
fn http(server: &Server, method: &str, path: &str, key: Option<&str>, body: &str) -> Resp {
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        server.addr,
        body.len()
    );
    if let Some(k) = key {
        req.push_str(&format!("Authorization: Bearer {k}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    server.phone("").raw(req.as_bytes())
}

fn verify(server: &Server, key: &str, contract: &str, otp: &str) -> String {
    let body = format!(r#"{{"contract_id":"{contract}","otp":"{otp}","purpose":"transfer"}}"#);
    let r = http(server, "POST", VERIFY, Some(key), &body);
    assert_eq!(r.status, 200, "{}", r.text);
    json_of(&r)["result"].as_str().unwrap().to_owned()
}

#[test]
fn commands_run_in_the_serving_gateway_through_an_owner_only_socket() {
    let server = Server::start();
    let dir = server.data_dir.clone();
    let sock = dir.join("admin.sock");
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "admin socket mode {mode:o}");

    // api-key add while serving: the key works at once in the running gateway.
    let (ok, key, err) = cli(&["api-key", "add", "ib-core", "--data-dir", d(&dir)]);
    assert!(ok, "api-key add: {err}");
    let key = key.trim().to_owned();
    assert!(key.starts_with("kgw_"), "{key}");
    assert!(err.contains("shown once"), "{err}");
    assert_eq!(
        verify(&server, &key, HANAKO.0, &code(HANAKO_TOKEN, 0)),
        "accept"
    );
    let (ok, list, _) = cli(&["api-key", "list", "--data-dir", d(&dir)]);
    assert!(ok && list.starts_with("ib-core\tcreated "), "{list}");

    // import-tokens while serving.
    let csv = inventory_csv(&dir, "ADMN", 300);
    let (ok, out, err) = cli(&["import-tokens", d(&csv), "--data-dir", d(&dir)]);
    assert!(ok, "import-tokens: {err}");
    assert!(out.contains("loaded 300 tokens"), "{out}");
    let (ok, _, err) = cli(&["import-tokens", d(&csv), "--data-dir", d(&dir)]);
    assert!(!ok && err.contains("300 serial(s) already exist"), "{err}");

    // audit and audit --verify while serving; the receipt (record number) is in each line.
    let (ok, out, err) = cli(&["audit", "--verify", "--data-dir", d(&dir)]);
    assert!(ok && out.starts_with("audit chain intact"), "{out}{err}");
    let (ok, out, _) = cli(&["audit", "--data-dir", d(&dir)]);
    assert!(ok);
    let otp_line = out.lines().find(|l| l.contains("\totp_ok\t")).expect(&out);
    assert!(otp_line.starts_with('#'), "receipt first: {otp_line}");
    assert!(out.lines().any(|l| l.contains("\timport\t")), "{out}");
    let receipt = otp_line[1..].split('\t').next().unwrap();
    let (ok, one, _) = cli(&["audit", "--receipt", receipt, "--data-dir", d(&dir)]);
    assert!(ok);
    assert_eq!(one.trim_end(), otp_line, "a receipt is looked up by number");
    assert!(!server.log().contains("is another keitai-gateway using it"));

    // PSKC pre-shared key from standard input, carried over the socket; the relative path is
    // the operator's (their working directory), not the gateway's.
    let (ok, out, err) = cli_with_stdin(
        &repo(),
        "ops-tester",
        &[
            "import-tokens",
            "tests/fixtures/pskc/encrypted.pskcxml",
            "--psk-file",
            "-",
            "--data-dir",
            d(&dir),
        ],
        "12345678901234567890123456789012\n",
    );
    assert!(ok, "{err}");
    assert!(out.contains("loaded"));
}

#[test]
fn a_stale_socket_is_passed_over_and_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_in(tmp.path(), &[]);
    server.kill(); // SIGKILL: the socket file stays behind
    let sock = tmp.path().join("admin.sock");
    assert!(sock.exists());
    let (ok, out, err) = cli(&["audit", "--verify", "--data-dir", d(tmp.path())]);
    assert!(
        ok,
        "with a stale socket the command opens the database: {err}"
    );
    assert!(out.starts_with("audit chain intact"));
    // The next gateway removes the stale file and answers on its own.
    let server = Server::start_in(tmp.path(), &[]);
    let (ok, _, err) = cli(&["api-key", "add", "x", "--data-dir", d(tmp.path())]);
    assert!(ok, "{err}");
    drop(server);
}

#[test]
fn backup_while_serving_restores_and_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_in(tmp.path(), &[]);
    let dir = server.data_dir.clone();
    let (ok, key, _) = cli(&["api-key", "add", "ib-core", "--data-dir", d(&dir)]);
    assert!(ok);
    assert_eq!(
        verify(&server, key.trim(), HANAKO.0, &code(HANAKO_TOKEN, 0)),
        "accept"
    );
    let out_dir = tempfile::tempdir().unwrap();
    let backup = out_dir.path().join("backup-1");
    let (ok, out, err) = cli(&["backup", d(&backup), "--data-dir", d(&dir)]);
    assert!(ok, "backup: {err}");
    assert!(out.contains("audit records"), "{out}");
    assert!(
        !backup.join("master.key").exists(),
        "the key is never in a backup"
    );
    let (_, audit_live, _) = cli(&["audit", "--data-dir", d(&dir)]);
    drop(server);

    let restored = out_dir.path().join("restored");
    let key_file = dir.join("master.key");
    let args = ["--data-dir", d(&restored), "--key-file", d(&key_file)];
    let (ok, out, err) = cli(&[&["restore", d(&backup)][..], &args[..]].concat());
    assert!(ok, "restore: {err}");
    assert!(out.contains("audit chain intact"), "{out}");
    let (ok, out, err) = cli(&[&["audit", "--verify"][..], &args[..]].concat());
    assert!(ok && out.starts_with("audit chain intact"), "{out}{err}");
    let (_, audit_restored, _) = cli(&[&["audit"][..], &args[..]].concat());
    assert_eq!(audit_restored, audit_live);
    // Restoring over a database is refused.
    let (ok, _, err) = cli(&[&["restore", d(&backup)][..], &args[..]].concat());
    assert!(!ok && err.contains("exists already"), "{err}");
}

#[test]
fn rekey_reseals_every_seed_and_the_old_key_stops_working() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    Server::start_in(dir, &[]).kill();
    let keys = tempfile::tempdir().unwrap();
    let new_key = keys.path().join("etc/keitai/new.key");
    let (ok, _, err) = cli(&["init-key", d(&new_key)]);
    assert!(ok, "init-key makes missing parents: {err}");
    let (ok, _, err) = cli(&["rekey", "--new-key-file", d(&new_key), "--data-dir", d(dir)]);
    assert!(ok, "rekey: {err}");
    let (ok, _, err) = cli(&["audit", "--verify", "--data-dir", d(dir)]);
    assert!(
        !ok && err.contains("does not match"),
        "old key refused: {err}"
    );
    let (ok, _, err) = cli(&[
        "audit",
        "--verify",
        "--data-dir",
        d(dir),
        "--key-file",
        d(&new_key),
    ]);
    assert!(ok, "new key opens it: {err}");
    // The seeds open under the new key: a code is accepted by the gateway serving with it.
    let (ok, key, _) = cli(&[
        "api-key",
        "add",
        "ib-core",
        "--data-dir",
        d(dir),
        "--key-file",
        d(&new_key),
    ]);
    assert!(ok);
    let server = Server::start_in(dir, &["--key-file", d(&new_key)]);
    assert_eq!(
        verify(&server, key.trim(), HANAKO.0, &code(HANAKO_TOKEN, 0)),
        "accept"
    );
    // Rekey refuses while a gateway serves.
    let (ok, _, err) = cli(&["rekey", "--new-key-file", d(&new_key), "--data-dir", d(dir)]);
    assert!(!ok && err.contains("stop it"), "{err}");
}

#[test]
fn a_newer_format_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    Server::start_in(tmp.path(), &[]).kill();
    set_db_format(tmp.path(), 99);
    let (ok, _, err) = cli(&["audit", "--verify", "--data-dir", d(tmp.path())]);
    assert!(!ok);
    assert!(
        err.contains("format 99, newer than this keitai-gateway reads (1)"),
        "{err}"
    );
}

#[test]
fn metrics_count_requests_otps_and_flushes_for_internal_networks() {
    let tmp = tempfile::tempdir().unwrap();
    let (ok, key, _) = {
        Server::start_in(tmp.path(), &[]).kill();
        cli(&["api-key", "add", "ib-core", "--data-dir", d(tmp.path())])
    };
    assert!(ok);
    let server = Server::start_in(tmp.path(), &[]);
    server.phone(FOMA).get("/");
    assert_eq!(
        verify(&server, key.trim(), HANAKO.0, &code(HANAKO_TOKEN, 0)),
        "accept"
    );
    assert_eq!(
        verify(&server, key.trim(), HANAKO.0, &code(HANAKO_TOKEN, 0)),
        "replayed"
    );
    let m = http(&server, "GET", "/metrics", None, "");
    assert_eq!(m.status, 200);
    assert!(m
        .header("content-type")
        .unwrap()
        .starts_with("application/openmetrics-text"));
    for needle in [
        "keitai_requests_total{front=\"phone\",status=\"200\"} 1",
        "keitai_requests_total{front=\"api\",status=\"200\"} 2",
        "keitai_otp_checks_total{result=\"accept\"} 1",
        "keitai_otp_checks_total{result=\"replayed\"} 1",
        "keitai_page_bytes_count{front=\"phone\"} 1",
        "keitai_live_sessions{front=\"phone\"}",
        "keitai_import_rows 0",
        "# TYPE keitai_lockouts counter",
        "# TYPE keitai_flush_seconds histogram",
    ] {
        assert!(m.text.contains(needle), "{needle} in:\n{}", m.text);
    }
    let flushes = m
        .text
        .lines()
        .find_map(|l| l.strip_prefix("keitai_flush_seconds_count "))
        .unwrap();
    assert!(
        flushes.parse::<u64>().unwrap() >= 1,
        "durable writes flushed"
    );
    drop(server);

    // Internal networks that leave out loopback: /metrics refused, health still answers here.
    let server = Server::start_in(tmp.path(), &["--internal-network", "10.9.0.0/16"]);
    assert_eq!(http(&server, "GET", "/metrics", None, "").status, 403);
    let h = http(&server, "GET", "/api/v1/health", None, "");
    assert_eq!(h.status, 200, "{}", h.text);
    assert_eq!(
        http(&server, "POST", VERIFY, Some(key.trim()), "{}").status,
        403
    );
}

/// What README says about copies: two gateways on copies of one data directory each accept
/// the same code, because each keeps its own replay state.
#[test]
fn two_gateways_on_copies_accept_the_same_otp_twice() {
    let a = tempfile::tempdir().unwrap();
    Server::start_in(a.path(), &[]).kill();
    let (ok, key, _) = cli(&["api-key", "add", "ib-core", "--data-dir", d(a.path())]);
    assert!(ok);
    let b = tempfile::tempdir().unwrap();
    let status = Command::new("cp")
        .arg("-a")
        .arg(a.path().join("db"))
        .arg(a.path().join("master.key"))
        .arg(b.path())
        .status()
        .unwrap();
    assert!(status.success());
    let (ga, gb) = (
        Server::start_in(a.path(), &[]),
        Server::start_in(b.path(), &[]),
    );
    let otp = code(HANAKO_TOKEN, 0);
    assert_eq!(verify(&ga, key.trim(), HANAKO.0, &otp), "accept");
    assert_eq!(
        verify(&gb, key.trim(), HANAKO.0, &otp),
        "accept",
        "the copy accepts it again"
    );
    assert_eq!(verify(&ga, key.trim(), HANAKO.0, &otp), "replayed");
}

/// The other admin commands (`staff`, `customers`) take the same way in: standard input
/// (`--password-stdin`) and the operator's relative `--bank-dir` carried over the socket.
#[test]
fn staff_and_customers_commands_run_through_the_socket() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_in(tmp.path(), &[]);
    let dir = tmp.path();
    let (ok, _, err) = cli_with_stdin(
        &repo(),
        "ops-tester",
        &[
            "staff",
            "add",
            "S0099",
            "--name",
            "新任役席",
            "--branch",
            "001",
            "--role",
            "supervisor",
            "--password-stdin",
            "--data-dir",
            d(dir),
        ],
        "Initial-Pass-99\n",
    );
    assert!(ok, "{err}");
    let (ok, list, err) = cli(&["staff", "list", "--data-dir", d(dir)]);
    assert!(ok && list.contains("S0099"), "{list}{err}");
    let (ok, show, err) = cli(&["customers", "show", HANAKO.0, "--data-dir", d(dir)]);
    assert!(ok && show.contains(HANAKO_TOKEN), "{show}{err}");
    // Audited in the serving gateway, with the operator's name.
    let (_, audit, _) = cli(&["audit", "--data-dir", d(dir)]);
    assert!(audit.lines().any(|l| l.contains("staff_add")), "{audit}");
    assert!(!server.log().contains("is another keitai-gateway using it"));
}

/// An import killed at any moment (SIGKILL) leaves all of its tokens or none visible, and the
/// next open drops or finishes what it left.
#[test]
fn an_import_killed_midway_is_all_or_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    Server::start_in(dir, &[]).kill();
    let before = with_store(dir, |s| s.tokens().count());
    let csv = inventory_csv(dir, "KILL", 40_000);
    for wait_ms in [200, 600] {
        let mut child = command()
            .args(["import-tokens", d(&csv), "--replace", "--data-dir", d(dir)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(wait_ms));
        let _ = child.kill();
        let _ = child.wait();
        let after = with_store(dir, |s| s.tokens().count()) - before;
        assert!(
            after == 0 || after == 40_000,
            "killed after {wait_ms} ms: {after} of 40000 tokens visible"
        );
    }
    let (ok, out, err) = cli(&["audit", "--verify", "--data-dir", d(dir)]);
    assert!(ok, "{out}{err}");
}

/// `rekey` on the embedded database of the centre's three banks re-seals every bank's seeds and
/// cards (the old key then opens none of them), refused while the gateway serves; run from a
/// directory outside the repository, the commands find the banks from the data directory.
#[test]
fn rekey_reseals_every_bank_of_a_three_bank_database() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let old_key = dir.join("master.key");
    let new_key = tmp.path().join("new.key");
    assert!(cli(&["init-key", d(&new_key)]).0);
    let server = Server::start_centre(dir, &[]);
    let elsewhere = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let all: Vec<&str> = args.iter().copied().chain(["--data-dir", d(dir)]).collect();
        cli_as_operator(elsewhere.path(), &all)
    };
    let (ok, out) = run(&["rekey", "--new-key-file", d(&new_key)]);
    assert!(!ok && out.contains("stop it"), "{out}");
    server.stop();
    let sealer = |k: &Path| keitai_gateway::seal::Sealer::load(k).unwrap();
    let codes =
        ["1020", "1021", "1022"].map(|c| keitai_gateway::banks::BankCode::parse(c).unwrap());
    let cache = keitai_gateway::store::SERVING_CACHE;
    let open = |k: &Path| {
        keitai_gateway::store::Store::open_banks(&dir.join("db"), &sealer(k), cache, &codes)
    };
    let seeds: Vec<usize> = open(&old_key)
        .unwrap()
        .iter()
        .map(|s| s.tokens().count())
        .collect();
    assert!(
        seeds.iter().all(|&n| n > 0),
        "every bank has tokens: {seeds:?}"
    );
    let (ok, out) = run(&["rekey", "--new-key-file", d(&new_key)]);
    assert!(ok, "{out}");
    let resealed: usize = out
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {out}"));
    // Every bank's seeds, and the お客様カード of the bank that confirms with them.
    assert!(resealed > seeds.iter().sum::<usize>(), "{seeds:?}: {out}");
    assert!(matches!(
        open(&old_key),
        Err(keitai_gateway::store::StoreError::WrongKey)
    ));
    for store in open(&new_key).unwrap() {
        for t in store.tokens() {
            let t = t.unwrap();
            assert!(
                store.secret(&t).is_ok(),
                "{} opens with the new key",
                t.serial
            );
        }
    }
    // Each bank's chain, checked with the new key, the bank directory found from the data
    // directory (no --bank-dir; the working directory is not the repository).
    for code in ["1020", "1021", "1022"] {
        let (ok, out) = run(&[
            "audit",
            "--verify",
            "--bank",
            code,
            "--key-file",
            d(&new_key),
        ]);
        assert!(ok && out.contains("audit chain intact"), "{code}: {out}");
    }
    let server = Server::start_centre(dir, &["--key-file", d(&new_key)]);
    assert_eq!(server.request("GET", "/1021/", "").0, 200);
}
