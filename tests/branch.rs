//! The branch console over real sockets: staff sign-in and sessions, the network guard, CSRF,
//! paper cancellation with maker–checker (and two supervisors approving at once), hardware-token
//! issuance and replacement, lock releases, the lists and their CSV, the audit view and CLI, and
//! what the customer's phone sees afterwards.

use crate::support::*;
use keitai_gateway::store::{ReceiptKind, Store};
use std::sync::{Arc, Barrier};

const TARO_TOKEN: &str = "GMHW00000001";

fn phone_login(phone: &mut Phone, who: (&str, &str, &str)) -> Resp {
    let top = phone.get("/");
    phone.submit(&top, &[("contract_id", who.0), ("password", who.1)])
}

/// 利用開始 on the phone from the top page; returns the result page.
fn phone_register(server: &Server, who: (&str, &str, &str), serial: &str, step: u64) -> Resp {
    let mut phone = server.phone(AU);
    let top = phone.get("/");
    let step1 = phone.follow(&top, '1');
    let form = phone.submit(&step1, &[("contract_id", who.0), ("password", who.1)]);
    phone.submit(
        &form,
        &[
            ("serial", serial),
            ("otp", &code(serial, step)),
            ("login_otp", "0"),
            ("transfer_password", who.2),
        ],
    )
}

fn record_form(staff: &mut Staff, contract: &str, form_no: &str) -> Resp {
    staff.post(
        "/branch/forms",
        &[
            ("contract_id", contract),
            ("form_no", form_no),
            ("received_on", "2020-04-01"),
            ("branch_code", "001"),
            ("identity_checked", "1"),
        ],
    )
}

fn open_store(dir: &std::path::Path) -> Store {
    let sealer = keitai_gateway::seal::Sealer::load(&dir.join("master.key")).expect("master key");
    Store::open(&dir.join("db"), sealer).expect("open the stopped gateway's database")
}

#[test]
fn sign_in_sessions_and_anti_forgery() {
    let server = Server::start();
    let mut s = Staff::new(server.addr);
    let page = s.get("/branch/");
    page.assert_status(200).assert_contains("サインイン");
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let cookie = page
        .header("set-cookie")
        .expect("session cookie")
        .to_owned();
    for part in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/branch"] {
        assert!(cookie.contains(part), "{part} in {cookie}");
    }
    // A wrong password, then an unknown staff ID: the same message.
    s.post(
        "/branch/login",
        &[("staff_id", "C0011"), ("password", "nope")],
    )
    .assert_status(401)
    .assert_contains("職員番号またはパスワードが正しくありません");
    s.post(
        "/branch/login",
        &[("staff_id", "X9999"), ("password", "nope")],
    )
    .assert_status(401)
    .assert_contains("職員番号またはパスワードが正しくありません");
    // Five wrong passwords pause that staff ID, even with the right password after them.
    let mut guesser = Staff::new(server.addr);
    guesser.get("/branch/");
    for _ in 0..5 {
        guesser
            .post(
                "/branch/login",
                &[("staff_id", "s0031"), ("password", "guess")],
            )
            .assert_status(401);
    }
    guesser
        .post(
            "/branch/login",
            &[("staff_id", SUPER_HIGASHI.0), ("password", SUPER_HIGASHI.1)],
        )
        .assert_status(429)
        .assert_contains("15分間サインインできません");
    // Sign-in without the sign-in page's anti-forgery value is refused.
    s.post_exact(
        "/branch/login",
        &[("staff_id", CLERK_HONTEN.0), ("password", CLERK_HONTEN.1)],
    )
    .assert_status(403);
    let before = s.cookie.clone();
    s.post(
        "/branch/login",
        &[("staff_id", CLERK_HONTEN.0), ("password", CLERK_HONTEN.1)],
    )
    .assert_status(200)
    .assert_contains("窓口一子");
    assert_ne!(s.cookie, before, "sign-in issues a new session ID");
    // The anonymous session from before sign-in is worth nothing now.
    let mut planted = Staff::new(server.addr);
    planted.cookie = before;
    planted
        .get("/branch/customer?contract_id=1000000001")
        .assert_status(401);

    // Pages behind sign-in: without a session, the sign-in page.
    let mut stranger = Staff::new(server.addr);
    stranger
        .get("/branch/customer?contract_id=1000000001")
        .assert_status(401)
        .assert_contains("サインインし直してください");
    stranger.get("/branch/lists/pending.csv").assert_status(401);
    // Posts without or with a wrong anti-forgery value change nothing.
    let form = [
        ("contract_id", HANAKO.0),
        ("form_no", "F-CSRF"),
        ("received_on", "2020-04-01"),
        ("branch_code", "001"),
        ("identity_checked", "1"),
    ];
    s.post_exact("/branch/forms", &form)
        .assert_status(403)
        .assert_contains("正しい画面から送信されていません");
    let mut forged = vec![("csrf", "AAAAAAAAAAAAAAAAAAAAAAAA")];
    forged.extend_from_slice(&form);
    s.post_exact("/branch/forms", &forged).assert_status(403);
    s.get("/branch/lists/pending").assert_status(200);
    assert!(!s.get("/branch/lists/pending").text.contains("F-CSRF"));
    // Unknown paths and methods.
    s.get("/branch/nothing").assert_status(404);
    s.get("/branch/forms").assert_status(405);
    // Sign-out ends the session on the server.
    let signed_in = s.cookie.clone();
    s.post("/branch/logout", &[])
        .assert_status(200)
        .assert_contains("サインアウトしました");
    s.cookie = signed_in;
    s.get("/branch/customer?contract_id=1000000001")
        .assert_status(401);
}

