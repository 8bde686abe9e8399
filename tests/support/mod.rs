//! Test fixtures: a gateway process on a free port with its own data directory (killed on
//! drop) that keeps the test's time, and the clients of the shared `testkit` crate: a phone
//! that speaks Shift_JIS over a raw socket, follows accesskeys, submits the forms it is shown
//! and keeps cookies only when the handset would; branch staff; an OTP API caller.

#![allow(dead_code)]

pub mod host;
pub mod pg;
pub mod webdriver;

use keitai_gateway::inventory::Seed;
use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use testkit::gateway::{copy_dir, Gateway, Stderr};

pub use host::{bcrypt_of, cli_as_operator, cli_with_stdin, initial_password, pbkdf2_of};
// Kept for the tests that encode forms by hand (not all of them are used at every moment).
#[allow(unused_imports)]
pub use testkit::http::{encode_form, exchange_partial, sjis_urlencode, utf8_urlencode, Resp};
pub use testkit::phone::{Phone, AU, FOMA, SOFTBANK};
pub use testkit::staff::Staff;

/// Demo customers of the one-bank demo ([`one_bank`]`/demo/customers.csv`).
pub const TARO: (&str, &str, &str) = ("1000000001", "Pass1234", "Move1234");
/// Holds GMHW00000010 with 認証する (`demo/registrations.csv`).
pub const HANAKO: (&str, &str, &str) = ("1000000002", "Pass2345", "Move2345");
pub const ICHIRO: (&str, &str, &str) = ("1000000003", "Pass3456", "Move3456");
pub const JIRO: (&str, &str, &str) = ("1000000004", "Pass4567", "Move4567");
pub const HANAKO_TOKEN: &str = "GMHW00000010";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The repository's one-bank setup (`bank.toml`, `demo/`), which the suite's gateways and
/// commands serve unless a test says otherwise.
pub fn one_bank() -> PathBuf {
    repo().join("data/one-bank")
}

/// The repository's multi-bank directory (`banks/CODE.toml`, `banks/CODE/demo/`): what a plain
/// `serve --demo` serves.
pub fn banks_dir() -> PathBuf {
    repo().join("data")
}

/// The carrier networks file the repository's bank directories share.
pub fn carrier_networks() -> PathBuf {
    repo().join("data/carrier_networks.toml")
}

/// The gateway binary run in the repository, its bank directory the one-bank setup
/// (`KEITAI_BANK_DIR`, which `--bank-dir` overrides), as the suite's commands are run.
pub fn command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_keitai-gateway"));
    c.current_dir(repo()).env("KEITAI_BANK_DIR", one_bank());
    c
}

/// A running gateway on `data_dir`. Dropping it kills the process.
pub struct Server {
    gateway: Gateway,
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// What the gateway printed before it listened (the demo credentials, or why not).
    pub banner: Vec<String>,
    _tmp: Option<tempfile::TempDir>,
}

impl Server {
    /// A gateway with the demo bank in a fresh data directory.
    pub fn start() -> Server {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut s = Server::start_in(tmp.path(), &[]);
        s._tmp = Some(tmp);
        s
    }

    /// A gateway on `data_dir` (loaded with the demo bank if empty), with extra flags.
    pub fn start_in(data_dir: &Path, extra: &[&str]) -> Server {
        Server::start_with_bank(data_dir, &one_bank(), extra)
    }

    /// A demo gateway of the repository's three banks (1020, 1021, 1022) on `data_dir`.
    pub fn start_centre(data_dir: &Path, extra: &[&str]) -> Server {
        Server::start_with_bank(data_dir, &banks_dir(), extra)
    }

    /// A gateway on `data_dir` with the bank profile (and demo bank) from `bank_dir`. Its clock
    /// is the test's ([`now`], moved by [`set_now`]).
    pub fn start_with_bank(data_dir: &Path, bank_dir: &Path, extra: &[&str]) -> Server {
        let fresh = std::fs::read_dir(data_dir).is_ok_and(|mut d| d.next().is_none());
        if fresh && bank_dir == one_bank() && now() == epoch() && !extra.contains(&"--key-file") {
            copy_dir(demo_template(), data_dir);
        }
        Server::launch(data_dir, bank_dir, extra)
    }

