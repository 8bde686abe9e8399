//! The `keitai-gateway` command: serve the gateway, and the tools testers and operators use.

use clap::{Parser, Subcommand};
use keitai_gateway::app::App;
use keitai_gateway::carrier::{self, Networks};
use keitai_gateway::config::{default_branch_networks, Bank, Config};
use keitai_gateway::store::{ImportResult, Store};
use keitai_gateway::{clock, demo, form, inventory, server};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "keitai-gateway",
    version,
    about = "Feature-phone OTP token gateway"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    Serve {
        /// Load the demo bank from the bank directory into an empty database, and print its
        /// customers and token serials.
        #[arg(long)]
        demo: bool,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Where the database lives.
        #[arg(long, default_value = "var")]
        data_dir: PathBuf,
        /// Where bank.toml, carrier_networks.toml and demo/ are.
        #[arg(long, default_value = "data")]
        bank_dir: PathBuf,
        /// Serve the phone pages to PCs and smartphones too (for testers).
        #[arg(long)]
        allow_pc: bool,
        /// A client network (CIDR) the branch console answers; repeatable. Replaces the
        /// default (loopback only).
        #[arg(long = "branch-network", value_name = "CIDR")]
        branch_networks: Vec<ipnet::IpNet>,
    },
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
        #[arg(long, default_value = "var")]
        data_dir: PathBuf,
    },
    /// Print the code a token shows now (the token simulator).
    TokenCode {
        serial: String,
        /// Unix time to compute the code for, instead of now.
        #[arg(long)]
        at: Option<u64>,
        /// The inventory file the token was programmed from.
        #[arg(long, default_value = "data/demo/tokens.csv")]
        inventory: PathBuf,
    },
    /// Load a vendor token inventory (CSV) into the database: all rows or none.
    ImportTokens {
        file: PathBuf,
        #[arg(long, default_value = "var")]
        data_dir: PathBuf,
        /// Overwrite serials that exist and are bound to nobody.
        #[arg(long)]
        replace: bool,
    },
    /// Print what the gateway makes of a handset, as one line of JSON.
    Ua {
        user_agent: String,
        /// A request header, `Name: value` (repeatable).
        #[arg(short = 'H', long = "header")]
        headers: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve {
            demo,
            listen,
            data_dir,
            bank_dir,
            allow_pc,
            branch_networks,
        } => {
            let options = ServeOptions {
                demo,
                listen,
                data_dir,
                bank_dir,
                allow_pc,
                branch_networks,
            };
            serve(options)
        }
        Command::Audit {
            verify,
            contract,
            since,
            data_dir,
        } => audit(verify, contract.as_deref(), since.as_deref(), &data_dir),
        Command::TokenCode {
            serial,
            at,
            inventory,
        } => token_code(&serial, at, &inventory),
        Command::ImportTokens {
            file,
            data_dir,
            replace,
        } => import_tokens(&file, &data_dir, replace),
        Command::Ua {
            user_agent,
            headers,
        } => ua(&user_agent, &headers),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("keitai-gateway: {message}");
            ExitCode::FAILURE
        }
    }
}

fn open_store(data_dir: &Path) -> Result<Store, String> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
    Store::open(&data_dir.join("db")).map_err(|e| {
        format!(
            "cannot open the database in {} ({e}); is another keitai-gateway using it?",
            data_dir.display()
        )
    })
}

struct ServeOptions {
    demo: bool,
    listen: SocketAddr,
    data_dir: PathBuf,
    bank_dir: PathBuf,
    allow_pc: bool,
    branch_networks: Vec<ipnet::IpNet>,
}

fn serve(options: ServeOptions) -> Result<(), String> {
    let ServeOptions {
        demo,
        listen,
        data_dir,
        bank_dir,
        allow_pc,
        branch_networks,
    } = options;
    let bank = Bank::load(&bank_dir.join("bank.toml")).map_err(|e| e.to_string())?;
    let networks_file = bank_dir.join("carrier_networks.toml");
    let networks = if networks_file.exists() {
        Networks::load(&networks_file)?
    } else {
        Networks::loopback_only()
    };
    let store = open_store(&data_dir)?;
    if demo {
        if store.is_empty() {
            demo::load(&store, &bank_dir, clock::now_unix()).map_err(|e| e.to_string())?;
            println!("Loaded the demo bank from {}.", bank_dir.display());
        }
        print_demo(&bank_dir, &store)?;
    }
    let config = Config {
        listen,
        data_dir,
        bank,
        networks,
        allow_pc,
        branch_networks: if branch_networks.is_empty() {
            default_branch_networks()
        } else {
            branch_networks
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        println!("listening on http://{local}/");
        let app = Arc::new(App::new(config, store));
        server::serve(app.clone(), listener, shutdown_signal()).await;
        app.store.flush().map_err(|e| e.to_string())?;
        println!("stopped");
        Ok(())
    })
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return ctrl_c.await.unwrap_or(()),
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await.unwrap_or(());
}

