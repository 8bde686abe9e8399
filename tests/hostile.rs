//! Bad and hostile requests: each gets a clear Shift_JIS error page (or hyper's own refusal),
//! changes nothing and never takes the server down.

use crate::support::*;

#[test]
fn oversized_body_is_refused() {
    let server = Server::start();
    let mut phone = server.phone(FOMA);
    let body = format!("contract_id={}", "1".repeat(9000));
    let r = phone.post_raw("/login", body.as_bytes());
    r.assert_phone_error("入力が長すぎます");
    assert!(server.logged("POST", "/login", 413));
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
    phone
        .get("/nope")
        .assert_phone_error("ページが見つかりません");
    phone
        .post("/", &[("a", "b")])
        .assert_phone_error("この操作はできません");
    assert!(server.logged("GET", "/nope", 404));
    assert!(server.logged("POST", "/", 405));
}

#[test]
fn nul_bytes_and_html_in_fields() {
    let server = Server::start();
    let mut phone = server.phone(FOMA);
    let r = phone.post_raw("/login", b"contract_id=1%00&password=x");
    r.assert_phone_error("使用できない文字");
    assert!(server.logged("POST", "/login", 400));
    let start = phone.get("/start");
    let r = phone.submit(&start, &[("contract_id", "<b>x</b>\"'"), ("password", "x")]);
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
    // Each runtime worker writes its lines in batches: wait for the two lines looked at, then
    // read the whole log.
    server.wait_log(" GET / 200 ");
    server.wait_log(" POST /login/otp 200 ");
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

#[test]
fn slow_clients_are_cut_off() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_in(tmp.path(), &["--client-timeout", "1"]);
    // A head that never finishes: the server closes the connection.
    let mut s = std::net::TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    use std::io::{Read, Write};
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    let started = std::time::Instant::now();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(9),
        "connection was not cut off"
    );
    // A body that never arrives: the error page (sent as 200, logged as 408).
    let mut s = std::net::TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    s.write_all(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\ncontract_id=1")
        .unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let (text, _, _) = encoding_rs::SHIFT_JIS.decode(&buf);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("タイムアウト"), "{text}");
    assert!(server.logged("POST", "/login", 408));
    // Others are served meanwhile and after.
    assert_eq!(server.phone(FOMA).get("/").status, 200);
}

