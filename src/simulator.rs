//! The token simulator: what a token from an inventory file shows at a given time. One code
//! for `keitai-gateway token-code` and the emulator's token panel, so both show the same; and
//! where a bank's demo inventory is ([`demo_inventory`], [`demo_code`]).

use crate::banks::{BankCode, Profile, Profiles};
use crate::form;
use crate::inventory::{self, Seed};
use crate::store::TokenKind;
use std::path::{Path, PathBuf};

/// The demo inventory of the bank whose files are in `dir` ([`Profile::dir`]).
pub fn demo_inventory(dir: &Path) -> PathBuf {
    dir.join("demo/tokens.csv")
}

/// The code `serial` shows at `unix`, from the demo inventory of the bank of `profiles` that
/// has it (only `bank`'s, when given). The demo banks' serials are distinct; a serial in two
/// banks' inventories with different seeds is refused unless `bank` says which.
pub fn demo_code(
    profiles: &Profiles,
    bank: Option<&BankCode>,
    serial: &str,
    unix: u64,
) -> Result<String, String> {
    let banks: Vec<&Profile> = match bank {
        Some(_) => vec![profiles.pick(bank)?],
        None => profiles.banks.iter().collect(),
    };
    let wanted = form::serial(serial);
    let mut found: Vec<(&BankCode, String)> = Vec::new();
    for p in &banks {
        let file = demo_inventory(&p.dir);
        if !file.is_file() {
            continue;
        }
        if let Some(seed) = read(&file)?.iter().find(|t| t.serial == wanted) {
            found.push((&p.code, seed.code_at(unix)));
        }
    }
    match found.as_slice() {
        [] => Err(format!(
            "{wanted} is not in the demo inventory of {} (--inventory FILE names another)",
            banks
                .iter()
                .map(|p| demo_inventory(&p.dir).display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        [(_, code), rest @ ..] if rest.iter().all(|(_, c)| c == code) => Ok(code.clone()),
        several => Err(format!(
            "{wanted} is in the demo inventories of banks {}: say which with --bank CODE",
            several
                .iter()
                .map(|(b, _)| b.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The code the token `serial` of `inventory_file` shows at `unix`, and the seconds that code
/// has left before the token moves on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Shown {
    pub serial: String,
    pub code: String,
    pub seconds_left: u64,
}

/// The code `serial` (spelt as a user would: lower case and spaces are fine) shows at `unix`.
pub fn code(inventory_file: &Path, serial: &str, unix: u64) -> Result<String, String> {
    shown(inventory_file, serial, unix).map(|s| s.code)
}

/// Like [`code`], with the seconds left.
pub fn shown(inventory_file: &Path, serial: &str, unix: u64) -> Result<Shown, String> {
    let serial = form::serial(serial);
    let seeds = read(inventory_file)?;
    let seed = seeds
        .iter()
        .find(|t| t.serial == serial)
        .ok_or_else(|| format!("{serial} is not in {}", inventory_file.display()))?;
    let period = seed.params.period.max(1);
    let since_t0 = unix.saturating_sub(seed.params.t0);
    Ok(Shown {
        code: seed.code_at(unix),
        seconds_left: period - since_t0 % period,
        serial,
    })
}

/// The hardware tokens of the inventory (the ones a feature phone can register).
pub fn hardware_serials(inventory_file: &Path) -> Result<Vec<String>, String> {
    Ok(read(inventory_file)?
        .into_iter()
        .filter(|s| s.kind == TokenKind::Hardware)
        .map(|s| s.serial.clone())
        .collect())
}

fn read(inventory_file: &Path) -> Result<Vec<Seed>, String> {
    inventory::read_any(inventory_file, None).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> std::path::PathBuf {
        demo_inventory(&Path::new(env!("CARGO_MANIFEST_DIR")).join("data/one-bank"))
    }

    fn profiles(dir: &str) -> Profiles {
        Profiles::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)).unwrap()
    }

    #[test]
    fn a_demo_serial_is_found_in_whichever_banks_inventory_has_it() {
        let three = profiles("data");
        let at = 60 * 1000;
        let code = |file: &str, serial: &str| {
            let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
            super::code(&file, serial, at).unwrap()
        };
        // One serial of each bank, each from its own bank's file.
        for (bank, serial) in [
            ("1020", "GMHW00000001"),
            ("1021", "GMHW00000010"),
            ("1022", "GMHW00000018"),
        ] {
            let own = code(&format!("data/banks/{bank}/demo/tokens.csv"), serial);
            assert_eq!(demo_code(&three, None, serial, at).unwrap(), own);
            let b = BankCode::parse(bank).unwrap();
            assert_eq!(demo_code(&three, Some(&b), serial, at).unwrap(), own);
        }
        let other = BankCode::parse("1021").unwrap();
        let e = demo_code(&three, Some(&other), "GMHW00000001", at).unwrap_err();
        assert!(e.contains("not in the demo inventory"), "{e}");
        assert!(demo_code(&three, None, "GMHW99999999", at).is_err());
        // The one-bank setup: its one inventory.
        let one = profiles("data/one-bank");
        assert_eq!(
            demo_code(&one, None, "gmhw00000013", at).unwrap(),
            code("data/one-bank/demo/tokens.csv", "GMHW00000013")
        );
    }

    #[test]
    fn the_demo_banks_serials_are_distinct() {
        let three = profiles("data");
        let mut all = Vec::new();
        for p in &three.banks {
            all.extend(
                read(&demo_inventory(&p.dir))
                    .unwrap()
                    .into_iter()
                    .map(|s| s.serial),
            );
        }
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n, "a serial in two demo banks' inventories");
    }

    #[test]
    fn a_serial_with_two_seeds_needs_its_bank() {
        let tmp = tempfile::tempdir().unwrap();
        let banks = tmp.path().join("banks");
        let profile = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("data/banks/1021.toml"),
        )
        .unwrap();
        for (code, secret) in [
            ("1031", "7GIYCPFAMKVZ2CIPUBR42BBLN573O7R2"),
            ("1032", "UFOEYZUHILYLDNGOQR4OQSCWEPO6GZGB"),
        ] {
            std::fs::create_dir_all(banks.join(code).join("demo")).unwrap();
            let text = profile.replace("bank_code = \"1021\"", &format!("bank_code = \"{code}\""));
            std::fs::write(banks.join(format!("{code}.toml")), text).unwrap();
            std::fs::write(
                banks.join(code).join("demo/tokens.csv"),
                format!("serial,kind,algorithm,digits,period,secret_base32\nGMHW00000001,hardware,SHA1,6,60,{secret}\n"),
            )
            .unwrap();
        }
        let two = Profiles::load(tmp.path()).unwrap();
        let e = demo_code(&two, None, "GMHW00000001", 0).unwrap_err();
        assert!(e.contains("1031, 1032") && e.contains("--bank"), "{e}");
        let b = BankCode::parse("1032").unwrap();
        let file = banks.join("1032/demo/tokens.csv");
        assert_eq!(
            demo_code(&two, Some(&b), "GMHW00000001", 0).unwrap(),
            super::code(&file, "GMHW00000001", 0).unwrap()
        );
    }

    #[test]
    fn shown_counts_down_within_the_period() {
        let a = shown(&demo(), "gmhw 00000001", 60 * 1000).unwrap();
        assert_eq!(a.serial, "GMHW00000001");
        assert_eq!(a.seconds_left, 60);
        let b = shown(&demo(), "GMHW00000001", 60 * 1000 + 59).unwrap();
        assert_eq!((b.code.as_str(), b.seconds_left), (a.code.as_str(), 1));
        assert_eq!(a.code, code(&demo(), "GMHW00000001", 60 * 1000).unwrap());
        assert!(shown(&demo(), "GMHW99999999", 0).is_err());
    }

    #[test]
    fn hardware_only() {
        let serials = hardware_serials(&demo()).unwrap();
        assert!(serials.contains(&"GMHW00000001".to_owned()));
        assert!(serials.iter().all(|s| s.starts_with("GMHW")), "{serials:?}");
    }
}
