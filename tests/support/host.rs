//! What the bank's host and its operator hand the gateway in the operating tests: password
//! hashes in the host's schemes, a command typed with standard input, and the one-time
//! password `staff add` prints.

use argon2::password_hash::{PasswordHasher, SaltString};
use std::io::Write;
use std::path::Path;
use std::process::Stdio;

/// A bcrypt hash at the lowest cost: the scheme is what is tested, not its price.
pub fn bcrypt_of(password: &str) -> String {
    bcrypt::hash(password, 4).unwrap()
}

/// A PBKDF2-SHA256 PHC string (1,000 rounds, a random salt).
pub fn pbkdf2_of(password: &str) -> String {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).unwrap();
    let params = pbkdf2::Params {
        rounds: 1000,
        output_length: 32,
    };
    pbkdf2::Pbkdf2
        .hash_password_customized(
            password.as_bytes(),
            None,
            None,
            params,
            &SaltString::encode_b64(&salt).unwrap(),
        )
        .unwrap()
        .to_string()
}

/// `keitai-gateway ARGS` run in `cwd` by OS user `user` with `stdin` (the bank directory the
/// one-bank setup unless `--bank-dir` says another); (success, stdout, stderr), as
/// [`super::cli`] answers.
pub fn cli_with_stdin(
    cwd: &Path,
    user: &str,
    args: &[&str],
    stdin: &str,
) -> (bool, String, String) {
    let mut child = super::command()
        .args(args)
        .current_dir(cwd)
        .env("USER", user)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run keitai-gateway");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.as_bytes()).expect("write stdin");
    drop(input);
    let out = child.wait_with_output().expect("wait");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The one-time password `staff add` / `reset-password` printed.
pub fn initial_password(out: &str) -> String {
    out.lines()
        .find_map(|l| {
            l.split_once("must change it): ")
                .map(|(_, p)| p.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("no initial password in {out}"))
}

/// `keitai-gateway ARGS` as an operator on a fresh machine runs it: in `cwd` (outside the
/// repository), without the suite's `KEITAI_BANK_DIR`; (success, stdout + stderr).
pub fn cli_as_operator(cwd: &Path, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keitai-gateway"))
        .args(args)
        .current_dir(cwd)
        .env_remove("KEITAI_BANK_DIR")
        .env("USER", "ops-tester")
        .output()
        .expect("run keitai-gateway");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}
