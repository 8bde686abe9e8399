//! A caller of the OTP API: one request per connection, a JSON body, the key as
//! `Authorization: Bearer`.

use crate::http::{parse_response, send, Request, Resp};
use std::net::SocketAddr;

/// Sends one request (`key`, if any, in `Authorization: Bearer`) and reads the response, its
/// text read as UTF-8. Panics when the gateway does not answer.
pub fn call(addr: SocketAddr, method: &str, path: &str, key: Option<&str>, body: &str) -> Resp {
    let headers = key
        .map(|k| ("Authorization".to_owned(), format!("Bearer {k}")))
        .into_iter()
        .collect();
    let bytes = Request {
        method,
        target: path,
        headers,
        content_type: Some("application/json"),
        body: body.as_bytes(),
        keep_alive: false,
    }
    .bytes(addr);
    send(addr, &bytes)
        .and_then(|b| parse_response(&b))
        .expect("a response")
        .utf8()
}
