//! Several banks in one gateway (`data/`: banks 1020, 1021, 1022) over real sockets:
//! each bank's customers, tokens, receipts, sessions, staff and API keys kept apart, and the
//! bank list at the bare `/`. The isolation tests run on both engines: the embedded database
//! and a PostgreSQL database (`postgres::`, the shared throw-away cluster).

use crate::support::*;
use serde_json::json;

const AOBA: &str = "/1020";
const MINAMI: &str = "/1021";
const KITA: &str = "/1022";
/// The same contract ID and passwords at あおば (1020) and みなみ (1021): two customers.
const TWIN: (&str, &str, &str) = ("1000000001", "Pass1234", "Move1234");

fn centre(dir: &std::path::Path, extra: &[&str]) -> Server {
    Server::start_with_bank(dir, &banks_dir(), extra)
}

/// Where a test's banks are kept: the embedded engine in a data directory, or a database of
/// the shared PostgreSQL cluster (with its own master key).
enum Engine {
    Sled(tempfile::TempDir),
    Postgres(pg::Db),
}

impl Engine {
    /// The test's directory: the embedded engine's data directory (PostgreSQL: the gateways'
    /// data directories are under it).
    fn path(&self) -> &std::path::Path {
        match self {
            Engine::Sled(tmp) => tmp.path(),
            Engine::Postgres(db) => db.path(),
        }
    }

    /// `keitai-gateway ARGS` for `bank` of the centre on this engine ("": no `--bank`):
    /// (success, stdout + stderr).
    fn cli(&self, bank: &str, args: &[&str]) -> (bool, String) {
        let mut all = args.to_vec();
        if !bank.is_empty() {
            all.extend_from_slice(&["--bank", bank]);
        }
        all.extend_from_slice(&["--bank-dir", "data"]);
        match self {
            Engine::Sled(tmp) => {
                all.extend_from_slice(&["--data-dir", tmp.path().to_str().unwrap()]);
                let (ok, out, err) = cli(&all);
                (ok, out + &err)
            }
            Engine::Postgres(db) => db.cli(&all),
        }
    }
}

/// How a test gets its multi-bank demo gateway.
type Start = fn() -> (Engine, Server);

fn start() -> (Engine, Server) {
    let tmp = tempfile::tempdir().unwrap();
    let server = centre(tmp.path(), &[]);
    (Engine::Sled(tmp), server)
}

/// The centre's demo banks loaded into a new PostgreSQL database.
fn start_postgres() -> (Engine, Server) {
    let db = pg::Db::new(pg::shared());
    let dir = db.path().join("gateway");
    std::fs::create_dir_all(&dir).unwrap();
    let key = db.key_file.to_str().unwrap().to_owned();
    let server = centre(&dir, &["--database", &db.url, "--key-file", &key]);
    (Engine::Postgres(db), server)
}

/// The isolation tests again, every bank in one PostgreSQL database.
mod postgres {
    macro_rules! on_postgres {
        ($($test:ident),* $(,)?) => {
            $(
                #[test]
                fn $test() {
                    super::$test(super::start_postgres);
                }
            )*
        };
    }

    on_postgres!(
        same_contract_id_in_two_banks,
        serial_and_receipts_per_bank,
        session_moved_across_banks,
        api_keys_per_bank_and_the_centres,
        staff_per_bank,
        audit_verifies_per_bank,
    );
}

/// Logs in at `bank`'s top page; returns the page after the password.
fn login(phone: &mut Phone, bank: &str, who: (&str, &str, &str)) -> Resp {
    let top = phone.get(&format!("{bank}/"));
    phone.submit(&top, &[("contract_id", who.0), ("password", who.1)])
}

/// 利用開始 with the 資金移動用パスワード at `bank`; returns the result page.
fn register(server: &Server, bank: &str, who: (&str, &str, &str), serial: &str) -> Resp {
    let mut phone = server.phone(AU);
    let top = phone.get(&format!("{bank}/"));
    let step1 = phone.follow(&top, '1');
    let form = phone.submit(&step1, &[("contract_id", who.0), ("password", who.1)]);
    form.assert_contains("シリアル番号");
    phone.submit(
        &form,
        &[
            ("serial", serial),
            ("otp", &code(serial, 0)),
            ("login_otp", "0"),
            ("transfer_password", who.2),
        ],
    )
}

/// A vendor's inventory file (the one-bank demo's, 23 tokens).
const VENDOR_FILE: &str = "data/one-bank/demo/tokens.csv";

