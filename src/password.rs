//! Password hashing (argon2id with the crate's recommended parameters) and verification.
//!
//! Hashing costs tens of milliseconds and 19 MiB by design. Callers on the async runtime use
//! the `_async` forms, which queue the work for the hashing threads: one per core (more would
//! only share the same cores and multiply the 19 MiB), at a lower scheduling priority than the
//! reactor, so that a flood of logins uses every idle cycle yet page serving keeps its share.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::sync::{mpsc, Arc, Mutex, OnceLock};

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

/// Whether `password` matches `phc` (argon2 compares in constant time).
pub fn verify(phc: &str, password: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash of nothing anyone knows, verified against for unknown contract IDs so that the time
/// taken does not tell which IDs exist.
const DECOY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$7MsAsTEAZaWeDtd2CkqiB0gK0vR9y8Q6tEGhmoxwUdM";

/// [`verify`] on the hashing threads; `None` as hash runs the decoy and answers false.
pub async fn verify_async(phc: Option<String>, password: String) -> bool {
    let (tx, rx) = tokio::sync::oneshot::channel();
    hashers().run(Box::new(move || {
        let ok = match phc {
            Some(phc) => verify(&phc, &password),
            None => {
                verify(DECOY, &password);
                false
            }
        };
        let _ = tx.send(ok);
    }));
    rx.await.unwrap_or(false)
}

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads and their queue.
struct Hashers {
    queue: mpsc::Sender<Job>,
}

impl Hashers {
    fn run(&self, job: Job) {
        // No hashing thread could be started: hash on the caller's thread rather than never.
        if let Err(mpsc::SendError(job)) = self.queue.send(job) {
            job();
        }
    }
}

fn hashers() -> &'static Hashers {
    static HASHERS: OnceLock<Hashers> = OnceLock::new();
    HASHERS.get_or_init(|| {
        let (queue, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        for i in 0..cores {
            let rx = rx.clone();
            // A thread that cannot be started is one fewer; with none, `run` hashes inline.
            let _ = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
        }
        Hashers { queue }
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
}
