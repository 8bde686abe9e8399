//! 利用開始 over a real socket: the walk of a DoCoMo FOMA phone without cookies, and each way it
//! can go wrong changing nothing.

use crate::support::*;

/// The smallest i-mode cache: no page may exceed it.
const BUDGET: usize = 5000;

/// Walks top → 利用開始 → credentials; returns the token form.
fn to_token_form(phone: &mut Phone, who: (&str, &str, &str)) -> Resp {
    let top = phone.get("/");
    top.assert_chtml(BUDGET);
    let step1 = phone.follow(&top, '1');
    step1
        .assert_chtml(BUDGET)
        .assert_contains("ワンタイムパスワード利用開始");
    let step2 = phone.submit(&step1, &[("contract_id", who.0), ("password", who.1)]);
    step2.assert_chtml(BUDGET).assert_contains("シリアル番号");
    step2
}

fn register(phone: &mut Phone, form: &Resp, serial: &str, otp: &str, transfer: &str) -> Resp {
    let r = phone.submit(
        form,
        &[
            ("serial", serial),
            ("otp", otp),
            ("login_otp", "1"),
            ("transfer_password", transfer),
        ],
    );
    r.assert_chtml(BUDGET);
    r
}

#[test]
fn docomo_foma_without_cookies_registers_a_token() {
    let server = Server::start();
    let mut phone = server.phone(FOMA);
    let top = phone.get("/");
    top.assert_chtml(BUDGET)
        // i-mode keypad pictograms (F987.., F990) and i-mode's own input-mode attribute.
        .assert_contains("accesskey=\"1\">\u{E6E2}利用開始")
        .assert_contains("accesskey=\"2\">\u{E6E3}交換")
        .assert_contains("accesskey=\"3\">\u{E6E4}利用中止")
        .assert_contains("accesskey=\"0\">\u{E6EB}ヘルプ")
        .assert_contains("maxlength=\"16\" istyle=\"4\">")
        .assert_contains("type=\"password\"");
    let form = to_token_form(&mut phone, TARO);
    // No cookies on this phone: the session rides in the form, never in a cookie.
    assert!(form.header("set-cookie").is_none());
    let (action, hidden) = form.form().unwrap();
    assert!(
        action.contains("guid=ON"),
        "i-mode form actions carry guid=ON: {action}"
    );
    let sid = hidden
        .iter()
        .find(|(k, _)| k == "sid")
        .expect("sid in hidden field");
    assert!(sid.1.len() >= 22, "session ID of at least 128 bits");
    assert!(hidden.iter().any(|(k, _)| k == "csrf"));
    form.assert_contains("value=\"1\" checked>認証する");

    let otp = code("GMHW00000001", 0);
    let done = register(&mut phone, &form, "GMHW00000001", &otp, TARO.2);
    done.assert_contains("ワンタイムパスワードの登録が完了しました")
        .assert_contains("GMHW00000001")
        .assert_contains("受付時刻:<br>");
    let number = done.receipt_number().unwrap();
    assert_eq!(number.len(), 7, "受付番号 is 7 digits: {}", done.text);
    let time_at = done.text.find("受付時刻:<br>").unwrap() + "受付時刻:<br>".len();
    let time: String = done.text[time_at..].chars().take(21).collect();
    assert!(
        time.chars().enumerate().all(|(i, c)| match i {
            4 => c == '年',
            7 => c == '月',
            10 => c == '日',
            11 => c == ' ',
            14 => c == '時',
            17 => c == '分',
            20 => c == '秒',
            _ => c.is_ascii_digit(),
        }),
        "受付時刻 {time:?}"
    );
    assert!(done.link('0').is_some(), "link back to the login screen");

    // The session ended with the journey: a re-send of its form (the back button) shows the
    // same receipt again and registers nothing (issue 14; tests/journeys.rs walks it further).
    let again = register(
        &mut phone,
        &form,
        "GMHW00000001",
        &code("GMHW00000001", 1),
        TARO.2,
    );
    assert_eq!(again.receipt_number().as_deref(), Some(number.as_str()));

    // A second registration gets a different receipt number.
    let mut other = server.phone(FOMA);
    let form = to_token_form(&mut other, ICHIRO);
    let done2 = register(
        &mut other,
        &form,
        "GMHW00000002",
        &code("GMHW00000002", 0),
        ICHIRO.2,
    );
    let number2 = done2.receipt_number().unwrap();
    assert_ne!(number, number2);
}

