//! Bad and hostile requests: each gets a clear Shift_JIS error page (or hyper's own refusal),
//! changes nothing and never takes the server down.

use crate::support::*;

#[test]
fn oversized_body_is_refused() {
    let server = Server::start();
    let mut phone = server.phone(FOMA);
    let body = format!("contract_id={}", "1".repeat(9000));
    let r = phone.post_raw("/login", body.as_bytes());
    assert_eq!(r.status, 413);
    r.assert_chtml(5000);
    // Still serving.
    assert_eq!(phone.get("/").status, 200);
}

#[test]
fn oversized_headers_are_refused() {
    let server = Server::start();
    let phone = server.phone(FOMA);
    let big = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    let r = phone.raw(big.as_bytes());
    assert_eq!(r.status, 431);
    let mut phone = server.phone(FOMA);
    assert_eq!(phone.get("/").status, 200);
}

#[test]
fn unknown_paths_and_methods() {
    let server = Server::start();
    let mut phone = server.phone(FOMA);
    let r = phone.get("/nope");
    assert_eq!(r.status, 404);
    r.assert_chtml(5000)
        .assert_contains("ページが見つかりません");
    let r = phone.post("/", &[("a", "b")]);
    assert_eq!(r.status, 405);
    r.assert_chtml(5000);
}

#[test]
fn nul_bytes_and_html_in_fields() {
    let server = Server::start();
    let mut phone = server.phone(FOMA);
    let r = phone.post_raw("/login", b"contract_id=1%00&password=x");
    assert_eq!(r.status, 400);
    r.assert_chtml(5000).assert_contains("使用できない文字");
    let r = phone.post(
        "/start",
        &[("contract_id", "<b>x</b>\"'"), ("password", "x")],
    );
    r.assert_chtml(5000);
    assert!(
        !r.text.contains("<b>x</b>"),
        "input is escaped:\n{}",
        r.text
    );
}

#[test]
fn http_1_0_without_host_is_served() {
    let server = Server::start();
    let phone = server.phone(FOMA);
    let r = phone.raw(b"GET / HTTP/1.0\r\nUser-Agent: DoCoMo/1.0/D503i/c10\r\n\r\n");
    assert_eq!(r.status, 200);
    r.assert_chtml(5000);
}

#[test]
fn the_log_has_one_line_per_request_and_no_secrets() {
    let server = Server::start();
    let mut phone = server.phone(FOMA);
    let top = phone.get("/");
    let otp_page = phone.submit(&top, &[("contract_id", HANAKO.0), ("password", HANAKO.1)]);
    let otp = code(HANAKO_TOKEN, 0);
    phone
        .submit(&otp_page, &[("otp", &otp)])
        .assert_contains("ようこそ");
    let log = server.log();
    assert!(
        log.lines()
            .any(|l| l.ends_with("ms") && l.contains("GET / 200 ")),
        "{log}"
    );
    assert!(log.contains("POST /login/otp 200 "), "{log}");
    for secret in [HANAKO.1, otp.as_str(), "sid=", "4HWWR3NVUUHDU66Y"] {
        assert!(!log.contains(secret), "{secret} in log:\n{log}");
    }
}
