//! The peer run (`BENCH_PEERS=1`, or `BENCH_ONLY=peers`): privacyIDEA, a widely deployed open
//! source token authority, against the gateway's OTP API on the same machine, in the same run,
//! with the same load generator ([`otp::load`]: 64 callers, right codes of distinct tokens, the
//! same duration) and the same generated TOTP tokens (serials and seeds of [`data`]).
//!
//! privacyIDEA is installed from PyPI, pinned, into a virtualenv under `target/peers/venv`
//! (`bench/setup-peers`; none of it is committed) and run the way its documentation sets it up
//! for production: its WSGI application (`create_app(config_name="production")`, the guide's
//! wsgi file) under a WSGI server with several worker processes (its packages use Apache's
//! mod_wsgi or uWSGI; here gunicorn with 2 × cores + 1 sync workers, gunicorn's own rule), a
//! `pi.cfg` naming its encryption key, audit signing keys and database, here a database on the
//! same throw-away PostgreSQL cluster (fsync on, `synchronous_commit=on`) as the gateway's
//! PostgreSQL row, one gateway process there so that both are one server on one database. Its tokens are imported from an
//! OATH CSV file with `pi-manage token import`, and `POST /validate/check` is driven with
//! serial + pass (the tokens have no PIN, so the pass is the code; /validate/check needs no
//! user for a serial).

use crate::child::{cli, Gateway};
use crate::cpu::{cpu_ticks, postmaster_pid, ticks_per_second};
use crate::otp::{self, Load, Target};
use crate::phone::Phone;
use crate::postgres::harness::Cluster;
use crate::report::Table;
use crate::{data, step};
use keitai_gateway::clock::now_unix;
use keitai_gateway::seal::Sealer;
use keitai_gateway::store::Store;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SECTION: &str = "peer: privacyIDEA";
/// What bench/setup-peers installs (kept in step with it).
const VERSION: &str = "3.14";

/// Whether the peer run is asked for: `BENCH_PEERS=1`, or `peers` named in `BENCH_ONLY` (a
/// full run leaves it out: it installs half a gigabyte of Python).
pub fn wanted() -> bool {
    std::env::var("BENCH_PEERS").is_ok_and(|v| v == "1")
        || std::env::var("BENCH_ONLY").is_ok_and(|v| v.split(',').any(|s| s.trim() == "peers"))
}

