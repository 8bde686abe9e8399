//! The carrier layer over real sockets, with phones emulated the way FireMobileSimulator drives
//! them: DoCoMo without cookies and with X-DCMGUID only on `guid=ON` URLs, au with X-UP-SUBNO
//! and `x-up-devcap-*`, SoftBank with X-JPHONE-UID / -MSNAME / -DISPLAY. Covers pictograms and
//! input modes per carrier, subscriber-ID trust and session binding, HTTPS behind a TLS proxy,
//! the i-mode 1.0 budgets, the PC pointer page and the `ua` command.

use crate::support::*;
use keitai_gateway::store::Store;
use std::path::{Path, PathBuf};
use std::process::Command;

const PC: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
const PC_SITE: &str = "https://www.keitai-shinkin.example/ib/";
const OTHER_HANDSET: &str = "ご利用の端末を確認できません";

/// i-mode keypad pictograms: F987–F990 (1–9, 0) and F985 (#).
const DOCOMO_CODES: [u16; 11] = [
    0xF987, 0xF988, 0xF989, 0xF98A, 0xF98B, 0xF98C, 0xF98D, 0xF98E, 0xF98F, 0xF990, 0xF985,
];
/// EZweb keypad pictograms: F6FB, F6FC, F740–F746 (1–9), F7C9 (0), F489 (#).
const AU_CODES: [u16; 11] = [
    0xF6FB, 0xF6FC, 0xF740, 0xF741, 0xF742, 0xF743, 0xF744, 0xF745, 0xF746, 0xF7C9, 0xF489,
];
/// SoftBank webcode for key 1.
const SOFTBANK_1: &str = "\u{1b}$F<\u{f}";

fn au_phone(server: &Server, subno: &str) -> Phone {
    server
        .phone(AU)
        .with_header("X-UP-SUBNO", subno)
        .with_header("x-up-devcap-max-pdu", "8192")
        .with_header("x-up-devcap-screenchars", "24,12")
        .with_header("x-up-devcap-screenpixels", "240,320")
}

fn softbank_phone(server: &Server, uid: &str) -> Phone {
    server
        .phone(SOFTBANK)
        .with_header("X-JPHONE-UID", uid)
        .with_header("X-JPHONE-MSNAME", "910T")
        .with_header("X-JPHONE-DISPLAY", "240*320")
        .with_header("X-JPHONE-COLOR", "C262144")
}

/// Which carrier's markup a page must speak.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Speaks {
    Docomo,
    Au,
    Softbank,
    Text,
}

/// Every page: within `budget`, and only its own carrier's pictograms and input-mode attribute.
fn check_page(r: &Resp, speaks: Speaks, budget: usize) {
    r.assert_chtml(budget);
    let codes = r.pictogram_codes();
    let webcode = r.text.contains('\u{1b}');
    let attr = |a: &str| r.text.contains(&format!(" {a}=\""));
    match speaks {
        Speaks::Docomo => {
            assert!(codes.iter().all(|c| DOCOMO_CODES.contains(c)), "{codes:X?}");
            assert!(!webcode && !attr("format") && !attr("mode"), "{}", r.text);
        }
        Speaks::Au => {
            assert!(codes.iter().all(|c| AU_CODES.contains(c)), "{codes:X?}");
            assert!(!webcode && !attr("istyle") && !attr("mode"), "{}", r.text);
        }
        Speaks::Softbank => {
            assert!(codes.is_empty(), "{codes:X?}");
            assert!(!attr("istyle") && !attr("format"), "{}", r.text);
        }
        Speaks::Text => {
            assert!(codes.is_empty() && !webcode, "{}", r.text);
        }
    }
}

/// Walks top → 利用開始 → credentials → token → receipt, checking every page.
fn walk_start(
    phone: &mut Phone,
    who: (&str, &str, &str),
    serial: &str,
    speaks: Speaks,
    budget: usize,
) -> Resp {
    let top = phone.get("/");
    check_page(&top, speaks, budget);
    let step1 = phone.follow(&top, '1');
    check_page(&step1, speaks, budget);
    let step2 = phone.submit(&step1, &[("contract_id", who.0), ("password", who.1)]);
    check_page(&step2, speaks, budget);
    step2.assert_contains("シリアル番号");
    let done = phone.submit(
        &step2,
        &[
            ("serial", serial),
            ("otp", &code(serial, 0)),
            ("login_otp", "1"),
            ("transfer_password", who.2),
        ],
    );
    check_page(&done, speaks, budget);
    done.assert_contains("ワンタイムパスワードの登録が完了しました");
    done
}

