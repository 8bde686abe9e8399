//! The gateway as operators run it: the release binary as a child process on a data directory
//! (the test kit's fixture), its log written straight to a file, its memory read from /proc.

use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::gateway::Stderr;

pub const BIN: &str = env!("CARGO_BIN_EXE_keitai-gateway");

pub struct Gateway(testkit::gateway::Gateway);

impl std::ops::Deref for Gateway {
    type Target = testkit::gateway::Gateway;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Gateway {
    pub fn start(data_dir: &Path, key_file: &Path) -> Gateway {
        Gateway::start_with(data_dir, key_file, &[])
    }

    /// [`Gateway::start`] with more `serve` flags (`--database URL`).
    pub fn start_with(data_dir: &Path, key_file: &Path, extra: &[&str]) -> Gateway {
        Gateway::start_banks(data_dir, key_file, &one_bank(), extra)
    }

    /// The gateway with the bank profiles of `bank_dir` (one bank, or `banks/`).
    pub fn start_banks(
        data_dir: &Path,
        key_file: &Path,
        bank_dir: &Path,
        extra: &[&str],
    ) -> Gateway {
        let mut serve = Command::new(BIN);
        serve
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .arg("--bank-dir")
            .arg(bank_dir)
            .arg("--key-file")
            .arg(key_file)
            .args(extra);
        Gateway(testkit::gateway::Gateway::spawn(
            serve,
            Stderr::File(data_dir.join("server.log")),
        ))
    }

    /// Stops the gateway at once (SIGKILL): the figures are taken, its data is not needed.
    pub fn stop(self) {
        self.0.kill();
    }
}
/// The one-bank setup the bench's gateways and commands use (its carrier networks are data/'s,
/// shared; data/ itself is the three-bank demo).
pub fn one_bank() -> PathBuf {
    crate::data::repo().join("data/one-bank")
}

/// The gateway's command line on the one-bank setup (`KEITAI_BANK_DIR`, which a command's own
/// `--bank-dir` overrides).
pub fn command() -> Command {
    let mut c = Command::new(BIN);
    c.env("KEITAI_BANK_DIR", one_bank());
    c
}

/// Runs the gateway's command line; panics when it fails. Returns stdout.
pub fn cli(args: &[&str], extra: &[&PathBuf]) -> String {
    let out = command()
        .args(args)
        .args(extra)
        .output()
        .expect("run keitai-gateway");
    assert!(
        out.status.success(),
        "keitai-gateway {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
