//! The bank profiles a gateway serves: every `BANK_DIR/banks/CODE.toml` (a multi-bank gateway,
//! each bank's demo data in `BANK_DIR/banks/CODE/demo/`), or `BANK_DIR/bank.toml` alone (a
//! one-bank setup, unchanged).

use super::BankCode;
use crate::config::{Bank, ConfigError};
use std::path::{Path, PathBuf};

/// One bank's profile and where its files are.
#[derive(Debug, Clone)]
pub struct Profile {
    pub code: BankCode,
    pub bank: Bank,
    /// The folder holding this bank's `demo/` (the bank directory itself for one bank).
    pub dir: PathBuf,
}

/// Every bank the gateway serves, in 金融機関コード order.
#[derive(Debug, Clone)]
pub struct Profiles {
    pub banks: Vec<Profile>,
    /// Read from `banks/`: pages live under `/CODE/`, records under the bank's keys.
    pub multi: bool,
}

impl Profiles {
    /// The profiles of `bank_dir`: its `banks/` folder when there is one, else `bank.toml`.
    pub fn load(bank_dir: &Path) -> Result<Profiles, ConfigError> {
        let dir = bank_dir.join("banks");
        if !dir.is_dir() {
            let bank = Bank::load(&bank_dir.join("bank.toml"))?;
            let code = code_of(&bank_dir.join("bank.toml"), &bank.bank_code)?;
            return Ok(Profiles {
                banks: vec![Profile {
                    code,
                    bank,
                    dir: bank_dir.to_owned(),
                }],
                multi: false,
            });
        }
        let read_err = |source| ConfigError::Read {
            path: dir.clone(),
            source,
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(read_err)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(read_err)?;
        files.retain(|p| p.extension().is_some_and(|e| e == "toml"));
        files.sort();
        let mut banks: Vec<Profile> = Vec::new();
        for path in files {
            let bank = Bank::load(&path)?;
            let code = code_of(&path, &bank.bank_code)?;
            // The file's name is the code, so the code cannot be two banks at once.
            if path.file_stem().and_then(|s| s.to_str()) != Some(code.as_str()) {
                return Err(ConfigError::Invalid {
                    path,
                    message: format!("bank_code {code} must be the file's name ({code}.toml)"),
                });
            }
            if let Some(other) = banks
                .iter()
                .find(|p| p.bank.hosts.iter().any(|h| bank.hosts.contains(h)))
            {
                return Err(ConfigError::Invalid {
                    path,
                    message: format!("a host name is also bank {}'s", other.code),
                });
            }
            banks.push(Profile {
                dir: dir.join(code.as_str()),
                code,
                bank,
            });
        }
        if banks.is_empty() {
            return Err(ConfigError::Invalid {
                path: dir,
                message: "no bank profile (CODE.toml) in it".into(),
            });
        }
        Ok(Profiles { banks, multi: true })
    }

    /// The bank a command names with `--bank`; without it, the only bank there is.
    pub fn pick(&self, code: Option<&BankCode>) -> Result<&Profile, String> {
        match code {
            Some(c) => self
                .banks
                .iter()
                .find(|p| &p.code == c)
                .ok_or_else(|| format!("no bank {c} here (banks: {})", self.codes_text())),
            None if self.banks.len() == 1 => Ok(&self.banks[0]),
            None => Err(format!(
                "several banks here: say which with --bank CODE ({})",
                self.codes_text()
            )),
        }
    }

    pub fn codes(&self) -> Vec<BankCode> {
        self.banks.iter().map(|p| p.code.clone()).collect()
    }

    fn codes_text(&self) -> String {
        self.codes()
            .iter()
            .map(BankCode::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn code_of(path: &Path, code: &str) -> Result<BankCode, ConfigError> {
    BankCode::parse(code).ok_or_else(|| ConfigError::Invalid {
        path: path.to_owned(),
        message: format!("bank_code {code:?} is not four digits"),
    })
}
