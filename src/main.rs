//! The `keitai-gateway` command: serve the gateway, and the tools testers and operators use.

use clap::{Parser, Subcommand};
use keitai_gateway::api::keys;
use keitai_gateway::app::App;
use keitai_gateway::carrier::{self, Networks};
use keitai_gateway::config::{default_internal_networks, Bank, Config};
use keitai_gateway::store::{ImportResult, Store};
use keitai_gateway::{clock, demo, form, inventory, server};
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
enum ApiKeyAction {
    /// Make a key for caller NAME: printed once, only its hash is stored.
    Add {
        name: String,
        #[arg(long, default_value = "var")]
        data_dir: PathBuf,
    },
    /// List the callers: name, created, revoked (never keys).
    List {
        #[arg(long, default_value = "var")]
        data_dir: PathBuf,
    },
    /// Revoke caller NAME's key.
    Revoke {
        name: String,
        #[arg(long, default_value = "var")]
        data_dir: PathBuf,
    },
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
        /// A client network allowed to reach /api/ (repeatable; replaces the default,
        /// 127.0.0.0/8 and ::1/128).
        #[arg(long = "internal-network", value_name = "CIDR")]
        internal_networks: Vec<ipnet::IpNet>,
    },
    /// Manage the keys of the OTP API's callers (run while the gateway is stopped).
    ApiKey {
        #[command(subcommand)]
        action: ApiKeyAction,
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
            internal_networks,
        } => serve(
            demo,
            listen,
            data_dir,
            bank_dir,
            allow_pc,
            internal_networks,
        ),
        Command::ApiKey { action } => api_key(action),
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

fn serve(
    demo: bool,
    listen: SocketAddr,
    data_dir: PathBuf,
    bank_dir: PathBuf,
    allow_pc: bool,
    internal_networks: Vec<ipnet::IpNet>,
) -> Result<(), String> {
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
        internal_networks: if internal_networks.is_empty() {
            default_internal_networks()
        } else {
            internal_networks
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

fn api_key(action: ApiKeyAction) -> Result<(), String> {
    let now = clock::now_unix();
    match action {
        ApiKeyAction::Add { name, data_dir } => {
            if !keys::valid_name(&name) {
                return Err(format!(
                    "caller name {name:?}: 1 to 64 letters, digits, '.', '_' or '-'"
                ));
            }
            let key = keys::generate().map_err(|e| format!("no random source: {e}"))?;
            let store = open_store(&data_dir)?;
            if !store
                .add_api_key(&name, &keys::hash(&key), now)
                .map_err(|e| e.to_string())?
            {
                return Err(format!(
                    "{name} already has a live key (revoke it first, or pick another name)"
                ));
            }
            eprintln!("API key for {name} (shown once; only its hash is stored):");
            println!("{key}");
        }
        ApiKeyAction::List { data_dir } => {
            let store = open_store(&data_dir)?;
            let mut all = store
                .api_keys()
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())?;
            all.sort_by(|a, b| (&a.name, a.created).cmp(&(&b.name, b.created)));
            for k in all {
                let revoked = k
                    .revoked
                    .map_or("-".to_owned(), |at| format!("revoked {}", utc(at)));
                println!("{}\tcreated {}\t{revoked}", k.name, utc(k.created));
            }
        }
        ApiKeyAction::Revoke { name, data_dir } => {
            let store = open_store(&data_dir)?;
            match store
                .revoke_api_key(&name, now)
                .map_err(|e| e.to_string())?
            {
                0 => return Err(format!("{name} has no live key")),
                _ => println!("revoked the key of {name}"),
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
