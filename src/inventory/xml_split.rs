//! Splits an XML stream into its root element's start tag, the root's child elements of one
//! local name (PSKC's `KeyPackage`s) one at a time, and the rest of the document (the
//! skeleton), so that a file of any size is read in bounded memory and each piece can be
//! parsed whole by roxmltree (see `pskc::stream`).
//!
//! This is a tokenizer, not a parser: it knows comments, CDATA, processing instructions,
//! quoted attribute values and matching start and end tags, which is all it needs to find the
//! pieces. Whether each piece is well-formed XML, and everything about namespaces, is left to
//! roxmltree, which parses every piece. A DTD is refused here (as roxmltree refuses it).

use std::io::BufRead;

/// Largest piece kept in memory: one split-out element, or the skeleton. A PSKC
/// `KeyPackage` is about 2 KB.
pub const MAX_PIECE: usize = 1 << 20;

/// What the splitter found next.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece {
    /// A child of the root with the local name asked for: its bytes, start to end tag.
    Element(Vec<u8>),
    /// The end of the document was reached and every tag matched.
    End,
}

/// Splits an XML document read from `R`.
pub struct Splitter<R> {
    input: R,
    local_name: &'static [u8],
    /// The root's start tag (empty until it is read).
    root_start: Vec<u8>,
    root_name: Vec<u8>,
    /// Everything but the split-out elements, in order.
    skeleton: Vec<u8>,
    /// Names of the open elements (the root first).
    open: Vec<Vec<u8>>,
    /// Whether the root element has been closed (or was empty).
    closed: bool,
    /// A `<` was read at the end of the last text.
    in_tag: bool,
}

enum Token {
    Text(Vec<u8>),
    Start {
        name: Vec<u8>,
        bytes: Vec<u8>,
        empty: bool,
    },
    End {
        name: Vec<u8>,
        bytes: Vec<u8>,
    },
    /// A comment, CDATA section or processing instruction.
    Other(Vec<u8>),
}

fn local(name: &[u8]) -> &[u8] {
    match name.iter().rposition(|&b| b == b':') {
        Some(i) => &name[i + 1..],
        None => name,
    }
}

/// Whether `tag` (from `<` to a `>`) has every quoted attribute value closed.
fn quotes_closed(tag: &[u8]) -> bool {
    let mut quote = None;
    for &b in tag {
        match quote {
            None if b == b'"' || b == b'\'' => quote = Some(b),
            Some(q) if b == q => quote = None,
            _ => {}
        }
    }
    quote.is_none()
}

impl<R: BufRead> Splitter<R> {
    pub fn new(mut input: R, local_name: &'static [u8]) -> Result<Self, String> {
        let bom = input
            .fill_buf()
            .map_err(|e| e.to_string())?
            .starts_with(b"\xEF\xBB\xBF");
        if bom {
            input.consume(3);
        }
        Ok(Splitter {
            input,
            local_name,
            root_start: Vec::new(),
            root_name: Vec::new(),
            skeleton: Vec::new(),
            open: Vec::new(),
            closed: false,
            in_tag: false,
        })
    }

    /// The root's start tag, once read.
    pub fn root_start(&self) -> &[u8] {
        &self.root_start
    }

    /// The root element's end tag.
    pub fn root_end(&self) -> Vec<u8> {
        [b"</", &self.root_name[..], b">"].concat()
    }

    /// The document read so far without the split-out elements (ends with the root's end tag
    /// once [`Piece::End`] was returned).
    pub fn skeleton(&self) -> &[u8] {
        &self.skeleton
    }

    /// Reads until `delim` (included), failing at the end of input or past [`MAX_PIECE`].
    fn read_to(&mut self, delim: u8, into: &mut Vec<u8>) -> Result<bool, String> {
        let limit = (MAX_PIECE + 1 - into.len().min(MAX_PIECE)) as u64;
        let n = std::io::Read::take(self.input.by_ref(), limit)
            .read_until(delim, into)
            .map_err(|e| e.to_string())?;
        if into.len() > MAX_PIECE {
            return Err(format!("a piece of the document is over {MAX_PIECE} bytes"));
        }
        Ok(n > 0 && into.last() == Some(&delim))
    }

