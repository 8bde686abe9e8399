//! Signed anti-forgery values that live in the form, not on the server: a time window and an
//! HMAC-SHA256 over the form's purpose, that window and what the value is bound to (the
//! visitor's client, or a random cookie value), under a key derived from the master key.
//!
//! The pages before any session use them — the phone login form and the branch console's
//! sign-in page — so that opening those pages, however often, makes the gateway store nothing,
//! while a form posted from a foreign page (without a value, with a made-up or an old one)
//! is refused. A value is good in the window it was issued in and the next one.

use hmac::{Hmac, KeyInit, Mac};
use sha2_11::block_api::compress256;
use sha2_11::Sha256;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

/// Bytes of the MAC a value carries (96 bits: a forger's chance per try is 2^-96).
const MAC_BYTES: usize = 12;

/// What a value is for; a value for one purpose is worth nothing for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The phone login form (`POST /login`), bound to the phone's client.
    PhoneLogin,
    /// The branch console's sign-in form, bound to the random value of its cookie.
    ConsoleSignIn,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::PhoneLogin => b"phone-login",
            Purpose::ConsoleSignIn => b"console-sign-in",
        }
    }

    /// The signed text's start: the label's length in one byte then the label, in a
    /// block's first 16 bytes (zeros after it), and that length.
    fn head(self) -> ([u8; 16], usize) {
        match self {
            Purpose::PhoneLogin => (*b"\x0bphone-login\0\0\0\0", 11),
            Purpose::ConsoleSignIn => (*b"\x0fconsole-sign-in", 15),
        }
    }

    /// Seconds per window: a value lasts one to two of them.
    pub fn window_secs(self) -> u64 {
        match self {
            // The phone top page is cached per window: ten minutes keeps a cache hit the rule.
            Purpose::PhoneLogin => 600,
            Purpose::ConsoleSignIn => 900,
        }
    }
}

/// How a posted value checked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Valid,
    /// Ours, but issued too long ago.
    Expired,
    /// Missing, malformed, or not signed by us for this purpose and binding.
    Forged,
}

/// A value as it goes into a form: `WINDOW-MAC` in lower-case hex, built without allocating
/// (the top page issues one per view).
#[derive(Clone, Copy)]
pub struct FormValue {
    text: [u8; 16 + 1 + 2 * MAC_BYTES],
    len: usize,
}

impl FormValue {
    /// The value of `window` and the first [`MAC_BYTES`] of `mac`.
    fn new(window: u64, mac: &[u8; 32]) -> FormValue {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        // Each byte's two digits, so the MAC is written a byte at a time.
        const PAIRS: [[u8; 2]; 256] = {
            let mut pairs = [[0; 2]; 256];
            let mut b = 0;
            while b < 256 {
                pairs[b] = [HEX[b >> 4], HEX[b & 0xf]];
                b += 1;
            }
            pairs
        };
        let mut text = [0u8; 16 + 1 + 2 * MAC_BYTES];
        let digits = (16 - window.leading_zeros() as usize / 4).max(1);
        let mut rest = window;
        for digit in text[..digits].iter_mut().rev() {
            *digit = HEX[(rest & 0xf) as usize];
            rest >>= 4;
        }
        text[digits] = b'-';
        let mut hex = [0u8; 2 * MAC_BYTES];
        for (pair, b) in hex.chunks_exact_mut(2).zip(mac) {
            pair.copy_from_slice(&PAIRS[usize::from(*b)]);
        }
        text[digits + 1..digits + 1 + 2 * MAC_BYTES].copy_from_slice(&hex);
        FormValue {
            text,
            len: digits + 1 + 2 * MAC_BYTES,
        }
    }

    /// The value's bytes (ASCII, as [`FormValue::as_str`]), without the UTF-8 check.
    pub fn as_bytes(&self) -> &[u8] {
        &self.text[..self.len]
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits and '-' are ever written.
        std::str::from_utf8(&self.text[..self.len]).unwrap_or_default()
    }
}

impl std::fmt::Display for FormValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The key form values are signed with, held as SHA-256 states already keyed: HMAC's inner
/// and outer key blocks compressed once at startup, so a value costs the two compressions of
/// its own message and digest and nothing else (the top page issues one per view).
pub struct FormKey {
    inner: [u32; 8],
    outer: [u32; 8],
    /// The same key as HMAC state, for values signed the old way (see [`FormKey::mac_v1`]).
    v1: Hmac<Sha256>,
}

