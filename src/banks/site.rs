//! Which bank a request is for, and keeping answers inside it: the `/CODE` path prefix or a
//! host name picks the bank; the prefix comes off before the bank's fronts see the path, and
//! goes back on the console's own links and on cookie paths (phone pages put it on themselves,
//! see `markup::Ctx::base`).

use super::BankCode;
use crate::reply::{Reply, UTF8_HTML};

/// How a bank is reached.
#[derive(Debug, Clone)]
pub struct Site {
    pub code: BankCode,
    /// `/1020`.
    pub base: String,
    pub hosts: Vec<String>,
}

impl Site {
    pub fn new(code: BankCode, hosts: Vec<String>) -> Site {
        Site {
            base: code.prefix(),
            code,
            hosts,
        }
    }

    /// The path inside the bank when `path` is under its prefix: `/1020` → `/`,
    /// `/1020/login` → `/login`; None for `/10200` or another bank's.
    pub fn strip<'p>(&self, path: &'p str) -> Option<&'p str> {
        match path.strip_prefix(self.base.as_str())? {
            "" => Some("/"),
            rest if rest.starts_with('/') => Some(rest),
            _ => None,
        }
    }

    /// Whether the request's `Host` (port dropped, case ignored) is one of this bank's.
    pub fn serves_host(&self, host: Option<&str>) -> bool {
        let Some(host) = host else { return false };
        let name = host.rsplit_once(':').map_or(host, |(n, _)| n);
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(name))
    }

    /// Puts the bank's prefix back on what a front answered: cookie paths, and the own links,
    /// scripts and forms of UTF-8 pages (the branch console and the emulator's page name their
    /// paths from the root).
    pub fn reroot(&self, mut reply: Reply) -> Reply {
        if let Some(c) = reply.set_cookie.take() {
            reply.set_cookie = Some(c.replace("Path=/", &format!("Path={}/", self.base)));
        }
        if reply.content_type == UTF8_HTML {
            if let Ok(text) = std::str::from_utf8(&reply.body) {
                let text = text
                    .replace("href=\"/", &format!("href=\"{}/", self.base))
                    .replace("src=\"/", &format!("src=\"{}/", self.base))
                    .replace("action=\"/", &format!("action=\"{}/", self.base));
                reply.body = text.into_bytes().into();
            }
        }
        reply
    }
}

/// The bank list at the bare `/` of a multi-bank gateway (Shift_JIS cHTML, plain keys).
pub fn bank_list_page(banks: &[(String, String)]) -> Reply {
    let entries: Vec<markup::banks::BankEntry> = banks
        .iter()
        .map(|(top, name)| markup::banks::BankEntry { top, name })
        .collect();
    let ctx = markup::Ctx {
        bank: "しんきん共同センター",
        ..markup::Ctx::default()
    };
    Reply::phone(markup::encode(markup::banks::bank_list(&ctx, &entries)))
}

/// A path under no bank of a multi-bank gateway: 404, with the way to the bank list.
pub fn no_such_bank() -> Reply {
    let ctx = markup::Ctx {
        bank: "しんきん共同センター",
        ..markup::Ctx::default()
    };
    let page = markup::error::error(&ctx, "ページが見つかりません。", "/");
    Reply::phone_error(hyper::StatusCode::NOT_FOUND, markup::encode(page))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        Site::new(
            BankCode::parse("1020").unwrap(),
            vec!["ib.asahi.example".into()],
        )
    }

    #[test]
    fn the_prefix_is_a_whole_path_segment() {
        let s = site();
        assert_eq!(s.strip("/1020"), Some("/"));
        assert_eq!(s.strip("/1020/"), Some("/"));
        assert_eq!(s.strip("/1020/login/otp"), Some("/login/otp"));
        assert_eq!(s.strip("/10200/login"), None);
        assert_eq!(s.strip("/1021/login"), None);
        assert_eq!(s.strip("/login"), None);
    }

    #[test]
    fn hosts_match_without_port_or_case() {
        let s = site();
        assert!(s.serves_host(Some("IB.asahi.example:8080")));
        assert!(!s.serves_host(Some("ib.minami.example")));
        assert!(!s.serves_host(None));
    }

    #[test]
    fn console_links_and_cookie_paths_stay_inside_the_bank() {
        let mut r = Reply::new(
            hyper::StatusCode::OK,
            UTF8_HTML,
            br#"<a href="/branch/customer">x</a><form action="/branch/login">"#.to_vec(),
        );
        r.set_cookie = Some("kg_staff=abc; HttpOnly; Path=/branch".into());
        let r = site().reroot(r);
        let body = String::from_utf8(r.body.to_vec()).unwrap();
        assert!(body.contains(r#"href="/1020/branch/customer""#), "{body}");
        assert!(body.contains(r#"action="/1020/branch/login""#), "{body}");
        assert_eq!(
            r.set_cookie.as_deref(),
            Some("kg_staff=abc; HttpOnly; Path=/1020/branch")
        );
    }
}
