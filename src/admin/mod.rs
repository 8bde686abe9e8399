//! The admin commands that work on a database (`import-tokens`, `api-key *`, `audit`,
//! `backup`, …), written once as plain functions over a [`Store`]. The same function runs in
//! the command-line process when no gateway serves the data directory, or inside the running
//! gateway when the command reaches it over the admin socket ([`socket`]); either way it writes
//! to the [`Ctx`]'s output and returns the exit status, so the output is the same.
//!
//! Adding a command: a variant in [`AdminCommand`] (clap parses it, serde carries it over the
//! socket; mark its `db` field `#[serde(skip)]`), an arm in [`AdminCommand::db`], and an arm
//! in [`run`] calling a `fn(&mut Ctx, …) -> Result<(), String>` (in any module: it needs only
//! `ctx.store`, `ctx.out`, `ctx.path()` for files the operator named, `ctx.stdin` when
//! [`AdminCommand::reads_stdin`] says so, and `ctx.operator` for audit records).

pub mod people;
pub mod socket;

use crate::api::keys;
use crate::banks::BankCode;
use crate::clock;
use crate::inventory::{self, ImportResult};
use crate::store::Store;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where a command finds the database and its master key.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Db {
    /// The data directory (database, admin socket).
    #[arg(long, default_value = "var", global = true)]
    pub data_dir: PathBuf,
    /// A PostgreSQL database (postgres://USER@HOST:PORT/DB) instead of the embedded one in
    /// DATA_DIR; also read from KEITAI_DATABASE (which keeps a password out of the process
    /// list). Shared by every gateway, so the command opens it itself while they serve.
    #[arg(
        long,
        value_name = "URL",
        env = "KEITAI_DATABASE",
        hide_env_values = true,
        global = true
    )]
    pub database: Option<String>,
    /// The master key file (default DATA_DIR/master.key).
    #[arg(long, global = true)]
    pub key_file: Option<PathBuf>,
}

impl Db {
    pub fn key_file(&self) -> PathBuf {
        self.key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("master.key"))
    }

    /// The admin socket of a gateway serving this data directory.
    pub fn socket(&self) -> PathBuf {
        socket::path(&self.data_dir)
    }
}

/// Which bank of a multi-bank gateway a command is for, and where the bank profiles are;
/// carried over the admin socket (the gateway serves the bank it names).
#[derive(clap::Args, Debug, Clone, Default, Serialize, Deserialize)]
pub struct Target {
    /// The bank (金融機関コード) of a multi-bank gateway; not needed when there is one bank.
    #[arg(long, global = true)]
    pub bank: Option<BankCode>,
    /// Where bank.toml (one bank) or banks/CODE.toml (several) are. Not needed: a running
    /// gateway uses the profiles it serves, and a stopped one's data directory records the
    /// bank directory it was last served with (DATA_DIR/bank-dir); else ./data.
    #[arg(long, env = "KEITAI_BANK_DIR", global = true)]
    pub bank_dir: Option<PathBuf>,
}

/// The file in the data directory naming the bank directory `serve` last ran with.
const BANK_DIR_RECORD: &str = "bank-dir";

/// Records in `data_dir` that a gateway serves the profiles of `bank_dir` (`serve`, at every
/// start), as an absolute path: commands run while no gateway serves read the same files.
pub fn record_bank_dir(data_dir: &Path, bank_dir: &Path) -> Result<(), String> {
    let absolute = std::fs::canonicalize(bank_dir)
        .map_err(|e| format!("bank directory {}: {e}", bank_dir.display()))?;
    let record = data_dir.join(BANK_DIR_RECORD);
    let tmp = data_dir.join(format!("{BANK_DIR_RECORD}.tmp"));
    let text = absolute
        .to_str()
        .ok_or_else(|| format!("{} is not UTF-8", absolute.display()))?;
    std::fs::write(&tmp, format!("{text}\n"))
        .and_then(|()| std::fs::rename(&tmp, &record))
        .map_err(|e| format!("cannot write {}: {e}", record.display()))
}

impl Target {
    /// The bank directory a command run here reads (relative paths are the operator's, from
    /// `cwd`): `--bank-dir`, else the one `data_dir` records, else `./data`. With it, whether
    /// it came from the record (for the message when it cannot be read).
    pub fn bank_dir_in(&self, data_dir: &Path, cwd: &Path) -> (PathBuf, bool) {
        if let Some(dir) = &self.bank_dir {
            return (cwd.join(dir), false);
        }
        match std::fs::read_to_string(cwd.join(data_dir).join(BANK_DIR_RECORD)) {
            Ok(text) if !text.trim().is_empty() => (PathBuf::from(text.trim()), true),
            _ => (cwd.join("data"), false),
        }
    }
}