/// The gateway's OTP API on the embedded engine and on PostgreSQL over `tokens` tokens, then
/// privacyIDEA over the first `peer_tokens` of the same tokens, each loaded for `load`.
pub async fn run(tokens: u64, peer_tokens: u64, load: Duration, table: &mut Table) {
    step("peers: installing privacyIDEA into target/peers/venv (bench/setup-peers)");
    let status = Command::new(data::repo().join("bench/setup-peers"))
        .status()
        .expect("run bench/setup-peers");
    assert!(
        status.success(),
        "bench/setup-peers could not install privacyIDEA"
    );
    let root = data::root().join("peers");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("peers dir");

    // Tokens `0..t - 1 - WARM` are loaded, the next WARM warm the server up, the last is kept
    // for the replay check.
    let (n, pn) = (tokens - 1, peer_tokens - 1);

    step(&format!(
        "peers: the gateway's OTP API, embedded engine, {tokens} tokens"
    ));
    let dir = root.join("embedded");
    let key = data::build_bank(&dir, tokens, tokens);
    let key_a = api_key(&["--data-dir", &dir.display().to_string()], &key);
    let gateway = Gateway::start(&dir, &key);
    let target = gateway_target(&key_a);
    let embedded = measure(&target, gateway.addr, n, gateway.pid(), None, load).await;
    let embedded_replay = replay_refused(&target, gateway.addr, n).await;
    gateway.stop();

    step("peers: a throw-away PostgreSQL cluster (fsync on)");
    let cluster = Cluster::start_with(true);
    let postmaster = postmaster_pid(cluster.port);

    step(&format!(
        "peers: the gateway's OTP API, PostgreSQL (one gateway), {tokens} tokens"
    ));
    let url = cluster.database("gateway");
    let dir = root.join("postgres");
    std::fs::create_dir_all(&dir).expect("gateway dir");
    let key = dir.join("master.key");
    {
        let store = Store::open_postgres(&url, Sealer::create(&key).expect("key")).expect("open");
        data::fill(&store, tokens, tokens);
    }
    let key_b = api_key(&["--database", &url], &key);
    let gateway = Gateway::start_with(&dir, &key, &["--database", &url]);
    let target = gateway_target(&key_b);
    let mut pg = measure(&target, gateway.addr, n, gateway.pid(), postmaster, load).await;
    pg.committed = committed(&cluster, "gateway", GATEWAY_ACCEPTED, &pg);
    let pg_replay = replay_refused(&target, gateway.addr, n).await;
    gateway.stop();

    step(&format!(
        "peers: privacyIDEA {VERSION}: setting up, importing {peer_tokens} tokens"
    ));
    let peer = PrivacyIdea::start(&cluster, &root.join("privacyidea"), peer_tokens);
    step(&format!(
        "peers: privacyIDEA POST /validate/check, gunicorn {} workers",
        peer.workers
    ));
    let target = privacyidea_target();
    let mut pi = measure(&target, peer.addr, pn, peer.pid(), postmaster, load).await;
    pi.committed = committed(&cluster, "privacyidea", PEER_ACCEPTED, &pi);
    let pi_replay = replay_refused(&target, peer.addr, pn).await;
    drop(peer);
    drop(cluster);
    let _ = std::fs::remove_dir_all(&root);

    let workers = crate::cores() * 2 + 1;
    report(
        table,
        tokens,
        peer_tokens,
        workers,
        load,
        [embedded, pg, pi],
    );
    let replays = [embedded_replay, pg_replay, pi_replay];
    table.check(
        SECTION,
        "a code accepted once, sent again (gateway embedded / gateway PostgreSQL / privacyIDEA)",
        replays
            .iter()
            .map(|(refused, said)| {
                format!("{} ({said})", if *refused { "refused" } else { "ACCEPTED" })
            })
            .collect::<Vec<_>>()
            .join(" / "),
        "refused by all",
        replays.iter().all(|(refused, _)| *refused),
    );
}

/// Tokens of each system that warm it up before the load (each worker's first requests build
/// its caches).
const WARM: u64 = 128;

/// The acceptances each system's database holds: the gateway's audit records, privacyIDEA's.
const GATEWAY_ACCEPTED: &str = "SELECT count(*) FROM audit WHERE body->>'event' = 'otp_ok'";
const PEER_ACCEPTED: &str = "SELECT count(*) FROM pidea_audit \
    WHERE action LIKE '%/validate/check%' AND authentication = 'ACCEPT'";

/// The acceptances of the load found in `db` (the warm-up's taken off).
fn committed(cluster: &Cluster, db: &str, sql: &str, m: &Measured) -> Option<u64> {
    let all: u64 = cluster.sql(db, sql).parse().unwrap_or(0);
    Some(all.saturating_sub(m.warm_accepted))
}

/// One system's load, with the CPU its processes spent meanwhile.
struct Measured {
    load: Load,
    /// Acceptances of the warm-up.
    warm_accepted: u64,
    /// Acceptances of the load found in the database afterwards, for the systems on PostgreSQL.
    committed: Option<u64>,
    /// CPU seconds of the server's processes (the gateway, or gunicorn and its workers).
    cpu: f64,
    /// CPU seconds of PostgreSQL's processes, for the systems on it.
    db_cpu: Option<f64>,
}

