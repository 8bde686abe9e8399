//! Customer journeys without dead ends (issue 14), walked as phones over real sockets: old
//! J-PHONE handsets without cookies, names every carrier renders, input modes, guidance for
//! customers without a (working) token, and the seed's wording.

use crate::support::*;

/// Every page stays within the benchmark's page budget (README, Performance), well under the
/// smallest handset cache (i-mode 1.0: 5 KB).
const BUDGET: usize = 2048;

/// A handset that keeps no cookies, whatever the test client would assume from its UA.
fn cookieless(server: &Server, ua: &str) -> Phone {
    let mut phone = server.phone(ua);
    phone.keeps_cookies = false;
    phone
}

/// Walks top → 利用開始 → credentials → token → receipt; every page within [`BUDGET`].
#[allow(dead_code)] // used by the walks below as they land
fn walk_start(phone: &mut Phone, who: (&str, &str, &str), serial: &str) -> Resp {
    let top = phone.get("/");
    top.assert_chtml(BUDGET);
    let step1 = phone.follow(&top, '1');
    step1.assert_chtml(BUDGET);
    let step2 = phone.submit(&step1, &[("contract_id", who.0), ("password", who.1)]);
    step2.assert_chtml(BUDGET).assert_contains("シリアル番号");
    let done = phone.submit(
        &step2,
        &[
            ("serial", serial),
            ("otp", &code(serial, 0)),
            ("login_otp", "1"),
            ("transfer_password", who.2),
        ],
    );
    done.assert_chtml(BUDGET)
        .assert_contains("ワンタイムパスワードの登録が完了しました");
    done
}

// Issue 14 item 3: J-PHONE handsets keep no cookies (see tests/ua_table.rs for the source), so
// the session rides in the URL and hidden fields and every flow gets past its second step.
#[test]
fn old_jphone_handsets_carry_the_session_in_the_page() {
    let server = Server::start();
    let handsets = [
        // C type, P type (the J-SH51) and W type.
        ("J-PHONE/3.0/J-T07", TARO, "GMHW00000001"),
        (
            "J-PHONE/4.0/J-SH51/SNJSHA3029293 SH/0001aa Profile/MIDP-1.0 Configuration/CLDC-1.0 Ext-Profile/JSCL-1.1.0",
            ICHIRO,
            "GMHW00000002",
        ),
        ("J-PHONE/5.0/V801SA", JIRO, "GMHW00000003"),
    ];
    for (ua, who, serial) in handsets {
        let mut phone = cookieless(&server, ua);
        let top = phone.get("/");
        let step1 = phone.follow(&top, '1');
        let step2 = phone.submit(&step1, &[("contract_id", who.0), ("password", who.1)]);
        assert!(step2.header("set-cookie").is_none(), "{ua}: no cookie");
        let (_, hidden) = step2.form().unwrap();
        assert!(
            hidden.iter().any(|(k, _)| k == "sid"),
            "{ua}: sid in the form"
        );
        let done = phone.submit(
            &step2,
            &[
                ("serial", serial),
                ("otp", &code(serial, 0)),
                ("login_otp", "0"),
                ("transfer_password", who.2),
            ],
        );
        done.assert_chtml(BUDGET)
            .assert_contains("ワンタイムパスワードの登録が完了しました");
        assert!(done.receipt_number().is_some(), "{ua}");
    }
    // A SoftBank 3G handset still keeps its session in a cookie.
    let mut sb = server.phone(SOFTBANK);
    let top = sb.get("/");
    let r = sb.submit(&top, &[("contract_id", HANAKO.0), ("password", HANAKO.1)]);
    assert!(
        r.header("set-cookie").is_some(),
        "SoftBank 3G gets a cookie"
    );
    let (_, hidden) = r.form().unwrap();
    assert!(!hidden.iter().any(|(k, _)| k == "sid"));
}

/// A copy of the one-bank demo in `dir` whose demo customer 1000000001 is called `name`.
fn bank_with_name(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let bank = dir.join("bank");
    std::fs::create_dir_all(bank.join("demo")).unwrap();
    let data = one_bank();
    for f in ["registrations.csv", "tokens.csv", "staff.csv"] {
        std::fs::copy(data.join("demo").join(f), bank.join("demo").join(f)).unwrap();
    }
    std::fs::copy(data.join("bank.toml"), bank.join("bank.toml")).unwrap();
    std::fs::copy(carrier_networks(), bank.join("carrier_networks.toml")).unwrap();
    let customers = std::fs::read_to_string(data.join("demo/customers.csv")).unwrap();
    let customers = customers.replace("信金太郎", name);
    std::fs::write(bank.join("demo/customers.csv"), customers).unwrap();
    bank
}

