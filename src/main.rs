//! The `keitai-gateway` command: serve the gateway, and the tools testers and operators use.

use clap::{Parser, Subcommand};
use ipnet::IpNet;
use keitai_gateway::admin::{self, AdminCommand, Ctx, Db};
use keitai_gateway::app::App;
use keitai_gateway::banks::{BankCode, Profiles, Site};
use keitai_gateway::carrier;
use keitai_gateway::config::Config;
use keitai_gateway::net::{NetSet, Networks};
use keitai_gateway::router::Gateway;
use keitai_gateway::seal::{KeyError, Sealer};
use keitai_gateway::store::{Store, StoreError};
use keitai_gateway::{clock, demo, server};
use std::io::{Read, Write};
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
        /// Load the demo banks of the bank directory (the default `data`: three banks) into an
        /// empty database, and print each bank's URL, customers, token serials and staff (on a
        /// database that is not the demo's: says so).
        #[arg(long)]
        demo: bool,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Where the database lives (the embedded engine), and the gateway's local files.
        #[arg(long, default_value = "var")]
        data_dir: PathBuf,
        /// Use the PostgreSQL database at URL (postgres://USER@HOST:PORT/DB) instead of the
        /// embedded one: any number of gateways may share it. With --demo, an empty database
        /// gets the demo bank.
        #[arg(
            long,
            value_name = "URL",
            env = "KEITAI_DATABASE",
            hide_env_values = true
        )]
        database: Option<String>,
        /// The bank directory: banks/CODE.toml and banks/CODE/demo/ (several banks), or
        /// bank.toml and demo/ (one bank); carrier_networks.toml in it or in its parent.
        #[arg(long, default_value = "data", env = "KEITAI_BANK_DIR")]
        bank_dir: PathBuf,
        /// Serve the phone pages to PCs and smartphones too (for testers).
        #[arg(long)]
        allow_pc: bool,
        /// Seconds a connection may wait for its next request head (from its accept or its last
        /// answer), and then a request may take to send its body.
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
        /// For the test suite only: take the time from this file (Unix seconds, rewritten by the
        /// test harness) instead of the system clock. Accepted only with `--demo` on a loopback
        /// `--listen` address.
        #[arg(long, hide = true, value_name = "FILE")]
        test_clock: Option<PathBuf>,
    },
    /// Create a new master key file (mode 0600) for sealing token seeds, and its missing
    /// parent directories.
    InitKey { path: PathBuf },
    /// Print the code a token shows now (the token simulator).
    TokenCode {
        serial: String,
        /// Unix time to compute the code for, instead of now.
        #[arg(long)]
        at: Option<u64>,
        /// The inventory file the token was programmed from (default: the demo inventory of
        /// the bank directory's bank that has the serial).
        #[arg(long)]
        inventory: Option<PathBuf>,
        /// The bank directory whose demo inventories are searched.
        #[arg(long, default_value = "data", env = "KEITAI_BANK_DIR")]
        bank_dir: PathBuf,
        /// Only this bank's demo inventory (the demo banks' serials are distinct: rarely needed).
        #[arg(long)]
        bank: Option<BankCode>,
    },
    /// Bring a backup (a directory `backup` wrote) back as DATA_DIR's database; the gateway
    /// must be stopped and DATA_DIR/db must not exist.
    Restore {
        backup_dir: PathBuf,
        #[command(flatten)]
        db: Db,
    },
    /// Re-seal every token seed under a new master key (the gateway must be stopped); then
    /// only the new key opens the database. Run again to finish one cut short.
    Rekey {
        #[arg(long)]
        new_key_file: PathBuf,
        #[command(flatten)]
        db: Db,
    },
    /// Copy an embedded database (customers, tokens, receipts, audit with its chain, keys,
    /// staff, forms) into an empty PostgreSQL database; the gateway must be stopped.
    Migrate {
        /// The data directory of the embedded database.
        #[arg(long, value_name = "DIR")]
        from_data_dir: PathBuf,
        /// The PostgreSQL database to fill (postgres://USER@HOST:PORT/DB); must be empty.
        #[arg(long, value_name = "URL")]
        to: String,
        /// The master key file (default FROM_DATA_DIR/master.key); every gateway on the new
        /// database needs the same one.
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
    /// The commands that reach a running gateway through its admin socket.
    #[command(flatten)]
    Admin(AdminCommand),
}