    fn token(&mut self) -> Result<Option<Token>, String> {
        if !self.in_tag {
            let mut text = Vec::new();
            let found = self.read_to(b'<', &mut text)?;
            if found {
                text.pop();
                self.in_tag = true;
            }
            if !text.is_empty() {
                return Ok(Some(Token::Text(text)));
            }
            if !found {
                return Ok(None);
            }
        }
        self.in_tag = false;
        let mut t = b"<".to_vec();
        let truncated = || "the document ends inside a tag".to_owned();
        if !self.read_to(b'>', &mut t)? {
            return Err(truncated());
        }
        let ends = |t: &[u8], with: &[u8]| t.len() >= with.len() + 2 && t.ends_with(with);
        let (open, close): (&[u8], &[u8]) = if t.starts_with(b"<!--") {
            (b"<!--", b"-->")
        } else if t.starts_with(b"<![CDATA[") {
            (b"<![CDATA[", b"]]>")
        } else if t.starts_with(b"<?") {
            (b"<?", b"?>")
        } else if t.starts_with(b"<!") {
            return Err("DTDs and declarations are refused".into());
        } else {
            while !quotes_closed(&t) {
                if !self.read_to(b'>', &mut t)? {
                    return Err(truncated());
                }
            }
            let end = t.starts_with(b"</");
            let from = if end { 2 } else { 1 };
            let name: Vec<u8> = t[from..]
                .iter()
                .take_while(|b| !b.is_ascii_whitespace() && **b != b'/' && **b != b'>')
                .copied()
                .collect();
            if name.is_empty() {
                return Err("a tag without a name".into());
            }
            return Ok(Some(if end {
                Token::End { name, bytes: t }
            } else {
                let empty = t.ends_with(b"/>");
                Token::Start {
                    name,
                    bytes: t,
                    empty,
                }
            }));
        };
        while !(t.len() >= open.len() + close.len() - 1 && ends(&t, close)) {
            if !self.read_to(b'>', &mut t)? {
                return Err(truncated());
            }
        }
        Ok(Some(Token::Other(t)))
    }

    fn keep(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.skeleton.extend_from_slice(bytes);
        if self.skeleton.len() > MAX_PIECE {
            return Err(format!(
                "over {MAX_PIECE} bytes outside the elements split out"
            ));
        }
        Ok(())
    }

