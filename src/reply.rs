//! What every part of the gateway answers with: status, content type, body, and the session
//! cookie to set. Phone pages, the branch console and the API all end here.

use hyper::StatusCode;

pub const SHIFT_JIS_HTML: &str = "text/html; charset=Shift_JIS";
pub const UTF8_HTML: &str = "text/html; charset=utf-8";
pub const JSON: &str = "application/json";
pub const CSV_UTF8: &str = "text/csv; charset=utf-8";

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub set_cookie: Option<String>,
    /// Content-Disposition, for downloads (CSV exports).
    pub disposition: Option<String>,
}

impl Reply {
    pub fn new(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Reply {
        Reply {
            status,
            content_type,
            body,
            set_cookie: None,
            disposition: None,
        }
    }

    /// A phone page (Shift_JIS cHTML).
    pub fn phone(status: StatusCode, page: markup::Page) -> Reply {
        Reply::new(status, SHIFT_JIS_HTML, page.body)
    }

    pub fn with_cookie(mut self, cookie: Option<String>) -> Reply {
        self.set_cookie = cookie;
        self
    }
}
