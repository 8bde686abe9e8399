//! The phone emulator (`serve --emulator`): in a real Chromium, a tester walks 利用開始 on a
//! DoCoMo FOMA handset (no cookies) and an au handset (cookies) with the on-screen token code;
//! and `/emulator/` exists only for the emulator networks, and only reaches this gateway.

use crate::support::webdriver::Browser;
use crate::support::{now, one_bank, Server, HANAKO, HANAKO_TOKEN, ICHIRO, TARO};
use std::path::{Path, PathBuf};

fn shots() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

fn emulator_server(dir: &Path) -> Server {
    Server::start_in(dir, &["--emulator"])
}

/// Presses keys, fills the two 利用開始 forms and returns the receipt screen's text.
fn walk_start(b: &Browser, who: (&str, &str, &str), serial: &str) -> String {
    b.click(r#"button.key[data-key="1"]"#);
    b.wait_text("#title", "利用開始");
    b.type_into("#screen input[name=contract_id]", who.0);
    b.type_into("#screen input[name=password]", who.1);
    // The soft key submits the form the focus is in (the password field).
    b.click("#soft-submit");
    b.wait_text("#screen", "シリアル番号");

    let code = token_code(b, serial);
    b.type_into("#screen input[name=serial]", serial);
    b.type_into("#screen input[name=otp]", &code);
    b.type_into("#screen input[name=transfer_password]", who.2);
    b.click("#screen input[type=submit]");
    b.wait_text("#screen", "登録が完了しました")
}

/// Picks `serial` in the token panel and returns the code it shows for it.
fn token_code(b: &Browser, serial: &str) -> String {
    b.click(&format!("#token-serial option[value={serial}]"));
    let started = std::time::Instant::now();
    loop {
        let shown = b.exec("return document.getElementById('token-code').dataset.serial");
        let code = b.text("#token-code");
        if shown == serial && code.len() == 6 && code.bytes().all(|c| c.is_ascii_digit()) {
            return code;
        }
        assert!(
            started.elapsed() < crate::support::webdriver::PATIENCE,
            "no token code"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn walks_start_on_docomo_without_cookies_and_au_with_cookies() {
    let tmp = tempfile::tempdir().unwrap();
    let server = emulator_server(tmp.path());
    let b = Browser::start();
    b.goto(&format!("http://{}/emulator/", server.addr));
    b.find("body[data-ready]");

    // DoCoMo P903i: pictograms drawn from i-mode's codes, session ID in the URL, no cookie.
    b.click("#handset option[value=docomo-p903i]");
    b.wait_text("#title", "ログイン");
    let codes = b.exec(
        "return [...document.querySelectorAll('#screen svg.picto')].map(s => s.dataset.code)",
    );
    let codes: Vec<&str> = codes
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c.as_str())
        .collect();
    assert_eq!(
        codes,
        ["F987", "F988", "F989", "F98A", "F990"],
        "keys 1 2 3, 4 (法人 管理者ログイン) and 0"
    );
    assert!(!b.text("#screen").contains('?'), "no ?? for pictograms");
    assert_eq!(b.text("#chtml"), "OK");
    b.wait_text("#budget", "/ 102400 bytes");
    b.screenshot(&shots().join("emulator-docomo-top.png"));
    let modes =
        b.exec("return [...document.querySelectorAll('#screen .mode')].map(s => s.textContent)");
    assert_eq!(modes, serde_json::json!(["数字", "英字"]), "istyle 4 and 3");

    let receipt = {
        b.click(r#"button.key[data-key="1"]"#);
        // i-mode sent its ID because the link said guid=ON.
        b.wait_text("#request", "GET http://");
        let request = b.wait_text("#request", "/start?guid=ON");
        assert!(request.contains("X-DCMGUID: EMU903P"), "{request}");
        b.click("#soft-back");
        b.wait_text("#title", "ログイン");
        walk_start(&b, TARO, "GMHW00000001")
    };
    assert!(receipt.contains("受付番号"), "{receipt}");
    assert!(receipt.contains("GMHW00000001"), "{receipt}");
    let request = b.text("#request");
    assert!(!request.contains("Cookie:"), "{request}");
    assert!(
        !request.contains("Referer:"),
        "i-mode 1.0 sends none: {request}"
    );
    assert!(request.contains("password = ********"), "{request}");
    assert_eq!(
        b.exec("return document.getElementById('jar').dataset.count"),
        "0"
    );
    assert!(b.text("#jar").contains("保持しません"));
    // The emulator never sets cookies in the tester's own browser either.
    assert_eq!(b.exec("return document.cookie"), "");
    b.screenshot(&shots().join("emulator-docomo-receipt.png"));
    // Enter on the focused link follows it (ログイン画面に戻る).
    b.type_into("#screen", "\u{E015}");
    b.type_into("#screen a", "\u{E007}");
    b.wait_text("#title", "ログイン");

    // au SA31: the same walk; the session rides in a cookie the handset keeps.
    b.click("#handset option[value=au-sa31]");
    b.wait_text("#title", "ログイン");
    b.find(r#"#screen svg.picto[data-code="F6FB"]"#);
    b.screenshot(&shots().join("emulator-au-top.png"));
    assert_eq!(
        b.exec("return document.getElementById('jar').dataset.count"),
        "0"
    );
    b.click(r#"button.key[data-key="1"]"#);
    b.wait_text("#title", "利用開始");
    let request = b.text("#request");
    assert!(request.contains("X-UP-SUBNO: "), "{request}");
    assert!(request.contains("x-up-devcap-max-pdu: 131072"), "{request}");
    assert!(request.contains("Referer: http://"), "{request}");
    b.click("#soft-back");
    b.wait_text("#title", "ログイン");
    // The computer keyboard's digit keys follow the accesskeys too; arrows move the focus.
    b.type_into("#screen", "1");
    b.wait_text("#title", "利用開始");
    b.type_into("#screen", "\u{E015}");
    assert_eq!(b.exec("return document.activeElement.name"), "contract_id");
    let mode = b.exec("return document.activeElement.dataset.mode");
    assert_eq!(mode, "数字", "EZweb format=\"*N\"");
    b.type_into("#screen input[name=contract_id]", ICHIRO.0);
    b.type_into("#screen input[name=password]", ICHIRO.1);
    b.click("#soft-submit");
    b.wait_text("#screen", "シリアル番号");
    assert_eq!(
        b.exec("return document.getElementById('session').dataset.rides"),
        "cookie"
    );
    assert_eq!(
        b.exec("return document.getElementById('jar').dataset.count"),
        "1"
    );
    assert!(b.text("#jar").starts_with("sid="));
    let code = token_code(&b, "GMHW00000002");
    b.type_into("#screen input[name=serial]", "GMHW00000002");
    b.type_into("#screen input[name=otp]", &code);
    b.type_into("#screen input[name=transfer_password]", ICHIRO.2);
    b.click("#screen input[type=submit]");
    let receipt = b.wait_text("#screen", "登録が完了しました");
    assert!(receipt.contains("GMHW00000002"), "{receipt}");
    let request = b.text("#request");
    assert!(
        request.contains("Cookie: sid="),
        "au sent its cookie: {request}"
    );
    // The finished journey cleared the cookie, and the handset dropped it.
    assert_eq!(
        b.exec("return document.getElementById('jar').dataset.count"),
        "0"
    );
    assert_eq!(b.exec("return document.cookie"), "");
}

#[test]
fn walks_exchange_on_softbank_with_both_tokens_from_the_token_panel() {
    let tmp = tempfile::tempdir().unwrap();
    let server = emulator_server(tmp.path());
    let b = Browser::start();
    b.goto(&format!("http://{}/emulator/", server.addr));
    b.find("body[data-ready]");
    b.click("#handset option[value=softbank-910t]");
    b.wait_text("#title", "ログイン");
    // SoftBank pictograms arrive as webcode and are drawn from it.
    b.find(r#"#screen svg.picto[data-code="1B24463C0F"]"#);
    b.click(r#"button.key[data-key="2"]"#);
    b.wait_text("#title", "交換");
    b.type_into("#screen input[name=contract_id]", HANAKO.0);
    b.type_into("#screen input[name=password]", HANAKO.1);
    b.click("#soft-submit");
    b.wait_text("#screen", "現ワンタイムパスワードの認証");
    let code = token_code(&b, HANAKO_TOKEN);
    b.type_into("#screen input[name=otp]", &code);
    b.click("#soft-submit");
    b.wait_text("#screen", "新ワンタイムパスワード認証");
    let code = token_code(&b, "GMHW00000003");
    b.type_into("#screen input[name=serial]", "GMHW00000003");
    b.type_into("#screen input[name=otp]", &code);
    b.click("#screen input[type=submit]");
    let done = b.wait_text("#screen", "登録が完了しました");
    assert!(done.contains("変更後 GMHW00000003"), "{done}");
    assert!(done.contains(&format!("変更前 {HANAKO_TOKEN}")), "{done}");
    let request = b.text("#request");
    assert!(request.contains("X-JPHONE-UID: "), "{request}");
    assert!(
        request.contains("Cookie: sid="),
        "SoftBank keeps cookies: {request}"
    );
    assert_eq!(b.text("#chtml"), "OK");
}

#[test]
fn emulator_is_404_when_off_or_for_clients_outside_the_emulator_networks() {
    let off = Server::start();
    assert_eq!(off.request("GET", "/emulator/", "").0, 404);
    assert_eq!(off.request("POST", "/emulator/send", "{}").0, 404);

    // --emulator, but the emulator networks leave out loopback, where the test connects from.
    let bank = tempfile::tempdir().unwrap();
    let data = one_bank();
    std::fs::copy(data.join("bank.toml"), bank.path().join("bank.toml")).unwrap();
    std::fs::create_dir(bank.path().join("demo")).unwrap();
    for f in std::fs::read_dir(data.join("demo")).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, bank.path().join("demo").join(f.file_name().unwrap())).unwrap();
    }
    std::fs::write(
        bank.path().join("carrier_networks.toml"),
        "emulator_networks = [\"192.0.2.0/24\"]\n",
    )
    .unwrap();
    let db = tempfile::tempdir().unwrap();
    let elsewhere = Server::start_with_bank(db.path(), bank.path(), &["--emulator"]);
    for path in [
        "/emulator/",
        "/emulator",
        "/emulator/emulator.js",
        "/emulator/handsets",
    ] {
        assert_eq!(elsewhere.request("GET", path, "").0, 404, "{path}");
    }
    let ask = r#"{"handset":"au-sa31","method":"GET","target":"/"}"#;
    assert_eq!(elsewhere.request("POST", "/emulator/send", ask).0, 404);
    // The phone pages themselves are unaffected.
    assert_eq!(elsewhere.request("GET", "/", "").0, 200);
}

#[test]
fn emulator_reaches_only_this_gateways_phone_pages() {
    let tmp = tempfile::tempdir().unwrap();
    let server = emulator_server(tmp.path());
    assert_eq!(server.request("GET", "/emulator/", "").0, 200);
    for target in [
        "http://example.com/",
        "//example.com/",
        "/branch/",
        "/api/v1/verify",
        "/emulator/send",
    ] {
        let ask = format!(r#"{{"handset":"au-sa31","method":"GET","target":"{target}"}}"#);
        let (code, body) = server.request("POST", "/emulator/send", &ask);
        assert_eq!(code, 400, "{target}: {body}");
    }
    let ask = r#"{"handset":"softbank-910t","method":"GET","target":"/help"}"#;
    // Another site open in the tester's browser cannot drive it: no JSON, or another origin.
    let foreign = |headers: &str| {
        let req = format!(
            "POST /emulator/send HTTP/1.1\r\nHost: {}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{ask}",
            server.addr,
            ask.len()
        );
        server.phone("test").raw(req.as_bytes()).status
    };
    assert_eq!(foreign("Content-Type: text/plain\r\n"), 415);
    let other = "Content-Type: application/json\r\nOrigin: http://evil.example\r\n";
    assert_eq!(foreign(other), 403);
    let own = format!(
        "Content-Type: application/json\r\nOrigin: http://{}\r\n",
        server.addr
    );
    assert_eq!(foreign(&own), 200);
    let (code, body) = server.request("POST", "/emulator/send", ask);
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], 200);
    assert_eq!(v["chtml"]["ok"], true, "{}", v["chtml"]);
    // SoftBank's webcode pictogram came back as the gateway's code point.
    assert!(
        v["page"].as_str().unwrap().contains('\u{E224}'),
        "{}",
        v["page"]
    );
    let (code, body) = server.request("GET", "/emulator/token?serial=GMHW00000001", "");
    assert_eq!(code, 200, "{body}");
    let t: serde_json::Value = serde_json::from_str(&body).unwrap();
    // As token-code shows it at the gateway's time (the test's, see `support::now`).
    let seeds = keitai_gateway::inventory::read(&one_bank().join("demo/tokens.csv")).unwrap();
    let seed = seeds.iter().find(|s| s.serial == "GMHW00000001").unwrap();
    assert_eq!(
        t["code"].as_str(),
        Some(seed.code_at(now()).as_str()),
        "{t}"
    );
}

/// One `/emulator/send`, as JSON.
fn send(server: &Server, ask: serde_json::Value) -> serde_json::Value {
    let (code, body) = server.request("POST", "/emulator/send", &ask.to_string());
    assert_eq!(code, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

fn sent_header(answer: &serde_json::Value, name: &str) -> Option<String> {
    answer["request"]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0].as_str().unwrap().eq_ignore_ascii_case(name))
        .map(|h| h[1].as_str().unwrap().to_owned())
}

#[test]
fn emulator_sends_what_each_handset_sends() {
    let tmp = tempfile::tempdir().unwrap();
    let server = emulator_server(tmp.path());
    let jar = serde_json::json!([["sid", "from-an-earlier-page"]]);
    let ask = |handset: &str, target: &str, subscriber: bool| {
        serde_json::json!({ "handset": handset, "method": "GET", "target": target,
            "subscriber": subscriber, "cookies": jar, "referer": "/" })
    };

    // i-mode: the ID only to guid=ON URLs and only with the switch on; no cookie, no Referer.
    let a = send(&server, ask("docomo-p903i", "/help?guid=ON", true));
    assert_eq!(sent_header(&a, "X-DCMGUID").as_deref(), Some("EMU903P"));
    assert_eq!(sent_header(&a, "Cookie"), None);
    assert_eq!(sent_header(&a, "Referer"), None);
    assert_eq!(a["cookies"]["keeps"], false);
    let a = send(&server, ask("docomo-p903i", "/help", true));
    assert_eq!(sent_header(&a, "X-DCMGUID"), None);
    let a = send(&server, ask("docomo-p903i", "/help?guid=ON", false));
    assert_eq!(sent_header(&a, "X-DCMGUID"), None);

    // au: subscriber number, max PDU, the cookie it keeps, a Referer on this gateway.
    let a = send(&server, ask("au-sa31", "/help", true));
    assert_eq!(
        sent_header(&a, "X-UP-SUBNO").as_deref(),
        Some("05001234567890_ma.ezweb.ne.jp")
    );
    assert_eq!(
        sent_header(&a, "x-up-devcap-max-pdu").as_deref(),
        Some("131072")
    );
    assert_eq!(
        sent_header(&a, "Cookie").as_deref(),
        Some("sid=from-an-earlier-page")
    );
    let referer = sent_header(&a, "Referer").unwrap();
    assert_eq!(referer, format!("http://{}/", server.addr));
    assert_eq!(a["sent_session"]["rides"], "cookie");
    assert_eq!(a["budget"], 131072);

    // SoftBank 3G and J-PHONE: UID and the handset name the gateway adds; WILLCOM: no ID.
    let a = send(&server, ask("softbank-910t", "/help", true));
    assert_eq!(
        sent_header(&a, "X-JPHONE-UID").as_deref(),
        Some("c0123456789abcde")
    );
    assert_eq!(sent_header(&a, "x-jphone-msname").as_deref(), Some("910T"));
    let a = send(&server, ask("jphone-sh51", "/help", true));
    assert!(
        a["page"].as_str().unwrap().contains('\u{E224}'),
        "webcode 9"
    );
    let a = send(&server, ask("willcom-wx310k", "/help", true));
    assert!(["X-DCMGUID", "X-UP-SUBNO", "X-JPHONE-UID"]
        .iter()
        .all(|h| sent_header(&a, h).is_none()));
    assert!(
        a["page"].as_str().unwrap().contains("[9]"),
        "WILLCOM keys are text"
    );

    // An error page goes out as 200, as to a real phone; the inspector has the status logged.
    let a = send(&server, ask("au-sa31", "/no-such-page", true));
    assert_eq!(
        (a["status"].as_u64(), a["logged_status"].as_u64()),
        (Some(200), Some(404))
    );

    // A form goes as Shift_JIS and is shown decoded; passwords masked.
    let a = send(
        &server,
        serde_json::json!({ "handset": "docomo-p903i", "method": "POST", "target": "/start",
            "fields": [["contract_id", "１０００"], ["password", "Pass1234"]] }),
    );
    assert_eq!(
        a["request"]["body"],
        "contract_id=%82P%82O%82O%82O&password=********"
    );
    assert_eq!(
        a["request"]["form"][0],
        serde_json::json!(["contract_id", "１０００"])
    );
    assert_eq!(
        a["request"]["form"][1],
        serde_json::json!(["password", "********"])
    );
    assert_eq!(a["status"], 200);
}
