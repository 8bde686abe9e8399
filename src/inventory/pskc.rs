//! Reader for vendor token inventory files in PSKC format (RFC 6030,
//! "Portable Symmetric Key Container").
//!
//! This module owns turning a token vendor's PSKC XML document into a list of
//! [`Entry`] values: the inventory's [`Seed`]s (serial number as the file
//! gives it, TOTP parameters and the decrypted seed, wiped when dropped).
//! It does not store anything and it does not compute OTPs.
//!
//! What is supported, and everything else is refused rather than guessed:
//!
//! * Key algorithm TOTP only (`urn:ietf:params:xml:ns:keyprov:pskc:totp`);
//!   HOTP keys are refused with their own message.
//! * Hash from `AlgorithmParameters/Suite` (`HMAC-SHA1`, `HMAC-SHA256`,
//!   `HMAC-SHA512`, or an `...#hmac-sha256` style URI); SHA-1 when absent.
//! * `ResponseFormat/@Length` 6, 7 or 8 with `DECIMAL` encoding and no check
//!   digit.
//! * Secrets as `PlainValue` (base64), or as `EncryptedValue` under a
//!   pre-shared AES-128 key (`xmlenc#aes128-cbc`, IV = first 16 bytes of the
//!   `CipherValue`, PKCS#7 padding). Because CBC has no integrity of its own,
//!   every encrypted value must carry a `ValueMAC` = HMAC-SHA1(MAC key,
//!   IV || ciphertext) (RFC 6030 §6.1.1), checked in constant time before
//!   anything is decrypted. The MAC key is `MACMethod/MACKey` (itself
//!   encrypted with the pre-shared key) or, in the older form without a
//!   `MACKey`, the pre-shared key itself.
//! * `Data/Time` and `Data/TimeInterval` as plain or encrypted integers.
//!
//! Not supported (the whole read fails): password-based (PBKDF2) or
//! asymmetric `EncryptionKey`s, other ciphers (AES key wrap, 3DES, ...),
//! other MAC algorithms. XML signatures (`ds:Signature`) are not verified.
//! Documents with a DTD are refused by the XML parser (no entity expansion).
//!
//! Any bad entry fails the whole read, and the error names the entry by its
//! 1-based position among the `KeyPackage`s and by its serial when known.
//! The parser never panics on any input.

use std::collections::HashMap;
use std::fmt;

use aes::Aes128;
use cbc::cipher::{block_padding::Pkcs7, BlockModeDecrypt, KeyIvInit};
use hmac::{Hmac, KeyInit, Mac};
use roxmltree::{Document, Node, ParsingOptions};
use sha1::Sha1;
use zeroize::Zeroizing;

use super::xml_split::{Piece, Splitter};
use super::Seed;
pub use crate::otp::HashAlg;
use crate::otp::Params;
use crate::store::TokenKind;

const NS_PSKC: &str = "urn:ietf:params:xml:ns:keyprov:pskc";
const NS_XENC: &str = "http://www.w3.org/2001/04/xmlenc#";
const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";

const ALG_TOTP: &str = "urn:ietf:params:xml:ns:keyprov:pskc:totp";
const ALG_HOTP: &str = "urn:ietf:params:xml:ns:keyprov:pskc:hotp";
const ENC_AES128_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes128-cbc";
const MAC_HMAC_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#hmac-sha1";

/// AES block size, which is also the CBC IV length.
const BLOCK: usize = 16;
/// Length of the pre-shared AES-128 key.
pub const PSK_LEN: usize = 16;
/// Upper bound on XML nodes, so random input cannot exhaust memory.
/// A PSKC KeyPackage is ~30 nodes, so this allows ~300 000 tokens per file.
const NODES_LIMIT: u32 = 10_000_000;

/// One token from the PSKC file: a hardware token of the inventory. Its serial is
/// `DeviceInfo/SerialNo` (fallback: `Key/@Id`) as written; the hash comes from
/// `AlgorithmParameters/Suite` (default SHA-1), the digits from
/// `ResponseFormat/@Length`, the period from `Data/TimeInterval` (default 30)
/// and T0 from `Data/Time` (default 0).
pub type Entry = Seed;

