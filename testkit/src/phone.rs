//! A handset: its User-Agent, extra headers, i-mode ID, and a cookie jar only if the handset
//! keeps cookies (i-mode before the c500 browser does not). [`Phone`] opens a connection per
//! request and blocks (the tests); [`KeptAlive`] is the same handset over one kept-alive
//! connection, counting every byte and timing every request (the benchmarks).

use crate::http::{keep_cookie, parse_response, send, Request, Resp};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

pub const FOMA: &str = "DoCoMo/2.0 P903i(c100;TB;W24H12)";
pub const AU: &str = "KDDI-SA31 UP.Browser/6.2.0.7.3.129 (GUI) MMP/2.0";
pub const SOFTBANK: &str = "SoftBank/1.0/910T/TJ001/SN123456789012345 Browser/NetFront/3.3 Profile/MIDP-2.0 Configuration/CLDC-1.1";

const FORM: &str = "application/x-www-form-urlencoded";

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

    /// Sends the next requests to another gateway (behind a load balancer without stickiness).
    pub fn switch_to(&mut self, addr: SocketAddr) {
        self.addr = addr;
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

    /// The bytes this handset sends for a request.
    pub fn request_bytes(
        &self,
        method: &str,
        target: &str,
        content_type: Option<&str>,
        body: &[u8],
        keep_alive: bool,
    ) -> Vec<u8> {
        let mut headers = vec![("User-Agent".to_owned(), self.ua.clone())];
        headers.extend(self.headers.iter().cloned());
        if let (Some(guid), true) = (&self.guid, target.contains("guid=ON")) {
            headers.push(("X-DCMGUID".into(), guid.clone()));
        }
        if let (true, Some(c)) = (self.keeps_cookies, &self.cookie) {
            headers.push(("Cookie".into(), c.clone()));
        }
        Request {
            method,
            target,
            headers,
            content_type,
            body,
            keep_alive,
        }
        .bytes(self.addr)
    }

    /// What the handset keeps of a response: its cookie, if it keeps cookies.
    pub fn received(&mut self, resp: &Resp) {
        if self.keeps_cookies {
            keep_cookie(&mut self.cookie, resp);
        }
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
        let content_type = (method == "POST").then_some(FORM);
        let bytes = self.request_bytes(method, target, content_type, body, false);
        let resp = self.try_raw(&bytes)?;
        self.received(&resp);
        Some(resp)
    }

    pub fn try_get(&mut self, target: &str) -> Option<Resp> {
        self.try_request("GET", target, b"")
    }

    /// Like [`Phone::submit`], but `None` when the server is gone.
    pub fn try_submit(&mut self, page: &Resp, fields: &[(&str, &str)]) -> Option<Resp> {
        let (action, body) = page.filled(fields)?;
        self.try_request("POST", &action, body.as_bytes())
    }

    pub fn get(&mut self, target: &str) -> Resp {
        self.request("GET", target, b"")
    }

    pub fn post_raw(&mut self, target: &str, body: &[u8]) -> Resp {
        self.request("POST", target, body)
    }

    pub fn post(&mut self, target: &str, fields: &[(&str, &str)]) -> Resp {
        self.post_raw(target, crate::http::encode_form(fields).as_bytes())
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
        let (action, body) = page
            .filled(fields)
            .unwrap_or_else(|| panic!("no form on page:\n{}", page.text));
        self.post_raw(&action, body.as_bytes())
    }
}

/// A [`Phone`] over one kept-alive HTTP/1.1 connection (reopened when the server closes it),
/// with a count of every byte sent and received (headers included) for the bytes-on-the-air
/// figures and the time of every request.
pub struct KeptAlive {
    pub phone: Phone,
    conn: Option<BufReader<TcpStream>>,
    /// Bytes on the wire, both ways, headers included.
    pub sent: u64,
    pub received: u64,
    /// How long each request took, first byte sent to last byte received.
    pub latencies: Vec<Duration>,
}

impl KeptAlive {
    pub fn new(addr: SocketAddr, ua: &str) -> KeptAlive {
        KeptAlive {
            phone: Phone::new(addr, ua),
            conn: None,
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
        let body = crate::http::encode_form(fields);
        self.request("POST", target, Some(FORM), body.as_bytes())
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
        let (action, body) = page
            .filled(fields)
            .ok_or_else(|| format!("no form on page:\n{}", page.text))?;
        self.request("POST", &action, Some(FORM), body.as_bytes())
            .await
    }

    async fn request(
        &mut self,
        method: &str,
        target: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Resp, String> {
        let bytes = self
            .phone
            .request_bytes(method, target, content_type, body, true);
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
        self.phone.received(&resp);
        Ok(resp)
    }

    /// Sends one request and reads its response; returns it with its size on the wire.
    async fn exchange(&mut self, request: &[u8]) -> Result<(Resp, u64), String> {
        if self.conn.is_none() {
            let s = TcpStream::connect(self.phone.addr)
                .await
                .map_err(|e| format!("connect {}: {e}", self.phone.addr))?;
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
        Ok((Resp::new(status, headers, body), wire))
    }
}
