//! Password hashing (argon2id with the crate's recommended parameters) and verification.
//!
//! Hashing costs tens of milliseconds and 19 MiB by design. Callers on the async runtime use
//! the `_async` forms, which queue the work for the hashing threads: one per core (more would
//! only share the same cores and multiply the 19 MiB), at a lower scheduling priority than the
//! reactor, so that a flood of logins uses every idle cycle yet page serving keeps its share.

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::cell::RefCell;
use std::sync::{mpsc, Arc, Mutex, OnceLock};
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

/// [`hash`] on the hashing threads (re-hashing an imported hash to argon2id at login).
pub async fn hash_async(password: String) -> Result<String, HashError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    hashers().run(Box::new(move || {
        let _ = tx.send(hash(&password));
    }));
    rx.await
        .unwrap_or_else(|_| Err(HashError("hashing thread gone".into())))
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