#[derive(clap::Subcommand, Debug, Clone, Serialize, Deserialize)]
pub enum ApiKeyAction {
    /// Make a key for caller NAME: printed once, only its hash is stored.
    Add {
        name: String,
        /// The centre's own systems: the one key verifies the customers of every bank (each
        /// request still names its bank by its path, /CODE/api/…).
        #[arg(long)]
        all_banks: bool,
    },
    /// List the callers: name, created, revoked (never keys).
    List,
    /// Revoke caller NAME's key.
    Revoke { name: String },
}

/// The commands that work while the gateway serves (through its admin socket) or without it.
#[derive(clap::Subcommand, Debug, Clone, Serialize, Deserialize)]
pub enum AdminCommand {
    /// Print the audit trail, one line per record (or check its hash chain with --verify).
    Audit {
        /// Check the hash chain instead of printing.
        #[arg(long)]
        verify: bool,
        /// Only records about this contract ID.
        #[arg(long)]
        contract: Option<String>,
        /// Only records from this day (YYYY-MM-DD, JST) on.
        #[arg(long)]
        since: Option<String>,
        /// Only record N (the OTP API's `receipt`).
        #[arg(long, value_name = "N")]
        receipt: Option<u64>,
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        #[serde(skip)]
        db: Db,
    },
    /// Manage the keys of the OTP API's callers.
    ApiKey {
        #[command(subcommand)]
        action: ApiKeyAction,
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        #[serde(skip)]
        db: Db,
    },
    /// Load a vendor token inventory (CSV or PSKC) into the database: all entries or none.
    ImportTokens {
        file: PathBuf,
        /// Overwrite serials that exist and are bound to nobody.
        #[arg(long)]
        replace: bool,
        /// Pre-shared key (32 hex digits, AES-128) of an encrypted PSKC file (visible in `ps`:
        /// prefer --psk-file).
        #[arg(long, conflicts_with = "psk_file")]
        psk_hex: Option<String>,
        /// A file holding the pre-shared key in hex, or `-` for standard input.
        #[arg(long)]
        psk_file: Option<PathBuf>,
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        #[serde(skip)]
        db: Db,
    },
    /// The bank's customers: import the internet-banking host's export, show one.
    Customers {
        #[command(subcommand)]
        action: people::CustomersAction,
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        #[serde(skip)]
        db: Db,
    },
    /// Branch staff accounts.
    Staff {
        #[command(subcommand)]
        action: people::StaffAction,
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        #[serde(skip)]
        db: Db,
    },
    /// Write a consistent copy of the database into DIR (a new directory), while serving.
    Backup {
        dir: PathBuf,
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        #[serde(skip)]
        db: Db,
    },
}

impl AdminCommand {
    pub fn db(&self) -> &Db {
        match self {
            AdminCommand::Audit { db, .. }
            | AdminCommand::ApiKey { db, .. }
            | AdminCommand::ImportTokens { db, .. }
            | AdminCommand::Customers { db, .. }
            | AdminCommand::Staff { db, .. }
            | AdminCommand::Backup { db, .. } => db,
        }
    }

    /// The bank the command names and where the profiles are.
    pub fn target(&self) -> &Target {
        match self {
            AdminCommand::Audit { target, .. }
            | AdminCommand::ApiKey { target, .. }
            | AdminCommand::ImportTokens { target, .. }
            | AdminCommand::Customers { target, .. }
            | AdminCommand::Staff { target, .. }
            | AdminCommand::Backup { target, .. } => target,
        }
    }

    /// Whether the command is for every bank at once (`api-key add --all-banks`), so it
    /// names none.
    pub fn all_banks(&self) -> bool {
        matches!(
            self,
            AdminCommand::ApiKey {
                action: ApiKeyAction::Add {
                    all_banks: true,
                    ..
                },
                ..
            }
        )
    }

    /// Whether the command reads standard input (sent along over the socket).
    pub fn reads_stdin(&self) -> bool {
        match self {
            AdminCommand::ImportTokens {
                psk_file: Some(p), ..
            } => p == Path::new("-"),
            AdminCommand::Staff { action, .. } => action.reads_stdin(),
            _ => false,
        }
    }
}

