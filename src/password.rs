//! Password hashing (argon2id with the crate's recommended parameters) and verification.
//!
//! Hashing costs tens of milliseconds and 19 MiB by design. Callers on the async runtime use
//! the `_async` forms, which queue the work for the hashing threads: one per core (more would
//! only share the same cores and multiply the 19 MiB), at a lower scheduling priority than the
//! reactor, so that a flood of logins uses every idle cycle yet page serving keeps its share.

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use subtle::ConstantTimeEq;

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// An argon2id PHC string for `password`.
pub fn hash(password: &str) -> Result<String, HashError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| HashError(e.to_string()))?;
    let salt = SaltString::encode_b64(&bytes).map_err(|e| HashError(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Whether `password` matches `phc`, compared in constant time. Hashes imported from the
/// bank's host in other schemes (bcrypt, PBKDF2, scrypt) are verified by [`crate::phc`].
///
/// The argon2 working memory (19 MiB at the default parameters) is kept per thread and reused:
/// allocating it per check made the allocator keep several such blocks per thread, and the
/// gateway's resident memory grew with every login. What it holds after a check is derived
/// from the password through the memory-hard function, like the stored hash itself.
pub fn verify(phc: &str, password: &str) -> bool {
    thread_local! {
        static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
    }
    if !phc.starts_with("$argon2") {
        return crate::phc::verify_legacy(phc, password);
    }
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
        parsed.salt,
        parsed.hash,
    ) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let mut out = zeroize::Zeroizing::new(vec![0u8; expected.len()]);
    let hashed = MEMORY.with(|memory| {
        let Ok(mut memory) = memory.try_borrow_mut() else {
            return false;
        };
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        argon2
            .hash_password_into_with_memory(
                password.as_bytes(),
                salt,
                &mut out,
                &mut memory[..blocks],
            )
            .is_ok()
    });
    hashed && bool::from(out.as_slice().ct_eq(expected.as_bytes()))
}

/// A hash of nothing anyone knows, verified against for unknown contract IDs so that the time
/// taken does not tell which IDs exist.
const DECOY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$7MsAsTEAZaWeDtd2CkqiB0gK0vR9y8Q6tEGhmoxwUdM";

/// The hashing queue is full, or this client already has its share of it waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("password hashing queue full")]
pub struct Busy;

/// Checks waiting at most, all clients together: a check that finds room waits for at most
/// this many hashes shared by every core (under two seconds on two cores), and one that finds
/// none hears so at once. Twice the bench's 64 phones, so that ordinary peaks never see it.
pub const QUEUE_LIMIT: usize = 128;

/// [`verify_for`] for callers without a client of their own (branch staff, 法人 administrators):
/// they share one lane of the queue, and a full queue makes them wait on a blocking thread
/// rather than answer "busy" (their fronts count a failed check as a wrong password).
pub async fn verify_async(phc: Option<String>, password: String) -> bool {
    const SHARED_LANE: u64 = u64::MAX;
    let (p, pw) = (phc.clone(), password.clone());
    match verify_for(SHARED_LANE, phc, password).await {
        Ok(ok) => ok,
        Err(Busy) => tokio::task::spawn_blocking(move || match p {
            Some(phc) => verify(&phc, &pw),
            None => {
                verify(DECOY, &pw);
                false
            }
        })
        .await
        .unwrap_or(false),
    }
}

/// [`hash`] off the runtime (re-hashing an imported hash to argon2id at login).
pub async fn hash_async(password: String) -> Result<String, HashError> {
    tokio::task::spawn_blocking(move || hash(&password))
        .await
        .unwrap_or_else(|_| Err(HashError("hashing thread gone".into())))
}

/// The argon2id hash to keep in place of `verified`, a hash in an imported scheme that
/// `password` was just found right against (hashed off the runtime, as slow as the check
/// itself); `None` when `verified` is argon2id already, or hashing failed.
pub async fn rehash_if_imported(verified: &str, password: &str) -> Option<String> {
    if !crate::phc::needs_rehash(verified) {
        return None;
    }
    hash_async(password.to_owned()).await.ok()
}

/// Stores `new` in `stored` when `stored` still holds `verified`, the hash just checked (an
/// import may have changed it meanwhile); whether it did.
pub fn replace_verified(stored: &mut String, verified: &str, new: &str) -> bool {
    let same = stored == verified;
    if same {
        new.clone_into(stored);
    }
    same
}

/// [`verify`] on the hashing threads for `client` (any stable number naming who asked, see
/// `throttle::Client::id`); `None` as hash runs the decoy and answers false.
///
/// Waiting checks are served one client at a time in turn, so a client flooding the queue
/// delays another client's check by about one hash per other waiting client, not by its own
/// flood. A check that finds the queue full takes the place of the newest check of the client
/// with the most waiting (that one is answered `Err(Busy)`), or is itself answered `Err(Busy)`
/// at once when its own client is that client. Dropping
/// the future (the phone hung up) withdraws the check if it has not started.
pub async fn verify_for(client: u64, phc: Option<String>, password: String) -> Result<bool, Busy> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    hashers().submit(
        client,
        Job {
            phc,
            password: zeroize::Zeroizing::new(password),
            tx,
        },
    )?;
    // A job dropped unrun (pushed out of a full queue) is an answer of Busy, not of "wrong".
    rx.await.map_err(|_| Busy)
}

