//! README's "Operating it", walked as written, without `--demo`, through the real binary and
//! its sockets: the bank profile and the master key outside the data directory, the vendor's
//! tokens, the host's customers (bcrypt and PBKDF2 hashes), a customer's 利用開始 on a phone,
//! staff added by command signing in and changing their initial passwords, a 利用中止届
//! recorded by a clerk and approved by a supervisor, `api-key add`, `import-tokens` and
//! `audit --verify` while the gateway serves, and a backup restored and verified.

use crate::support::*;
use std::path::{Path, PathBuf};

/// The layout README's walk-through uses, under one temporary root.
struct Machine {
    _root: tempfile::TempDir,
    /// `/etc/keitai-gateway`.
    etc: PathBuf,
    /// `/var/lib/keitai-gateway`.
    data: PathBuf,
}

impl Machine {
    fn new() -> Machine {
        let root = tempfile::tempdir().unwrap();
        Machine {
            etc: root.path().join("etc/keitai-gateway"),
            data: root.path().join("var/lib/keitai-gateway"),
            _root: root,
        }
    }

    fn key(&self) -> PathBuf {
        self.etc.join("master.key")
    }

    fn bank_dir(&self) -> PathBuf {
        self.etc.join("bank")
    }

    /// `keitai-gateway ARGS` as the operator types it (the data directory and key file given
    /// where README gives them), with `stdin`; (success, stdout and stderr).
    fn run(&self, args: &[&str], stdin: &str) -> (bool, String) {
        {
            let (ok, out, err) = cli_with_stdin(self._root.path(), "walk-operator", args, stdin);
            (ok, out + &err)
        }
    }

    /// A command on the bank's database (`--data-dir`, `--key-file`, `--bank-dir` added).
    fn admin(&self, args: &[&str], stdin: &str) -> String {
        let mut all: Vec<&str> = args.to_vec();
        let (data, key, bank) = (self.data.clone(), self.key(), self.bank_dir());
        all.extend([
            "--data-dir",
            data.to_str().unwrap(),
            "--key-file",
            key.to_str().unwrap(),
            "--bank-dir",
            bank.to_str().unwrap(),
        ]);
        let (ok, out) = self.run(&all, stdin);
        assert!(ok, "{all:?}:\n{out}");
        out
    }
}

/// The customer the walk brings in from the host: contract ID, login and transfer password.
const KEIKO: (&str, &str, &str) = ("3000000001", "Keiko-login1", "Keiko-move1");
const KEIKO_TOKEN: &str = "GMHW00000004";

/// First sign-in with an initial password: only the change is open; then the change.
fn sign_in_and_change(addr: std::net::SocketAddr, id: &str, initial: &str, chosen: &str) -> Staff {
    let mut s = Staff::new(addr);
    s.get("/branch/");
    s.post("/branch/login", &[("staff_id", id), ("password", initial)])
        .assert_status(200)
        .assert_contains("パスワードの変更");
    s.get("/branch/lists/pending").assert_status(403);
    s.post(
        "/branch/password",
        &[("current", initial), ("new", chosen), ("confirm", chosen)],
    )
    .assert_status(200)
    .assert_contains("パスワードを変更しました");
    s
}

fn copy_profile(to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    // README: "Copy data/one-bank/bank.toml and data/carrier_networks.toml".
    std::fs::copy(one_bank().join("bank.toml"), to.join("bank.toml")).unwrap();
    std::fs::copy(carrier_networks(), to.join("carrier_networks.toml")).unwrap();
}

