//! Test fixtures: a gateway process on a free port with its own data directory (killed on
//! drop), and a phone that speaks Shift_JIS over a raw socket, follows accesskeys, submits the
//! forms it is shown and keeps cookies only when the handset would.

#![allow(dead_code)]

pub mod webdriver;

use encoding_rs::SHIFT_JIS;
use keitai_gateway::inventory::Seed;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

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
    /// What the gateway printed before it listened (the demo credentials, or why not).
    pub banner: Vec<String>,
    _tmp: Option<tempfile::TempDir>,
}

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

    /// A gateway on `data_dir` with the bank profile (and demo bank) from `bank_dir`.
    pub fn start_with_bank(data_dir: &Path, bank_dir: &Path, extra: &[&str]) -> Server {
        let mut flags = vec!["--demo"];
        flags.extend_from_slice(extra);
        Server::spawn(data_dir, bank_dir, &flags)
    }

    /// A gateway on `data_dir` as a bank runs it: no `--demo`, the repository's bank profile.
    pub fn start_plain(data_dir: &Path, extra: &[&str]) -> Server {
        Server::spawn(data_dir, &repo().join("data"), extra)
    }

    fn spawn(data_dir: &Path, bank_dir: &Path, extra: &[&str]) -> Server {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(data_dir.join("server.log"))
            .expect("log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_keitai-gateway"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .arg("--bank-dir")
            .arg(bank_dir)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawn gateway");
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
                    let log =
                        std::fs::read_to_string(data_dir.join("server.log")).unwrap_or_default();
                    panic!("gateway did not start:\n{log}");
                }
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server {
            child,
            addr,
            data_dir: data_dir.to_owned(),
            banner,
            _tmp: None,
        }
    }

    pub fn phone(&self, ua: &str) -> Phone {
        Phone::new(self.addr, ua)
    }

    /// The server's log so far. The gateway writes log lines from a thread of their own, so
    /// this waits until the file stops growing (at most two seconds).
    pub fn log(&self) -> String {
        let read = || std::fs::read_to_string(self.data_dir.join("server.log")).unwrap_or_default();
        let mut last = read();
        for _ in 0..40 {
            std::thread::sleep(Duration::from_millis(50));
            let now = read();
            if now == last {
                break;
            }
            last = now;
        }
        last
    }

    /// Whether the request log has a line for `method path` with `status` (the logical status:
    /// a phone error page is sent as 200 and logged with its own).
    pub fn logged(&self, method: &str, path: &str, status: u16) -> bool {
        let line = format!(" {method} {path} {status} ");
        self.log().lines().any(|l| l.contains(&line))
    }

    /// Stops the server the hard way (SIGKILL) and waits for it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

    /// A phone error page: sent with status 200 (EZweb handsets hide the bodies of 4xx/5xx
    /// answers), Shift_JIS cHTML, saying `needle`. The logical status is in the log, see
    /// [`Server::logged`].
    pub fn assert_phone_error(&self, needle: &str) -> &Resp {
        assert_eq!(
            self.status, 200,
            "phone error pages go out as 200:\n{}",
            self.text
        );
        assert_eq!(
            self.header("content-type"),
            Some("text/html; charset=Shift_JIS")
        );
        self.assert_chtml(5000).assert_contains(needle)
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

/// Sends `request` (a head, perhaps with part of a body) and reads one response without
/// waiting for the server to close: what a client sees while its body is still owed. Panics if
/// no whole response comes within `wait`.
pub fn exchange_partial(addr: SocketAddr, request: &[u8], wait: Duration) -> Resp {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(wait)).expect("timeout");
    s.write_all(request).expect("send");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(split) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..split]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= split + 4 + length {
                break;
            }
        }
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => panic!("no whole response within {wait:?} ({e}); got {buf:?}"),
        }
    }
    parse_response(&buf).unwrap_or_else(|| panic!("not a response: {buf:?}"))
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

/// The demo inventory, for computing codes as a token would show them.
pub fn inventory() -> Vec<Seed> {
    keitai_gateway::inventory::read(&repo().join("data/demo/tokens.csv")).expect("demo inventory")
}

pub fn now() -> u64 {
    keitai_gateway::clock::now_unix()
}

/// On a test's first code: waits for the next time step when the current one is about to end,
/// so that the seconds the test takes after it fall in one step (a code that is "used" stays
/// used, a code that is "next" stays next). Each test runs on its own thread.
fn settle(period: u64) {
    thread_local!(static SETTLED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
    if SETTLED.with(|s| s.replace(true)) {
        return;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let into_step = now.as_secs_f64() % period as f64;
    let left = period as f64 - into_step;
    if left < 12.0 {
        std::thread::sleep(Duration::from_secs_f64(left + 0.2));
    }
}

/// The code `serial` shows `steps_ahead` steps from now (1 = the next code, still within skew).
pub fn code(serial: &str, steps_ahead: u64) -> String {
    let t = inventory()
        .into_iter()
        .find(|t| t.serial == serial)
        .unwrap_or_else(|| panic!("{serial} not in demo inventory"));
    settle(t.params.period);
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

/// Opens the store of a stopped gateway's `data_dir` (with its master key) for a test to
/// change, and flushes it afterwards.
pub fn with_store<T>(data_dir: &Path, f: impl FnOnce(&keitai_gateway::store::Store) -> T) -> T {
    let sealer = keitai_gateway::seal::Sealer::load(&data_dir.join("master.key")).expect("key");
    let store = keitai_gateway::store::Store::open(&data_dir.join("db"), sealer).expect("store");
    let out = f(&store);
    store.flush().expect("flush");
    out
}

/// Makes `serial`'s sealed seed unopenable, so every OTP check of it is a storage failure.
pub fn damage_seed(data_dir: &Path, serial: &str) {
    with_store(data_dir, |store| {
        let mut token = store.token(serial).expect("read").expect("token");
        token.secret_sealed = data_encoding::BASE64.encode(&[0u8; 48]);
        store.write(|tx| tx.put_token(&token)).expect("write");
    });
}

/// Makes staff `staff_id`'s record unreadable, so their sign-in is a storage failure.
pub fn damage_staff(data_dir: &Path, staff_id: &str) {
    // The store's API writes only whole records, so the damage is done in the engine's own
    // files, as a failing disk would (sled: the `staff` tree, JSON records).
    let db = sled::open(data_dir.join("db")).expect("open the stopped gateway's database");
    let staff = db.open_tree("staff").expect("staff tree");
    staff
        .insert(staff_id.as_bytes(), &b"\"not a staff record\""[..])
        .expect("write");
    db.flush().expect("flush");
}
