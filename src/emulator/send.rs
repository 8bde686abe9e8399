//! `POST /emulator/send`: one request as the chosen handset makes it, answered by the phone
//! pages inside this gateway (never another host), and what a tester needs to see of it.

use super::handsets::{self, Handset};
use super::page;
use crate::app::App;
use crate::body::Body;
use crate::front::Front;
use crate::reply::Reply;
use encoding_rs::SHIFT_JIS;
use hyper::http::request::Parts;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

/// What the emulator page asks for (UTF-8 JSON).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ask {
    pub handset: String,
    pub method: String,
    /// Path and query on this gateway, as the page's link or form action says.
    pub target: String,
    /// Form fields as typed (UTF-8); encoded in Shift_JIS as the handset does.
    #[serde(default)]
    pub fields: Vec<(String, String)>,
    /// The handset's cookie jar (name, value), as this endpoint last returned it.
    #[serde(default)]
    pub cookies: Vec<(String, String)>,
    /// Send the subscriber-ID header.
    #[serde(default)]
    pub subscriber: bool,
    /// The page the link or form was on (a path), for handsets that send a Referer.
    #[serde(default)]
    pub referer: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("unknown handset")]
    Handset,
    #[error("only GET and POST")]
    Method,
    #[error(
        "the emulator reaches only this gateway's phone pages (a path starting with /, under \
         the bank's own prefix on a gateway of several banks)"
    )]
    Target,
}

#[derive(Serialize)]
pub struct Sent {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// The form as the gateway decodes it from the Shift_JIS bytes (passwords masked).
    pub form: Vec<(String, String)>,
    pub body: String,
}

#[derive(Serialize)]
pub struct Cookies {
    pub keeps: bool,
    /// The jar after this response (empty for handsets that keep none).
    pub jar: Vec<(String, String)>,
    /// A Set-Cookie the handset threw away.
    pub dropped: Option<String>,
}

#[derive(Serialize)]
pub struct Answer {
    pub request: Sent,
    pub status: u16,
    /// The status the gateway logs, when it is not the one sent (phone error pages go out as
    /// 200: EZweb would hide a 4xx body behind its own dialog).
    pub logged_status: Option<u16>,
    pub headers: Vec<(String, String)>,
    pub page: String,
    pub bytes: usize,
    pub budget: usize,
    pub over_budget: bool,
    /// The session ID the page hands on, and how.
    pub session: Option<page::Session>,
    /// The session ID the request carried, and how.
    pub sent_session: Option<page::Session>,
    pub chtml: page::Check,
    pub cookies: Cookies,
}

/// Builds the request, lets the phone pages answer it, and reports.
pub async fn send(
    app: &App,
    phone: &dyn Front,
    ask: Ask,
    host: &str,
    peer: SocketAddr,
) -> Result<Answer, SendError> {
    let handset = handsets::find(&ask.handset).ok_or(SendError::Handset)?;
    let method = match ask.method.to_ascii_uppercase().as_str() {
        "GET" => hyper::Method::GET,
        "POST" => hyper::Method::POST,
        _ => return Err(SendError::Method),
    };
    let detected = handset.detected();
    let encoded = encode_form(&ask.fields);
    // Inside the bank's front: its prefix (a multi-bank gateway's `/1020`) comes off, as the
    // router takes it off a request from a socket.
    let target = phone_target(&app.base, &ask.target)?;
    let target = match (&method, encoded.is_empty()) {
        (&hyper::Method::GET, false) => {
            let sep = if target.contains('?') { '&' } else { '?' };
            format!("{target}{sep}{encoded}")
        }
        _ => target,
    };
    let body = match method {
        hyper::Method::POST => encoded.clone(),
        _ => String::new(),
    };
    let headers = headers(
        handset,
        &detected,
        &ask,
        (&app.base, &target),
        host,
        body.len(),
    );
    let parts = parts(&method, &target, &headers)?;
    let mut reply = phone_pages(phone, app, parts, body.clone(), peer).await;
    if let Some(c) = reply.set_cookie.take() {
        // As the router's `Site::reroot` sends it: the cookie kept inside the bank.
        reply.set_cookie = Some(c.replace("Path=/", &format!("Path={}/", app.base)));
    }

    let text = page::decode(&reply.body, handset.keypad());
    let chtml = page::check(
        &reply.body,
        reply.content_type,
        &text,
        detected.budget_bytes,
    );
    let cookies = keep_cookies(detected.cookies, ask.cookies, reply.set_cookie.as_deref());
    let sent_session = sent_session(&target, &body, &headers);
    Ok(Answer {
        request: Sent {
            method: method.to_string(),
            url: format!("http://{host}{}{target}", app.base),
            headers,
            form: decoded_form(body.as_bytes()),
            body: masked_body(&body),
        },
        status: reply.status.as_u16(),
        logged_status: reply.logged.map(|s| s.as_u16()),
        headers: reply_headers(&reply),
        session: page::session(&text, reply.set_cookie.as_deref()),
        sent_session,
        bytes: reply.body.len(),
        budget: detected.budget_bytes,
        over_budget: reply.body.len() > detected.budget_bytes,
        page: text,
        chtml,
        cookies,
    })
}

