//! 法人 (business) administrator's screens over a real socket (seeds 000, 002, 004): 管理者ログイン,
//! the お客様カード at two random positions, the user list, 利用登録 per user and shared,
//! 利用登録解除, 利用形態設定, and what the registrations mean to the OTP API (`user_id`).

use crate::api::{call, json_of, start, VERIFY};
use crate::support::*;
use keitai_gateway::store::{TokenState, Usage};
use serde_json::json;

/// Every business page fits 2 KB.
const BIZ_BUDGET: usize = 2048;

/// Demo contracts (the one-bank demo's demo/businesses.csv): 契約先ID, ご契約先暗証番号, 確認暗証番号, card.
const KITAMI: (&str, &str, &str, &str) = ("2000000001", "Admin2001", "Kakunin2001", "40173958");
const ABASHIRI: (&str, &str, &str, &str) = ("2000000002", "Admin2002", "Kakunin2002", "62849105");
const CARD_KANA: [char; 8] = ['ア', 'イ', 'ウ', 'エ', 'オ', 'カ', 'キ', 'ク'];

/// The positions a card page asks, read from `(1)(ウ)` and `(2)(カ)`.
pub fn asked(page: &Resp) -> [usize; 2] {
    let at = |n: &str| {
        let marker = format!("({n})(");
        let i = page
            .text
            .find(&marker)
            .unwrap_or_else(|| panic!("no {marker}:\n{}", page.text));
        let kana = page.text[i + marker.len()..].chars().next().unwrap();
        CARD_KANA
            .iter()
            .position(|k| *k == kana)
            .expect("a card position")
    };
    [at("1"), at("2")]
}

/// The right answer to a card page for `card`.
pub fn answer(page: &Resp, card: &str) -> [String; 2] {
    let digits: Vec<char> = card.chars().collect();
    asked(page).map(|p| digits[p].to_string())
}

/// Top page → 管理者ログイン → password → card; returns the card page.
fn to_card(phone: &mut Phone, who: (&str, &str, &str, &str)) -> Resp {
    let top = phone.get("/");
    top.assert_contains("法人のお客さま");
    let entry = phone.follow(&top, '4');
    entry
        .assert_chtml(BIZ_BUDGET)
        .assert_contains("管理者ログイン")
        .assert_contains("電子証明書方式はパソコンから")
        .assert_contains("https://www.keitai-shinkin.example/ib/")
        .assert_contains("IDパスワード方式");
    let card = phone.submit(&entry, &[("contract_id", who.0), ("password", who.1)]);
    card.assert_chtml(BIZ_BUDGET)
        .assert_contains("ご契約先ワンタイムパスワード入力")
        .assert_contains("お客様カードの(1)、(2)に対応した数字を半角でそれぞれ入力してください。");
    card
}

/// Logs the administrator in; returns メイン.
fn admin_login(phone: &mut Phone, who: (&str, &str, &str, &str)) -> Resp {
    let card = to_card(phone, who);
    let [a, b] = answer(&card, who.3);
    let main = phone.submit(&card, &[("card1", &a), ("card2", &b)]);
    main.assert_chtml(BIZ_BUDGET).assert_contains("メイン");
    main
}

/// メイン → ご契約先管理情報変更 → 利用者情報登録/変更 → ワンタイムパスワードの設定.
fn to_otp_setting(phone: &mut Phone, main: &Resp) -> Resp {
    let manage = phone.follow(main, '1');
    manage
        .assert_chtml(BIZ_BUDGET)
        .assert_contains("ご契約先管理情報変更");
    let users = phone.follow(&manage, '1');
    users
        .assert_chtml(BIZ_BUDGET)
        .assert_contains("利用者情報選択");
    let otp = phone.follow(&users, '1');
    otp.assert_chtml(BIZ_BUDGET)
        .assert_contains("ワンタイムパスワードの設定")
        .assert_contains("現在の設定 ");
    otp
}

fn register(phone: &mut Phone, form: &Resp, user: &str, serial: &str, otp: &str) -> Resp {
    let mut fields = vec![("serial", serial), ("otp", otp), ("confirm", "")];
    if !user.is_empty() {
        fields.push(("user", user));
    }
    fields[2].1 = if form.text.contains("網走") {
        ABASHIRI.2
    } else {
        KITAMI.2
    };
    let r = phone.submit(form, &fields);
    r.assert_chtml(BIZ_BUDGET);
    r
}

/// The code `serial` showed one step ago (still within the skew window, before any other).
fn code_before(serial: &str) -> String {
    code(serial, 0);
    let t = inventory()
        .into_iter()
        .find(|t| t.serial == serial)
        .unwrap();
    t.code_at(now() - t.params.period)
}

/// One API verification for a business user (`user` None: no `user_id`).
fn verify_user(
    server: &Server,
    key: &str,
    contract: &str,
    user: Option<&str>,
    otp: &str,
) -> String {
    let mut body = json!({"contract_id": contract, "otp": otp, "purpose": "transfer"});
    if let Some(u) = user {
        body["user_id"] = json!(u);
    }
    let r = call(server, "POST", VERIFY, Some(key), &body.to_string());
    assert_eq!(r.status, 200, "{}", r.text);
    json_of(&r)["result"].as_str().unwrap().to_owned()
}

