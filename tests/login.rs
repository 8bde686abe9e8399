//! Login with and without 認証する, the menu, logout, lockouts (surviving restarts), skipped
//! steps and forged or stale sessions.

use crate::support::*;

fn login(phone: &mut Phone, who: (&str, &str, &str)) -> Resp {
    let top = phone.get("/");
    phone.submit(&top, &[("contract_id", who.0), ("password", who.1)])
}

/// Registers `serial` for `who` with the given 認証する choice, on its own phone.
fn register(server: &Server, who: (&str, &str, &str), serial: &str, login_otp: &str) {
    let mut phone = server.phone(AU);
    let top = phone.get("/");
    let step1 = phone.follow(&top, '1');
    let form = phone.submit(&step1, &[("contract_id", who.0), ("password", who.1)]);
    let done = phone.submit(
        &form,
        &[
            ("serial", serial),
            ("otp", &code(serial, 0)),
            ("login_otp", login_otp),
            ("transfer_password", who.2),
        ],
    );
    done.assert_contains("登録が完了しました");
}

#[test]
fn login_without_token_opens_the_menu_at_once() {
    let server = Server::start();
    let mut phone = server.phone(FOMA);
    let menu = login(&mut phone, TARO);
    menu.assert_chtml(2048)
        .assert_contains("ようこそ 信金太郎様")
        .assert_contains("振込等の資金移動にはトークンの登録が必要です")
        .assert_contains("accesskey=\"*\">[*]メニュー")
        // i-mode's # pictogram (F985), not `[#]` text; `*` has no pictogram.
        .assert_contains("accesskey=\"#\">\u{E6E0}ログアウト");
    // From the menu, 利用開始 goes straight to the token form.
    let form = phone.follow(&menu, '1');
    form.assert_contains("シリアル番号")
        .assert_contains("\u{E6E0}ログアウト");
    let done = phone.submit(
        &form,
        &[
            ("serial", "GMHW00000001"),
            ("otp", &code("GMHW00000001", 0)),
            ("login_otp", "0"),
            ("transfer_password", TARO.2),
        ],
    );
    done.assert_contains("登録が完了しました")
        .assert_contains("[*]メニュー");
    let menu = phone.follow(&done, '*');
    menu.assert_contains("トークン:GMHW00000001")
        .assert_contains("登録日:");
}

#[test]
fn login_with_and_without_otp() {
    let server = Server::start();
    register(&server, TARO, "GMHW00000001", "0");
    register(&server, ICHIRO, "GMHW00000002", "1");
    // 認証しない: the menu at once.
    let mut taro = server.phone(AU);
    login(&mut taro, TARO).assert_contains("ようこそ 信金太郎様");
    // 認証する: the OTP page first; the menu only after the right code.
    let mut ichiro = server.phone(AU);
    let otp_page = login(&mut ichiro, ICHIRO);
    otp_page.assert_contains("ワンタイムパスワード認証");
    assert!(!otp_page.text.contains("ようこそ"));
    // The menu cannot be reached by skipping the OTP.
    let skipped = ichiro.get("/menu");
    skipped.assert_phone_error("手順が正しくありません");
    assert!(server.logged("GET", "/menu", 403));
    let wrong = ichiro.submit(&otp_page, &[("otp", &wrong_code("GMHW00000002"))]);
    wrong.assert_contains("正しくありません");
    let menu = ichiro.submit(&wrong, &[("otp", &code("GMHW00000002", 1))]);
    menu.assert_contains("ようこそ 北見一郎様")
        .assert_contains("GMHW00000002");
}

#[test]
fn logout_ends_the_session_on_the_server() {
    let server = Server::start();
    // Without cookies: the old session ID in the URL is refused after logout.
    let mut phone = server.phone(FOMA);
    let menu = login(&mut phone, TARO);
    let logout_href = menu.link('#').unwrap();
    let menu_href = menu.link('*').unwrap();
    assert!(menu_href.contains("sid="));
    let out = phone.get(&logout_href);
    out.assert_contains("ログアウトしました");
    let stale = phone.get(&menu_href);
    stale.assert_phone_error("ログアウト済み");
    // With cookies: the cookie is cleared and a replayed cookie is refused.
    let mut au = server.phone(AU);
    login(&mut au, TARO);
    let cookie = au.cookie.clone().expect("au keeps a session cookie");
    au.get("/logout");
    assert!(au.cookie.is_none(), "logout clears the cookie");
    au.cookie = Some(cookie);
    au.get("/menu").assert_phone_error("ログアウト済み");
}

