//! A request as the flows see it: decoded fields (Shift_JIS query and body), the handset, the
//! session ID (URL, form or cookie) and the trusted subscriber ID.

use crate::carrier::{self, names, Handset, Head, Headers};
use crate::config::Config;
use crate::error::AppError;
use crate::form::Form;
use hyper::http::request::Parts;
use hyper::Method;
use std::net::SocketAddr;

pub struct Request {
    pub method: Method,
    /// The target as sent: shares hyper's buffer, no copy (see [`Request::path`]).
    uri: hyper::Uri,
    /// Query fields, then body fields.
    pub form: Form,
    pub handset: Handset,
    /// The phone reached us over TLS: said by a configured TLS proxy, never by anyone else.
    pub https: bool,
    pub cookie_sid: Option<String>,
    /// The carrier subscriber ID, only when it came from a network trusted for that carrier.
    pub subscriber: Option<String>,
    pub peer: SocketAddr,
    /// An untrusted peer claimed a subscriber ID (logged, then ignored).
    pub untrusted_subscriber_claim: bool,
}

/// Name of the session cookie and field.
pub const SID: &str = "sid";

impl Request {
    /// What the head says: handset, TLS, session cookie and trusted subscriber ID. The form is
    /// empty until [`Request::form`] has read the query and the body.
    pub fn from_head(parts: &Parts, peer: SocketAddr, config: &Config) -> Request {
        // One pass over the headers; values that are not visible ASCII count as absent.
        let head = Head::read(&parts.headers);
        let ua = head.first(&names::USER_AGENT).unwrap_or("");
        let https = crate::net::forwarded_https(&head, peer.ip(), &config.tls_proxies);
        let handset = carrier::detect_remembered(ua, &head, https);
        let claimed = carrier::claimed_subscriber_id_in(&handset, &head);
        // Only a claim needs its sender judged.
        let trusted = claimed.is_some() && config.networks.trusts(handset.carrier, peer.ip());
        Request {
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            form: Form::default(),
            untrusted_subscriber_claim: claimed.is_some() && !trusted,
            subscriber: claimed.filter(|_| trusted),
            handset,
            https,
            cookie_sid: crate::cookies::in_head(&head, SID),
            peer,
        }
    }

    /// The query's fields, then the body's (Shift_JIS).
    pub fn form(query: Option<&str>, body: &[u8]) -> Result<Form, AppError> {
        let mut form = Form::parse(query.unwrap_or("").as_bytes())?;
        form.extend(Form::parse(body)?);
        Ok(form)
    }

    /// The path asked for (queries are read into [`Request::form`]).
    pub fn path(&self) -> &str {
        self.uri.path()
    }

    /// The session ID: from the URL or form first (phones without cookies), else the cookie.
    pub fn sid(&self) -> Option<&str> {
        self.form
            .get(SID)
            .filter(|s| !s.is_empty())
            .or(self.cookie_sid.as_deref())
    }
}