#[test]
fn wrong_password_is_refused_and_keeps_the_contract_id() {
    let server = Server::start();
    let mut phone = server.phone(FOMA);
    let top = phone.get("/");
    let step1 = phone.follow(&top, '1');
    let r = phone.submit(&step1, &[("contract_id", TARO.0), ("password", "nope")]);
    r.assert_chtml(BUDGET)
        .assert_contains("契約者IDまたはログインパスワードが正しくありません")
        .assert_contains(&format!("value=\"{}\"", TARO.0));
    // Unknown contract IDs read the same.
    let r2 = phone.submit(
        &step1,
        &[("contract_id", "9999999999"), ("password", "nope")],
    );
    r2.assert_contains("契約者IDまたはログインパスワードが正しくありません");
    assert!(!r.text.contains("nope"), "passwords are never echoed");
}

#[test]
fn wrong_otp_then_right_one() {
    let server = Server::start();
    let mut phone = server.phone(FOMA);
    let form = to_token_form(&mut phone, TARO);
    let bad = register(
        &mut phone,
        &form,
        "GMHW00000003",
        &wrong_code("GMHW00000003"),
        TARO.2,
    );
    bad.assert_contains("ワンタイムパスワードが正しくありません")
        .assert_contains("あと4回")
        .assert_contains("value=\"GMHW00000003\"");
    // Nothing was registered: the same session goes on to register that token.
    let ok = register(
        &mut phone,
        &bad,
        "GMHW00000003",
        &code("GMHW00000003", 0),
        TARO.2,
    );
    ok.assert_contains("登録が完了しました");
}

#[test]
fn wrong_transfer_password_is_refused() {
    let server = Server::start();
    let mut phone = server.phone(FOMA);
    let form = to_token_form(&mut phone, TARO);
    let r = register(
        &mut phone,
        &form,
        "GMHW00000004",
        &code("GMHW00000004", 0),
        "Wrong999",
    );
    r.assert_contains("資金移動用パスワードが正しくありません");
    // The OTP was not spent: the same code still registers.
    let ok = register(
        &mut phone,
        &r,
        "GMHW00000004",
        &code("GMHW00000004", 0),
        TARO.2,
    );
    ok.assert_contains("登録が完了しました");
}

#[test]
fn token_of_another_customer_software_token_and_unknown_serial() {
    let server = Server::start();
    let mut phone = server.phone(FOMA);
    let form = to_token_form(&mut phone, TARO);
    let taken = register(
        &mut phone,
        &form,
        HANAKO_TOKEN,
        &code(HANAKO_TOKEN, 1),
        TARO.2,
    );
    taken.assert_contains("このシリアル番号のトークンは登録できません");
    let soft = register(
        &mut phone,
        &taken,
        "SYSW00000001",
        &code("SYSW00000001", 0),
        TARO.2,
    );
    soft.assert_contains("ハードウェアトークンのみ");
    let unknown = register(&mut phone, &soft, "ZZZZ00000000", "123456", TARO.2);
    unknown.assert_contains("このシリアル番号のトークンは登録できません");
    let short = register(&mut phone, &unknown, "GMHW1", "123456", TARO.2);
    short.assert_contains("12桁の英数字");
    let missing = register(&mut phone, &short, "GMHW00000005", "", TARO.2);
    missing.assert_contains("ワンタイムパスワードを入力してください");
    // Hanako's token still works for Hanako (her login asks its OTP and accepts it).
    let mut hanako = server.phone(FOMA);
    let top = hanako.get("/");
    let otp_page = hanako.submit(&top, &[("contract_id", HANAKO.0), ("password", HANAKO.1)]);
    let menu = hanako.submit(&otp_page, &[("otp", &code(HANAKO_TOKEN, 0))]);
    menu.assert_contains("ようこそ")
        .assert_contains(HANAKO_TOKEN);
    // And Taro can still register a free token: nothing was half-written.
    let ok = register(
        &mut phone,
        &missing,
        "GMHW00000005",
        &code("GMHW00000005", 0),
        TARO.2,
    );
    ok.assert_contains("登録が完了しました");
}

