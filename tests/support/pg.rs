//! Gateways on PostgreSQL: the throw-away cluster (the same harness the store's unit tests
//! use) and pairs of gateway processes sharing one of its databases and one master key.

#![allow(dead_code)]

#[path = "../../src/store/pg/harness.rs"]
mod harness;

pub use harness::{bin_dir, name_for, shared, Cluster};

use super::{cli, Server};
use std::path::{Path, PathBuf};

/// A database of `cluster` for one test, with its master key and an API key for `ib-core`.
pub struct Db {
    pub tmp: tempfile::TempDir,
    pub url: String,
    pub key_file: PathBuf,
    pub api_key: String,
}

impl Db {
    pub fn new(cluster: &Cluster) -> Db {
        let tmp = tempfile::tempdir().expect("tempdir");
        let url = cluster.database(&harness::name_for(tmp.path()));
        let key_file = tmp.path().join("master.key");
        let path = key_file.to_str().expect("utf-8 path");
        let (ok, _, err) = cli(&["init-key", path]);
        assert!(ok, "init-key: {err}");
        let (ok, out, err) = cli(&[
            "api-key",
            "add",
            "ib-core",
            "--database",
            &url,
            "--key-file",
            path,
        ]);
        assert!(ok, "api-key add: {err}");
        Db {
            url,
            key_file,
            api_key: out.trim().to_owned(),
            tmp,
        }
    }

    /// A gateway on this database with its own data directory `name` (the first one started
    /// loads the demo bank into the empty database).
    pub fn gateway(&self, name: &str) -> Server {
        let dir = self.tmp.path().join(name);
        std::fs::create_dir_all(&dir).expect("data dir");
        Server::start_in(
            &dir,
            &[
                "--database",
                &self.url,
                "--key-file",
                self.key_file.to_str().expect("utf-8 path"),
            ],
        )
    }

    /// `keitai-gateway ARGS --database URL --key-file KEY`: (success, stdout + stderr).
    pub fn cli(&self, args: &[&str]) -> (bool, String) {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--database", &self.url, "--key-file"]);
        all.push(self.key_file.to_str().expect("utf-8 path"));
        let (ok, out, err) = cli(&all);
        (ok, out + &err)
    }

    /// `audit --verify` on this database passes; how many records it counted.
    pub fn assert_audit_intact(&self) -> u64 {
        let (ok, out) = self.cli(&["audit", "--verify"]);
        assert!(ok, "audit --verify: {out}");
        let n = out
            .split_whitespace()
            .find_map(|w| w.parse().ok())
            .unwrap_or_else(|| panic!("no count in {out:?}"));
        n
    }

    pub fn path(&self) -> &Path {
        self.tmp.path()
    }
}
