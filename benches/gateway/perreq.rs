//! The cost of one `GET /` without the noise of a shared machine: user-space instructions and
//! heap allocations per request, counted by valgrind's callgrind (the `malloc` family's calls),
//! for the gateway's release binary and for the bare hyper server with the same body (this
//! bench binary, started again as [`BARE_SERVER`]).
//!
//! Each server runs twice under callgrind: once for 100 requests and once for 1,100, on one
//! keep-alive connection, then stops; the difference over 1,000 requests leaves out start-up and
//! shutdown. Only the threads that run hyper's connection code are counted (the runtime's
//! workers, with their scheduling and polling): the store's background threads wake on timers,
//! and would add an amount that depends on how long the run took. Counts do not depend on the
//! machine's load; the kernel's share (system calls) is not in them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};

/// Set (to a file holding the body) when this binary is to be the bare hyper server only;
/// [`BARE_TIMED`] set too: with hyper's header-read timer (what the gateway armed per request before
/// its deadline sweep).
pub const BARE_SERVER: &str = "BENCH_BARE_SERVER";
const BARE_TIMED: &str = "BENCH_BARE_TIMED";
const FEW: u64 = 100;
const MANY: u64 = 1_100;

/// Per-request counts.
#[derive(Debug, Clone, Copy)]
pub struct Counts {
    pub instructions: f64,
    pub allocations: f64,
}

/// Whether valgrind can be run here.
pub fn available() -> bool {
    Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The bare hyper server for [`BARE_SERVER`]: prints its address the way the gateway does and
/// serves until SIGTERM, then returns (a clean exit, so callgrind writes its counts).
pub fn bare_server_main(body_file: &str) {
    let body = std::fs::read(body_file).expect("body file");
    let addr = crate::wrk::bare_hyper(body, std::env::var_os(BARE_TIMED).is_some());
    println!("listening on http://{addr}/");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        term.recv().await;
    });
}

/// Gateway, bare hyper and bare hyper with the header-read timer: counts for `GET /` as
/// `user_agent`.
pub fn measure(
    dir: &Path,
    data_dir: &Path,
    key_file: &Path,
    body: &[u8],
    user_agent: &str,
) -> [Counts; 3] {
    let gateway = || {
        let mut c = Command::new(crate::child::BIN);
        c.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .arg("--bank-dir")
            .arg(crate::child::one_bank())
            .arg("--key-file")
            .arg(key_file);
        c
    };
    let body_file = dir.join("bare-body");
    std::fs::write(&body_file, body).expect("body file");
    let bare = |timed: bool| {
        let mut c = Command::new(std::env::current_exe().expect("bench binary"));
        c.env(BARE_SERVER, &body_file);
        if timed {
            c.env(BARE_TIMED, "1");
        }
        c
    };
    [
        per_request(dir, "gateway", &gateway, user_agent),
        per_request(dir, "bare", &|| bare(false), user_agent),
        per_request(dir, "timed", &|| bare(true), user_agent),
    ]
}

fn per_request(dir: &Path, name: &str, server: &dyn Fn() -> Command, ua: &str) -> Counts {
    let few = counted(dir, name, server(), FEW, ua);
    let many = counted(dir, name, server(), MANY, ua);
    let n = (MANY - FEW) as f64;
    Counts {
        instructions: (many.0 - few.0) as f64 / n,
        allocations: (many.1 - few.1) as f64 / n,
    }
}

/// (instructions, allocations) of a whole run of `server` under callgrind serving `n` requests.
fn counted(dir: &Path, name: &str, server: Command, n: u64, ua: &str) -> (u64, u64) {
    let out = format!("callgrind.{name}.{n}");
    for old in std::fs::read_dir(dir).expect("bench dir").flatten() {
        if old.file_name().to_string_lossy().starts_with(&out) {
            let _ = std::fs::remove_file(old.path());
        }
    }
    let log = std::fs::File::create(dir.join(format!("callgrind.{name}.{n}.log"))).expect("log");
    let mut child = Command::new("valgrind")
        .args([
            "--tool=callgrind",
            "--separate-threads=yes",
            "--compress-strings=no",
            "--compress-pos=no",
        ])
        .arg(format!("--callgrind-out-file={}", dir.join(&out).display()))
        .arg(server.get_program())
        .args(server.get_args())
        .envs(
            server
                .get_envs()
                .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))),
        )
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("run valgrind");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let addr: SocketAddr = loop {
        match lines.next() {
            Some(Ok(l)) => {
                if let Some(rest) = l.strip_prefix("listening on http://") {
                    break rest.trim_end_matches('/').parse().expect("address");
                }
            }
            _ => {
                let _ = child.kill();
                panic!("{name} did not start under valgrind");
            }
        }
    };
    std::thread::spawn(move || for _ in lines {});
    requests(addr, n, ua);
    // SIGTERM: both servers stop cleanly on it, and callgrind writes its counts.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    // One file per thread: out-01, out-02, ...
    let mut sum = (0, 0);
    let mut serving = 0;
    for f in std::fs::read_dir(dir).expect("bench dir").flatten() {
        let file = f.file_name().to_string_lossy().into_owned();
        if !file.starts_with(&format!("{out}-")) {
            continue;
        }
        let text = std::fs::read_to_string(f.path()).expect("callgrind output");
        if text.contains("hyper::proto::h1::dispatch") {
            let (i, a) = totals(&text);
            sum = (sum.0 + i, sum.1 + a);
            serving += 1;
        }
    }
    assert!(serving > 0, "{name}: no thread ran hyper under callgrind");
    sum
}

/// `n` `GET /` on one keep-alive connection, each answered 200 before the next is sent.
fn requests(addr: SocketAddr, n: u64, ua: &str) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    let _ = stream.set_nodelay(true);
    let request = format!("GET / HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: {ua}\r\n\r\n");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut line = String::new();
    for _ in 0..n {
        stream.write_all(request.as_bytes()).expect("send");
        let mut length = 0usize;
        let mut first = true;
        loop {
            line.clear();
            reader.read_line(&mut line).expect("read");
            if first {
                assert!(line.starts_with("HTTP/1.1 200"), "answered {line:?}");
                first = false;
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().expect("length");
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).expect("body");
    }
}

/// Instructions (the `totals:` line) and calls into the `malloc` family, from callgrind's output
/// written with `--compress-strings=no`.
fn totals(text: &str) -> (u64, u64) {
    const ALLOCATORS: [&str; 6] = [
        "malloc",
        "calloc",
        "realloc",
        "posix_memalign",
        "aligned_alloc",
        "memalign",
    ];
    let (mut instructions, mut allocations) = (0, 0);
    let mut callee: Option<&str> = None;
    for line in text.lines() {
        if let Some(v) = line
            .strip_prefix("totals:")
            .or_else(|| line.strip_prefix("summary:"))
        {
            instructions = v
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
        } else if let Some(f) = line.strip_prefix("cfn=") {
            callee = Some(f.trim());
        } else if let Some(calls) = line.strip_prefix("calls=") {
            if callee.is_some_and(|f| ALLOCATORS.contains(&f)) {
                allocations += calls
                    .split_whitespace()
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(0);
            }
            callee = None;
        }
    }
    (instructions, allocations)
}