#[test]
fn only_branch_networks_reach_the_console() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_in(tmp.path(), &["--branch-network", "10.0.0.0/8"]);
    let mut s = Staff::new(server.addr);
    for path in [
        "/branch/",
        "/branch",
        "/branch/login",
        "/branch/nothing",
        "/branch/audit",
    ] {
        let r = s.get(path);
        r.assert_status(403)
            .assert_contains("この端末からは営業店端末を利用できません");
        assert!(r.header("set-cookie").is_none(), "no session for {path}");
    }
    s.post_exact(
        "/branch/login",
        &[("staff_id", CLERK_HONTEN.0), ("password", CLERK_HONTEN.1)],
    )
    .assert_status(403);
    // The phone pages are not affected.
    let mut phone = server.phone(FOMA);
    assert_eq!(phone.get("/").status, 200);
    assert!(server
        .wait_log("branch console refused to 127.0.0.1")
        .contains("branch console refused to 127.0.0.1"));
}

#[test]
fn paper_cancellation_from_form_to_approval_and_the_phone_side() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_in(tmp.path(), &[]);
    phone_register(&server, TARO, TARO_TOKEN, 0).assert_contains("登録が完了しました");
    // Taro tries 利用中止 on the phone and is sent to the branch: the console lists him.
    let mut phone = server.phone(AU);
    let menu = phone_login(&mut phone, TARO);
    phone.follow(&menu, '2').assert_contains("窓口");
    let mut clerk = Staff::sign_in(server.addr, CLERK_HONTEN);
    clerk
        .get("/branch/lists/attempts")
        .assert_status(200)
        .assert_contains("1000000001")
        .assert_contains("信金太郎");

    // Lookup shows the token, its state and the phone attempt.
    clerk
        .get("/branch/customer?contract_id=1000000001")
        .assert_status(200)
        .assert_contains("信金太郎")
        .assert_contains(TARO_TOKEN)
        .assert_contains("利用中 (active)")
        .assert_contains("利用開始")
        .assert_contains("携帯電話からの利用中止操作");
    clerk
        .get("/branch/customer?contract_id=9999999999")
        .assert_status(404)
        .assert_contains("登録されていません");

    // The clerk records the form: 受付済, the token untouched.
    record_form(&mut clerk, TARO.0, "F-0001")
        .assert_status(200)
        .assert_contains("受付済")
        .assert_contains(TARO_TOKEN);
    clerk
        .get("/branch/customer?contract_id=1000000001")
        .assert_contains("利用中 (active)");
    // Bad input: the number again, an unknown contract, no identity check, a future date.
    record_form(&mut clerk, TARO.0, "F-0001")
        .assert_status(409)
        .assert_contains("既に使用されています");
    record_form(&mut clerk, "9999999999", "F-0002")
        .assert_status(404)
        .assert_contains("登録されていません");
    clerk
        .post(
            "/branch/forms",
            &[
                ("contract_id", TARO.0),
                ("form_no", "F-0003"),
                ("received_on", "2020-04-01"),
                ("branch_code", "001"),
            ],
        )
        .assert_status(422)
        .assert_contains("本人確認");
    clerk
        .post(
            "/branch/forms",
            &[
                ("contract_id", TARO.0),
                ("form_no", "F-0003"),
                ("received_on", "2999-01-01"),
                ("branch_code", "001"),
                ("identity_checked", "1"),
            ],
        )
        .assert_status(422)
        .assert_contains("未来の日付");
    // A customer without a token has nothing to cancel.
    record_form(&mut clerk, ICHIRO.0, "F-0004")
        .assert_status(422)
        .assert_contains("ご利用中のトークンがありません");

    // The form waits for approval.
    clerk
        .get("/branch/lists/pending")
        .assert_contains("F-0001")
        .assert_contains("利用中止届");
    // A clerk cannot approve; a supervisor cannot approve what they recorded.
    clerk
        .post("/branch/forms/approve", &[("form_no", "F-0001")])
        .assert_status(403)
        .assert_contains("役席者のみ");
    let mut sup = Staff::sign_in(server.addr, SUPER_HONTEN);
    record_form(&mut sup, HANAKO.0, "F-0005").assert_status(200);
    sup.get("/branch/form?no=F-0005")
        .assert_status(200)
        .assert_contains("受付済");
    assert!(
        !sup.get("/branch/form?no=F-0005")
            .text
            .contains("/branch/forms/approve"),
        "no approve button on one's own entry"
    );
    sup.post("/branch/forms/approve", &[("form_no", "F-0005")])
        .assert_status(409)
        .assert_contains("ご自身が受け付けた");
    sup.post(
        "/branch/forms/reject",
        &[("form_no", "F-0005"), ("reason", "x")],
    )
    .assert_status(409);
    sup.post("/branch/forms/approve", &[("form_no", "F-9999")])
        .assert_status(404);

    // Another supervisor approves: cancelled, receipt number issued.
    let page = sup.get("/branch/form?no=F-0001");
    page.assert_contains("/branch/forms/approve");
    let done = sup.post("/branch/forms/approve", &[("form_no", "F-0001")]);
    done.assert_status(200)
        .assert_contains("利用中止にしました")
        .assert_contains("受付番号: ");
    // Approving twice (a double click) does nothing more.
    sup.post("/branch/forms/approve", &[("form_no", "F-0001")])
        .assert_status(409)
        .assert_contains("既に処理されています");
    sup.post(
        "/branch/forms/reject",
        &[("form_no", "F-0001"), ("reason", "late")],
    )
    .assert_status(409);
    sup.get("/branch/customer?contract_id=1000000001")
        .assert_contains("利用中止 (cancelled)")
        .assert_contains("停止中");
    // Rejection needs a reason, and leaves the token alone.
    let mut sup2 = Staff::sign_in(server.addr, SUPER_EKIMAE);
    sup2.post(
        "/branch/forms/reject",
        &[("form_no", "F-0005"), ("reason", "")],
    )
    .assert_status(422);
    sup2.post(
        "/branch/forms/reject",
        &[
            ("form_no", "F-0005"),
            ("reason", "ご本人の申し出により取り下げ"),
        ],
    )
    .assert_status(200)
    .assert_contains("却下しました");
    sup2.get("/branch/customer?contract_id=1000000002")
        .assert_contains("利用中 (active)");

    // Lists: nothing pending, both processed today; Taro has a form now.
    let pending = sup.get("/branch/lists/pending");
    assert!(!pending.text.contains("F-0001") && !pending.text.contains("F-0005"));
    sup.get("/branch/lists/today")
        .assert_contains("F-0001")
        .assert_contains("F-0005")
        .assert_contains("承認済")
        .assert_contains("却下");
    assert!(!sup
        .get("/branch/lists/attempts")
        .text
        .contains("1000000001"));
    let csv = sup.get("/branch/lists/today.csv");
    csv.assert_status(200);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(csv
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment; filename=\"today-"));
    assert!(csv.body.starts_with(b"\xEF\xBB\xBF"), "BOM");
    let text = std::str::from_utf8(&csv.body[3..]).expect("UTF-8");
    assert!(text.starts_with("番号,種類,契約者ID,氏名"), "{text}");
    assert!(
        text.contains("F-0001,利用中止届,1000000001,信金太郎,GMHW00000001,承認済,C0011,S0012,"),
        "{text}"
    );
    assert!(text.contains("\r\n"));

    // The phone: the menu says the token is cancelled; the old token is never usable again;
    // 利用開始 with a new token works and lifts the block.
    let mut phone = server.phone(AU);
    let menu = phone_login(&mut phone, TARO);
    menu.assert_contains("トークンは利用中止されました")
        .assert_contains("利用開始");
    phone_register(&server, TARO, TARO_TOKEN, 1).assert_contains("利用が終了しているため");
    phone_register(&server, TARO, "GMHW00000002", 0).assert_contains("登録が完了しました");
    let mut phone = server.phone(AU);
    let menu = phone_login(&mut phone, TARO);
    menu.assert_contains("トークン:GMHW00000002");
    assert!(!menu.text.contains("利用中止されました"));

    // The audit view shows both staff IDs.
    sup.get("/branch/audit?contract=1000000001")
        .assert_contains("branch_cancel_approved")
        .assert_contains("C0011,S0012")
        .assert_contains("branch_cancel_received");
    sup.get("/branch/audit?since=2999-01-01")
        .assert_status(200)
        .assert_contains("新しい順に0件");

    // The audit command, on the stopped gateway's database.
    server.kill();
    let dir = tmp.path().to_str().unwrap();
    let (ok, out) = run_cli(&["audit", "--contract", TARO.0, "--data-dir", dir]);
    assert!(ok, "{out}");
    let approved: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("branch_cancel_approved"))
        .collect();
    assert_eq!(approved.len(), 1, "{out}");
    assert!(
        approved[0].contains("C0011,S0012@001\t1000000001\tGMHW00000001\tform F-0001 receipt "),
        "{}",
        approved[0]
    );
    assert!(approved[0].contains(" JST\t"));
    assert!(out.lines().all(|l| l.contains("\t1000000001\t")), "{out}");
    let (ok, out) = run_cli(&["audit", "--since", "2999-01-01", "--data-dir", dir]);
    assert!(ok && out.trim().is_empty(), "{out}");
    let (ok, out) = run_cli(&["audit", "--since", "yesterday", "--data-dir", dir]);
    assert!(!ok && out.contains("not a date"), "{out}");
    let (ok, out) = run_cli(&["audit", "--verify", "--data-dir", dir]);
    assert!(ok && out.contains("audit chain intact"), "{out}");
}