/// What a command runs with: the store, where its output goes, and the operator's side.
pub struct Ctx<'a> {
    /// The store of the bank the command is for.
    pub store: &'a Store,
    /// Every bank's store on a multi-bank gateway (empty for one bank): `--all-banks`.
    pub every_bank: Vec<&'a Store>,
    /// The bank named (`--bank`) and where the profiles are.
    pub target: Target,
    /// The bank's profile when the command runs in the gateway (the one it serves); else it
    /// is read from [`Ctx::bank_dir`].
    pub bank: Option<crate::config::Bank>,
    /// The bank directory a command run here reads ([`Target::bank_dir_in`]), and whether
    /// the data directory's record named it.
    pub bank_dir: (PathBuf, bool),
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
    /// The operator's working directory: relative paths they named are theirs.
    pub cwd: PathBuf,
    /// Standard input, when [`AdminCommand::reads_stdin`].
    pub stdin: Option<Vec<u8>>,
    /// The operator's OS user name (for audit records).
    pub operator: String,
    /// Called with rows done, as a long command goes (progress bar, import metric).
    pub progress: &'a mut dyn FnMut(u64),
}

impl Ctx<'_> {
    /// A path the operator named, as they meant it.
    pub fn path(&self, p: &Path) -> PathBuf {
        self.cwd.join(p)
    }
}

/// Runs one command: the one function behind both ways of running it. `Err` is the message
/// the command line prints after `keitai-gateway: ` (exit status 1).
pub fn run(cmd: &AdminCommand, ctx: &mut Ctx) -> Result<(), String> {
    match cmd {
        AdminCommand::Audit {
            verify,
            contract,
            since,
            receipt,
            ..
        } => audit(
            ctx,
            *verify,
            contract.as_deref(),
            since.as_deref(),
            *receipt,
        ),
        AdminCommand::ApiKey { action, .. } => api_key(ctx, action),
        AdminCommand::ImportTokens {
            file,
            replace,
            psk_hex,
            psk_file,
            ..
        } => import_tokens(ctx, file, *replace, psk_hex.as_deref(), psk_file.as_deref()),
        AdminCommand::Customers { action, .. } => people::customers(ctx, action),
        AdminCommand::Staff { action, .. } => people::staff(ctx, action),
        AdminCommand::Backup { dir, .. } => backup(ctx, dir),
    }
}

/// Writes a line of output; a closed pipe (`| head`) is not an error.
macro_rules! say {
    ($ctx:expr, $($arg:tt)*) => {
        let _ = writeln!($ctx.out, $($arg)*);
    };
}

fn audit(
    ctx: &mut Ctx,
    verify: bool,
    contract: Option<&str>,
    since: Option<&str>,
    receipt: Option<u64>,
) -> Result<(), String> {
    let since = match since {
        Some(day) => Some(
            crate::clock::day_start(day)
                .ok_or_else(|| format!("--since {day:?} is not a date (YYYY-MM-DD)"))?,
        ),
        None => None,
    };
    if verify {
        return match ctx.store.verify_audit().map_err(|e| e.to_string())? {
            Ok(n) => {
                say!(ctx, "audit chain intact: {n} records");
                Ok(())
            }
            Err(seq) => Err(format!("audit chain broken at record {seq}")),
        };
    }
    if let Some(n) = receipt {
        let rec = ctx
            .store
            .audit_record(n)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no audit record #{n}"))?;
        say!(ctx, "{}", crate::branch::audit_line(&rec));
        return Ok(());
    }
    for rec in ctx.store.audit() {
        let rec = rec.map_err(|e| e.to_string())?;
        if contract.is_some_and(|c| rec.contract_id.as_deref() != Some(c))
            || since.is_some_and(|t| rec.at < t)
        {
            continue;
        }
        let line = crate::branch::audit_line(&rec);
        if writeln!(ctx.out, "{line}").is_err() {
            break; // a closed pipe (`| head`) ends the listing quietly
        }
    }
    Ok(())
}