// Issue 14 item 7: a name with IBM-extension, pictogram-area and non-Shift_JIS characters goes
// out on every carrier's pages as JIS X 0208 only (customary substitutes, 〓 for the rest);
// the branch console shows the real name.
#[test]
fn names_on_phone_pages_use_only_characters_every_carrier_renders() {
    let tmp = tempfile::tempdir().unwrap();
    let real = "髙﨑𠮷濵草彅";
    let bank = bank_with_name(tmp.path(), real);
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start_with_bank(&data, &bank, &[]);
    for ua in [
        FOMA,
        AU,
        SOFTBANK,
        "J-PHONE/4.0/J-SH51 SH/0001aa Profile/MIDP-1.0",
    ] {
        let mut phone = cookieless(&server, ua);
        let top = phone.get("/");
        let menu = phone.submit(&top, &[("contract_id", TARO.0), ("password", TARO.1)]);
        menu.assert_chtml(BUDGET)
            .assert_contains("ようこそ 高崎吉濱草〓様")
            .assert_contains("高崎吉濱草〓様<br>");
        assert!(!menu.text.contains("&#"), "{ua}: no character references");
        // Outside the keypad pictograms, no byte pair leaves JIS X 0208.
        let at = menu.text.find("ようこそ").unwrap();
        let greeting: String = menu.text[at..].chars().take(14).collect();
        let (greeting, _, _) = encoding_rs::SHIFT_JIS.encode(&greeting);
        assert!(greeting.iter().all(|&b| b < 0xED), "{ua}: {greeting:X?}");
    }
    let mut staff = Staff::sign_in(server.addr, CLERK_HONTEN);
    staff
        .get("/branch/customer?contract_id=1000000001")
        .assert_status(200)
        .assert_contains(real);
}

/// The `<input ...>` tag of field `name` on `page`.
fn input_tag<'a>(page: &'a Resp, name: &str) -> &'a str {
    let at = page
        .text
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no field {name}:\n{}", page.text));
    let start = page.text[..at].rfind("<input").unwrap();
    let end = at + page.text[at..].find('>').unwrap();
    &page.text[start..=end]
}

// Issue 14 item 10: the DoCoMo serial field opens in digits (most of a serial is digits;
// i-mode has no mixed mode and istyle only picks the opening mode), au keeps its mixed `*X`,
// and au password fields carry `format="*m"` (sources in markup/src/keys.rs).
#[test]
fn input_modes_follow_what_handsets_offer() {
    let server = Server::start();
    let mut docomo = server.phone(FOMA);
    let top = docomo.get("/");
    assert!(input_tag(&top, "password").contains("istyle=\"3\""));
    let step1 = docomo.follow(&top, '1');
    let form = docomo.submit(&step1, &[("contract_id", TARO.0), ("password", TARO.1)]);
    let serial = input_tag(&form, "serial");
    assert!(serial.contains("istyle=\"4\""), "{serial}");

    let mut au = server.phone(AU);
    let top = au.get("/");
    let password = input_tag(&top, "password");
    assert!(password.contains("format=\"*m\""), "{password}");
    let step1 = au.follow(&top, '1');
    let password = input_tag(&step1, "password");
    assert!(password.contains("format=\"*m\""), "{password}");
    let form = au.submit(&step1, &[("contract_id", TARO.0), ("password", TARO.1)]);
    assert!(input_tag(&form, "serial").contains("format=\"*X\""));
    let transfer = input_tag(&form, "transfer_password");
    assert!(transfer.contains("format=\"*m\""), "{transfer}");

    let mut sb = server.phone(SOFTBANK);
    let top = sb.get("/");
    assert!(input_tag(&top, "password").contains("mode=\"alphabet\""));
}

/// A branch records and approves `contract`'s paper 利用中止届 (clerk, then supervisor).
fn cancel_at_branch(server: &Server, contract: &str, form_no: &str) {
    let mut clerk = Staff::sign_in(server.addr, CLERK_HONTEN);
    clerk
        .post(
            "/branch/forms",
            &[
                ("contract_id", contract),
                ("form_no", form_no),
                ("received_on", "2020-04-01"),
                ("branch_code", "001"),
                ("identity_checked", "1"),
            ],
        )
        .assert_status(200);
    let mut sup = Staff::sign_in(server.addr, SUPER_HONTEN);
    sup.post("/branch/forms/approve", &[("form_no", form_no)])
        .assert_status(200);
}