#[test]
fn each_carrier_walks_start_with_its_own_pictograms() {
    let server = Server::start();

    let mut docomo = server.phone(FOMA).with_guid("AbC1234");
    let top = docomo.get("/");
    assert!(top.pictogram_codes().contains(&0xF987), "i-mode 1 is F987");
    assert!(top.link('1').unwrap().contains("guid=ON"));
    assert!(top.form().unwrap().0.contains("guid=ON"));
    top.assert_contains("istyle=\"4\"");
    walk_start(&mut docomo, TARO, "GMHW00000001", Speaks::Docomo, 5000);

    let mut au = au_phone(&server, "01234567890123_ab.ezweb.ne.jp");
    let top = au.get("/");
    assert!(top.pictogram_codes().contains(&0xF6FB), "EZweb 1 is F6FB");
    top.assert_contains("format=\"*N\"");
    walk_start(&mut au, ICHIRO, "GMHW00000002", Speaks::Au, 5000);

    let mut softbank = softbank_phone(&server, "a1b2c3d4e5f6a7b8");
    let top = softbank.get("/");
    top.assert_contains(&format!("accesskey=\"1\">{SOFTBANK_1}利用開始"))
        .assert_contains("mode=\"numeric\"");
    walk_start(&mut softbank, JIRO, "GMHW00000003", Speaks::Softbank, 5000);

    // An unknown handset gets `[1]` text and every input-mode attribute.
    let mut unknown = server.phone("emobile/1.0.0 (H11T; like Gecko; Wireless) NetFront/3.4");
    let top = unknown.get("/");
    check_page(&top, Speaks::Text, 5000);
    top.assert_contains("accesskey=\"1\">[1]利用開始")
        .assert_contains("istyle=\"4\" format=\"*N\" mode=\"numeric\"");
}

#[test]
fn a_trusted_guid_binds_the_session_and_another_handset_is_refused() {
    let server = Server::start();
    let mut phone = server.phone(FOMA).with_guid("AbC1234");
    let top = phone.get("/");
    let step1 = phone.follow(&top, '1');
    let form = phone.submit(&step1, &[("contract_id", TARO.0), ("password", TARO.1)]);
    form.assert_contains("シリアル番号");
    let fields = [
        ("serial", "GMHW00000001"),
        ("otp", "000000"),
        ("login_otp", "1"),
        ("transfer_password", TARO.2),
    ];

    // The same session ID and form from another i-mode ID, or from none, is refused.
    let mut thief = server.phone(FOMA).with_guid("XyZ9876");
    thief
        .submit(&form, &fields)
        .assert_phone_error(OTHER_HANDSET);
    let mut anonymous = server.phone(FOMA);
    anonymous
        .submit(&form, &fields)
        .assert_phone_error(OTHER_HANDSET);
    assert!(server.logged("POST", "/start/token", 403));

    // The owner carries on undisturbed.
    let otp = code("GMHW00000001", 0);
    let done = phone.submit(
        &form,
        &[
            ("serial", "GMHW00000001"),
            ("otp", &otp),
            ("login_otp", "1"),
            ("transfer_password", TARO.2),
        ],
    );
    done.assert_contains("登録が完了しました");
}

#[test]
fn an_au_session_moved_to_another_subscriber_is_refused() {
    let server = Server::start();
    let mut phone = au_phone(&server, "01234567890123_ab.ezweb.ne.jp");
    let top = phone.get("/");
    let menu = phone.submit(&top, &[("contract_id", TARO.0), ("password", TARO.1)]);
    menu.assert_contains("ようこそ");
    let cookie = phone.cookie.clone().expect("au keeps the session cookie");

    let mut other = au_phone(&server, "99999999999999_zz.ezweb.ne.jp");
    other.cookie = Some(cookie.clone());
    other.get("/menu").assert_phone_error(OTHER_HANDSET);
    // Without any subscriber ID the bound session is refused too.
    let mut bare = server.phone(AU);
    bare.cookie = Some(cookie);
    bare.get("/menu").assert_phone_error(OTHER_HANDSET);
    assert!(server.logged("GET", "/menu", 403));

    phone.get("/menu").assert_contains("ようこそ");
}