fn main() -> ExitCode {
    // Whatever the umask: the data directory, database and key files are the owner's only.
    keitai_gateway::private::restrict_umask();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve {
            demo,
            listen,
            data_dir,
            database,
            bank_dir,
            allow_pc,
            client_timeout,
            key_file,
            tls_proxies,
            internal_networks,
            branch_networks,
            emulator,
            test_clock,
        } => {
            if let Some(file) = test_clock {
                if let Err(message) = use_test_clock(&file, demo, listen) {
                    eprintln!("keitai-gateway: {message}");
                    return ExitCode::FAILURE;
                }
            }
            let key_file = key_file.unwrap_or_else(|| data_dir.join("master.key"));
            let access = Access {
                allow_pc,
                tls_proxies,
                client_timeout: std::time::Duration::from_secs(client_timeout.max(1)),
                internal_networks,
                branch_networks,
                emulator,
            };
            let place = Place {
                data_dir,
                database,
                bank_dir,
            };
            serve(demo, listen, place, access, &key_file)
        }
        Command::InitKey { path } => Sealer::create(&path)
            .map(|_| println!("created {}", path.display()))
            .map_err(|e| e.to_string()),
        Command::TokenCode {
            serial,
            at,
            inventory,
            bank_dir,
            bank,
        } => {
            let unix = at.unwrap_or_else(clock::now_unix);
            let code = match inventory {
                Some(file) => keitai_gateway::simulator::code(&file, &serial, unix),
                None => Profiles::load(&bank_dir)
                    .map_err(|e| e.to_string())
                    .and_then(|p| {
                        keitai_gateway::simulator::demo_code(&p, bank.as_ref(), &serial, unix)
                    }),
            };
            code.map(|c| println!("{c}"))
        }
        Command::Restore { backup_dir, db } => restore(&backup_dir, &db),
        Command::Rekey { new_key_file, db } => rekey(&new_key_file, &db),
        Command::Admin(cmd) => admin(&cmd),
        Command::Migrate {
            from_data_dir,
            to,
            key_file,
        } => {
            let key_file = key_file.unwrap_or_else(|| from_data_dir.join("master.key"));
            migrate(&from_data_dir, &to, &key_file)
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

/// What every command says about a database that cannot be read back (its details, such as
/// file offsets inside the storage engine, help no one at the console).
fn damaged(data_dir: &Path) -> String {
    format!(
        "the database in {} is damaged: its files cannot be read back; restore the data \
         directory from its last backup (README: Restoring a damaged database)",
        data_dir.display()
    )
}

/// The PostgreSQL database at `url` when given, else the embedded one in `data_dir`.
fn open_any(data_dir: &Path, url: Option<&str>, sealer: Sealer) -> Result<Store, String> {
    match url {
        Some(url) => open_postgres(url, sealer),
        None => open_store(data_dir, sealer),
    }
}

fn open_postgres(url: &str, sealer: Sealer) -> Result<Store, String> {
    Store::open_postgres(url, sealer).map_err(|e| match e {
        StoreError::WrongKey => format!("{e}: the PostgreSQL database was sealed with another key"),
        e => format!("cannot open the PostgreSQL database: {e}"),
    })
}

fn migrate(from: &Path, to: &str, key_file: &Path) -> Result<(), String> {
    let sealer = Sealer::load(key_file).map_err(|e| e.to_string())?;
    keitai_gateway::private::private_dir(from)?;
    let cache = keitai_gateway::store::BULK_CACHE;
    // A database of several banks is copied bank by bank, each into its own bank's rows.
    let banks = keitai_gateway::damaged::catching(|| {
        Store::open_every_bank(&from.join("db"), &sealer, cache)
    })
    .map_err(|_panic| damaged(from))?
    .map_err(|e| open_error(from, e))?;
    let (sources, targets) = if banks.is_empty() {
        let source = open_store_cached(from, sealer.clone(), cache)?;
        (vec![source], vec![open_postgres(to, sealer)?])
    } else {
        let codes: Vec<BankCode> = banks.iter().filter_map(|s| s.bank().cloned()).collect();
        let targets = Store::open_banks_postgres(to, &sealer, &codes)
            .map_err(|e| format!("cannot open the PostgreSQL database: {e}"))?;
        (banks, targets)
    };
    for (source, target) in sources.iter().zip(&targets) {
        let bank = source
            .bank()
            .map_or(String::new(), |b| format!(" (bank {b})"));
        let copied = source.copy_into(target).map_err(|e| format!("{e}{bank}"))?;
        match target.verify_audit().map_err(|e| e.to_string())? {
            Ok(n) => println!(
                "copied {}{bank} into PostgreSQL: {copied} audit records, chain intact ({n})",
                from.display()
            ),
            Err(seq) => {
                return Err(format!(
                    "copied{bank}, but the audit chain is broken at record {seq}"
                ))
            }
        }
    }
    Ok(())
}

/// Gives the system back the heap that opening the stores freed: the embedded engine reads its
/// snapshot and every page's state into buffers it drops once its page table is built (about
/// 17 MB with 1,000,000 customers and tokens), and glibc would keep those pages mapped, and
/// counted in the gateway's memory, for as long as it runs.
fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers; it only returns free heap pages to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn open_store_cached(data_dir: &Path, sealer: Sealer, cache: u64) -> Result<Store, String> {
    keitai_gateway::private::private_dir(data_dir)?;
    let opened = keitai_gateway::damaged::catching(|| {
        Store::open_with_cache(&data_dir.join("db"), sealer, cache)
    })
    .map_err(|_panic| damaged(data_dir))?;
    opened.map_err(|e| open_error(data_dir, e))
}

/// The stores of `banks`, one database: the PostgreSQL one at `url` when given, else the
/// embedded one in `data_dir`.
fn open_banks(
    data_dir: &Path,
    url: Option<&str>,
    sealer: &Sealer,
    cache: u64,
    banks: &[BankCode],
) -> Result<Vec<Store>, String> {
    if let Some(url) = url {
        return Store::open_banks_postgres(url, sealer, banks).map_err(|e| match e {
            StoreError::WrongKey => {
                format!("{e}: the PostgreSQL database was sealed with another key")
            }
            e => format!("cannot open the PostgreSQL database: {e}"),
        });
    }
    keitai_gateway::private::private_dir(data_dir)?;
    let opened = keitai_gateway::damaged::catching(|| {
        Store::open_banks(&data_dir.join("db"), sealer, cache, banks)
    })
    .map_err(|_panic| damaged(data_dir))?;
    opened.map_err(|e| open_error(data_dir, e))
}

fn open_error(data_dir: &Path, e: StoreError) -> String {
    match e {
        e if e.is_damage() => damaged(data_dir),
        StoreError::WrongKey => format!(
            "{e}: the database in {} was sealed with another key",
            data_dir.display()
        ),
        e @ (StoreError::NewerFormat { .. } | StoreError::RekeyPending) => e.to_string(),
        e => format!(
            "cannot open the database in {} ({e}); is another keitai-gateway using it?",
            data_dir.display()
        ),
    }
}

/// Switches to the test harness's clock, refusing unless this is a loopback demo run: a real
/// gateway's time (TOTP steps, receipts, audit) is never anybody's to set.
fn use_test_clock(file: &Path, demo: bool, listen: SocketAddr) -> Result<(), String> {
    if !demo || !listen.ip().is_loopback() {
        return Err(format!(
            "--test-clock is for the test suite: only with --demo on a loopback --listen \
             address (not {listen}{})",
            if demo { "" } else { " without --demo" }
        ));
    }
    clock::use_test_clock(file).map_err(|e| e.to_string())
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

/// Where the gateway finds its database, its local files and the bank profile.
struct Place {
    data_dir: PathBuf,
    database: Option<String>,
    bank_dir: PathBuf,
}

fn serve(
    demo: bool,
    listen: SocketAddr,
    place: Place,
    access: Access,
    key_file: &Path,
) -> Result<(), String> {
    let Place {
        data_dir,
        database,
        bank_dir,
    } = place;
    let profiles = Profiles::load(&bank_dir).map_err(|e| e.to_string())?;
    let (networks, networks_file) = Networks::for_bank_dir(&bank_dir)?;
    match &networks_file {
        Some(file) => println!("Carrier networks from {}.", file.display()),
        None => {
            println!("No carrier_networks.toml: subscriber IDs are believed from loopback only.")
        }
    }
    keitai_gateway::private::private_dir(&data_dir)?;
    // Commands run while this gateway is stopped read the same profiles (`--bank-dir` unsaid).
    admin::record_bank_dir(&data_dir, &bank_dir)?;
    let sealer = match Sealer::load(key_file) {
        Err(KeyError::Missing(_)) if demo => {
            println!("Created the demo master key {}.", key_file.display());
            Sealer::create(key_file)
        }
        other => other,
    }
    .map_err(|e| e.to_string())?;
    let stores = if profiles.multi {
        let cache = keitai_gateway::store::SERVING_CACHE;
        open_banks(
            &data_dir,
            database.as_deref(),
            &sealer,
            cache,
            &profiles.codes(),
        )?
    } else {
        vec![open_any(&data_dir, database.as_deref(), sealer)?]
    };
    trim_heap();
    // How to get a demo token's code, as typed in the working directory `serve` ran in.
    let codes_hint = if bank_dir == Path::new("data") {
        "keitai-gateway token-code SERIAL".to_owned()
    } else {
        format!(
            "keitai-gateway token-code SERIAL --bank-dir {}",
            bank_dir.display()
        )
    };
    let mut apps = Vec::new();
    for (profile, store) in profiles.banks.iter().zip(stores) {
        let dir = &profile.dir;
        if demo {
            if profiles.multi {
                println!(
                    "== Bank {} {} at /{}/",
                    profile.code, profile.bank.name, profile.code
                );
            }
            // Gateways started at once on one new PostgreSQL database load it once.
            let loaded = store
                .exclusively(|| {
                    if !store.is_empty() {
                        return Ok(false);
                    }
                    demo::load(&store, dir, clock::now_unix()).map(|_| true)
                })
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            if loaded {
                println!("Loaded the demo bank from {}.", dir.display());
            }
            if demo::matches(&store, dir).map_err(|e| e.to_string())? {
                let base = if profiles.multi {
                    profile.code.prefix()
                } else {
                    String::new()
                };
                print_demo(dir, &store, &base, &codes_hint)?;
            } else {
                println!(
                    "This database is not the demo bank's (its customers or their passwords \
                     differ): no demo credentials printed, nothing loaded."
                );
            }
        }
        let config = Config {
            listen,
            data_dir: data_dir.clone(),
            bank: profile.bank.clone(),
            networks: networks.clone(),
            allow_pc: access.allow_pc,
            tls_proxies: NetSet::new(access.tls_proxies.clone()),
            client_timeout: access.client_timeout,
            // This host only unless networks are given.
            internal_networks: NetSet::or(access.internal_networks.clone(), NetSet::loopback()),
            branch_networks: NetSet::or(access.branch_networks.clone(), NetSet::loopback()),
            emulator: access
                .emulator
                .then(|| keitai_gateway::emulator::Settings::for_bank_dir(dir)),
        };
        let site = Site::new(profile.code.clone(), profile.bank.hosts.clone());
        apps.push((site, config, store));
    }
    let multi = profiles.multi;
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
        let gateway = if multi {
            let mut sites = Vec::new();
            for (site, config, store) in apps {
                println!(
                    "bank {} {}: http://{local}{}/",
                    site.code, config.bank.name, site.base
                );
                let base = site.base.clone();
                sites.push((site, App::under(config, store, base)));
            }
            Gateway::banks(sites)
        } else {
            let (_, config, store) = apps.pop().ok_or("no bank profile")?;
            Gateway::new(App::new(config, store))
        };
        let gateway = Arc::new(gateway);
        // Admin commands reach this gateway through its socket from now on.
        let admin_socket = admin::socket::listen(&data_dir, gateway.clone())?;
        println!("listening on http://{local}/");
        server::serve(gateway.clone(), listener, shutdown_signal()).await;
        drop(admin_socket);
        for app in gateway.apps() {
            app.write_cancel_counts().map_err(|e| e.to_string())?;
            app.store.flush().map_err(|e| e.to_string())?;
        }
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

/// `base`: the bank's path prefix on a multi-bank gateway (empty for one bank); `codes_hint`:
/// the command that prints a token's code.
fn print_demo(bank_dir: &Path, store: &Store, base: &str, codes_hint: &str) -> Result<(), String> {
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
    println!("Codes: {codes_hint}");
    let cards = demo::cards(bank_dir).map_err(|e| e.to_string())?;
    if !cards.is_empty() {
        println!("お客様カード (ア イ ウ エ オ カ キ ク) of the customers above:");
        for (id, digits) in &cards {
            println!("  {id}: {}", spaced(digits));
        }
    }
    let businesses = demo::businesses(bank_dir).map_err(|e| e.to_string())?;
    if !businesses.is_empty() {
        println!("法人 contracts at {base}/biz (契約先ID / ご契約先暗証番号 / ご契約先確認暗証番号 / name / 利用形態):");
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
    println!("Branch staff at {base}/branch/ (staff ID / password / name / branch / role):");
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

/// A progress counter on standard error when it is a terminal (big inventories take a while);
/// hidden otherwise, so scripts and logs see only the result line.
fn progress_bar() -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} {pos} rows ({per_sec}) {elapsed}")
    {
        bar.set_style(style);
    }
    bar
}

/// Runs an admin command in the gateway serving its data directory, through the admin
/// socket, or (no gateway answering) on the database opened here. One function makes the
/// output either way ([`admin::run`]).
fn admin(cmd: &AdminCommand) -> Result<(), String> {
    let db = cmd.db();
    let stdin = if cmd.reads_stdin() {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        Some(buf)
    } else {
        None
    };
    let bar = progress_bar();
    let mut progress = |n: u64| bar.inc(n);
    let (stdout, stderr) = (std::io::stdout(), std::io::stderr());
    let (mut out, mut err) = (stdout.lock(), stderr.lock());
    // A PostgreSQL database is shared: the command opens it itself, gateways serving or not.
    let reached = if db.database.is_some() {
        None
    } else {
        admin::socket::call(
            &db.data_dir,
            cmd,
            stdin.as_deref(),
            &mut out,
            &mut err,
            &mut progress,
        )
    };
    let result = match reached {
        Some(result) => result,
        None => {
            let cwd = std::env::current_dir().map_err(|e| format!("no working directory: {e}"))?;
            let bank_dir = cmd.target().bank_dir_in(&db.data_dir, &cwd);
            let sealer = Sealer::load(&db.key_file()).map_err(|e| e.to_string())?;
            let (stores, chosen) = open_for(cmd, db, &bank_dir.0, sealer)?;
            // One store is one bank (open_for opens every bank's on a multi-bank setup).
            let every_bank: Vec<&Store> = if stores.len() > 1 {
                stores.iter().collect()
            } else {
                Vec::new()
            };
            let mut ctx = Ctx {
                store: &stores[chosen],
                every_bank,
                target: cmd.target().clone(),
                bank: None,
                bank_dir,
                out: &mut out,
                err: &mut err,
                cwd,
                stdin,
                operator: admin::socket::operator(),
                progress: &mut progress,
            };
            admin::run(cmd, &mut ctx)
        }
    };
    bar.finish_and_clear();
    let _ = out.flush();
    result
}

/// The stores an admin command run here works on, and which of them is its bank's: one store
/// for one bank; every bank's (one database) on a multi-bank setup, so `--all-banks` reaches
/// them all.
fn open_for(
    cmd: &AdminCommand,
    db: &Db,
    bank_dir: &Path,
    sealer: Sealer,
) -> Result<(Vec<Store>, usize), String> {
    let target = cmd.target();
    // One bank's commands need no profile (its records are not keyed by bank).
    if target.bank.is_none() && !bank_dir.join("banks").is_dir() {
        return Ok((
            vec![open_any(&db.data_dir, db.database.as_deref(), sealer)?],
            0,
        ));
    }
    let profiles = Profiles::load(bank_dir).map_err(|e| e.to_string())?;
    if !profiles.multi {
        profiles.pick(target.bank.as_ref())?;
        return Ok((
            vec![open_any(&db.data_dir, db.database.as_deref(), sealer)?],
            0,
        ));
    }
    let codes = profiles.codes();
    let chosen = if cmd.all_banks() {
        0
    } else {
        let code = &profiles
            .pick(target.bank.as_ref())
            .map_err(|e| match &target.bank {
                // The repository's `data/` holds several banks: a one-bank database's commands
                // run there need its own bank directory.
                None => format!(
                    "{e} in {}; a one-bank database's commands take the directory of its \
                     bank.toml (--bank-dir)",
                    bank_dir.display()
                ),
                Some(_) => e,
            })?
            .code;
        codes.iter().position(|c| c == code).unwrap_or(0)
    };
    let cache = keitai_gateway::store::SERVING_CACHE;
    let stores = open_banks(&db.data_dir, db.database.as_deref(), &sealer, cache, &codes)?;
    Ok((stores, chosen))
}

/// Whether a gateway serves `db`'s data directory (its admin socket answers).
fn gateway_serves(db: &Db) -> bool {
    std::os::unix::net::UnixStream::connect(db.socket()).is_ok()
}

fn restore(backup_dir: &Path, db: &Db) -> Result<(), String> {
    if db.database.is_some() {
        return Err(
            "this works on the embedded database only; a PostgreSQL database is restored with \
             pg_restore into a new database, then checked with audit --verify (README: Backup \
             and restore)"
                .into(),
        );
    }
    if gateway_serves(db) {
        return Err(format!(
            "a gateway serves {}: stop it before restoring",
            db.data_dir.display()
        ));
    }
    let target = db.data_dir.join("db");
    std::fs::create_dir_all(&db.data_dir)
        .map_err(|e| format!("cannot create {}: {e}", db.data_dir.display()))?;
    keitai_gateway::store::restore(&backup_dir.join("db"), &target).map_err(|e| e.to_string())?;
    // Opening proves the key and the format; the chain is checked before anyone serves it:
    // every bank's chain, in a database of several banks.
    let sealer = Sealer::load(&db.key_file()).map_err(|e| e.to_string())?;
    let cache = keitai_gateway::store::SERVING_CACHE;
    let banks =
        keitai_gateway::damaged::catching(|| Store::open_every_bank(&target, &sealer, cache))
            .map_err(|_panic| damaged(&db.data_dir))?
            .map_err(|e| open_error(&db.data_dir, e))?;
    let stores = if banks.is_empty() {
        vec![open_store(&db.data_dir, sealer)?]
    } else {
        banks
    };
    let mut checked = Vec::new();
    for store in &stores {
        let bank = store
            .bank()
            .map_or(String::new(), |b| format!("bank {b}: "));
        match store.verify_audit().map_err(|e| e.to_string())? {
            Ok(n) => checked.push(format!("{bank}audit chain intact: {n} records")),
            Err(seq) => {
                return Err(format!(
                    "restored, but {bank}the audit chain is broken at record {seq}"
                ))
            }
        }
    }
    println!(
        "restored {} into {} ({})",
        backup_dir.display(),
        target.display(),
        checked.join("; ")
    );
    Ok(())
}

fn rekey(new_key_file: &Path, db: &Db) -> Result<(), String> {
    // PostgreSQL's gateways are other hosts' processes: README says to stop them all.
    if db.database.is_none() && gateway_serves(db) {
        return Err(format!(
            "a gateway serves {}: stop it before rotating the key",
            db.data_dir.display()
        ));
    }
    let old = Sealer::load(&db.key_file()).map_err(|e| e.to_string())?;
    let new = Sealer::load(new_key_file).map_err(|e| e.to_string())?;
    let bar = progress_bar();
    let n = match &db.database {
        Some(url) => Store::rekey_postgres(url, old, new, |n| bar.inc(n)),
        None => Store::rekey(&db.data_dir.join("db"), old, new, |n| bar.inc(n)),
    }
    .map_err(|e| match e {
        StoreError::WrongKey => {
            format!("{e}: --key-file must be the key the database is sealed with now")
        }
        e => e.to_string(),
    })?;
    bar.finish_and_clear();
    let new = new_key_file.display();
    if db.database.is_some() {
        println!(
            "re-sealed {n} sealed values (token seeds, cards) of every bank in the PostgreSQL \
             database under {new}; start every gateway with --key-file {new} (the old key no \
             longer opens the database)"
        );
    } else {
        println!(
            "re-sealed {n} sealed values (token seeds, cards) under {new}; serve with --key-file \
             {new} from now on (the old key no longer opens the database)"
        );
    }
    Ok(())
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
