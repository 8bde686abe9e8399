//! Each front answers every error in its own form, over real sockets: the OTP API in JSON
//! (with 403 and 401 decided before the body is read), the branch console in UTF-8 HTML with
//! real statuses, the phone pages in Shift_JIS with status 200 (the log keeps the logical
//! status). A storage failure is 503 in each.

use crate::api::{json_of, start as api_start, VERIFY};
use crate::support::*;
use std::time::Duration;

/// Longer than any answer here takes, shorter than the `--client-timeout` of the tests that
/// show an answer does not wait for the body: a front that waited would miss it.
const PROMPT: Duration = Duration::from_secs(10);
/// A body timeout the tests above never reach.
const PATIENT: &[&str] = &["--client-timeout", "60"];

fn head(method: &str, path: &str, headers: &[(&str, &str)]) -> String {
    let mut h = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    for (k, v) in headers {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    h.push_str("\r\n");
    h
}

fn post(path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let length = body.len().to_string();
    let mut all = vec![("Content-Length", length.as_str())];
    all.extend_from_slice(headers);
    let mut bytes = head("POST", path, &all).into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn utf8_page(r: &Resp, status: u16, needle: &str) {
    assert_eq!(r.status, status);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    let text = std::str::from_utf8(&r.body).expect("UTF-8");
    assert!(text.contains(needle), "{needle} in:\n{text}");
}

#[test]
fn api_body_errors_are_json() {
    let (_tmp, server, key) = api_start(&["--client-timeout", "1"]);
    let bearer = format!("Bearer {key}");
    let auth = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/json"),
    ];
    // 9 KB, declared.
    let big = vec![b' '; 9 * 1024];
    let r = exchange_partial(server.addr, &post(VERIFY, &auth, &big), PROMPT);
    assert_eq!(r.status, 413);
    assert_eq!(json_of(&r)["error"], "too_large");
    // 9 KB in chunks, no length declared: refused as it passes the limit.
    let mut chunked = head("POST", VERIFY, &[auth[0], ("Transfer-Encoding", "chunked")]);
    chunked.push_str(&format!("2400\r\n{}\r\n0\r\n\r\n", " ".repeat(0x2400)));
    let r = exchange_partial(server.addr, chunked.as_bytes(), PROMPT);
    assert_eq!(r.status, 413);
    assert_eq!(json_of(&r)["error"], "too_large");
    // A body cut short by bad chunking.
    let mut broken = head("POST", VERIFY, &[auth[0], ("Transfer-Encoding", "chunked")]);
    broken.push_str("zz\r\n{}\r\n");
    let r = exchange_partial(server.addr, broken.as_bytes(), PROMPT);
    assert_eq!(r.status, 400);
    assert_eq!(json_of(&r)["error"], "bad_request");
    // A body that never finishes: 408 once --client-timeout (1 s) has passed.
    let mut slow = head("POST", VERIFY, &[auth[0], ("Content-Length", "100")]).into_bytes();
    slow.extend_from_slice(b"{\"contract_id\":");
    let r = exchange_partial(server.addr, &slow, PROMPT);
    assert_eq!(r.status, 408);
    let v = json_of(&r);
    assert_eq!(v["error"], "timeout");
    assert!(v["message"].is_string());
    assert!(server.logged("POST", VERIFY, 408));
}

#[test]
fn api_refuses_outsiders_and_wrong_keys_before_the_body() {
    // Headers declaring a large body, and no body: the answer comes at once, not after the
    // (60 s) body timeout.
    let (_tmp, server, key) = api_start(&[PATIENT, &["--internal-network", "10.0.0.0/8"]].concat());
    let bearer = format!("Bearer {key}");
    let owed = head(
        "POST",
        VERIFY,
        &[("Authorization", &bearer), ("Content-Length", "100000")],
    );
    let r = exchange_partial(server.addr, owed.as_bytes(), PROMPT);
    assert_eq!(r.status, 403);
    assert_eq!(json_of(&r)["error"], "forbidden");
    drop(server);

    let (_tmp, server, _key) = api_start(PATIENT);
    let wrong = format!("Bearer kgw_{}", "A".repeat(43));
    for auth in [wrong.as_str(), "Basic x"] {
        let owed = head(
            "POST",
            VERIFY,
            &[("Authorization", auth), ("Content-Length", "100")],
        );
        let r = exchange_partial(server.addr, owed.as_bytes(), PROMPT);
        assert_eq!(r.status, 401, "{auth}");
        assert_eq!(json_of(&r)["error"], "unauthorized");
    }
}

#[test]
fn console_body_errors_are_utf8_pages() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_in(tmp.path(), &["--client-timeout", "1"]);
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let big = format!("staff_id={}", "1".repeat(9 * 1024));
    let r = exchange_partial(
        server.addr,
        &post("/branch/login", &form, big.as_bytes()),
        PROMPT,
    );
    utf8_page(&r, 413, "送信内容が大きすぎます");
    let r = exchange_partial(
        server.addr,
        &post("/branch/login", &form, b"staff_id=%FF"),
        PROMPT,
    );
    utf8_page(&r, 400, "送信内容を読み取れませんでした");
    let mut slow = head("POST", "/branch/login", &[("Content-Length", "100")]).into_bytes();
    slow.extend_from_slice(b"staff_id=C");
    let r = exchange_partial(server.addr, &slow, PROMPT);
    utf8_page(&r, 408, "送信に時間がかかりすぎた");
}

