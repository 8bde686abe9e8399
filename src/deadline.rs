//! Slow clients cut off: a connection that has waited longer than the client timeout for its
//! next request head (counted from its accept, or from its last answer) is closed, as hyper's
//! header-read timeout would close it. A request being answered is never cut here: a body
//! that does not come is the front's to time out ([`crate::body`]), with an error page.
//!
//! One sweep every [`TICK`] looks at every open connection, instead of a timer armed and
//! dropped per request (hyper's: an allocation, a timer-wheel entry and clock reads each
//! time, a sixth of the gateway's own work on a top page). Marking a connection costs a
//! relaxed store; the sweep's coarse clock makes a cut come within one tick past the timeout.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::AbortHandle;

/// How often the sweep looks, and so how late past its timeout a connection may be cut.
pub const TICK: Duration = Duration::from_millis(250);

/// What [`Watch`] holds while the connection's request is being answered.
const BUSY: u64 = u64::MAX;

/// The open connections and the coarse clock they are judged by.
pub struct Deadlines {
    /// Whole ticks a connection may wait for a head.
    allowed: u64,
    /// Ticks since the sweep began.
    now: AtomicU64,
    open: Mutex<Vec<(Watch, AbortHandle)>>,
}

/// One connection's state, shared by its service and the sweep: the tick since which it has
/// waited for a request head, or [`BUSY`].
#[derive(Clone)]
pub struct Watch(Arc<Since>);

/// On a cache line of its own: written twice per request by the worker serving the
/// connection, it must not share a line with another connection's, which the other worker
/// writes.
#[repr(align(64))]
struct Since(AtomicU64);

impl Watch {
    fn new(tick: u64) -> Watch {
        Watch(Arc::new(Since(AtomicU64::new(tick))))
    }

    fn since(&self) -> u64 {
        self.0 .0.load(Ordering::Relaxed)
    }

    /// A request head has arrived: the connection is not waiting while it is answered.
    pub fn busy(&self) {
        self.0 .0.store(BUSY, Ordering::Relaxed);
    }

    /// The answer is ready: the wait for the next head starts now.
    pub fn waiting(&self, deadlines: &Deadlines) {
        self.0 .0.store(deadlines.tick(), Ordering::Relaxed);
    }
}

impl Deadlines {
    pub fn new(timeout: Duration) -> Deadlines {
        let ticks = timeout.as_millis().div_ceil(TICK.as_millis().max(1));
        Deadlines {
            allowed: u64::try_from(ticks).unwrap_or(u64::MAX).max(1),
            now: AtomicU64::new(0),
            open: Mutex::new(Vec::new()),
        }
    }

    fn tick(&self) -> u64 {
        self.now.load(Ordering::Relaxed)
    }

    /// A new connection's watch: waiting for its first head from now.
    pub fn watch(&self) -> Watch {
        Watch::new(self.tick())
    }

    /// Puts a connection under the sweep; `task` is aborted (the socket closed) once it has
    /// waited too long. A connection that has ended is forgotten at the next sweep.
    pub fn track(&self, watch: Watch, task: AbortHandle) {
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((watch, task));
    }

    /// One tick: the clock moves on, ended connections are dropped and those waiting for a
    /// head longer than allowed are cut. Returns how many were cut.
    pub fn sweep(&self) -> usize {
        let now = self.now.fetch_add(1, Ordering::Relaxed) + 1;
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.retain(|(_, task)| !task.is_finished());
        let mut cut = 0;
        for (watch, task) in open.iter() {
            let since = watch.since();
            // Past `allowed` whole ticks: waited longer than the timeout, however the wait
            // began within its first tick.
            if since != BUSY && now.saturating_sub(since) > self.allowed {
                task.abort();
                cut += 1;
            }
        }
        cut
    }

    /// Sweeps every [`TICK`] until dropped (the server aborts it when it stops).
    pub async fn run(self: Arc<Self>) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.sweep();
        }
    }

    /// Connections under the sweep (ended ones count until the next sweep).
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending_task() -> tokio::task::JoinHandle<()> {
        tokio::spawn(std::future::pending())
    }

    #[tokio::test]
    async fn a_connection_waiting_past_the_timeout_is_cut_and_a_busy_one_is_not() {
        // One second: four ticks allowed.
        let deadlines = Deadlines::new(Duration::from_secs(1));
        let (idle, busy) = (deadlines.watch(), deadlines.watch());
        let (idle_task, busy_task) = (pending_task(), pending_task());
        deadlines.track(idle.clone(), idle_task.abort_handle());
        deadlines.track(busy.clone(), busy_task.abort_handle());
        busy.busy();
        for _ in 0..4 {
            assert_eq!(deadlines.sweep(), 0, "cut before its time");
        }
        assert_eq!(deadlines.sweep(), 1);
        assert!(idle_task.await.unwrap_err().is_cancelled());
        // The busy one is kept however long its answer takes; answered, its wait begins.
        for _ in 0..20 {
            deadlines.sweep();
        }
        assert!(!busy_task.is_finished());
        busy.waiting(&deadlines);
        for _ in 0..4 {
            deadlines.sweep();
        }
        assert!(!busy_task.is_finished());
        deadlines.sweep();
        assert!(busy_task.await.unwrap_err().is_cancelled());
        // Ended connections are forgotten.
        deadlines.sweep();
        assert_eq!(deadlines.tracked(), 0);
    }

    #[tokio::test]
    async fn a_new_request_restarts_the_wait() {
        let deadlines = Deadlines::new(Duration::from_millis(500));
        let watch = deadlines.watch();
        let task = pending_task();
        deadlines.track(watch.clone(), task.abort_handle());
        for _ in 0..10 {
            deadlines.sweep();
            deadlines.sweep();
            // A request every two ticks (half a second): never cut.
            watch.busy();
            watch.waiting(&deadlines);
        }
        assert!(!task.is_finished());
        task.abort();
    }
}