fn cli_ok(args: &[&str]) -> String {
    let (ok, out, err) = cli(args);
    assert!(ok, "{args:?}: {err}");
    out
}

#[test]
fn the_bare_top_lists_the_banks_and_each_bank_keeps_its_links() {
    let (_tmp, server) = start();
    assert!(server
        .banner
        .iter()
        .any(|l| l.starts_with("bank 1021 みなみ信用金庫: http://") && l.ends_with("/1021/")));
    let mut phone = server.phone(FOMA);
    let list = phone.get("/");
    list.assert_chtml(5000)
        .assert_contains("あおば信用金庫")
        .assert_contains("みなみ信用金庫")
        .assert_contains("きた信用金庫");
    let minami = phone.follow(&list, '2');
    minami
        .assert_chtml(5000)
        .assert_contains("みなみ信用金庫")
        // Seed 003's label, not the other banks'.
        .assert_contains("契約者ID:");
    let (action, _) = minami.form().unwrap();
    assert!(action.starts_with("/1021/login"), "{action}");
    let help = phone.follow(&minami, '0');
    help.assert_contains("0120-88-7308");
    assert!(help.link('9').unwrap().starts_with("/1021/"));
    // Each bank's top page is its own, however often and in whatever order the same phone
    // asks (the gateway hands out filled-in top pages again, never another bank's).
    for _ in 0..3 {
        for (bank, name, other) in [
            ("/1020/", "あおば信用金庫", "みなみ信用金庫"),
            ("/1021/", "みなみ信用金庫", "あおば信用金庫"),
        ] {
            let top = phone.get(bank);
            top.assert_contains(name);
            assert!(!top.text.contains(other), "{bank}: {}", top.text);
        }
    }
    // The log names each page by the path the phone asked for, its bank's prefix kept.
    assert!(server.logged("GET", "/1021/", 200));
    assert!(server.logged("GET", "/1021/help", 200));
    // A path under no bank is no bank's page.
    phone
        .get("/login")
        .assert_phone_error("ページが見つかりません");
}

#[test]
fn the_same_contract_id_and_password_in_two_banks_are_two_customers() {
    same_contract_id_in_two_banks(start);
}

fn same_contract_id_in_two_banks(start: Start) {
    let (_engine, server) = start();
    let mut phone = server.phone(AU);
    login(&mut phone, AOBA, TWIN).assert_contains("青葉太郎様");
    let mut phone = server.phone(AU);
    login(&mut phone, MINAMI, TWIN).assert_contains("南一郎様");
    // きた's 1000000001 has a password of its own.
    let mut phone = server.phone(AU);
    let r = login(&mut phone, KITA, TWIN);
    assert!(!r.text.contains("様<br>"), "{}", r.text);

    // A token registered at みなみ is みなみ's customer's only.
    register(&server, MINAMI, TWIN, "GMHW00000007")
        .assert_contains("ワンタイムパスワードの登録が完了しました");
    let mut phone = server.phone(AU);
    let minami = login(&mut phone, MINAMI, TWIN);
    minami.assert_contains("トークン:GMHW00000007");
    let mut phone = server.phone(AU);
    let aoba = login(&mut phone, AOBA, TWIN);
    aoba.assert_contains("青葉太郎様");
    assert!(!aoba.text.contains("トークン:GMHW"), "{}", aoba.text);
}

#[test]
fn a_serial_belongs_to_one_banks_inventory_and_receipts_count_per_bank() {
    serial_and_receipts_per_bank(start);
}

fn serial_and_receipts_per_bank(start: Start) {
    let (_engine, server) = start();
    // GMHW00000001 is あおば's: みなみ does not know it.
    let other = register(&server, MINAMI, TWIN, "GMHW00000001");
    assert!(!other.text.contains("登録が完了しました"), "{}", other.text);

    let first = register(&server, MINAMI, TWIN, "GMHW00000008");
    let second = register(
        &server,
        MINAMI,
        ("1000000002", "Pass2345", "Move2345"),
        "GMHW00000009",
    );
    let kita = register(
        &server,
        KITA,
        ("1000000001", "Pass5678", "Move5678"),
        "GMHW00000015",
    );
    assert_eq!(first.receipt_number().as_deref(), Some("1000001"));
    assert_eq!(second.receipt_number().as_deref(), Some("1000002"));
    assert_eq!(kita.receipt_number().as_deref(), Some("1000001"));
}

#[test]
fn a_session_id_moved_to_another_bank_is_refused() {
    session_moved_across_banks(start);
}