fn api_key(ctx: &mut Ctx, action: &ApiKeyAction) -> Result<(), String> {
    let now = clock::now_unix();
    match action {
        ApiKeyAction::Add { name, all_banks } => {
            if !keys::valid_name(name) {
                return Err(format!(
                    "caller name {name:?}: 1 to 64 letters, digits, '.', '_' or '-'"
                ));
            }
            // A key belongs to one bank: it is stored with that bank's records only. The
            // centre's key is stored with every bank's (all are checked first).
            let stores: Vec<&Store> = if *all_banks {
                if ctx.target.bank.is_some() {
                    return Err("--all-banks names no --bank".into());
                }
                if ctx.every_bank.is_empty() {
                    return Err("--all-banks: this gateway has one bank".into());
                }
                ctx.every_bank.clone()
            } else {
                vec![ctx.store]
            };
            for store in &stores {
                let live = store
                    .api_keys_named(name)
                    .map_err(|e| e.to_string())?
                    .iter()
                    .any(|k| k.revoked.is_none());
                if live {
                    return Err(format!(
                        "{name} already has a live key (revoke it first, or pick another name)"
                    ));
                }
            }
            let key = keys::generate().map_err(|e| format!("no random source: {e}"))?;
            for store in &stores {
                if !keys::add(store, name, &keys::hash(&key), now).map_err(|e| e.to_string())? {
                    return Err(format!("{name} already has a live key"));
                }
            }
            let _ = writeln!(
                ctx.err,
                "API key for {name} (shown once; only its hash is stored):"
            );
            say!(ctx, "{key}");
        }
        ApiKeyAction::List => {
            let mut all = ctx
                .store
                .api_keys()
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())?;
            all.sort_by(|a, b| (&a.name, a.created).cmp(&(&b.name, b.created)));
            for k in all {
                let revoked = k
                    .revoked
                    .map_or("-".to_owned(), |at| format!("revoked {}", utc(at)));
                say!(ctx, "{}\tcreated {}\t{revoked}", k.name, utc(k.created));
            }
        }
        ApiKeyAction::Revoke { name } => {
            match keys::revoke(ctx.store, name, now).map_err(|e| e.to_string())? {
                0 => return Err(format!("{name} has no live key")),
                _ => {
                    say!(ctx, "revoked the key of {name}");
                }
            }
        }
    }
    Ok(())
}

fn utc(unix: u64) -> String {
    chrono::DateTime::from_timestamp(i64::try_from(unix).unwrap_or(i64::MAX), 0).map_or_else(
        || unix.to_string(),
        |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    )
}

/// The pre-shared key of an encrypted PSKC file, from `--psk-hex` or `--psk-file` (`-`: the
/// standard input the command was sent with).
fn psk(
    ctx: &Ctx,
    hex_arg: Option<&str>,
    file: Option<&Path>,
) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, String> {
    let text = match (hex_arg, file) {
        (Some(h), _) => zeroize::Zeroizing::new(h.to_owned()),
        (None, Some(f)) if f == Path::new("-") => {
            let bytes = ctx.stdin.clone().unwrap_or_default();
            zeroize::Zeroizing::new(String::from_utf8_lossy(&bytes).into_owned())
        }
        (None, Some(f)) => zeroize::Zeroizing::new(
            std::fs::read_to_string(ctx.path(f))
                .map_err(|e| format!("cannot read --psk-file {}: {e}", f.display()))?,
        ),
        (None, None) => return Ok(None),
    };
    hex::decode(text.trim())
        .map(|k| Some(zeroize::Zeroizing::new(k)))
        .map_err(|_| "the pre-shared key is not hex".to_owned())
}

fn import_tokens(
    ctx: &mut Ctx,
    file: &Path,
    replace: bool,
    psk_hex: Option<&str>,
    psk_file: Option<&Path>,
) -> Result<(), String> {
    let psk = psk(ctx, psk_hex, psk_file)?;
    let path = ctx.path(file);
    let result = inventory::import_file(
        ctx.store,
        &path,
        psk.as_deref().map(Vec::as_slice),
        replace,
        clock::now_unix(),
        &mut *ctx.progress,
    )
    .map_err(|e| e.to_string())?;
    match result {
        ImportResult::Loaded(n) => {
            say!(ctx, "loaded {n} tokens from {}", file.display());
            Ok(())
        }
        ImportResult::BadRows(rows) => Err(inventory::InventoryError::Rows(rows).to_string()),
        ImportResult::Clashes(clashes) => {
            let list: Vec<String> = clashes
                .iter()
                .map(|(s, bound)| {
                    if *bound {
                        format!("{s} (in use; never replaced)")
                    } else {
                        format!("{s} (exists; --replace to overwrite)")
                    }
                })
                .collect();
            Err(format!(
                "nothing loaded: {} serial(s) already exist:\n  {}",
                list.len(),
                list.join("\n  ")
            ))
        }
    }
}

fn backup(ctx: &mut Ctx, dir: &Path) -> Result<(), String> {
    let target = ctx.path(dir);
    std::fs::create_dir_all(&target)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let info = ctx
        .store
        .backup(&target.join("db"))
        .map_err(|e| format!("backup to {}: {e}", dir.display()))?;
    say!(
        ctx,
        "backup written to {}: {} entries, {} audit records, format {}",
        dir.display(),
        info.entries,
        info.audit_records,
        info.format
    );
    Ok(())
}