#[test]
fn the_top_page_is_answered_alike_however_it_is_asked() {
    // GET / without a body is answered in place (server::answer); with a body, a bad query or
    // as HEAD it must still get the same page, error page or head as any other path would.
    let server = Server::start();
    let phone = server.phone(FOMA);
    let get = |extra: &str, body: &str| {
        let req = format!(
            "GET /{extra} HTTP/1.1\r\nHost: x\r\nUser-Agent: {FOMA}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        phone.raw(req.as_bytes())
    };
    let plain = get("", "");
    plain.assert_contains("ログイン");
    assert_eq!(plain.header("cache-control"), Some("no-store"));
    // With a body (read, then ignored): the same page but for the form's value.
    let with_body = get("", "a=1");
    with_body.assert_contains("ログイン");
    assert_eq!(with_body.body.len(), plain.body.len());
    // guid=ON in the query: the i-mode links ask for the subscriber ID.
    get("?guid=ON", "").assert_contains("guid=ON");
    // A query that cannot be decoded: the phone error page, logged with its status.
    get("?x=%0D%0A", "").assert_phone_error("使用できない文字");
    assert!(server.logged("GET", "/", 400));
    // HEAD: the GET's head, no body.
    let head = phone.raw(
        format!("HEAD / HTTP/1.1\r\nHost: x\r\nUser-Agent: {FOMA}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    );
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(
        head.header("content-length"),
        Some(plain.body.len().to_string().as_str())
    );
    // A PC is pointed to the bank's PC site, here as on every phone path.
    let pc = phone.raw(
        b"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: Mozilla/5.0 (Windows NT 10.0)\r\nConnection: close\r\n\r\n",
    );
    pc.assert_contains("パソコン・スマートフォン");
    assert!(server.logged("GET", "/", 200));
}

#[test]
fn a_head_dripped_a_byte_at_a_time_is_cut_off_and_an_idle_keep_alive_too() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_in(tmp.path(), &["--client-timeout", "1"]);
    // A byte every 200 ms never lets the connection fall silent, but the head as a whole is
    // bounded: cut soon after a second.
    let mut s = std::net::TcpStream::connect(server.addr).unwrap();
    let began = Instant::now();
    let mut cut = None;
    for b in b"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: DoCoMo/2.0 P903i(c100;TB;W24H12)\r\n".iter()
    {
        std::thread::sleep(Duration::from_millis(200));
        if s.write_all(&[*b]).is_err() {
            cut = Some(began.elapsed());
            break;
        }
        let mut probe = [0u8; 1];
        s.set_nonblocking(true).unwrap();
        let closed = matches!(s.read(&mut probe), Ok(0));
        s.set_nonblocking(false).unwrap();
        if closed {
            cut = Some(began.elapsed());
            break;
        }
    }
    let cut = cut.expect("a dripped head was never cut off");
    assert!(
        cut >= Duration::from_millis(900) && cut < Duration::from_secs(4),
        "cut after {cut:?}"
    );
    // A kept-alive connection that sends nothing after its answer is closed too.
    let mut s = std::net::TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(
        b"GET /help HTTP/1.1\r\nHost: x\r\nUser-Agent: DoCoMo/2.0 P903i(c100;TB;W24H12)\r\n\r\n",
    )
    .unwrap();
    let began = Instant::now();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let (text, _, _) = encoding_rs::SHIFT_JIS.decode(&answer);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.contains("ヘルプ") || text.contains("お問い合わせ"),
        "{text}"
    );
    assert!(
        began.elapsed() < Duration::from_secs(4),
        "idle connection kept open"
    );
}

#[test]
fn header_injection_attempts_change_no_header() {
    let server = Server::start();
    let mut phone = server.phone(AU);
    let r = phone.get("/menu?sid=x%0D%0ASet-Cookie:%20sid=evil");
    r.assert_phone_error("使用できない文字");
    assert!(r.header("set-cookie").is_none());
    let r = phone.post_raw(
        "/login",
        b"contract_id=1%0D%0ALocation:%20http://evil&password=x",
    );
    r.assert_phone_error("使用できない文字");
    assert!(r.header("location").is_none());
    // A raw CR/LF in a header value never reaches the gateway's logic.
    let raw = phone.raw(b"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: a\rSet-Cookie: b\r\n\r\n");
    assert!(raw.status == 400 || raw.status == 200, "{}", raw.status);
    assert!(raw.header("set-cookie").is_none());
}

#[test]
fn parallel_wrong_otps_cannot_exceed_the_limit() {
    let server = Server::start();
    // Twelve sessions of the same customer, each at the login OTP page.
    let pages: Vec<(Phone, Resp)> = (0..12)
        .map(|_| {
            let mut phone = server.phone(FOMA);
            let top = phone.get("/");
            let page = phone.submit(&top, &[("contract_id", HANAKO.0), ("password", HANAKO.1)]);
            page.assert_contains("ワンタイムパスワード認証");
            (phone, page)
        })
        .collect();
    let wrong = wrong_code(HANAKO_TOKEN);
    let results: Vec<Resp> = std::thread::scope(|scope| {
        let handles: Vec<_> = pages
            .into_iter()
            .map(|(mut phone, page)| {
                let wrong = wrong.clone();
                scope.spawn(move || phone.submit(&page, &[("otp", &wrong)]))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let counted = results
        .iter()
        .filter(|r| r.text.contains("回間違えると"))
        .count();
    let locked = results
        .iter()
        .filter(|r| r.text.contains("ロックされています"))
        .count();
    assert_eq!(
        counted, 4,
        "exactly four wrong codes counted before the lock"
    );
    assert_eq!(locked, 8);
    // The right code no longer opens anything.
    let mut phone = server.phone(FOMA);
    let top = phone.get("/");
    let page = phone.submit(&top, &[("contract_id", HANAKO.0), ("password", HANAKO.1)]);
    phone
        .submit(&page, &[("otp", &code(HANAKO_TOKEN, 0))])
        .assert_contains("ロックされています");
}

#[test]
fn parallel_wrong_passwords_cannot_exceed_the_limit() {
    let server = Server::start();
    let results: Vec<Resp> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..12)
            .map(|_| {
                let mut phone = server.phone(FOMA);
                scope.spawn(move || {
                    let top = phone.get("/");
                    phone.submit(&top, &[("contract_id", TARO.0), ("password", "guess")])
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let wrong = results
        .iter()
        .filter(|r| r.text.contains("正しくありません"))
        .count();
    let locked = results
        .iter()
        .filter(|r| r.text.contains("ロックされています"))
        .count();
    // Attempts are counted before the hash is checked, so the guesses in flight together use up
    // the limit: none is accepted, none past the limit is ever checked.
    assert_eq!(wrong + locked, 12);
    assert!(locked >= 8, "{wrong} wrong, {locked} locked");
    let mut phone = server.phone(FOMA);
    let top = phone.get("/");
    phone
        .submit(&top, &[("contract_id", TARO.0), ("password", TARO.1)])
        .assert_contains("ロックされています");
}