#[test]
fn an_old_au_session_id_is_refused_after_the_next_step() {
    let server = Server::start();
    let mut phone = au_phone(&server, "01234567890123_ab.ezweb.ne.jp");
    let top = phone.get("/");
    let menu = phone.submit(&top, &[("contract_id", TARO.0), ("password", TARO.1)]);
    menu.assert_contains("ようこそ");
    let leaked = phone.cookie.clone().unwrap();
    let leaked_id = leaked.trim_start_matches("sid=").to_owned();

    // Next step: the ID rotates.
    phone.follow(&menu, '1').assert_contains("シリアル番号");
    assert_ne!(phone.cookie.as_deref(), Some(leaked.as_str()));

    // The old ID, as a Referer would have leaked it, is worthless: as a cookie or in a URL,
    // even from the same subscriber.
    let mut replay = au_phone(&server, "01234567890123_ab.ezweb.ne.jp");
    replay.cookie = Some(leaked);
    replay
        .get("/menu")
        .assert_phone_error("セッションの有効期限が切れた");
    let mut replay = au_phone(&server, "01234567890123_ab.ezweb.ne.jp");
    replay
        .get(&format!("/menu?sid={leaked_id}"))
        .assert_phone_error("セッションの有効期限が切れた");

    phone.get("/menu").assert_contains("ようこそ");
}

/// A copy of the one-bank demo in `dir`, with edits to bank.toml and carrier_networks.toml.
fn bank_copy(dir: &Path, remember: bool, trust_emulators: bool) -> PathBuf {
    let bank = dir.join("bank");
    std::fs::create_dir_all(bank.join("demo")).unwrap();
    let data = one_bank();
    for f in ["customers.csv", "registrations.csv", "tokens.csv"] {
        std::fs::copy(data.join("demo").join(f), bank.join("demo").join(f)).unwrap();
    }
    let mut profile = std::fs::read_to_string(data.join("bank.toml")).unwrap();
    if remember {
        profile = format!("remember_subscriber_id = true\n{profile}");
    }
    std::fs::write(bank.join("bank.toml"), profile).unwrap();
    let mut networks = std::fs::read_to_string(carrier_networks()).unwrap();
    if !trust_emulators {
        let line = "emulator_networks = [\"127.0.0.0/8\", \"::1/128\"]";
        assert!(networks.contains(line));
        networks = networks.replace(line, "emulator_networks = []");
    }
    std::fs::write(bank.join("carrier_networks.toml"), networks).unwrap();
    bank
}

/// The subscriber IDs stored with the tokens of `contract_ids` (the server must be stopped).
/// One open for all: sled releases its lock only after its background threads end.
fn stored_subscribers(data_dir: &Path, contract_ids: &[&str]) -> Vec<Option<String>> {
    let sealer = keitai_gateway::seal::Sealer::load(&data_dir.join("master.key")).unwrap();
    let store = Store::open(&data_dir.join("db"), sealer).unwrap();
    contract_ids
        .iter()
        .map(|id| {
            let customer = store.customer(id).unwrap().unwrap();
            customer.token.expect("token registered").subscriber_id
        })
        .collect()
}

#[test]
fn subscriber_headers_from_an_untrusted_address_are_ignored_and_logged() {
    let tmp = tempfile::tempdir().unwrap();
    let bank = bank_copy(tmp.path(), true, false);
    let data = tmp.path().join("var");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start_with_bank(&data, &bank, &[]);

    let mut phone = server.phone(FOMA).with_guid("AbC1234");
    let top = phone.get("/");
    let step1 = phone.follow(&top, '1');
    let form = phone.submit(&step1, &[("contract_id", TARO.0), ("password", TARO.1)]);
    // Not bound (the ID was not believed): another "GUID" is not told apart.
    let mut other = server.phone(FOMA).with_guid("XyZ9876");
    let done = other.submit(
        &form,
        &[
            ("serial", "GMHW00000001"),
            ("otp", &code("GMHW00000001", 0)),
            ("login_otp", "1"),
            ("transfer_password", TARO.2),
        ],
    );
    done.assert_contains("登録が完了しました");
    let mut au = au_phone(&server, "01234567890123_ab.ezweb.ne.jp");
    au.get("/").assert_chtml(8192);

    server.wait_log("ignored subscriber-ID header from untrusted address 127.0.0.1");
    let log = server.log();
    assert!(
        log.contains("ignored subscriber-ID header from untrusted address 127.0.0.1"),
        "{log}"
    );
    for id in ["AbC1234", "XyZ9876", "01234567890123"] {
        assert!(!log.contains(id), "{id} in log:\n{log}");
    }
    server.kill();
    assert_eq!(
        stored_subscribers(&data, &[TARO.0]),
        vec![None],
        "untrusted: not stored"
    );
}