/// Why a PSKC document was refused.
#[derive(Debug, thiserror::Error)]
pub enum PskcError {
    /// Not well-formed XML, or XML with a DTD (refused on purpose).
    #[error("not well-formed XML (DTDs are refused): {0}")]
    Xml(#[from] roxmltree::Error),
    /// Not one whole XML document (or a piece over the size limit), found while splitting it
    /// (see `xml_split`).
    #[error("cannot read the XML document: {0}")]
    Malformed(String),
    /// Well-formed XML, but not a PSKC 1.0 `KeyContainer`.
    #[error("not a PSKC document: {0}")]
    NotPskc(String),
    /// The pre-shared key given by the caller is not an AES-128 key.
    #[error("pre-shared key must be {PSK_LEN} bytes (AES-128), got {0} bytes")]
    BadPskLength(usize),
    /// `EncryptionKey` uses a scheme other than a pre-shared key.
    #[error("EncryptionKey: {0}")]
    EncryptionKey(String),
    /// `MACMethod` is unsupported, or its `MACKey` cannot be decrypted.
    #[error("MACMethod: {0}")]
    MacMethod(String),
    /// One `KeyPackage` is bad; `index` is 1-based.
    #[error("entry {index}{}: {problem}", SerialSuffix(.serial))]
    Entry {
        index: usize,
        serial: Option<String>,
        problem: EntryProblem,
    },
}

impl PskcError {
    /// The 1-based index of the bad entry, when the error is about one entry.
    pub fn entry_index(&self) -> Option<usize> {
        match self {
            PskcError::Entry { index, .. } => Some(*index),
            _ => None,
        }
    }
}

/// What is wrong with one entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryProblem {
    #[error("KeyPackage has no Key")]
    NoKey,
    #[error("no DeviceInfo/SerialNo and no Key/@Id")]
    MissingSerial,
    #[error("serial already used by entry {0}")]
    DuplicateSerial(usize),
    #[error("HOTP (counter-based) keys are not supported; only TOTP ({ALG_TOTP})")]
    Hotp,
    #[error("unsupported key algorithm {0:?}; only TOTP ({ALG_TOTP})")]
    UnsupportedAlgorithm(String),
    #[error("unsupported AlgorithmParameters/Suite {0:?} (expected HMAC-SHA1, HMAC-SHA256 or HMAC-SHA512)")]
    UnsupportedSuite(String),
    #[error("no AlgorithmParameters/ResponseFormat/@Length (number of digits)")]
    MissingDigits,
    #[error("ResponseFormat/@Length {0:?} is not 6, 7 or 8")]
    BadDigits(String),
    #[error("ResponseFormat/@Encoding {0:?} is not DECIMAL")]
    UnsupportedEncoding(String),
    #[error("ResponseFormat/@CheckDigits (Luhn digit) is not supported")]
    CheckDigits,
    #[error("no Data/Secret")]
    MissingSecret,
    #[error("{0}")]
    Structure(String),
    #[error("{field}: {reason}")]
    BadValue { field: &'static str, reason: String },
    #[error("{field} is encrypted but no pre-shared key was supplied")]
    NoPsk { field: &'static str },
    #[error("{field}: unsupported encryption algorithm {algorithm:?} (only {ENC_AES128_CBC})")]
    UnsupportedEncryption {
        field: &'static str,
        algorithm: String,
    },
    #[error("{field} is encrypted but has no ValueMAC (required for CBC encryption)")]
    MissingMac { field: &'static str },
    #[error("{field} has a ValueMAC but the file has no MACMethod")]
    NoMacMethod { field: &'static str },
    #[error("MAC mismatch on {field}")]
    MacMismatch { field: &'static str },
    #[error("could not decrypt {field} (bad padding: wrong pre-shared key or corrupt data)")]
    DecryptFailed { field: &'static str },
}

/// Formats ` (serial X)` when the serial is known, escaping control characters.
struct SerialSuffix<'a>(&'a Option<String>);

impl fmt::Display for SerialSuffix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(s) => write!(f, " (serial {})", s.escape_debug()),
            None => Ok(()),
        }
    }
}

/// Reads a whole PSKC document (see [`stream`], which this collects).
///
/// `psk`: the pre-shared key (AES-128 key, 16 bytes) when the file's secrets
/// are encrypted; it is ignored for a file with plaintext secrets only.
///
/// Any bad entry (missing serial, unsupported algorithm, bad digits, missing
/// secret, wrong MAC, decrypt failure, encrypted value but no `psk`) fails the
/// whole read and names the entry; so does a serial used twice. A container
/// with no `KeyPackage` gives an empty list.
pub fn parse(xml: &str, psk: Option<&[u8]>) -> Result<Vec<Entry>, PskcError> {
    let mut out: Vec<Entry> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, entry) in stream(xml.as_bytes(), psk)?.enumerate() {
        let entry = entry?;
        let index = i + 1;
        if let Some(&first) = seen.get(&entry.serial) {
            // Dropping the entries wipes their seeds.
            return Err(PskcError::Entry {
                index,
                serial: Some(entry.serial.clone()),
                problem: EntryProblem::DuplicateSerial(first),
            });
        }
        seen.insert(entry.serial.clone(), index);
        out.push(entry);
    }
    Ok(out)
}

fn options<'i>() -> ParsingOptions<'i> {
    ParsingOptions {
        allow_dtd: false,
        nodes_limit: NODES_LIMIT,
        ..ParsingOptions::default()
    }
}

/// Reads a PSKC document as a stream, in bounded memory whatever its size: the document is
/// split at its `KeyPackage`s ([`super::xml_split`]); the rest of it (container, `MACMethod`,
/// `EncryptionKey`) is parsed and checked when the first package is reached, each package is
/// parsed (with the root's namespace declarations) and decrypted as it is read, and the
/// whole rest of the document is parsed at the end. Yields each entry, or the first error,
/// after which it ends. Duplicate serials are not looked for here (see [`parse`]); a caller
/// must treat any error as the whole file refused.
pub fn stream<'k, R: std::io::BufRead>(
    input: R,
    psk: Option<&'k [u8]>,
) -> Result<Stream<'k, R>, PskcError> {
    if let Some(k) = psk {
        if k.len() != PSK_LEN {
            return Err(PskcError::BadPskLength(k.len()));
        }
    }
    let split = Splitter::new(input, b"KeyPackage").map_err(PskcError::Malformed)?;
    Ok(Stream {
        split,
        psk,
        keys: None,
        index: 0,
        done: false,
    })
}