#[test]
fn two_supervisors_approving_at_once_cancel_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_in(tmp.path(), &[]);
    let mut clerk = Staff::sign_in(server.addr, CLERK_EKIMAE);
    record_form(&mut clerk, HANAKO.0, "F-1000").assert_status(200);
    let sups: Vec<Staff> = [SUPER_HONTEN, SUPER_EKIMAE, SUPER_HIGASHI]
        .into_iter()
        .map(|who| Staff::sign_in(server.addr, who))
        .collect();
    let barrier = Arc::new(Barrier::new(sups.len()));
    let handles: Vec<_> = sups
        .into_iter()
        .map(|mut sup| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                sup.post("/branch/forms/approve", &[("form_no", "F-1000")])
            })
        })
        .collect();
    let results: Vec<Resp> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let ok = results.iter().filter(|r| r.status == 200).count();
    let conflicts = results.iter().filter(|r| r.status == 409).count();
    assert_eq!(
        (ok, conflicts),
        (1, 2),
        "{:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for r in results.iter().filter(|r| r.status == 409) {
        r.assert_contains("既に処理されています");
    }
    server.kill();
    let store = open_store(tmp.path());
    let cancellations: Vec<_> = store
        .receipts_of(HANAKO.0)
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == ReceiptKind::Cancellation)
        .collect();
    assert_eq!(cancellations.len(), 1);
    assert_eq!(cancellations[0].serial, HANAKO_TOKEN);
    let approvals = store
        .audit()
        .filter(|r| r.as_ref().unwrap().event == "branch_cancel_approved")
        .count();
    assert_eq!(approvals, 1);
    let c = store.customer(HANAKO.0).unwrap().unwrap();
    assert!(c.token.is_none() && c.transfers_blocked);
}

