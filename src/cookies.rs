//! Reading a cookie from a request, in one place for every front. Every `Cookie` header
//! counts (a client may split its cookies over several); a malformed pair is skipped.

use crate::carrier::{names, Head, Headers};
use hyper::header::{HeaderMap, COOKIE};

/// The value of the cookie `name`, if the request carries one.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    find(
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok()),
        name,
    )
}

/// [`get`] from a request's [`Head`], read already.
#[inline]
pub fn in_head(head: &Head<'_>, name: &str) -> Option<String> {
    // Most phones send none: no parser set up for nothing.
    head.first(&names::COOKIE)?;
    find(head.all(&names::COOKIE), name)
}

fn find<'a>(values: impl Iterator<Item = &'a str>, name: &str) -> Option<String> {
    values
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_named_cookie_in_any_header() {
        let mut h = HeaderMap::new();
        assert_eq!(get(&h, "sid"), None);
        h.append(COOKIE, "a=1; sid=abc".parse().unwrap());
        assert_eq!(get(&h, "sid").as_deref(), Some("abc"));
        let mut h = HeaderMap::new();
        h.append(COOKIE, "a=1".parse().unwrap());
        h.append(COOKIE, "kg_staff=x".parse().unwrap());
        assert_eq!(get(&h, "kg_staff").as_deref(), Some("x"));
        assert_eq!(get(&h, "sid"), None);
    }

    #[test]
    fn the_head_finds_what_the_map_does() {
        let mut split = HeaderMap::new();
        split.append(COOKIE, "a=1".parse().unwrap());
        split.append(COOKIE, "sid=def; b=2".parse().unwrap());
        let mut one = HeaderMap::new();
        one.append(COOKIE, "sid=abc".parse().unwrap());
        for h in [HeaderMap::new(), one, split] {
            let head = Head::read(&h);
            for name in ["sid", "a", "b", "c"] {
                assert_eq!(in_head(&head, name), get(&h, name), "{name}");
            }
        }
    }
}