fn session_moved_across_banks(start: Start) {
    let (_engine, server) = start();
    // No cookies on this phone: the session rides in the URL.
    let mut phone = server.phone(FOMA);
    let page = login(&mut phone, AOBA, TWIN);
    page.assert_contains("青葉太郎様");
    let menu = page.link('*').expect("menu key");
    assert!(
        menu.starts_with("/1020/") && menu.contains("sid="),
        "{menu}"
    );
    phone.get(&menu).assert_contains("青葉太郎様");
    let moved = menu.replacen("/1020/", "/1021/", 1);
    phone
        .get(&moved)
        .assert_phone_error("セッションの有効期限が切れたか");

    // A cookie phone: the cookie is the bank's (its path), and a copy of it is refused elsewhere.
    let mut au = server.phone(AU);
    let page = login(&mut au, MINAMI, TWIN);
    let cookie = page.header("set-cookie").expect("session cookie");
    assert!(cookie.contains("Path=/1021/"), "{cookie}");
    au.get("/1021/menu").assert_contains("南一郎様");
    au.get("/1020/menu")
        .assert_phone_error("セッションの有効期限が切れたか");
}

#[test]
fn each_banks_audit_chain_verifies_on_its_own() {
    audit_verifies_per_bank(start);
}

/// Registrations at two banks: each bank's trail verifies by itself, grows only with its own
/// bank's writes, and names only its own bank.
fn audit_verifies_per_bank(start: Start) {
    let (engine, server) = start();
    // While the gateway serves (the embedded engine: through its admin socket).
    let verified = |bank: &str| -> u64 {
        let (ok, out) = engine.cli(bank, &["audit", "--verify"]);
        assert!(ok && out.contains("intact"), "{bank}: {out}");
        out.split_whitespace()
            .find_map(|w| w.parse().ok())
            .unwrap_or_else(|| panic!("no count in {out:?}"))
    };
    let before = [verified("1020"), verified("1021"), verified("1022")];
    let done = "登録が完了しました";
    register(&server, MINAMI, TWIN, "GMHW00000008").assert_contains(done);
    let ichiro2 = ("1000000002", "Pass2345", "Move2345");
    register(&server, MINAMI, ichiro2, "GMHW00000009").assert_contains(done);
    let kita = ("1000000001", "Pass5678", "Move5678");
    register(&server, KITA, kita, "GMHW00000015").assert_contains(done);
    let after = [verified("1020"), verified("1021"), verified("1022")];
    let grown: Vec<u64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
    assert!(
        grown[0] == 0 && grown[2] > 0 && grown[1] == 2 * grown[2],
        "{grown:?}"
    );
    let (ok, minami) = engine.cli("1021", &["audit"]);
    assert!(ok, "{minami}");
    assert!(
        minami.contains("GMHW00000009") && !minami.contains("GMHW00000015"),
        "{minami}"
    );
    assert!(minami.lines().all(|l| l.ends_with("bank=1021")), "{minami}");
    server.kill();
}

#[test]
fn staff_see_only_their_bank_and_looking_elsewhere_is_refused_and_audited() {
    staff_per_bank(start);
}

fn staff_per_bank(start: Start) {
    let (engine, server) = start();
    // C0011 exists at every demo bank, each a different person; signed in at あおば.
    let mut s = Staff::new(server.addr);
    s.get("/1020/branch/");
    let home = s.post(
        "/1020/branch/login",
        &[("staff_id", "C0011"), ("password", "Clerk0011")],
    );
    home.assert_status(200).assert_contains("ホーム");
    assert!(home.text.contains("href=\"/1020/branch/"), "{}", home.text);
    s.get("/1020/branch/customer?contract_id=1000000001")
        .assert_status(200)
        .assert_contains("青葉太郎");
    // きた's 法人 contract is no contract of あおば.
    s.get("/1020/branch/customer?contract_id=2000000001")
        .assert_status(404);
    // あおば's session under みなみ's console: signed out there.
    s.get("/1021/branch/customer?contract_id=1000000001")
        .assert_status(401);
    server.kill();

    let audit = |bank: &str, args: &[&str]| {
        let (ok, out) = engine.cli(bank, &[&["audit"], args].concat());
        assert!(ok, "{out}");
        out
    };
    let trail = audit("1020", &[]);
    let refused: Vec<&str> = trail
        .lines()
        .filter(|l| l.contains("staff_lookup_unknown"))
        .collect();
    assert_eq!(refused.len(), 1, "{trail}");
    assert!(refused[0].contains("C0011@001") && refused[0].contains("2000000001"));
    assert!(trail.lines().all(|l| l.ends_with("bank=1020")), "{trail}");
    let minami = audit("1021", &[]);
    assert!(!minami.contains("staff_lookup_unknown") && !minami.contains("staff_sign_in\t"));
    for bank in ["1020", "1021", "1022"] {
        let out = audit(bank, &["--verify"]);
        assert!(out.contains("audit chain intact"), "{bank}: {out}");
    }
    // Several banks: a command must say which.
    let (ok, err) = engine.cli("", &["audit"]);
    assert!(!ok && err.contains("--bank"), "{err}");
}