/// The entries of a PSKC document as it is read (see [`stream`]).
pub struct Stream<'k, R> {
    split: Splitter<R>,
    psk: Option<&'k [u8]>,
    /// Resolved from the container when the first package is reached.
    keys: Option<Keys<'k>>,
    /// PSKC `KeyPackage`s read.
    index: usize,
    done: bool,
}

impl<'k, R: std::io::BufRead> Stream<'k, R> {
    /// Checks the container (everything but the packages, `close`d when the document is not
    /// read to its end yet) and resolves its keys.
    fn container(&mut self, close: bool) -> Result<(), PskcError> {
        let mut xml = self.split.skeleton().to_vec();
        if close {
            xml.extend_from_slice(&self.split.root_end());
        }
        let text = std::str::from_utf8(&xml)
            .map_err(|_| PskcError::Malformed("the document is not UTF-8".into()))?;
        let doc = Document::parse_with_options(text, options())?;
        let root = doc.root_element();
        if !root.has_tag_name((NS_PSKC, "KeyContainer")) {
            return Err(PskcError::NotPskc(format!(
                "root element is {:?} in namespace {:?}, expected KeyContainer in {NS_PSKC}",
                root.tag_name().name(),
                root.tag_name().namespace().unwrap_or("")
            )));
        }
        if let Some(v) = root.attribute("Version") {
            if v.trim() != "1.0" {
                return Err(PskcError::NotPskc(format!(
                    "unsupported Version {v:?} (expected 1.0)"
                )));
            }
        }
        check_encryption_key(root)?;
        if self.keys.is_none() {
            self.keys = Some(Keys::new(root, self.psk)?);
        }
        Ok(())
    }

    /// The entry of one split-out package, `None` when it is not a PSKC `KeyPackage`.
    fn package(&mut self, bytes: &[u8]) -> Result<Option<Entry>, PskcError> {
        if self.keys.is_none() {
            self.container(true)?;
        }
        let xml = [self.split.root_start(), bytes, &self.split.root_end()].concat();
        let text = std::str::from_utf8(&xml)
            .map_err(|_| PskcError::Malformed("a KeyPackage is not UTF-8".into()))?;
        let doc = Document::parse_with_options(text, options())?;
        let Some(package) = pskc_children(doc.root_element(), "KeyPackage").next() else {
            return Ok(None);
        };
        self.index += 1;
        let keys = self
            .keys
            .as_ref()
            .ok_or_else(|| PskcError::Malformed("the container was not read".into()))?;
        parse_package(package, keys)
            .map(Some)
            .map_err(|(serial, problem)| PskcError::Entry {
                index: self.index,
                serial,
                problem,
            })
    }

    fn step(&mut self) -> Result<Option<Entry>, PskcError> {
        loop {
            match self.split.next_piece().map_err(PskcError::Malformed)? {
                Piece::Element(bytes) => {
                    if let Some(entry) = self.package(&bytes)? {
                        return Ok(Some(entry));
                    }
                }
                Piece::End => {
                    self.container(false)?;
                    return Ok(None);
                }
            }
        }
    }
}