#[test]
fn five_wrong_otps_lock_the_token_across_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_in(tmp.path(), &[]);
    register(&server, JIRO, "GMHW00000003", "1");
    let mut phone = server.phone(AU);
    let mut page = login(&mut phone, JIRO);
    let wrong = wrong_code("GMHW00000003");
    for left in (1..5).rev() {
        page = phone.submit(&page, &[("otp", &wrong)]);
        page.assert_contains(&format!("あと{left}回"));
    }
    page = phone.submit(&page, &[("otp", &wrong)]);
    page.assert_contains("トークンがロックされています")
        .assert_contains("お取引店");
    server.kill();

    let server = Server::start_in(tmp.path(), &[]);
    let mut phone = server.phone(AU);
    let page = login(&mut phone, JIRO);
    let r = phone.submit(&page, &[("otp", &code("GMHW00000003", 1))]);
    r.assert_contains("トークンがロックされています");
    assert!(!r.text.contains("ようこそ"));
}

#[test]
fn a_right_otp_resets_the_count() {
    let server = Server::start();
    let mut phone = server.phone(AU);
    let mut page = login(&mut phone, HANAKO);
    let wrong = wrong_code(HANAKO_TOKEN);
    for _ in 0..4 {
        page = phone.submit(&page, &[("otp", &wrong)]);
    }
    phone
        .submit(&page, &[("otp", &code(HANAKO_TOKEN, 0))])
        .assert_contains("ようこそ");
    phone.get("/logout");
    let mut page = login(&mut phone, HANAKO);
    page = phone.submit(&page, &[("otp", &wrong)]);
    page.assert_contains("あと4回");
}

#[test]
fn five_wrong_passwords_lock_the_login_across_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_in(tmp.path(), &[]);
    let mut phone = server.phone(FOMA);
    for _ in 0..4 {
        login(&mut phone, (TARO.0, "wrong", "")).assert_contains("正しくありません");
    }
    login(&mut phone, (TARO.0, "wrong", ""))
        .assert_contains("ログインが一時的にロックされています");
    // Even the right password is refused now.
    login(&mut phone, TARO).assert_contains("ログインが一時的にロックされています");
    server.kill();
    let server = Server::start_in(tmp.path(), &[]);
    let mut phone = server.phone(FOMA);
    login(&mut phone, TARO).assert_contains("ログインが一時的にロックされています");
}

#[test]
fn forged_or_missing_anti_forgery_value_is_refused() {
    let server = Server::start();
    let mut phone = server.phone(FOMA);
    let otp_page = login(&mut phone, HANAKO);
    let (action, hidden) = otp_page.form().unwrap();
    let sid = hidden.iter().find(|(k, _)| k == "sid").unwrap().1.clone();
    let otp = code(HANAKO_TOKEN, 0);
    let missing = phone.post(&action, &[("sid", &sid), ("otp", &otp)]);
    missing.assert_phone_error("手順が正しくありません");
    let forged = phone.post(
        &action,
        &[("sid", &sid), ("csrf", "AAAAAAAAAAAAAAAA"), ("otp", &otp)],
    );
    forged.assert_phone_error("手順が正しくありません");
    assert!(server.logged("POST", "/login/otp", 403));
    // The code was not spent by the refused posts.
    phone
        .submit(&otp_page, &[("otp", &otp)])
        .assert_contains("ようこそ");
}

#[test]
fn guessed_session_ids_are_refused() {
    let server = Server::start();
    let mut phone = server.phone(FOMA);
    for sid in ["", "x", "AAAAAAAAAAAAAAAAAAAAAAAA", "%00", "../../etc"] {
        let r = phone.get(&format!("/menu?sid={sid}"));
        assert_eq!(r.status, 200, "{sid}: phone error pages go out as 200");
        r.assert_chtml(5000);
    }
    // Logged with their logical statuses: unknown IDs 403, a NUL byte 400.
    assert!(server.logged("GET", "/menu", 403));
    assert!(server.logged("GET", "/menu", 400));
}

#[test]
fn the_session_id_changes_at_every_step() {
    let server = Server::start();
    let mut phone = server.phone(FOMA);
    let otp_page = login(&mut phone, HANAKO);
    let wrong = phone.submit(&otp_page, &[("otp", &wrong_code(HANAKO_TOKEN))]);
    let sid = |r: &Resp| {
        r.form()
            .unwrap()
            .1
            .into_iter()
            .find(|(k, _)| k == "sid")
            .unwrap()
            .1
    };
    assert_ne!(
        sid(&otp_page),
        sid(&wrong),
        "a failed step rotates the ID too"
    );
    // The page before the step carries a dead ID now.
    let stale = phone.submit(&otp_page, &[("otp", &code(HANAKO_TOKEN, 0))]);
    stale.assert_phone_error("セッションの有効期限が切れた");
    phone
        .submit(&wrong, &[("otp", &code(HANAKO_TOKEN, 0))])
        .assert_contains("ようこそ");
}
