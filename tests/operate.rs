//! Running it for a real bank, over real sockets and the real command line: customers from the
//! internet-banking host's export (bcrypt and PBKDF2 hashes, re-hashed to argon2id at login),
//! closed contracts, branch staff added by command (initial password, forced change, disable,
//! unlock, reset), and sign-in pauses and staff sessions that survive a restart. The gateway is
//! started without `--demo` unless a test says otherwise.

use crate::support::*;
use std::path::Path;

const HEADER: &str = "contract_id,name,login_password_hash,transfer_password_hash,status";
/// Customers the host exports in this test (contract ID, login, transfer password).
const KAZUO: (&str, &str, &str) = ("2000000001", "Kazuo-login1", "Kazuo-move1");
const MIKI: (&str, &str, &str) = ("2000000002", "Miki-login22", "Miki-move22");

/// Runs the gateway's command line on `dir` with `stdin` as standard input; (success, output).
fn gw_in(dir: &Path, args: &[&str], stdin: &str) -> (bool, String) {
    let dir = dir.to_str().unwrap();
    let all: Vec<&str> = args.iter().copied().chain(["--data-dir", dir]).collect();
    {
        let (ok, out, err) = cli_with_stdin(&repo(), "ops-tester", &all, stdin);
        (ok, out + &err)
    }
}

fn gw(dir: &Path, args: &[&str]) -> (bool, String) {
    gw_in(dir, args, "")
}

fn gw_ok(dir: &Path, args: &[&str]) -> String {
    let (ok, out) = gw(dir, args);
    assert!(ok, "{args:?}:\n{out}");
    out
}

