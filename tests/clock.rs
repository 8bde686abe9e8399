//! The gateway's time is the test's: `serve --test-clock` (loopback `--demo` runs only) makes
//! the gateway read the time the harness writes, so codes are exact and nothing waits for a
//! TOTP step.

use crate::support::*;

/// 2003-08-16 05:35:31 UTC, 14:35:31 in Japan.
const AUGUST_2003: u64 = 1_061_012_131;

/// A phone on the token form of 利用開始 for TARO.
fn token_form(phone: &mut Phone) -> Resp {
    let top = phone.get("/");
    let step1 = phone.follow(&top, '1');
    phone.submit(&step1, &[("contract_id", TARO.0), ("password", TARO.1)])
}

fn register(phone: &mut Phone, form: &Resp, otp: &str) -> Resp {
    phone.submit(
        form,
        &[
            ("serial", "GMHW00000001"),
            ("otp", otp),
            ("login_otp", "1"),
            ("transfer_password", TARO.2),
        ],
    )
}

/// On the token form: `stale` is refused, then the code of the test's time is accepted; returns
/// the receipt.
fn stale_then_current(phone: &mut Phone, form: &Resp, stale: &str) -> Resp {
    let bad = register(phone, form, stale);
    bad.assert_contains("ワンタイムパスワードが正しくありません");
    let done = register(phone, &bad, &code("GMHW00000001", 0));
    done.assert_contains("登録が完了しました");
    done
}

#[test]
fn the_gateway_keeps_the_time_the_test_sets() {
    set_now(AUGUST_2003);
    let server = Server::start();
    let mut phone = server.phone(FOMA);
    let form = token_form(&mut phone);
    // The code the token shows at the real time is not the code of 2003.
    let real = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let real_code = code_at("GMHW00000001", real);
    assert_ne!(
        real_code,
        code("GMHW00000001", 0),
        "codes of 2003 and today"
    );
    // The code of the test's time is accepted, and the receipt is stamped with that time.
    stale_then_current(&mut phone, &form, &real_code)
        .assert_contains("2003年08月16日 14時35分31秒");
}

#[test]
fn moving_the_time_moves_the_gateway_and_the_codes() {
    set_now(AUGUST_2003);
    let server = Server::start();
    let mut phone = server.phone(FOMA);
    let form = token_form(&mut phone);
    // An hour on (for the running gateway too), the code of an hour ago is outside the window;
    // the code of the new step is accepted, at the new time.
    let old = code("GMHW00000001", 0);
    advance(3600);
    stale_then_current(&mut phone, &form, &old).assert_contains("2003年08月16日 15時35分31秒");
}

#[test]
fn serve_takes_the_test_clock_only_on_loopback_demo_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = tmp.path().join("clock");
    std::fs::write(&clock, format!("{AUGUST_2003}\n")).unwrap();
    let clock = clock.to_str().unwrap();
    let data = tmp.path().to_str().unwrap();
    // A bank directory that does not exist: a run the clock check let through would stop there
    // (with another message) instead of serving.
    let base = [
        "serve",
        "--data-dir",
        data,
        "--bank-dir",
        "/nonexistent",
        "--test-clock",
        clock,
    ];
    for extra in [
        &["--listen", "127.0.0.1:0"][..],
        &["--demo", "--listen", "0.0.0.0:0"][..],
        &["--demo", "--listen", "192.0.2.1:8080"][..],
        &["--demo", "--listen", "[::]:0"][..],
    ] {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let (ok, out, err) = cli(&args);
        assert!(!ok, "{extra:?} accepted:\n{out}{err}");
        assert!(
            err.contains("--test-clock is for the test suite: only with --demo on a loopback"),
            "{extra:?}: {err}"
        );
    }
    // A loopback demo run gets past the clock check, to the missing bank directory.
    let args: Vec<&str> = base
        .iter()
        .chain(&["--demo", "--listen", "127.0.0.1:0"])
        .copied()
        .collect();
    let (ok, _, err) = cli(&args);
    assert!(!ok && !err.contains("--test-clock"), "{err}");
    // And the option is not offered to operators.
    let (_, help, _) = cli(&["serve", "--help"]);
    assert!(!help.contains("test-clock"), "{help}");
}

/// A gateway with one OTP API caller; returns its key.
fn api_gateway() -> (tempfile::TempDir, Server, String) {
    let tmp = tempfile::tempdir().unwrap();
    keitai_gateway::seal::Sealer::create(&tmp.path().join("master.key")).unwrap();
    let dir = tmp.path().to_str().unwrap();
    let (ok, key, err) = cli(&["api-key", "add", "ib-core", "--data-dir", dir]);
    assert!(ok, "{err}");
    let server = Server::start_in(tmp.path(), &[]);
    (tmp, server, key.trim().to_owned())
}

/// The API's verdict on Hanako's `otp`.
fn verdict(server: &Server, key: &str, otp: &str) -> String {
    let body = format!(
        r#"{{"contract_id":"{}","otp":"{otp}","purpose":"login"}}"#,
        HANAKO.0
    );
    let r = testkit::api::call(server.addr, "POST", "/api/v1/otp/verify", Some(key), &body);
    assert_eq!(r.status, 200, "{}", r.text);
    let v: serde_json::Value = serde_json::from_str(&r.text).unwrap();
    v["result"].as_str().unwrap().to_owned()
}

#[test]
fn drift_and_replay_at_the_edges_of_a_step() {
    // The last second of a step: the window is that step and one either side.
    let step = 60;
    let last_second = AUGUST_2003 - AUGUST_2003 % step + step - 1;
    set_now(last_second);
    let (_tmp, server, key) = api_gateway();
    let at = |steps: i64| code_at(HANAKO_TOKEN, last_second.saturating_add_signed(steps * 60));
    assert_eq!(verdict(&server, &key, &at(-2)), "reject", "two steps slow");
    assert_eq!(verdict(&server, &key, &at(2)), "reject", "two steps fast");
    assert_eq!(verdict(&server, &key, &at(-1)), "accept", "one step slow");
    assert_eq!(verdict(&server, &key, &at(0)), "accept", "this step");
    assert_eq!(verdict(&server, &key, &at(1)), "accept", "one step fast");
    // One second on, the next step has begun: its code was used (as "fast"), the one after it
    // is now within the window, and the codes before are replays, not wrong guesses.
    advance(1);
    assert_eq!(verdict(&server, &key, &at(1)), "replayed");
    assert_eq!(verdict(&server, &key, &at(0)), "replayed");
    assert_eq!(
        verdict(&server, &key, &at(2)),
        "accept",
        "one step fast again"
    );
    assert_eq!(
        verdict(&server, &key, &at(3)),
        "reject",
        "two steps fast again"
    );
}