fn assert_guide(help: &Resp) {
    help.assert_chtml(BUDGET)
        .assert_contains("【ハードウェアトークン】発行申込書」を本支店窓口にお届けください")
        .assert_contains("発行手数料:2,200円（税込）")
        .assert_contains("故障・破損・電池切れの場合は、お使いのハードウェアトークンと引換に無料で交換いたします");
}

// Issue 14 item 6: seed 003's guidance where a customer without a token or with a broken one
// looks, seed 001's hints beside the token fields, 交換 for a low battery, and after a
// cancellation a new token requested at a branch first.
#[test]
fn customers_without_a_working_token_are_told_how_to_get_one() {
    let server = Server::start();
    // No token: 利用開始 points to the guide, and the token form carries seed 001's hints.
    let mut phone = server.phone(FOMA);
    let top = phone.get("/");
    let step1 = phone.follow(&top, '1');
    step1.assert_contains("トークンをお持ちでない場合");
    assert_guide(&phone.follow(&step1, '8'));
    let form = phone.submit(&step1, &[("contract_id", TARO.0), ("password", TARO.1)]);
    form.assert_chtml(BUDGET)
        .assert_contains("シリアル番号は裏面を参照")
        .assert_contains("ワンタイムパスワードはボタンを押して表示");
    assert_guide(&phone.follow(&form, '8'));

    // A token running low on battery is what 交換 is for; a dead one goes to the branch.
    let mut phone = server.phone(AU);
    let top = phone.get("/");
    let step1 = phone.follow(&top, '2');
    step1.assert_contains("トークンの故障・電池切れの場合");
    assert_guide(&phone.follow(&step1, '8'));
    let current = phone.submit(&step1, &[("contract_id", HANAKO.0), ("password", HANAKO.1)]);
    current
        .assert_chtml(BUDGET)
        .assert_contains("電池残量が少なくなったトークンは、窓口で新しいトークンをお受取りのうえ、この画面で交換できます")
        .assert_contains("お使いのトークンをお持ちのうえ窓口で交換をお申込みください");
    assert!(!current.text.contains("電池切れの場合はお取引店の窓口で"));
    let new = phone.submit(&current, &[("otp", &code(HANAKO_TOKEN, 0))]);
    new.assert_chtml(BUDGET)
        .assert_contains("シリアル番号は裏面を参照")
        .assert_contains("ワンタイムパスワードはボタンを押して表示");

    // Cancelled at a branch: the menu says a new token is requested at a branch first, and
    // the old token, typed again, says the same.
    cancel_at_branch(&server, HANAKO.0, "F-9001");
    let mut phone = server.phone(AU);
    let top = phone.get("/");
    let menu = phone.submit(&top, &[("contract_id", HANAKO.0), ("password", HANAKO.1)]);
    menu.assert_chtml(BUDGET)
        .assert_contains("トークンは利用中止されました。新しいトークンをお取引店の窓口でお申込みのうえ、利用開始から登録してください");
    let top = phone.get("/logout");
    let step1 = phone.follow(&top, '1');
    let form = phone.submit(&step1, &[("contract_id", HANAKO.0), ("password", HANAKO.1)]);
    let refused = phone.submit(
        &form,
        &[
            ("serial", HANAKO_TOKEN),
            ("otp", &code(HANAKO_TOKEN, 1)),
            ("login_otp", "1"),
            ("transfer_password", HANAKO.2),
        ],
    );
    refused.assert_contains("新しいトークンはお取引店の窓口でお申込みください");
}