/// [`otp::load`] on one server over tokens `0..ids - WARM`, after a warm-up over the next
/// [`WARM`], with the CPU time of the process `pid` and its children (and of PostgreSQL's,
/// `db`) over the load.
async fn measure(
    target: &Target,
    addr: SocketAddr,
    ids: u64,
    pid: u32,
    db: Option<u32>,
    run: Duration,
) -> Measured {
    let warm = otp::load(&[addr], target, ids - WARM..ids, Duration::from_secs(5)).await;
    let (before, db_before) = (cpu_ticks(pid), db.map(cpu_ticks));
    let load = otp::load(&[addr], target, 0..ids - WARM, run).await;
    let seconds = |ticks: u64| ticks as f64 / ticks_per_second();
    Measured {
        load,
        warm_accepted: warm.accepted,
        committed: None,
        cpu: seconds(cpu_ticks(pid).saturating_sub(before)),
        db_cpu: db
            .zip(db_before)
            .map(|(d, b)| seconds(cpu_ticks(d).saturating_sub(b))),
    }
}

fn report(
    table: &mut Table,
    tokens: u64,
    peer_tokens: u64,
    workers: usize,
    load: Duration,
    [mut embedded, mut pg, mut pi]: [Measured; 3],
) {
    let secs = load.as_secs();
    table.add(
        SECTION,
        format!(
            "privacyIDEA {VERSION} POST /validate/check accepted/s, {} callers {secs} s, \
             gunicorn {workers} workers, PostgreSQL (fsync on), {peer_tokens} tokens",
            otp::CLIENTS
        ),
        format!("{:.1}/s, {}", pi.load.rate, pi.load.latencies.p50_p99()),
    );
    table.add(
        SECTION,
        format!("gateway OTP API accepted/s, same load, embedded engine, {tokens} tokens"),
        format!(
            "{:.0}/s, {}",
            embedded.load.rate,
            embedded.load.latencies.p50_p99()
        ),
    );
    table.add(
        SECTION,
        "gateway OTP API accepted/s, same load, PostgreSQL (one gateway, same cluster)",
        format!("{:.0}/s, {}", pg.load.rate, pg.load.latencies.p50_p99()),
    );
    table.add(
        SECTION,
        "gateway ÷ privacyIDEA, accepted/s: embedded / PostgreSQL",
        format!(
            "{:.0}× / {:.0}×",
            embedded.load.rate / pi.load.rate,
            pg.load.rate / pi.load.rate
        ),
    );
    let per_check = |m: &Measured| {
        let ms = |s: f64| s * 1000.0 / m.load.accepted.max(1) as f64;
        match m.db_cpu {
            Some(db) => format!("{:.2} + {:.2} ms", ms(m.cpu), ms(db)),
            None => format!("{:.2} ms", ms(m.cpu)),
        }
    };
    table.add(
        SECTION,
        "CPU per accepted check, server (+ PostgreSQL): gateway embedded / gateway PostgreSQL / privacyIDEA",
        format!(
            "{} / {} / {}",
            per_check(&embedded),
            per_check(&pg),
            per_check(&pi)
        ),
    );
    let all = [&embedded, &pg, &pi];
    table.check(
        SECTION,
        "every answer an acceptance (gateway embedded / gateway PostgreSQL / privacyIDEA)",
        all.map(|m| format!("{} of {}", m.load.accepted, m.load.answered))
            .join(" / "),
        "all",
        all.iter().all(|m| m.load.accepted == m.load.answered),
    );
    table.check(
        SECTION,
        "accepted checks found committed (gateway PostgreSQL / privacyIDEA)",
        [&pg, &pi]
            .map(|m| format!("{} of {}", m.committed.unwrap_or(0), m.load.accepted))
            .join(" / "),
        "all",
        [&pg, &pi]
            .iter()
            .all(|m| m.committed == Some(m.load.accepted)),
    );
    for (name, m) in [
        ("gateway embedded", &embedded),
        ("gateway PostgreSQL", &pg),
        ("privacyIDEA", &pi),
    ] {
        if let Some(r) = &m.load.refusal {
            let r: String = r.chars().take(300).collect();
            table.note(format!("{name}: first answer not an acceptance: {r}"));
        }
        if m.load.took + Duration::from_millis(200) < load {
            table.note(format!(
                "{name}: the callers ran out of tokens after {:.1} s of {secs} s",
                m.load.took.as_secs_f64()
            ));
        }
    }
}

