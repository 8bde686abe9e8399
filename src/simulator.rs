//! The token simulator: what a token from an inventory file shows at a given time. One code
//! for `keitai-gateway token-code` and the emulator's token panel, so both show the same.

use crate::form;
use crate::inventory::{self, Seed};
use crate::store::TokenKind;
use std::path::Path;

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
        Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo/tokens.csv")
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
