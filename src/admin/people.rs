//! `customers *` and `staff *` as admin commands: their arguments (clap parses them, serde
//! carries them over the admin socket) and the thin calls into [`crate::operate`], which owns
//! what they do and what they print.

use super::Ctx;
use crate::clock;
use crate::config::Bank;
use crate::operate::{businesses, customers, staff, Operator};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use zeroize::Zeroizing;

#[derive(clap::Subcommand, Debug, Clone, Serialize, Deserialize)]
pub enum CustomersAction {
    /// Load the internet-banking host's CSV export (a delta; all rows or none), or with
    /// --business its 法人 contracts and --users their users.
    Import {
        /// The customers export (personal customers).
        #[arg(required_unless_present = "business", conflicts_with = "business")]
        file: Option<PathBuf>,
        /// The 法人 contracts file instead (契約先ID, name, hashes of the ご契約先暗証番号 and
        /// 確認暗証番号, お客様カード digits, 利用形態, status).
        #[arg(long, value_name = "CONTRACTS", requires = "users")]
        business: Option<PathBuf>,
        /// The users (利用者) of the contracts: contract_id,user_id,name.
        #[arg(long, value_name = "USERS", requires = "business")]
        users: Option<PathBuf>,
        /// Report what would change; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print what the branch console shows of a customer (never password hashes).
    Show { contract_id: String },
}

#[derive(clap::Subcommand, Debug, Clone, Serialize, Deserialize)]
pub enum StaffAction {
    /// Add a staff member; prints a one-time initial password the first sign-in must change.
    Add {
        staff_id: String,
        #[arg(long)]
        name: String,
        /// A branch code of bank.toml.
        #[arg(long)]
        branch: String,
        #[arg(long, value_parser = ["clerk", "supervisor"])]
        role: String,
        /// Read the initial password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List staff: ID, name, branch, role, state (never passwords).
    List,
    /// Refuse the staff member's sign-in and end their sessions.
    Disable {
        staff_id: String,
    },
    Enable {
        staff_id: String,
    },
    /// Give a new initial password (printed once, or `--password-stdin`).
    ResetPassword {
        staff_id: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Lift a sign-in pause (5 wrong passwords).
    Unlock {
        staff_id: String,
    },
}

impl StaffAction {
    pub(super) fn reads_stdin(&self) -> bool {
        matches!(
            self,
            StaffAction::Add {
                password_stdin: true,
                ..
            } | StaffAction::ResetPassword {
                password_stdin: true,
                ..
            }
        )
    }
}

/// The profile of the bank the command is for: the running gateway's own (what it serves), or
/// read from the bank directory (`--bank-dir`, else the one the data directory records).
fn bank(ctx: &Ctx) -> Result<Bank, String> {
    if let Some(bank) = &ctx.bank {
        return Ok(bank.clone());
    }
    let (dir, recorded) = &ctx.bank_dir;
    let profiles = crate::banks::Profiles::load(dir).map_err(|e| {
        if *recorded {
            format!(
                "{e} (the bank directory the gateway was last served with; --bank-dir names \
                 where it is now)"
            )
        } else {
            format!("{e} (--bank-dir names the bank profile's directory)")
        }
    })?;
    Ok(profiles.pick(ctx.target.bank.as_ref())?.bank.clone())
}

fn print(ctx: &mut Ctx, text: &str) {
    if !text.trim().is_empty() {
        let _ = writeln!(ctx.out, "{}", text.trim_end());
    }
}

pub(super) fn customers(ctx: &mut Ctx, action: &CustomersAction) -> Result<(), String> {
    let text = match action {
        CustomersAction::Import {
            business: Some(contracts),
            users: Some(users),
            dry_run,
            ..
        } => {
            let open = |p: &PathBuf| {
                std::fs::File::open(ctx.path(p)).map_err(|e| format!("{}: {e}", p.display()))
            };
            let (mut contract_file, mut user_file) = (open(contracts)?, open(users)?);
            let operator = Operator(ctx.operator.clone());
            let mut args = businesses::BusinessImportArgs {
                contracts: &mut contract_file,
                users: &mut user_file,
                contracts_name: &contracts.display().to_string(),
                users_name: &users.display().to_string(),
                dry_run: *dry_run,
                now: clock::now_unix(),
                operator: &operator,
            };
            businesses::import(ctx.store, &mut args).map(|r| r.to_string())
        }
        CustomersAction::Import {
            file: Some(file),
            business: None,
            dry_run,
            ..
        } => {
            let mut csv = std::fs::File::open(ctx.path(file))
                .map_err(|e| format!("{}: {e}", file.display()))?;
            let operator = Operator(ctx.operator.clone());
            let mut args = customers::ImportArgs {
                csv: &mut csv,
                file_name: &file.display().to_string(),
                dry_run: *dry_run,
                now: clock::now_unix(),
                operator: &operator,
            };
            customers::import(ctx.store, &mut args, &mut *ctx.progress).map(|r| r.to_string())
        }
        CustomersAction::Import { .. } => {
            return Err("customers import: a FILE, or --business CONTRACTS --users USERS".into())
        }
        CustomersAction::Show { contract_id } => {
            let bank = bank(ctx)?;
            customers::show(ctx.store, contract_id, &bank.policy).map(|r| r.to_string())
        }
    }
    .map_err(|e| e.to_string())?;
    // The report as operate wrote it (it ends its own lines).
    let _ = write!(ctx.out, "{text}");
    Ok(())
}

/// A password from standard input (`--password-stdin`): its first line.
fn password(ctx: &Ctx, wanted: bool) -> Option<Zeroizing<String>> {
    wanted.then(|| {
        let bytes = Zeroizing::new(ctx.stdin.clone().unwrap_or_default());
        let text = String::from_utf8_lossy(&bytes);
        let line = text.lines().next().unwrap_or("");
        Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_owned())
    })
}

pub(super) fn staff(ctx: &mut Ctx, action: &StaffAction) -> Result<(), String> {
    use staff::Change;
    let (now, op) = (clock::now_unix(), Operator(ctx.operator.clone()));
    let change = |ctx: &Ctx, id: &str, c: Change| {
        staff::change(ctx.store, id, c, now, &op).map_err(|e| e.to_string())
    };
    let text = match action {
        StaffAction::Add {
            staff_id,
            name,
            branch,
            role,
            password_stdin,
        } => {
            let bank = bank(ctx)?;
            let branches: Vec<String> = bank.branches.iter().map(|b| b.code.clone()).collect();
            let role = if role == "supervisor" {
                crate::store::Role::Supervisor
            } else {
                crate::store::Role::Clerk
            };
            let args = staff::AddArgs {
                staff_id,
                name,
                branch_code: branch,
                role,
                password: password(ctx, *password_stdin),
                branches: &branches,
                now,
                operator: &op,
            };
            staff::add(ctx.store, args)
                .map(|r| r.to_string())
                .map_err(|e| e.to_string())
        }
        StaffAction::List => staff::list(ctx.store)
            .map(|l| l.to_string())
            .map_err(|e| e.to_string()),
        StaffAction::Disable { staff_id } => change(ctx, staff_id, Change::Disable),
        StaffAction::Enable { staff_id } => change(ctx, staff_id, Change::Enable),
        StaffAction::Unlock { staff_id } => change(ctx, staff_id, Change::Unlock),
        StaffAction::ResetPassword {
            staff_id,
            password_stdin,
        } => staff::reset_password(
            ctx.store,
            staff_id,
            password(ctx, *password_stdin),
            now,
            &op,
        )
        .map(|r| r.to_string())
        .map_err(|e| e.to_string()),
    }?;
    print(ctx, &text);
    Ok(())
}