/// Checks the hashing threads have run (real or decoy hash), in this process.
static HASHES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many password checks have been hashed on the queue so far (the metric
/// `keitai_password_hashes`): every check, right, wrong, unknown contract or locked, is one.
pub fn hashes_run() -> u64 {
    HASHES.load(std::sync::atomic::Ordering::Relaxed)
}

struct Job {
    phc: Option<String>,
    password: zeroize::Zeroizing<String>,
    tx: tokio::sync::oneshot::Sender<bool>,
}

impl Job {
    /// Whoever asked has gone: the check would be wasted.
    fn abandoned(&self) -> bool {
        self.tx.is_closed()
    }

    fn run(self) {
        if self.abandoned() {
            return;
        }
        HASHES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ok = match &self.phc {
            Some(phc) => verify(phc, &self.password),
            None => {
                verify(DECOY, &self.password);
                false
            }
        };
        let _ = self.tx.send(ok);
    }
}

/// Waiting jobs per client, and the order in which clients take their turns.
#[derive(Default)]
struct Fair {
    waiting: HashMap<u64, VecDeque<Job>>,
    turns: VecDeque<u64>,
    total: usize,
}

impl Fair {
    fn push(&mut self, client: u64, job: Job) -> Result<(), Busy> {
        if self.total >= QUEUE_LIMIT {
            self.drop_abandoned();
        }
        if self.total >= QUEUE_LIMIT {
            let mine = self.waiting.get(&client).map_or(0, VecDeque::len);
            let biggest = self
                .waiting
                .iter()
                .max_by_key(|(_, q)| q.len())
                .map(|(c, q)| (*c, q.len()));
            match biggest {
                // The flooding client gives up its newest check (its waiter hears Busy).
                Some((big, n)) if n > mine + 1 => {
                    if let Some(q) = self.waiting.get_mut(&big) {
                        q.pop_back();
                        self.total -= 1;
                    }
                }
                _ => return Err(Busy),
            }
        }
        let queue = self.waiting.entry(client).or_default();
        if queue.is_empty() {
            self.turns.push_back(client);
        }
        queue.push_back(job);
        self.total += 1;
        Ok(())
    }

    /// The next client's oldest job; that client goes to the back of the line.
    fn pop(&mut self) -> Option<Job> {
        let client = self.turns.pop_front()?;
        let queue = self.waiting.get_mut(&client)?;
        let job = queue.pop_front();
        if queue.is_empty() {
            self.waiting.remove(&client);
        } else {
            self.turns.push_back(client);
        }
        self.total -= usize::from(job.is_some());
        job
    }

    fn drop_abandoned(&mut self) {
        for queue in self.waiting.values_mut() {
            let before = queue.len();
            queue.retain(|j| !j.abandoned());
            self.total -= before - queue.len();
        }
        self.waiting.retain(|_, q| !q.is_empty());
        let waiting = &self.waiting;
        self.turns.retain(|c| waiting.contains_key(c));
    }
}

/// The hashing threads and their queue.
struct Hashers {
    fair: Arc<(Mutex<Fair>, Condvar)>,
    threads: usize,
}

impl Hashers {
    fn submit(&self, client: u64, job: Job) -> Result<(), Busy> {
        if self.threads == 0 {
            // No hashing thread could be started: hash on the caller's thread rather than never.
            job.run();
            return Ok(());
        }
        let (fair, ready) = &*self.fair;
        fair.lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(client, job)?;
        ready.notify_one();
        Ok(())
    }
}

fn hashers() -> &'static Hashers {
    static HASHERS: OnceLock<Hashers> = OnceLock::new();
    HASHERS.get_or_init(|| {
        let fair = Arc::new((Mutex::new(Fair::default()), Condvar::new()));
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut threads = 0;
        for i in 0..cores {
            let fair = fair.clone();
            // A thread that cannot be started is one fewer; with none, `submit` hashes inline.
            let started = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    lower_priority();
                    let (queue, ready) = &*fair;
                    loop {
                        let job = {
                            let mut q = queue.lock().unwrap_or_else(|p| p.into_inner());
                            loop {
                                if let Some(job) = q.pop() {
                                    break job;
                                }
                                q = ready.wait(q).unwrap_or_else(|p| p.into_inner());
                            }
                        };
                        job.run();
                    }
                });
            threads += usize::from(started.is_ok());
        }
        Hashers { fair, threads }
    })
}