#[test]
fn docomo_without_cookies_registers_one_token_for_two_users_and_the_api_uses_it_for_either() {
    let (_tmp, server, key) = start(&[]);
    let mut phone = server.phone(FOMA);
    let card = to_card(&mut phone, KITAMI);
    assert!(
        card.header("set-cookie").is_none(),
        "no cookies on this phone"
    );
    assert!(card.form().unwrap().1.iter().any(|(k, _)| k == "sid"));
    // A wrong digit: refused, counted, and a new pair asked.
    let [a, b] = answer(&card, KITAMI.3);
    let wrong = ((a.parse::<u8>().unwrap() + 1) % 10).to_string();
    let again = phone.submit(&card, &[("card1", &wrong), ("card2", &b)]);
    again
        .assert_chtml(BIZ_BUDGET)
        .assert_contains("確認用パスワードが正しくありません。あと4回")
        .assert_contains("(1)(");
    let [a, b] = answer(&again, KITAMI.3);
    let main = phone.submit(&again, &[("card1", &a), ("card2", &b)]);
    main.assert_chtml(BIZ_BUDGET).assert_contains("メイン");

    let otp = to_otp_setting(&mut phone, &main);
    otp.assert_contains("全ての利用者が異なるトークンを使用する");
    let form = phone.follow(&otp, '2');
    form.assert_chtml(BIZ_BUDGET)
        .assert_contains("ワンタイムパスワード利用登録")
        .assert_contains("北見太郎 -")
        .assert_contains("※複数の利用者に同一のトークンを登録することができます。");

    let t = "GMHW00000013";
    let r = register(&mut phone, &form, "kitami01", t, &code_before(t));
    r.assert_contains("北見太郎 GMHW00000013")
        .assert_contains("経理花子 -");
    assert!(
        !r.text.contains("完了"),
        "no completion message:\n{}",
        r.text
    );
    assert!(!r.text.contains("受付番号"), "the demo profile hides it");
    let r = register(&mut phone, &r, "kitami02", t, &code(t, 0));
    r.assert_contains("北見太郎 GMHW00000013")
        .assert_contains("経理花子 GMHW00000013");
    // The same code again, for the third user: replayed, nothing registered.
    let r = register(&mut phone, &r, "kitami03", t, &code(t, 0));
    r.assert_contains("使用済み").assert_contains("営業一郎 -");

    // One token, one replay state: accepted as one user, the same code replayed as the other.
    let next = code(t, 1);
    assert_eq!(
        verify_user(&server, &key, KITAMI.0, Some("kitami02"), &next),
        "accept"
    );
    assert_eq!(
        verify_user(&server, &key, KITAMI.0, Some("kitami01"), &next),
        "replayed"
    );
    // 資金移動 is impossible for users not registered (seed 004 ※).
    assert_eq!(
        verify_user(&server, &key, KITAMI.0, Some("kitami03"), &next),
        "no_token"
    );
    assert_eq!(
        verify_user(&server, &key, KITAMI.0, None, &next),
        "no_token"
    );
    assert_eq!(
        verify_user(&server, &key, KITAMI.0, Some("nobody"), &next),
        "reject"
    );

    // 機種変更: user 1 gets a new token; the old one no longer answers for that user.
    let t2 = "GMHW00000014";
    let r = register(&mut phone, &r, "kitami01", t2, &code(t2, 0));
    r.assert_contains("北見太郎 GMHW00000014")
        .assert_contains("経理花子 GMHW00000013");
    assert_eq!(
        verify_user(&server, &key, KITAMI.0, Some("kitami01"), &code(t, 1)),
        "reject",
        "GMHW00000013's codes are not kitami01's any more"
    );
    assert_eq!(
        verify_user(&server, &key, KITAMI.0, Some("kitami01"), &code(t2, 1)),
        "accept"
    );

    // 利用登録解除 of user 2, with the 確認暗証番号.
    let otp = phone.get(&r.link('9').unwrap());
    let release = phone.follow(&otp, '3');
    release
        .assert_chtml(BIZ_BUDGET)
        .assert_contains("利用登録解除")
        .assert_contains("経理花子 GMHW00000013");
    let bad = phone.submit(&release, &[("user", "kitami02"), ("confirm", "nope")]);
    bad.assert_contains("ご契約先確認暗証番号が正しくありません。");
    let done = phone.submit(&bad, &[("user", "kitami02"), ("confirm", KITAMI.2)]);
    done.assert_chtml(BIZ_BUDGET);
    assert!(!done.text.contains("経理花子"), "released:\n{}", done.text);
    assert_eq!(
        verify_user(&server, &key, KITAMI.0, Some("kitami02"), &code(t, 1)),
        "no_token"
    );

    let main = phone.follow(&done, '*');
    let manage = phone.follow(&main, '1');
    let users = phone.follow(&manage, '1');
    users
        .assert_contains("北見太郎 GMHW00000014")
        .assert_contains("経理花子 -");
    let out = phone.follow(&users, '#');
    out.assert_contains("ログアウトしました。");
    phone
        .get(&users.link('1').unwrap())
        .assert_phone_error("セッションの有効期限が切れた");

    // Every write is in the audit trail with its receipt (受付番号, 受付時刻).
    let data_dir = server.data_dir.clone();
    server.kill();
    with_store(&data_dir, |store| {
        let recs: Vec<_> = store.audit().map(Result::unwrap).collect();
        let regs: Vec<_> = recs
            .iter()
            .filter(|r| r.event == "biz_registration")
            .collect();
        assert_eq!(regs.len(), 3);
        assert!(regs
            .iter()
            .all(|r| r.detail.contains("receipt ") && r.detail.contains("受付時刻")));
        assert!(
            regs[2].detail.contains("replaces GMHW00000013"),
            "{:?}",
            regs[2]
        );
        assert_eq!(recs.iter().filter(|r| r.event == "biz_release").count(), 1);
        assert_eq!(store.verify_audit().unwrap().map(|_| ()), Ok(()));
        // GMHW00000013 is still kitami02's? No: released, back to the contract.
        let t13 = store.token(t).unwrap().unwrap();
        assert_eq!(t13.state, TokenState::Available);
        assert_eq!(t13.assigned_to.as_deref(), Some(KITAMI.0));
    });
}

