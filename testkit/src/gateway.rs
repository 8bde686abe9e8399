//! The gateway as a child process: `keitai-gateway serve` on a free loopback port, its address
//! read from the "listening on" line, its standard error collected, killed on drop.

use crate::http::{send, Request};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long a client waits for a log line before it fails.
pub const LOG_DEADLINE: Duration = Duration::from_secs(10);

/// Requested by [`Gateway::log`] to mark where the log stands; never a page of the gateway.
const LOG_MARK: &str = "/.testkit-log-mark";

/// Where the gateway's standard error goes.
pub enum Stderr {
    /// To a reader thread that keeps it for [`Gateway::log`] and [`Gateway::wait_log`], and
    /// copies it to this file for a look after a failure (the tests).
    Collect(PathBuf),
    /// Straight to this file, nothing in between (the benchmarks: a request's log line costs
    /// the gateway alone).
    File(PathBuf),
}

/// A running gateway. Dropping it kills the process.
pub struct Gateway {
    child: Child,
    pub addr: SocketAddr,
    /// From spawn to the "listening" line.
    pub startup: Duration,
    /// What the gateway printed before it listened (the demo credentials, or why not).
    pub banner: Vec<String>,
    log: Log,
}

enum Log {
    Collected(Arc<Collected>),
    File(PathBuf),
}

/// The log as the reader thread has collected it.
#[derive(Default)]
struct Collected {
    state: Mutex<LogText>,
    grew: Condvar,
}

#[derive(Default)]
struct LogText {
    text: String,
    /// The gateway closed its standard error: it is gone and the log is complete.
    closed: bool,
}

impl Gateway {
    /// Runs `serve` (a `Command` of the gateway binary with its `serve` arguments, listening on
    /// a loopback port, 0 for a free one) and waits for it to listen; panics, with its log, if
    /// it exits instead.
    pub fn spawn(mut serve: Command, stderr: Stderr) -> Gateway {
        let started = Instant::now();
        serve.stdout(Stdio::piped());
        let (log, copy) = match stderr {
            Stderr::Collect(copy) => {
                serve.stderr(Stdio::piped());
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&copy)
                    .unwrap_or_else(|e| panic!("log file {}: {e}", copy.display()));
                (Log::Collected(Arc::default()), Some(file))
            }
            Stderr::File(path) => {
                let file = std::fs::File::create(&path)
                    .unwrap_or_else(|e| panic!("log file {}: {e}", path.display()));
                serve.stderr(file);
                (Log::File(path), None)
            }
        };
        let mut child = serve.spawn().expect("spawn gateway");
        if let (Log::Collected(collected), Some(copy), Some(stderr)) =
            (&log, copy, child.stderr.take())
        {
            let collected = collected.clone();
            std::thread::spawn(move || collected.collect(stderr, copy));
        }
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut banner = Vec::new();
        let addr = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(rest) = line.strip_prefix("listening on http://") {
                        break rest.trim_end_matches('/').parse().expect("address");
                    }
                    banner.push(line);
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("gateway did not start:\n{}", log.whole());
                }
            }
        };
        let startup = started.elapsed();
        // Keep draining stdout so the gateway never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Gateway {
            child,
            addr,
            startup,
            banner,
            log,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The gateway's log, with the line of every request answered so far.
    ///
    /// The gateway writes a request's line before it answers; so this makes one request of its
    /// own and waits (at most [`LOG_DEADLINE`]) for that request's line. Lines from the same
    /// runtime worker are then in, but each worker writes its batch when it runs out of work, so
    /// a line from another worker may still follow: to look for a line, wait for it with
    /// [`Gateway::wait_log`]. The mark's line is left out. (Written straight to a file, the log is
    /// complete as it is.)
    pub fn log(&self) -> String {
        let collected = match &self.log {
            Log::File(path) => return std::fs::read_to_string(path).unwrap_or_default(),
            Log::Collected(c) => c,
        };
        let mark = format!("GET {LOG_MARK} ");
        let request = Request {
            method: "GET",
            target: LOG_MARK,
            headers: Vec::new(),
            content_type: None,
            body: b"",
            keep_alive: false,
        };
        let _ = send(self.addr, &request.bytes(self.addr));
        let log = collected.wait(|text| text.contains(&mark), "the log mark's line");
        log.lines()
            .filter(|l| !l.contains(&mark))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    /// Waits (at most [`LOG_DEADLINE`]) for a log line containing `needle`; returns the log.
    pub fn wait_log(&self, needle: &str) -> String {
        match &self.log {
            Log::Collected(c) => c.wait(|t| t.contains(needle), &format!("{needle:?} in the log")),
            Log::File(_) => panic!("wait_log needs Stderr::Collect"),
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

    /// Stops the gateway as an operator does (SIGTERM) and waits until it has exited.
    pub fn stop(mut self) {
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill(2) on our own child, not yet waited for, so the pid is still its own.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        let _ = self.child.wait();
    }

    /// Stops the gateway the hard way (SIGKILL) and waits for it.
    pub fn kill(mut self) {
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

impl Log {
    /// The whole log of a gateway that has exited.
    fn whole(&self) -> String {
        match self {
            Log::File(path) => std::fs::read_to_string(path).unwrap_or_default(),
            Log::Collected(c) => c.until_closed(),
        }
    }
}

impl Collected {
    /// The reader thread: appends each line as it arrives and wakes the waiters.
    fn collect(&self, stderr: impl Read, mut copy: std::fs::File) {
        let mut lines = BufReader::new(stderr);
        let mut line = String::new();
        loop {
            line.clear();
            match lines.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let _ = copy.write_all(line.as_bytes());
                    self.state.lock().expect("log lock").text.push_str(&line);
                    self.grew.notify_all();
                }
            }
        }
        self.state.lock().expect("log lock").closed = true;
        self.grew.notify_all();
    }

    /// Waits until `done` holds for the log; panics at the deadline or when the gateway has
    /// gone without it.
    fn wait(&self, done: impl Fn(&str) -> bool, what: &str) -> String {
        let deadline = Instant::now() + LOG_DEADLINE;
        let mut log = self.state.lock().expect("log lock");
        while !done(&log.text) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !log.closed && !left.is_zero(),
                "waited for {what}; the log:\n{}",
                log.text
            );
            log = self.grew.wait_timeout(log, left).expect("log lock").0;
        }
        log.text.clone()
    }

    fn until_closed(&self) -> String {
        let deadline = Instant::now() + LOG_DEADLINE;
        let mut log = self.state.lock().expect("log lock");
        while !log.closed {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            log = self.grew.wait_timeout(log, left).expect("log lock").0;
        }
        log.text.clone()
    }
}

/// Copies the directory tree `from` into `to`: directories and regular files, permissions kept
/// (a master key stays 0600).
pub fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read directory") {
        let entry = entry.expect("directory entry");
        let target = to.join(entry.file_name());
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            std::fs::create_dir_all(&target).expect("create directory");
            copy_dir(&entry.path(), &target);
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
        // Anything else (the admin socket a gateway left behind) is not data: not copied.
    }
}
