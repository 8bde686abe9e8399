//! The `keitai-gateway` command: serve the gateway, and the tools testers and operators use.

use clap::{Parser, Subcommand};
use ipnet::IpNet;
use keitai_gateway::api::keys;
use keitai_gateway::app::App;
use keitai_gateway::carrier;
use keitai_gateway::config::{Bank, Config};
use keitai_gateway::inventory::ImportResult;
use keitai_gateway::net::{NetSet, Networks};
use keitai_gateway::router::Gateway;
use keitai_gateway::seal::{KeyError, Sealer};
use keitai_gateway::store::{Store, StoreError};
use keitai_gateway::{clock, demo, inventory, server};
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
enum ApiKeyAction {
    /// Make a key for caller NAME: printed once, only its hash is stored.
    Add {
        name: String,
        #[command(flatten)]
        db: Db,
    },
    /// List the callers: name, created, revoked (never keys).
    List {
        #[command(flatten)]
        db: Db,
    },
    /// Revoke caller NAME's key.
    Revoke {
        name: String,
        #[command(flatten)]
        db: Db,
    },
}

/// Where the tools find the database and its master key (the gateway must be stopped: a running
/// gateway holds the database's lock).
#[derive(clap::Args)]
struct Db {
    #[arg(long, default_value = "var")]
    data_dir: PathBuf,
    /// The master key file (default DATA_DIR/master.key).
    #[arg(long)]
    key_file: Option<PathBuf>,
}

impl Db {
    fn open(&self) -> Result<Store, String> {
        let key_file = self
            .key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("master.key"));
        let sealer = Sealer::load(&key_file).map_err(|e| e.to_string())?;
        open_store(&self.data_dir, sealer)
    }
}

#[derive(Subcommand)]
enum CustomersAction {
    /// Load the internet-banking host's CSV export (a delta; all rows or none).
    Import {
        file: PathBuf,
        /// Report what would change; write nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        db: Db,
    },
    /// Print what the branch console shows of a customer (never password hashes).
    Show {
        contract_id: String,
        /// Where bank.toml is (its lock limits).
        #[arg(long, default_value = "data")]
        bank_dir: PathBuf,
        #[command(flatten)]
        db: Db,
    },
}