#[test]
fn au_changing_the_usage_releases_every_token_of_the_contract() {
    usage_change_releases_every_token(AU);
}

#[test]
fn docomo_without_cookies_shares_a_token_and_changes_the_usage() {
    usage_change_releases_every_token(FOMA);
}

/// Seed 004 B (one shared token), then 利用形態設定 to A and back: each change releases every
/// registration of the contract.
fn usage_change_releases_every_token(ua: &str) {
    let (_tmp, server, key) = start(&[]);
    let mut phone = server.phone(ua);
    let main = admin_login(&mut phone, ABASHIRI);
    assert_eq!(
        main.header("set-cookie").is_some(),
        phone.keeps_cookies,
        "the session rides in a cookie only on phones that keep them"
    );
    let otp = to_otp_setting(&mut phone, &main);
    otp.assert_contains("現在の設定 全ての利用者が同じトークンを使用する");
    let form = phone.follow(&otp, '2');
    form.assert_chtml(BIZ_BUDGET)
        .assert_contains("全ての利用者 -");
    assert!(
        !form.text.contains("name=\"user\""),
        "no user to choose (seed 004 B)"
    );
    let t16 = "GMHW00000016";
    let r = register(&mut phone, &form, "", t16, &code(t16, 0));
    r.assert_contains("全ての利用者 GMHW00000016");
    for u in ["abash01", "abash03"] {
        assert_eq!(
            verify_user(&server, &key, ABASHIRI.0, Some(u), &code(t16, 0)),
            "replayed",
            "every user shares the token"
        );
    }
    assert_eq!(
        verify_user(&server, &key, ABASHIRI.0, Some("abash03"), &code(t16, 1)),
        "accept"
    );

    // 利用形態設定: the seed's warning, キャンセル back, 次へ changes it.
    let back = phone.get(&r.link('9').unwrap());
    let setting = phone.follow(&back, '1');
    setting
        .assert_chtml(BIZ_BUDGET)
        .assert_contains("ワンタイムパスワード利用形態設定")
        .assert_contains("◎利用形態を変更する場合は、トークンの利用登録が解除されます。")
        .assert_contains("value=\"shared\" checked")
        .assert_contains("キャンセル");
    let cancelled = phone.follow(&setting, '9');
    cancelled.assert_contains("現在の設定 全ての利用者が同じトークンを使用する");
    // Every step rotates the session: the next form is taken from the page that came back.
    let setting = phone.follow(&cancelled, '1');
    let per_user = phone.submit(&setting, &[("usage", "per_user")]);
    per_user
        .assert_chtml(BIZ_BUDGET)
        .assert_contains("利用形態 全ての利用者が異なるトークンを使用する")
        .assert_contains("網走次郎 -")
        .assert_contains("網走良子 -");
    assert_eq!(
        verify_user(&server, &key, ABASHIRI.0, Some("abash03"), &code(t16, 1)),
        "no_token"
    );

    // Two users on one token, then back to shared: every registration released at once.
    let t17 = "GMHW00000017";
    let r = register(&mut phone, &per_user, "abash01", t17, &code_before(t17));
    let r = register(&mut phone, &r, "abash02", t17, &code(t17, 0));
    r.assert_contains("網走次郎 GMHW00000017")
        .assert_contains("網走三郎 GMHW00000017");
    let back = phone.get(&r.link('9').unwrap());
    let setting = phone.follow(&back, '1');
    let shared = phone.submit(&setting, &[("usage", "shared")]);
    shared.assert_contains("全ての利用者 -");
    for u in ["abash01", "abash02"] {
        assert_eq!(
            verify_user(&server, &key, ABASHIRI.0, Some(u), &code(t17, 1)),
            "no_token"
        );
    }

    let data_dir = server.data_dir.clone();
    server.kill();
    with_store(&data_dir, |store| {
        let b = store.business(ABASHIRI.0).unwrap().unwrap();
        assert_eq!(b.usage, Usage::Shared);
        assert!(b.serials().is_empty());
        for s in [t16, t17] {
            let t = store.token(s).unwrap().unwrap();
            assert_eq!(t.state, TokenState::Available, "{s}");
            assert_eq!(
                t.assigned_to.as_deref(),
                Some(ABASHIRI.0),
                "{s} stays the contract's"
            );
        }
        let changes: Vec<_> = store
            .audit()
            .map(Result::unwrap)
            .filter(|r| r.event == "biz_usage")
            .collect();
        assert_eq!(changes.len(), 2);
        assert!(changes[0]
            .detail
            .contains("shared -> per_user; released [GMHW00000016]"));
        assert!(
            changes[1].detail.contains("released [GMHW00000017]"),
            "{:?}",
            changes[1]
        );
    });
}