    /// A gateway on `data_dir` as a bank runs it: no `--demo`, the repository's bank profile.
    ///
    /// Such a gateway keeps the system's clock (the test clock is for demo runs only), and from
    /// here on so does this test: [`now`] is the system's time. A code computed for it is
    /// accepted for one more step (the skew window), but replay and next-code checks need a
    /// demo gateway, whose time stands still.
    pub fn start_plain(data_dir: &Path, extra: &[&str]) -> Server {
        SYSTEM_TIME.with(|s| s.set(true));
        Server::spawn(data_dir, Some(&one_bank()), None, extra)
    }

    /// [`Server::start_plain`] with the bank profile in `bank_dir` (README's walk-through).
    pub fn start_plain_with_bank(data_dir: &Path, bank_dir: &Path, extra: &[&str]) -> Server {
        SYSTEM_TIME.with(|s| s.set(true));
        Server::spawn(data_dir, Some(bank_dir), None, extra)
    }

    /// README's first command: `serve --demo` with no `--bank-dir` (nor `KEITAI_BANK_DIR`), run
    /// in the repository, on `data_dir`; the test's clock.
    pub fn start_readme_demo(data_dir: &Path) -> Server {
        Server::launch_in(data_dir, None, &[])
    }

    /// Starts a demo gateway on `data_dir` as it is, on the test's clock.
    fn launch(data_dir: &Path, bank_dir: &Path, extra: &[&str]) -> Server {
        Server::launch_in(data_dir, Some(bank_dir), extra)
    }

    /// [`Server::launch`]; no `bank_dir`: the default bank directory.
    fn launch_in(data_dir: &Path, bank_dir: Option<&Path>, extra: &[&str]) -> Server {
        let clock = data_dir.join("test-clock");
        assert!(
            write_clock(&clock, now()),
            "cannot write {}",
            clock.display()
        );
        CLOCKS.with(|c| c.borrow_mut().push(clock.clone()));
        let mut flags = vec!["--demo"];
        flags.extend_from_slice(extra);
        Server::spawn(data_dir, bank_dir, Some(&clock), &flags)
    }

    /// `serve` on `data_dir` with `--bank-dir bank_dir`; without one, the default's (`data` of
    /// the repository, where it runs).
    fn spawn(
        data_dir: &Path,
        bank_dir: Option<&Path>,
        clock: Option<&Path>,
        extra: &[&str],
    ) -> Server {
        let mut serve = Command::new(env!("CARGO_BIN_EXE_keitai-gateway"));
        serve
            .current_dir(repo())
            .env_remove("KEITAI_BANK_DIR")
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir);
        if let Some(bank_dir) = bank_dir {
            serve.arg("--bank-dir").arg(bank_dir);
        }
        if let Some(clock) = clock {
            serve.arg("--test-clock").arg(clock);
        }
        serve.args(extra);
        let gateway = Gateway::spawn(serve, Stderr::Collect(data_dir.join("server.log")));
        Server {
            addr: gateway.addr,
            banner: gateway.banner.clone(),
            gateway,
            data_dir: data_dir.to_owned(),
            _tmp: None,
        }
    }

    pub fn phone(&self, ua: &str) -> Phone {
        Phone::new(self.addr, ua)
    }

    /// One request as written (a JSON body, or none), from loopback: the status and the body
    /// as text.
    pub fn request(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        let resp = self.phone("test").raw(req.as_bytes());
        (
            resp.status,
            String::from_utf8_lossy(&resp.body).into_owned(),
        )
    }

    /// The server's log so far (see [`Gateway::log`]: to look for a line, wait for it with
    /// [`Server::wait_log`]).
    pub fn log(&self) -> String {
        self.gateway.log()
    }

    /// Waits (at most [`testkit::gateway::LOG_DEADLINE`]) for a log line containing `needle`;
    /// returns the log.
    pub fn wait_log(&self, needle: &str) -> String {
        self.gateway.wait_log(needle)
    }

    /// Whether the request log has a line for `method path` with `status` (the logical status:
    /// a phone error page is sent as 200 and logged with its own). Waits for the line (at most
    /// [`testkit::gateway::LOG_DEADLINE`]): each runtime worker writes its batch of lines when it
    /// runs out of work, so a line from one worker may follow a later request's from another.
    pub fn logged(&self, method: &str, path: &str, status: u16) -> bool {
        let line = format!(" {method} {path} {status} ");
        self.wait_log(&line).lines().any(|l| l.contains(&line))
    }

    /// Stops the server as an operator does (SIGTERM) and waits until it has exited.
    pub fn stop(self) {
        self.gateway.stop();
    }

    /// Stops the server the hard way (SIGKILL) and waits for it.
    pub fn kill(self) {
        self.gateway.kill();
    }
}

