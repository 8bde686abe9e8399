//! A throw-away PostgreSQL cluster for tests: `initdb` into a temporary directory, `postgres`
//! on a free loopback port, run as the unprivileged user `kgtest` when the tests run as root
//! (PostgreSQL refuses to run as root; CI runs as root), removed when dropped. Shared by the
//! store's unit tests (`src/store/tests.rs`) and the integration tests (`tests/support/pg.rs`
//! includes this file).
//!
//! Without PostgreSQL binaries the tests fail, saying how to install them: never skipped.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The unprivileged user that owns and runs the cluster when the tests run as root.
pub const TEST_USER: &str = "kgtest";

const MISSING: &str = "PostgreSQL 15 or later is needed for these tests and none was found \
    (initdb, postgres, pg_isready, psql). Install it with `apt-get install postgresql-15` \
    (Debian/Ubuntu; .ci/run does this), or set PG_BIN to the directory holding its binaries.";

/// The directory of PostgreSQL's server binaries: `PG_BIN`, else the newest Debian install,
/// else the one on `PATH`.
pub fn bin_dir() -> PathBuf {
    let has = |d: &Path| d.join("initdb").is_file() && d.join("postgres").is_file();
    if let Some(d) = std::env::var_os("PG_BIN").map(PathBuf::from) {
        assert!(
            has(&d),
            "PG_BIN={}: no initdb there. {MISSING}",
            d.display()
        );
        return d;
    }
    for v in (15..=30).rev() {
        let d = PathBuf::from(format!("/usr/lib/postgresql/{v}/bin"));
        if has(&d) {
            return d;
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&path) {
            if has(&d) {
                return d;
            }
        }
    }
    panic!("{MISSING}");
}

/// uid and gid of the user to run PostgreSQL as: ourselves, or `kgtest` when we are root
/// (created here when missing, as .ci/run does).
fn run_as() -> Option<(u32, u32)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let lookup = || {
        let out = Command::new("id").args(["-u", TEST_USER]).output().ok()?;
        let uid = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
        let out = Command::new("id").args(["-g", TEST_USER]).output().ok()?;
        let gid = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
        Some((uid, gid))
    };
    if let Some(ids) = lookup() {
        return Some(ids);
    }
    let _ = Command::new("useradd")
        .args([
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            TEST_USER,
        ])
        .status();
    Some(lookup().unwrap_or_else(|| {
        panic!(
            "running as root, PostgreSQL needs an unprivileged user: \
             `useradd --system {TEST_USER}` (.ci/run does this)"
        )
    }))
}