// Issue 14 item 9: seed wording. 利用開始 ① says it starts and puts 戻る before 次へ (seed
// 003's feature-phone screen); the token form's label is seed 001's; the 交換 result keeps the
// シリアル番号 row label and 受付時刻 on one line (seed 003); receipts reached from the top page
// keep the 〇〇様 line.
#[test]
fn pages_use_the_seed_wording() {
    let server = Server::start();
    let mut phone = server.phone(FOMA);
    let top = phone.get("/");
    let step1 = phone.follow(&top, '1');
    step1
        .assert_chtml(BUDGET)
        .assert_contains("ワンタイムパスワードの利用を開始します。");
    let back = step1.text.find("戻る").unwrap();
    let next = step1.text.find("value=\"次へ\"").unwrap();
    assert!(back < next, "戻る before 次へ:\n{}", step1.text);
    let form = phone.submit(&step1, &[("contract_id", TARO.0), ("password", TARO.1)]);
    form.assert_contains("ログイン時のワンタイムパスワード認証要否");
    let done = phone.submit(
        &form,
        &[
            ("serial", "GMHW00000001"),
            ("otp", &code("GMHW00000001", 0)),
            ("login_otp", "1"),
            ("transfer_password", TARO.2),
        ],
    );
    done.assert_chtml(BUDGET)
        .assert_contains("ワンタイムパスワードの登録が完了しました")
        .assert_contains("信金太郎様<br>");

    let mut phone = server.phone(AU);
    let top = phone.get("/");
    let step1 = phone.follow(&top, '2');
    let back = step1.text.find("戻る").unwrap();
    assert!(back < step1.text.find("value=\"次へ\"").unwrap());
    let current = phone.submit(&step1, &[("contract_id", HANAKO.0), ("password", HANAKO.1)]);
    let new = phone.submit(&current, &[("otp", &code(HANAKO_TOKEN, 0))]);
    let done = phone.submit(
        &new,
        &[
            ("serial", "GMHW00000002"),
            ("otp", &code("GMHW00000002", 0)),
        ],
    );
    done.assert_chtml(BUDGET)
        .assert_contains("信金花子様<br>")
        .assert_contains(
            "変更結果<br>シリアル番号<br>変更後 GMHW00000002<br>変更前 GMHW00000010<br>",
        )
        .assert_contains("受付時刻:20");
}

const SABURO: (&str, &str, &str) = ("1000000005", "Pass5678", "Move5678");
const SHIRO: (&str, &str, &str) = ("1000000006", "Pass6789", "Move6789");

/// 利用開始 from the top page on an au phone (cookies), with the login-OTP choice.
fn register(server: &Server, who: (&str, &str, &str), serial: &str, login_otp: bool) {
    let mut phone = server.phone(AU);
    let top = phone.get("/");
    let step1 = phone.follow(&top, '1');
    let form = phone.submit(&step1, &[("contract_id", who.0), ("password", who.1)]);
    phone
        .submit(
            &form,
            &[
                ("serial", serial),
                ("otp", &code(serial, 0)),
                ("login_otp", if login_otp { "1" } else { "0" }),
                ("transfer_password", who.2),
            ],
        )
        .assert_contains("登録が完了しました");
}

/// Logs in from the top page on an au phone; `otp_of`: the token whose code the login asks.
fn log_in(server: &Server, who: (&str, &str, &str), otp_of: Option<&str>) -> (Phone, Resp) {
    let mut phone = server.phone(AU);
    let top = phone.get("/");
    let mut page = phone.submit(&top, &[("contract_id", who.0), ("password", who.1)]);
    if let Some(serial) = otp_of {
        page.assert_contains("ワンタイムパスワード認証");
        page = phone.submit(&page, &[("otp", &code(serial, 0))]);
    }
    page.assert_contains("メニュー");
    (phone, page)
}

/// The numbered keys of `page`'s links (not `*` and `#`, the footer's).
fn entry_keys(page: &Resp) -> Vec<char> {
    "1234567890"
        .chars()
        .filter(|k| page.link(*k).is_some())
        .collect()
}

/// Follows every numbered entry of `menu` (coming back to the menu in between) and checks it
/// is exactly `entries`, each leading to a page that says `what`.
fn walk_menu(phone: &mut Phone, menu: &Resp, entries: &[(char, &str)], state: &str) {
    menu.assert_chtml(BUDGET);
    let want: Vec<char> = entries.iter().map(|(k, _)| *k).collect();
    assert_eq!(entry_keys(menu), want, "{state}: entries of\n{}", menu.text);
    let mut menu = menu.clone();
    for (key, what) in entries {
        let page = phone.follow(&menu, *key);
        assert_eq!(page.status, 200, "{state}: [{key}]\n{}", page.text);
        page.assert_chtml(BUDGET).assert_contains(what);
        assert!(
            page.link('*').is_some(),
            "{state}: [{key}] keeps the menu key"
        );
        menu = phone.get("/menu");
        menu.assert_contains("ようこそ");
    }
}