impl Drop for FormKey {
    fn drop(&mut self) {
        // As good as the key itself.
        self.inner.zeroize();
        self.outer.zeroize();
    }
}

fn keyed(key: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length.
    <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("any key length")
}

/// HMAC with eight-byte length prefixes: derives the form key, and was the first scheme
/// values were signed with ([`FormKey::mac_v1`]).
fn hmac(mut mac: Hmac<Sha256>, parts: &[&[u8]]) -> [u8; 32] {
    for part in parts {
        // Length-prefixed, so no two splits of the same bytes sign alike.
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// SHA-256's initial state (FIPS 180-4, 5.3.3).
const SHA256_IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// The state after one key block, `key` (at most a block) padded with zeros and xored
/// with `pad` (HMAC, RFC 2104).
fn key_block_state(key: &[u8; 32], pad: u8) -> [u32; 8] {
    let mut block = Zeroizing::new([pad; 64]);
    for (b, k) in block.iter_mut().zip(key) {
        *b ^= k;
    }
    let mut state = SHA256_IV;
    compress256(&mut state, std::slice::from_ref(&block));
    state
}

/// SHA-256 going on from a state that has absorbed one block (HMAC's keyed states), over
/// a message of less than 2^61 bytes written into it piece by piece.
struct Sha256Tail {
    /// Changed in place by each compression, so the keyed state it started as is gone.
    state: [u32; 8],
    block: [u8; 64],
    /// Bytes of `block` written.
    at: usize,
    /// Message bytes so far, the keyed block's included.
    total: u64,
}

impl Sha256Tail {
    fn new(state: [u32; 8]) -> Sha256Tail {
        Sha256Tail {
            state,
            block: [0; 64],
            at: 0,
            total: 64,
        }
    }

    fn write(&mut self, mut bytes: &[u8]) {
        self.total += bytes.len() as u64;
        while !bytes.is_empty() {
            let n = bytes.len().min(64 - self.at);
            self.block[self.at..self.at + n].copy_from_slice(&bytes[..n]);
            self.at += n;
            bytes = &bytes[n..];
            if self.at == 64 {
                compress256(&mut self.state, std::slice::from_ref(&self.block));
                self.at = 0;
            }
        }
    }

    fn finish(mut self) -> [u8; 32] {
        // Padding: 0x80, zeros, the length in bits in the last eight bytes.
        let at = self.at;
        self.block[at] = 0x80;
        self.block[at + 1..].fill(0);
        if at >= 56 {
            compress256(&mut self.state, std::slice::from_ref(&self.block));
            self.block = [0; 64];
        }
        self.block[56..].copy_from_slice(&(self.total * 8).to_be_bytes());
        compress256(&mut self.state, std::slice::from_ref(&self.block));
        let mut out = [0u8; 32];
        for (o, word) in out.chunks_exact_mut(4).zip(self.state) {
            o.copy_from_slice(&word.to_be_bytes());
        }
        out
    }
}

impl FormKey {
    /// The form key of a master key: never the master key itself, so a value reveals nothing
    /// about the key that seals the seeds.
    pub fn derive(master: &[u8]) -> FormKey {
        let key = Zeroizing::new(hmac(keyed(master), &[b"keitai-gateway form values v1"]));
        FormKey {
            inner: key_block_state(&key, 0x36),
            outer: key_block_state(&key, 0x5c),
            v1: keyed(key.as_ref()),
        }
    }

    /// HMAC-SHA256 of the signed text: the label's length in one byte, the label, the
    /// window's length in one byte, the window in big-endian bytes without leading zeros,
    /// then the binding to the end. That reads back one way only: the label and the window
    /// are under 256 bytes and their lengths come first, the binding is all that is left
    /// (its parts run together as one text, as a client's binding always has), and the
    /// label fixes the purpose. A phone login value signs 29 to 52 bytes for an address, an
    /// i-mode or a SoftBank ID (at most 55 fits SHA-256's one padded block: two compressions
    /// with the keyed states), an au ID 59. Its first byte (the label's length) is never 0,
    /// the first byte of every old text, so no text signs alike under both schemes.
    fn mac(&self, purpose: Purpose, window: u64, binding: &[&[u8]]) -> [u8; 32] {
        let mut inner = Sha256Tail::new(self.inner);
        // The head (at most 1 + 15 + 1 + 8 bytes) goes in as whole words, not byte runs.
        let (head, label_len) = purpose.head();
        let window_len = 8 - window.leading_zeros() as usize / 8;
        let window_first = window.checked_shl(64 - 8 * window_len as u32).unwrap_or(0);
        inner.block[..16].copy_from_slice(&head);
        let at = 1 + label_len;
        inner.block[at] = window_len as u8;
        inner.block[at + 1..at + 9].copy_from_slice(&window_first.to_be_bytes());
        inner.at = at + 1 + window_len;
        inner.total += inner.at as u64;
        for part in binding {
            inner.write(part);
        }
        let mut outer = Sha256Tail::new(self.outer);
        outer.write(&inner.finish());
        outer.finish()
    }

    /// The first scheme's MAC ([`hmac`]): accepted by [`FormKey::check`] so that a form
    /// loaded before a deploy that changed the scheme still posts while it is in its
    /// windows. Nothing issues it any more; it can go once every such value has expired
    /// (two windows after that deploy).
    fn mac_v1(&self, purpose: Purpose, window: u64, binding: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.v1.clone();
        for part in [purpose.label(), &window.to_be_bytes()] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        let len: usize = binding.iter().map(|p| p.len()).sum();
        mac.update(&(len as u64).to_be_bytes());
        for part in binding {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// The value for `purpose` and `binding` at `now` (Unix seconds). The same all through
    /// one window, so a page carrying it can be cached for that window.
    pub fn issue(&self, purpose: Purpose, binding: &[u8], now: u64) -> FormValue {
        self.issue_parts(purpose, &[binding], now)
    }

    /// [`FormKey::issue`] for a binding given as parts that run together (a client's,
    /// [`crate::throttle::Client::with_binding`]), so it is never copied into one buffer.
    pub fn issue_parts(&self, purpose: Purpose, binding: &[&[u8]], now: u64) -> FormValue {
        let window = now / purpose.window_secs();
        let mac = self.mac(purpose, window, binding);
        FormValue::new(window, &mac)
    }

    /// Checks a posted value (constant time over the MAC).
    pub fn check(&self, purpose: Purpose, binding: &[u8], sent: &str, now: u64) -> Check {
        self.check_parts(purpose, &[binding], sent, now)
    }

    /// [`FormKey::check`] for a binding given as parts, as [`FormKey::issue_parts`].
    pub fn check_parts(&self, purpose: Purpose, binding: &[&[u8]], sent: &str, now: u64) -> Check {
        let Some((window, mac)) = sent.split_once('-') else {
            return Check::Forged;
        };
        let mut sent_mac = [0u8; MAC_BYTES];
        let (Ok(window), Ok(())) = (
            u64::from_str_radix(window, 16),
            hex::decode_to_slice(mac, &mut sent_mac),
        ) else {
            return Check::Forged;
        };
        let current = now / purpose.window_secs();
        // The window is no secret: a value dated in the future is forged whatever its MAC.
        if window > current {
            return Check::Forged;
        }
        let ours = |mac: [u8; 32]| bool::from(sent_mac.ct_eq(&mac[..MAC_BYTES]));
        // The current scheme first; the old one for forms loaded before the deploy.
        if !ours(self.mac(purpose, window, binding)) && !ours(self.mac_v1(purpose, window, binding))
        {
            return Check::Forged;
        }
        if current - window > 1 {
            return Check::Expired;
        }
        Check::Valid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    #[test]
    fn a_value_is_the_window_and_mac_in_hex() {
        let counting: [u8; 32] = std::array::from_fn(|i| (i * 23) as u8);
        for (window, mac) in [(0u64, [0u8; 32]), (3_000_000, [0xa7; 32]), (0x1f, counting)] {
            let want = format!("{window:x}-{}", hex::encode(&mac[..MAC_BYTES]));
            let value = FormValue::new(window, &mac);
            assert_eq!(value.as_str(), want);
            assert_eq!(value.as_bytes(), want.as_bytes());
        }
        let max = FormValue::new(u64::MAX, &[0xff; 32]);
        assert_eq!(
            max.as_str(),
            format!("{:x}-{}", u64::MAX, "ff".repeat(MAC_BYTES))
        );
    }

    #[test]
    fn a_value_holds_for_its_purpose_binding_and_time_only() {
        let key = FormKey::derive(&[7; 32]);
        let p = Purpose::PhoneLogin;
        let v = key.issue(p, b"client-a", NOW).to_string();
        assert_eq!(key.check(p, b"client-a", &v, NOW), Check::Valid);
        assert_eq!(key.check(p, b"client-a", &v, NOW + 600), Check::Valid);
        assert_eq!(key.check(p, b"client-a", &v, NOW + 1300), Check::Expired);
        assert_eq!(key.check(p, b"client-b", &v, NOW), Check::Forged);
        assert_eq!(
            key.check(Purpose::ConsoleSignIn, b"client-a", &v, NOW),
            Check::Forged
        );
        assert_eq!(
            FormKey::derive(&[8; 32]).check(p, b"client-a", &v, NOW),
            Check::Forged
        );
        for bad in ["", "-", "zz-00", &v[..v.len() - 1], &format!("{v}0")] {
            assert_eq!(key.check(p, b"client-a", bad, NOW), Check::Forged, "{bad}");
        }
        // A value dated in the future is forged whatever its MAC.
        let later = key.issue(p, b"client-a", NOW + 1200);
        assert_eq!(
            key.check(p, b"client-a", later.as_str(), NOW),
            Check::Forged
        );
        // One window, one value (the cached top page carries it).
        assert_eq!(
            key.issue(p, b"client-a", NOW - NOW % 600 + 599).as_str(),
            key.issue(p, b"client-a", NOW - NOW % 600).as_str()
        );
    }

    /// The signed text as the scheme describes it, built the plain way.
    fn text(purpose: Purpose, window: u64, binding: &[u8]) -> Vec<u8> {
        let label = purpose.label();
        let window = window.to_be_bytes();
        let window = &window[window.iter().take_while(|b| **b == 0).count()..];
        let mut text = vec![label.len() as u8];
        text.extend_from_slice(label);
        text.push(window.len() as u8);
        text.extend_from_slice(window);
        text.extend_from_slice(binding);
        text
    }

    fn reference_hmac(key: &[u8], text: &[u8]) -> [u8; 32] {
        let mut mac = keyed(key);
        mac.update(text);
        mac.finalize().into_bytes().into()
    }

    #[test]
    fn the_keyed_states_compute_hmac_sha256() {
        // RFC 4231, test case 2 (a key shorter than a block).
        let key = b"Jefe";
        let want = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        let mut padded = [0u8; 32];
        padded[..4].copy_from_slice(key);
        let (inner, outer) = (
            key_block_state(&padded, 0x36),
            key_block_state(&padded, 0x5c),
        );
        let hmac = |parts: &[&[u8]]| {
            let mut i = Sha256Tail::new(inner);
            parts.iter().for_each(|p| i.write(p));
            let mut o = Sha256Tail::new(outer);
            o.write(&i.finish());
            o.finish()
        };
        assert_eq!(
            hex::encode(hmac(&[b"what do ya want ", b"for nothing?"])),
            want
        );
        // Every length across the padding's edges (55/56 bytes, whole blocks), in pieces.
        let key = [0x42u8; 32];
        let (inner, outer) = (key_block_state(&key, 0x36), key_block_state(&key, 0x5c));
        let hmac = |parts: &[&[u8]]| {
            let mut i = Sha256Tail::new(inner);
            parts.iter().for_each(|p| i.write(p));
            let mut o = Sha256Tail::new(outer);
            o.write(&i.finish());
            o.finish()
        };
        let text: Vec<u8> = (0..=200u8).collect();
        for len in 0..=text.len() {
            let (a, b) = text[..len].split_at(len / 3);
            let (b, c) = b.split_at(b.len() / 2);
            let ours = hmac(&[a, b, c]);
            assert_eq!(ours, reference_hmac(&key, &text[..len]), "{len} bytes");
        }
    }

    #[test]
    fn a_value_signs_the_short_text_in_one_block() {
        let master = [7; 32];
        let key = FormKey::derive(&master);
        let form_key = hmac(keyed(&master), &[b"keitai-gateway form values v1"]);
        let p = Purpose::PhoneLogin;
        let window = NOW / p.window_secs();
        // The clients a top page is mostly for: addresses, i-mode and SoftBank IDs.
        let bindings: [&[&[u8]]; 4] = [
            &[b"address4/", &[127, 0, 0, 1]],
            &[
                b"address6/",
                &[0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            ],
            &[b"subscriber/", b"Docomo", b"/", b"AbCdEf1"],
            &[b"subscriber/", b"Softbank", b"/", b"c0123456789abcde"],
        ];
        for binding in bindings {
            let text = text(p, window, &binding.concat());
            assert!(text.len() <= 55, "{} bytes", text.len());
            let want = reference_hmac(&form_key, &text);
            assert_eq!(key.mac(p, window, binding), want);
            let value = key.issue_parts(p, binding, NOW);
            assert_eq!(
                value.as_str(),
                format!("{window:x}-{}", hex::encode(&want[..MAC_BYTES]))
            );
        }
        // Every window length, 0 bytes to 8.
        for window in [0, 1, 0xff, 0x100, u64::MAX >> 8, u64::MAX] {
            let binding: &[&[u8]] = &[b"carrier/", b"Au"];
            let want = reference_hmac(&form_key, &text(p, window, b"carrier/Au"));
            assert_eq!(key.mac(p, window, binding), want, "{window:x}");
        }
        // The console's binding, a cookie value in one piece.
        let cookie = b"A0b1C2d3E4f5G6h7I8j9K0l1M2n3O4p5";
        let text = text(Purpose::ConsoleSignIn, 0, cookie);
        assert_eq!(
            key.mac(Purpose::ConsoleSignIn, 0, &[cookie]),
            reference_hmac(&form_key, &text)
        );
    }

    /// A value as the gateway issued it before the scheme changed.
    fn old_value(key: &FormKey, purpose: Purpose, binding: &[&[u8]], now: u64) -> String {
        let window = now / purpose.window_secs();
        FormValue::new(window, &key.mac_v1(purpose, window, binding)).to_string()
    }

    #[test]
    fn a_value_signed_the_old_way_holds_until_it_expires() {
        let key = FormKey::derive(&[7; 32]);
        let p = Purpose::PhoneLogin;
        let a: &[&[u8]] = &[b"subscriber/", b"Docomo", b"/", b"AbCdEf1"];
        let b: &[&[u8]] = &[b"subscriber/", b"Docomo", b"/", b"AbCdEf2"];
        // The old code's MAC, as it was: one call over the whole binding.
        let window = NOW / p.window_secs();
        assert_eq!(
            key.mac_v1(p, window, a),
            hmac(
                key.v1.clone(),
                &[p.label(), &window.to_be_bytes(), &a.concat()]
            )
        );
        let old = old_value(&key, p, a, NOW);
        assert_ne!(old, key.issue_parts(p, a, NOW).as_str());
        assert_eq!(key.check_parts(p, a, &old, NOW), Check::Valid);
        assert_eq!(key.check_parts(p, a, &old, NOW + 600), Check::Valid);
        assert_eq!(key.check_parts(p, a, &old, NOW + 1300), Check::Expired);
        // Split another way, the same binding is the same text.
        assert_eq!(key.check_parts(p, &[&a.concat()], &old, NOW), Check::Valid);
        assert_eq!(key.check_parts(p, b, &old, NOW), Check::Forged);
        assert_eq!(
            key.check_parts(Purpose::ConsoleSignIn, a, &old, NOW),
            Check::Forged
        );
        assert_eq!(
            FormKey::derive(&[8; 32]).check_parts(p, a, &old, NOW),
            Check::Forged
        );
        // A made-up MAC is forged, in the new scheme as in the old.
        let made_up = format!("{window:x}-{}", "5a".repeat(MAC_BYTES));
        assert_eq!(key.check_parts(p, a, &made_up, NOW), Check::Forged);
        let console = old_value(&key, Purpose::ConsoleSignIn, &[b"cookie"], NOW);
        assert_eq!(
            key.check(Purpose::ConsoleSignIn, b"cookie", &console, NOW),
            Check::Valid
        );
        assert_eq!(key.check(p, b"cookie", &console, NOW), Check::Forged);
    }
}