#[derive(Subcommand)]
enum StaffAction {
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
        #[arg(long, default_value = "data")]
        bank_dir: PathBuf,
        #[command(flatten)]
        db: Db,
    },
    /// List staff: ID, name, branch, role, state (never passwords).
    List {
        #[command(flatten)]
        db: Db,
    },
    /// Refuse the staff member's sign-in and end their sessions.
    Disable {
        staff_id: String,
        #[command(flatten)]
        db: Db,
    },
    Enable {
        staff_id: String,
        #[command(flatten)]
        db: Db,
    },
    /// Give a new initial password (printed once, or `--password-stdin`).
    ResetPassword {
        staff_id: String,
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        db: Db,
    },
    /// Lift a sign-in pause (5 wrong passwords).
    Unlock {
        staff_id: String,
        #[command(flatten)]
        db: Db,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    Serve {
        /// Load the demo bank from the bank directory into an empty database, and print its
        /// customers and token serials (on a database that is not the demo's: says so).
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
        /// Seconds a client may take to send its request head, and then its body.
        #[arg(long, default_value_t = 10)]
        client_timeout: u64,
        /// The master key that seals token seeds (default DATA_DIR/master.key; `--demo` creates
        /// it when missing).
        #[arg(long)]
        key_file: Option<PathBuf>,
        /// A TLS-terminating proxy's network (CIDR, repeatable): only its
        /// `X-Forwarded-Proto: https` is believed. Default: none.
        #[arg(long = "tls-proxy", value_name = "CIDR")]
        tls_proxies: Vec<IpNet>,
        /// A client network allowed to reach /api/ (repeatable; replaces the default,
        /// 127.0.0.0/8 and ::1/128).
        #[arg(long = "internal-network", value_name = "CIDR")]
        internal_networks: Vec<IpNet>,
        /// A client network (CIDR) the branch console answers; repeatable. Replaces the
        /// default (loopback only).
        #[arg(long = "branch-network", value_name = "CIDR")]
        branch_networks: Vec<IpNet>,
        /// Serve the phone emulator for testers at /emulator/ (to the emulator networks of
        /// carrier_networks.toml only).
        #[arg(long)]
        emulator: bool,
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
        #[command(flatten)]
        db: Db,
    },
    /// Manage the keys of the OTP API's callers (run while the gateway is stopped).
    ApiKey {
        #[command(subcommand)]
        action: ApiKeyAction,
    },
    /// The bank's customers: import the internet-banking host's export, show one.
    Customers {
        #[command(subcommand)]
        action: CustomersAction,
    },
    /// Branch staff accounts.
    Staff {
        #[command(subcommand)]
        action: StaffAction,
    },
    /// Create a new master key file (mode 0600) for sealing token seeds.
    InitKey { path: PathBuf },
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
    /// Load a vendor token inventory (CSV or PSKC) into the database: all entries or none.
    ImportTokens {
        file: PathBuf,
        #[arg(long, default_value = "var")]
        data_dir: PathBuf,
        /// Overwrite serials that exist and are bound to nobody.
        #[arg(long)]
        replace: bool,
        /// Pre-shared key (32 hex digits, AES-128) of an encrypted PSKC file.
        #[arg(long)]
        psk_hex: Option<String>,
        /// The master key file (default DATA_DIR/master.key).
        #[arg(long)]
        key_file: Option<PathBuf>,
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
            client_timeout,
            key_file,
            tls_proxies,
            internal_networks,
            branch_networks,
            emulator,
        } => {
            let key_file = key_file.unwrap_or_else(|| data_dir.join("master.key"));
            let access = Access {
                allow_pc,
                tls_proxies,
                client_timeout: std::time::Duration::from_secs(client_timeout.max(1)),
                internal_networks,
                branch_networks,
                emulator,
            };
            serve(demo, listen, data_dir, bank_dir, access, &key_file)
        }
        Command::InitKey { path } => Sealer::create(&path)
            .map(|_| println!("created {}", path.display()))
            .map_err(|e| e.to_string()),
        Command::ApiKey { action } => api_key(action),
        Command::Customers { action } => customers(action),
        Command::Staff { action } => staff(action),
        Command::Audit {
            verify,
            contract,
            since,
            db,
        } => audit(verify, contract.as_deref(), since.as_deref(), &db),
        Command::TokenCode {
            serial,
            at,
            inventory,
        } => token_code(&serial, at, &inventory),
        Command::ImportTokens {
            file,
            data_dir,
            replace,
            psk_hex,
            key_file,
        } => {
            let key_file = key_file.unwrap_or_else(|| data_dir.join("master.key"));
            import_tokens(&file, &data_dir, replace, psk_hex.as_deref(), &key_file)
        }
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

fn open_store(data_dir: &Path, sealer: Sealer) -> Result<Store, String> {
    open_store_cached(data_dir, sealer, keitai_gateway::store::SERVING_CACHE)
}

fn open_store_cached(data_dir: &Path, sealer: Sealer, cache: u64) -> Result<Store, String> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
    Store::open_with_cache(&data_dir.join("db"), sealer, cache).map_err(|e| match e {
        StoreError::WrongKey => format!(
            "{e}: the database in {} was sealed with another key",
            data_dir.display()
        ),
        e => format!(
            "cannot open the database in {} ({e}); is another keitai-gateway using it?",
            data_dir.display()
        ),
    })
}