fn command(bin: &Path, program: &str, user: Option<(u32, u32)>) -> Command {
    match user {
        None => Command::new(bin.join(program)),
        Some((uid, gid)) => {
            let mut c = Command::new("setpriv");
            c.arg(format!("--reuid={uid}"))
                .arg(format!("--regid={gid}"))
                .arg("--clear-groups")
                .arg("--")
                .arg(bin.join(program));
            c
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A running cluster; dropping it stops it at once and removes its files.
pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    user: Option<(u32, u32)>,
    pub port: u16,
    server: Mutex<Option<Child>>,
    made: Mutex<Vec<String>>,
    /// fsync on: what a benchmark measures (tests leave it off).
    durable: bool,
    /// TLS offered, with a certificate of its own test CA ([`Cluster::start_tls`]).
    tls: bool,
}

impl Cluster {
    /// A new cluster (a second or two: initdb without syncing, no fsync while serving, since
    /// a crash of the machine is not what these tests are about).
    pub fn start() -> Cluster {
        Cluster::start_with(false)
    }

    /// A new cluster offering TLS (`ssl=on`) with a certificate for `127.0.0.1` and
    /// `localhost` signed by a CA made for it ([`Cluster::ca_file`]); plain connections are
    /// still accepted, so what a client asks for decides.
    pub fn start_tls() -> Cluster {
        Cluster::start_as(false, true)
    }

    /// The CA certificate (PEM) that signed a TLS cluster's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    /// A new cluster that syncs its WAL to disk (`fsync=on`) when `durable`: for benchmarks,
    /// where every commit must have reached the disk.
    pub fn start_with(durable: bool) -> Cluster {
        Cluster::start_as(durable, false)
    }

    fn start_as(durable: bool, tls: bool) -> Cluster {
        let bin = bin_dir();
        let user = run_as();
        let dir = tempfile::Builder::new()
            .prefix("kg-pg-")
            .tempdir()
            .expect("temp dir");
        if let Some((uid, gid)) = user {
            let path =
                std::ffi::CString::new(dir.path().as_os_str().as_encoded_bytes()).expect("path");
            // SAFETY: a valid NUL-terminated path.
            assert_eq!(unsafe { libc::chown(path.as_ptr(), uid, gid) }, 0, "chown");
        }
        let data = dir.path().join("data");
        let out = command(&bin, "initdb", user)
            .arg("-D")
            .arg(&data)
            .args(["-U", TEST_USER, "--auth=trust", "--no-sync", "-E", "UTF8"])
            .args(["--locale=C", "--no-instructions"])
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cluster = Cluster {
            dir,
            bin,
            user,
            port: free_port(),
            server: Mutex::new(None),
            made: Mutex::new(Vec::new()),
            durable,
            tls,
        };
        if tls {
            cluster.make_certificates();
        }
        cluster.start_server();
        cluster
    }

    /// A test CA and a server certificate signed by it (P-256 keys, valid two days), the
    /// server's key readable by the server's user alone (PostgreSQL insists).
    fn make_certificates(&self) {
        let dir = self.dir.path();
        let ext = dir.join("server.ext");
        std::fs::write(
            &ext,
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
             keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
        )
        .expect("write server.ext");
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        let steps: [Vec<&str>; 3] = [
            [
                &["req", "-x509"][..],
                &ec,
                &["-keyout", "ca.key", "-out", "ca.crt"],
            ]
            .concat(),
            [
                &["req"][..],
                &ec,
                &["-keyout", "server.key", "-out", "server.csr"],
            ]
            .concat(),
            vec![
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "server.crt",
                "-extfile",
                "server.ext",
            ],
        ];
        for (i, args) in steps.iter().enumerate() {
            let subject = if i == 0 {
                "/CN=keitai test CA"
            } else {
                "/CN=localhost"
            };
            let mut cmd = Command::new("openssl");
            cmd.current_dir(dir).args(args).args(["-days", "2"]);
            if i < 2 {
                cmd.args(["-subj", subject]);
            }
            let out = cmd.output().expect("run openssl (apt-get install openssl)");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let key = dir.join("server.key");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        if let Some((uid, gid)) = self.user {
            for f in ["server.key", "server.crt"] {
                let path = std::ffi::CString::new(dir.join(f).as_os_str().as_encoded_bytes())
                    .expect("path");
                // SAFETY: a valid NUL-terminated path.
                assert_eq!(unsafe { libc::chown(path.as_ptr(), uid, gid) }, 0, "chown");
            }
        }
    }

    /// Starts the server (again, after [`Cluster::stop_immediate`]) and waits until it answers.
    pub fn start_server(&self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .expect("log");
        if let Some((uid, gid)) = self.user {
            let path = std::ffi::CString::new(
                self.dir
                    .path()
                    .join("server.log")
                    .as_os_str()
                    .as_encoded_bytes(),
            )
            .expect("path");
            // SAFETY: a valid NUL-terminated path.
            unsafe { libc::chown(path.as_ptr(), uid, gid) };
        }
        let child = command(&self.bin, "postgres", self.user)
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-p", &self.port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!(
                "unix_socket_directories={}",
                self.dir.path().display()
            ))
            .arg("-c")
            .arg(if self.durable {
                "fsync=on"
            } else {
                "fsync=off"
            })
            .args(["-c", "max_connections=300"])
            .args(if self.tls {
                vec![
                    "-c".to_owned(),
                    "ssl=on".to_owned(),
                    "-c".to_owned(),
                    format!(
                        "ssl_cert_file={}",
                        self.dir.path().join("server.crt").display()
                    ),
                    "-c".to_owned(),
                    format!(
                        "ssl_key_file={}",
                        self.dir.path().join("server.key").display()
                    ),
                ]
            } else {
                Vec::new()
            })
            .args(["-c", "synchronous_commit=on", "-c", "shared_buffers=32MB"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start postgres");
        *self.server.lock().unwrap_or_else(|p| p.into_inner()) = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "postgres did not start:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server the way a crash would (`pg_ctl stop -m immediate`: SIGQUIT).
    pub fn stop_immediate(&self) {
        if let Some(mut child) = self.server.lock().unwrap_or_else(|p| p.into_inner()).take() {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(child.id() as i32, libc::SIGQUIT) };
            let _ = child.wait();
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// The URL of database `name` (see [`Cluster::database`]).
    pub fn url(&self, name: &str) -> String {
        format!("postgres://{TEST_USER}@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates database `name` once (later calls just return its URL).
    pub fn database(&self, name: &str) -> String {
        let mut made = self.made.lock().unwrap_or_else(|p| p.into_inner());
        if !made.iter().any(|m| m == name) {
            self.sql("postgres", &format!("CREATE DATABASE \"{name}\""));
            made.push(name.to_owned());
        }
        self.url(name)
    }

    /// Runs `sql` in database `db` with psql; its output, unaligned.
    pub fn sql(&self, db: &str, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                TEST_USER,
            ])
            .args(["-d", db, "-c", sql])
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql {sql:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop_immediate();
    }
}

/// One cluster for the whole test process, stopped and removed when the process exits.
pub fn shared() -> &'static Cluster {
    static SHARED: OnceLock<Cluster> = OnceLock::new();
    SHARED.get_or_init(|| {
        extern "C" fn stop() {
            if let Some(c) = SHARED.get() {
                c.stop_immediate();
                let _ = std::fs::remove_dir_all(c.dir.path());
            }
        }
        // SAFETY: registering a plain function with no arguments.
        unsafe { libc::atexit(stop) };
        Cluster::start()
    })
}

/// A database name for a test's directory: the same directory gives the same database (tests
/// reopen their store), different ones different databases.
pub fn name_for(dir: &Path) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    dir.hash(&mut h);
    format!("t{:016x}", h.finish())
}