#[test]
fn hardware_tokens_issued_at_the_branch() {
    let server = Server::start();
    let mut clerk = Staff::sign_in(server.addr, CLERK_HONTEN);
    let issue = |s: &mut Staff, contract: &str, no: &str, reason: &str, serial: &str| {
        s.post(
            "/branch/applications",
            &[
                ("contract_id", contract),
                ("application_no", no),
                ("reason", reason),
                ("serial", serial),
            ],
        )
    };
    // A new token for Ichiro: the first free serial, the bank profile's fee.
    issue(&mut clerk, ICHIRO.0, "A-0001", "new", "")
        .assert_status(200)
        .assert_contains("GMHW00000001")
        .assert_contains("手数料: 2,200円");
    issue(&mut clerk, ICHIRO.0, "A-0001", "new", "")
        .assert_status(409)
        .assert_contains("既に使用されています");
    issue(&mut clerk, "9999999999", "A-0002", "new", "").assert_status(404);
    issue(&mut clerk, JIRO.0, "A-0003", "new", "SYSW00000001")
        .assert_status(422)
        .assert_contains("払い出せません");
    issue(&mut clerk, JIRO.0, "A-0004", "new", "GMHW00000010").assert_status(422);
    issue(&mut clerk, JIRO.0, "A-0005", "broken", "")
        .assert_status(422)
        .assert_contains("新規発行を選んでください");
    clerk
        .get("/branch/customer?contract_id=1000000003")
        .assert_contains("払出済み・未登録")
        .assert_contains("GMHW00000001")
        .assert_contains("A-0001");
    // Only Ichiro may register it.
    phone_register(&server, JIRO, "GMHW00000001", 0)
        .assert_contains("このシリアル番号のトークンは登録できません");
    phone_register(&server, ICHIRO, "GMHW00000001", 0).assert_contains("登録が完了しました");

    // Its battery dies: a replacement without fee, the old one handed back once a supervisor
    // other than the clerk approves it (issue 12 item 6).
    issue(&mut clerk, ICHIRO.0, "A-0006", "battery", "GMHW00000005")
        .assert_status(200)
        .assert_contains("受付済");
    Staff::sign_in(server.addr, SUPER_HONTEN)
        .post("/branch/forms/approve", &[("form_no", "A-0006")])
        .assert_status(200)
        .assert_contains("手数料: 0円")
        .assert_contains("GMHW00000005")
        .assert_contains("返却されたトークン GMHW00000001");
    clerk
        .get("/branch/customer?contract_id=1000000003")
        .assert_contains("トークン未登録");
    let mut phone = server.phone(AU);
    phone_login(&mut phone, ICHIRO).assert_contains("トークンは登録されていません");
    phone_register(&server, ICHIRO, "GMHW00000001", 1).assert_contains("利用が終了しているため");
    phone_register(&server, ICHIRO, "GMHW00000005", 0).assert_contains("登録が完了しました");
    let today = clerk.get("/branch/lists/today");
    today
        .assert_contains("A-0001")
        .assert_contains("A-0006")
        .assert_contains("電池切れ");
    clerk
        .get("/branch/audit?contract=1000000003")
        .assert_contains("branch_token_issued")
        .assert_contains("C0011");
}