#[test]
fn softbank_registration_refuses_what_the_seeds_forbid_and_wrong_cards_lock() {
    let server = Server::start();
    let mut phone = server.phone(SOFTBANK);
    let main = admin_login(&mut phone, KITAMI);
    let otp = to_otp_setting(&mut phone, &main);
    let form = phone.follow(&otp, '2');
    for (serial, says) in [
        // Feature phones register hardware tokens only (seed 003).
        ("SYSW00000001", "ハードウェアトークンのみ"),
        // A hardware token not issued to the contract at a branch (seed 000).
        ("GMHW00000003", "発行申込書"),
        // Issued to the other contract.
        ("GMHW00000016", "既に登録されている"),
    ] {
        let r = register(&mut phone, &form, "kitami01", serial, &code(serial, 0));
        r.assert_contains(says).assert_contains("北見太郎 -");
    }
    let r = phone.submit(
        &form,
        &[
            ("user", "kitami01"),
            ("serial", "GMHW00000015"),
            ("otp", &code("GMHW00000015", 0)),
            ("confirm", "wrong"),
        ],
    );
    r.assert_contains("ご契約先確認暗証番号が正しくありません。")
        .assert_contains("北見太郎 -");
    let r = phone.submit(
        &form,
        &[
            ("serial", "GMHW00000015"),
            ("otp", "123456"),
            ("confirm", KITAMI.2),
        ],
    );
    r.assert_contains("利用者を選択してください。");

    // Wrong card digits count toward the lockout (5 in the demo profile, one used above).
    let mut other = server.phone(SOFTBANK);
    let mut card = to_card(&mut other, KITAMI);
    for _ in 0..4 {
        let [a, b] = answer(&card, KITAMI.3);
        let wrong = ((a.parse::<u8>().unwrap() + 5) % 10).to_string();
        card = other.submit(&card, &[("card1", &wrong), ("card2", &b)]);
    }
    card.assert_chtml(BIZ_BUDGET)
        .assert_contains("ログインがロックされています");
    let top = other.get("/");
    let entry = other.follow(&top, '4');
    let r = other.submit(&entry, &[("contract_id", KITAMI.0), ("password", KITAMI.1)]);
    r.assert_contains("ログインがロックされています");

    // The branch console shows the contract; a clerk may not release the lock, a supervisor may.
    let lookup = format!("/branch/customer?contract_id={}", KITAMI.0);
    let mut clerk = Staff::sign_in(server.addr, CLERK_HONTEN);
    let page = clerk.get(&lookup);
    page.assert_status(200)
        .assert_contains("法人のお客様の照会")
        .assert_contains("全ての利用者が異なるトークンを使用する")
        .assert_contains("kitami03")
        .assert_contains("営業一郎")
        .assert_contains("ロック中 (locked)")
        .assert_contains("card_lockout")
        .assert_contains("ロック解除は役席者が行います。");
    let unlock = [("contract_id", KITAMI.0), ("what", "admin")];
    clerk
        .post("/branch/business/unlock", &unlock)
        .assert_status(403);
    let mut boss = Staff::sign_in(server.addr, SUPER_HONTEN);
    boss.get(&lookup);
    boss.post("/branch/business/unlock", &unlock)
        .assert_status(200)
        .assert_contains("ロックを解除しました。")
        .assert_contains("利用可");
    let main = admin_login(&mut other, KITAMI);

    // The 発行申込書 at the branch makes GMHW00000003 the contract's: now it registers.
    boss.post(
        "/branch/applications",
        &[
            ("contract_id", KITAMI.0),
            ("application_no", "B-0001"),
            ("reason", "new"),
            ("serial", "GMHW00000003"),
        ],
    )
    .assert_status(200)
    .assert_contains("GMHW00000003");
    boss.get(&lookup)
        .assert_contains("B-0001")
        .assert_contains("払出済み・未登録");
    let otp = to_otp_setting(&mut other, &main);
    let form = other.follow(&otp, '2');
    let t = "GMHW00000003";
    let r = register(&mut other, &form, "kitami01", t, &code(t, 1));
    r.assert_contains("北見太郎 GMHW00000003");
    boss.get(&lookup)
        .assert_contains("biz_registration")
        .assert_contains("法人 利用登録");
}

/// A copy of the one-bank demo whose bank profile has `edit` applied to bank.toml.
fn bank_copy(dir: &std::path::Path, edit: impl Fn(String) -> String) -> std::path::PathBuf {
    let bank = dir.join("bank");
    std::fs::create_dir_all(bank.join("demo")).unwrap();
    let data = one_bank();
    for f in std::fs::read_dir(data.join("demo")).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), bank.join("demo").join(f.file_name())).unwrap();
    }
    std::fs::copy(carrier_networks(), bank.join("carrier_networks.toml")).unwrap();
    let profile = std::fs::read_to_string(data.join("bank.toml")).unwrap();
    let edited = edit(profile.clone());
    assert_ne!(edited, profile, "the edit changed the profile");
    std::fs::write(bank.join("bank.toml"), edited).unwrap();
    bank
}

/// Seed 001: a bank that ends 利用開始 and 交換 with the お客様カード (demo cards in
/// the one-bank demo's demo/cards.csv).
fn card_bank(tmp: &std::path::Path) -> Server {
    let bank = bank_copy(tmp, |p| {
        p.replace(
            "start_confirmation = \"transfer_password\"",
            "start_confirmation = \"card\"",
        )
        .replace("show_receipt = false", "show_receipt = true")
    });
    let data = tmp.join("var");
    std::fs::create_dir_all(&data).unwrap();
    Server::start_with_bank(&data, &bank, &[])
}

const TARO_CARD: &str = "31415926";
const HANAKO_CARD: &str = "27182818";

