//! PSKC import against fixtures written by python-pskc
//! (tests/fixtures/pskc/make_fixtures.py) and the RFC 6030 §6.1 example.

use std::path::PathBuf;

use keitai_gateway::pskc::{parse, EntryProblem, HashAlg, PskcError};

const PSK_HEX: &str = "12345678901234567890123456789012";

fn fixture(name: &str) -> String {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "fixtures",
        "pskc",
        name,
    ]
    .iter()
    .collect();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn hex(s: &str) -> Vec<u8> {
    data_encoding::HEXLOWER_PERMISSIVE
        .decode(s.as_bytes())
        .expect("hex")
}

fn psk() -> Vec<u8> {
    hex(PSK_HEX)
}

/// (serial, algorithm, secret, digits, period, t0) from expected.json.
type Expected = (String, HashAlg, Vec<u8>, u8, u64, u64);

fn expected() -> Vec<Expected> {
    let v: serde_json::Value = serde_json::from_str(&fixture("expected.json")).expect("json");
    assert_eq!(v["psk"].as_str(), Some(PSK_HEX));
    v["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            let alg = match e["algorithm"].as_str().expect("algorithm") {
                "SHA1" => HashAlg::Sha1,
                "SHA256" => HashAlg::Sha256,
                "SHA512" => HashAlg::Sha512,
                other => panic!("algorithm {other}"),
            };
            (
                e["serial"].as_str().expect("serial").to_string(),
                alg,
                hex(e["secret"].as_str().expect("secret")),
                u8::try_from(e["digits"].as_u64().expect("digits")).expect("u8"),
                e["period"].as_u64().expect("period"),
                e["t0"].as_u64().expect("t0"),
            )
        })
        .collect()
}

fn as_tuples(entries: &[keitai_gateway::pskc::Entry]) -> Vec<Expected> {
    entries
        .iter()
        .map(|e| {
            (
                e.serial.clone(),
                e.params.algorithm,
                e.secret.to_vec(),
                e.params.digits,
                e.params.period,
                e.params.t0,
            )
        })
        .collect()
}

#[test]
fn pskc_plain_matches_expected() {
    let want = expected();
    assert_eq!(want.len(), 3);
    assert!(want.iter().any(|e| e.5 != 0), "one fixture key has a T0");
    let got = parse(&fixture("plain.pskcxml"), None).expect("plain parses");
    assert_eq!(as_tuples(&got), want);
    // A PSK is harmless for a file without encrypted values.
    let got = parse(&fixture("plain.pskcxml"), Some(&psk())).expect("plain parses with psk");
    assert_eq!(as_tuples(&got), want);
}

#[test]
fn pskc_encrypted_with_right_key_matches_expected() {
    let got = parse(&fixture("encrypted.pskcxml"), Some(&psk())).expect("encrypted parses");
    assert_eq!(as_tuples(&got), expected());
}

#[test]
fn pskc_encrypted_older_form_mac_key_is_psk() {
    let got = parse(&fixture("encrypted_nomackey.pskcxml"), Some(&psk()))
        .expect("encrypted (no MACKey) parses");
    assert_eq!(as_tuples(&got), expected());
}

#[test]
fn pskc_encrypted_with_wrong_key_fails() {
    let mut wrong = psk();
    wrong[0] ^= 0x80;
    for name in ["encrypted.pskcxml", "encrypted_nomackey.pskcxml"] {
        let err = parse(&fixture(name), Some(&wrong)).expect_err("wrong key must fail");
        // Either the MACKey does not decrypt, or (1 in 256) it decrypts to
        // garbage and then the first entry's MAC does not match.
        match &err {
            PskcError::MacMethod(_) => {}
            PskcError::Entry {
                index: 1,
                problem: EntryProblem::MacMismatch { .. },
                ..
            } => {}
            other => panic!("{name}: unexpected error {other}"),
        }
    }
}

#[test]
fn pskc_tampered_fails_naming_the_entry() {
    let err = parse(&fixture("tampered.pskcxml"), Some(&psk())).expect_err("tampered must fail");
    let msg = err.to_string();
    assert!(
        msg.starts_with("entry 2 (serial KT4A7Q2M9X02): "),
        "message: {msg}"
    );
    assert!(msg.contains("MAC mismatch"), "message: {msg}");
    assert!(matches!(
        err,
        PskcError::Entry {
            index: 2,
            problem: EntryProblem::MacMismatch { field: "Secret" },
            ..
        }
    ));
}

#[test]
fn pskc_hotp_entry_fails_whole_file() {
    let err = parse(&fixture("bad_hotp.pskcxml"), None).expect_err("HOTP must be refused");
    let msg = err.to_string();
    assert!(
        msg.starts_with("entry 2 (serial KT4A7Q2M9X12): "),
        "message: {msg}"
    );
    assert!(msg.contains("HOTP"), "message: {msg}");
    assert!(matches!(
        err,
        PskcError::Entry {
            index: 2,
            problem: EntryProblem::Hotp,
            ..
        }
    ));
}

#[test]
fn pskc_missing_serial_fails_whole_file() {
    let err = parse(&fixture("bad_noserial.pskcxml"), None).expect_err("no serial must fail");
    assert_eq!(
        err.to_string(),
        "entry 3: no DeviceInfo/SerialNo and no Key/@Id"
    );
    assert!(matches!(
        err,
        PskcError::Entry {
            index: 3,
            serial: None,
            problem: EntryProblem::MissingSerial,
        }
    ));
}