/// Fills the empty directory `dir` with the demo bank as `serve --demo` leaves it at the suite's
/// time (a copy of the template below), for a test that adds to it before its gateway starts.
pub fn demo_data_dir(dir: &Path) {
    assert!(
        std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none()),
        "{} is not empty",
        dir.display()
    );
    copy_dir(demo_template(), dir);
}

/// A data directory with the demo bank loaded, made once per run of the suite by the gateway
/// itself (`serve --demo` on an empty directory at the suite's time, stopped cleanly) and copied
/// for each test that starts a demo gateway on an empty directory: loading the demo bank hashes
/// 17 passwords with argon2, about 0.3 s of CPU that every such test would pay again.
fn demo_template() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        // Templates of earlier runs whose process is gone.
        for entry in std::fs::read_dir(&tmp).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("demo-bank-") {
                if !Path::new("/proc").join(pid).exists() {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let dir = tmp.join(format!("demo-bank-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("template directory");
        let saved = NOW.with(|n| n.replace(None));
        Server::launch(&dir, &one_bank(), &[]).stop();
        NOW.with(|n| n.set(saved));
        CLOCKS.with(|c| c.borrow_mut().retain(|p| !p.starts_with(&dir)));
        for own in ["test-clock", "server.log"] {
            let _ = std::fs::remove_file(dir.join(own));
        }
        dir
    })
}

/// A PSKC fixture. python-pskc writes them (tests/fixtures/pskc/make_fixtures.py): `.ci/run`
/// makes a fresh set under target/ and names its directory in `PSKC_FIXTURES` (relative to the
/// repository); without it the tests read the set committed in tests/fixtures/pskc/, which the
/// generator never overwrites. The RFC 6030 example is typed from the RFC and always committed.
pub fn pskc_fixture(name: &str) -> PathBuf {
    let committed = repo().join("tests/fixtures/pskc");
    let dir = match std::env::var_os("PSKC_FIXTURES") {
        Some(dir) if name != "rfc6030_figure6.pskcxml" => repo().join(dir),
        _ => committed,
    };
    let path = dir.join(name);
    assert!(path.is_file(), "PSKC fixture {} is missing", path.display());
    path
}

/// The demo inventory, for computing codes as a token would show them.
pub fn inventory() -> Vec<Seed> {
    keitai_gateway::inventory::read(&one_bank().join("demo/tokens.csv")).expect("demo inventory")
}

/// The suite's time, the same in every test: the start of the minute the suite started in.
/// The gateways the tests start keep this time (a clock file they read, see
/// `serve --test-clock`) until a test moves it, so a code computed for it stays the code a
/// token shows, however long the test takes.
fn epoch() -> u64 {
    static EPOCH: OnceLock<u64> = OnceLock::new();
    *EPOCH.get_or_init(|| {
        let real = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("the system clock is after 1970")
            .as_secs();
        real - real % 60
    })
}

thread_local! {
    /// This test's time once it moved it (each test runs on a thread of its own).
    static NOW: Cell<Option<u64>> = const { Cell::new(None) };
    /// The clock files of the gateways this test started.
    static CLOCKS: RefCell<Vec<PathBuf>> = const { RefCell::new(Vec::new()) };
    /// This test started a gateway without `--demo`, which keeps the system's time.
    static SYSTEM_TIME: Cell<bool> = const { Cell::new(false) };
}

/// The test's time: what its gateways read as "now" (the system's time once the test has
/// started a plain gateway, see [`Server::start_plain`]).
pub fn now() -> u64 {
    if SYSTEM_TIME.with(Cell::get) {
        return std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("the system clock is after 1970")
            .as_secs();
    }
    NOW.with(Cell::get).unwrap_or_else(epoch)
}

/// Sets the test's time, for the test and every gateway it started.
pub fn set_now(unix: u64) {
    NOW.with(|n| n.set(Some(unix)));
    CLOCKS.with(|c| {
        for path in c.borrow().iter() {
            let _ = write_clock(path, unix);
        }
    });
}

/// Moves the test's time on by `secs`.
pub fn advance(secs: u64) {
    set_now(now() + secs);
}

/// Writes the clock file: a new file renamed over the old, so the gateway reads either time
/// whole. A gateway whose data directory is gone is skipped.
fn write_clock(path: &Path, unix: u64) -> bool {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, format!("{unix}\n")).is_ok() && std::fs::rename(&tmp, path).is_ok()
}