/// The gateway's OTP API with a new key.
fn gateway_target(api_key: &str) -> Target {
    Target::gateway(&format!("Bearer {api_key}"))
}

/// `keitai-gateway api-key add bench` on the database `store` names; the key it prints.
fn api_key(store: &[&str], key: &Path) -> String {
    let mut args = vec!["api-key", "add", "bench"];
    args.extend(store);
    args.push("--key-file");
    let out = cli(&args, &[&key.to_path_buf()]);
    out.split_whitespace().last().unwrap_or_default().to_owned()
}

/// privacyIDEA's `POST /validate/check` with serial + pass.
fn privacyidea_target() -> Target {
    Target {
        path: "/validate/check",
        headers: Vec::new(),
        body: |i, ahead| {
            format!(
                r#"{{"serial":"{}","pass":"{}"}}"#,
                data::serial(i),
                data::code(i, now_unix() + ahead)
            )
        },
        // {"result": {"authentication": "ACCEPT", "status": true, "value": true}, ...}
        accepted: |text| text.contains("\"ACCEPT\""),
        strict: false,
    }
}

/// Token `i`'s code of this step, sent twice: the first must be accepted; whether the second
/// was refused, and what the answer said.
async fn replay_refused(target: &Target, addr: SocketAddr, i: u64) -> (bool, String) {
    let body = (target.body)(i, 0);
    let mut p = Phone::new(addr, "keitai-gateway-bench");
    p.phone.headers.extend(target.headers.clone());
    let first = p.post_json(target.path, &body).await.expect("first check");
    assert!(
        first.status == 200 && (target.accepted)(&first.text),
        "{}: a fresh token's right code was not accepted: {} {}",
        target.path,
        first.status,
        first.text
    );
    let again = p.post_json(target.path, &body).await.expect("replay");
    let refused = again.status == 200 && !(target.accepted)(&again.text);
    // The gateway's {"result": "replayed"}, privacyIDEA's {"detail": {"message": ...}}.
    let v: serde_json::Value = serde_json::from_str(&again.text).unwrap_or_default();
    let said = v["result"]
        .as_str()
        .or(v["detail"]["message"].as_str())
        .unwrap_or("?");
    (refused, format!("{} \"{said}\"", again.status))
}

/// privacyIDEA under gunicorn on a database of `cluster`, its files under `dir`; stopped when
/// dropped.
struct PrivacyIdea {
    server: Child,
    addr: SocketAddr,
    workers: usize,
}

