//! The phone emulator for testers (`serve --emulator`): a desktop-browser page at `/emulator/`
//! with a flip phone on screen. This module is its front: the gate (emulator on, client in the
//! emulator networks of carrier_networks.toml; anything else is a plain 404), the routes, its own
//! body limit, and JSON errors. [`handsets`] owns what each handset sends, [`send`] the request
//! dispatched inside the gateway, [`page`] reading the answer as the handset would.
//!
//! The page and its script are static files compiled in (no build step); they only ever talk
//! to this front, and the front only ever calls this gateway's own phone pages.

pub mod handsets;
pub mod page;
pub mod send;

use crate::app::App;
use crate::body::{self, Limits};
use crate::front::{Answer, Front, HttpRequest};
use crate::phone::PhoneFront;
use crate::reply::{Reply, JSON};
use crate::simulator;
use hyper::http::request::Parts;
use hyper::{Method, StatusCode};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const INDEX: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/emulator.js");
const STYLE: &str = include_str!("assets/emulator.css");

/// What `serve --emulator` turns on.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The demo inventory: the only tokens whose codes the token simulator shows.
    pub demo_tokens: PathBuf,
}

impl Settings {
    /// The settings of the bank whose files are in `bank_dir` (its [`crate::banks::Profile::dir`]:
    /// `BANK_DIR/banks/CODE/` on a multi-bank gateway).
    pub fn for_bank_dir(bank_dir: &Path) -> Settings {
        Settings {
            demo_tokens: simulator::demo_inventory(bank_dir),
        }
    }
}

/// The emulator front: owns `/emulator` and `/emulator/…`; emulated requests go to `phone`,
/// the gateway's one phone front (its sessions are the real ones).
pub struct EmulatorFront {
    phone: Arc<PhoneFront>,
}

impl EmulatorFront {
    pub fn new(phone: Arc<PhoneFront>) -> EmulatorFront {
        EmulatorFront { phone }
    }
}

/// Largest `/emulator/send` body accepted (a form's fields and a cookie jar).
pub const MAX_BODY: usize = 16 * 1024;

impl Front for EmulatorFront {
    fn name(&self) -> &'static str {
        "emulator"
    }

    fn owns(&self, path: &str) -> bool {
        path == "/emulator" || path.starts_with("/emulator/")
    }

    fn answer<'a>(&'a self, app: &'a App, req: HttpRequest, peer: SocketAddr) -> Answer<'a> {
        Box::pin(self.handle(app, req, peer))
    }
}

impl EmulatorFront {
    async fn handle(&self, app: &App, req: HttpRequest, peer: SocketAddr) -> Reply {
        // The gate comes first: to anyone it is not for, there is nothing here.
        let Some(settings) = &app.config.emulator else {
            return not_found();
        };
        if !app.config.networks.emulator_networks.contains(peer.ip()) {
            return not_found();
        }
        let (parts, body) = req.into_parts();
        match (&parts.method, parts.uri.path()) {
            (&Method::GET, "/emulator" | "/emulator/") => asset("text/html; charset=utf-8", INDEX),
            (&Method::GET, "/emulator/emulator.js") => {
                asset("text/javascript; charset=utf-8", SCRIPT)
            }
            (&Method::GET, "/emulator/emulator.css") => asset("text/css; charset=utf-8", STYLE),
            (&Method::GET, "/emulator/handsets") => json(
                StatusCode::OK,
                &handsets::HANDSETS
                    .iter()
                    .map(handsets::Handset::summary)
                    .collect::<Vec<_>>(),
            ),
            (&Method::GET, "/emulator/token") => token(settings, parts.uri.query().unwrap_or("")),
            (&Method::POST, "/emulator/send") => {
                if let Err((status, message)) = own_page_asked(&parts) {
                    return error(status, message);
                }
                let limits = Limits {
                    max_bytes: MAX_BODY,
                    timeout: app.config.client_timeout,
                };
                let body = match body::read(&parts.headers, body, limits).await {
                    Ok(b) => b,
                    Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
                };
                let ask: send::Ask = match serde_json::from_slice(&body) {
                    Ok(a) => a,
                    Err(e) => return error(StatusCode::BAD_REQUEST, &format!("bad request: {e}")),
                };
                let host = parts
                    .headers
                    .get(hyper::header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("localhost");
                match send::send(app, &*self.phone, ask, host, peer).await {
                    Ok(answer) => json(StatusCode::OK, &answer),
                    Err(e) => error(StatusCode::BAD_REQUEST, &e.to_string()),
                }
            }
            (_, "/emulator/send" | "/emulator/handsets" | "/emulator/token") => {
                error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
            }
            _ => not_found(),
        }
    }
}

/// A send must come from the emulator page itself, not from another site open in the tester's
/// browser: JSON content (another origin cannot post it without a CORS preflight, which this
/// front never grants) and, when the browser names the page's origin, this host.
fn own_page_asked(parts: &Parts) -> Result<(), (StatusCode, &'static str)> {
    let header = |name| {
        parts
            .headers
            .get(name)
            .and_then(|v: &hyper::header::HeaderValue| v.to_str().ok())
    };
    let json = header(hyper::header::CONTENT_TYPE)
        .is_some_and(|t| t.split(';').next().is_some_and(|m| m.trim() == JSON));
    if !json {
        return Err((StatusCode::UNSUPPORTED_MEDIA_TYPE, "send JSON"));
    }
    let host = header(hyper::header::HOST).unwrap_or("");
    match header(hyper::header::ORIGIN) {
        Some(origin) if origin != format!("http://{host}") => {
            Err((StatusCode::FORBIDDEN, "only the emulator page may send"))
        }
        _ => Ok(()),
    }
}

/// `GET /emulator/token`: the demo serials; `?serial=X`: the code that token shows now.
fn token(settings: &Settings, query: &str) -> Reply {
    let file = &settings.demo_tokens;
    let serial = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("serial="))
        .filter(|s| !s.is_empty());
    let Some(serial) = serial else {
        return match simulator::hardware_serials(file) {
            Ok(serials) => json(StatusCode::OK, &serde_json::json!({ "serials": serials })),
            Err(e) => error(StatusCode::NOT_FOUND, &e),
        };
    };
    match simulator::shown(file, serial, crate::clock::now_unix()) {
        Ok(shown) => json(StatusCode::OK, &shown),
        Err(e) => error(StatusCode::NOT_FOUND, &e),
    }
}

fn asset(content_type: &'static str, text: &'static str) -> Reply {
    Reply::new(StatusCode::OK, content_type, text.as_bytes().to_vec())
}

fn json(status: StatusCode, value: &impl serde::Serialize) -> Reply {
    // Plain data (strings, numbers, lists) always serialises.
    Reply::new(status, JSON, serde_json::to_vec(value).unwrap_or_default())
}

fn error(status: StatusCode, message: &str) -> Reply {
    json(status, &serde_json::json!({ "error": message }))
}

/// A plain 404, the same whether the emulator is off or the client outside its networks.
fn not_found() -> Reply {
    Reply::new(
        StatusCode::NOT_FOUND,
        "text/plain; charset=utf-8",
        b"Not Found\n".to_vec(),
    )
}