impl<R: std::io::BufRead> Iterator for Stream<'_, R> {
    type Item = Result<Entry, PskcError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.step() {
            Ok(Some(entry)) => Some(Ok(entry)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Refuses `EncryptionKey` forms other than a pre-shared key named by
/// `ds:KeyName` (e.g. PBKDF2 `DerivedKey`, `X509Data`).
fn check_encryption_key(root: Node) -> Result<(), PskcError> {
    let mut keys = pskc_children(root, "EncryptionKey");
    let Some(ek) = keys.next() else {
        return Ok(());
    };
    if keys.next().is_some() {
        return Err(PskcError::EncryptionKey(
            "more than one EncryptionKey".into(),
        ));
    }
    for c in ek.children().filter(Node::is_element) {
        if !c.has_tag_name((NS_DS, "KeyName")) {
            let name = c.tag_name().name();
            let what = if name == "DerivedKey" {
                "password-based key derivation (DerivedKey/PBKDF2) is not supported"
            } else {
                "only a pre-shared key (ds:KeyName) is supported"
            };
            return Err(PskcError::EncryptionKey(format!(
                "{what}; found element {name:?}"
            )));
        }
    }
    Ok(())
}

/// The pre-shared key and the MAC key, resolved once per document.
struct Keys<'a> {
    psk: Option<&'a [u8]>,
    /// `None`: the file has no `MACMethod`.
    mac: Option<MacKey>,
}

enum MacKey {
    /// The MAC key (decrypted `MACKey`, or the PSK in the older form).
    Key(Zeroizing<Vec<u8>>),
    /// A `MACKey` exists but no PSK was supplied to decrypt it; any
    /// encrypted value then fails with [`EntryProblem::NoPsk`] first.
    NeedsPsk,
}

impl<'a> Keys<'a> {
    fn new(root: Node, psk: Option<&'a [u8]>) -> Result<Self, PskcError> {
        let mut methods = pskc_children(root, "MACMethod");
        let Some(method) = methods.next() else {
            return Ok(Keys { psk, mac: None });
        };
        if methods.next().is_some() {
            return Err(PskcError::MacMethod("more than one MACMethod".into()));
        }
        let alg = method.attribute("Algorithm").unwrap_or("").trim();
        if alg != MAC_HMAC_SHA1 {
            return Err(PskcError::MacMethod(format!(
                "unsupported MAC algorithm {alg:?} (only {MAC_HMAC_SHA1})"
            )));
        }
        let mac_key = unique_pskc_child(method, "MACKey").map_err(PskcError::MacMethod)?;
        let mac = match (mac_key, psk) {
            (Some(_), None) => MacKey::NeedsPsk,
            (Some(mk), Some(k)) => {
                let key = decrypt_encrypted_data(mk, k).map_err(|e| {
                    PskcError::MacMethod(format!("MACKey: {e} (wrong pre-shared key?)"))
                })?;
                if key.is_empty() {
                    return Err(PskcError::MacMethod("MACKey is empty".into()));
                }
                MacKey::Key(key)
            }
            // RFC 6030 older form: no MACKey, the MAC key is the PSK itself.
            (None, Some(k)) => MacKey::Key(Zeroizing::new(k.to_vec())),
            (None, None) => MacKey::NeedsPsk,
        };
        Ok(Keys {
            psk,
            mac: Some(mac),
        })
    }
}

/// Decrypts an element holding `xenc:EncryptionMethod` and
/// `xenc:CipherData/xenc:CipherValue` (used for `MACKey`, which has no MAC).
fn decrypt_encrypted_data(node: Node, psk: &[u8]) -> Result<Zeroizing<Vec<u8>>, String> {
    let alg = encryption_algorithm(node)?;
    if alg != ENC_AES128_CBC {
        return Err(format!(
            "unsupported encryption algorithm {alg:?} (only {ENC_AES128_CBC})"
        ));
    }
    let data = cipher_value(node)?;
    aes128_cbc_decrypt(psk, &data).ok_or_else(|| "could not decrypt (bad padding)".to_string())
}

fn encryption_algorithm(node: Node) -> Result<String, String> {
    let method =
        unique_child(node, NS_XENC, "EncryptionMethod")?.ok_or("no xenc:EncryptionMethod")?;
    Ok(method
        .attribute("Algorithm")
        .unwrap_or("")
        .trim()
        .to_string())
}

fn cipher_value(node: Node) -> Result<Vec<u8>, String> {
    let data = unique_child(node, NS_XENC, "CipherData")?.ok_or("no xenc:CipherData")?;
    let value = unique_child(data, NS_XENC, "CipherValue")?.ok_or("no xenc:CipherValue")?;
    let raw = decode_base64(&text_of(value)).ok_or("CipherValue is not valid base64")?;
    if raw.len() < 2 * BLOCK || raw.len() % BLOCK != 0 {
        return Err(format!(
            "CipherValue is {} bytes; expected a 16-byte IV plus whole 16-byte blocks",
            raw.len()
        ));
    }
    Ok(raw)
}

/// AES-128-CBC decryption of `iv || ciphertext` with PKCS#7 padding.
/// `None` on a wrong key/IV length, a partial block or bad padding.
fn aes128_cbc_decrypt(key: &[u8], data: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let (iv, ct) = data.split_at_checked(BLOCK)?;
    if ct.is_empty() || ct.len() % BLOCK != 0 {
        return None;
    }
    let dec = cbc::Decryptor::<Aes128>::new_from_slices(key, iv).ok()?;
    let mut buf = Zeroizing::new(ct.to_vec());
    let len = dec.decrypt_padded::<Pkcs7>(&mut buf).ok()?.len();
    buf.truncate(len);
    Some(buf)
}

/// Constant-time check of HMAC-SHA1(key, data) against `expected`.
fn hmac_sha1_verify(key: &[u8], data: &[u8], expected: &[u8]) -> bool {
    let Ok(mut mac) = <Hmac<Sha1> as KeyInit>::new_from_slice(key) else {
        return false;
    };
    mac.update(data);
    mac.verify_slice(expected).is_ok()
}

/// Parses one `KeyPackage`. On error returns the serial if it was known.
fn parse_package(package: Node, keys: &Keys) -> Result<Entry, (Option<String>, EntryProblem)> {
    let key = unique_pskc_child(package, "Key")
        .map_err(|e| (None, EntryProblem::Structure(e)))?
        .ok_or((None, EntryProblem::NoKey))?;
    let serial = find_serial(package, key).map_err(|p| (None, p))?;
    let with_serial = |p: EntryProblem| (Some(serial.clone()), p);
    let entry = parse_key(key, keys, &serial).map_err(with_serial)?;
    Ok(entry)
}

fn find_serial(package: Node, key: Node) -> Result<String, EntryProblem> {
    let structure = EntryProblem::Structure;
    if let Some(info) = unique_pskc_child(package, "DeviceInfo").map_err(structure)? {
        if let Some(sn) = unique_pskc_child(info, "SerialNo").map_err(structure)? {
            let s = text_of(sn);
            let s = s.trim();
            if !s.is_empty() {
                return Ok(s.to_string());
            }
        }
    }
    match key.attribute("Id").map(str::trim) {
        Some(id) if !id.is_empty() => Ok(id.to_string()),
        _ => Err(EntryProblem::MissingSerial),
    }
}

fn parse_key(key: Node, keys: &Keys, serial: &str) -> Result<Entry, EntryProblem> {
    let structure = EntryProblem::Structure;
    let alg = key.attribute("Algorithm").unwrap_or("").trim();
    if alg.eq_ignore_ascii_case(ALG_HOTP) {
        return Err(EntryProblem::Hotp);
    }
    if !alg.eq_ignore_ascii_case(ALG_TOTP) {
        return Err(EntryProblem::UnsupportedAlgorithm(alg.to_string()));
    }

    let params = unique_pskc_child(key, "AlgorithmParameters").map_err(structure)?;
    let algorithm = match params
        .map(|p| unique_pskc_child(p, "Suite"))
        .transpose()
        .map_err(structure)?
        .flatten()
    {
        Some(suite) => parse_suite(&text_of(suite))?,
        None => HashAlg::Sha1,
    };
    let format = params
        .map(|p| unique_pskc_child(p, "ResponseFormat"))
        .transpose()
        .map_err(structure)?
        .flatten()
        .ok_or(EntryProblem::MissingDigits)?;
    let digits = parse_digits(
        format
            .attribute("Length")
            .ok_or(EntryProblem::MissingDigits)?,
    )?;
    if let Some(enc) = format.attribute("Encoding") {
        if !enc.trim().eq_ignore_ascii_case("DECIMAL") {
            return Err(EntryProblem::UnsupportedEncoding(enc.to_string()));
        }
    }
    if let Some(check) = format.attribute("CheckDigits") {
        if matches!(check.trim(), "true" | "1") {
            return Err(EntryProblem::CheckDigits);
        }
    }

    let data = unique_pskc_child(key, "Data")
        .map_err(structure)?
        .ok_or(EntryProblem::MissingSecret)?;
    let secret_node = unique_pskc_child(data, "Secret")
        .map_err(structure)?
        .ok_or(EntryProblem::MissingSecret)?;
    let time = unique_pskc_child(data, "Time").map_err(structure)?;
    let interval = unique_pskc_child(data, "TimeInterval").map_err(structure)?;

    let t0 = match time {
        Some(n) => read_int(n, "Time", keys)?,
        None => 0,
    };
    let period = match interval {
        Some(n) => read_int(n, "TimeInterval", keys)?,
        None => 30,
    };
    if period == 0 {
        return Err(EntryProblem::BadValue {
            field: "TimeInterval",
            reason: "must be greater than 0".into(),
        });
    }

    // The secret last, so that no decrypted seed is held while other fields
    // can still fail.
    let secret = read_value(secret_node, "Secret", keys, |text| {
        decode_base64(text)
            .map(Zeroizing::new)
            .ok_or_else(|| "PlainValue is not valid base64".to_string())
    })?;
    if secret.is_empty() {
        return Err(EntryProblem::BadValue {
            field: "Secret",
            reason: "is empty".into(),
        });
    }
    Ok(Entry {
        serial: serial.to_string(),
        kind: TokenKind::Hardware,
        params: Params {
            algorithm,
            digits,
            period,
            t0,
        },
        secret,
    })
}

/// Reads a PSKC integer value (`PlainValue` decimal text, or an encrypted
/// value holding ASCII digits or a big-endian binary integer, as python-pskc
/// and RFC 6030 §4.3.4 allow).
fn read_int(node: Node, field: &'static str, keys: &Keys) -> Result<u64, EntryProblem> {
    let bad = |reason: &str| EntryProblem::BadValue {
        field,
        reason: reason.to_string(),
    };
    let plain = |text: &str| -> Result<Zeroizing<Vec<u8>>, String> {
        parse_decimal(text)
            .map(|n| Zeroizing::new(n.to_be_bytes().to_vec()))
            .ok_or_else(|| format!("PlainValue {:?} is not a non-negative integer", text.trim()))
    };
    let bytes = read_value(node, field, keys, plain)?;
    // Plain values come back as 8 big-endian bytes; decrypted ones may be
    // ASCII digits or big-endian binary.
    if !bytes.is_empty() && bytes.iter().all(u8::is_ascii_digit) && node_is_encrypted(node) {
        let s = std::str::from_utf8(&bytes).map_err(|_| bad("not UTF-8"))?;
        return parse_decimal(s).ok_or_else(|| bad("decrypted value does not fit in 64 bits"));
    }
    be_u64(&bytes).ok_or_else(|| bad("value does not fit in 64 bits"))
}

fn node_is_encrypted(node: Node) -> bool {
    pskc_children(node, "EncryptedValue").next().is_some()
}

/// Reads a PSKC data element (`Secret`, `Time`, ...) holding either a
/// `PlainValue` (converted by `plain`) or an `EncryptedValue` (+ `ValueMAC`).
fn read_value(
    node: Node,
    field: &'static str,
    keys: &Keys,
    plain: impl Fn(&str) -> Result<Zeroizing<Vec<u8>>, String>,
) -> Result<Zeroizing<Vec<u8>>, EntryProblem> {
    let structure = |e: String| EntryProblem::Structure(format!("{field}: {e}"));
    let bad = |reason: String| EntryProblem::BadValue { field, reason };
    let plain_node = unique_pskc_child(node, "PlainValue").map_err(structure)?;
    let enc_node = unique_pskc_child(node, "EncryptedValue").map_err(structure)?;
    let mac_node = unique_pskc_child(node, "ValueMAC").map_err(structure)?;
    match (plain_node, enc_node) {
        (Some(_), Some(_)) => Err(bad("has both PlainValue and EncryptedValue".into())),
        (None, None) => Err(bad("has neither PlainValue nor EncryptedValue".into())),
        // The text is the seed in base64: wiped too.
        (Some(p), None) => plain(&Zeroizing::new(text_of(p))).map_err(bad),
        (None, Some(ev)) => {
            let psk = keys.psk.ok_or(EntryProblem::NoPsk { field })?;
            let alg = encryption_algorithm(ev).map_err(bad)?;
            if alg != ENC_AES128_CBC {
                return Err(EntryProblem::UnsupportedEncryption {
                    field,
                    algorithm: alg,
                });
            }
            let data = cipher_value(ev).map_err(bad)?;
            let mac_node = mac_node.ok_or(EntryProblem::MissingMac { field })?;
            let mac_key = match &keys.mac {
                None => return Err(EntryProblem::NoMacMethod { field }),
                Some(MacKey::NeedsPsk) => return Err(EntryProblem::NoPsk { field }),
                Some(MacKey::Key(k)) => k,
            };
            let expected = decode_base64(&text_of(mac_node))
                .ok_or_else(|| bad("ValueMAC is not valid base64".into()))?;
            // Encrypt-then-MAC: check before touching the padding.
            if !hmac_sha1_verify(mac_key, &data, &expected) {
                return Err(EntryProblem::MacMismatch { field });
            }
            aes128_cbc_decrypt(psk, &data).ok_or(EntryProblem::DecryptFailed { field })
        }
    }
}

/// Maps an `AlgorithmParameters/Suite` value to a hash.
fn parse_suite(text: &str) -> Result<HashAlg, EntryProblem> {
    let t = text.trim();
    // Accept a URI such as ".../xmldsig-more#hmac-sha256": use its fragment.
    let name = t.rsplit('#').next().unwrap_or(t).to_ascii_lowercase();
    let name = name.strip_prefix("hmac").unwrap_or(&name);
    let compact: String = name.chars().filter(|c| *c != '-' && *c != '_').collect();
    match compact.as_str() {
        "sha1" => Ok(HashAlg::Sha1),
        "sha256" => Ok(HashAlg::Sha256),
        "sha512" => Ok(HashAlg::Sha512),
        _ => Err(EntryProblem::UnsupportedSuite(t.to_string())),
    }
}

fn parse_digits(text: &str) -> Result<u8, EntryProblem> {
    match text.trim().parse::<u8>() {
        Ok(d @ 6..=8) => Ok(d),
        _ => Err(EntryProblem::BadDigits(text.to_string())),
    }
}

/// Strict unsigned decimal (ASCII digits only, surrounding whitespace allowed).
fn parse_decimal(text: &str) -> Option<u64> {
    let t = text.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// Big-endian unsigned integer of at most 8 significant bytes.
fn be_u64(bytes: &[u8]) -> Option<u64> {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    let significant = bytes.get(start..)?;
    if significant.len() > 8 {
        return None;
    }
    Some(
        significant
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
    )
}

/// Standard base64 (with padding); whitespace anywhere is ignored, since
/// vendors and the RFC examples wrap long values.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let compact: Zeroizing<Vec<u8>> =
        Zeroizing::new(text.bytes().filter(|b| !b.is_ascii_whitespace()).collect());
    if compact.is_empty() {
        return None;
    }
    data_encoding::BASE64.decode(&compact).ok()
}

/// All text directly inside an element (comments and child elements skipped).
fn text_of(node: Node) -> String {
    node.children()
        .filter(Node::is_text)
        .filter_map(|n| n.text())
        .collect()
}

fn pskc_children<'a, 'input: 'a>(
    node: Node<'a, 'input>,
    name: &'static str,
) -> impl Iterator<Item = Node<'a, 'input>> + 'a {
    node.children()
        .filter(move |c| c.is_element() && c.has_tag_name((NS_PSKC, name)))
}