fn print_demo(bank_dir: &Path, store: &Store) -> Result<(), String> {
    println!("Demo customers (contract ID / login password / transfer password / name / token):");
    for c in demo::customers(bank_dir).map_err(|e| e.to_string())? {
        let token = store
            .customer(&c.contract_id)
            .map_err(|e| e.to_string())?
            .and_then(|r| r.token)
            .map_or("-".to_owned(), |b| b.serial);
        println!(
            "  {} / {} / {} / {} / {}",
            c.contract_id, c.login_password, c.transfer_password, c.name, token
        );
    }
    let mut hardware = Vec::new();
    let mut software = Vec::new();
    for t in store.tokens() {
        let t = t.map_err(|e| e.to_string())?;
        if t.state != keitai_gateway::store::TokenState::Available {
            continue;
        }
        match t.kind {
            keitai_gateway::store::TokenKind::Hardware => hardware.push(t.serial),
            keitai_gateway::store::TokenKind::Software => software.push(t.serial),
        }
    }
    println!("Free hardware tokens: {}", hardware.join(" "));
    println!(
        "Software tokens (not for feature phones): {}",
        software.join(" ")
    );
    println!("Codes: keitai-gateway token-code SERIAL");
    println!("Branch staff at /branch/ (staff ID / password / name / branch / role):");
    for s in demo::staff(bank_dir).map_err(|e| e.to_string())? {
        println!(
            "  {} / {} / {} / {} / {:?}",
            s.staff_id, s.password, s.name, s.branch_code, s.role
        );
    }
    Ok(())
}

fn audit(
    verify: bool,
    contract: Option<&str>,
    since: Option<&str>,
    data_dir: &Path,
) -> Result<(), String> {
    let since = match since {
        Some(day) => Some(
            keitai_gateway::branch::when::day_start(day)
                .ok_or_else(|| format!("--since {day:?} is not a date (YYYY-MM-DD)"))?,
        ),
        None => None,
    };
    let store = open_store(data_dir)?;
    if verify {
        return match store.verify_audit().map_err(|e| e.to_string())? {
            Ok(n) => {
                println!("audit chain intact: {n} records");
                Ok(())
            }
            Err(seq) => Err(format!("audit chain broken at record {seq}")),
        };
    }
    let mut out = std::io::stdout().lock();
    for rec in store.audit() {
        let rec = rec.map_err(|e| e.to_string())?;
        if contract.is_some_and(|c| rec.contract_id.as_deref() != Some(c))
            || since.is_some_and(|t| rec.at < t)
        {
            continue;
        }
        let line = keitai_gateway::branch::audit_line(&rec);
        if writeln!(out, "{line}").is_err() {
            break; // a closed pipe (`| head`) ends the listing quietly
        }
    }
    Ok(())
}

fn token_code(serial: &str, at: Option<u64>, inventory_file: &Path) -> Result<(), String> {
    let serial = form::serial(serial);
    let tokens = inventory::read(inventory_file).map_err(|e| e.to_string())?;
    let token = tokens
        .iter()
        .find(|t| t.serial == serial)
        .ok_or_else(|| format!("{serial} is not in {}", inventory_file.display()))?;
    let now = at.unwrap_or_else(clock::now_unix);
    println!("{}", token.params.code_at(&token.secret(), now));
    Ok(())
}

fn import_tokens(file: &Path, data_dir: &Path, replace: bool) -> Result<(), String> {
    let tokens = inventory::read(file).map_err(|e| e.to_string())?;
    let store = open_store(data_dir)?;
    match store
        .import_tokens(&tokens, replace, clock::now_unix())
        .map_err(|e| e.to_string())?
    {
        ImportResult::Loaded(n) => {
            println!("loaded {n} tokens from {}", file.display());
            Ok(())
        }
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

fn ua(user_agent: &str, headers: &[String]) -> Result<(), String> {
    let mut pairs = Vec::new();
    for h in headers {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| format!("header {h:?} is not `Name: value`"))?;
        pairs.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let handset = carrier::detect(user_agent, &refs, false);
    let subscriber = carrier::claimed_subscriber_id(&handset, &refs);
    println!("{}", handset.json_line(subscriber.as_deref()));
    Ok(())
}
