//! HTTP/1.1 as the clients speak it: request bytes, responses read whole, the percent
//! encodings of phone (Shift_JIS) and PC (UTF-8) forms, and the rule of a cookie jar.

use encoding_rs::SHIFT_JIS;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A response as the client received it.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The body decoded from Shift_JIS (empty if it is not valid Shift_JIS); see
    /// [`Resp::utf8`] for pages in UTF-8.
    pub text: String,
}

impl Resp {
    pub fn new(status: u16, headers: Vec<(String, String)>, body: Vec<u8>) -> Resp {
        let (text, _, bad) = SHIFT_JIS.decode(&body);
        let text = if bad {
            String::new()
        } else {
            text.into_owned()
        };
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    /// The same response with `text` read as UTF-8 (the branch console, JSON).
    pub fn utf8(mut self) -> Resp {
        self.text = String::from_utf8(self.body.clone()).unwrap_or_default();
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A request to send: the client adds nothing but `Host`.
pub struct Request<'a> {
    pub method: &'a str,
    pub target: &'a str,
    /// In order; `User-Agent` and `Cookie` included when the client sends them.
    pub headers: Vec<(String, String)>,
    /// With a body: its type (`Content-Length` is added).
    pub content_type: Option<&'a str>,
    pub body: &'a [u8],
    /// Otherwise `Connection: close`.
    pub keep_alive: bool,
}

impl Request<'_> {
    pub fn bytes(&self, addr: SocketAddr) -> Vec<u8> {
        let mut req = format!(
            "{} {} HTTP/1.1\r\nHost: {addr}\r\n",
            self.method, self.target
        );
        if !self.keep_alive {
            req.push_str("Connection: close\r\n");
        }
        for (k, v) in &self.headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some(ct) = self.content_type {
            req.push_str(&format!(
                "Content-Type: {ct}\r\nContent-Length: {}\r\n",
                self.body.len()
            ));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(self.body);
        bytes
    }
}

/// Sends `request` on a new connection and reads until the server closes it; `None` when the
/// server is gone (refused, or cut before a byte came back).
pub fn send(addr: SocketAddr, request: &[u8]) -> Option<Vec<u8>> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    s.write_all(request).ok()?;
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    Some(buf)
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

/// A whole response (head and the body up to the connection's end).
pub fn parse_response(buf: &[u8]) -> Option<Resp> {
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Some(Resp::new(status, headers, buf[split + 4..].to_vec()))
}

/// Keeps the cookie a response sets in `jar` (or forgets it when the response clears it).
pub fn keep_cookie(jar: &mut Option<String>, resp: &Resp) {
    if let Some(set) = resp.header("set-cookie") {
        let pair = set.split(';').next().unwrap_or("").to_owned();
        let cleared = set.to_ascii_lowercase().contains("max-age=0");
        *jar = if cleared { None } else { Some(pair) };
    }
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

/// A phone's form body (Shift_JIS).
pub fn encode_form(fields: &[(&str, &str)]) -> String {
    join_form(fields, sjis_urlencode)
}

/// A PC browser's form body (UTF-8).
pub fn encode_form_utf8(fields: &[(&str, &str)]) -> String {
    join_form(fields, utf8_urlencode)
}

fn join_form(fields: &[(&str, &str)], encode: fn(&str) -> String) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_encoded_as_each_browser_does() {
        assert_eq!(
            encode_form(&[("name", "信金 太郎")]),
            "name=%90M%8B%E0+%91%BE%98Y"
        );
        assert_eq!(
            encode_form_utf8(&[("a", "信"), ("b", "x y")]),
            "a=%E4%BF%A1&b=x%20y"
        );
    }

    #[test]
    fn a_response_is_read_whole() {
        let r = parse_response(
            b"HTTP/1.1 403 Forbidden\r\nSet-Cookie: sid=1; Max-Age=0\r\n\r\n\x82\xa0",
        )
        .unwrap();
        assert_eq!((r.status, r.text.as_str()), (403, "あ"));
        let mut jar = Some("sid=0".to_owned());
        keep_cookie(&mut jar, &r);
        assert_eq!(jar, None);
        assert!(parse_response(b"HTTP/1.1 200 OK\r\n").is_none());
    }

    #[test]
    fn requests_close_unless_kept_alive() {
        let addr: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let r = Request {
            method: "POST",
            target: "/x",
            headers: vec![("User-Agent".into(), "t".into())],
            content_type: Some("application/json"),
            body: b"{}",
            keep_alive: false,
        };
        assert_eq!(
            String::from_utf8(r.bytes(addr)).unwrap(),
            "POST /x HTTP/1.1\r\nHost: 127.0.0.1:80\r\nConnection: close\r\nUser-Agent: t\r\n\
             Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
        );
    }
}
