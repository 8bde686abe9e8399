//! Password hashes a bank brings from its internet-banking host: which schemes are recognised
//! (argon2id/argon2i, bcrypt `$2a$`/`$2b$`/`$2y$`, PBKDF2-SHA256/512, scrypt), checking that a
//! string is one of them with usable parameters, and verifying a password against the legacy
//! (non-argon2) ones. The hashing is the RustCrypto `password-hash` crates' and the `bcrypt`
//! crate's; nothing here computes a hash itself. argon2 is verified by [`crate::password`].

use argon2::password_hash::{PasswordHash, PasswordVerifier};

/// A recognised password-hash scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Argon2id,
    /// argon2i or argon2d: verified as it is, re-hashed to argon2id at the next login.
    Argon2Other,
    Bcrypt,
    Pbkdf2,
    Scrypt,
}

impl Scheme {
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Argon2id => "argon2id",
            Scheme::Argon2Other => "argon2",
            Scheme::Bcrypt => "bcrypt",
            Scheme::Pbkdf2 => "pbkdf2",
            Scheme::Scrypt => "scrypt",
        }
    }
}

/// Why a string is not a hash the gateway accepts (never contains the string itself: it may be
/// a password typed into the wrong column).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotAHash {
    #[error("not a PHC or bcrypt hash string (plain passwords are never accepted)")]
    Format,
    #[error("hash scheme {0:?} is not one the gateway verifies (argon2id/argon2i, bcrypt, pbkdf2-sha256, scrypt)")]
    Scheme(String),
    #[error("{0} hash with unusable parameters or no hash value")]
    Params(&'static str),
}

/// The bcrypt prefixes the `bcrypt` crate verifies.
fn is_bcrypt(s: &str) -> bool {
    ["$2a$", "$2b$", "$2y$", "$2x$"]
        .iter()
        .any(|p| s.starts_with(p))
}

/// Which scheme `s` is, once its syntax and parameters check out.
pub fn scheme(s: &str) -> Result<Scheme, NotAHash> {
    if is_bcrypt(s) {
        return s
            .parse::<bcrypt::HashParts>()
            .map(|_| Scheme::Bcrypt)
            .map_err(|_| NotAHash::Params("bcrypt"));
    }
    // The scheme's name first, so an unsupported one is named as such.
    let ident = s.strip_prefix('$').and_then(|r| r.split('$').next());
    let known = [
        "argon2id",
        "argon2i",
        "argon2d",
        "pbkdf2-sha256",
        "pbkdf2-sha512",
        "scrypt",
    ];
    match ident {
        Some(i) if known.contains(&i) => {}
        Some(i)
            if (1..=32).contains(&i.len())
                && i.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
        {
            return Err(NotAHash::Scheme(i.to_owned()))
        }
        _ => return Err(NotAHash::Format),
    }
    let parsed = PasswordHash::new(s).map_err(|_| NotAHash::Format)?;
    if parsed.hash.is_none() || parsed.salt.is_none() {
        return Err(NotAHash::Params("PHC"));
    }
    match parsed.algorithm.as_str() {
        alg @ ("argon2id" | "argon2i" | "argon2d") => {
            argon2::Params::try_from(&parsed).map_err(|_| NotAHash::Params("argon2"))?;
            Ok(if alg == "argon2id" {
                Scheme::Argon2id
            } else {
                Scheme::Argon2Other
            })
        }
        "pbkdf2-sha256" | "pbkdf2-sha512" => {
            pbkdf2::Params::try_from(&parsed).map_err(|_| NotAHash::Params("pbkdf2"))?;
            Ok(Scheme::Pbkdf2)
        }
        "scrypt" => {
            scrypt::Params::try_from(&parsed).map_err(|_| NotAHash::Params("scrypt"))?;
            Ok(Scheme::Scrypt)
        }
        other => Err(NotAHash::Scheme(other.to_owned())),
    }
}

/// Whether a stored hash should be replaced by an argon2id one at the next right password.
pub fn needs_rehash(s: &str) -> bool {
    scheme(s) != Ok(Scheme::Argon2id)
}

/// Verifies `password` against a bcrypt, PBKDF2 or scrypt hash (each crate compares in
/// constant time); false for anything else, argon2 included.
pub fn verify_legacy(s: &str, password: &str) -> bool {
    if is_bcrypt(s) {
        return bcrypt::verify(password, s).unwrap_or(false);
    }
    let Ok(parsed) = PasswordHash::new(s) else {
        return false;
    };
    let pw = password.as_bytes();
    match parsed.algorithm.as_str() {
        "pbkdf2-sha256" | "pbkdf2-sha512" => pbkdf2::Pbkdf2.verify_password(pw, &parsed).is_ok(),
        "scrypt" => scrypt::Scrypt.verify_password(pw, &parsed).is_ok(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, SaltString};

    fn salt() -> SaltString {
        SaltString::encode_b64(b"0123456789abcdef").unwrap()
    }

    #[test]
    fn each_legacy_scheme_verifies_and_asks_for_a_rehash() {
        let bc = bcrypt::hash("Pass1234", 4).unwrap();
        let params = pbkdf2::Params {
            rounds: 1000,
            output_length: 32,
        };
        let pb = pbkdf2::Pbkdf2
            .hash_password_customized(b"Pass1234", None, None, params, &salt())
            .unwrap()
            .to_string();
        assert!(pb.starts_with("$pbkdf2-sha256$i=1000,l=32$"), "{pb}");
        let sp = scrypt::Params::new(4, 8, 1, 32).unwrap();
        let sc = scrypt::Scrypt
            .hash_password_customized(b"Pass1234", None, None, sp, &salt())
            .unwrap()
            .to_string();
        for (h, s) in [
            (&bc, Scheme::Bcrypt),
            (&pb, Scheme::Pbkdf2),
            (&sc, Scheme::Scrypt),
        ] {
            assert_eq!(scheme(h), Ok(s));
            assert!(needs_rehash(h));
            assert!(verify_legacy(h, "Pass1234"), "{h}");
            assert!(!verify_legacy(h, "Pass1235"), "{h}");
        }
        let a = crate::password::hash("Pass1234").unwrap();
        assert_eq!(scheme(&a), Ok(Scheme::Argon2id));
        assert!(!needs_rehash(&a));
        assert!(!verify_legacy(&a, "Pass1234"), "argon2 is password.rs's");
    }

    #[test]
    fn plain_passwords_and_unknown_schemes_are_refused() {
        assert_eq!(scheme("Pass1234"), Err(NotAHash::Format));
        assert_eq!(scheme(""), Err(NotAHash::Format));
        assert_eq!(scheme("$md5$abc$def"), Err(NotAHash::Scheme("md5".into())));
        assert!(scheme("$2b$12$short").is_err());
        assert!(
            scheme("$pbkdf2-sha256$i=1000$c2FsdHNhbHQ").is_err(),
            "no hash"
        );
        assert!(!NotAHash::Format.to_string().contains("Pass1234"));
    }
}