/// An empty bank as an operator sets it up: a master key and the vendor's token inventory.
fn fresh_bank() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("master.key");
    let (ok, out, err) = cli(&["init-key", key.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    gw_ok(
        tmp.path(),
        &["import-tokens", "data/one-bank/demo/tokens.csv"],
    );
    tmp
}

/// Writes the host's export (UTF-8 BOM, CRLF) and returns its path.
fn export(dir: &Path, name: &str, rows: &[String]) -> String {
    let mut text = format!("\u{feff}{HEADER}\r\n");
    for r in rows {
        text.push_str(r);
        text.push_str("\r\n");
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// A PBKDF2 PHC string has a comma (`i=1000,l=32`): the host's CSV quotes such fields.
fn quoted(field: &str) -> String {
    format!("\"{}\"", field.replace('"', "\"\""))
}

fn kazuo_and_miki() -> Vec<String> {
    vec![
        format!(
            "{},田中一夫,{},{},active",
            KAZUO.0,
            bcrypt_of(KAZUO.1),
            quoted(&pbkdf2_of(KAZUO.2))
        ),
        format!(
            "{},鈴木美紀,{},{},active",
            MIKI.0,
            quoted(&pbkdf2_of(MIKI.1)),
            quoted(&bcrypt_of(MIKI.2))
        ),
    ]
}

/// 利用開始 on a phone: top → 1 → credentials → token form → receipt.
fn start_on_phone(server: &Server, who: (&str, &str, &str), serial: &str) -> Resp {
    let mut phone = server.phone(FOMA);
    let top = phone.get("/");
    let step1 = phone.follow(&top, '1');
    let form = phone.submit(&step1, &[("contract_id", who.0), ("password", who.1)]);
    form.assert_contains("シリアル番号");
    let otp = code(serial, 0);
    phone.submit(
        &form,
        &[
            ("serial", serial),
            ("otp", &otp),
            ("login_otp", "0"),
            ("transfer_password", who.2),
        ],
    )
}

fn customer(dir: &Path, id: &str) -> Option<keitai_gateway::store::Customer> {
    with_store(dir, |s| s.customer(id).unwrap())
}

#[test]
fn customers_from_the_host_start_on_a_phone_and_are_rehashed_to_argon2id() {
    let bank = fresh_bank();
    let dir = bank.path();
    let file = export(dir, "customers.csv", &kazuo_and_miki());

    let dry = gw_ok(dir, &["customers", "import", &file, "--dry-run"]);
    assert!(
        dry.contains("dry run, nothing written") && dry.contains("2 added"),
        "{dry}"
    );
    assert!(customer(dir, KAZUO.0).is_none(), "a dry run writes nothing");
    let loaded = gw_ok(dir, &["customers", "import", &file]);
    assert!(
        loaded.contains("loaded") && loaded.contains("2 added"),
        "{loaded}"
    );
    let stored = customer(dir, KAZUO.0).unwrap();
    assert!(stored.login_hash.starts_with("$2b$"));
    assert!(stored
        .transfer_hash
        .starts_with("$pbkdf2-sha256$i=1000,l=32$"));

    let server = Server::start_plain(dir, &[]);
    assert!(
        !server.banner.iter().any(|l| l.contains("Demo")),
        "no demo data without --demo: {:?}",
        server.banner
    );
    let done = start_on_phone(&server, KAZUO, "GMHW00000003");
    done.assert_contains("ワンタイムパスワードの登録が完了しました")
        .assert_contains("GMHW00000003");
    // Miki logs in with her PBKDF2 login password.
    let mut phone = server.phone(AU);
    let top = phone.get("/");
    phone
        .submit(&top, &[("contract_id", MIKI.0), ("password", MIKI.1)])
        .assert_contains("鈴木美紀");
    drop(server);

    // Both passwords Kazuo typed are argon2id now; Miki's login too, her transfer not yet.
    let kazuo = customer(dir, KAZUO.0).unwrap();
    let miki = customer(dir, MIKI.0).unwrap();
    for h in [&kazuo.login_hash, &kazuo.transfer_hash, &miki.login_hash] {
        assert_eq!(
            keitai_gateway::phc::scheme(h),
            Ok(keitai_gateway::phc::Scheme::Argon2id),
            "{h}"
        );
    }
    assert!(miki.transfer_hash.starts_with("$2b$"));
    let audit = gw_ok(dir, &["audit", "--contract", KAZUO.0]);
    assert!(audit.contains("re-hashed to argon2id"), "{audit}");

    // The host exports the same hashes again: the argon2id ones stay.
    let again = gw_ok(dir, &["customers", "import", &file]);
    assert!(
        again.contains("0 added, 0 updated") && again.contains("2 unchanged"),
        "{again}"
    );
    assert_eq!(customer(dir, KAZUO.0).unwrap().login_hash, kazuo.login_hash);
    // A new password at the host replaces it.
    let mut rows = kazuo_and_miki();
    rows.truncate(1);
    rows[0] = rows[0].replace("田中一夫", "田中一男");
    let changed = export(dir, "changed.csv", &rows);
    let out = gw_ok(dir, &["customers", "import", &changed]);
    assert!(out.contains("1 updated"), "{out}");
    assert!(customer(dir, KAZUO.0)
        .unwrap()
        .login_hash
        .starts_with("$2b$"));

    let show = gw_ok(dir, &["customers", "show", KAZUO.0]);
    assert!(
        show.contains("田中一男") && show.contains("GMHW00000003"),
        "{show}"
    );
    assert!(show.contains("利用中 (active)"), "{show}");
    assert!(!show.contains('$'), "no hash is shown: {show}");
}

#[test]
fn bad_rows_are_named_by_line_and_nothing_is_loaded() {
    let bank = fresh_bank();
    let dir = bank.path();
    let mut rows = kazuo_and_miki();
    rows.push("2000000003,平文花子,Plain-pass1,Plain-pass2,active".into());
    rows.push(format!(
        "2000000001,重複,{},{},active",
        bcrypt_of("a"),
        bcrypt_of("b")
    ));
    rows.push(format!(
        "20000X0005,名前,{},{},frozen",
        bcrypt_of("a"),
        bcrypt_of("b")
    ));
    let file = export(dir, "bad.csv", &rows);
    for dry in [false, true] {
        let mut args = vec!["customers", "import", file.as_str()];
        if dry {
            args.push("--dry-run");
        }
        let (ok, out) = gw(dir, &args);
        assert!(!ok, "{out}");
        assert!(
            out.contains("nothing loaded") && out.contains("3 bad row(s)"),
            "{out}"
        );
        assert!(
            out.contains("line 4: login_password_hash: not a PHC"),
            "{out}"
        );
        assert!(
            out.contains("line 5: contract ID 2000000001 is also on line 2"),
            "{out}"
        );
        assert!(
            out.contains("line 6: contract_id") && out.contains("status"),
            "{out}"
        );
        assert!(
            !out.contains("Plain-pass1"),
            "a password in a hash column is not echoed"
        );
    }
    assert!(
        customer(dir, KAZUO.0).is_none(),
        "the good rows were not loaded either"
    );
    assert!(customer(dir, MIKI.0).is_none());
}

/// An export of `n` customers from 2100000000 on, every hash one bcrypt string.
fn many(n: u64, hash: &str) -> Vec<String> {
    (0..n)
        .map(|i| format!("{},顧客{i},{hash},{hash},active", 2_100_000_000 + i))
        .collect()
}

#[test]
fn a_file_of_many_batches_loads_whole_or_not_at_all() {
    let bank = fresh_bank();
    let dir = bank.path();
    let hash = bcrypt_of("a");
    // More rows than one staging batch (1,000), with a duplicate and a bad row near the end.
    let mut rows = many(2_500, &hash);
    rows.push(rows[0].clone());
    rows.push(format!("2199999999,x,{hash},{hash},frozen"));
    let file = export(dir, "big.csv", &rows);
    let (ok, out) = gw(dir, &["customers", "import", &file]);
    assert!(!ok && out.contains("2 bad row(s)"), "{out}");
    assert!(
        out.contains("line 2502: contract ID 2100000000 is also on line 2"),
        "{out}"
    );
    assert!(out.contains("line 2503: status"), "{out}");
    assert!(customer(dir, "2100000000").is_none(), "nothing loaded");
    assert!(customer(dir, "2100002499").is_none());
    let good = export(dir, "good.csv", &many(2_500, &hash));
    let dry = gw_ok(dir, &["customers", "import", &good, "--dry-run"]);
    assert!(
        dry.contains("2500 added") && dry.contains("and 2480 more"),
        "{dry}"
    );
    assert!(
        customer(dir, "2100000000").is_none(),
        "a dry run writes nothing"
    );
    let out = gw_ok(dir, &["customers", "import", &good]);
    assert!(
        out.contains("loaded") && out.contains("2500 added"),
        "{out}"
    );
    assert!(customer(dir, "2100000000").is_some());
    assert!(customer(dir, "2100002499").is_some());
    let audit = gw_ok(dir, &["audit"]);
    assert_eq!(audit.matches("customers_import").count(), 1, "{audit}");
}

#[test]
fn closing_a_contract_cancels_its_token_and_the_api_answers_cancelled() {
    // The demo bank: Hanako holds a token. The bank's host then closes her contract.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::start_in(dir, &[]);
    assert!(server.banner.iter().any(|l| l.contains("Demo customers")));
    drop(server);
    let (ok, key, _) = cli(&[
        "api-key",
        "add",
        "ib-core",
        "--data-dir",
        dir.to_str().unwrap(),
    ]);
    assert!(ok);
    let key = key.trim().to_owned();
    let row = format!(
        "{},山田花子,{},{},closed",
        HANAKO.0,
        bcrypt_of(HANAKO.1),
        bcrypt_of(HANAKO.2)
    );
    let file = export(dir, "close.csv", &[row]);
    let dry = gw_ok(dir, &["customers", "import", &file, "--dry-run"]);
    assert!(dry.contains("1 closed") && dry.contains(HANAKO.0), "{dry}");
    assert!(!customer(dir, HANAKO.0).unwrap().closed);
    gw_ok(dir, &["customers", "import", &file]);
    let audit = gw_ok(dir, &["audit", "--contract", HANAKO.0]);
    assert!(
        audit.contains("contract_closed") && audit.contains(HANAKO_TOKEN),
        "{audit}"
    );
    assert!(audit.contains("operator ops-tester"), "{audit}");
    let tokens = with_store(dir, |s| s.token(HANAKO_TOKEN).unwrap().unwrap());
    assert!(matches!(
        tokens.state,
        keitai_gateway::store::TokenState::Cancelled { .. }
    ));

    // `--demo` on a database that is no longer the demo's says so, and prints no credentials.
    let server = Server::start_in(dir, &[]);
    assert!(
        server
            .banner
            .iter()
            .any(|l| l.contains("not the demo bank's")),
        "{:?}",
        server.banner
    );
    assert!(!server.banner.iter().any(|l| l.contains(HANAKO.1)));
    let otp = code(HANAKO_TOKEN, 0);
    let body = format!(
        r#"{{"contract_id":"{}","otp":"{otp}","purpose":"transfer"}}"#,
        HANAKO.0
    );
    let req = format!(
        "POST /api/v1/otp/verify HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/json\r\nAuthorization: Bearer {key}\r\nContent-Length: {}\r\n\r\n{body}",
        server.addr,
        body.len()
    );
    let r = server.phone("").raw(req.as_bytes());
    let text = String::from_utf8_lossy(&r.body);
    assert_eq!(r.status, 200, "{text}");
    assert!(text.contains(r#""result":"cancelled""#), "{text}");
    // The branch hands it no new token, and shows it closed.
    let mut clerk = Staff::sign_in(server.addr, CLERK_HONTEN);
    clerk
        .post(
            "/branch/applications",
            &[
                ("contract_id", HANAKO.0),
                ("application_no", "A-9001"),
                ("reason", "new"),
            ],
        )
        .assert_status(422)
        .assert_contains("解約されています");
    clerk
        .get(&format!("/branch/customer?contract_id={}", HANAKO.0))
        .assert_contains("解約 (closed)");
    // A closed contract cannot log in on a phone, with any password.
    let mut phone = server.phone(AU);
    let top = phone.get("/");
    phone
        .submit(&top, &[("contract_id", HANAKO.0), ("password", HANAKO.1)])
        .assert_contains("正しくありません");
    drop(server);
    let show = gw_ok(dir, &["customers", "show", HANAKO.0]);
    assert!(
        show.contains("解約 (closed)") && show.contains("トークン\tなし"),
        "{show}"
    );
    assert!(show.contains("停止中"), "{show}");
}

/// Signs in with an initial password: the password change page, nothing else.
fn first_sign_in(server: &Server, id: &str, password: &str) -> Staff {
    let mut s = Staff::new(server.addr);
    s.get("/branch/");
    s.post("/branch/login", &[("staff_id", id), ("password", password)])
        .assert_status(200)
        .assert_contains("パスワードの変更")
        .assert_contains("初期パスワード");
    s
}

fn change_password(s: &mut Staff, current: &str, new: &str) -> Resp {
    s.post(
        "/branch/password",
        &[("current", current), ("new", new), ("confirm", new)],
    )
}

#[test]
fn staff_added_by_command_change_their_password_and_process_a_cancellation() {
    let bank = fresh_bank();
    let dir = bank.path();
    let file = export(dir, "customers.csv", &kazuo_and_miki());
    gw_ok(dir, &["customers", "import", &file]);
    let clerk_pw = "Clerk-initial-1";
    let (ok, out) = gw_in(
        dir,
        &[
            "staff",
            "add",
            "C1001",
            "--name",
            "窓口 太郎",
            "--branch",
            "001",
            "--role",
            "clerk",
            "--password-stdin",
        ],
        &format!("{clerk_pw}\n"),
    );
    assert!(
        ok && out.contains("added C1001") && !out.contains(clerk_pw),
        "{out}"
    );
    let sup = gw_ok(
        dir,
        &[
            "staff",
            "add",
            "S1001",
            "--name",
            "役席 花子",
            "--branch",
            "001",
            "--role",
            "supervisor",
        ],
    );
    let sup_pw = initial_password(&sup);
    assert!(sup_pw.len() >= 10);
    let (ok, out) = gw(
        dir,
        &[
            "staff", "add", "C1002", "--name", "x", "--branch", "999", "--role", "clerk",
        ],
    );
    assert!(!ok && out.contains("not in the bank profile"), "{out}");
    let list = gw_ok(dir, &["staff", "list"]);
    assert!(
        list.contains("C1001\t窓口 太郎\t001\tclerk\tenabled, initial password"),
        "{list}"
    );
    assert!(!list.contains(clerk_pw) && !list.contains(&sup_pw) && !list.contains('$'));

    let server = Server::start_plain(dir, &[]);
    start_on_phone(&server, KAZUO, "GMHW00000004")
        .assert_contains("ワンタイムパスワードの登録が完了しました");

    let mut clerk = first_sign_in(&server, "C1001", clerk_pw);
    // Nothing but the change is open until it is made.
    clerk
        .get("/branch/lists/pending")
        .assert_status(403)
        .assert_contains("パスワードの変更");
    change_password(&mut clerk, clerk_pw, "short")
        .assert_status(422)
        .assert_contains("10文字以上");
    change_password(&mut clerk, clerk_pw, clerk_pw)
        .assert_status(422)
        .assert_contains("現在(初期)のパスワードと違う");
    change_password(&mut clerk, "wrong-current", "Chosen-by-clerk")
        .assert_status(422)
        .assert_contains("現在のパスワードが正しくありません");
    change_password(&mut clerk, clerk_pw, "Chosen-by-clerk")
        .assert_status(200)
        .assert_contains("パスワードを変更しました");
    clerk
        .post(
            "/branch/forms",
            &[
                ("contract_id", KAZUO.0),
                ("form_no", "F-1001"),
                ("received_on", "2020-04-01"),
                ("branch_code", "001"),
                ("identity_checked", "1"),
            ],
        )
        .assert_status(200);
    // The initial password no longer signs in; the chosen one does.
    let mut again = Staff::new(server.addr);
    again.get("/branch/");
    again
        .post(
            "/branch/login",
            &[("staff_id", "C1001"), ("password", clerk_pw)],
        )
        .assert_status(401);
    Staff::sign_in(server.addr, ("C1001", "Chosen-by-clerk"));

    let mut supervisor = first_sign_in(&server, "S1001", &sup_pw);
    change_password(&mut supervisor, &sup_pw, "Chosen-by-super").assert_status(200);
    supervisor
        .post("/branch/forms/approve", &[("form_no", "F-1001")])
        .assert_status(200)
        .assert_contains("利用中止にしました");
    drop(server);
    let audit = gw_ok(dir, &["audit"]);
    for event in [
        "staff_add",
        "staff_password_change",
        "branch_cancel_approved",
    ] {
        assert!(audit.contains(event), "{event} in\n{audit}");
    }
    assert!(audit.contains("operator ops-tester"));
}

#[test]
fn pauses_sessions_and_account_changes_survive_restarts() {
    let bank = fresh_bank();
    let dir = bank.path();
    let initial = "Initial-pass-1";
    let (ok, out) = gw_in(
        dir,
        &[
            "staff",
            "add",
            "S2001",
            "--name",
            "東 役席",
            "--branch",
            "003",
            "--role",
            "supervisor",
            "--password-stdin",
        ],
        &format!("{initial}\n"),
    );
    assert!(ok, "{out}");

    // Five wrong passwords pause sign-in, and a restart does not lift the pause.
    let server = Server::start_plain(dir, &[]);
    let mut guesser = Staff::new(server.addr);
    guesser.get("/branch/");
    for _ in 0..5 {
        guesser
            .post(
                "/branch/login",
                &[("staff_id", "S2001"), ("password", "guess")],
            )
            .assert_status(401);
    }
    drop(server);
    let server = Server::start_plain(dir, &[]);
    let mut s = Staff::new(server.addr);
    s.get("/branch/");
    s.post(
        "/branch/login",
        &[("staff_id", "S2001"), ("password", initial)],
    )
    .assert_status(429)
    .assert_contains("15分間サインインできません");
    drop(server);
    assert!(gw_ok(dir, &["staff", "list"]).contains("sign-in paused"));
    assert!(gw_ok(dir, &["staff", "unlock", "S2001"]).contains("unlocked S2001"));

    // Unlocked: signs in, chooses a password; the session outlives a restart.
    let server = Server::start_plain(dir, &[]);
    let mut s = first_sign_in(&server, "S2001", initial);
    change_password(&mut s, initial, "Chosen-pass-22").assert_status(200);
    drop(server);
    let server = Server::start_plain(dir, &[]);
    let mut resumed = Staff::new(server.addr);
    resumed.cookie = s.cookie.clone();
    resumed.csrf = s.csrf.clone();
    resumed
        .get("/branch/")
        .assert_status(200)
        .assert_contains("ホーム")
        .assert_contains("S2001");
    drop(server);

    // Disabled: the session ends and the right password is refused.
    gw_ok(dir, &["staff", "disable", "S2001"]);
    let server = Server::start_plain(dir, &[]);
    resumed = Staff::new(server.addr);
    resumed.cookie = s.cookie.clone();
    resumed.csrf = s.csrf.clone();
    resumed.get("/branch/").assert_contains("サインイン");
    resumed.get("/branch/lists/pending").assert_status(401);
    let mut s2 = Staff::new(server.addr);
    s2.get("/branch/");
    s2.post(
        "/branch/login",
        &[("staff_id", "S2001"), ("password", "Chosen-pass-22")],
    )
    .assert_status(403)
    .assert_contains("利用停止中");
    drop(server);
    assert!(gw_ok(dir, &["staff", "list"]).contains("S2001\t東 役席\t003\tsupervisor\tdisabled"));

    // Enabled: the chosen password signs in again. Reset: that session ends, the chosen
    // password no longer works, and the new initial one must be changed.
    gw_ok(dir, &["staff", "enable", "S2001"]);
    let server = Server::start_plain(dir, &[]);
    let before_reset = Staff::sign_in(server.addr, ("S2001", "Chosen-pass-22"));
    drop(server);
    let reset = gw_ok(dir, &["staff", "reset-password", "S2001"]);
    assert!(reset.contains("sessions ended"), "{reset}");
    let new_initial = initial_password(&reset);
    let server = Server::start_plain(dir, &[]);
    let mut old_session = Staff::new(server.addr);
    old_session.cookie = before_reset.cookie.clone();
    old_session.get("/branch/lists/pending").assert_status(401);
    let mut s3 = Staff::new(server.addr);
    s3.get("/branch/");
    s3.post(
        "/branch/login",
        &[("staff_id", "S2001"), ("password", "Chosen-pass-22")],
    )
    .assert_status(401);
    let mut s4 = first_sign_in(&server, "S2001", &new_initial);
    change_password(&mut s4, &new_initial, "Chosen-pass-33").assert_status(200);
    drop(server);
    let (ok, out) = gw(dir, &["staff", "disable", "NOBODY"]);
    assert!(!ok && out.contains("no staff ID NOBODY"), "{out}");
    let audit = gw_ok(dir, &["audit"]);
    for event in [
        "staff_sign_in_paused",
        "staff_unlock",
        "staff_disable",
        "staff_enable",
        "staff_password_reset",
    ] {
        assert!(audit.contains(event), "{event} in\n{audit}");
    }
}

/// An operator on a fresh machine runs the commands from any directory without `--bank-dir`:
/// through the running gateway's admin socket they use the profile it serves, and while it is
/// stopped the data directory names the bank directory it was served with.
#[test]
fn commands_outside_the_repository_need_no_bank_dir() {
    let bank = fresh_bank();
    let dir = bank.path();
    let elsewhere = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let all: Vec<&str> = args.iter().copied().chain(["--data-dir", d(dir)]).collect();
        cli_as_operator(elsewhere.path(), &all)
    };
    let add = |id: &str| {
        run(&[
            "staff",
            "add",
            id,
            "--name",
            "本店課長",
            "--branch",
            "001",
            "--role",
            "supervisor",
        ])
    };
    // Never served: nothing says where the profile is.
    let (ok, out) = add("S9001");
    assert!(!ok && out.contains("--bank-dir"), "{out}");
    let file = export(dir, "host.csv", &kazuo_and_miki());
    let server = Server::start_plain(dir, &[]);
    let (ok, out) = add("S9001");
    assert!(ok, "through the gateway: {out}");
    let (ok, out) = run(&["customers", "import", &file]);
    assert!(ok && out.contains("2 added"), "{out}");
    let (ok, out) = run(&["customers", "show", KAZUO.0]);
    assert!(ok && out.contains(KAZUO.0), "{out}");
    server.stop();
    // Stopped: the bank directory the gateway was served with, recorded in the data directory.
    let (ok, out) = add("S9002");
    assert!(ok, "from the record: {out}");
    let (ok, out) = run(&["customers", "show", MIKI.0]);
    assert!(ok && out.contains(MIKI.0), "{out}");
    let (ok, out) = run(&["staff", "list"]);
    assert!(
        ok && out.contains("S9001") && out.contains("S9002"),
        "{out}"
    );
}

fn d(p: &Path) -> &str {
    p.to_str().unwrap()
}