#[test]
fn personal_start_and_exchange_end_with_the_customer_card_when_the_bank_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let server = card_bank(tmp.path());
    let mut phone = server.phone(FOMA);
    let top = phone.get("/");
    let step1 = phone.follow(&top, '1');
    let form = phone.submit(&step1, &[("contract_id", TARO.0), ("password", TARO.1)]);
    form.assert_chtml(5000)
        .assert_contains("お客様カードの(1)、(2)に対応した数字を半角でそれぞれ入力してください。")
        .assert_contains("istyle=\"4\"");
    assert!(!form.text.contains("資金移動用パスワード"), "{}", form.text);
    let t = "GMHW00000001";
    // A wrong digit: refused with a new pair, nothing registered.
    let [a, b] = answer(&form, TARO_CARD);
    let wrong = ((b.parse::<u8>().unwrap() + 3) % 10).to_string();
    let again = phone.submit(
        &form,
        &[
            ("serial", t),
            ("otp", &code(t, 0)),
            ("login_otp", "1"),
            ("card1", &a),
            ("card2", &wrong),
        ],
    );
    again
        .assert_chtml(5000)
        .assert_contains("確認用パスワードが正しくありません。")
        .assert_contains("value=\"GMHW00000001\"");
    let [a, b] = answer(&again, TARO_CARD);
    let done = phone.submit(
        &again,
        &[
            ("serial", t),
            ("otp", &code(t, 0)),
            ("login_otp", "1"),
            ("card1", &a),
            ("card2", &b),
        ],
    );
    done.assert_chtml(5000)
        .assert_contains("ワンタイムパスワードの登録が完了しました")
        .assert_contains("GMHW00000001");

    // 交換 asks the card too, at its last step (au keeps cookies).
    let mut au = server.phone(AU);
    let top = au.get("/");
    let ex = au.follow(&top, '2');
    let current = au.submit(&ex, &[("contract_id", HANAKO.0), ("password", HANAKO.1)]);
    let new = au.submit(&current, &[("otp", &code(HANAKO_TOKEN, 0))]);
    new.assert_contains("新ワンタイムパスワード認証")
        .assert_contains("お客様カードの(1)、(2)");
    let [a, b] = answer(&new, HANAKO_CARD);
    let t2 = "GMHW00000002";
    let done = au.submit(
        &new,
        &[
            ("serial", t2),
            ("otp", &code(t2, 0)),
            ("card1", &a),
            ("card2", &b),
        ],
    );
    done.assert_chtml(5000)
        .assert_contains("変更後 GMHW00000002")
        .assert_contains("変更前 GMHW00000010");
}

#[test]
fn receipt_number_shown_when_the_profile_asks_and_the_shared_token_released() {
    let tmp = tempfile::tempdir().unwrap();
    let server = card_bank(tmp.path());
    let mut phone = server.phone(SOFTBANK);
    let main = admin_login(&mut phone, KITAMI);
    let otp = to_otp_setting(&mut phone, &main);
    let form = phone.follow(&otp, '2');
    let t = "GMHW00000018";
    let r = register(&mut phone, &form, "kitami03", t, &code(t, 0));
    r.assert_contains("営業一郎 GMHW00000018")
        .assert_contains("(受付番号 ");
    assert!(!r.text.contains("完了"));

    // The shared token (seed 004 B) registered, then released with the 確認暗証番号.
    let mut au = server.phone(AU);
    let main = admin_login(&mut au, ABASHIRI);
    let otp = to_otp_setting(&mut au, &main);
    let form = au.follow(&otp, '2');
    let t = "GMHW00000016";
    register(&mut au, &form, "", t, &code(t, 0)).assert_contains("全ての利用者 GMHW00000016");
    let otp = to_otp_setting(&mut au, &main);
    let release = au.follow(&otp, '3');
    release
        .assert_chtml(BIZ_BUDGET)
        .assert_contains("全ての利用者 GMHW00000016");
    let done = au.submit(&release, &[("confirm", ABASHIRI.2)]);
    done.assert_chtml(BIZ_BUDGET)
        .assert_contains("全ての利用者 -")
        .assert_contains("(受付番号 ");
}

#[test]
fn one_token_for_two_users_has_one_fail_counter_and_a_branch_unlocks_it() {
    let (_tmp, server, key) = start(&[]);
    let mut phone = server.phone(SOFTBANK);
    let main = admin_login(&mut phone, KITAMI);
    let otp = to_otp_setting(&mut phone, &main);
    let form = phone.follow(&otp, '2');
    let t = "GMHW00000015";
    let r = register(&mut phone, &form, "kitami01", t, &code_before(t));
    let r = register(&mut phone, &r, "kitami02", t, &code(t, 0));
    r.assert_contains("北見太郎 GMHW00000015")
        .assert_contains("経理花子 GMHW00000015");
    // Four wrong codes as one user and one as the other lock the one token for both.
    let wrong = wrong_code(t);
    for _ in 0..4 {
        assert_eq!(
            verify_user(&server, &key, KITAMI.0, Some("kitami01"), &wrong),
            "reject"
        );
    }
    assert_eq!(
        verify_user(&server, &key, KITAMI.0, Some("kitami02"), &wrong),
        "locked"
    );
    let right = code(t, 1);
    assert_eq!(
        verify_user(&server, &key, KITAMI.0, Some("kitami01"), &right),
        "locked"
    );
    // A supervisor releases the token's lock on the contract's console page.
    let mut boss = Staff::sign_in(server.addr, SUPER_HONTEN);
    let page = boss.get(&format!("/branch/customer?contract_id={}", KITAMI.0));
    page.assert_contains("GMHW00000015")
        .assert_contains("kitami01 kitami02")
        .assert_contains("トークンのロック解除");
    boss.post(
        "/branch/business/unlock",
        &[("contract_id", KITAMI.0), ("what", t)],
    )
    .assert_status(200)
    .assert_contains("ロックを解除しました。");
    assert_eq!(
        verify_user(&server, &key, KITAMI.0, Some("kitami01"), &right),
        "accept"
    );
}