#[test]
fn the_readme_walk_from_an_empty_machine_to_serving_works_as_written() {
    let m = Machine::new();
    // Master key outside the data directory: init-key makes the missing directories.
    let (ok, out) = m.run(&["init-key", m.key().to_str().unwrap()], "");
    assert!(ok && m.key().exists(), "{out}");
    assert!(!m.key().starts_with(&m.data));
    // Bank profile.
    copy_profile(&m.bank_dir());
    // Tokens (the vendor's CSV), then the host's export: bcrypt and PBKDF2.
    let tokens = one_bank().join("demo/tokens.csv");
    let out = m.admin(&["import-tokens", tokens.to_str().unwrap()], "");
    assert!(out.contains("loaded"), "{out}");
    let export = m._root.path().join("ib-export.csv");
    std::fs::write(
        &export,
        format!(
            "\u{feff}contract_id,name,login_password_hash,transfer_password_hash,status\r\n\
             {},信金恵子,{},\"{}\",active\r\n",
            KEIKO.0,
            bcrypt::hash(KEIKO.1, 4).unwrap(),
            pbkdf2_of(KEIKO.2)
        ),
    )
    .unwrap();
    let dry = m.admin(&["customers", "import", "ib-export.csv", "--dry-run"], "");
    assert!(dry.contains("would be") && dry.contains("1 added"), "{dry}");
    let out = m.admin(&["customers", "import", "ib-export.csv"], "");
    assert!(out.contains("loaded") && out.contains("1 added"), "{out}");
    // Staff: a clerk and a supervisor, initial passwords printed once.
    let clerk = m.admin(
        &[
            "staff",
            "add",
            "C0101",
            "--name",
            "窓口係",
            "--branch",
            "001",
            "--role",
            "clerk",
        ],
        "",
    );
    let supervisor = m.admin(
        &[
            "staff",
            "add",
            "S0012",
            "--name",
            "本店課長",
            "--branch",
            "001",
            "--role",
            "supervisor",
        ],
        "",
    );
    let (clerk_pw, super_pw) = (initial_password(&clerk), initial_password(&supervisor));

    // Serve, without --demo.
    let server = Server::start_plain_with_bank(
        &m.data,
        &m.bank_dir(),
        &["--key-file", m.key().to_str().unwrap()],
    );
    assert!(
        !server.banner.iter().any(|l| l.contains("Demo")),
        "{:?}",
        server.banner
    );
    // The customer's 利用開始 on a phone.
    let mut phone = server.phone(FOMA);
    let top = phone.get("/");
    let step1 = phone.follow(&top, '1');
    let form = phone.submit(&step1, &[("contract_id", KEIKO.0), ("password", KEIKO.1)]);
    form.assert_contains("シリアル番号");
    let otp = code(KEIKO_TOKEN, 0);
    phone
        .submit(
            &form,
            &[
                ("serial", KEIKO_TOKEN),
                ("otp", &otp),
                ("login_otp", "0"),
                ("transfer_password", KEIKO.2),
            ],
        )
        .assert_contains("ワンタイムパスワードの登録が完了しました");

    // Staff sign in, change their initial passwords; a 利用中止届 recorded and approved.
    let mut c = sign_in_and_change(server.addr, "C0101", &clerk_pw, "Clerk-chosen-1");
    c.post(
        "/branch/forms",
        &[
            ("contract_id", KEIKO.0),
            ("form_no", "F-2001"),
            ("received_on", "2026-12-01"),
            ("branch_code", "001"),
            ("identity_checked", "1"),
        ],
    )
    .assert_status(200);
    let mut s = sign_in_and_change(server.addr, "S0012", &super_pw, "Super-chosen-1");
    s.post("/branch/forms/approve", &[("form_no", "F-2001")])
        .assert_status(200)
        .assert_contains("利用中止にしました");

    // While serving: an API key, a token import (encrypted PSKC, key on standard input) and
    // the audit chain's check, each through the admin socket.
    let key_out = m.admin(&["api-key", "add", "ib-host"], "");
    assert!(key_out.contains("ib-host"), "{key_out}");
    let pskc = pskc_fixture("encrypted.pskcxml");
    let out = m.admin(
        &["import-tokens", pskc.to_str().unwrap(), "--psk-file", "-"],
        "12345678901234567890123456789012\n",
    );
    assert!(out.contains("loaded 3 tokens"), "{out}");
    let out = m.admin(&["audit", "--verify"], "");
    assert!(out.contains("audit chain intact"), "{out}");
    // A backup while serving.
    let backups = m._root.path().join("var/backups/keitai");
    let day = backups.join("2026-12-01");
    let out = m.admin(&["backup", day.to_str().unwrap()], "");
    assert!(out.contains("backup written"), "{out}");
    server.stop();

    // Restore into a fresh data directory and verify it there.
    let restored = m._root.path().join("restored");
    let key = m.key();
    let (ok, out) = m.run(
        &[
            "restore",
            day.to_str().unwrap(),
            "--data-dir",
            restored.to_str().unwrap(),
            "--key-file",
            key.to_str().unwrap(),
        ],
        "",
    );
    assert!(ok, "{out}");
    let (ok, out) = m.run(
        &[
            "audit",
            "--verify",
            "--data-dir",
            restored.to_str().unwrap(),
            "--key-file",
            key.to_str().unwrap(),
        ],
        "",
    );
    assert!(ok, "{out}");
    let (ok, out) = m.run(
        &[
            "customers",
            "show",
            KEIKO.0,
            "--data-dir",
            restored.to_str().unwrap(),
            "--key-file",
            key.to_str().unwrap(),
            "--bank-dir",
            m.bank_dir().to_str().unwrap(),
        ],
        "",
    );
    assert!(
        ok && out.contains("信金恵子") && out.contains("利用中止届\tF-2001"),
        "{out}"
    );
    assert!(!out.contains('$'), "no hash shown: {out}");
}
