//! The OTP API over a real socket: JSON in and out, callers known by API keys provisioned with
//! `api-key add` before the gateway starts, the internal-network gate, and one verification
//! state shared with the phone pages (replay and lockout cross channels).

use crate::support::*;
use keitai_gateway::store::{Store, TokenState};
use serde_json::{json, Value};
use std::path::Path;

pub const VERIFY: &str = "/api/v1/otp/verify";

/// Runs `keitai-gateway api-key ARGS --data-dir DIR` (gateway stopped) and returns stdout.
/// The data directory gets its master key first, as an operator's `init-key` would.
fn api_key(dir: &Path, args: &[&str]) -> String {
    sealer(dir);
    let out = command()
        .arg("api-key")
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .output()
        .expect("run api-key");
    assert!(
        out.status.success(),
        "api-key {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Makes a key for `name` and returns it.
fn add_key(dir: &Path, name: &str) -> String {
    api_key(dir, &["add", name]).trim().to_owned()
}

/// A gateway with the demo bank and one caller, `ib-core`; returns its key too.
pub fn start(extra: &[&str]) -> (tempfile::TempDir, Server, String) {
    let tmp = tempfile::tempdir().unwrap();
    demo_data_dir(tmp.path());
    let key = add_key(tmp.path(), "ib-core");
    let server = Server::start_in(tmp.path(), extra);
    (tmp, server, key)
}

/// Sends one HTTP request; `key` goes in `Authorization: Bearer`.
pub fn call(server: &Server, method: &str, path: &str, key: Option<&str>, body: &str) -> Resp {
    testkit::api::call(server.addr, method, path, key, body)
}

pub fn json_of(r: &Resp) -> Value {
    assert_eq!(r.header("content-type"), Some("application/json"));
    serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.text))
}

/// A decided verification: its result and receipt.
fn verify(
    server: &Server,
    key: &str,
    contract_id: &str,
    otp: &str,
    purpose: &str,
) -> (String, u64) {
    let body = json!({"contract_id": contract_id, "otp": otp, "purpose": purpose}).to_string();
    let r = call(server, "POST", VERIFY, Some(key), &body);
    assert_eq!(r.status, 200, "{}", r.text);
    let v = json_of(&r);
    let receipt = v["receipt"].as_str().expect("receipt string");
    (
        v["result"].as_str().expect("result").to_owned(),
        receipt.parse().expect("numeric receipt"),
    )
}

/// Logs Hanako in on a phone up to the login OTP page.
fn hanako_otp_page(server: &Server) -> (Phone, Resp) {
    let mut phone = server.phone(AU);
    let top = phone.get("/");
    let page = phone.submit(&top, &[("contract_id", HANAKO.0), ("password", HANAKO.1)]);
    page.assert_contains("ワンタイムパスワード認証");
    (phone, page)
}

#[test]
fn accepts_a_code_once_and_audits_who_asked() {
    let (tmp, server, key) = start(&[]);
    let health = call(&server, "GET", "/api/v1/health", None, "");
    assert_eq!(health.status, 200);
    assert_eq!(json_of(&health), json!({"status": "ok"}));

    let otp = code(HANAKO_TOKEN, 0);
    let (result, accepted) = verify(&server, &key, HANAKO.0, &otp, "transfer");
    assert_eq!(result, "accept");
    let (result, replayed) = verify(&server, &key, HANAKO.0, &otp, "login");
    assert_eq!(result, "replayed");
    assert!(replayed > accepted);
    let log = server.log();
    server.kill();

    assert!(!log.contains(&key), "key in the log");
    assert!(!log.contains(&otp), "OTP in the log");
    let store = Store::open(&tmp.path().join("db"), sealer(tmp.path())).unwrap();
    let audit: Vec<_> = store.audit().map(Result::unwrap).collect();
    let rec = |seq: u64| audit.iter().find(|r| r.seq == seq).unwrap();
    assert_eq!(rec(accepted).event, "otp_ok");
    assert_eq!(rec(accepted).contract_id.as_deref(), Some(HANAKO.0));
    assert_eq!(rec(accepted).detail, "api caller=ib-core purpose=transfer");
    assert_eq!(rec(replayed).event, "otp_replayed");
    assert_eq!(rec(replayed).detail, "api caller=ib-core purpose=login");
    assert!(audit
        .iter()
        .any(|r| r.event == "api_key_add" && r.detail == "caller=ib-core"));
    for r in &audit {
        assert!(
            !r.detail.contains(&otp) && !r.detail.contains(&key),
            "{r:?}"
        );
    }
    assert!(store.verify_audit().unwrap().is_ok());
}

