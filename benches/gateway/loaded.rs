//! Latency under load: how long a phone waits for a page that needs no password check while
//! 利用開始 flows keep every hashing thread busy. A few phones open the help page and the top
//! page one after another (a probe, not a load); the flows run as in the flows section.

use crate::phone::{Phone, AU, FOMA, SOFTBANK};
use crate::report::Latencies;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Phones probing at once, and the pause between one's requests.
const PROBES: usize = 3;
const PAUSE: Duration = Duration::from_millis(5);

/// (probe latencies, flow request latencies, flows/s) over `run`.
pub async fn pages_during_flows(
    addr: SocketAddr,
    next: &Arc<AtomicU64>,
    last: u64,
    run: Duration,
) -> (Latencies, Latencies, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let flows = tokio::spawn(crate::flow_load(
        addr,
        next.clone(),
        last,
        run,
        Some(stop.clone()),
    ));
    // Let the password checks fill their queue before measuring.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let probing = Arc::new(AtomicBool::new(true));
    let mut probes = Vec::new();
    for k in 0..PROBES {
        let probing = probing.clone();
        probes.push(tokio::spawn(async move {
            let mut phone = Phone::new(addr, [FOMA, AU, SOFTBANK][k % 3]);
            let mut n = 0u64;
            while probing.load(Ordering::Relaxed) {
                let page = if n.is_multiple_of(2) { "/help" } else { "/" };
                let r = phone.get(page).await.expect("page during flows");
                assert_eq!(r.status, 200, "{page} during flows");
                n += 1;
                tokio::time::sleep(PAUSE).await;
            }
            phone.latencies
        }));
    }
    tokio::time::sleep(run).await;
    probing.store(false, Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    let mut pages = Latencies::default();
    for p in probes {
        pages.extend(p.await.expect("probe"));
    }
    let (rate, lat) = flows.await.expect("flows");
    (pages, lat, rate)
}
