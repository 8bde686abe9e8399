//! What the gateway protects at rest and at its edges: sealed seeds, the master key check,
//! inventory imports (CSV and PSKC) that load all or nothing and never touch bound tokens.

use crate::support::*;
use keitai_gateway::otp::{HashAlg, Params};
use std::path::Path;

fn all_bytes_under(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(all_bytes_under(&path));
        } else {
            out.extend(std::fs::read(&path).unwrap());
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn the_database_alone_reveals_no_seed_and_no_password() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_in(tmp.path(), &[]);
    // Use the database a little so tokens are rewritten too.
    let mut phone = server.phone(AU);
    let top = phone.get("/");
    let otp_page = phone.submit(&top, &[("contract_id", HANAKO.0), ("password", HANAKO.1)]);
    phone
        .submit(&otp_page, &[("otp", &code(HANAKO_TOKEN, 0))])
        .assert_contains("ようこそ");
    let dir = server.data_dir.clone();
    server.kill();
    let db = all_bytes_under(&dir.join("db"));
    assert!(db.len() > 1000, "the database has content");
    for seed in inventory() {
        let secret: &[u8] = &seed.secret;
        assert!(
            !contains(&db, secret),
            "raw seed of {} in the database",
            seed.serial
        );
        let b32 = data_encoding::BASE32_NOPAD.encode(secret);
        assert!(
            !contains(&db, b32.as_bytes()),
            "base32 seed of {}",
            seed.serial
        );
        assert!(
            !contains(&db, hex::encode(secret).as_bytes()),
            "hex seed of {}",
            seed.serial
        );
        assert!(contains(&db, seed.serial.as_bytes()), "serials are stored");
    }
    for pw in ["Pass1234", "Move1234", "Pass2345"] {
        assert!(
            !contains(&db, pw.as_bytes()),
            "password {pw} in the database"
        );
    }
}

#[test]
fn a_wrong_key_file_is_refused_at_start_up() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_owned();
    Server::start_in(&dir, &[]).kill();
    let other = dir.join("other.key");
    let (ok, _, _) = cli(&["init-key", other.to_str().unwrap()]);
    assert!(ok);
    let (ok, _, err) = cli(&["init-key", other.to_str().unwrap()]);
    assert!(!ok && err.contains("refusing to overwrite"), "{err}");
    let (ok, out, err) = cli(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        dir.to_str().unwrap(),
        "--key-file",
        other.to_str().unwrap(),
    ]);
    assert!(!ok, "started with the wrong key: {out}");
    assert!(err.contains("does not match"), "{err}");
    // A missing key file (outside demo mode) is refused with a hint.
    let (ok, _, err) = cli(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        dir.to_str().unwrap(),
        "--key-file",
        dir.join("none.key").to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("init-key"), "{err}");
}

#[test]
fn csv_import_refuses_existing_serials_and_never_replaces_bound_tokens() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_owned();
    Server::start_in(&dir, &[]).kill();
    let d = dir.to_str().unwrap();
    let (ok, _, err) = cli(&[
        "import-tokens",
        "data/one-bank/demo/tokens.csv",
        "--data-dir",
        d,
    ]);
    assert!(
        !ok && err.contains("already exist") && err.contains("--replace"),
        "{err}"
    );
    let (ok, _, err) = cli(&[
        "import-tokens",
        "data/one-bank/demo/tokens.csv",
        "--data-dir",
        d,
        "--replace",
    ]);
    assert!(
        !ok && err.contains("GMHW00000010 (in use; never replaced)"),
        "{err}"
    );
    let bad = dir.join("bad.csv");
    std::fs::write(
        &bad,
        "serial,kind,algorithm,digits,period,secret_base32\n\
         NEWHW0000001,hardware,SHA1,6,60,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n\
         NEWHW0000002,hardware,SHA1,6,60,not base32!\n",
    )
    .unwrap();
    let (ok, _, err) = cli(&["import-tokens", bad.to_str().unwrap(), "--data-dir", d]);
    assert!(!ok && err.contains("line 3"), "{err}");
    // Nothing of the bad file was loaded: its good row loads on its own afterwards.
    std::fs::write(
        &bad,
        "serial,kind,algorithm,digits,period,secret_base32\n\
         NEWHW0000001,hardware,SHA1,6,60,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n",
    )
    .unwrap();
    let (ok, out, err) = cli(&["import-tokens", bad.to_str().unwrap(), "--data-dir", d]);
    assert!(ok && out.contains("loaded 1"), "{out}{err}");
}

const PSK: &str = "12345678901234567890123456789012";

#[test]
fn pskc_import_then_a_phone_registers_the_token() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_owned();
    Server::start_in(&dir, &[]).kill();
    let d = dir.to_str().unwrap();
    let fixture = |name: &str| pskc_fixture(name).to_str().unwrap().to_owned();
    // A tampered file loads nothing and names the entry.
    let tampered = fixture("tampered.pskcxml");
    let (ok, _, err) = cli(&[
        "import-tokens",
        &tampered,
        "--data-dir",
        d,
        "--psk-hex",
        PSK,
    ]);
    assert!(!ok && err.contains("entry 2"), "{err}");
    // Without the key, or with a wrong one, nothing loads either.
    let encrypted = fixture("encrypted.pskcxml");
    let (ok, _, _) = cli(&["import-tokens", &encrypted, "--data-dir", d]);
    assert!(!ok);
    let wrong = "00000000000000000000000000000000";
    let (ok, _, _) = cli(&[
        "import-tokens",
        &encrypted,
        "--data-dir",
        d,
        "--psk-hex",
        wrong,
    ]);
    assert!(!ok);
    let (ok, out, err) = cli(&[
        "import-tokens",
        &encrypted,
        "--data-dir",
        d,
        "--psk-hex",
        PSK,
    ]);
    assert!(ok && out.contains("loaded 3"), "{out}{err}");

    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(pskc_fixture("expected.json")).unwrap())
            .unwrap();
    let entry = &expected["entries"][1]; // the one with a T0
    let serial = entry["serial"].as_str().unwrap();
    let secret = hex::decode(entry["secret"].as_str().unwrap()).unwrap();
    let params = Params {
        algorithm: HashAlg::Sha1,
        digits: 6,
        period: entry["period"].as_u64().unwrap(),
        t0: entry["t0"].as_u64().unwrap(),
    };
    let server = Server::start_in(&dir, &[]);
    let mut phone = server.phone(FOMA);
    let top = phone.get("/");
    let step1 = phone.follow(&top, '1');
    let form = phone.submit(&step1, &[("contract_id", TARO.0), ("password", TARO.1)]);
    let otp = params.code_at(&secret, now());
    let done = phone.submit(
        &form,
        &[
            ("serial", serial),
            ("otp", &otp),
            ("login_otp", "1"),
            ("transfer_password", TARO.2),
        ],
    );
    done.assert_contains("登録が完了しました")
        .assert_contains(serial);
}
