//! The gateway as operators run it: the release binary as a child process on a data directory,
//! its log in a file, its memory read from /proc.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_keitai-gateway");

pub struct Gateway {
    child: Child,
    pub addr: SocketAddr,
    /// From spawn to the "listening" line.
    pub startup: Duration,
}

impl Gateway {
    pub fn start(data_dir: &Path, key_file: &Path) -> Gateway {
        Gateway::start_with(data_dir, key_file, &[])
    }

    /// [`Gateway::start`] with more `serve` flags (`--database URL`).
    pub fn start_with(data_dir: &Path, key_file: &Path, extra: &[&str]) -> Gateway {
        let log = std::fs::File::create(data_dir.join("server.log")).expect("log file");
        let started = Instant::now();
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .arg("--bank-dir")
            .arg(crate::data::repo().join("data"))
            .arg("--key-file")
            .arg(key_file)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawn gateway");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(rest) = line.strip_prefix("listening on http://") {
                        break rest.trim_end_matches('/').parse().expect("address");
                    }
                }
                _ => {
                    let _ = child.kill();
                    let log =
                        std::fs::read_to_string(data_dir.join("server.log")).unwrap_or_default();
                    panic!("gateway did not start:\n{log}");
                }
            }
        };
        let startup = started.elapsed();
        std::thread::spawn(move || for _ in lines {});
        Gateway {
            child,
            addr,
            startup,
        }
    }

    /// (peak, current) resident set size in bytes, from /proc/PID/status.
    pub fn rss(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|kb| kb.parse::<u64>().ok())
                .map_or(0, |kb| kb * 1024)
        };
        (field("VmHWM:"), field("VmRSS:"))
    }

    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
/// Runs the gateway's command line; panics when it fails. Returns stdout.
pub fn cli(args: &[&str], extra: &[&PathBuf]) -> String {
    let out = Command::new(BIN)
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