/// Issue 16: the branch records a 利用中止届 for a business contract's token as for a personal
/// customer (maker–checker, audited, a 受付番号). A token registered to two users is cancelled
/// for both; the API answers `cancelled` for them until the administrator registers another.
#[test]
fn a_business_users_token_is_cancelled_at_the_branch_by_maker_and_checker() {
    let (_tmp, server, key) = start(&[]);
    let mut phone = server.phone(SOFTBANK);
    let main = admin_login(&mut phone, KITAMI);
    let otp = to_otp_setting(&mut phone, &main);
    let form = phone.follow(&otp, '2');
    let (shared, own) = ("GMHW00000015", "GMHW00000013");
    let r = register(&mut phone, &form, "kitami01", shared, &code_before(shared));
    let r = register(&mut phone, &r, "kitami02", shared, &code(shared, 0));
    register(&mut phone, &r, "kitami03", own, &code_before(own))
        .assert_contains("営業一郎 GMHW00000013");
    let lookup = format!("/branch/customer?contract_id={}", KITAMI.0);
    let mut clerk = Staff::sign_in(server.addr, CLERK_HONTEN);
    clerk
        .get(&lookup)
        .assert_contains("利用中止届の受付")
        .assert_contains("kitami01 北見太郎 (GMHW00000015)");
    let cancel = |s: &mut Staff, user: &str, no: &str| {
        s.post(
            "/branch/forms",
            &[
                ("contract_id", KITAMI.0),
                ("user_id", user),
                ("form_no", no),
                ("received_on", "2020-04-01"),
                ("branch_code", "001"),
                ("identity_checked", "1"),
            ],
        )
    };
    // A user the contract does not have, or the shared token of a per-user contract: refused.
    cancel(&mut clerk, "nobody", "F-B000")
        .assert_status(422)
        .assert_contains("利用者は、この契約先に登録されていません");
    cancel(&mut clerk, "", "F-B000")
        .assert_status(422)
        .assert_contains("対象の利用者を選んでください");
    cancel(&mut clerk, "kitami01", "F-B001")
        .assert_status(200)
        .assert_contains("受付済")
        .assert_contains(shared);
    // Until a supervisor other than the clerk approves, the token works for both users.
    assert_eq!(
        verify_user(&server, &key, KITAMI.0, Some("kitami02"), &code(shared, 1)),
        "accept"
    );
    let approve = [("form_no", "F-B001")];
    clerk
        .post("/branch/forms/approve", &approve)
        .assert_status(403);
    Staff::sign_in(server.addr, CLERK_EKIMAE)
        .post("/branch/forms/approve", &approve)
        .assert_status(403);
    let mut boss = Staff::sign_in(server.addr, SUPER_HONTEN);
    boss.get("/branch/lists/pending")
        .assert_contains("F-B001")
        .assert_contains("有限会社北見製作所");
    boss.post("/branch/forms/approve", &approve)
        .assert_status(200)
        .assert_contains("利用中止にしました。受付番号: ");
    boss.post("/branch/forms/approve", &approve)
        .assert_status(409);
    // Both users of the cancelled token are between tokens; the third user's token works.
    for user in ["kitami01", "kitami02"] {
        assert_eq!(
            verify_user(&server, &key, KITAMI.0, Some(user), &code(shared, 2)),
            "cancelled",
            "{user}"
        );
    }
    assert_eq!(
        verify_user(&server, &key, KITAMI.0, Some("kitami03"), &code(own, 1)),
        "accept"
    );
    let page = boss.get(&lookup);
    page.assert_contains("<td>経理花子</td><td>- ・利用中止(新しいトークンの登録待ち)</td>")
        .assert_contains("承認済")
        .assert_contains("F-B001")
        .assert_contains("branch_cancel_approved");
    let store_receipt = page.text.contains("<td>利用中止</td>");
    assert!(store_receipt, "the 受付番号 in the contract's history");
    boss.get(&format!("/branch/audit?contract={}", KITAMI.0))
        .assert_contains("branch_cancel_received")
        .assert_contains("user=kitami01")
        .assert_contains("C0011,S0012");
    // The administrator registers another token for kitami01; kitami02 stays between tokens.
    let main = admin_login(&mut phone, KITAMI);
    let otp = to_otp_setting(&mut phone, &main);
    let form = phone.follow(&otp, '2');
    let next = "GMHW00000014";
    let again = register(&mut phone, &form, "kitami01", shared, &code(shared, 3));
    assert!(
        !again.text.contains("北見太郎 GMHW00000015"),
        "a cancelled token is not registered again"
    );
    register(&mut phone, &form, "kitami01", next, &code_before(next))
        .assert_contains("北見太郎 GMHW00000014");
    assert_eq!(
        verify_user(&server, &key, KITAMI.0, Some("kitami01"), &code(next, 0)),
        "accept"
    );
    assert_eq!(
        verify_user(&server, &key, KITAMI.0, Some("kitami02"), &code(next, 1)),
        "cancelled"
    );
}

