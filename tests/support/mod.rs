//! Test fixtures: a gateway process on a free port with its own data directory (killed on
//! drop), and a phone that speaks Shift_JIS over a raw socket, follows accesskeys, submits the
//! forms it is shown and keeps cookies only when the handset would.

#![allow(dead_code)]

use encoding_rs::SHIFT_JIS;
use keitai_gateway::inventory::Seed;
use std::cell::{Cell, RefCell};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub const FOMA: &str = "DoCoMo/2.0 P903i(c100;TB;W24H12)";
pub const AU: &str = "KDDI-SA31 UP.Browser/6.2.0.7.3.129 (GUI) MMP/2.0";
pub const SOFTBANK: &str = "SoftBank/1.0/910T/TJ001/SN123456789012345 Browser/NetFront/3.3 Profile/MIDP-2.0 Configuration/CLDC-1.1";

/// Demo customers (data/demo/customers.csv).
pub const TARO: (&str, &str, &str) = ("1000000001", "Pass1234", "Move1234");
/// Holds GMHW00000010 with 認証する (data/demo/registrations.csv).
pub const HANAKO: (&str, &str, &str) = ("1000000002", "Pass2345", "Move2345");
pub const ICHIRO: (&str, &str, &str) = ("1000000003", "Pass3456", "Move3456");
pub const JIRO: (&str, &str, &str) = ("1000000004", "Pass4567", "Move4567");
pub const HANAKO_TOKEN: &str = "GMHW00000010";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A running gateway. Dropping it kills the process.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    log: Arc<Log>,
    _tmp: Option<tempfile::TempDir>,
}

/// The gateway's standard error as a reader thread collects it (and copies it to
/// `DATA_DIR/server.log` for a look after a failure).
#[derive(Default)]
struct Log {
    text: Mutex<LogText>,
    grew: Condvar,
}

#[derive(Default)]
struct LogText {
    text: String,
    /// The gateway closed its standard error: it is gone and the log is complete.
    closed: bool,
}

/// How long a test waits for a log line before it fails.
const LOG_DEADLINE: Duration = Duration::from_secs(10);

/// Requested by [`Server::log`] to mark where the log stands; never a page of the gateway.
const LOG_MARK: &str = "/.test-log-mark";

impl Server {
    /// A gateway with the demo bank in a fresh data directory.
    pub fn start() -> Server {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut s = Server::start_in(tmp.path(), &[]);
        s._tmp = Some(tmp);
        s
    }

    /// A gateway on `data_dir` (loaded with the demo bank if empty), with extra flags.
    pub fn start_in(data_dir: &Path, extra: &[&str]) -> Server {
        Server::start_with_bank(data_dir, &repo().join("data"), extra)
    }

    /// A gateway on `data_dir` with the bank profile (and demo bank) from `bank_dir`. Its clock
    /// is the test's ([`now`], moved by [`set_now`]).
    pub fn start_with_bank(data_dir: &Path, bank_dir: &Path, extra: &[&str]) -> Server {
        let fresh = std::fs::read_dir(data_dir).is_ok_and(|mut d| d.next().is_none());
        if fresh
            && bank_dir == repo().join("data")
            && now() == epoch()
            && !extra.contains(&"--key-file")
        {
            copy_dir(demo_template(), data_dir);
        }
        Server::launch(data_dir, bank_dir, extra)
    }

