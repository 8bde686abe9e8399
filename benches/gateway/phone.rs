//! A simulated handset: one keep-alive HTTP/1.1 connection (reopened when the server closes
//! it), Shift_JIS forms, cookies only when the handset keeps them, and a count of every byte
//! sent and received (headers included) for the bytes-on-the-air figures.

use encoding_rs::SHIFT_JIS;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

pub const FOMA: &str = "DoCoMo/2.0 P903i(c100;TB;W24H12)";
pub const AU: &str = "KDDI-SA31 UP.Browser/6.2.0.7.3.129 (GUI) MMP/2.0";
pub const SOFTBANK: &str = "SoftBank/1.0/910T/TJ001/SN123456789012345 Browser/NetFront/3.3 Profile/MIDP-2.0 Configuration/CLDC-1.1";

#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The body decoded from Shift_JIS (or as JSON text for the API).
    pub text: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
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

pub struct Phone {
    addr: SocketAddr,
    conn: Option<BufReader<TcpStream>>,
    pub ua: &'static str,
    keeps_cookies: bool,
    cookie: Option<String>,
    /// Extra request headers (the API's Authorization).
    pub headers: Vec<(String, String)>,
    /// Bytes on the wire, both ways, headers included.
    pub sent: u64,
    pub received: u64,
    /// How long each request took, first byte sent to last byte received.
    pub latencies: Vec<Duration>,
}

impl Phone {
    pub fn new(addr: SocketAddr, ua: &'static str) -> Phone {
        Phone {
            addr,
            conn: None,
            ua,
            keeps_cookies: !ua.starts_with("DoCoMo") || ua.contains("c500"),
            cookie: None,
            headers: Vec::new(),
            sent: 0,
            received: 0,
            latencies: Vec::new(),
        }
    }

    pub fn reset_counts(&mut self) {
        self.sent = 0;
        self.received = 0;
    }

    pub async fn get(&mut self, target: &str) -> Result<Resp, String> {
        self.request("GET", target, None, b"").await
    }

    pub async fn post_form(
        &mut self,
        target: &str,
        fields: &[(&str, &str)],
    ) -> Result<Resp, String> {
        let body = encode_form(fields);
        self.request(
            "POST",
            target,
            Some("application/x-www-form-urlencoded"),
            body.as_bytes(),
        )
        .await
    }

    pub async fn post_json(&mut self, target: &str, json: &str) -> Result<Resp, String> {
        self.request("POST", target, Some("application/json"), json.as_bytes())
            .await
    }

    /// Follows the link with `key` on `page`.
    pub async fn follow(&mut self, page: &Resp, key: char) -> Result<Resp, String> {
        let href = page
            .link(key)
            .ok_or_else(|| format!("no accesskey {key} on page:\n{}", page.text))?;
        self.get(&href).await
    }

    /// Submits the first form of `page` with its hidden fields plus `fields`.
    pub async fn submit(&mut self, page: &Resp, fields: &[(&str, &str)]) -> Result<Resp, String> {
        let (action, hidden) = page
            .form()
            .ok_or_else(|| format!("no form on page:\n{}", page.text))?;
        let mut all: Vec<(&str, &str)> = hidden
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        all.extend_from_slice(fields);
        self.post_form(&action, &all).await
    }

    async fn request(
        &mut self,
        method: &str,
        target: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Resp, String> {
        let mut req = format!(
            "{method} {target} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {}\r\n",
            self.addr, self.ua
        );
        for (k, v) in &self.headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if let (true, Some(c)) = (self.keeps_cookies, &self.cookie) {
            req.push_str(&format!("Cookie: {c}\r\n"));
        }
        if let Some(ct) = content_type {
            req.push_str(&format!(
                "Content-Type: {ct}\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);
        let started = Instant::now();
        // A kept-alive connection the server has closed fails at once: reopen and send again.
        let (resp, wire) = match self.exchange(&bytes).await {
            Ok(r) => r,
            Err(_) => {
                self.conn = None;
                self.exchange(&bytes).await?
            }
        };
        self.latencies.push(started.elapsed());
        self.sent += bytes.len() as u64;
        self.received += wire;
        if resp
            .header("connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"))
        {
            self.conn = None;
        }
        if self.keeps_cookies {
            if let Some(set) = resp.header("set-cookie") {
                let pair = set.split(';').next().unwrap_or("").to_owned();
                let cleared = set.to_ascii_lowercase().contains("max-age=0");
                self.cookie = if cleared { None } else { Some(pair) };
            }
        }
        Ok(resp)
    }

    /// Sends one request and reads its response; returns it with its size on the wire.
    async fn exchange(&mut self, request: &[u8]) -> Result<(Resp, u64), String> {
        if self.conn.is_none() {
            let s = TcpStream::connect(self.addr)
                .await
                .map_err(|e| format!("connect {}: {e}", self.addr))?;
            let _ = s.set_nodelay(true);
            self.conn = Some(BufReader::new(s));
        }
        let conn = self.conn.as_mut().ok_or("no connection")?;
        conn.get_mut()
            .write_all(request)
            .await
            .map_err(|e| e.to_string())?;
        let mut wire = 0u64;
        let mut line = String::new();
        let n = conn.read_line(&mut line).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed".into());
        }
        wire += n as u64;
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {line:?}"))?;
        let mut headers = Vec::new();
        loop {
            line.clear();
            let n = conn.read_line(&mut line).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("connection closed in the head".into());
            }
            wire += n as u64;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                headers.push((k.trim().to_owned(), v.trim().to_owned()));
            }
        }
        let length: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .ok_or("response without content-length")?;
        let mut body = vec![0u8; length];
        conn.read_exact(&mut body)
            .await
            .map_err(|e| e.to_string())?;
        wire += length as u64;
        let (text, _, bad) = SHIFT_JIS.decode(&body);
        let text = if bad {
            String::new()
        } else {
            text.into_owned()
        };
        Ok((
            Resp {
                status,
                headers,
                body,
                text,
            },
            wire,
        ))
    }
}