/// Issue 16 with issue 12 item 6: a replacement 発行申込書 for a business contract's shared token
/// (電池切れ) waits for a supervisor other than the maker; approved, the old token is handed
/// back, the new one issued to the contract, and its administrator registers it.
#[test]
fn a_shared_business_token_is_replaced_only_with_a_supervisor() {
    let (_tmp, server, key) = start(&[]);
    let mut phone = server.phone(FOMA);
    let main = admin_login(&mut phone, ABASHIRI);
    let otp = to_otp_setting(&mut phone, &main);
    let form = phone.follow(&otp, '2');
    let old = "GMHW00000016";
    register(&mut phone, &form, "", old, &code_before(old));
    assert_eq!(
        verify_user(&server, &key, ABASHIRI.0, Some("abash02"), &code(old, 0)),
        "accept"
    );
    let mut clerk = Staff::sign_in(server.addr, CLERK_HONTEN);
    let apply = [
        ("contract_id", ABASHIRI.0),
        ("user_id", ""),
        ("application_no", "B-7001"),
        ("reason", "battery"),
        ("serial", "GMHW00000005"),
    ];
    clerk
        .post("/branch/applications", &apply)
        .assert_status(200)
        .assert_contains("受付済")
        .assert_contains("利用中のまま");
    assert_eq!(
        verify_user(&server, &key, ABASHIRI.0, Some("abash01"), &code(old, 1)),
        "accept"
    );
    let approve = [("form_no", "B-7001")];
    Staff::sign_in(server.addr, CLERK_EKIMAE)
        .post("/branch/forms/approve", &approve)
        .assert_status(403);
    // The maker, even a supervisor, cannot approve their own entry.
    let mut maker = Staff::sign_in(server.addr, SUPER_EKIMAE);
    let own = [
        ("contract_id", ABASHIRI.0),
        ("user_id", ""),
        ("application_no", "B-7002"),
        ("reason", "broken"),
        ("serial", ""),
    ];
    maker.post("/branch/applications", &own).assert_status(200);
    maker
        .post("/branch/forms/approve", &[("form_no", "B-7002")])
        .assert_status(409)
        .assert_contains("ご自身が受け付けた案件");
    maker
        .post(
            "/branch/forms/reject",
            &[("form_no", "B-7002"), ("reason", "x")],
        )
        .assert_status(409);
    let mut boss = Staff::sign_in(server.addr, SUPER_HONTEN);
    boss.post(
        "/branch/forms/reject",
        &[("form_no", "B-7002"), ("reason", "二重の申込")],
    )
    .assert_status(200)
    .assert_contains("申込書番号 B-7002 を却下しました");
    boss.post("/branch/forms/approve", &approve)
        .assert_status(200)
        .assert_contains("返却されたトークン GMHW00000016")
        .assert_contains("GMHW00000005")
        .assert_contains("手数料: 0円");
    for user in ["abash01", "abash02", "abash03"] {
        assert_eq!(
            verify_user(&server, &key, ABASHIRI.0, Some(user), &code(old, 2)),
            "cancelled",
            "{user}"
        );
    }
    boss.get(&format!("/branch/customer?contract_id={}", ABASHIRI.0))
        .assert_contains("払出済み・未登録")
        .assert_contains("GMHW00000005")
        .assert_contains("電池切れによる交換")
        .assert_contains("branch_replace_approved");
    // The administrator registers the new token for everyone; the old one is retired.
    let main = admin_login(&mut phone, ABASHIRI);
    let otp = to_otp_setting(&mut phone, &main);
    let form = phone.follow(&otp, '2');
    let new = "GMHW00000005";
    register(&mut phone, &form, "", new, &code_before(new));
    assert_eq!(
        verify_user(&server, &key, ABASHIRI.0, Some("abash03"), &code(new, 0)),
        "accept"
    );
}

/// A contract the operator imports in the test below: 契約先ID, ご契約先暗証番号, 確認暗証番号,
/// お客様カード.
const MINAMI_KOBO: (&str, &str, &str, &str) =
    ("3000000001", "Admin3001", "Kakunin3001", "31415926");