#[test]
fn a_code_used_on_one_channel_is_refused_on_the_other() {
    let (_tmp, server, key) = start(&[]);
    let now_code = code(HANAKO_TOKEN, 0);
    let next_code = code(HANAKO_TOKEN, 1);
    // API first: the phone then refuses the same code.
    assert_eq!(
        verify(&server, &key, HANAKO.0, &now_code, "login").0,
        "accept"
    );
    let (mut phone, page) = hanako_otp_page(&server);
    let refused = phone.submit(&page, &[("otp", &now_code)]);
    refused.assert_contains("使用済み");
    // Phone first: the API then answers replayed.
    phone
        .submit(&refused, &[("otp", &next_code)])
        .assert_contains("ようこそ");
    assert_eq!(
        verify(&server, &key, HANAKO.0, &next_code, "transfer").0,
        "replayed"
    );
}

#[test]
fn five_wrong_codes_through_the_api_lock_the_token_for_the_phone() {
    let (_tmp, server, key) = start(&[]);
    let wrong = wrong_code(HANAKO_TOKEN);
    for _ in 0..4 {
        assert_eq!(
            verify(&server, &key, HANAKO.0, &wrong, "transfer").0,
            "reject"
        );
    }
    assert_eq!(
        verify(&server, &key, HANAKO.0, &wrong, "transfer").0,
        "locked"
    );
    let right = code(HANAKO_TOKEN, 0);
    assert_eq!(
        verify(&server, &key, HANAKO.0, &right, "transfer").0,
        "locked"
    );
    let (mut phone, page) = hanako_otp_page(&server);
    let r = phone.submit(&page, &[("otp", &right)]);
    r.assert_contains("トークンがロックされています");
    assert!(!r.text.contains("ようこそ"));
}

