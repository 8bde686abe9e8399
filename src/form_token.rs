//! Signed anti-forgery values that live in the form, not on the server: a time window and an
//! HMAC-SHA256 over the form's purpose, that window and what the value is bound to (the
//! visitor's client, or a random cookie value), under a key derived from the master key.
//!
//! The pages before any session use them — the phone login form and the branch console's
//! sign-in page — so that opening those pages, however often, makes the gateway store nothing,
//! while a form posted from a foreign page (without a value, with a made-up or an old one)
//! is refused. A value is good in the window it was issued in and the next one.

use hmac::{Hmac, KeyInit, Mac};
use sha2_11::Sha256;
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
    fn new(window: u64, mac: &[u8]) -> FormValue {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = [0u8; 16 + 1 + 2 * MAC_BYTES];
        let digits = (16 - window.leading_zeros() as usize / 4).max(1);
        for (i, at) in (0..digits).rev().enumerate() {
            text[i] = HEX[((window >> (4 * at)) & 0xf) as usize];
        }
        text[digits] = b'-';
        for (i, b) in mac.iter().enumerate() {
            text[digits + 1 + 2 * i] = HEX[usize::from(b >> 4)];
            text[digits + 2 + 2 * i] = HEX[usize::from(b & 0xf)];
        }
        FormValue {
            text,
            len: digits + 1 + 2 * mac.len(),
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

/// The key form values are signed with, held as HMAC state already keyed: each value then
/// costs the hashing of its own few bytes only (the top page issues one per view).
pub struct FormKey {
    keyed: Hmac<Sha256>,
}

fn keyed(key: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length.
    <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("any key length")
}

fn hmac(mut mac: Hmac<Sha256>, parts: &[&[u8]]) -> [u8; 32] {
    for part in parts {
        // Length-prefixed, so no two splits of the same bytes sign alike.
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

impl FormKey {
    /// The form key of a master key: never the master key itself, so a value reveals nothing
    /// about the key that seals the seeds.
    pub fn derive(master: &[u8]) -> FormKey {
        let key = Zeroizing::new(hmac(keyed(master), &[b"keitai-gateway form values v1"]));
        FormKey {
            keyed: keyed(key.as_ref()),
        }
    }

    fn mac(&self, purpose: Purpose, window: u64, binding: &[u8]) -> [u8; 32] {
        hmac(
            self.keyed.clone(),
            &[purpose.label(), &window.to_be_bytes(), binding],
        )
    }

    /// The value for `purpose` and `binding` at `now` (Unix seconds). The same all through
    /// one window, so a page carrying it can be cached for that window.
    pub fn issue(&self, purpose: Purpose, binding: &[u8], now: u64) -> FormValue {
        let window = now / purpose.window_secs();
        let mac = self.mac(purpose, window, binding);
        FormValue::new(window, &mac[..MAC_BYTES])
    }

    /// Checks a posted value (constant time over the MAC).
    pub fn check(&self, purpose: Purpose, binding: &[u8], sent: &str, now: u64) -> Check {
        let Some((window, mac)) = sent.split_once('-') else {
            return Check::Forged;
        };
        let (Ok(window), Ok(mac)) = (u64::from_str_radix(window, 16), hex::decode(mac)) else {
            return Check::Forged;
        };
        let current = now / purpose.window_secs();
        let expected = self.mac(purpose, window, binding);
        if window > current || !bool::from(mac.ct_eq(&expected[..MAC_BYTES])) {
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
        for (window, mac) in [(0u64, [0u8; MAC_BYTES]), (3_000_000, [0xa7; MAC_BYTES])] {
            let want = format!("{window:x}-{}", hex::encode(mac));
            let value = FormValue::new(window, &mac);
            assert_eq!(value.as_str(), want);
            assert_eq!(value.as_bytes(), want.as_bytes());
        }
        let max = FormValue::new(u64::MAX, &[0xff; MAC_BYTES]);
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
}
