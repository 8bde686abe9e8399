//! Signed anti-forgery values that live in the form, not on the server: a time window and an
//! HMAC-SHA256 over the form's purpose, that window and what the value is bound to (the
//! visitor's client, or a random cookie value), under a key derived from the master key.
//!
//! The pages before any session use them — the phone login form and the branch console's
//! sign-in page — so that opening those pages, however often, makes the gateway store nothing,
//! while a form posted from a foreign page (without a value, with a made-up or an old one)
//! is refused. A value is good in the window it was issued in and the next one.

use crate::recent::Recent;
use hmac::{Hmac, KeyInit, Mac};
use sha2_11::Sha256;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

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

/// The key form values are signed with, held as HMAC state already keyed (its inner and
/// outer key blocks compressed once): a value whose text fits one block then costs two
/// compressions, its own and the digest's (the top page issues one per view).
pub struct FormKey {
    keyed: Hmac<Sha256>,
    /// This key among the process's keys (a rekey makes a new one), for [`Remembered`].
    id: u64,
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

/// What a value is asked for: the key, the purpose, the window and the binding's parts.
struct Asked<'a> {
    key: u64,
    purpose: Purpose,
    window: u64,
    binding: &'a [&'a [u8]],
}

/// Values a thread issued lately. A visitor's value is the same all through a window, and
/// many visitors share one binding (every i-mode phone that comes through DoCoMo's gateway
/// without its ID is `carrier/Docomo`), so most top pages need no MAC worked out: a remembered
/// value is the one the key would compute, found by comparing a few bytes.
struct Remembered {
    key: u64,
    purpose: Purpose,
    window: u64,
    len: usize,
    binding: [u8; REMEMBERED_BINDING],
    value: FormValue,
}

/// Values kept per thread, replaced in turn.
const REMEMBERED: usize = 8;
/// Longer bindings (none a client has but the longest subscriber IDs) are not kept.
const REMEMBERED_BINDING: usize = 64;

thread_local! {
    static RECENT: RefCell<Recent<Remembered, REMEMBERED>> = const { RefCell::new(Recent::new()) };
}

impl Remembered {
    fn is(&self, asked: &Asked, len: usize) -> bool {
        if self.key != asked.key
            || self.purpose != asked.purpose
            || self.window != asked.window
            || self.len != len
        {
            return false;
        }
        let mut rest = &self.binding[..len];
        for part in asked.binding {
            let Some((head, tail)) = rest.split_at_checked(part.len()) else {
                return false;
            };
            if head != *part {
                return false;
            }
            rest = tail;
        }
        true
    }

    fn recall(asked: &Asked) -> Option<FormValue> {
        let len = asked.binding.iter().map(|p| p.len()).sum();
        RECENT.with(|recent| {
            let recent = recent.try_borrow().ok()?;
            recent.find(|r| r.is(asked, len)).map(|r| r.value)
        })
    }

    fn keep(asked: &Asked, value: FormValue) {
        let mut binding = [0u8; REMEMBERED_BINDING];
        let mut len = 0;
        for part in asked.binding {
            let Some(to) = binding.get_mut(len..len + part.len()) else {
                return;
            };
            to.copy_from_slice(part);
            len += part.len();
        }
        let kept = Remembered {
            key: asked.key,
            purpose: asked.purpose,
            window: asked.window,
            len,
            binding,
            value,
        };
        RECENT.with(|recent| {
            if let Ok(mut recent) = recent.try_borrow_mut() {
                recent.keep(kept);
            }
        });
    }
}

impl FormKey {
    /// The form key of a master key: never the master key itself, so a value reveals nothing
    /// about the key that seals the seeds.
    pub fn derive(master: &[u8]) -> FormKey {
        let key = Zeroizing::new(hmac(keyed(master), &[b"keitai-gateway form values v1"]));
        static KEYS: AtomicU64 = AtomicU64::new(0);
        FormKey {
            keyed: keyed(key.as_ref()),
            id: KEYS.fetch_add(1, Ordering::Relaxed),
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
        let label = purpose.label();
        let window = window.to_be_bytes();
        let window = &window[window.iter().take_while(|b| **b == 0).count()..];
        let mut mac = self.keyed.clone();
        // Both lengths are under 256 (see above).
        mac.update(&[label.len() as u8]);
        mac.update(label);
        mac.update(&[window.len() as u8]);
        mac.update(window);
        for part in binding {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// The first scheme's MAC ([`hmac`]): accepted by [`FormKey::check`] so that a form
    /// loaded before a deploy that changed the scheme still posts while it is in its
    /// windows. Nothing issues it any more; it can go once every such value has expired
    /// (two windows after that deploy).
    fn mac_v1(&self, purpose: Purpose, window: u64, binding: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.keyed.clone();
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
        let asked = Asked {
            key: self.id,
            purpose,
            window,
            binding,
        };
        if let Some(value) = Remembered::recall(&asked) {
            return value;
        }
        let value = FormValue::new(window, &self.mac(purpose, window, binding));
        Remembered::keep(&asked, value);
        value
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
                key.keyed.clone(),
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

    #[test]
    fn a_remembered_value_is_the_one_the_key_computes() {
        let (a, b) = (FormKey::derive(&[7; 32]), FormKey::derive(&[8; 32]));
        let p = Purpose::PhoneLogin;
        let fresh = |key: &FormKey, binding: &[&[u8]], now: u64| {
            let window = now / p.window_secs();
            FormValue::new(window, &key.mac(p, window, binding)).to_string()
        };
        let long = [b'x'; 100];
        let ids: Vec<[u8; 1]> = (0..20u8).map(|i| [b'0' + i]).collect();
        let bindings: Vec<Vec<&[u8]>> = ids
            .iter()
            .map(|id| vec![&b"subscriber/Au/"[..], &id[..]])
            .chain([vec![&b"carrier/"[..], &b"Docomo"[..]], vec![&long[..]]])
            .collect();
        // Asked again and again, in turn, by two keys, in two windows: every answer fresh.
        for now in [NOW, NOW + 600] {
            for _ in 0..3 {
                for binding in &bindings {
                    for key in [&a, &b] {
                        let value = key.issue_parts(p, binding, now);
                        assert_eq!(value.as_str(), fresh(key, binding, now));
                        assert_eq!(
                            key.check_parts(p, binding, value.as_str(), now),
                            Check::Valid
                        );
                    }
                }
            }
        }
        // The same bytes in other pieces are the same binding; one byte more is another.
        let whole = a.issue_parts(p, &[b"carrier/Docomo"], NOW);
        assert_eq!(
            whole.as_str(),
            a.issue_parts(p, &[b"carrier/", b"Docomo"], NOW).as_str()
        );
        let longer = a.issue_parts(p, &[b"carrier/", b"Docomo", b"x"], NOW);
        assert_ne!(whole.as_str(), longer.as_str());
        // Another purpose is another value.
        let console = a.issue_parts(Purpose::ConsoleSignIn, &[b"carrier/Docomo"], NOW);
        assert_ne!(console.as_str(), whole.as_str());
    }
}