// Issue 14 item 5: every state a customer can be in gets a menu whose every entry leads
// somewhere useful; a locked token offers nothing that needs the token.
#[test]
fn every_customer_state_has_a_menu_without_dead_ends() {
    let server = Server::start();
    let token_form = "シリアル番号(半角英数字)";
    let guide = "発行申込書";
    let branches = "所定の用紙を最寄りの本支店窓口までお届けください";
    let active = [
        ('1', "現ワンタイムパスワードの認証"),
        ('2', branches),
        ('3', "現在の設定:"),
        ('8', guide),
    ];

    // No token yet.
    let (mut phone, menu) = log_in(&server, TARO, None);
    menu.assert_contains("トークンは登録されていません");
    walk_menu(
        &mut phone,
        &menu,
        &[('1', token_form), ('8', guide)],
        "no token",
    );

    // Active (with 認証する).
    let (mut phone, menu) = log_in(&server, HANAKO, Some(HANAKO_TOKEN));
    menu.assert_contains(&format!("トークン:{HANAKO_TOKEN}"));
    walk_menu(&mut phone, &menu, &active, "active");

    // Locked (with 認証しない, the dead end): five wrong codes at 交換 step 1.
    register(&server, ICHIRO, "GMHW00000002", false);
    let (mut phone, menu) = log_in(&server, ICHIRO, None);
    let mut page = phone.follow(&menu, '1');
    let wrong = wrong_code("GMHW00000002");
    for _ in 0..5 {
        page = phone.submit(&page, &[("otp", &wrong)]);
    }
    page.assert_contains("トークンがロックされています");
    let menu = phone.get("/menu");
    menu.assert_contains("状態:ロック中")
        .assert_contains("ロック解除はお取引店の窓口でお手続きください");
    assert!(!menu.text.contains("利用開始") && !menu.text.contains("交換"));
    walk_menu(
        &mut phone,
        &menu,
        &[('2', branches), ('8', "お問合せ")],
        "locked",
    );

    // Cancelled at a branch.
    register(&server, JIRO, "GMHW00000003", false);
    cancel_at_branch(&server, JIRO.0, "F-9002");
    let (mut phone, menu) = log_in(&server, JIRO, None);
    menu.assert_contains("利用中止されました");
    walk_menu(
        &mut phone,
        &menu,
        &[('1', token_form), ('8', guide)],
        "cancelled",
    );

    // Replaced by 交換: the new token is in use.
    register(&server, SABURO, "GMHW00000004", false);
    let (mut phone, menu) = log_in(&server, SABURO, None);
    let current = phone.follow(&menu, '1');
    let new = phone.submit(&current, &[("otp", &code("GMHW00000004", 1))]);
    phone
        .submit(
            &new,
            &[
                ("serial", "GMHW00000005"),
                ("otp", &code("GMHW00000005", 0)),
            ],
        )
        .assert_contains("変更後 GMHW00000005");
    let menu = phone.get("/menu");
    menu.assert_contains("トークン:GMHW00000005");
    walk_menu(&mut phone, &menu, &active, "replaced");

    // Returned at a branch for a free replacement (broken): no token until 利用開始.
    register(&server, SHIRO, "GMHW00000006", false);
    let mut clerk = Staff::sign_in(server.addr, CLERK_HONTEN);
    clerk
        .post(
            "/branch/applications",
            &[
                ("contract_id", SHIRO.0),
                ("application_no", "A-9001"),
                ("reason", "broken"),
                ("serial", "GMHW00000007"),
            ],
        )
        .assert_status(200);
    Staff::sign_in(server.addr, SUPER_HONTEN)
        .post("/branch/forms/approve", &[("form_no", "A-9001")])
        .assert_status(200);
    let (mut phone, menu) = log_in(&server, SHIRO, None);
    menu.assert_contains("トークンは登録されていません");
    walk_menu(
        &mut phone,
        &menu,
        &[('1', token_form), ('8', guide)],
        "returned",
    );

    // Login locked: no menu to reach; the page the customer lands on says when to try again
    // (five wrong passwords lock for a while, issue 12), and each of its entries leads somewhere.
    let mut phone = server.phone(AU);
    let mut page = phone.get("/");
    for _ in 0..5 {
        page = phone.submit(&page, &[("contract_id", TARO.0), ("password", "wrong")]);
    }
    page.assert_chtml(BUDGET)
        .assert_contains("ログインが一時的にロックされています")
        .assert_contains("15分後にもう一度お試しください");
    for (key, what) in [
        ('1', "ワンタイムパスワードの利用を開始します"),
        ('2', "ワンタイムパスワード交換"),
        ('3', branches),
        ('0', guide),
    ] {
        let next = phone.follow(&page, key);
        assert_eq!(next.status, 200, "login locked: [{key}]");
        next.assert_chtml(BUDGET).assert_contains(what);
    }
}