#[test]
fn pskc_encrypted_without_psk_fails() {
    for name in ["encrypted.pskcxml", "encrypted_nomackey.pskcxml"] {
        let err = parse(&fixture(name), None).expect_err("no psk must fail");
        let msg = err.to_string();
        assert!(
            msg.starts_with("entry 1 (serial KT4A7Q2M9X01): "),
            "{name}: {msg}"
        );
        assert!(msg.contains("no pre-shared key"), "{name}: {msg}");
        assert!(matches!(
            err,
            PskcError::Entry {
                index: 1,
                // encrypted_nomackey.pskcxml also encrypts TimeInterval,
                // which is read before the Secret
                problem: EntryProblem::NoPsk { .. },
                ..
            }
        ));
    }
}

#[test]
fn pskc_bad_psk_length_fails() {
    let err = parse(&fixture("encrypted.pskcxml"), Some(&[0u8; 32])).expect_err("32-byte key");
    assert!(matches!(err, PskcError::BadPskLength(32)));
}

#[test]
fn pskc_garbage_and_truncated_input_fails_without_panic() {
    for junk in [
        "",
        "   ",
        "not xml at all",
        "<",
        "<KeyContainer",
        "\u{0}\u{1}\u{2}",
        "<?xml version=\"1.0\"?>",
        "<html><body>502 Bad Gateway</body></html>",
    ] {
        assert!(parse(junk, None).is_err(), "{junk:?}");
        assert!(parse(junk, Some(&psk())).is_err(), "{junk:?}");
    }
    let enc = fixture("encrypted.pskcxml");
    let key = psk();
    let mut cut = 0;
    while cut < enc.trim_end().len() {
        if enc.is_char_boundary(cut) {
            // A prefix is never a whole document: the root is not closed.
            assert!(parse(&enc[..cut], Some(&key)).is_err(), "prefix {cut}");
        }
        cut += 3;
    }
}

/// Changing any single character of the encrypted file either fails the
/// read or leaves every secret exactly as it was: the MAC covers them.
#[test]
fn pskc_single_character_mutations_never_corrupt_secrets() {
    let enc = fixture("encrypted.pskcxml");
    let key = psk();
    let want: Vec<Vec<u8>> = expected().into_iter().map(|e| e.2).collect();
    let bytes = enc.as_bytes();
    for i in 0..bytes.len() {
        for replacement in [b'A', b'0', b'<', b'/'] {
            if bytes[i] == replacement || !bytes[i].is_ascii() {
                continue;
            }
            let mut m = bytes.to_vec();
            m[i] = replacement;
            let Ok(text) = String::from_utf8(m) else {
                continue;
            };
            if let Ok(entries) = parse(&text, Some(&key)) {
                let got: Vec<Vec<u8>> = entries.iter().map(|e| e.secret.to_vec()).collect();
                assert_eq!(
                    got, want,
                    "mutation at byte {i} to {:?}",
                    replacement as char
                );
            }
        }
    }
}

#[test]
fn pskc_rfc6030_figure6_hotp_is_refused() {
    let err = parse(&fixture("rfc6030_figure6.pskcxml"), Some(&psk())).expect_err("HOTP");
    assert!(
        err.to_string()
            .starts_with("entry 1 (serial 987654321): HOTP"),
        "{err}"
    );
}

#[test]
fn pskc_rfc6030_figure6_decrypts_as_totp() {
    // Same document with the key algorithm switched to TOTP: the MACKey,
    // ValueMAC and ciphertext are the RFC's own, so this checks decryption
    // and MAC verification against the RFC's published values.
    let xml = fixture("rfc6030_figure6.pskcxml").replace(
        "urn:ietf:params:xml:ns:keyprov:pskc:hotp",
        "urn:ietf:params:xml:ns:keyprov:pskc:totp",
    );
    let got = parse(&xml, Some(&psk())).expect("RFC example parses");
    assert_eq!(got.len(), 1);
    let e = &got[0];
    assert_eq!(e.serial, "987654321");
    assert_eq!(&e.secret[..], b"12345678901234567890");
    assert_eq!(e.params.digits, 8);
    assert_eq!(e.params.algorithm, HashAlg::Sha1);
    assert_eq!(e.params.period, 30);
    assert_eq!(e.params.t0, 0);

    // Altering the RFC's ValueMAC is caught.
    let bad = xml.replace(
        "Su+NvtQfmvfJzF6bmQiJqoLRExc=",
        "Tu+NvtQfmvfJzF6bmQiJqoLRExc=",
    );
    let err = parse(&bad, Some(&psk())).expect_err("bad MAC");
    assert_eq!(
        err.to_string(),
        "entry 1 (serial 987654321): MAC mismatch on Secret"
    );

    // A ValueMAC removed: CBC without a MAC is refused.
    let start = xml.find("<ValueMAC>").expect("ValueMAC");
    let end = xml.find("</ValueMAC>").expect("/ValueMAC") + "</ValueMAC>".len();
    let no_mac = format!("{}{}", &xml[..start], &xml[end..]);
    let err = parse(&no_mac, Some(&psk())).expect_err("missing MAC");
    assert!(
        matches!(
            err,
            PskcError::Entry {
                problem: EntryProblem::MissingMac { .. },
                ..
            }
        ),
        "{err}"
    );
}