    /// Starts the gateway process on `data_dir` as it is.
    fn launch(data_dir: &Path, bank_dir: &Path, extra: &[&str]) -> Server {
        let clock = data_dir.join("test-clock");
        assert!(
            write_clock(&clock, now()),
            "cannot write {}",
            clock.display()
        );
        CLOCKS.with(|c| c.borrow_mut().push(clock.clone()));
        let mut child = Command::new(env!("CARGO_BIN_EXE_keitai-gateway"))
            .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .arg("--bank-dir")
            .arg(bank_dir)
            .arg("--test-clock")
            .arg(&clock)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn gateway");
        let log = Arc::new(Log::default());
        let stderr = child.stderr.take().expect("stderr");
        let copy = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(data_dir.join("server.log"))
            .expect("log file");
        let collector = log.clone();
        std::thread::spawn(move || collector.collect(stderr, copy));
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
                    let _ = child.wait();
                    panic!("gateway did not start:\n{}", log.until_closed());
                }
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server {
            child,
            addr,
            data_dir: data_dir.to_owned(),
            log,
            _tmp: None,
        }
    }

    pub fn phone(&self, ua: &str) -> Phone {
        Phone::new(self.addr, ua)
    }

    /// The server's log, with the line of every request answered so far.
    ///
    /// The gateway writes a request's line before it answers, and the lines reach the reader
    /// thread in order; so this makes one request of its own and waits (at most
    /// [`LOG_DEADLINE`]) for that request's line: every line before it is then in. The mark's
    /// line is left out.
    pub fn log(&self) -> String {
        let mark = format!("GET {LOG_MARK} ");
        let _ = send(
            self.addr,
            format!(
                "GET {LOG_MARK} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                self.addr
            )
            .as_bytes(),
        );
        let log = self
            .log
            .wait(|text| text.contains(&mark), "the log mark's line");
        log.lines()
            .filter(|l| !l.contains(&mark))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    /// Waits (at most [`LOG_DEADLINE`]) for a log line containing `needle`; returns the log.
    pub fn wait_log(&self, needle: &str) -> String {
        self.log.wait(
            |text| text.contains(needle),
            &format!("{needle:?} in the log"),
        )
    }

    /// Stops the server as an operator does (SIGTERM) and waits until it has exited.
    pub fn stop(mut self) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("a pid");
        // SAFETY: kill(2) on our own child, which has not been waited for, so the pid is still
        // its own.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }

    /// Stops the server the hard way (SIGKILL) and waits for it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A data directory with the demo bank loaded, made once per run of the suite by the gateway
/// itself (`serve --demo` on an empty directory at the suite's time, stopped cleanly) and copied
/// for each test that starts a demo gateway on an empty directory: loading the demo bank hashes
/// 17 passwords with argon2, about 0.3 s of CPU that every such test would pay again.
fn demo_template() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        // Templates of earlier runs whose process is gone.
        for entry in std::fs::read_dir(&tmp).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("demo-bank-") {
                if !Path::new("/proc").join(pid).exists() {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let dir = tmp.join(format!("demo-bank-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("template directory");
        let saved = NOW.with(|n| n.replace(None));
        Server::launch(&dir, &repo().join("data"), &[]).stop();
        NOW.with(|n| n.set(saved));
        for own in ["test-clock", "server.log"] {
            let _ = std::fs::remove_file(dir.join(own));
        }
        dir
    })
}

/// Copies the directory tree `from` into `to`.
fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read template") {
        let entry = entry.expect("template entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            std::fs::create_dir_all(&target).expect("create directory");
            copy_dir(&entry.path(), &target);
        } else {
            // fs::copy keeps the permissions: the master key stays 0600.
            std::fs::copy(entry.path(), &target).expect("copy template file");
        }
    }
}