/// The path and query, inside the bank, of one of the bank's phone pages: `target` must be
/// under the bank's prefix `base` (empty for one bank), which comes off. Anything with a
/// scheme or host is refused; so are another bank's paths and the other fronts' paths
/// (console, API, the emulator itself): the phone front would only answer them with its 404
/// page, and a tester should hear why.
fn phone_target(base: &str, target: &str) -> Result<String, SendError> {
    let uri: hyper::Uri = target.parse().map_err(|_| SendError::Target)?;
    if uri.scheme().is_some() || uri.authority().is_some() || !target.starts_with('/') {
        return Err(SendError::Target);
    }
    let target = match target.strip_prefix(base) {
        Some("") => "/".to_owned(),
        Some(rest) if rest.starts_with('?') => format!("/{rest}"),
        Some(rest) if rest.starts_with('/') => rest.to_owned(),
        _ => return Err(SendError::Target),
    };
    let uri: hyper::Uri = target.parse().map_err(|_| SendError::Target)?;
    let path = uri.path();
    let other_front = ["/api", "/branch", "/emulator"]
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")));
    if other_front || target.starts_with("//") {
        return Err(SendError::Target);
    }
    Ok(target.to_owned())
}

/// The headers this handset's request carries, in the order it sends them.
/// `at`: the bank's prefix and the path inside the bank.
fn headers(
    handset: &Handset,
    detected: &crate::carrier::Handset,
    ask: &Ask,
    at: (&str, &str),
    host: &str,
    body_len: usize,
) -> Vec<(String, String)> {
    let (base, target) = at;
    let mut h: Vec<(String, String)> = vec![
        ("Host".into(), host.into()),
        ("User-Agent".into(), handset.user_agent.into()),
    ];
    for (k, v) in handset.headers {
        h.push(((*k).into(), (*v).into()));
    }
    if let (true, Some((name, value))) = (ask.subscriber, handset.subscriber) {
        // i-mode sends its ID only to URLs that ask for it with guid=ON (the carrier table's
        // rule, the one the pages are written by).
        let wanted = !detected.wants_guid_on(false) || query_has_guid_on(target);
        if wanted {
            h.push((name.into(), value.into()));
        }
    }
    if let (true, Some(referer)) = (handset.referer, &ask.referer) {
        if phone_target(base, referer).is_ok() {
            h.push(("Referer".into(), format!("http://{host}{referer}")));
        }
    }
    if detected.cookies && !ask.cookies.is_empty() {
        let jar: Vec<String> = ask
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        h.push(("Cookie".into(), jar.join("; ")));
    }
    if body_len > 0 {
        h.push((
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
        h.push(("Content-Length".into(), body_len.to_string()));
    }
    h
}

/// Where the request carried a session ID: `sid=` in the URL or form, else the cookie.
fn sent_session(target: &str, body: &str, headers: &[(String, String)]) -> Option<page::Session> {
    let query = target.split_once('?').map_or("", |(_, q)| q);
    let field = [query, body]
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|kv| kv.strip_prefix("sid="))
        .filter(|v| !v.is_empty());
    if let Some(id) = field {
        return Some(page::Session {
            id: id.to_owned(),
            rides: "url",
        });
    }
    let cookie = headers.iter().find(|(k, _)| k == "Cookie")?;
    cookie::Cookie::split_parse(cookie.1.as_str())
        .filter_map(Result::ok)
        .find(|c| c.name() == crate::request::SID)
        .map(|c| page::Session {
            id: c.value().to_owned(),
            rides: "cookie",
        })
}

fn query_has_guid_on(target: &str) -> bool {
    target
        .split_once('?')
        .is_some_and(|(_, q)| q.split('&').any(|kv| kv.eq_ignore_ascii_case("guid=ON")))
}

fn parts(
    method: &hyper::Method,
    target: &str,
    headers: &[(String, String)],
) -> Result<Parts, SendError> {
    let mut builder = hyper::Request::builder().method(method).uri(target);
    for (k, v) in headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    builder
        .body(())
        .map(|r| r.into_parts().0)
        .map_err(|_| SendError::Target)
}

/// The phone front's answer, exactly as to a request from a socket (body unread until it reads
/// it, with its own limits).
async fn phone_pages(
    phone: &dyn Front,
    app: &App,
    parts: Parts,
    body: String,
    peer: SocketAddr,
) -> Reply {
    let body = Body::full(body);
    phone
        .answer(app, hyper::Request::from_parts(parts, body), peer)
        .await
}

/// The response headers as the server writes them (server::handle).
fn reply_headers(reply: &Reply) -> Vec<(String, String)> {
    let mut h = vec![
        ("Content-Type".to_owned(), reply.content_type.to_owned()),
        ("Cache-Control".to_owned(), "no-store".to_owned()),
        ("Content-Length".to_owned(), reply.body.len().to_string()),
    ];
    if let Some(c) = &reply.set_cookie {
        h.push(("Set-Cookie".to_owned(), c.clone()));
    }
    h
}

/// The jar after a response: a handset without cookies keeps nothing.
fn keep_cookies(keeps: bool, mut jar: Vec<(String, String)>, set: Option<&str>) -> Cookies {
    if !keeps {
        return Cookies {
            keeps,
            jar: Vec::new(),
            dropped: set.map(str::to_owned),
        };
    }
    if let Some(c) = set.and_then(|c| cookie::Cookie::parse(c.to_owned()).ok()) {
        jar.retain(|(k, _)| k != c.name());
        let removed = c.max_age().is_some_and(|a| a.is_zero()) || c.value().is_empty();
        if !removed {
            jar.push((c.name().to_owned(), c.value().to_owned()));
        }
    }
    Cookies {
        keeps,
        jar,
        dropped: None,
    }
}

/// `a=1&b=%82%A0`, each field percent-encoded as Shift_JIS, as a phone's browser sends it.
fn encode_form(fields: &[(String, String)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", sjis_urlencode(k), sjis_urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn sjis_urlencode(s: &str) -> String {
    let (bytes, _, _) = SHIFT_JIS.encode(s);
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes.iter() {
        match b {
            b if b.is_ascii_alphanumeric() || b"-_.*".contains(&b) => out.push(b as char),
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The body's fields decoded back from Shift_JIS, secrets masked.
fn decoded_form(body: &[u8]) -> Vec<(String, String)> {
    body.split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &[][..]),
            };
            let k = percent_decode(k);
            let v = if is_secret(&k) {
                mask(&percent_decode(v))
            } else {
                percent_decode(v)
            };
            (k, v)
        })
        .collect()
}

fn masked_body(body: &str) -> String {
    body.split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if is_secret(&percent_decode(k.as_bytes())) => {
                format!("{k}={}", "*".repeat(v.len()))
            }
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Passwords are shown as their length only: the inspector may be on a shared screen.
fn is_secret(name: &str) -> bool {
    name.contains("password")
}

fn mask(v: &str) -> String {
    "*".repeat(v.chars().count())
}

fn percent_decode(raw: &[u8]) -> String {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => bytes.push(b' '),
            b'%' if i + 2 < raw.len() => {
                let hex = std::str::from_utf8(&raw[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        bytes.push(b);
                        i += 2;
                    }
                    Err(_) => bytes.push(b'%'),
                }
            }
            b => bytes.push(b),
        }
        i += 1;
    }
    SHIFT_JIS.decode_without_bom_handling(&bytes).0.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_phone_paths() {
        assert!(phone_target("", "/start?guid=ON").is_ok());
        for bad in [
            "http://example.com/",
            "//example.com/x",
            "example.com",
            "/api/v1/verify",
            "/branch/",
            "/emulator/send",
            "/emulator",
        ] {
            assert!(phone_target("", bad).is_err(), "{bad}");
            assert!(
                phone_target("/1020", &format!("/1020{bad}")).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_banks_pages_lose_its_prefix_and_other_banks_are_refused() {
        let inside = |t: &str| phone_target("/1020", t).ok();
        assert_eq!(inside("/1020").as_deref(), Some("/"));
        assert_eq!(inside("/1020/").as_deref(), Some("/"));
        assert_eq!(inside("/1020?guid=ON").as_deref(), Some("/?guid=ON"));
        assert_eq!(inside("/1020/login?x=1").as_deref(), Some("/login?x=1"));
        for other in ["/", "/login", "/1021/login", "/10200/login"] {
            assert_eq!(inside(other), None, "{other}");
        }
    }

    #[test]
    fn forms_go_as_shift_jis_and_decode_back() {
        let fields = vec![
            ("name".to_owned(), "信金 太郎".to_owned()),
            ("password".to_owned(), "Pass1234".to_owned()),
        ];
        let body = encode_form(&fields);
        assert_eq!(
            body, "name=%90M%8B%E0+%91%BE%98Y&password=Pass1234",
            "Shift_JIS bytes"
        );
        assert_eq!(
            decoded_form(body.as_bytes()),
            vec![
                ("name".to_owned(), "信金 太郎".to_owned()),
                ("password".to_owned(), "********".to_owned())
            ]
        );
        assert_eq!(
            masked_body(&body),
            "name=%90M%8B%E0+%91%BE%98Y&password=********"
        );
    }

    #[test]
    fn guid_only_where_the_url_asks() {
        assert!(query_has_guid_on("/start?guid=ON"));
        assert!(query_has_guid_on("/menu?sid=x&guid=ON"));
        assert!(!query_has_guid_on("/start"));
        assert!(!query_has_guid_on("/start?guid=ONE"));
    }

    #[test]
    fn cookies_kept_only_by_handsets_that_keep_them() {
        let none = keep_cookies(false, vec![], Some("sid=a; Path=/"));
        assert!(none.jar.is_empty() && none.dropped.is_some());
        let kept = keep_cookies(
            true,
            vec![("sid".into(), "old".into())],
            Some("sid=a; Path=/"),
        );
        assert_eq!(kept.jar, vec![("sid".to_owned(), "a".to_owned())]);
        let cleared = keep_cookies(true, kept.jar, Some("sid=; Path=/; Max-Age=0"));
        assert!(cleared.jar.is_empty());
    }
}