    /// The next split-out element, or the end of the document.
    pub fn next_piece(&mut self) -> Result<Piece, String> {
        // The element being split out, and how deep inside it the reader is.
        let mut element: Option<(Vec<u8>, Vec<Vec<u8>>)> = None;
        loop {
            let Some(token) = self.token()? else {
                if element.is_some() || !self.open.is_empty() || !self.closed {
                    return Err("the document ends before its root element does".into());
                }
                return Ok(Piece::End);
            };
            if let Some((bytes, open)) = element.as_mut() {
                match &token {
                    Token::Start { name, empty, .. } if !empty => open.push(name.clone()),
                    // The guard pops the element the end tag closes.
                    Token::End { name, .. } if open.pop().as_ref() != Some(name) => {
                        return Err("an end tag does not match its start tag".into());
                    }
                    _ => {}
                }
                let raw = match &token {
                    Token::Text(b) | Token::Other(b) => b,
                    Token::Start { bytes, .. } | Token::End { bytes, .. } => bytes,
                };
                bytes.extend_from_slice(raw);
                if bytes.len() > MAX_PIECE {
                    return Err(format!("an element is over {MAX_PIECE} bytes"));
                }
                if open.is_empty() {
                    let (bytes, _) = element.take().unwrap_or_default();
                    return Ok(Piece::Element(bytes));
                }
                continue;
            }
            match token {
                Token::Text(b) => {
                    let blank = b.iter().all(u8::is_ascii_whitespace);
                    if self.open.is_empty() && !blank {
                        return Err("text outside the root element".into());
                    }
                    // The line breaks between a million packages would add up: blank text
                    // directly in the root (or outside it) is kept as at most one byte.
                    if blank && self.open.len() <= 1 {
                        if !self.skeleton.last().is_some_and(u8::is_ascii_whitespace) {
                            self.keep(b"\n")?;
                        }
                    } else {
                        self.keep(&b)?;
                    }
                }
                Token::Other(b) => self.keep(&b)?,
                Token::Start { name, bytes, empty } => {
                    if self.open.is_empty() {
                        if self.closed || !self.root_start.is_empty() {
                            return Err("a second root element".into());
                        }
                        self.root_start = bytes.clone();
                        self.root_name = name.clone();
                        self.keep(&bytes)?;
                        if empty {
                            self.closed = true;
                        } else {
                            self.open.push(name);
                        }
                    } else if self.open.len() == 1 && local(&name) == self.local_name {
                        if empty {
                            return Ok(Piece::Element(bytes));
                        }
                        element = Some((bytes, vec![name]));
                    } else {
                        self.keep(&bytes)?;
                        if !empty {
                            self.open.push(name);
                        }
                    }
                }
                Token::End { name, bytes } => {
                    if self.open.pop().as_ref() != Some(&name) {
                        return Err("an end tag does not match its start tag".into());
                    }
                    if self.open.is_empty() {
                        self.closed = true;
                    }
                    self.keep(&bytes)?;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(xml: &str) -> Result<(Vec<String>, String), String> {
        let mut s = Splitter::new(xml.as_bytes(), b"KeyPackage")?;
        let mut out = Vec::new();
        while let Piece::Element(e) = s.next_piece()? {
            out.push(String::from_utf8(e).unwrap());
        }
        Ok((out, String::from_utf8(s.skeleton().to_vec()).unwrap()))
    }

    #[test]
    fn splits_out_the_root_s_children_of_one_name() {
        let xml =
            "\u{feff}<?xml version=\"1.0\"?>\n<!-- a > b --><p:KeyContainer a='>' xmlns:p=\"x\">\
            <p:MACMethod/><p:KeyPackage n=\"1\"><p:Key><![CDATA[<p:KeyPackage>]]></p:Key>\
            </p:KeyPackage> <p:KeyPackage/><x><KeyPackage/></x></p:KeyContainer>\n";
        let (pieces, skeleton) = split(xml).unwrap();
        assert_eq!(
            pieces,
            [
                "<p:KeyPackage n=\"1\"><p:Key><![CDATA[<p:KeyPackage>]]></p:Key></p:KeyPackage>",
                "<p:KeyPackage/>"
            ]
        );
        assert_eq!(
            skeleton,
            "<?xml version=\"1.0\"?>\n<!-- a > b --><p:KeyContainer a='>' xmlns:p=\"x\">\
             <p:MACMethod/>\n<x><KeyPackage/></x></p:KeyContainer>\n"
        );
    }

    #[test]
    fn blank_text_between_many_elements_does_not_add_up() {
        let mut xml = String::from("<a>\n");
        for _ in 0..(MAX_PIECE / 8) {
            xml.push_str("<KeyPackage/>\n    \n");
        }
        xml.push_str("</a>");
        let (pieces, skeleton) = split(&xml).unwrap();
        assert_eq!(pieces.len(), MAX_PIECE / 8);
        assert_eq!(skeleton, "<a>\n</a>");
    }

    #[test]
    fn refuses_what_is_not_one_whole_element() {
        for bad in [
            "",
            "<a>",
            "<a></b>",
            "<a/><b/>",
            "text<a/>",
            "<!DOCTYPE a><a/>",
            "<a><KeyPackage><b></KeyPackage></a>",
            "<a x=\"1>",
            "<a><!-- open",
        ] {
            assert!(split(bad).is_err(), "{bad:?}");
        }
        let big = format!("<a><KeyPackage>{}</KeyPackage></a>", "x".repeat(MAX_PIECE));
        assert!(split(&big).is_err());
    }
}