/// The demo token `serial`.
fn seed(serial: &str) -> Seed {
    inventory()
        .into_iter()
        .find(|t| t.serial == serial)
        .unwrap_or_else(|| panic!("{serial} not in demo inventory"))
}

/// The code `serial` shows at `unix`.
pub fn code_at(serial: &str, unix: u64) -> String {
    seed(serial).code_at(unix)
}

/// The code `serial` shows `steps_ahead` steps from now (1 = the next code, still within skew).
pub fn code(serial: &str, steps_ahead: u64) -> String {
    let t = seed(serial);
    t.code_at(now() + steps_ahead * t.params.period)
}

/// A six-digit code that is not `serial`'s code anywhere in the skew window.
pub fn wrong_code(serial: &str) -> String {
    let near: Vec<String> = (0..3).map(|s| code(serial, s)).collect();
    let t = inventory()
        .into_iter()
        .find(|t| t.serial == serial)
        .unwrap();
    let before = t.code_at(now() - t.params.period);
    (0..)
        .map(|i: u32| format!("{:06}", (i * 111_111) % 1_000_000))
        .find(|c| !near.contains(c) && *c != before)
        .unwrap()
}

/// Runs the gateway's command line; returns (success, stdout, stderr).
pub fn cli(args: &[&str]) -> (bool, String, String) {
    let out = command().args(args).output().expect("run keitai-gateway");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Demo branch staff of the one-bank demo (`demo/staff.csv`): staff ID, password.
pub const CLERK_HONTEN: (&str, &str) = ("C0011", "Clerk0011");
pub const CLERK_EKIMAE: (&str, &str) = ("C0021", "Clerk0021");
pub const SUPER_HONTEN: (&str, &str) = ("S0012", "Super0012");
pub const SUPER_EKIMAE: (&str, &str) = ("S0022", "Super0022");
pub const SUPER_HIGASHI: (&str, &str) = ("S0031", "Super0031");

/// Runs the gateway binary with `args` (a command-line tool) and returns its standard output.
pub fn run_cli(args: &[&str]) -> (bool, String) {
    let out = command().args(args).output().expect("run keitai-gateway");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// Opens the store of a stopped gateway's `data_dir` (with its master key) for a test to
/// change, and flushes it afterwards.
pub fn with_store<T>(data_dir: &Path, f: impl FnOnce(&keitai_gateway::store::Store) -> T) -> T {
    let sealer = keitai_gateway::seal::Sealer::load(&data_dir.join("master.key")).expect("key");
    let store = keitai_gateway::store::Store::open(&data_dir.join("db"), sealer).expect("store");
    let out = f(&store);
    store.flush().expect("flush");
    out
}

/// Makes `serial`'s sealed seed unopenable, so every OTP check of it is a storage failure.
pub fn damage_seed(data_dir: &Path, serial: &str) {
    with_store(data_dir, |store| {
        let mut token = store.token(serial).expect("read").expect("token");
        token.secret_sealed = data_encoding::BASE64.encode(&[0u8; 48]);
        store.write(|tx| tx.put_token(&token)).expect("write");
    });
}

/// Makes staff `staff_id`'s record unreadable, so their sign-in is a storage failure.
pub fn damage_staff(data_dir: &Path, staff_id: &str) {
    // The store's API writes only whole records, so the damage is done in the engine's own
    // files, as a failing disk would (sled: the `staff` tree, JSON records).
    let db = sled::open(data_dir.join("db")).expect("open the stopped gateway's database");
    let staff = db.open_tree("staff").expect("staff tree");
    staff
        .insert(staff_id.as_bytes(), &b"\"not a staff record\""[..])
        .expect("write");
    db.flush().expect("flush");
}

/// Writes format version `format` into a stopped gateway's database, as a newer release of
/// the gateway would have (the store's API never writes a format it does not know).
pub fn set_db_format(data_dir: &Path, format: u32) {
    let db = sled::open(data_dir.join("db")).expect("open the stopped gateway's database");
    let meta = db.open_tree("meta").expect("meta tree");
    meta.insert("db_format", &format.to_be_bytes()[..])
        .expect("write");
    db.flush().expect("flush");
}