/// How the gateway treats its clients: the serve flags that are not paths.
struct Access {
    allow_pc: bool,
    tls_proxies: Vec<IpNet>,
    client_timeout: std::time::Duration,
    internal_networks: Vec<IpNet>,
    branch_networks: Vec<IpNet>,
    emulator: bool,
}

fn serve(
    demo: bool,
    listen: SocketAddr,
    data_dir: PathBuf,
    bank_dir: PathBuf,
    access: Access,
    key_file: &Path,
) -> Result<(), String> {
    let bank = Bank::load(&bank_dir.join("bank.toml")).map_err(|e| e.to_string())?;
    let networks_file = bank_dir.join("carrier_networks.toml");
    let networks = if networks_file.exists() {
        Networks::load(&networks_file)?
    } else {
        Networks::loopback_only()
    };
    std::fs::create_dir_all(&data_dir)
        .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
    let sealer = match Sealer::load(key_file) {
        Err(KeyError::Missing(_)) if demo => {
            println!("Created the demo master key {}.", key_file.display());
            Sealer::create(key_file)
        }
        other => other,
    }
    .map_err(|e| e.to_string())?;
    let store = open_store(&data_dir, sealer)?;
    if demo {
        if store.is_empty() {
            demo::load(&store, &bank_dir, clock::now_unix()).map_err(|e| e.to_string())?;
            println!("Loaded the demo bank from {}.", bank_dir.display());
        }
        if demo::matches(&store, &bank_dir).map_err(|e| e.to_string())? {
            print_demo(&bank_dir, &store)?;
        } else {
            println!(
                "This database is not the demo bank's (its customers or their passwords differ): \
                 no demo credentials printed, nothing loaded."
            );
        }
    }
    let config = Config {
        listen,
        data_dir,
        bank,
        networks,
        allow_pc: access.allow_pc,
        tls_proxies: NetSet::new(access.tls_proxies),
        client_timeout: access.client_timeout,
        // This host only unless networks are given.
        internal_networks: NetSet::or(access.internal_networks, NetSet::loopback()),
        branch_networks: NetSet::or(access.branch_networks, NetSet::loopback()),
        emulator: access
            .emulator
            .then(|| keitai_gateway::emulator::Settings::for_bank_dir(&bank_dir)),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Request log lines are written in batches, whenever a worker runs out of work.
        .on_thread_park(keitai_gateway::log::flush_idle)
        .on_thread_stop(keitai_gateway::log::flush_idle)
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        println!("listening on http://{local}/");
        let gateway = Arc::new(Gateway::new(App::new(config, store)));
        server::serve(gateway.clone(), listener, shutdown_signal()).await;
        gateway.app.store.flush().map_err(|e| e.to_string())?;
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
        // Tokens issued to someone at a branch are not free.
        if t.state != keitai_gateway::store::TokenState::Available || t.assigned_to.is_some() {
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
    let cards = demo::cards(bank_dir).map_err(|e| e.to_string())?;
    if !cards.is_empty() {
        println!("お客様カード (ア イ ウ エ オ カ キ ク) of the customers above:");
        for (id, digits) in &cards {
            println!("  {id}: {}", spaced(digits));
        }
    }
    let businesses = demo::businesses(bank_dir).map_err(|e| e.to_string())?;
    if !businesses.is_empty() {
        println!("法人 contracts at /biz (契約先ID / ご契約先暗証番号 / ご契約先確認暗証番号 / name / 利用形態):");
    }
    for b in &businesses {
        let stored = store.business(&b.contract_id).map_err(|e| e.to_string())?;
        let usage = stored.as_ref().map_or("-", |s| s.usage.label());
        println!(
            "  {} / {} / {} / {} / {usage}",
            b.contract_id, b.admin_password, b.confirm_pin, b.name
        );
        println!(
            "    お客様カード (ア イ ウ エ オ カ キ ク): {}",
            spaced(&b.card)
        );
        for u in &b.users {
            let serial = stored
                .as_ref()
                .and_then(|s| s.token_of(&u.user_id).map(str::to_owned))
                .unwrap_or_else(|| "-".into());
            println!("    利用者 {} {} token {serial}", u.user_id, u.name);
        }
        let issued: Vec<String> = store
            .assigned_tokens(&b.contract_id)
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|t| t.state == keitai_gateway::store::TokenState::Available)
            .map(|t| t.serial)
            .collect();
        println!(
            "    tokens issued to it, not registered: {}",
            issued.join(" ")
        );
    }
    println!("Branch staff at /branch/ (staff ID / password / name / branch / role):");
    for s in demo::staff(bank_dir).map_err(|e| e.to_string())? {
        println!(
            "  {} / {} / {} / {} / {:?}",
            s.staff_id, s.password, s.name, s.branch_code, s.role
        );
    }
    Ok(())
}

/// Card digits as printed, one under each position: `4 0 1 7 3 9 5 8`.
fn spaced(digits: &str) -> String {
    digits
        .chars()
        .map(String::from)
        .collect::<Vec<_>>()
        .join(" ")
}

fn audit(verify: bool, contract: Option<&str>, since: Option<&str>, db: &Db) -> Result<(), String> {
    let since = match since {
        Some(day) => Some(
            keitai_gateway::branch::when::day_start(day)
                .ok_or_else(|| format!("--since {day:?} is not a date (YYYY-MM-DD)"))?,
        ),
        None => None,
    };
    let store = db.open()?;
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
    let code = keitai_gateway::simulator::code(
        inventory_file,
        serial,
        at.unwrap_or_else(clock::now_unix),
    )?;
    println!("{code}");
    Ok(())
}

fn import_tokens(
    file: &Path,
    data_dir: &Path,
    replace: bool,
    psk_hex: Option<&str>,
    key_file: &Path,
) -> Result<(), String> {
    let psk = psk_hex
        .map(|h| hex::decode(h.trim()).map_err(|_| "--psk-hex is not hex".to_owned()))
        .transpose()?
        .map(zeroize::Zeroizing::new);
    let seeds =
        inventory::read_any(file, psk.as_deref().map(Vec::as_slice)).map_err(|e| e.to_string())?;
    let sealer = Sealer::load(key_file).map_err(|e| e.to_string())?;
    let store = open_store_cached(data_dir, sealer, keitai_gateway::store::BULK_CACHE)?;
    // Sealing, checking and writing each pass over every token once.
    let bar = progress_bar(3 * seeds.len() as u64);
    let tokens = inventory::seal(&store, &seeds, |n| bar.inc(n));
    let result = inventory::import(&store, &tokens, replace, clock::now_unix(), |n| bar.inc(n))
        .map_err(|e| e.to_string());
    bar.finish_and_clear();
    match result? {
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
        ApiKeyAction::Add { name, db } => {
            if !keys::valid_name(&name) {
                return Err(format!(
                    "caller name {name:?}: 1 to 64 letters, digits, '.', '_' or '-'"
                ));
            }
            let key = keys::generate().map_err(|e| format!("no random source: {e}"))?;
            let store = db.open()?;
            if !keys::add(&store, &name, &keys::hash(&key), now).map_err(|e| e.to_string())? {
                return Err(format!(
                    "{name} already has a live key (revoke it first, or pick another name)"
                ));
            }
            eprintln!("API key for {name} (shown once; only its hash is stored):");
            println!("{key}");
        }
        ApiKeyAction::List { db } => {
            let store = db.open()?;
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
        ApiKeyAction::Revoke { name, db } => {
            let store = db.open()?;
            match keys::revoke(&store, &name, now).map_err(|e| e.to_string())? {
                0 => return Err(format!("{name} has no live key")),
                _ => println!("revoked the key of {name}"),
            }
        }
    }
    Ok(())
}

fn customers(action: CustomersAction) -> Result<(), String> {
    use keitai_gateway::operate::{customers, Operator};
    let text = match action {
        CustomersAction::Import { file, dry_run, db } => {
            let csv = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let args = customers::ImportArgs {
                csv: &csv,
                file_name: &file.display().to_string(),
                dry_run,
                now: clock::now_unix(),
                operator: &Operator::from_os(),
            };
            customers::import(&db.open()?, &args).map(|r| r.to_string())
        }
        CustomersAction::Show {
            contract_id,
            bank_dir,
            db,
        } => {
            let bank = Bank::load(&bank_dir.join("bank.toml")).map_err(|e| e.to_string())?;
            customers::show(&db.open()?, &contract_id, &bank.policy).map(|r| r.to_string())
        }
    };
    print!("{}", text.map_err(|e| e.to_string())?);
    Ok(())
}

/// A password from standard input (`--password-stdin`): its first line.
fn password_from_stdin() -> Result<zeroize::Zeroizing<String>, String> {
    let mut line = zeroize::Zeroizing::new(String::new());
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("reading the password from standard input: {e}"))?;
    Ok(zeroize::Zeroizing::new(
        line.trim_end_matches(['\r', '\n']).to_owned(),
    ))
}

fn staff(action: StaffAction) -> Result<(), String> {
    use keitai_gateway::operate::staff::{self, Change};
    use keitai_gateway::operate::Operator;
    let (now, op) = (clock::now_unix(), Operator::from_os());
    let stdin = |wanted: bool| wanted.then(password_from_stdin).transpose();
    let change = |db: &Db, id: &str, c: Change| -> Result<String, String> {
        staff::change(&db.open()?, id, c, now, &op).map_err(|e| e.to_string())
    };
    let text = match action {
        StaffAction::Add {
            staff_id,
            name,
            branch,
            role,
            password_stdin,
            bank_dir,
            db,
        } => {
            let bank = Bank::load(&bank_dir.join("bank.toml")).map_err(|e| e.to_string())?;
            let branches: Vec<String> = bank.branches.iter().map(|b| b.code.clone()).collect();
            let role = if role == "supervisor" {
                keitai_gateway::store::Role::Supervisor
            } else {
                keitai_gateway::store::Role::Clerk
            };
            let args = staff::AddArgs {
                staff_id: &staff_id,
                name: &name,
                branch_code: &branch,
                role,
                password: stdin(password_stdin)?,
                branches: &branches,
                now,
                operator: &op,
            };
            staff::add(&db.open()?, args)
                .map(|r| r.to_string())
                .map_err(|e| e.to_string())
        }
        StaffAction::List { db } => staff::list(&db.open()?)
            .map(|l| l.to_string())
            .map_err(|e| e.to_string()),
        StaffAction::Disable { staff_id, db } => change(&db, &staff_id, Change::Disable),
        StaffAction::Enable { staff_id, db } => change(&db, &staff_id, Change::Enable),
        StaffAction::Unlock { staff_id, db } => change(&db, &staff_id, Change::Unlock),
        StaffAction::ResetPassword {
            staff_id,
            password_stdin,
            db,
        } => staff::reset_password(&db.open()?, &staff_id, stdin(password_stdin)?, now, &op)
            .map(|r| r.to_string())
            .map_err(|e| e.to_string()),
    }?;
    if !text.trim().is_empty() {
        println!("{}", text.trim_end());
    }
    Ok(())
}

fn utc(unix: u64) -> String {
    chrono::DateTime::from_timestamp(i64::try_from(unix).unwrap_or(i64::MAX), 0).map_or_else(
        || unix.to_string(),
        |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    )
}

/// A progress bar on standard error when it is a terminal (big inventories take a while);
/// hidden otherwise, so scripts and logs see only the result line.
fn progress_bar(total: u64) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "importing tokens {wide_bar} {percent:>3}% ETA {eta}",
    ) {
        bar.set_style(style);
    }
    bar
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
