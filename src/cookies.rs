//! Reading a cookie from a request, in one place for every front. Every `Cookie` header
//! counts (a client may split its cookies over several); a malformed pair is skipped.

use hyper::header::{HeaderMap, COOKIE};

/// The value of the cookie `name`, if the request carries one.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
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
}