#[test]
fn an_api_key_verifies_only_its_banks_customers_unless_it_is_the_centres() {
    api_keys_per_bank_and_the_centres(start);
}

fn api_keys_per_bank_and_the_centres(start: Start) {
    let (engine, server) = start();
    // Added while the gateway serves.
    let add = |bank: &str, args: &[&str]| {
        let (ok, out) = engine.cli(bank, &[&["api-key", "add"], args].concat());
        assert!(ok, "{out}");
        // Standard output (the key) comes first, then what went to standard error.
        out.lines().next().unwrap_or_default().trim().to_owned()
    };
    let aoba_key = add("1020", &["aoba-ib"]);
    let centre_key = add("", &["centre-ib", "--all-banks"]);
    register(&server, MINAMI, TWIN, "GMHW00000010")
        .assert_contains("ワンタイムパスワードの登録が完了しました");
    let body = |serial: &str| {
        json!({"contract_id": TWIN.0, "otp": code(serial, 1), "purpose": "login"}).to_string()
    };
    let verify = |bank: &str, key: &str, serial: &str| {
        let path = format!("{bank}/api/v1/otp/verify");
        crate::api::call(&server, "POST", &path, Some(key), &body(serial))
    };
    // Outside every bank the API answers 404 in JSON: the path names the bank.
    let r = crate::api::call(
        &server,
        "POST",
        "/api/v1/otp/verify",
        Some(&centre_key),
        &body("GMHW00000010"),
    );
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(crate::api::json_of(&r)["error"], "not_found");
    // あおば's key at みなみ's API: not a caller there.
    let r = verify(MINAMI, &aoba_key, "GMHW00000010");
    assert_eq!(r.status, 401, "{}", r.text);
    // At its own bank the key is good, and みなみ's customer is not あおば's (no token there).
    let r = verify(AOBA, &aoba_key, "GMHW00000010");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_ne!(crate::api::json_of(&r)["result"], "accept", "{}", r.text);
    // A request naming another bank than its path's is refused before any check.
    let wrong = json!({"contract_id": TWIN.0, "otp": code("GMHW00000010", 1), "purpose": "login", "bank": "1020"});
    let r = crate::api::call(
        &server,
        "POST",
        "/1021/api/v1/otp/verify",
        Some(&centre_key),
        &wrong.to_string(),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    // The centre's key verifies みなみ's customer at みなみ's path.
    let r = verify(MINAMI, &centre_key, "GMHW00000010");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(crate::api::json_of(&r)["result"], "accept", "{}", r.text);
}

#[test]
fn operator_commands_name_the_bank_they_write_to() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_str().unwrap();
    let key_file = tmp.path().join("master.key");
    cli_ok(&["init-key", key_file.to_str().unwrap()]);
    let at = |bank: &str, args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--bank", bank, "--bank-dir", "data", "--data-dir", d]);
        cli(&all)
    };
    // One vendor file into two banks' inventories: two sets of tokens, no clash.
    for bank in ["1020", "1021"] {
        let (ok, out, err) = at(bank, &["import-tokens", VENDOR_FILE]);
        assert!(ok && out.contains("loaded 23 tokens"), "{bank}: {out}{err}");
    }
    let (ok, _, err) = at("1020", &["import-tokens", VENDOR_FILE]);
    assert!(!ok && err.contains("already exist"), "{err}");
    // Without --bank a multi-bank command does not guess.
    let (ok, _, err) = cli(&[
        "import-tokens",
        VENDOR_FILE,
        "--bank-dir",
        "data",
        "--data-dir",
        d,
    ]);
    assert!(!ok && err.contains("--bank"), "{err}");

    let csv = tmp.path().join("export.csv");
    let hash = |p: &str| bcrypt::hash(p, 4).unwrap();
    std::fs::write(
        &csv,
        format!(
            "contract_id,name,login_password_hash,transfer_password_hash,status\n\
             3000000001,南三郎,{},{},active\n",
            hash("Minami-login1"),
            hash("Minami-move1")
        ),
    )
    .unwrap();
    let (ok, out, err) = at("1021", &["customers", "import", csv.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    // 003 is a branch of みなみ's profile, not of あおば's.
    let staff = [
        "staff",
        "add",
        "S0032",
        "--name",
        "東支店長",
        "--branch",
        "003",
        "--role",
    ];
    let (ok, out, err) = at("1021", &[&staff[..], &["supervisor"]].concat());
    assert!(ok, "{out}{err}");
    let (ok, _, _) = at("1020", &[&staff[..], &["supervisor"]].concat());
    assert!(!ok, "あおば has no branch 003");

    let server = centre(tmp.path(), &[]);
    let who = ("3000000001", "Minami-login1", "Minami-move1");
    let mut phone = server.phone(AU);
    login(&mut phone, MINAMI, who).assert_contains("南三郎様");
    let mut phone = server.phone(AU);
    let aoba = login(&mut phone, AOBA, who);
    assert!(!aoba.text.contains("南三郎様"), "{}", aoba.text);
    server.kill();
    let (_, trail, _) = at("1021", &["audit"]);
    assert!(
        trail.contains("customers_import") && trail.contains("staff_add"),
        "{trail}"
    );
    let (_, aoba_trail, _) = at("1020", &["audit"]);
    assert!(!aoba_trail.contains("customers_import"), "{aoba_trail}");
}

#[test]
fn a_banks_own_host_name_reaches_it_without_the_prefix() {
    let (_tmp, server) = start();
    let req = "GET / HTTP/1.1\r\nHost: ib.aoba-shinkin.example\r\nUser-Agent: KDDI-SA31 UP.Browser/6.2.0.7.3.129 (GUI) MMP/2.0\r\nConnection: close\r\n\r\n";
    let top = server.phone(AU).raw(req.as_bytes());
    top.assert_contains("あおば信用金庫")
        .assert_contains("action=\"/1020/login\"");
}

/// Staff of `bank` signed in at its console.
fn staff_at(server: &Server, bank: &str, who: (&str, &str)) -> Staff {
    let mut s = Staff::new(server.addr);
    s.get(&format!("{bank}/branch/"));
    let home = s.post(
        &format!("{bank}/branch/login"),
        &[("staff_id", who.0), ("password", who.1)],
    );
    home.assert_status(200).assert_contains("ホーム");
    s
}

/// Issue 16: a 法人 contract's 利用中止届 is its bank's: another bank's console does not know
/// the contract, and the 受付番号 counts on in the bank's own sequence.
#[test]
fn a_business_form_is_recorded_at_its_own_bank_with_its_banks_receipt() {
    let (_tmp, server) = start();
    // きた's administrator registers GMHW00000013 (issued to the contract) for kita01.
    let mut phone = server.phone(AU);
    let top = phone.get(&format!("{KITA}/"));
    let entry = phone.follow(&top, '4');
    let card = phone.submit(
        &entry,
        &[("contract_id", "2000000001"), ("password", "Admin2001")],
    );
    let [a, b] = crate::biz::answer(&card, "40173958");
    let main = phone.submit(&card, &[("card1", &a), ("card2", &b)]);
    let manage = phone.follow(&main, '1');
    let users = phone.follow(&manage, '1');
    let otp = phone.follow(&users, '1');
    let form = phone.follow(&otp, '2');
    let t = "GMHW00000013";
    phone
        .submit(
            &form,
            &[
                ("user", "kita01"),
                ("serial", t),
                ("otp", &code(t, 0)),
                ("confirm", "Kakunin2001"),
            ],
        )
        .assert_contains("北見太郎 GMHW00000013");
    let fields = [
        ("contract_id", "2000000001"),
        ("user_id", "kita01"),
        ("form_no", "F-K001"),
        ("received_on", "2020-04-01"),
        ("branch_code", "001"),
        ("identity_checked", "1"),
    ];
    // あおば's console: no such contract there.
    staff_at(&server, AOBA, ("C0011", "Clerk0011"))
        .post(&format!("{AOBA}/branch/forms"), &fields)
        .assert_status(404);
    staff_at(&server, KITA, ("C0011", "Clerk0011"))
        .post(&format!("{KITA}/branch/forms"), &fields)
        .assert_status(200)
        .assert_contains("受付済");
    // The registration was きた's receipt 1000001; the cancellation is its 1000002.
    staff_at(&server, KITA, ("S0012", "Super0012"))
        .post(
            &format!("{KITA}/branch/forms/approve"),
            &[("form_no", "F-K001")],
        )
        .assert_status(200)
        .assert_contains("受付番号: 1000002");
    // みなみ's own first receipt is still 1000001.
    let first = register(&server, MINAMI, TWIN, "GMHW00000008");
    assert_eq!(first.receipt_number().as_deref(), Some("1000001"));
}

#[test]
fn each_bank_has_its_own_metrics_and_the_bare_metrics_is_no_banks() {
    let (_tmp, server) = start();
    let mut phone = server.phone(AU);
    phone
        .get(&format!("{AOBA}/"))
        .assert_contains("あおば信用金庫");
    phone.get(&format!("{AOBA}/help"));
    let (status, aoba) = server.request("GET", "/1020/metrics", "");
    assert_eq!(status, 200, "{aoba}");
    assert!(
        aoba.contains("keitai_requests_total{front=\"phone\",status=\"200\"} 2"),
        "あおば counts its own two pages: {aoba}"
    );
    let (status, minami) = server.request("GET", "/1021/metrics", "");
    assert_eq!(status, 200);
    assert!(
        !minami.contains("keitai_requests_total{front=\"phone\""),
        "みなみ served no phone page: {minami}"
    );
    // No bank's metrics at the bare path (which bank's would they be?): a plain 404, not a
    // phone page (those go out as 200).
    let (status, text) = server.request("GET", "/metrics", "");
    assert_eq!(status, 404, "{text}");
    assert!(text.contains("/CODE/metrics"), "{text}");
}

#[test]
fn restoring_a_backup_of_several_banks_checks_every_banks_chain() {
    let (tmp, server) = start();
    register(&server, MINAMI, TWIN, "GMHW00000007").assert_contains("登録が完了しました");
    let d = tmp.path().to_str().unwrap();
    let out = tempfile::tempdir().unwrap();
    let backup = out.path().join("backup");
    let b = backup.to_str().unwrap();
    let bank = ["--bank", "1021", "--bank-dir", "data", "--data-dir"];
    cli_ok(&[&["backup", b][..], &bank, &[d]].concat());
    server.kill();
    let key = tmp.path().join("master.key");
    let k = key.to_str().unwrap();
    let restore = |into: &str| cli(&["restore", b, "--data-dir", into, "--key-file", k]);
    let good = out.path().join("good");
    let (ok, said, err) = restore(good.to_str().unwrap());
    assert!(ok, "{said}{err}");
    for code in ["1020", "1021", "1022"] {
        assert!(
            said.contains(&format!("bank {code}: audit chain intact")),
            "{said}"
        );
    }
    // One bank's trail altered in the backup (as a failing disk or a hand would): refused.
    {
        let db = sled::open(backup.join("db")).unwrap();
        let trail = db.open_tree("1022/audit").unwrap();
        let (k, v) = trail.iter().next().unwrap().unwrap();
        let mut rec: serde_json::Value = serde_json::from_slice(&v).unwrap();
        rec["detail"] = json!("altered");
        trail.insert(k, serde_json::to_vec(&rec).unwrap()).unwrap();
        db.flush().unwrap();
    }
    let (ok, _, err) = restore(out.path().join("bad").to_str().unwrap());
    assert!(!ok, "an altered trail is not restored as intact");
    assert!(
        err.contains("bank 1022") && err.contains("broken at record"),
        "{err}"
    );
}

#[test]
fn the_emulator_under_a_banks_prefix_keeps_to_that_banks_pages() {
    let tmp = tempfile::tempdir().unwrap();
    let server = centre(tmp.path(), &["--emulator"]);
    let (status, page) = server.request("GET", "/1020/emulator/", "");
    assert_eq!(status, 200);
    assert!(
        page.contains("src=\"/1020/emulator/emulator.js\"")
            && page.contains("href=\"/1020/emulator/emulator.css\""),
        "{page}"
    );
    let (status, script) = server.request("GET", "/1020/emulator/emulator.js", "");
    assert!(status == 200 && script.contains("BASE + \"/emulator/send\""));
    let send =
        |ask: serde_json::Value| server.request("POST", "/1020/emulator/send", &ask.to_string());
    // The bank's top page as a cookie-less DoCoMo handset opens it: its links keep the prefix.
    let (status, body) =
        send(json!({"handset": "docomo-p903i", "method": "GET", "target": "/1020/"}));
    assert_eq!(status, 200, "{body}");
    let top: serde_json::Value = serde_json::from_str(&body).unwrap();
    let text = top["page"].as_str().unwrap();
    assert!(
        text.contains("あおば信用金庫") && text.contains("action=\"/1020/login?guid=ON\""),
        "{text}"
    );
    assert!(
        top["request"]["url"].as_str().unwrap().ends_with("/1020/"),
        "{top}"
    );
    // The login form posted as the handset does (with its hidden anti-forgery value) reaches
    // あおば's customer.
    let marker = "name=\"csrf\" value=\"";
    let at = text.find(marker).expect("the login form's value") + marker.len();
    let value = &text[at..at + text[at..].find('"').unwrap()];
    let (status, body) = send(json!({
        "handset": "docomo-p903i",
        "method": "POST",
        "target": "/1020/login?guid=ON",
        "fields": [["csrf", value], ["contract_id", TWIN.0], ["password", TWIN.1]],
    }));
    assert_eq!(status, 200, "{body}");
    let menu: serde_json::Value = serde_json::from_str(&body).unwrap();
    let text = menu["page"].as_str().unwrap();
    assert!(text.contains("メニュー") || text.contains("様"), "{text}");
    assert!(
        text.contains("/1020/"),
        "the menu's links stay in the bank: {text}"
    );
    // Another bank's pages, or paths under no bank, are not this emulator's.
    for target in ["/1021/", "/", "/login", "/1020/branch/"] {
        let (status, body) = send(json!({"handset": "au-sa31", "method": "GET", "target": target}));
        assert_eq!(status, 400, "{target}: {body}");
    }
}

/// `migrate` of an embedded database of several banks: each bank's records into its own rows
/// of one PostgreSQL database, each chain intact, and a gateway on it finds them per bank.
#[test]
fn migrating_several_banks_to_postgres_keeps_each_bank_apart() {
    let (engine, server) = start();
    register(&server, MINAMI, TWIN, "GMHW00000007").assert_contains("登録が完了しました");
    server.kill();
    let dir = engine.path();
    let url = pg::shared().database(&pg::name_for(dir));
    let key = dir.join("master.key");
    let (ok, out, err) = cli(&[
        "migrate",
        "--from-data-dir",
        dir.to_str().unwrap(),
        "--to",
        &url,
    ]);
    assert!(ok, "{out}{err}");
    for code in ["1020", "1021", "1022"] {
        assert!(
            out.contains(&format!("(bank {code}) into PostgreSQL")),
            "{out}"
        );
    }
    let k = key.to_str().unwrap();
    let pg_dir = dir.join("pg");
    std::fs::create_dir_all(&pg_dir).unwrap();
    let gw = centre(&pg_dir, &["--database", &url, "--key-file", k]);
    let mut phone = gw.phone(AU);
    login(&mut phone, MINAMI, TWIN).assert_contains("トークン:GMHW00000007");
    let mut phone = gw.phone(AU);
    let aoba = login(&mut phone, AOBA, TWIN);
    assert!(!aoba.text.contains("トークン:GMHW"), "{}", aoba.text);
    // 受付番号 continue per bank after the embedded database's.
    let next = register(
        &gw,
        MINAMI,
        ("1000000002", "Pass2345", "Move2345"),
        "GMHW00000009",
    );
    assert_eq!(next.receipt_number().as_deref(), Some("1000002"));
    let kita = register(
        &gw,
        KITA,
        ("1000000001", "Pass5678", "Move5678"),
        "GMHW00000015",
    );
    assert_eq!(kita.receipt_number().as_deref(), Some("1000001"));
}

/// The code `serial` of `bank`'s own demo inventory (`data/banks/CODE/demo/tokens.csv`) shows
/// at the test's time.
fn bank_code(bank: &str, serial: &str) -> String {
    let file = banks_dir().join(format!("banks/{bank}/demo/tokens.csv"));
    keitai_gateway::inventory::read(&file)
        .unwrap()
        .into_iter()
        .find(|t| t.serial == serial)
        .unwrap_or_else(|| panic!("{serial} not in {}", file.display()))
        .code_at(now())
}

#[test]
fn readmes_first_command_serves_the_three_demo_banks() {
    let tmp = tempfile::tempdir().unwrap();
    // `cargo run --release -- serve --demo`: no --bank-dir.
    let server = Server::start_readme_demo(tmp.path());
    let banner = server.banner.join("\n");
    for (code, name) in [
        ("1020", "あおば信用金庫"),
        ("1021", "みなみ信用金庫"),
        ("1022", "きた信用金庫"),
    ] {
        // Each bank's URL, then (in its block) its customers and staff.
        assert!(
            server
                .banner
                .iter()
                .any(|l| l.starts_with(&format!("bank {code} {name}: http://"))
                    && l.ends_with(&format!("/{code}/"))),
            "{banner}"
        );
        assert!(
            banner.contains(&format!("== Bank {code} {name} at /{code}/")),
            "{banner}"
        );
    }
    for line in [
        "  1000000001 / Pass1234 / Move1234 / 青葉太郎 / -",
        "  1000000002 / Pass2345 / Move2345 / 南花子 / -",
        "  1000000001 / Pass5678 / Move5678 / 北太郎 / -",
        "  C0011 / Clerk0011 / 青葉窓口 / 001 / Clerk",
        "  S0032 / Super0032 / 東支店長 / 003 / Supervisor",
        "法人 contracts at /1022/biz",
        "Codes: keitai-gateway token-code SERIAL",
        "Carrier networks from data/carrier_networks.toml.",
    ] {
        assert!(banner.contains(line), "{line:?} not in:\n{banner}");
    }

    // The bare top lists the banks with numbered keys; each key opens the bank under its prefix.
    let mut phone = server.phone(FOMA);
    let list = phone.get("/");
    list.assert_chtml(5000);
    for (key, base, name) in [
        ('1', AOBA, "あおば信用金庫"),
        ('2', MINAMI, "みなみ信用金庫"),
        ('3', KITA, "きた信用金庫"),
    ] {
        assert_eq!(list.link(key).as_deref(), Some(&*format!("{base}/")));
        let top = phone.follow(&list, key);
        top.assert_chtml(5000).assert_contains(name);
        let (action, _) = top.form().unwrap();
        assert!(action.starts_with(&format!("{base}/login")), "{action}");
    }

    // 利用開始 at あおば, which (unlike the one-bank demo) ends with the お客様カード.
    let (taro, card, serial) = (("1000000001", "Pass1234"), "31415926", "GMHW00000001");
    let top = phone.get(&format!("{AOBA}/"));
    let step1 = phone.follow(&top, '1');
    let form = phone.submit(&step1, &[("contract_id", taro.0), ("password", taro.1)]);
    form.assert_chtml(5000)
        .assert_contains("お客様カードの(1)、(2)に対応した数字を半角でそれぞれ入力してください。");
    assert!(!form.text.contains("資金移動用パスワード"), "{}", form.text);
    let (action, _) = form.form().unwrap();
    assert!(action.starts_with("/1020/start/"), "{action}");
    let [a, b] = crate::biz::answer(&form, card);
    let done = phone.submit(
        &form,
        &[
            ("serial", serial),
            ("otp", &bank_code("1020", serial)),
            ("login_otp", "1"),
            ("card1", &a),
            ("card2", &b),
        ],
    );
    done.assert_chtml(5000)
        .assert_contains("ワンタイムパスワードの登録が完了しました")
        .assert_contains(serial);
    // The token is あおば's: みなみ has no such serial, and its customer of the same contract ID
    // still holds none.
    server.stop();
    let d = tmp.path().to_str().unwrap();
    let show = |bank: &str| {
        cli_ok(&[
            "customers",
            "show",
            taro.0,
            "--bank",
            bank,
            "--bank-dir",
            "data",
            "--data-dir",
            d,
        ])
    };
    assert!(show("1020").contains(serial), "{}", show("1020"));
    assert!(!show("1021").contains(serial), "{}", show("1021"));
}

#[test]
fn token_code_finds_a_serial_in_whichever_demo_banks_inventory_has_it() {
    let at = now().to_string();
    // README's `token-code SERIAL`: no --inventory, no --bank-dir, in the repository.
    let token_code = |args: &[&str]| {
        let out = command()
            .env_remove("KEITAI_BANK_DIR")
            .arg("token-code")
            .args(args)
            .args(["--at", &at])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        (
            out.status.success(),
            text,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    for (bank, serial) in [
        ("1020", "GMHW00000002"),
        ("1021", "GMHW00000011"),
        ("1022", "GMHW00000016"),
    ] {
        let (ok, code, err) = token_code(&[serial]);
        assert!(ok, "{serial}: {err}");
        assert_eq!(code, bank_code(bank, serial), "{serial}");
        let (ok, again, err) = token_code(&[serial, "--bank", bank]);
        assert!(ok && again == code, "{serial} --bank {bank}: {err}");
    }
    let (ok, _, err) = token_code(&["GMHW00000002", "--bank", "1022"]);
    assert!(!ok && err.contains("not in the demo inventory"), "{err}");
    // The one-bank setup's own inventory.
    let (ok, code, err) = token_code(&["GMHW00000010", "--bank-dir", "data/one-bank"]);
    assert!(ok, "{err}");
    assert_eq!(code, crate::support::code("GMHW00000010", 0));
}