#[test]
fn callers_need_a_live_key() {
    let tmp = tempfile::tempdir().unwrap();
    let key = add_key(tmp.path(), "ib-core");
    let old = add_key(tmp.path(), "old-app");
    api_key(tmp.path(), &["revoke", "old-app"]);
    // One live key per name: a second is refused until the first is revoked.
    let again = command()
        .args(["api-key", "add", "ib-core", "--data-dir"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(!again.status.success() && again.stdout.is_empty());
    let list = api_key(tmp.path(), &["list"]);
    assert!(list.contains("ib-core") && list.contains("old-app") && list.contains("revoked"));
    assert!(
        !list.contains(&key) && !list.contains(&old),
        "list shows no keys"
    );
    let server = Server::start_in(tmp.path(), &[]);

    let otp = code(HANAKO_TOKEN, 0);
    let body = json!({"contract_id": HANAKO.0, "otp": otp, "purpose": "transfer"}).to_string();
    let unknown = format!("kgw_{}", "A".repeat(43));
    for presented in [None, Some(unknown.as_str()), Some(old.as_str()), Some("")] {
        let r = call(&server, "POST", VERIFY, presented, &body);
        assert_eq!(r.status, 401, "{presented:?}");
        assert_eq!(json_of(&r)["error"], "unauthorized");
    }
    // Not Bearer.
    let basic = format!(
        "POST {VERIFY} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Basic {key}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    assert_eq!(server.phone("").raw(basic.as_bytes()).status, 401);
    // The key is checked before the body is read.
    assert_eq!(call(&server, "POST", VERIFY, Some(&old), "{").status, 401);
    // None of that spent the code.
    assert_eq!(
        verify(&server, &key, HANAKO.0, &otp, "transfer").0,
        "accept"
    );
}

#[test]
fn clients_outside_the_internal_networks_get_403_before_any_work() {
    let (_tmp, server, key) = start(&["--internal-network", "10.0.0.0/8"]);
    // Health alone answers this host too (a local health check), whatever the networks.
    let health = call(&server, "GET", "/api/v1/health", None, "");
    assert_eq!(health.status, 200);
    let otp = code(HANAKO_TOKEN, 0);
    let body = json!({"contract_id": HANAKO.0, "otp": otp, "purpose": "login"}).to_string();
    assert_eq!(call(&server, "POST", VERIFY, Some(&key), &body).status, 403);
    assert_eq!(call(&server, "GET", "/api/nothing", None, "").status, 403);
    // The code was not spent: the phone still accepts it.
    let (mut phone, page) = hanako_otp_page(&server);
    phone
        .submit(&page, &[("otp", &otp)])
        .assert_contains("ようこそ");
}

#[test]
fn malformed_requests_get_400_and_change_nothing() {
    let (_tmp, server, key) = start(&[]);
    let otp = code(HANAKO_TOKEN, 0);
    for body in [
        String::new(),
        "{".into(),
        "not json".into(),
        json!([HANAKO.0, otp, "login"]).to_string(),
        json!({"contract_id": HANAKO.0, "otp": otp}).to_string(),
        json!({"contract_id": HANAKO.0, "otp": otp.parse::<u64>().unwrap(), "purpose": "login"})
            .to_string(),
        json!({"contract_id": HANAKO.0, "otp": otp, "purpose": "withdraw"}).to_string(),
        json!({"contract_id": HANAKO.0, "otp": otp, "purpose": "LOGIN"}).to_string(),
        json!({"contract_id": HANAKO.0, "otp": otp, "purpose": "login", "amount": 1}).to_string(),
        json!({"contract_id": HANAKO.0, "otp": "12345", "purpose": "login"}).to_string(),
        json!({"contract_id": HANAKO.0, "otp": "12345x", "purpose": "login"}).to_string(),
        json!({"contract_id": "", "otp": otp, "purpose": "login"}).to_string(),
        json!({"contract_id": "1000 0002", "otp": otp, "purpose": "login"}).to_string(),
    ] {
        let r = call(&server, "POST", VERIFY, Some(&key), &body);
        assert_eq!(r.status, 400, "{body}");
        let v = json_of(&r);
        assert_eq!(v["error"], "bad_request", "{body}");
        assert!(
            !r.text.contains(&otp),
            "the error echoes the OTP: {}",
            r.text
        );
    }
    let get = call(&server, "GET", VERIFY, Some(&key), "");
    assert_eq!(
        (get.status, json_of(&get)["error"].clone()),
        (405, json!("method_not_allowed"))
    );
    let missing = call(&server, "GET", "/api/v2/otp/verify", Some(&key), "");
    assert_eq!(
        (missing.status, json_of(&missing)["error"].clone()),
        (404, json!("not_found"))
    );
    // Nothing was counted or spent.
    assert_eq!(verify(&server, &key, HANAKO.0, &otp, "login").0, "accept");
}

#[test]
fn unknown_contracts_are_rejected_and_customers_without_token_told() {
    let (_tmp, server, key) = start(&[]);
    let otp = code(HANAKO_TOKEN, 0);
    let (result, unknown) = verify(&server, &key, "9999999999", &otp, "login");
    assert_eq!(result, "reject");
    let (result, no_token) = verify(&server, &key, TARO.0, &otp, "transfer");
    assert_eq!(result, "no_token");
    assert_ne!(unknown, no_token);
}

#[test]
fn a_cancelled_token_answers_cancelled() {
    // Cancellation belongs to the branch console; here the store is set up as one leaves it:
    // the token cancelled, the customer without token and with transfers blocked.
    let tmp = tempfile::tempdir().unwrap();
    {
        let store = Store::open(&tmp.path().join("db"), sealer(tmp.path())).unwrap();
        keitai_gateway::demo::load(&store, &one_bank(), now()).unwrap();
        let mut hanako = store.customer(HANAKO.0).unwrap().unwrap();
        let mut token = store.token(HANAKO_TOKEN).unwrap().unwrap();
        hanako.token = None;
        hanako.transfers_blocked = true;
        token.state = TokenState::Cancelled {
            contract_id: HANAKO.0.into(),
            at: now(),
        };
        store
            .write(|tx| {
                tx.put_customer(&hanako)?;
                tx.put_token(&token)
            })
            .unwrap();
        store.flush().unwrap();
    }
    let key = add_key(tmp.path(), "ib-core");
    let server = Server::start_in(tmp.path(), &[]);
    let otp = code(HANAKO_TOKEN, 0);
    assert_eq!(
        verify(&server, &key, HANAKO.0, &otp, "transfer").0,
        "cancelled"
    );
}

/// The master key of a data directory (created on first use, as `serve --demo` does).
fn sealer(dir: &std::path::Path) -> keitai_gateway::seal::Sealer {
    let path = dir.join("master.key");
    keitai_gateway::seal::Sealer::load(&path)
        .or_else(|_| keitai_gateway::seal::Sealer::create(&path))
        .unwrap()
}