// Issue 14 item 9: the ログイン時のワンタイムパスワード choice is changed from the menu with
// the current OTP; the change survives a restart and is in the audit trail.
#[test]
fn the_login_otp_choice_changes_from_the_menu_with_the_otp() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_in(tmp.path(), &[]);
    let (mut phone, menu) = log_in(&server, HANAKO, Some(HANAKO_TOKEN));
    let form = phone.follow(&menu, '3');
    form.assert_chtml(BUDGET)
        .assert_contains("現在の設定:認証する")
        .assert_contains("ログイン時のワンタイムパスワード認証要否");
    let wrong = phone.submit(
        &form,
        &[("login_otp", "0"), ("otp", &wrong_code(HANAKO_TOKEN))],
    );
    wrong
        .assert_contains("ワンタイムパスワードが正しくありません")
        .assert_contains("現在の設定:認証する");
    let done = phone.submit(
        &wrong,
        &[("login_otp", "0"), ("otp", &code(HANAKO_TOKEN, 1))],
    );
    done.assert_chtml(BUDGET)
        .assert_contains("「認証しない」に変更しました")
        .assert_contains("ようこそ");
    // No OTP at the next login.
    let (_, menu) = log_in(&server, HANAKO, None);
    menu.assert_contains(&format!("トークン:{HANAKO_TOKEN}"));

    // Durable: after a hard stop, the choice holds, and the audit trail has the change.
    server.kill();
    let dir = tmp.path().to_str().unwrap();
    let (ok, out) = run_cli(&["audit", "--contract", HANAKO.0, "--data-dir", dir]);
    assert!(ok, "{out}");
    let changed: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("login_otp_changed"))
        .collect();
    assert_eq!(changed.len(), 1, "{out}");
    assert!(
        changed[0].contains(&format!("{HANAKO_TOKEN}\toff")),
        "{}",
        changed[0]
    );
    let server = Server::start_in(tmp.path(), &[]);
    let (mut phone, menu) = log_in(&server, HANAKO, None);
    let form = phone.follow(&menu, '3');
    form.assert_contains("現在の設定:認証しない");
}

/// The audit lines of `event` for `contract` (the server must be stopped).
fn audited(data_dir: &std::path::Path, contract: &str, event: &str) -> usize {
    let dir = data_dir.to_str().unwrap();
    let (ok, out) = run_cli(&["audit", "--contract", contract, "--data-dir", dir]);
    assert!(ok, "{out}");
    // Columns: #record number (the receipt), time, event, ...
    out.lines()
        .filter(|l| l.split('\t').nth(2) == Some(event))
        .count()
}