#[test]
fn replayed_otp_is_refused() {
    let server = Server::start();
    let mut phone = server.phone(FOMA);
    let form = to_token_form(&mut phone, TARO);
    let used = code("GMHW00000006", 0);
    register(&mut phone, &form, "GMHW00000006", &used, TARO.2)
        .assert_contains("登録が完了しました");
    // The code that registered the token cannot log in.
    let top = phone.get("/");
    let otp_page = phone.submit(&top, &[("contract_id", TARO.0), ("password", TARO.1)]);
    let replay = phone.submit(&otp_page, &[("otp", &used)]);
    replay.assert_chtml(BUDGET).assert_contains("使用済み");
    let fresh = phone.submit(&replay, &[("otp", &code("GMHW00000006", 1))]);
    fresh.assert_contains("ようこそ");
}

#[test]
fn full_width_input_is_normalised() {
    let server = Server::start();
    let mut phone = server.phone(FOMA);
    let top = phone.get("/");
    let step1 = phone.follow(&top, '1');
    let wide_id: String = TARO
        .0
        .chars()
        .map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap())
        .collect();
    let form = phone.submit(&step1, &[("contract_id", &wide_id), ("password", TARO.1)]);
    form.assert_contains("シリアル番号");
    let otp: String = code("GMHW00000007", 0)
        .chars()
        .map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap())
        .collect();
    let done = register(
        &mut phone,
        &form,
        "ｇｍｈｗ－００００－０００７",
        &otp,
        TARO.2,
    );
    done.assert_contains("登録が完了しました")
        .assert_contains("GMHW00000007");
}

#[test]
fn malformed_shift_jis_gets_a_clear_error_and_changes_nothing() {
    let server = Server::start();
    let mut phone = server.phone(FOMA);
    let form = to_token_form(&mut phone, TARO);
    let (action, hidden) = form.form().unwrap();
    let mut body = encode_form(
        &hidden
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect::<Vec<_>>(),
    );
    // %82 alone is a truncated double-byte character.
    body.push_str("&serial=GMHW00000008%82&otp=123456&transfer_password=Move1234");
    let r = phone.post_raw(&action, body.as_bytes());
    r.assert_phone_error("文字を読み取れませんでした")
        .assert_chtml(BUDGET);
    assert!(server.logged("POST", "/start/token", 400));
    // The token is still free and the session still usable.
    let ok = register(
        &mut phone,
        &form,
        "GMHW00000008",
        &code("GMHW00000008", 0),
        TARO.2,
    );
    ok.assert_contains("登録が完了しました");
}

#[test]
fn cancel_from_a_phone_shows_the_branch_notice_and_changes_nothing() {
    let server = Server::start();
    let mut phone = server.phone(FOMA);
    let top = phone.get("/");
    let notice = phone.follow(&top, '3');
    notice
        .assert_chtml(BUDGET)
        .assert_contains("携帯電話からは利用中止の操作ができないため、所定の用紙を最寄りの本支店窓口までお届けください")
        .assert_contains("本店営業部")
        .assert_contains("しんきんEBサポートデスク");
    // Hanako's token still works after the attempt.
    let mut hanako = server.phone(FOMA);
    let top = hanako.get("/");
    let otp_page = hanako.submit(&top, &[("contract_id", HANAKO.0), ("password", HANAKO.1)]);
    hanako
        .submit(&otp_page, &[("otp", &code(HANAKO_TOKEN, 0))])
        .assert_contains("ようこそ");
}

#[test]
fn help_page_and_budget_for_every_public_page() {
    let server = Server::start();
    let mut phone = server.phone(FOMA);
    for path in ["/", "/help", "/start", "/exchange", "/cancel"] {
        let r = phone.get(path);
        assert_eq!(r.status, 200, "{path}");
        r.assert_chtml(2048);
    }
}