#[test]
fn remember_subscriber_id_stores_the_trusted_id_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let bank = bank_copy(tmp.path(), true, true);
    let data = tmp.path().join("var");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start_with_bank(&data, &bank, &[]);
    let mut phone = server.phone(FOMA).with_guid("AbC1234");
    walk_start(&mut phone, TARO, "GMHW00000001", Speaks::Docomo, 5000);
    let mut sb = softbank_phone(&server, "a1b2c3d4e5f6a7b8");
    walk_start(&mut sb, ICHIRO, "GMHW00000002", Speaks::Softbank, 5000);
    server.kill();
    assert_eq!(
        stored_subscribers(&data, &[TARO.0, ICHIRO.0]),
        vec![
            Some("AbC1234".to_owned()),
            Some("a1b2c3d4e5f6a7b8".to_owned())
        ]
    );

    // By default (the shipped bank.toml) nothing is remembered.
    let data = tmp.path().join("var2");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start_in(&data, &[]);
    let mut phone = server.phone(FOMA).with_guid("AbC1234");
    walk_start(&mut phone, TARO, "GMHW00000001", Speaks::Docomo, 5000);
    server.kill();
    assert_eq!(stored_subscribers(&data, &[TARO.0]), vec![None]);
}

#[test]
fn https_is_believed_only_from_the_tls_proxy() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_in(tmp.path(), &["--tls-proxy", "127.0.0.0/8"]);
    let https = |p: Phone| p.with_header("X-Forwarded-Proto", "https");

    // au over HTTPS keeps no cookies: the session rides in the URL, and rotates.
    let mut au = https(au_phone(&server, "01234567890123_ab.ezweb.ne.jp"));
    let top = au.get("/");
    let menu = au.submit(&top, &[("contract_id", TARO.0), ("password", TARO.1)]);
    assert!(
        menu.header("set-cookie").is_none(),
        "no cookie for au over TLS"
    );
    let old_link = menu.link('*').unwrap();
    assert!(old_link.contains("sid="), "{old_link}");
    let next = au.follow(&menu, '1');
    next.assert_contains("シリアル番号");
    // The leaked URL is worthless.
    au.get(&old_link)
        .assert_phone_error("セッションの有効期限が切れた");

    // i-mode over HTTPS: no guid=ON anywhere (i-mode never sends its ID over TLS).
    let mut docomo = https(server.phone(FOMA));
    let top = docomo.get("/");
    assert!(!top.text.contains("guid=ON"), "{}", top.text);

    // SoftBank over HTTPS: the session cookie is Secure.
    let mut sb = https(softbank_phone(&server, "a1b2c3d4e5f6a7b8"));
    let top = sb.get("/");
    let menu = sb.submit(&top, &[("contract_id", ICHIRO.0), ("password", ICHIRO.1)]);
    let cookie = menu.header("set-cookie").expect("session cookie");
    assert!(cookie.contains("Secure"), "{cookie}");
    drop(server);

    // Without --tls-proxy the same header proves nothing.
    let server = Server::start();
    let mut au = https(au_phone(&server, "01234567890123_ab.ezweb.ne.jp"));
    let top = au.get("/");
    let menu = au.submit(&top, &[("contract_id", TARO.0), ("password", TARO.1)]);
    let cookie = menu
        .header("set-cookie")
        .expect("au keeps cookies over HTTP");
    assert!(!cookie.contains("Secure"), "{cookie}");
    let mut docomo = https(server.phone(FOMA));
    assert!(docomo.get("/").link('1').unwrap().contains("guid=ON"));
}

/// Every page of 利用開始 (and the pages around it) within `budget` for an old i-mode phone.
fn old_imode_walk(
    server: &Server,
    ua: &str,
    (who, serial): ((&str, &str, &str), &str),
    budget: usize,
    accesskeys: bool,
) {
    let mut phone = server.phone(ua);
    let top = phone.get("/");
    top.assert_chtml(budget);
    let go = |phone: &mut Phone, page: &Resp, key: char, path: &str| {
        let href = if accesskeys {
            page.link(key)
        } else {
            page.link_to(path)
        };
        let r = phone.get(&href.unwrap_or_else(|| panic!("no link to {path}:\n{}", page.text)));
        r.assert_chtml(budget);
        r
    };
    for (key, path) in [('0', "/help"), ('3', "/cancel")] {
        let r = go(&mut phone, &top, key, path);
        if !accesskeys {
            assert!(!r.text.contains("tel:"), "{}", r.text);
        }
    }
    let step1 = go(&mut phone, &top, '1', "/start");
    let wrong = phone.submit(&step1, &[("contract_id", who.0), ("password", "nope")]);
    wrong
        .assert_chtml(budget)
        .assert_contains("正しくありません");
    let step2 = phone.submit(&wrong, &[("contract_id", who.0), ("password", who.1)]);
    step2.assert_chtml(budget).assert_contains("シリアル番号");
    let done = phone.submit(
        &step2,
        &[
            ("serial", serial),
            ("otp", &code(serial, 0)),
            ("login_otp", "1"),
            ("transfer_password", who.2),
        ],
    );
    done.assert_chtml(budget)
        .assert_contains("ワンタイムパスワードの登録が完了しました");
    for page in [&top, &step1, &step2, &done] {
        assert_eq!(
            page.text.contains("accesskey="),
            accesskeys,
            "{}",
            page.text
        );
        if page.text.contains("<input type=\"text\"") {
            assert_eq!(page.text.contains("istyle="), accesskeys, "{}", page.text);
        }
    }
}