// Issue 14 item 2: pressing back and re-sending a completed 利用開始 or 交換 form shows the same
// receipt (same 受付番号) and writes nothing; a different form from that page is still refused.
#[test]
fn a_resent_form_shows_the_same_receipt_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_in(tmp.path(), &[]);

    // 利用開始 from the top page, DoCoMo without cookies.
    let mut phone = server.phone(FOMA);
    let top = phone.get("/");
    let step1 = phone.follow(&top, '1');
    let form = phone.submit(&step1, &[("contract_id", TARO.0), ("password", TARO.1)]);
    let fields = |otp: &str| {
        [
            ("serial", "GMHW00000001".to_owned()),
            ("otp", otp.to_owned()),
            ("login_otp", "0".to_owned()),
            ("transfer_password", TARO.2.to_owned()),
        ]
    };
    let send = |phone: &mut Phone, form: &Resp, otp: &str| {
        let f = fields(otp);
        let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        phone.submit(form, &f)
    };
    let done = send(&mut phone, &form, &code("GMHW00000001", 0));
    let number = done.receipt_number().unwrap();
    for otp in [code("GMHW00000001", 0), code("GMHW00000001", 1)] {
        let again = send(&mut phone, &form, &otp);
        assert_eq!(again.status, 200, "{}", again.text);
        again
            .assert_chtml(BUDGET)
            .assert_contains("ワンタイムパスワードの登録が完了しました")
            .assert_contains("信金太郎様");
        assert_eq!(again.receipt_number(), Some(number.clone()));
    }
    // The same page with another serial is not a re-send.
    let other = phone.submit(
        &form,
        &[
            ("serial", "GMHW00000002"),
            ("otp", &code("GMHW00000002", 0)),
            ("login_otp", "0"),
            ("transfer_password", TARO.2),
        ],
    );
    other.assert_phone_error("セッションの有効期限が切れた");

    // 交換 from the menu, au with cookies: the re-send keeps the menu keys.
    let (mut phone, menu) = log_in(&server, HANAKO, Some(HANAKO_TOKEN));
    let current = phone.follow(&menu, '1');
    let new = phone.submit(&current, &[("otp", &code(HANAKO_TOKEN, 1))]);
    let exchange = [
        ("serial", "GMHW00000003"),
        ("otp", &code("GMHW00000003", 0)),
    ];
    let done = phone.submit(&new, &exchange);
    done.assert_contains("変更後 GMHW00000003");
    let number = done.receipt_number().unwrap();
    let again = phone.submit(&new, &exchange);
    assert_eq!(again.status, 200, "{}", again.text);
    again
        .assert_chtml(BUDGET)
        .assert_contains("変更後 GMHW00000003")
        .assert_contains("変更前 GMHW00000010");
    assert_eq!(again.receipt_number(), Some(number));
    assert!(again.link('*').is_some(), "the menu keys stay");
    phone.get("/menu").assert_contains("トークン:GMHW00000003");

    // Nothing was written twice.
    server.kill();
    assert_eq!(audited(tmp.path(), TARO.0, "registration"), 1);
    assert_eq!(audited(tmp.path(), HANAKO.0, "exchange"), 1);
}

/// The token form of 利用開始 for `who`, reached from the top page on an au phone.
fn start_form(server: &Server, who: (&str, &str, &str)) -> (Phone, Resp) {
    let mut phone = server.phone(AU);
    let top = phone.get("/");
    let step1 = phone.follow(&top, '1');
    let form = phone.submit(&step1, &[("contract_id", who.0), ("password", who.1)]);
    form.assert_contains("シリアル番号");
    (phone, form)
}

fn try_register(
    phone: &mut Phone,
    form: &Resp,
    who: (&str, &str, &str),
    serial: &str,
    otp: &str,
) -> Resp {
    phone.submit(
        form,
        &[
            ("serial", serial),
            ("otp", otp),
            ("login_otp", "0"),
            ("transfer_password", who.2),
        ],
    )
}