/// The OTP API's answer for a customer: `accept`, `reject`, `cancelled`, ...
fn api_result(server: &Server, key: &str, contract: &str, otp: &str) -> String {
    let body = serde_json::json!({"contract_id": contract, "otp": otp, "purpose": "transfer"});
    let r = crate::api::call(
        server,
        "POST",
        crate::api::VERIFY,
        Some(key),
        &body.to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    crate::api::json_of(&r)["result"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Issue 12 item 6: a 発行申込書 for a broken token retires the active token only with a
/// supervisor other than its maker. Until then the token works; afterwards the API answers
/// `cancelled` (transfers blocked) until the customer registers the new token.
#[test]
fn a_replacement_retires_the_active_token_only_with_a_second_person() {
    let (_tmp, server, key) = crate::api::start(&[]);
    let customer = format!("/branch/customer?contract_id={}", HANAKO.0);
    let mut clerk = Staff::sign_in(server.addr, CLERK_HONTEN);
    let apply = [
        ("contract_id", HANAKO.0),
        ("application_no", "A-7001"),
        ("reason", "broken"),
        ("serial", "GMHW00000005"),
    ];
    clerk
        .post("/branch/applications", &apply)
        .assert_status(200)
        .assert_contains("受付済")
        .assert_contains("利用中のまま");
    clerk
        .post("/branch/applications", &apply)
        .assert_status(409);
    // Until approved the active token stays active, on the console and through the API.
    clerk
        .get(&customer)
        .assert_contains("利用中 (active)")
        .assert_contains("A-7001");
    assert_eq!(
        api_result(&server, &key, HANAKO.0, &code(HANAKO_TOKEN, 0)),
        "accept"
    );
    clerk
        .get("/branch/lists/pending")
        .assert_contains("A-7001")
        .assert_contains("発行申込書(故障による交換)");
    // The clerk alone cannot retire it, and neither can a second clerk.
    let approve = [("form_no", "A-7001")];
    clerk
        .post("/branch/forms/approve", &approve)
        .assert_status(403)
        .assert_contains("役席者のみ");
    Staff::sign_in(server.addr, CLERK_EKIMAE)
        .post("/branch/forms/approve", &approve)
        .assert_status(403);
    assert_eq!(
        api_result(&server, &key, HANAKO.0, &code(HANAKO_TOKEN, 1)),
        "accept"
    );
    // A supervisor can, once.
    let mut boss = Staff::sign_in(server.addr, SUPER_HONTEN);
    boss.get("/branch/form?no=A-7001")
        .assert_contains("故障による交換")
        .assert_contains("承認");
    boss.post("/branch/forms/approve", &approve)
        .assert_status(200)
        .assert_contains("返却されたトークン GMHW00000010")
        .assert_contains("GMHW00000005")
        .assert_contains("手数料: 0円");
    boss.post("/branch/forms/approve", &approve)
        .assert_status(409)
        .assert_contains("既に処理されています");
    // Between tokens: transfers are blocked, the API says so for any code.
    assert_eq!(
        api_result(&server, &key, HANAKO.0, &code(HANAKO_TOKEN, 2)),
        "cancelled"
    );
    boss.get(&customer)
        .assert_contains("トークン未登録")
        .assert_contains("停止中");
    boss.get("/branch/audit?contract=1000000002")
        .assert_contains("branch_replace_received")
        .assert_contains("branch_replace_approved")
        .assert_contains("C0011,S0012");
    // The phone menu asks for 利用開始; with the new token registered the API accepts again.
    let mut phone = server.phone(AU);
    phone_login(&mut phone, HANAKO).assert_contains("トークンは登録されていません");
    phone_register(&server, HANAKO, "GMHW00000005", 0).assert_contains("登録が完了しました");
    assert_eq!(
        api_result(&server, &key, HANAKO.0, &code("GMHW00000005", 1)),
        "accept"
    );
}

#[test]
fn locked_logins_and_tokens_are_released_by_maker_and_checker() {
    // The first temporary lock is the branch lock in this bank, so five wrong passwords make one.
    let (_tmp, server) = crate::abuse::server_with_policy("temp_locks_before_branch = 1");
    // Jiro locks his login with five wrong passwords.
    let mut phone = server.phone(AU);
    for _ in 0..5 {
        phone_login(&mut phone, (JIRO.0, "wrong", ""));
    }
    phone_login(&mut phone, JIRO).assert_contains("ログインがロックされています");
    // Hanako locks her token with five wrong codes at login.
    let mut hanako = server.phone(AU);
    let mut page = phone_login(&mut hanako, HANAKO);
    for _ in 0..5 {
        page = hanako.submit(&page, &[("otp", &wrong_code(HANAKO_TOKEN))]);
    }
    page.assert_contains("トークンがロックされています");

    let mut clerk = Staff::sign_in(server.addr, CLERK_EKIMAE);
    clerk
        .get("/branch/customer?contract_id=1000000004")
        .assert_contains("ロック中 (locked)");
    clerk
        .get("/branch/customer?contract_id=1000000002")
        .assert_contains("トークンロック中");
    // Nothing to release for Taro.
    clerk
        .post(
            "/branch/releases",
            &[("contract_id", TARO.0), ("kind", "login"), ("note", "")],
        )
        .assert_status(422)
        .assert_contains("ロックされていない");
    clerk
        .post(
            "/branch/releases",
            &[("contract_id", TARO.0), ("kind", "token"), ("note", "")],
        )
        .assert_status(422);
    let login = clerk.post(
        "/branch/releases",
        &[
            ("contract_id", JIRO.0),
            ("kind", "login"),
            ("note", "本人来店"),
        ],
    );
    login
        .assert_status(200)
        .assert_contains("ログインロック解除を受け付けました");
    let login_no = number_after(&login.text, "受付番号: ");
    let token = clerk.post(
        "/branch/releases",
        &[("contract_id", HANAKO.0), ("kind", "token"), ("note", "")],
    );
    token.assert_status(200);
    let token_no = number_after(&token.text, "受付番号: ");
    // Nothing is released before approval.
    phone_login(&mut phone, JIRO).assert_contains("ログインがロックされています");
    clerk
        .get("/branch/lists/pending")
        .assert_contains(&login_no)
        .assert_contains(&token_no);
    let csv = clerk.get("/branch/lists/pending.csv");
    assert!(csv.body.starts_with(b"\xEF\xBB\xBF"));
    assert!(std::str::from_utf8(&csv.body[3..])
        .unwrap()
        .contains("ログインロック解除,1000000004,網走次郎"));
    // The clerk cannot approve; a supervisor can, once.
    clerk
        .post("/branch/releases/approve", &[("id", &login_no)])
        .assert_status(403);
    let mut sup = Staff::sign_in(server.addr, SUPER_EKIMAE);
    sup.post("/branch/releases/approve", &[("id", &login_no)])
        .assert_status(200)
        .assert_contains("承認し");
    sup.post("/branch/releases/approve", &[("id", &login_no)])
        .assert_status(409);
    sup.post(
        "/branch/releases/reject",
        &[("id", &token_no), ("reason", "")],
    )
    .assert_status(422);
    sup.get(&format!("/branch/release?id={token_no}"))
        .assert_status(200)
        .assert_contains("/branch/releases/approve");
    sup.post("/branch/releases/approve", &[("id", &token_no)])
        .assert_status(200);
    // Both can go on at the phone.
    phone_login(&mut phone, JIRO).assert_contains("ようこそ");
    let page = phone_login(&mut hanako, HANAKO);
    hanako
        .submit(&page, &[("otp", &code(HANAKO_TOKEN, 1))])
        .assert_contains("ようこそ");
    sup.get("/branch/audit")
        .assert_contains("branch_release_approved")
        .assert_contains("C0021,S0022");
}

/// The release number (`R…`) after `marker` on a page.
fn number_after(text: &str, marker: &str) -> String {
    let at = text
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in:\n{text}"))
        + marker.len();
    text[at..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect()
}