/// The only child element `ns:name`, `None` if absent, an error if repeated.
fn unique_child<'a, 'input>(
    node: Node<'a, 'input>,
    ns: &str,
    name: &str,
) -> Result<Option<Node<'a, 'input>>, String> {
    let mut it = node
        .children()
        .filter(|c| c.is_element() && c.has_tag_name((ns, name)));
    let first = it.next();
    if it.next().is_some() {
        return Err(format!(
            "more than one {name} in {}",
            node.tag_name().name()
        ));
    }
    Ok(first)
}

fn unique_pskc_child<'a, 'input>(
    node: Node<'a, 'input>,
    name: &str,
) -> Result<Option<Node<'a, 'input>>, String> {
    unique_child(node, NS_PSKC, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suite_names() {
        assert_eq!(parse_suite("HMAC-SHA1"), Ok(HashAlg::Sha1));
        assert_eq!(parse_suite(" hmac-sha256 "), Ok(HashAlg::Sha256));
        assert_eq!(parse_suite("HMAC-SHA-512"), Ok(HashAlg::Sha512));
        assert_eq!(parse_suite("SHA256"), Ok(HashAlg::Sha256));
        assert_eq!(
            parse_suite("http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"),
            Ok(HashAlg::Sha256)
        );
        assert!(matches!(
            parse_suite("HMAC-MD5"),
            Err(EntryProblem::UnsupportedSuite(_))
        ));
        assert!(parse_suite("").is_err());
    }

    #[test]
    fn digits_range() {
        assert_eq!(parse_digits("6"), Ok(6));
        assert_eq!(parse_digits(" 8 "), Ok(8));
        for bad in ["5", "9", "", "six", "-6", "256", "6.0"] {
            assert!(parse_digits(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn decimal() {
        assert_eq!(parse_decimal(" 60 "), Some(60));
        assert_eq!(parse_decimal("0"), Some(0));
        assert_eq!(parse_decimal("18446744073709551615"), Some(u64::MAX));
        for bad in ["", "-1", "+1", "1e3", "18446744073709551616", "0x10", "1 2"] {
            assert_eq!(parse_decimal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn big_endian() {
        assert_eq!(be_u64(&[]), Some(0));
        assert_eq!(be_u64(&[0x01, 0x00]), Some(256));
        assert_eq!(be_u64(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0x3c]), Some(60));
        assert_eq!(be_u64(&[0xff; 8]), Some(u64::MAX));
        assert_eq!(be_u64(&[1, 0, 0, 0, 0, 0, 0, 0, 0]), None);
    }

    #[test]
    fn base64_whitespace_and_strictness() {
        assert_eq!(decode_base64("  MTIz\n NDU2\t"), Some(b"123456".to_vec()));
        assert_eq!(decode_base64(""), None);
        assert_eq!(decode_base64("   "), None);
        assert_eq!(decode_base64("MTIzNDU2!"), None);
        assert_eq!(decode_base64("MTI"), None); // missing padding
    }

    #[test]
    fn cbc_roundtrip_and_failures() {
        use cbc::cipher::BlockModeEncrypt;
        let key = [7u8; 16];
        let iv = [9u8; 16];
        let pt = b"12345678901234567890";
        let mut buf = [0u8; 32];
        buf[..pt.len()].copy_from_slice(pt);
        let ct = cbc::Encryptor::<Aes128>::new_from_slices(&key, &iv)
            .unwrap()
            .encrypt_padded::<Pkcs7>(&mut buf, pt.len())
            .unwrap();
        let mut data = iv.to_vec();
        data.extend_from_slice(ct);
        assert_eq!(aes128_cbc_decrypt(&key, &data).unwrap().as_slice(), pt);
        // wrong key: padding check fails (or, rarely, garbage comes back)
        assert_ne!(
            aes128_cbc_decrypt(&[8u8; 16], &data).map(|v| v.to_vec()),
            Some(pt.to_vec())
        );
        assert!(aes128_cbc_decrypt(&key, &data[..16]).is_none());
        assert!(aes128_cbc_decrypt(&key, &data[..20]).is_none());
        assert!(aes128_cbc_decrypt(&key, &[]).is_none());
        assert!(aes128_cbc_decrypt(&[1u8; 5], &data).is_none());
    }

    #[test]
    fn hmac_verify() {
        // RFC 2202 test case 2
        let mac = [
            0xef, 0xfc, 0xdf, 0x6a, 0xe5, 0xeb, 0x2f, 0xa2, 0xd2, 0x74, 0x16, 0xd5, 0xf1, 0x84,
            0xdf, 0x9c, 0x25, 0x9a, 0x7c, 0x79,
        ];
        assert!(hmac_sha1_verify(
            b"Jefe",
            b"what do ya want for nothing?",
            &mac
        ));
        assert!(!hmac_sha1_verify(
            b"Jefe",
            b"what do ya want for nothing!",
            &mac
        ));
        assert!(!hmac_sha1_verify(
            b"Jefe",
            b"what do ya want for nothing?",
            &mac[..19]
        ));
        assert!(!hmac_sha1_verify(
            b"Jefe",
            b"what do ya want for nothing?",
            &[]
        ));
    }

    #[test]
    fn serial_suffix_escapes() {
        let e = PskcError::Entry {
            index: 3,
            serial: Some("ABC123".into()),
            problem: EntryProblem::MacMismatch { field: "Secret" },
        };
        assert_eq!(
            e.to_string(),
            "entry 3 (serial ABC123): MAC mismatch on Secret"
        );
        let e = PskcError::Entry {
            index: 2,
            serial: Some("A\nB".into()),
            problem: EntryProblem::MissingSecret,
        };
        assert_eq!(e.to_string(), "entry 2 (serial A\\nB): no Data/Secret");
        let e = PskcError::Entry {
            index: 1,
            serial: None,
            problem: EntryProblem::MissingSerial,
        };
        assert_eq!(
            e.to_string(),
            "entry 1: no DeviceInfo/SerialNo and no Key/@Id"
        );
        assert_eq!(e.entry_index(), Some(1));
    }

    fn doc(body: &str) -> String {
        format!(
            r#"<?xml version="1.0"?><KeyContainer Version="1.0" xmlns="{NS_PSKC}">{body}</KeyContainer>"#
        )
    }

    fn totp_package(serial: &str, extra_data: &str) -> String {
        format!(
            r#"<KeyPackage><DeviceInfo><SerialNo>{serial}</SerialNo></DeviceInfo>
            <Key Algorithm="{ALG_TOTP}"><AlgorithmParameters><ResponseFormat Length="6" Encoding="DECIMAL"/></AlgorithmParameters>
            <Data><Secret><PlainValue>MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=</PlainValue></Secret>{extra_data}</Data></Key></KeyPackage>"#
        )
    }

    #[test]
    fn minimal_plain_defaults() {
        let v = parse(&doc(&totp_package("S1", "")), None).unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].serial, "S1");
        assert_eq!(
            v[0].params,
            Params {
                algorithm: HashAlg::Sha1,
                digits: 6,
                period: 30,
                t0: 0,
            }
        );
        assert_eq!(&v[0].secret[..], b"12345678901234567890");
    }

    #[test]
    fn key_id_fallback_and_duplicates() {
        let pkg = format!(
            r#"<KeyPackage><Key Id="KEYID7" Algorithm="{ALG_TOTP}"><AlgorithmParameters><ResponseFormat Length="8"/></AlgorithmParameters>
            <Data><Secret><PlainValue>MTIz</PlainValue></Secret></Data></Key></KeyPackage>"#
        );
        let v = parse(&doc(&pkg), None).unwrap();
        assert_eq!(v[0].serial, "KEYID7");
        assert_eq!(v[0].params.digits, 8);

        let two = format!("{}{}", totp_package("S1", ""), totp_package("S1", ""));
        let e = parse(&doc(&two), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "entry 2 (serial S1): serial already used by entry 1"
        );
    }

    #[test]
    fn bad_fields() {
        let cases: &[(&str, &str)] = &[
            (
                "<TimeInterval><PlainValue>0</PlainValue></TimeInterval>",
                "TimeInterval",
            ),
            (
                "<TimeInterval><PlainValue>-30</PlainValue></TimeInterval>",
                "TimeInterval",
            ),
            ("<Time><PlainValue>soon</PlainValue></Time>", "Time"),
            (
                "<Time><PlainValue>1</PlainValue><PlainValue>2</PlainValue></Time>",
                "more than one",
            ),
        ];
        for (extra, needle) in cases {
            let e = parse(&doc(&totp_package("S9", extra)), None).unwrap_err();
            let msg = e.to_string();
            assert!(msg.starts_with("entry 1 (serial S9): "), "{msg}");
            assert!(msg.contains(needle), "{msg}");
        }
    }

    #[test]
    fn not_pskc() {
        assert!(matches!(parse("<a/>", None), Err(PskcError::NotPskc(_))));
        assert!(matches!(
            parse(
                &format!(r#"<KeyContainer Version="2.0" xmlns="{NS_PSKC}"/>"#),
                None
            ),
            Err(PskcError::NotPskc(_))
        ));
        assert!(matches!(
            parse("", None),
            Err(PskcError::Xml(_) | PskcError::Malformed(_))
        ));
        assert!(parse(&doc(""), None).unwrap().is_empty());
    }

    #[test]
    fn dtd_refused() {
        let xml = format!(
            r#"<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a "aaaaaaaa">]><KeyContainer Version="1.0" xmlns="{NS_PSKC}"/>"#
        );
        assert!(matches!(
            parse(&xml, None),
            Err(PskcError::Xml(_) | PskcError::Malformed(_))
        ));
    }

    #[test]
    fn psk_length_checked() {
        assert!(matches!(
            parse(&doc(""), Some(&[0u8; 15])),
            Err(PskcError::BadPskLength(15))
        ));
        assert!(matches!(
            parse(&doc(""), Some(&[0u8; 32])),
            Err(PskcError::BadPskLength(32))
        ));
    }

    #[test]
    fn pbkdf2_refused() {
        let body = r#"<EncryptionKey><DerivedKey xmlns="http://www.w3.org/2009/xmlenc11#"/></EncryptionKey>"#;
        let e = parse(&doc(body), Some(&[0u8; 16])).unwrap_err();
        assert!(matches!(e, PskcError::EncryptionKey(_)));
        assert!(e.to_string().contains("PBKDF2"), "{e}");
    }
}

#[cfg(test)]
mod hostile_input {
    use super::*;

    #[test]
    fn error_is_send_sync_static() {
        fn check<T: Send + Sync + 'static + std::error::Error>() {}
        check::<PskcError>();
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let depth = 200_000;
        let open = "<a>".repeat(depth);
        let close = "</a>".repeat(depth);
        let inside_root = format!(
            r#"<KeyContainer Version="1.0" xmlns="{NS_PSKC}">{open}{close}</KeyContainer>"#
        );
        // Either refused by the parser or parsed with no KeyPackage.
        if let Ok(v) = parse(&inside_root, None) {
            assert!(v.is_empty());
        }
        assert!(parse(&open, None).is_err());
        let in_secret = format!(
            r#"<KeyContainer Version="1.0" xmlns="{NS_PSKC}"><KeyPackage><Key Id="X" Algorithm="{ALG_TOTP}"><AlgorithmParameters><ResponseFormat Length="6"/></AlgorithmParameters><Data><Secret>{open}{close}</Secret></Data></Key></KeyPackage></KeyContainer>"#
        );
        assert!(parse(&in_secret, None).is_err());
    }
}
