//! What every part of the gateway answers with: status, content type, body, and the session
//! cookie to set. Phone pages, the branch console and the API all end here.
//!
//! A phone error page goes out with status 200 and keeps its real (logical) status for the
//! request log: EZweb handsets replace the body of a 4xx/5xx answer with a dialog of their own,
//! so the Japanese explanation would never be read.

use bytes::Bytes;
use hyper::StatusCode;

pub const SHIFT_JIS_HTML: &str = "text/html; charset=Shift_JIS";
pub const UTF8_HTML: &str = "text/html; charset=utf-8";
pub const JSON: &str = "application/json";
pub const CSV_UTF8: &str = "text/csv; charset=utf-8";

#[derive(Debug, Clone)]
pub struct Reply {
    /// The status sent.
    pub status: StatusCode,
    /// The status the request log shows, when it is not the one sent (phone error pages).
    pub logged: Option<StatusCode>,
    pub content_type: &'static str,
    /// Shared, not copied, when the page comes from a cache.
    pub body: Bytes,
    pub set_cookie: Option<String>,
    /// Content-Disposition, for downloads (CSV exports).
    pub disposition: Option<String>,
}

impl Reply {
    pub fn new(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Reply {
        Reply {
            status,
            logged: None,
            content_type,
            body: body.into(),
            set_cookie: None,
            disposition: None,
        }
    }

    /// A phone page (Shift_JIS cHTML).
    pub fn phone(page: markup::Page) -> Reply {
        Reply::new(StatusCode::OK, SHIFT_JIS_HTML, page.body)
    }

    /// A phone page already encoded (a cached one).
    pub fn phone_body(body: Bytes) -> Reply {
        Reply::new(StatusCode::OK, SHIFT_JIS_HTML, body)
    }

    /// A phone error page: sent as 200, logged as `status`.
    pub fn phone_error(status: StatusCode, page: markup::Page) -> Reply {
        Reply {
            logged: Some(status),
            ..Reply::phone(page)
        }
    }

    /// The status the request log shows.
    pub fn log_status(&self) -> StatusCode {
        self.logged.unwrap_or(self.status)
    }

    pub fn with_cookie(mut self, cookie: Option<String>) -> Reply {
        self.set_cookie = cookie;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_error_pages_go_out_as_200_and_are_logged_as_themselves() {
        let page = || markup::Page {
            body: b"x".to_vec(),
        };
        let err = Reply::phone_error(StatusCode::FORBIDDEN, page());
        assert_eq!(err.status, StatusCode::OK);
        assert_eq!(err.log_status(), StatusCode::FORBIDDEN);
        assert_eq!(err.content_type, SHIFT_JIS_HTML);
        let ok = Reply::phone(page());
        assert_eq!(ok.log_status(), StatusCode::OK);
        let api = Reply::new(StatusCode::NOT_FOUND, JSON, Vec::new());
        assert_eq!(
            (api.status, api.log_status()),
            (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND)
        );
    }
}