impl Log {
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
                    self.text.lock().expect("log lock").text.push_str(&line);
                    self.grew.notify_all();
                }
            }
        }
        self.text.lock().expect("log lock").closed = true;
        self.grew.notify_all();
    }

    /// Waits until `done` holds for the log (or the gateway is gone); panics at the deadline.
    fn wait(&self, done: impl Fn(&str) -> bool, what: &str) -> String {
        let deadline = Instant::now() + LOG_DEADLINE;
        let mut log = self.text.lock().expect("log lock");
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

    /// The whole log of a gateway that has exited.
    fn until_closed(&self) -> String {
        let deadline = Instant::now() + LOG_DEADLINE;
        let mut log = self.text.lock().expect("log lock");
        while !log.closed && Instant::now() < deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            log = self.grew.wait_timeout(log, left).expect("log lock").0;
        }
        log.text.clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response as the phone received it.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The body decoded from Shift_JIS (empty if it is not valid Shift_JIS).
    pub text: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts what every phone page must be: Shift_JIS Compact HTML within `budget` bytes.
    pub fn assert_chtml(&self, budget: usize) -> &Resp {
        assert_eq!(
            self.header("content-type"),
            Some("text/html; charset=Shift_JIS"),
            "content type"
        );
        let (_, had_errors) = SHIFT_JIS.decode_without_bom_handling(&self.body);
        assert!(!had_errors, "body is not valid Shift_JIS");
        assert!(
            self.body.len() <= budget,
            "page of {} bytes over budget {budget}:\n{}",
            self.body.len(),
            self.text
        );
        let lower = self.text.to_ascii_lowercase();
        for banned in [
            "<script", "<style", "<table", "<frame", "<iframe", " style=", "<link", "<img",
        ] {
            assert!(!lower.contains(banned), "{banned} in page:\n{}", self.text);
        }
        self
    }

    pub fn assert_contains(&self, needle: &str) -> &Resp {
        assert!(
            self.text.contains(needle),
            "{needle:?} not in page:\n{}",
            self.text
        );
        self
    }

    /// The `href` of the link with `accesskey`.
    pub fn link(&self, key: char) -> Option<String> {
        let marker = format!("accesskey=\"{key}\"");
        let at = self.text.find(&marker)?;
        let start = self.text[..at].rfind("<a href=\"")? + "<a href=\"".len();
        let end = start + self.text[start..].find('"')?;
        Some(unescape(&self.text[start..end]))
    }

    /// The first form: its action and hidden fields.
    pub fn form(&self) -> Option<(String, Vec<(String, String)>)> {
        let start = self.text.find("<form action=\"")? + "<form action=\"".len();
        let end = start + self.text[start..].find('"')?;
        let action = unescape(&self.text[start..end]);
        let form_end = self.text[start..]
            .find("</form>")
            .map_or(self.text.len(), |e| start + e);
        let mut hidden = Vec::new();
        let mut rest = &self.text[start..form_end];
        while let Some(i) = rest.find("<input type=\"hidden\" name=\"") {
            rest = &rest[i + "<input type=\"hidden\" name=\"".len()..];
            let name_end = rest.find('"')?;
            let name = rest[..name_end].to_owned();
            let v = rest.find("value=\"")? + "value=\"".len();
            let v_end = v + rest[v..].find('"')?;
            hidden.push((name, unescape(&rest[v..v_end])));
        }
        Some((action, hidden))
    }

    /// The `href` of the first link to `path` (for pages without accesskeys).
    pub fn link_to(&self, path: &str) -> Option<String> {
        let needle = format!("<a href=\"{path}");
        let start = self.text.find(&needle)? + "<a href=\"".len();
        let end = start + self.text[start..].find('"')?;
        Some(unescape(&self.text[start..end]))
    }

    /// The two-byte Shift_JIS codes in the user-defined area (F040–F9FC, where the carriers put
    /// their pictograms), read by walking the body as Shift_JIS.
    pub fn pictogram_codes(&self) -> Vec<u16> {
        let mut codes = Vec::new();
        let mut i = 0;
        while i < self.body.len() {
            let b = self.body[i];
            if (0x81..=0x9F).contains(&b) || (0xE0..=0xFC).contains(&b) {
                if (0xF0..=0xF9).contains(&b) {
                    if let Some(&t) = self.body.get(i + 1) {
                        codes.push(u16::from(b) << 8 | u16::from(t));
                    }
                }
                i += 2;
            } else {
                i += 1;
            }
        }
        codes
    }

    /// The 受付番号 on a receipt page.
    pub fn receipt_number(&self) -> Option<String> {
        let at = self.text.find("受付番号:<br>")? + "受付番号:<br>".len();
        Some(
            self.text[at..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect(),
        )
    }
}

fn unescape(s: &str) -> String {
    s.replace("&amp;", "&").replace("&quot;", "\"")
}

/// Percent-encodes `s` as Shift_JIS, as a phone's browser does.
pub fn sjis_urlencode(s: &str) -> String {
    let (bytes, _, _) = SHIFT_JIS.encode(s);
    let mut out = String::new();
    for &b in bytes.iter() {
        if b.is_ascii_alphanumeric() || b"-_.*".contains(&b) {
            out.push(b as char);
        } else if b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn encode_form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", sjis_urlencode(k), sjis_urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A handset: its User-Agent, extra headers, and a cookie jar if it keeps cookies.
pub struct Phone {
    addr: SocketAddr,
    pub ua: String,
    pub headers: Vec<(String, String)>,
    /// i-mode ID: sent as X-DCMGUID only to URLs with `guid=ON`, as i-mode does.
    pub guid: Option<String>,
    pub keeps_cookies: bool,
    pub cookie: Option<String>,
}

impl Phone {
    pub fn new(addr: SocketAddr, ua: &str) -> Phone {
        let keeps_cookies = !ua.starts_with("DoCoMo") || ua.contains("c500");
        Phone {
            addr,
            ua: ua.to_owned(),
            headers: Vec::new(),
            guid: None,
            keeps_cookies,
            cookie: None,
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Phone {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// An i-mode phone with this i-mode ID (sent only where the URL says `guid=ON`).
    pub fn with_guid(mut self, guid: &str) -> Phone {
        self.guid = Some(guid.to_owned());
        self
    }

    /// Sends raw request bytes and reads the response.
    pub fn raw(&self, request: &[u8]) -> Resp {
        self.try_raw(request).expect("a response")
    }

    /// Like [`Phone::raw`], but `None` when the server is gone (connection refused or cut).
    pub fn try_raw(&self, request: &[u8]) -> Option<Resp> {
        parse_response(&send(self.addr, request)?)
    }

    fn request(&mut self, method: &str, target: &str, body: &[u8]) -> Resp {
        self.try_request(method, target, body).expect("a response")
    }

    fn try_request(&mut self, method: &str, target: &str, body: &[u8]) -> Option<Resp> {
        let mut headers = self.headers.clone();
        if let (Some(guid), true) = (&self.guid, target.contains("guid=ON")) {
            headers.push(("X-DCMGUID".into(), guid.clone()));
        }
        if let (true, Some(c)) = (self.keeps_cookies, &self.cookie) {
            headers.push(("Cookie".into(), c.clone()));
        }
        let bytes = request_bytes(self.addr, method, target, &self.ua, &headers, body);
        let resp = self.try_raw(&bytes)?;
        if self.keeps_cookies {
            keep_cookie(&mut self.cookie, &resp);
        }
        Some(resp)
    }

    pub fn try_get(&mut self, target: &str) -> Option<Resp> {
        self.try_request("GET", target, b"")
    }

    /// Like [`Phone::submit`], but `None` when the server is gone.
    pub fn try_submit(&mut self, page: &Resp, fields: &[(&str, &str)]) -> Option<Resp> {
        let (action, hidden) = page.form()?;
        let mut all: Vec<(&str, &str)> = hidden
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        all.extend_from_slice(fields);
        self.try_request("POST", &action, encode_form(&all).as_bytes())
    }

    pub fn get(&mut self, target: &str) -> Resp {
        self.request("GET", target, b"")
    }

    pub fn post_raw(&mut self, target: &str, body: &[u8]) -> Resp {
        self.request("POST", target, body)
    }

    pub fn post(&mut self, target: &str, fields: &[(&str, &str)]) -> Resp {
        self.post_raw(target, encode_form(fields).as_bytes())
    }

    /// Follows the link with `key` on `page`.
    pub fn follow(&mut self, page: &Resp, key: char) -> Resp {
        let href = page
            .link(key)
            .unwrap_or_else(|| panic!("no accesskey {key} on page:\n{}", page.text));
        self.get(&href)
    }

    /// Submits the first form of `page` with its hidden fields plus `fields`.
    pub fn submit(&mut self, page: &Resp, fields: &[(&str, &str)]) -> Resp {
        let (action, hidden) = page
            .form()
            .unwrap_or_else(|| panic!("no form on page:\n{}", page.text));
        let mut all: Vec<(&str, &str)> = hidden
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        all.extend_from_slice(fields);
        self.post(&action, &all)
    }
}

/// An HTTP/1.1 request, `Connection: close`, with `headers` and, for a POST, a form body.
fn request_bytes(
    addr: SocketAddr,
    method: &str,
    target: &str,
    ua: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Vec<u8> {
    let mut req = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: {ua}\r\nConnection: close\r\n"
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if method == "POST" {
        req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Sends `request` on a new connection and reads until the server closes it; `None` when the
/// server is gone.
fn send(addr: SocketAddr, request: &[u8]) -> Option<Vec<u8>> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    s.write_all(request).ok()?;
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    Some(buf)
}

/// Keeps the cookie a response sets (or forgets it when the response clears it).
fn keep_cookie(jar: &mut Option<String>, resp: &Resp) {
    if let Some(set) = resp.header("set-cookie") {
        let pair = set.split(';').next().unwrap_or("").to_owned();
        let cleared = set.to_ascii_lowercase().contains("max-age=0");
        *jar = if cleared { None } else { Some(pair) };
    }
}

fn parse_response(buf: &[u8]) -> Option<Resp> {
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let body = buf[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let (text, _, bad) = SHIFT_JIS.decode(&body);
    Some(Resp {
        status,
        headers,
        text: if bad {
            String::new()
        } else {
            text.into_owned()
        },
        body,
    })
}

/// A PSKC fixture. python-pskc writes them (tests/fixtures/pskc/make_fixtures.py): `.ci/run`
/// makes a fresh set under target/ and names its directory in `PSKC_FIXTURES` (relative to the
/// repository); without it the tests read the set committed in tests/fixtures/pskc/, which the
/// generator never overwrites. The RFC 6030 example is typed from the RFC and always committed.
pub fn pskc_fixture(name: &str) -> PathBuf {
    let committed = repo().join("tests/fixtures/pskc");
    let dir = match std::env::var_os("PSKC_FIXTURES") {
        Some(dir) if name != "rfc6030_figure6.pskcxml" => repo().join(dir),
        _ => committed,
    };
    let path = dir.join(name);
    assert!(path.is_file(), "PSKC fixture {} is missing", path.display());
    path
}

/// The demo inventory, for computing codes as a token would show them.
pub fn inventory() -> Vec<Seed> {
    keitai_gateway::inventory::read(&repo().join("data/demo/tokens.csv")).expect("demo inventory")
}

/// The suite's time, the same in every test: the start of the minute the suite started in.
/// The gateways the tests start keep this time (a clock file they read, see
/// `serve --test-clock`) until a test moves it, so a code computed for it stays the code a
/// token shows, however long the test takes.
fn epoch() -> u64 {
    static EPOCH: OnceLock<u64> = OnceLock::new();
    *EPOCH.get_or_init(|| {
        let real = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("the system clock is after 1970")
            .as_secs();
        real - real % 60
    })
}

thread_local! {
    /// This test's time once it moved it (each test runs on a thread of its own).
    static NOW: Cell<Option<u64>> = const { Cell::new(None) };
    /// The clock files of the gateways this test started.
    static CLOCKS: RefCell<Vec<PathBuf>> = const { RefCell::new(Vec::new()) };
}

/// The test's time: what its gateways read as "now".
pub fn now() -> u64 {
    NOW.with(Cell::get).unwrap_or_else(epoch)
}

/// Sets the test's time, for the test and every gateway it started.
pub fn set_now(unix: u64) {
    NOW.with(|n| n.set(Some(unix)));
    CLOCKS.with(|c| {
        for path in c.borrow().iter() {
            let _ = write_clock(path, unix);
        }
    });
}

/// Moves the test's time on by `secs`.
pub fn advance(secs: u64) {
    set_now(now() + secs);
}

/// Writes the clock file: a new file renamed over the old, so the gateway reads either time
/// whole. A gateway whose data directory is gone is skipped.
fn write_clock(path: &Path, unix: u64) -> bool {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, format!("{unix}\n")).is_ok() && std::fs::rename(&tmp, path).is_ok()
}

/// The code `serial` shows `steps_ahead` steps from now (1 = the next code, still within skew).
pub fn code(serial: &str, steps_ahead: u64) -> String {
    let t = inventory()
        .into_iter()
        .find(|t| t.serial == serial)
        .unwrap_or_else(|| panic!("{serial} not in demo inventory"));
    t.code_at(now() + steps_ahead * t.params.period)
}

/// A six-digit code that is not `serial`'s code anywhere in the skew window.
pub fn wrong_code(serial: &str) -> String {
    let near: Vec<String> = (0..3).map(|s| code(serial, s)).collect();
    let t = inventory()
        .into_iter()
        .find(|t| t.serial == serial)
        .unwrap();
    let before = t.code_at(now() - t.params.period);
    (0..)
        .map(|i: u32| format!("{:06}", (i * 111_111) % 1_000_000))
        .find(|c| !near.contains(c) && *c != before)
        .unwrap()
}

/// Runs the gateway's command line; returns (success, stdout, stderr).
pub fn cli(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_keitai-gateway"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run keitai-gateway");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Demo branch staff (data/demo/staff.csv): staff ID, password.
pub const CLERK_HONTEN: (&str, &str) = ("C0011", "Clerk0011");
pub const CLERK_EKIMAE: (&str, &str) = ("C0021", "Clerk0021");
pub const SUPER_HONTEN: (&str, &str) = ("S0012", "Super0012");
pub const SUPER_EKIMAE: (&str, &str) = ("S0022", "Super0022");
pub const SUPER_HIGASHI: (&str, &str) = ("S0031", "Super0031");

/// Percent-encodes `s` as UTF-8, as a PC browser does.
pub fn utf8_urlencode(s: &str) -> String {
    let mut out = String::new();
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-_.*".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A response read as UTF-8 (the branch console).
fn parse_response_utf8(buf: &[u8]) -> Resp {
    let mut r = parse_response(buf).expect("a response");
    r.text = String::from_utf8(r.body.clone()).unwrap_or_default();
    r
}

/// A member of branch staff at a PC browser: UTF-8 forms, the session cookie (kept although it
/// is marked Secure: the tests speak plain HTTP on loopback), and the anti-forgery value of the
/// last page, which every post sends back.
pub struct Staff {
    addr: SocketAddr,
    pub cookie: Option<String>,
    pub csrf: Option<String>,
}

impl Staff {
    pub fn new(addr: SocketAddr) -> Staff {
        Staff {
            addr,
            cookie: None,
            csrf: None,
        }
    }

    /// Opens the sign-in page and signs in; panics unless the home page follows.
    pub fn sign_in(addr: SocketAddr, who: (&str, &str)) -> Staff {
        let mut s = Staff::new(addr);
        s.get("/branch/");
        let home = s.post("/branch/login", &[("staff_id", who.0), ("password", who.1)]);
        assert_eq!(home.status, 200, "sign-in of {}:\n{}", who.0, home.text);
        home.assert_contains("ホーム");
        s
    }

    fn request(&mut self, method: &str, target: &str, body: &[u8]) -> Resp {
        let headers: Vec<(String, String)> = self
            .cookie
            .iter()
            .map(|c| ("Cookie".into(), c.clone()))
            .collect();
        let ua = "Mozilla/5.0 (Windows NT 10.0)";
        let bytes = request_bytes(self.addr, method, target, ua, &headers, body);
        let resp = parse_response_utf8(&send(self.addr, &bytes).expect("connect"));
        keep_cookie(&mut self.cookie, &resp);
        if let Some(csrf) = resp.csrf() {
            self.csrf = Some(csrf);
        }
        resp
    }

    pub fn get(&mut self, target: &str) -> Resp {
        self.request("GET", target, b"")
    }

    /// Posts `fields` plus the current anti-forgery value.
    pub fn post(&mut self, target: &str, fields: &[(&str, &str)]) -> Resp {
        let csrf = self.csrf.clone().unwrap_or_default();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_exact(target, &all)
    }

    /// Posts exactly `fields` (no anti-forgery value added).
    pub fn post_exact(&mut self, target: &str, fields: &[(&str, &str)]) -> Resp {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", utf8_urlencode(k), utf8_urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.request("POST", target, body.as_bytes())
    }
}

impl Resp {
    /// The anti-forgery value of the page's forms.
    pub fn csrf(&self) -> Option<String> {
        let marker = "name=\"csrf\" value=\"";
        let start = self.text.find(marker)? + marker.len();
        let end = start + self.text[start..].find('"')?;
        Some(self.text[start..end].to_owned())
    }

    pub fn assert_status(&self, status: u16) -> &Resp {
        assert_eq!(self.status, status, "status; page:\n{}", self.text);
        self
    }
}

/// Runs the gateway binary with `args` (a command-line tool) and returns its standard output.
pub fn run_cli(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_keitai-gateway"))
        .args(args)
        .output()
        .expect("run keitai-gateway");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}
