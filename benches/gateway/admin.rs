//! Admin commands as operators run them: `import-tokens` and `customers import` of a big CSV
//! alone (time and the command's own peak RSS), and an import through the admin socket of a serving gateway while
//! phones load the top page (the page's latency with and without the import).

use crate::child::{self, Gateway};
use crate::phone::{Phone, FOMA};
use crate::report::{mb, Latencies, Table};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Runs `import-tokens CSV --data-dir DIR --key-file KEY`; returns its time, its peak RSS
/// (the child's own `VmHWM`) and its standard output.
pub fn import(csv: &Path, dir: &Path, key: &Path) -> (Duration, u64, String) {
    measured(&["import-tokens".as_ref(), csv.as_os_str()], dir, key)
}

/// Runs `import-tokens PSKC --psk-file PSK`, measured as [`import`].
pub fn import_pskc(pskc: &Path, psk: &Path, dir: &Path, key: &Path) -> (Duration, u64, String) {
    measured(
        &[
            "import-tokens".as_ref(),
            pskc.as_os_str(),
            "--psk-file".as_ref(),
            psk.as_os_str(),
        ],
        dir,
        key,
    )
}

/// Runs `customers import CSV --data-dir DIR --key-file KEY`, measured as [`import`].
pub fn import_customers(csv: &Path, dir: &Path, key: &Path) -> (Duration, u64, String) {
    measured(
        &["customers".as_ref(), "import".as_ref(), csv.as_os_str()],
        dir,
        key,
    )
}

/// Runs `customers import CSV --database URL --key-file KEY` (PostgreSQL), measured as
/// [`import`].
pub fn import_customers_postgres(csv: &Path, url: &str, key: &Path) -> (Duration, u64, String) {
    measured_with(&[
        "customers".as_ref(),
        "import".as_ref(),
        csv.as_os_str(),
        "--database".as_ref(),
        url.as_ref(),
        "--key-file".as_ref(),
        key.as_os_str(),
    ])
}

/// Runs the gateway's command `args` on the database in `dir`; its time, its peak RSS (the
/// child's own `VmHWM`, read every 10 ms) and its standard output.
fn measured(args: &[&std::ffi::OsStr], dir: &Path, key: &Path) -> (Duration, u64, String) {
    let mut all = args.to_vec();
    all.extend([
        "--data-dir".as_ref(),
        dir.as_os_str(),
        "--key-file".as_ref(),
        key.as_os_str(),
    ]);
    measured_with(&all)
}

/// [`measured`] with every argument given.
fn measured_with(args: &[&std::ffi::OsStr]) -> (Duration, u64, String) {
    let began = Instant::now();
    let mut c = child::command()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run import-tokens");
    let mut stdout = c.stdout.take().expect("stdout");
    let mut stderr = c.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).ok();
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut s).ok();
        s
    });
    let pid = c.id() as libc::pid_t;
    let mut status = 0;
    // The child's own high-water mark, read from /proc while it runs: wait4's ru_maxrss would
    // also count the pages of this (large) bench process the child shared until its exec.
    let mut peak = 0u64;
    let took = loop {
        peak = peak.max(vm_hwm(pid));
        // SAFETY: pid is our child; status is valid for writes.
        let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if rc == pid {
            break began.elapsed();
        }
        assert_eq!(rc, 0, "waitpid");
        std::thread::sleep(Duration::from_millis(10));
    };
    // Reaped by waitpid already; std's wait then only finds it gone.
    let _ = c.wait();
    let (out, err) = (
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    );
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{args:?} failed: {err}"
    );
    (took, peak, out)
}

/// `VmHWM` of process `pid` in bytes (0 once it has exited).
fn vm_hwm(pid: libc::pid_t) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// GET / from `phones` phones in turn until `stop`; every latency.
async fn load(addr: std::net::SocketAddr, phones: usize, stop: Arc<AtomicBool>) -> Latencies {
    let tasks: Vec<_> = (0..phones)
        .map(|_| {
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut phone = Phone::new(addr, FOMA);
                while !stop.load(Ordering::Relaxed) {
                    phone.get("/").await.expect("top page");
                    // A phone's pace, not a flood: the question is stalls, not throughput.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                phone.latencies
            })
        })
        .collect();
    let mut all = Latencies::default();
    for t in tasks {
        all.extend(t.await.expect("phone task"));
    }
    all
}

/// The top page's latency idle, then during an import of `n` tokens through the admin socket.
pub async fn import_while_serving(n: u64, idle: Duration, table: &mut Table) {
    let dir: PathBuf = crate::data::root().join("import-serving");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("clean");
    }
    let key = crate::data::build_bank(&dir, 1_000, 0);
    let csv = crate::data::inventory_csv(n);
    let gateway = Gateway::start(&dir, &key);
    let stop = Arc::new(AtomicBool::new(false));
    let phones = load(gateway.addr, 8, stop.clone());
    let stopper = {
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(idle).await;
            stop.store(true, Ordering::Relaxed);
        })
    };
    let mut before = phones.await;
    stopper.await.expect("timer");

    stop.store(false, Ordering::Relaxed);
    let importing = {
        let (csv, dir, key) = (csv.clone(), dir.clone(), key.clone());
        let stop = stop.clone();
        std::thread::spawn(move || {
            let r = import(&csv, &dir, &key);
            stop.store(true, Ordering::Relaxed);
            r
        })
    };
    let mut during = load(gateway.addr, 8, stop.clone()).await;
    let (took, _, out) = importing.join().expect("import thread");
    assert!(out.contains(&format!("loaded {n} tokens")), "{out}");
    let (peak, _) = gateway.rss();
    table.add(
        "admin while serving",
        "GET / latency, 8 phones, gateway idle",
        before.p50_p99(),
    );
    table.add(
        "admin while serving",
        format!(
            "GET / latency during import-tokens of {n} tokens through the admin socket ({:.1} s, {} requests)",
            took.as_secs_f64(),
            during.len()
        ),
        during.p50_p99(),
    );
    table.add(
        "admin while serving",
        "gateway peak RSS after that import",
        mb(peak),
    );
    gateway.stop();
}
