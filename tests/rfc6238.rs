//! RFC 6238 Appendix B test vectors, through the same verification the server uses
//! (`otp::match_code` and `OtpState::attempt`).

use keitai_gateway::otp::{match_code, HashAlg, Match, OtpState, Outcome, Params};

const SHA1: &[u8] = b"12345678901234567890";
const SHA256: &[u8] = b"12345678901234567890123456789012";
const SHA512: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

/// (time, code, algorithm) from RFC 6238 Appendix B.
const VECTORS: [(u64, &str, HashAlg); 18] = [
    (59, "94287082", HashAlg::Sha1),
    (59, "46119246", HashAlg::Sha256),
    (59, "90693936", HashAlg::Sha512),
    (1111111109, "07081804", HashAlg::Sha1),
    (1111111109, "68084774", HashAlg::Sha256),
    (1111111109, "25091201", HashAlg::Sha512),
    (1111111111, "14050471", HashAlg::Sha1),
    (1111111111, "67062674", HashAlg::Sha256),
    (1111111111, "99943326", HashAlg::Sha512),
    (1234567890, "89005924", HashAlg::Sha1),
    (1234567890, "91819424", HashAlg::Sha256),
    (1234567890, "93441116", HashAlg::Sha512),
    (2000000000, "69279037", HashAlg::Sha1),
    (2000000000, "90698825", HashAlg::Sha256),
    (2000000000, "38618901", HashAlg::Sha512),
    (20000000000, "65353130", HashAlg::Sha1),
    (20000000000, "77737706", HashAlg::Sha256),
    (20000000000, "47863826", HashAlg::Sha512),
];

fn params(algorithm: HashAlg) -> (Params, &'static [u8]) {
    let secret = match algorithm {
        HashAlg::Sha1 => SHA1,
        HashAlg::Sha256 => SHA256,
        HashAlg::Sha512 => SHA512,
    };
    let p = Params {
        algorithm,
        digits: 8,
        period: 30,
        t0: 0,
    };
    (p, secret)
}

#[test]
fn appendix_b_codes_are_generated() {
    for (t, code, alg) in VECTORS {
        let (p, secret) = params(alg);
        assert_eq!(p.code_at(secret, t), code, "{alg:?} at {t}");
    }
}

#[test]
fn appendix_b_codes_verify_at_their_step_only() {
    for (t, code, alg) in VECTORS {
        let (p, secret) = params(alg);
        assert_eq!(
            match_code(&p, secret, code, t),
            Match::Step(t / 30),
            "{alg:?} at {t}"
        );
        // Two steps away is outside the one-step skew window.
        assert_eq!(
            match_code(&p, secret, code, t + 60),
            Match::NoMatch,
            "{alg:?} at {t}+60"
        );
        let mut state = OtpState::default();
        assert_eq!(
            state.attempt(&p, secret, code, t, 5),
            Outcome::Accepted { step: t / 30 }
        );
        assert_eq!(state.attempt(&p, secret, code, t, 5), Outcome::Replayed);
    }
}
