//! 交換 end to end: an au phone with cookies from the menu, a DoCoMo phone without cookies from
//! the top page; old codes refused afterwards, new ones accepted; steps cannot be skipped.

use crate::support::*;

/// au's # pictogram (Shift_JIS F489) before ログアウト, as the test decoder reads it.
const AU_HASH_LOGOUT: &str = "\u{E338}ログアウト";

fn login_hanako(phone: &mut Phone) -> Resp {
    let top = phone.get("/");
    let otp_page = phone.submit(&top, &[("contract_id", HANAKO.0), ("password", HANAKO.1)]);
    phone.submit(&otp_page, &[("otp", &code(HANAKO_TOKEN, 0))])
}

fn check_receipt(done: &Resp, new: &str, old: &str) {
    done.assert_chtml(2048)
        .assert_contains("ワンタイムパスワードの登録が完了しました")
        .assert_contains(&format!("変更後 {new}"))
        .assert_contains(&format!("変更前 {old}"));
    assert_eq!(done.receipt_number().unwrap().len(), 7);
}

/// After an exchange: the old token's codes are refused at login, the new token's accepted.
fn only_new_token_works(server: &Server, new: &str) {
    let mut phone = server.phone(AU);
    let top = phone.get("/");
    let otp_page = phone.submit(&top, &[("contract_id", HANAKO.0), ("password", HANAKO.1)]);
    let old = phone.submit(&otp_page, &[("otp", &code(HANAKO_TOKEN, 1))]);
    old.assert_contains("正しくありません");
    let menu = phone.submit(&old, &[("otp", &code(new, 1))]);
    menu.assert_contains("ようこそ")
        .assert_contains(&format!("トークン:{new}"));
}

#[test]
fn au_phone_with_cookies_exchanges_from_the_menu() {
    let server = Server::start();
    let mut phone = server.phone(AU);
    let menu = login_hanako(&mut phone);
    menu.assert_contains(&format!("トークン:{HANAKO_TOKEN}"));
    assert!(phone.cookie.is_some(), "au keeps the session in a cookie");
    assert!(
        !menu.link('1').unwrap().contains("sid="),
        "no session ID in URLs for cookie phones"
    );
    let step1 = phone.follow(&menu, '1');
    step1
        .assert_chtml(2048)
        .assert_contains("現ワンタイムパスワードの認証")
        .assert_contains(AU_HASH_LOGOUT);
    // Step 1 needs the current token's code: the one used at login is spent.
    let replay = phone.submit(&step1, &[("otp", &code(HANAKO_TOKEN, 0))]);
    replay.assert_contains("使用済み");
    let step2 = phone.submit(&replay, &[("otp", &code(HANAKO_TOKEN, 1))]);
    step2
        .assert_chtml(2048)
        .assert_contains("新ワンタイムパスワード認証");
    // The current token cannot be its own replacement; a taken or software token is refused.
    let same = phone.submit(&step2, &[("serial", HANAKO_TOKEN), ("otp", "123456")]);
    same.assert_contains("現在ご利用中のトークンです");
    let soft = phone.submit(
        &same,
        &[
            ("serial", "SYSW00000002"),
            ("otp", &code("SYSW00000002", 0)),
        ],
    );
    soft.assert_contains("ハードウェアトークンのみ");
    let done = phone.submit(
        &soft,
        &[
            ("serial", "GMHW00000011"),
            ("otp", &code("GMHW00000011", 0)),
        ],
    );
    check_receipt(&done, "GMHW00000011", HANAKO_TOKEN);
    done.assert_contains("[*]メニュー")
        .assert_contains(AU_HASH_LOGOUT);
    phone.follow(&done, '#');
    only_new_token_works(&server, "GMHW00000011");
    // The replaced token can never be registered again, by anyone.
    let mut taro = server.phone(AU);
    let top = taro.get("/");
    let step1 = taro.follow(&top, '1');
    let form = taro.submit(&step1, &[("contract_id", TARO.0), ("password", TARO.1)]);
    let r = taro.submit(
        &form,
        &[
            ("serial", HANAKO_TOKEN),
            ("otp", &code(HANAKO_TOKEN, 1)),
            ("login_otp", "1"),
            ("transfer_password", TARO.2),
        ],
    );
    r.assert_contains("このシリアル番号のトークンは登録できません");
}