#[test]
fn docomo_1_0_pages_fit_the_handset_cache() {
    let server = Server::start();
    // i-mode HTML 3.0, 10 KB cache: keys and istyle.
    let taro = (TARO, "GMHW00000001");
    old_imode_walk(&server, "DoCoMo/1.0/D503i/c10", taro, 10 * 1024, true);
    // i-mode HTML 1.0 (501i), no cNN: 5 KB, and no accesskey, istyle or tel: links.
    let ichiro = (ICHIRO, "GMHW00000002");
    old_imode_walk(&server, "DoCoMo/1.0/D501i", ichiro, 5 * 1024, false);
}

#[test]
fn pcs_and_smartphones_get_the_pointer_page() {
    let server = Server::start();
    for ua in [PC, IPHONE] {
        let mut pc = server.phone(ua);
        for r in [
            pc.get("/"),
            pc.get("/start?sid=SESSIONX"),
            pc.post("/login", &[("contract_id", TARO.0), ("password", TARO.1)]),
        ] {
            assert_eq!(r.status, 200);
            r.assert_chtml(2048)
                .assert_contains(&format!("<a href=\"{PC_SITE}\" rel=\"noreferrer\">"));
            assert!(!r.text.contains("<form"), "{}", r.text);
            assert!(!r.text.contains("SESSIONX") && !r.text.contains("sid="));
            assert!(r.header("set-cookie").is_none());
        }
    }
    drop(server);

    // --allow-pc lets testers through, with text keys.
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_in(tmp.path(), &["--allow-pc"]);
    let mut pc = server.phone(PC);
    let top = pc.get("/");
    check_page(&top, Speaks::Text, 5000);
    top.assert_contains("accesskey=\"1\">[1]利用開始");
    let menu = pc.submit(&top, &[("contract_id", TARO.0), ("password", TARO.1)]);
    menu.assert_contains("ようこそ");
}

fn ua_json(ua: &str, headers: &[&str]) -> serde_json::Value {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keitai-gateway"));
    cmd.arg("ua").arg(ua);
    for h in headers {
        cmd.arg("-H").arg(h);
    }
    let out = cmd.output().expect("run ua");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "one line: {text}");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn the_ua_command_prints_one_json_line() {
    let v = ua_json(FOMA, &["X-DCMGUID: AbC1234"]);
    assert_eq!(
        v,
        serde_json::json!({"carrier":"docomo","model":"P903i","cookies":false,
            "budget_bytes":102400,"width_chars":24,"subscriber_id":"AbC1234"})
    );
    let v = ua_json(
        AU,
        &[
            "X-UP-SUBNO: 01234567890123_ab.ezweb.ne.jp",
            "x-up-devcap-max-pdu: 8192",
            "x-up-devcap-screenchars: 24,12",
        ],
    );
    assert_eq!(
        v,
        serde_json::json!({"carrier":"au","model":"SA31","cookies":true,"budget_bytes":8192,
            "width_chars":24,"subscriber_id":"01234567890123_ab.ezweb.ne.jp"})
    );
    let v = ua_json(
        SOFTBANK,
        &[
            "X-JPHONE-UID: a1b2c3d4e5f6a7b8",
            "X-JPHONE-DISPLAY: 240*320",
        ],
    );
    assert_eq!(v["carrier"], "softbank");
    assert_eq!(v["subscriber_id"], "a1b2c3d4e5f6a7b8");
    assert_eq!(v["width_chars"], 20);
    let v = ua_json("DoCoMo/1.0/D501i", &[]);
    assert_eq!(
        (v["budget_bytes"].as_u64(), v["cookies"].as_bool()),
        (Some(5120), Some(false))
    );
    let v = ua_json(IPHONE, &[]);
    assert_eq!(v["carrier"], "none");
    assert_eq!(v["subscriber_id"], serde_json::Value::Null);
}
