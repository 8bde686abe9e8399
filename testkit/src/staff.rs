//! A member of branch staff at a PC browser: UTF-8 forms, the session cookie (kept although it
//! is marked Secure: the clients speak plain HTTP on loopback), and the anti-forgery value of
//! the last page, which every post sends back.

use crate::http::{encode_form_utf8, keep_cookie, parse_response, send, Request, Resp};
use std::net::SocketAddr;

const BROWSER: &str = "Mozilla/5.0 (Windows NT 10.0)";

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

    /// Sends the next requests to another gateway.
    pub fn switch_to(&mut self, addr: SocketAddr) {
        self.addr = addr;
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
        let mut headers = vec![("User-Agent".to_owned(), BROWSER.to_owned())];
        headers.extend(self.cookie.iter().map(|c| ("Cookie".to_owned(), c.clone())));
        let bytes = Request {
            method,
            target,
            headers,
            content_type: (method == "POST").then_some("application/x-www-form-urlencoded"),
            body,
            keep_alive: false,
        }
        .bytes(self.addr);
        let resp = send(self.addr, &bytes)
            .and_then(|b| parse_response(&b))
            .expect("a response")
            .utf8();
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
        self.request("POST", target, encode_form_utf8(fields).as_bytes())
    }
}
