//! Reading a page as its user would: the link behind an accesskey, the first form and its
//! hidden fields, the anti-forgery value, the 受付番号 of a receipt; and the checks every phone
//! page must pass.

use crate::http::Resp;
use encoding_rs::SHIFT_JIS;

impl Resp {
    /// Asserts what every phone page must be: Shift_JIS Compact HTML within `budget` bytes.
    pub fn assert_chtml(&self, budget: usize) -> &Resp {
        assert_eq!(
            self.header("content-type"),
            Some("text/html; charset=Shift_JIS"),
            "content type"
        );
        let (_, had_errors) = SHIFT_JIS.decode_without_bom_handling(&self.body);
        assert!(!had_errors, "body is not valid Shift_JIS");
        assert!(
            self.body.len() <= budget,
            "page of {} bytes over budget {budget}:\n{}",
            self.body.len(),
            self.text
        );
        let lower = self.text.to_ascii_lowercase();
        for banned in [
            "<script", "<style", "<table", "<frame", "<iframe", " style=", "<link", "<img",
        ] {
            assert!(!lower.contains(banned), "{banned} in page:\n{}", self.text);
        }
        self
    }

    pub fn assert_contains(&self, needle: &str) -> &Resp {
        assert!(
            self.text.contains(needle),
            "{needle:?} not in page:\n{}",
            self.text
        );
        self
    }

    /// A phone error page: sent with status 200 (EZweb handsets hide the bodies of 4xx/5xx
    /// answers), Shift_JIS cHTML, saying `needle`. The logical status is in the gateway's log.
    pub fn assert_phone_error(&self, needle: &str) -> &Resp {
        assert_eq!(
            self.status, 200,
            "phone error pages go out as 200:\n{}",
            self.text
        );
        assert_eq!(
            self.header("content-type"),
            Some("text/html; charset=Shift_JIS")
        );
        self.assert_chtml(5000).assert_contains(needle)
    }

    pub fn assert_status(&self, status: u16) -> &Resp {
        assert_eq!(self.status, status, "status; page:\n{}", self.text);
        self
    }

    /// The `href` of the link with `accesskey`.
    pub fn link(&self, key: char) -> Option<String> {
        let marker = format!("accesskey=\"{key}\"");
        let at = self.text.find(&marker)?;
        let start = self.text[..at].rfind("<a href=\"")? + "<a href=\"".len();
        let end = start + self.text[start..].find('"')?;
        Some(unescape(&self.text[start..end]))
    }

    /// The `href` of the first link to `path` (for pages without accesskeys).
    pub fn link_to(&self, path: &str) -> Option<String> {
        let needle = format!("<a href=\"{path}");
        let start = self.text.find(&needle)? + "<a href=\"".len();
        let end = start + self.text[start..].find('"')?;
        Some(unescape(&self.text[start..end]))
    }

    /// The first form: its action and hidden fields.
    pub fn form(&self) -> Option<(String, Vec<(String, String)>)> {
        let start = self.text.find("<form action=\"")? + "<form action=\"".len();
        let end = start + self.text[start..].find('"')?;
        let action = unescape(&self.text[start..end]);
        let form_end = self.text[start..]
            .find("</form>")
            .map_or(self.text.len(), |e| start + e);
        let mut hidden = Vec::new();
        let mut rest = &self.text[start..form_end];
        while let Some(i) = rest.find("<input type=\"hidden\" name=\"") {
            rest = &rest[i + "<input type=\"hidden\" name=\"".len()..];
            let name_end = rest.find('"')?;
            let name = rest[..name_end].to_owned();
            let v = rest.find("value=\"")? + "value=\"".len();
            let v_end = v + rest[v..].find('"')?;
            hidden.push((name, unescape(&rest[v..v_end])));
        }
        Some((action, hidden))
    }

    /// The first form filled in as a phone submits it: its action and the Shift_JIS body of
    /// its hidden fields followed by `fields`.
    pub fn filled(&self, fields: &[(&str, &str)]) -> Option<(String, String)> {
        let (action, hidden) = self.form()?;
        let mut all: Vec<(&str, &str)> = hidden
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        all.extend_from_slice(fields);
        Some((action, crate::http::encode_form(&all)))
    }

    /// The anti-forgery value of the page's forms.
    pub fn csrf(&self) -> Option<String> {
        let marker = "name=\"csrf\" value=\"";
        let start = self.text.find(marker)? + marker.len();
        let end = start + self.text[start..].find('"')?;
        Some(self.text[start..end].to_owned())
    }

    /// The 受付番号 on a receipt page.
    pub fn receipt_number(&self) -> Option<String> {
        let at = self.text.find("受付番号:<br>")? + "受付番号:<br>".len();
        Some(
            self.text[at..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect(),
        )
    }

    /// The two-byte Shift_JIS codes in the user-defined area (F040–F9FC, where the carriers put
    /// their pictograms), read by walking the body as Shift_JIS.
    pub fn pictogram_codes(&self) -> Vec<u16> {
        let mut codes = Vec::new();
        let mut i = 0;
        while i < self.body.len() {
            let b = self.body[i];
            if (0x81..=0x9F).contains(&b) || (0xE0..=0xFC).contains(&b) {
                if (0xF0..=0xF9).contains(&b) {
                    if let Some(&t) = self.body.get(i + 1) {
                        codes.push(u16::from(b) << 8 | u16::from(t));
                    }
                }
                i += 2;
            } else {
                i += 1;
            }
        }
        codes
    }
}

fn unescape(s: &str) -> String {
    s.replace("&amp;", "&").replace("&quot;", "\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(html: &str) -> Resp {
        let (body, _, _) = SHIFT_JIS.encode(html);
        Resp::new(200, Vec::new(), body.into_owned())
    }

    #[test]
    fn links_and_forms_as_a_user_finds_them() {
        let p = page(
            "<a href=\"/a?x=1&amp;y=2\" accesskey=\"1\">1</a>\
             <form action=\"/f?guid=ON\"><input type=\"hidden\" name=\"sid\" value=\"S\">\
             <input type=\"hidden\" name=\"csrf\" value=\"C\"></form>受付番号:<br>0012345<br>",
        );
        assert_eq!(p.link('1').as_deref(), Some("/a?x=1&y=2"));
        assert_eq!(p.link('2'), None);
        assert_eq!(p.link_to("/a").as_deref(), Some("/a?x=1&y=2"));
        assert_eq!(
            p.filled(&[("otp", "123456")]),
            Some(("/f?guid=ON".into(), "sid=S&csrf=C&otp=123456".into()))
        );
        assert_eq!(p.csrf().as_deref(), Some("C"));
        assert_eq!(p.receipt_number().as_deref(), Some("0012345"));
    }
}