#[test]
fn docomo_phone_without_cookies_exchanges_from_the_top_page() {
    let server = Server::start();
    let mut phone = server.phone(FOMA);
    let top = phone.get("/");
    let creds = phone.follow(&top, '2');
    creds
        .assert_chtml(5000)
        .assert_contains("ワンタイムパスワード交換");
    let step1 = phone.submit(&creds, &[("contract_id", HANAKO.0), ("password", HANAKO.1)]);
    step1
        .assert_chtml(5000)
        .assert_contains("信金花子様")
        .assert_contains("現ワンタイムパスワードの認証");
    assert!(step1.header("set-cookie").is_none());
    let step2 = phone.submit(&step1, &[("otp", &code(HANAKO_TOKEN, 0))]);
    let done = phone.submit(
        &step2,
        &[
            ("serial", "gmhw-0000-0012"),
            ("otp", &code("GMHW00000012", 0)),
        ],
    );
    check_receipt(&done, "GMHW00000012", HANAKO_TOKEN);
    assert!(done.link('0').is_some(), "link back to the login screen");
    only_new_token_works(&server, "GMHW00000012");
}

#[test]
fn step_two_cannot_be_posted_before_step_one() {
    let server = Server::start();
    let mut phone = server.phone(FOMA);
    let top = phone.get("/");
    let creds = phone.follow(&top, '2');
    let step1 = phone.submit(&creds, &[("contract_id", HANAKO.0), ("password", HANAKO.1)]);
    let (_, hidden) = step1.form().unwrap();
    let mut fields: Vec<(&str, &str)> = hidden
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let otp = code("GMHW00000011", 0);
    fields.extend([("serial", "GMHW00000011"), ("otp", otp.as_str())]);
    let skipped = phone.post("/exchange/new?guid=ON", &fields);
    skipped.assert_phone_error("手順が正しくありません");
    assert!(server.logged("POST", "/exchange/new", 403));
    // Nothing changed: Hanako still logs in with her old token.
    let mut again = server.phone(AU);
    let top = again.get("/");
    let otp_page = again.submit(&top, &[("contract_id", HANAKO.0), ("password", HANAKO.1)]);
    again
        .submit(&otp_page, &[("otp", &code(HANAKO_TOKEN, 0))])
        .assert_contains(HANAKO_TOKEN);
}

#[test]
fn a_customer_without_token_is_sent_to_start() {
    let server = Server::start();
    let mut phone = server.phone(FOMA);
    let top = phone.get("/");
    let creds = phone.follow(&top, '2');
    let r = phone.submit(&creds, &[("contract_id", TARO.0), ("password", TARO.1)]);
    r.assert_contains("トークンが登録されていません");
}

#[test]
fn locked_token_cannot_pass_step_one_and_points_to_the_branch() {
    let server = Server::start();
    let mut phone = server.phone(FOMA);
    let top = phone.get("/");
    let creds = phone.follow(&top, '2');
    let mut page = phone.submit(&creds, &[("contract_id", HANAKO.0), ("password", HANAKO.1)]);
    page.assert_contains("故障・電池切れでパスワードを表示できない場合は");
    let wrong = wrong_code(HANAKO_TOKEN);
    for _ in 0..5 {
        page = phone.submit(&page, &[("otp", &wrong)]);
    }
    page.assert_contains("トークンがロックされています")
        .assert_contains("お取引店");
    let r = phone.submit(&page, &[("otp", &code(HANAKO_TOKEN, 0))]);
    r.assert_contains("トークンがロックされています");
    assert!(!r.text.contains("新ワンタイムパスワード認証"));
}