impl PrivacyIdea {
    fn start(cluster: &Cluster, dir: &Path, tokens: u64) -> PrivacyIdea {
        std::fs::create_dir_all(dir).expect("privacyIDEA dir");
        let url = cluster.database("privacyidea");
        let db = url.replacen("postgres://", "postgresql+psycopg2://", 1);
        let random = || {
            let mut b = [0u8; 24];
            getrandom::fill(&mut b).expect("random");
            hex::encode(b)
        };
        // The production configuration of its installation guide, with this run's paths.
        let cfg = dir.join("pi.cfg");
        std::fs::write(
            &cfg,
            format!(
                "SQLALCHEMY_DATABASE_URI = '{db}'\n\
                 SECRET_KEY = '{}'\n\
                 PI_PEPPER = '{}'\n\
                 PI_ENCFILE = '{d}/enckey'\n\
                 PI_AUDIT_KEY_PRIVATE = '{d}/private.pem'\n\
                 PI_AUDIT_KEY_PUBLIC = '{d}/public.pem'\n\
                 PI_LOGFILE = '{d}/privacyidea.log'\n\
                 PI_LOGLEVEL = 20\n",
                random(),
                random(),
                d = dir.display()
            ),
        )
        .expect("pi.cfg");
        let manage = |args: &[&str]| {
            let mut c = Command::new(venv().join("bin/pi-manage"));
            c.args(args)
                .current_dir(dir)
                .env("PRIVACYIDEA_CONFIGFILE", &cfg);
            c
        };
        for args in [
            &["setup", "create_enckey"][..],
            &["setup", "create_audit_keys"],
            &["setup", "create_tables"],
            &["admin", "add", "admin", "-p", &random()],
        ] {
            run_ok(manage(args), &format!("pi-manage {}", args[..2].join(" ")));
        }

        // The same tokens as the gateway's (serial, hex seed, totp, digits, period), in one
        // file per core imported side by side: `pi-manage token import` stores a token at a
        // time, so the import's commits are not waited for (it is not what is measured).
        let cores = crate::cores();
        let files: Vec<PathBuf> = (0..cores)
            .map(|c| {
                let path = dir.join(format!("tokens-{c}.csv"));
                let mut csv = String::new();
                for i in (c as u64..tokens).step_by(cores) {
                    let p = data::params();
                    csv.push_str(&format!(
                        "{}, {}, totp, {}, {}\n",
                        data::serial(i),
                        hex::encode(data::secret(i)),
                        p.digits,
                        p.period
                    ));
                }
                std::fs::write(&path, csv).expect("tokens CSV");
                path
            })
            .collect();
        let began = Instant::now();
        let imports: Vec<_> = files
            .iter()
            .map(|f| {
                let mut c = manage(&["token", "import"]);
                c.arg(f)
                    .env("PGOPTIONS", "-c synchronous_commit=off")
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped());
                c.spawn().expect("pi-manage token import")
            })
            .collect();
        for i in imports {
            let out = i.wait_with_output().expect("pi-manage token import");
            assert!(
                out.status.success(),
                "pi-manage token import failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let imported: u64 = cluster
            .sql("privacyidea", "SELECT count(*) FROM token")
            .parse()
            .unwrap_or(0);
        assert_eq!(
            imported, tokens,
            "privacyIDEA imported {imported} of {tokens} tokens"
        );
        eprintln!(
            "bench: privacyIDEA imported {tokens} tokens in {:.1} s",
            began.elapsed().as_secs_f64()
        );
        for f in files {
            let _ = std::fs::remove_file(f);
        }

        // Its WSGI entry point as the installation guide writes it.
        std::fs::write(
            dir.join("pi_wsgi.py"),
            format!(
                "from privacyidea.app import create_app\n\
                 application = create_app(config_name=\"production\", \
                 config_file=\"{}\", silent=True)\n",
                cfg.display()
            ),
        )
        .expect("wsgi file");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let workers = cores * 2 + 1;
        let log = std::fs::File::create(dir.join("gunicorn.log")).expect("gunicorn log");
        let server = Command::new(venv().join("bin/gunicorn"))
            .arg("--chdir")
            .arg(dir)
            .args(["--workers", &workers.to_string()])
            .args(["--bind", &addr.to_string()])
            .arg("pi_wsgi:application")
            .env("PRIVACYIDEA_CONFIGFILE", &cfg)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start gunicorn");
        let peer = PrivacyIdea {
            server,
            addr,
            workers,
        };
        peer.wait_ready(dir);
        peer
    }

    fn pid(&self) -> u32 {
        self.server.id()
    }

    /// Until every worker has booted (each answers its first request only once it has built
    /// the app) and a request is answered.
    fn wait_ready(&self, dir: &Path) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let log = std::fs::read_to_string(dir.join("gunicorn.log")).unwrap_or_default();
            let booted = log.matches("Booting worker").count();
            let answered = std::net::TcpStream::connect(self.addr).is_ok_and(|mut s| {
                use std::io::{Read, Write};
                let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
                let req =
                    "GET /validate/check HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n";
                let mut head = [0u8; 12];
                s.write_all(req.as_bytes()).is_ok() && s.read_exact(&mut head).is_ok()
            });
            if booted >= self.workers && answered {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "privacyIDEA did not start:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for PrivacyIdea {
    fn drop(&mut self) {
        // SIGINT: gunicorn's quick shutdown, workers included.
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.server.id() as i32, libc::SIGINT) };
        let _ = self.server.wait();
    }
}

fn venv() -> PathBuf {
    data::repo().join("target/peers/venv")
}

/// Runs `cmd`; panics with its output when it fails.
fn run_ok(mut cmd: Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