/// An operator's CSV file (UTF-8 BOM, CRLF) in `dir`; its path.
fn csv_file(dir: &std::path::Path, name: &str, lines: &[String]) -> String {
    let mut text = "\u{feff}".to_owned();
    for l in lines {
        text.push_str(l);
        text.push_str("\r\n");
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn business_contracts_imported_while_serving_sign_in_on_a_phone_and_register_a_token() {
    let (tmp, server, key) = start(&[]);
    let d = tmp.path().to_str().unwrap();
    let (id, admin, confirm, card) = MINAMI_KOBO;
    // The host's hashes, the same in every export of this test.
    let (admin_hash, confirm_hash) = (
        bcrypt::hash(admin, 4).unwrap(),
        bcrypt::hash(confirm, 4).unwrap(),
    );
    let header = "contract_id,name,admin_password_hash,confirm_pin_hash,card,usage,status";
    let contract = |status: &str| {
        format!("{id},有限会社南工房,{admin_hash},{confirm_hash},{card},per_user,{status}")
    };
    let contracts = csv_file(tmp.path(), "c.csv", &[header.into(), contract("active")]);
    let users = csv_file(
        tmp.path(),
        "u.csv",
        &[
            "contract_id,user_id,name".into(),
            format!("{id},minami01,南一郎"),
            format!("{id},minami02,南二郎"),
        ],
    );
    let import = |extra: &[&str]| {
        let mut args = vec![
            "customers",
            "import",
            "--business",
            &*contracts,
            "--users",
            &*users,
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--data-dir", d]);
        cli(&args)
    };
    // Through the serving gateway's admin socket; a dry run writes nothing.
    let (ok, out, err) = import(&["--dry-run"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("dry run") && out.contains("1 added"), "{out}");
    assert!(
        !out.contains(card) && !err.contains(card),
        "the card is never shown"
    );

    // A bad file: every bad row named by file and line, nothing loaded, no secret repeated.
    let bad_contracts = csv_file(
        tmp.path(),
        "bad.csv",
        &[
            header.into(),
            format!("{id},有限会社南工房,{admin},{confirm_hash},1234567,per_user,active"),
        ],
    );
    let bad_users = csv_file(
        tmp.path(),
        "bad-u.csv",
        &[
            "contract_id,user_id,name".into(),
            "3999999999,x1,誰か".into(),
        ],
    );
    let (ok, _, err) = cli(&[
        "customers",
        "import",
        "--business",
        &*bad_contracts,
        "--users",
        &*bad_users,
        "--data-dir",
        d,
    ]);
    assert!(!ok, "a bad file is refused");
    assert!(err.contains("bad.csv line 2: admin_password_hash"), "{err}");
    assert!(err.contains("card must be"), "{err}");
    assert!(!err.contains(admin) && !err.contains("1234567"), "{err}");
    let (ok, _, err) = cli(&[
        "customers",
        "import",
        "--business",
        &*contracts,
        "--users",
        &*bad_users,
        "--data-dir",
        d,
    ]);
    assert!(!ok, "{err}");
    assert!(
        err.contains("bad-u.csv line 2: contract 3999999999 is in neither"),
        "{err}"
    );

    let (ok, out, err) = import(&[]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("loaded") && out.contains("1 added"), "{out}");
    let (_, trail, _) = cli(&["audit", "--data-dir", d]);
    assert!(
        trail.contains("biz_load") && trail.contains("operator"),
        "{trail}"
    );
    assert!(
        !trail.contains(card),
        "the card is never in the audit trail"
    );
    assert!(!server.log().contains(card), "nor in the log");

    // The console shows it; the branch issues a hardware token to it (発行申込書, seed 000).
    let lookup = format!("/branch/customer?contract_id={id}");
    let mut boss = Staff::sign_in(server.addr, SUPER_HONTEN);
    boss.get(&lookup)
        .assert_status(200)
        .assert_contains("有限会社南工房")
        .assert_contains("minami02");
    let t = "GMHW00000005";
    boss.post(
        "/branch/applications",
        &[
            ("contract_id", id),
            ("application_no", "B-0301"),
            ("reason", "new"),
            ("serial", t),
        ],
    )
    .assert_status(200);

    // The administrator signs in on a cookie-less DoCoMo phone with the imported card and
    // registers the token for a user.
    let mut phone = server.phone(FOMA);
    let main = admin_login(&mut phone, MINAMI_KOBO);
    let otp = to_otp_setting(&mut phone, &main);
    let form = phone.follow(&otp, '2');
    let fields = [
        ("user", "minami01"),
        ("serial", t),
        ("otp", &code(t, 0)),
        ("confirm", confirm),
    ];
    let list = phone.submit(&form, &fields);
    list.assert_chtml(BIZ_BUDGET)
        .assert_contains(&format!("南一郎 {t}"));
    assert_eq!(
        verify_user(&server, &key, id, Some("minami01"), &code(t, 1)),
        "accept"
    );
    // The host's bcrypt hashes became argon2id at their first right use (password, then PIN).
    let (_, trail, _) = cli(&["audit", "--data-dir", d]);
    assert_eq!(trail.matches("re-hashed to argon2id").count(), 2, "{trail}");

    // The bank closes the contract: its token is cancelled, the API says so, the login is as
    // for an unknown 契約先ID.
    let closing = csv_file(tmp.path(), "c2.csv", &[header.into(), contract("closed")]);
    let (ok, out, err) = cli(&[
        "customers",
        "import",
        "--business",
        &*closing,
        "--users",
        &*users,
        "--data-dir",
        d,
    ]);
    assert!(ok && out.contains("1 closed"), "{out}{err}");
    assert_eq!(
        verify_user(&server, &key, id, Some("minami01"), &code(t, 2)),
        "cancelled"
    );
    boss.get(&lookup)
        .assert_status(200)
        .assert_contains("解約 (closed)");
    let mut phone = server.phone(AU);
    let top = phone.get("/");
    let entry = phone.follow(&top, '4');
    phone
        .submit(&entry, &[("contract_id", id), ("password", admin)])
        .assert_contains("契約先IDまたはご契約先暗証番号が正しくありません。");
    drop(server);
    // The closing export brought the same host hashes: the argon2id ones stay.
    let b = with_store(tmp.path(), |s| s.business(id).unwrap().unwrap());
    assert!(b.admin_hash.starts_with("$argon2id$"), "{}", b.admin_hash);
    assert!(
        b.confirm_hash.starts_with("$argon2id$"),
        "{}",
        b.confirm_hash
    );
    let token = with_store(tmp.path(), |s| s.token(t).unwrap().unwrap());
    assert!(
        matches!(token.state, TokenState::Cancelled { .. }),
        "{:?}",
        token.state
    );
}