#[test]
fn console_refuses_outsiders_before_the_body() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_in(
        tmp.path(),
        &[PATIENT, &["--branch-network", "10.0.0.0/8"]].concat(),
    );
    let owed = head("POST", "/branch/login", &[("Content-Length", "100000")]);
    let r = exchange_partial(server.addr, owed.as_bytes(), PROMPT);
    assert_eq!(r.status, 403);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
}

#[test]
fn phone_body_errors_are_shift_jis_pages_sent_as_200() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_in(tmp.path(), &["--client-timeout", "1"]);
    let ua = [("User-Agent", AU)];
    let big = format!("contract_id={}", "1".repeat(9 * 1024));
    let r = exchange_partial(server.addr, &post("/login", &ua, big.as_bytes()), PROMPT);
    r.assert_phone_error("入力が長すぎます");
    // In the handset's dialect: au's own pictograms, nobody else's.
    assert!(!r.pictogram_codes().is_empty(), "{}", r.text);
    let au_keys = [
        0xF6FB, 0xF6FC, 0xF740, 0xF741, 0xF742, 0xF743, 0xF744, 0xF745, 0xF746, 0xF7C9, 0xF489,
    ];
    assert!(r.pictogram_codes().iter().all(|c| au_keys.contains(c)));
    let mut broken = head("POST", "/login", &[ua[0], ("Transfer-Encoding", "chunked")]);
    broken.push_str("zz\r\ncontract_id=1\r\n");
    let r = exchange_partial(server.addr, broken.as_bytes(), PROMPT);
    r.assert_phone_error("送信内容が正しくありません");
    let mut slow = head("POST", "/login", &[ua[0], ("Content-Length", "100")]).into_bytes();
    slow.extend_from_slice(b"contract_id=1");
    let r = exchange_partial(server.addr, &slow, PROMPT);
    r.assert_phone_error("タイムアウト");
    assert!(server.logged("POST", "/login", 413));
    assert!(server.logged("POST", "/login", 400));
    assert!(server.logged("POST", "/login", 408));
}

#[test]
fn a_storage_failure_is_503_in_each_fronts_form() {
    let (tmp, server, key) = api_start(&[]);
    server.kill();
    damage_seed(tmp.path(), HANAKO_TOKEN);
    damage_staff(tmp.path(), CLERK_HONTEN.0);
    let server = Server::start_in(tmp.path(), &[]);

    // API: JSON, no internals.
    let body = format!(
        r#"{{"contract_id":"{}","otp":"{}","purpose":"login"}}"#,
        HANAKO.0,
        code(HANAKO_TOKEN, 0)
    );
    let bearer = format!("Bearer {key}");
    let r = exchange_partial(
        server.addr,
        &post(VERIFY, &[("Authorization", &bearer)], body.as_bytes()),
        PROMPT,
    );
    assert_eq!(r.status, 503);
    let v = json_of(&r);
    assert_eq!(v["error"], "unavailable");
    assert!(
        !r.text.contains("tokens") && !r.text.contains(HANAKO_TOKEN),
        "{}",
        r.text
    );

    // Phone: the Shift_JIS page, sent as 200, logged as 503.
    let mut phone = server.phone(AU);
    let top = phone.get("/");
    let otp_page = phone.submit(&top, &[("contract_id", HANAKO.0), ("password", HANAKO.1)]);
    let r = phone.submit(&otp_page, &[("otp", &code(HANAKO_TOKEN, 0))]);
    r.assert_phone_error("ただいま処理できません");
    assert!(server.logged("POST", "/login/otp", 503));

    // Console: the UTF-8 page.
    let mut staff = Staff::new(server.addr);
    let page = staff.get("/branch/login");
    assert_eq!(page.status, 200);
    let r = staff.post(
        "/branch/login",
        &[("staff_id", CLERK_HONTEN.0), ("password", CLERK_HONTEN.1)],
    );
    utf8_page(&r, 503, "ただいま処理できません");
}

#[test]
fn head_is_answered_as_get_by_every_front() {
    let server = Server::start();
    for (path, ua) in [
        ("/", FOMA),
        ("/branch/login", "Mozilla/5.0"),
        ("/api/v1/health", ""),
    ] {
        let get = server
            .phone(ua)
            .raw(head("GET", path, &[("User-Agent", ua)]).as_bytes());
        let r = server
            .phone(ua)
            .raw(head("HEAD", path, &[("User-Agent", ua)]).as_bytes());
        assert_eq!((r.status, get.status), (200, 200), "{path}");
        assert!(r.body.is_empty(), "{path}: a HEAD answer has no body");
        assert_eq!(
            r.header("content-type"),
            get.header("content-type"),
            "{path}"
        );
        assert_eq!(
            r.header("content-length"),
            Some(get.body.len().to_string().as_str()),
            "{path}"
        );
    }
    assert!(server.logged("HEAD", "/", 200));
    // A path only POST reaches: the phone's error page (head only), logged as 405.
    let r = server
        .phone(FOMA)
        .raw(head("HEAD", "/login", &[("User-Agent", FOMA)]).as_bytes());
    assert_eq!(r.status, 200);
    assert!(server.logged("HEAD", "/login", 405));
}