/// A branch records and approves a token release for `contract` (`serial` optional).
fn release_at_branch(server: &Server, contract: &str, serial: &str) -> Resp {
    let mut clerk = Staff::sign_in(server.addr, CLERK_HONTEN);
    let r = clerk.post(
        "/branch/releases",
        &[
            ("contract_id", contract),
            ("kind", "token"),
            ("serial", serial),
            ("note", "本人来店"),
        ],
    );
    if r.status != 200 {
        return r;
    }
    let at = r.text.find("受付番号: ").unwrap() + "受付番号: ".len();
    let no: String = r.text[at..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    let mut sup = Staff::sign_in(server.addr, SUPER_HONTEN);
    let done = sup.post("/branch/releases/approve", &[("id", &no)]);
    done.assert_status(200);
    done
}

// Issue 14 item 1: wrong codes at 利用開始 and at 交換's new-token step count against the
// customer who typed them (their attempts lock, released at a branch) and never lock a token
// that is nobody's yet; the branch can release any locked token; 発行申込書 never hands out a
// locked, returned or cancelled token.
#[test]
fn wrong_codes_count_against_the_customer_never_a_free_token() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_in(tmp.path(), &[]);
    let free = "GMHW00000001";
    let wrong = wrong_code(free);

    // Five customers, one wrong code each, for the same free token: it stays usable.
    for who in [ICHIRO, JIRO, SABURO, SHIRO, TARO] {
        let (mut phone, form) = start_form(&server, who);
        try_register(&mut phone, &form, who, free, &wrong)
            .assert_contains("あと4回間違えるとトークンの登録ができなくなります");
    }
    let (mut phone, form) = start_form(&server, TARO);
    try_register(&mut phone, &form, TARO, free, &code(free, 0))
        .assert_contains("ワンタイムパスワードの登録が完了しました");

    // One customer's five wrong codes lock that customer, not the token.
    let target = "GMHW00000002";
    let wrong = wrong_code(target);
    let (mut phone, mut page) = start_form(&server, ICHIRO);
    for _ in 0..4 {
        page = try_register(&mut phone, &page, ICHIRO, target, &wrong);
    }
    page.assert_contains("トークンの登録を停止しています")
        .assert_contains("お取引店の窓口");
    try_register(&mut phone, &page, ICHIRO, target, &code(target, 0))
        .assert_contains("トークンの登録を停止しています");
    // Their menu offers nothing that would only refuse them.
    let (mut phone, menu) = log_in(&server, ICHIRO, None);
    menu.assert_contains("トークンの登録を停止しています");
    walk_menu(&mut phone, &menu, &[('8', "お問合せ")], "claims locked");
    let (mut phone, form) = start_form(&server, JIRO);
    try_register(&mut phone, &form, JIRO, target, &code(target, 0))
        .assert_contains("ワンタイムパスワードの登録が完了しました");

    // The branch releases the customer; then they register.
    release_at_branch(&server, ICHIRO.0, "").assert_contains("承認");
    let (mut phone, form) = start_form(&server, ICHIRO);
    try_register(
        &mut phone,
        &form,
        ICHIRO,
        "GMHW00000003",
        &code("GMHW00000003", 0),
    )
    .assert_contains("ワンタイムパスワードの登録が完了しました");

    // 交換's new-token step: the same, for a customer with a token (no password asked there).
    let (mut phone, menu) = log_in(&server, HANAKO, Some(HANAKO_TOKEN));
    let current = phone.follow(&menu, '1');
    let mut page = phone.submit(&current, &[("otp", &code(HANAKO_TOKEN, 1))]);
    let target = "GMHW00000004";
    let wrong = wrong_code(target);
    for _ in 0..5 {
        page = phone.submit(&page, &[("serial", target), ("otp", &wrong)]);
    }
    page.assert_contains("トークンの登録を停止しています");
    let (mut phone, form) = start_form(&server, SABURO);
    try_register(&mut phone, &form, SABURO, target, &code(target, 0))
        .assert_contains("ワンタイムパスワードの登録が完了しました");

    // A token locked before this rule (a stranger's guesses): the branch releases it by
    // serial for the customer who brings it; until then 発行申込書 never hands it out, nor a
    // returned or cancelled one.
    server.kill();
    let legacy = "GMHW00000011";
    {
        let sealer = keitai_gateway::seal::Sealer::load(&tmp.path().join("master.key")).unwrap();
        let store = keitai_gateway::store::Store::open(&tmp.path().join("db"), sealer).unwrap();
        store
            .write(|tx| {
                let mut t = tx.token(legacy)?.expect("demo token");
                t.otp.fails = 5;
                t.otp.locked = true;
                tx.put_token(&t)
            })
            .unwrap();
        store.flush().unwrap();
    }
    let server = Server::start_in(tmp.path(), &[]);
    cancel_at_branch(&server, TARO.0, "F-9003");
    let mut clerk = Staff::sign_in(server.addr, CLERK_HONTEN);
    clerk
        .post(
            "/branch/applications",
            &[
                ("contract_id", JIRO.0),
                ("application_no", "A-9100"),
                ("reason", "broken"),
                ("serial", "GMHW00000012"),
            ],
        )
        .assert_status(200);
    Staff::sign_in(server.addr, SUPER_HONTEN)
        .post("/branch/forms/approve", &[("form_no", "A-9100")])
        .assert_status(200);
    // Locked, cancelled (Taro's), returned (Jiro's broken one).
    for (no, serial) in [
        ("A-9101", legacy),
        ("A-9102", free),
        ("A-9103", "GMHW00000002"),
    ] {
        clerk
            .post(
                "/branch/applications",
                &[
                    ("contract_id", SHIRO.0),
                    ("application_no", no),
                    ("reason", "new"),
                    ("serial", serial),
                ],
            )
            .assert_status(422)
            .assert_contains("払い出せません");
    }
    release_at_branch(&server, SHIRO.0, legacy).assert_contains("承認");
    let (mut phone, form) = start_form(&server, SHIRO);
    try_register(&mut phone, &form, SHIRO, legacy, &code(legacy, 0))
        .assert_contains("ワンタイムパスワードの登録が完了しました");
}