/// Nice value of the hashing threads: the scheduler gives a thread at 10 about a tenth of
/// what one at 0 gets when both want a core, and everything when the core is otherwise idle.
#[cfg(target_os = "linux")]
fn lower_priority() {
    // SAFETY: setpriority only reads its integer arguments; on Linux, `who = 0` with
    // PRIO_PROCESS names the calling thread. Failing leaves the priority as it was.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let h = hash("Pass1234").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify(&h, "Pass1234"));
        assert!(!verify(&h, "pass1234"));
        assert!(!verify("not a hash", "x"));
        assert!(PasswordHash::new(DECOY).is_ok());
    }

    fn job() -> (Job, tokio::sync::oneshot::Receiver<bool>) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job = Job {
            phc: None,
            password: zeroize::Zeroizing::new(String::new()),
            tx,
        };
        (job, rx)
    }

    #[test]
    fn clients_take_turns_and_a_flood_makes_room_for_others() {
        let mut fair = Fair::default();
        let mut flood = Vec::new();
        for _ in 0..QUEUE_LIMIT {
            let (j, rx) = job();
            fair.push(1, j).unwrap();
            flood.push(rx);
        }
        // The flooder itself is refused at once...
        let (j, _rx) = job();
        assert_eq!(fair.push(1, j), Err(Busy));
        // ...another client takes the place of the flood's newest check.
        let (j, mut other) = job();
        fair.push(2, j).unwrap();
        assert_eq!(fair.total, QUEUE_LIMIT);
        let last = flood.last_mut().unwrap();
        assert_eq!(
            last.try_recv(),
            Err(tokio::sync::oneshot::error::TryRecvError::Closed)
        );
        // Turns: client 1's oldest, then client 2 (not the rest of 1's), then 1 again.
        fair.pop().unwrap().tx.send(true).unwrap();
        assert!(other.try_recv().is_err());
        fair.pop().unwrap().tx.send(true).unwrap();
        assert_eq!(other.try_recv(), Ok(true));
        assert!(fair.pop().is_some());
    }

    #[test]
    fn jobs_of_clients_gone_are_dropped_to_make_room() {
        let mut fair = Fair::default();
        for c in 0..QUEUE_LIMIT as u64 {
            let (j, rx) = job();
            fair.push(c, j).unwrap();
            drop(rx);
        }
        let (j, _rx) = job();
        fair.push(999, j).unwrap();
        assert_eq!(fair.total, 1);
        let next = fair.pop().unwrap();
        assert!(!next.abandoned());
    }
}
