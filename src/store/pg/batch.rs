//! Group commit: the transaction bodies a gateway runs at the same time share one PostgreSQL
//! transaction, each inside a savepoint of its own, and one COMMIT (one WAL flush) makes them
//! all durable. Nobody is answered before that COMMIT returns.
//!
//! Why: every audited transaction locks the audit chain's head until it commits, so across all
//! gateways commits are serial, and each costs one WAL flush (milliseconds on a real disk). A
//! batch pays that flush once for every body in it.
//!
//! How: the caller that holds the batch lock uses the batch's connection; it runs its body
//! between `SAVEPOINT` and `RELEASE` (or `ROLLBACK TO`, which undoes that body alone). Then, if
//! nobody is queued for the lock (or the batch is full), it commits the batch and wakes every
//! member; otherwise it leaves the commit to the next in line and waits for it.
//!
//! The chain head: a batch locks it before its first body that is not `late` runs (in that
//! body's first round trip) and holds it to COMMIT, so such bodies run as if alone among all
//! gateways' writes of the bank. A `late` body ([`crate::store::Store::commit_receipted`]: the
//! OTP API's check, whose reads all lock their rows) leaves its audit records pending, and a
//! batch of late bodies only takes the head as its last statement before writing the records
//! and COMMIT: the two gateways' batches then run their bodies at the same time, and only their
//! commits take turns. A late batch waiting for the head holds its bodies' row locks; when the
//! batch holding the head waits for one of them, PostgreSQL ends the deadlock by failing one
//! statement: a body's, which runs again, or the late batch's head wait, and then nothing of
//! that batch was written and its members run their bodies again in a new batch.
//!
//! Round trips: inside a batch the bodies run one after another on one connection, so each
//! round trip of a body holds up every gateway. A token's conditional UPDATE (on a row the body
//! holds locked) is sent without waiting for its answer; that answer comes back in the round
//! trip of the next statement (the next body's first), and before COMMIT the batch reads every
//! answer still due: COMMIT is never sent if one failed or changed no row.

use super::super::error::{Abort, Stop};
use super::super::{encode, StoreError, Tx, TxResult};
use super::tx::{head_of, settle, Chain, Later, TAKE_HEAD};
use super::{pool_error, retryable, unavailable, Bank, Core, PgTx, RETRIES};
use crate::seal::Sealer;
use deadpool_postgres::Client;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Bodies per batch at most: bounds how long the first waits for its answer.
const MAX_BODIES: usize = 64;

/// The open batch, if any.
#[derive(Default)]
struct Open {
    client: Option<Arc<Client>>,
    /// Number of the open batch (counts up).
    number: u64,
    bodies: usize,
    /// A statement of the batch failed beyond a savepoint's repair: it cannot commit.
    broken: Option<String>,
    /// The chain head (locked by the batch) after the bodies so far, and their records.
    chain: Chain,
    /// A savepoint `body` exists (the last body's, released when the next one begins).
    savepoint: bool,
    /// Statements sent and not answered yet (a token's conditional UPDATE): read with the
    /// next body's first statement, or before COMMIT, which is never sent if one failed.
    later: Vec<Later>,
}

#[derive(Default)]
pub(super) struct Batcher {
    open: Mutex<Open>,
    /// Callers waiting for `open`: while any are, the holder leaves the commit to them.
    queued: AtomicUsize,
    ended: Mutex<Ended>,
    ended_changed: Condvar,
}

/// How batches ended: every batch up to `last` has, those in `failed` without committing;
/// `bases` holds the number of the first audit record of those that committed some.
#[derive(Default)]
struct Ended {
    last: u64,
    failed: BTreeMap<u64, Failed>,
    bases: BTreeMap<u64, u64>,
}

/// Why a batch did not commit, and whether its members may run their bodies again in a new
/// batch (nothing of it was written: its head wait was chosen to end a deadlock).
#[derive(Clone)]
struct Failed {
    why: String,
    again: bool,
}

impl From<String> for Failed {
    fn from(why: String) -> Failed {
        Failed { why, again: false }
    }
}

/// How a batch ended: committed (with the number of its first audit record, if it has any),
/// or why not.
type Outcome = Result<Option<u64>, Failed>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves the state usable: the batch is then broken and
    // its COMMIT fails, or no batch is open.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn batch_failed(why: String) -> StoreError {
    pool_error(format!("the transaction did not commit: {why}"))
}

impl Batcher {
    /// Runs `body` in the open batch (opening one if none is), and returns once the batch has
    /// committed, with the number of the batch's first audit record (if it has any): a
    /// record's number is that plus its place in the batch. Unless `late`, the batch takes the
    /// chain head before `body` runs (if it holds it not yet); a `late` body leaves that to
    /// the batch's last statement before COMMIT (see the module doc). Called on a thread that
    /// may block (see `Core::enter`).
    pub(super) fn run<R>(
        &self,
        core: &Core,
        bank: &Bank,
        sealer: &Sealer,
        late: bool,
        body: &dyn Fn(&PgTx, &mut Tx) -> TxResult<R>,
    ) -> Result<(R, Option<u64>), StoreError> {
        let mut tries = 0;
        loop {
            let (out, ended) = self.run_once(core, bank, sealer, late, body)?;
            match ended {
                Ok(base) => return out.map(|out| (out, base)),
                // A batch that waited for the head holding its bodies' row locks may be
                // chosen to end a deadlock (another gateway's batch holds the head and waits
                // for one of those rows): nothing of it was written, so its members run
                // their bodies again.
                Err(Failed { again: true, .. }) if tries < RETRIES => tries += 1,
                Err(failed) => return Err(batch_failed(failed.why)),
            }
        }
    }

    /// [`Batcher::run`] once: the body's result and how its batch ended.
    #[allow(clippy::type_complexity)]
    fn run_once<R>(
        &self,
        core: &Core,
        bank: &Bank,
        sealer: &Sealer,
        late: bool,
        body: &dyn Fn(&PgTx, &mut Tx) -> TxResult<R>,
    ) -> Result<(Result<R, StoreError>, Outcome), StoreError> {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let mut open = lock(&self.open);
        self.queued.fetch_sub(1, Ordering::SeqCst);
        if open.client.is_none() {
            Self::begin(core, &mut open)?;
        }
        let number = open.number;
        let mut panicked = None;
        let out = match &open.broken {
            // Lost already: this body would be lost with it.
            Some(why) => Err(batch_failed(why.clone())),
            None => {
                let run = std::panic::AssertUnwindSafe(|| {
                    Self::one_body(core, bank, &mut open, sealer, late, body)
                });
                match std::panic::catch_unwind(run) {
                    Ok(out) => out,
                    Err(panic) => {
                        // Its writes may be half done inside its savepoint: the whole batch
                        // rolls back (and its members are told), then the panic goes on.
                        open.broken = Some("a transaction body panicked".into());
                        panicked = Some(panic);
                        Err(batch_failed("a transaction body panicked".into()))
                    }
                }
            }
        };
        open.bodies += 1;
        if let Some(panic) = panicked {
            let ended = Self::commit(core, bank, &mut open);
            self.end(number, ended);
            drop(open);
            std::panic::resume_unwind(panic);
        }
        if self.queued.load(Ordering::SeqCst) == 0 || open.bodies >= MAX_BODIES {
            let ended = Self::commit(core, bank, &mut open);
            self.end(number, ended.clone());
            drop(open);
            return Ok((out, ended));
        }
        drop(open);
        Ok((out, self.wait_for(number)))
    }

    /// Opens a batch: a pooled connection and BEGIN (the chain head is taken later: before
    /// the first body that is not `late`, or before COMMIT).
    fn begin(core: &Core, open: &mut Open) -> Result<(), StoreError> {
        let rt = core.rt();
        let client = rt.block_on(core.pool().get()).map_err(unavailable)?;
        if let Err(e) = rt.block_on(client.batch_execute("BEGIN ISOLATION LEVEL READ COMMITTED")) {
            let _ = rt.block_on(client.batch_execute("ROLLBACK"));
            return Err(e.into());
        }
        open.chain = Chain::default();
        open.client = Some(Arc::new(client));
        open.later = Vec::new();
        open.number += 1;
        open.bodies = 0;
        open.broken = None;
        open.savepoint = false;
        Ok(())
    }

    /// One body inside its savepoint, run again after a retryable failure.
    fn one_body<R>(
        core: &Core,
        bank: &Bank,
        open: &mut Open,
        sealer: &Sealer,
        late: bool,
        body: &dyn Fn(&PgTx, &mut Tx) -> TxResult<R>,
    ) -> Result<R, StoreError> {
        let rt = core.rt();
        let Some(client) = open.client.as_ref() else {
            return Err(batch_failed("no open batch".into()));
        };
        let mut tries = 0;
        loop {
            let opening = if open.savepoint {
                "RELEASE SAVEPOINT body; SAVEPOINT body"
            } else {
                "SAVEPOINT body"
            };
            let later = std::mem::take(&mut open.later);
            let ptx = PgTx::on(client, rt, bank, open.chain.clone(), opening, later);
            let out = {
                let mut tx = Tx::postgres(&ptx, sealer, bank.code.as_ref());
                // A body that is not `late` runs with the head held, as every body did before
                // the head could be taken last: what it reads, no other gateway is changing.
                let head = if late { Ok(()) } else { ptx.take_head() };
                head.and_then(|()| body(&ptx, &mut tx))
            };
            let began = ptx.began();
            open.savepoint |= began;
            open.later = ptx.take_later();
            if let Some(why) = ptx.take_broken() {
                // An earlier body's statement failed: nothing of the batch may commit.
                open.broken = Some(why);
            }
            let stop = match out {
                Ok(out) => {
                    open.chain = ptx.into_chain();
                    return Ok(out);
                }
                Err(Abort(stop)) => stop,
            };
            if began {
                // What is still unanswered is this body's own (its first statement read the
                // rest): undone with it, so its answers do not matter.
                let later = settle(std::mem::take(&mut open.later));
                let undo = client.batch_execute("ROLLBACK TO SAVEPOINT body");
                if let (_, Err(e)) = rt.block_on(async { tokio::join!(later, undo) }) {
                    // The batch's transaction is lost (connection gone): nothing of it commits.
                    open.broken = Some(e.to_string());
                    return Err(e.into());
                }
            }
            let again = match &stop {
                Stop::Conflict => true,
                Stop::Postgres(e) => retryable(e),
                _ => false,
            };
            if !again || tries >= RETRIES {
                if let Stop::Postgres(e) = &stop {
                    if e.is_closed() {
                        open.broken = Some(e.to_string());
                    }
                }
                return Err(Abort(stop).into());
            }
            tries += 1;
        }
    }

    /// Commits the open batch (or rolls back a broken one) and closes it, taking the chain
    /// head first if its audit records are still pending. A COMMIT that fails is never
    /// retried: it may have committed.
    fn commit(core: &Core, bank: &Bank, open: &mut Open) -> Outcome {
        let Some(client) = open.client.take() else {
            return Err(String::from("no open batch").into());
        };
        let rt = core.rt();
        let mut later = std::mem::take(&mut open.later);
        if let Some(why) = open.broken.take() {
            let undo = client.batch_execute("ROLLBACK");
            let _ = rt.block_on(async { tokio::join!(settle(later), undo) });
            return Err(why.into());
        }
        let mut chain = std::mem::take(&mut open.chain);
        let written: Outcome = rt.block_on(async {
            if chain.moved && !chain.taken {
                // The batch's last statement before its writes of the chain: every row lock of
                // its bodies is held already, and the head is held only from here to COMMIT.
                let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&bank.key];
                let (settled, head) = tokio::join!(
                    settle(std::mem::take(&mut later)),
                    client.query_one(TAKE_HEAD, &params)
                );
                settled?;
                let row = head.map_err(|e| Failed {
                    why: e.to_string(),
                    again: retryable(&e),
                })?;
                let (next, hash) = head_of(&row).map_err(|e| e.to_string())?;
                chain.take(next, hash);
            }
            let later = settle(later);
            if chain.moved {
                let recs = &chain.appended;
                let seqs: Vec<i64> = recs.iter().map(|r| big(r.seq)).collect();
                let ats: Vec<i64> = recs.iter().map(|r| big(r.at)).collect();
                let owners: Vec<Option<&str>> =
                    recs.iter().map(|r| r.contract_id.as_deref()).collect();
                let bodies: Vec<String> = recs
                    .iter()
                    .map(|r| String::from_utf8(encode(r)).unwrap_or_default())
                    .collect();
                let next = big(chain.next_seq);
                let insert_params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] =
                    [&seqs, &ats, &owners, &bodies, &bank.key];
                let head_params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] =
                    [&next, &chain.hash, &bank.key];
                let insert = client.execute(
                    "INSERT INTO audit (bank, seq, at, contract_id, body) \
                     SELECT $5, s, a, c, b::jsonb FROM unnest($1::bigint[], $2::bigint[], \
                     $3::text[], $4::text[]) AS t(s, a, c, b)",
                    &insert_params,
                );
                let head = client.execute(
                    "UPDATE audit_head SET next_seq = $1, hash = $2 WHERE bank = $3 AND id = 1",
                    &head_params,
                );
                let (settled, wrote) =
                    tokio::join!(later, async { tokio::try_join!(insert, head) });
                settled?;
                wrote.map_err(|e| e.to_string())?;
            } else {
                later.await?;
            }
            // Only now: every conditional UPDATE of the batch changed its row.
            client
                .batch_execute("COMMIT")
                .await
                .map_err(|e| e.to_string())?;
            Ok(chain.base())
        });
        if written.is_err() {
            let _ = rt.block_on(client.batch_execute("ROLLBACK"));
        }
        written
    }

    fn end(&self, number: u64, how: Outcome) {
        let mut ended = lock(&self.ended);
        ended.last = ended.last.max(number);
        match how {
            Err(failed) => {
                ended.failed.insert(number, failed);
                // Members read their batch's end at once; failures are few (the database gone).
                while ended.failed.len() > 4096 {
                    ended.failed.pop_first();
                }
            }
            Ok(Some(base)) => {
                ended.bases.insert(number, base);
                // Members read their batch's base at once, and batches are never more than
                // a few behind the last.
                while ended.bases.len() > 4096 {
                    ended.bases.pop_first();
                }
            }
            Ok(None) => {}
        }
        drop(ended);
        self.ended_changed.notify_all();
    }

    fn wait_for(&self, number: u64) -> Outcome {
        let mut ended = lock(&self.ended);
        loop {
            if ended.last >= number {
                return match ended.failed.get(&number) {
                    Some(failed) => Err(failed.clone()),
                    None => Ok(ended.bases.get(&number).copied()),
                };
            }
            ended = self
                .ended_changed
                .wait(ended)
                .unwrap_or_else(|p| p.into_inner());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::harness;
    use crate::seal::Sealer;
    use crate::store::tests::token as test_token;
    use crate::store::{AuditEvent, Engine, Event, Store, TokenKind};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::mpsc;
    use std::time::Duration;

    fn token_store(url: &str) -> Store {
        let store = Store::open_postgres(url, Sealer::from_key(&[1; 32])).unwrap();
        let token = test_token(&store, "GMHW00000001", TokenKind::Hardware);
        store.commit_now(|tx| tx.put_token(&token)).unwrap();
        store
    }

    /// Two gateways: a late batch (its audit record numbered at its last statement) locks a
    /// token and then waits for the chain head, which the other gateway's batch holds while
    /// its body waits for that token. PostgreSQL ends the deadlock by failing one of them;
    /// whichever it is runs its body again, so both commit, in one verifiable chain, and the
    /// late body's receipt is its record's number.
    #[test]
    fn a_deadlock_between_a_late_batch_and_the_head_holder_commits_both() {
        let dir = tempfile::tempdir().unwrap();
        let url = harness::shared().database(&harness::name_for(dir.path()));
        let a = token_store(&url);
        let b = Store::open_postgres(&url, Sealer::from_key(&[1; 32])).unwrap();
        let (Engine::Postgres(pa), Engine::Postgres(pb)) = (&a.engine, &b.engine) else {
            unreachable!("opened on PostgreSQL")
        };
        let (held_tx, held_rx) = mpsc::channel();
        let (locked_tx, locked_rx) = mpsc::channel();
        let locked_rx = std::sync::Mutex::new(locked_rx);
        let first = AtomicBool::new(true);
        let late_runs = &AtomicUsize::new(0);
        let b = &b;
        let (held, late) = std::thread::scope(|s| {
            let late = s.spawn(move || {
                held_rx.recv().unwrap();
                pb.write_late(&b.sealer, |tx| {
                    late_runs.fetch_add(1, Ordering::SeqCst);
                    tx.token("GMHW00000001")?.expect("stored");
                    tx.audit(2, Event::new(AuditEvent::OtpOk))?;
                    let _ = locked_tx.send(());
                    Ok(())
                })
            });
            // Not late: the head is taken before the body runs, and held to its COMMIT.
            let held = pa.write(&a.sealer, |tx| {
                if first.swap(false, Ordering::SeqCst) {
                    held_tx.send(()).unwrap();
                    // The late body has the token locked; its batch now waits for the head.
                    locked_rx.lock().unwrap().recv().unwrap();
                    std::thread::sleep(Duration::from_millis(200));
                }
                tx.token("GMHW00000001")?.expect("stored");
                tx.audit(1, Event::new(AuditEvent::OtpFailed))
            });
            (held, late.join().unwrap())
        });
        let held = held.unwrap();
        let ((), base) = late.unwrap();
        // The late body's one record is the batch's first.
        let receipt = base.expect("a record");
        assert_ne!(receipt, held);
        assert_eq!(
            a.audit_record(receipt).unwrap().expect("committed").event,
            "otp_ok"
        );
        assert_eq!(a.verify_audit().unwrap(), Ok(2));
        assert!(late_runs.load(Ordering::SeqCst) >= 1);
    }

    /// A token's conditional UPDATE is sent without waiting for its answer; when it finds the
    /// row changed after all (here by the body itself, behind its own read), the batch does
    /// not commit, and nothing of it is written.
    #[test]
    fn a_token_update_that_changes_no_row_keeps_the_batch_from_committing() {
        let dir = tempfile::tempdir().unwrap();
        let url = harness::shared().database(&harness::name_for(dir.path()));
        let store = Store::open_postgres(&url, Sealer::from_key(&[1; 32])).unwrap();
        let token = test_token(&store, "GMHW00000001", TokenKind::Hardware);
        store.commit_now(|tx| tx.put_token(&token)).unwrap();
        let Engine::Postgres(pg) = &store.engine else {
            unreachable!("opened on PostgreSQL")
        };
        let err = pg
            .transaction(&store.sealer, |ptx, tx| {
                let mut t = tx.token("GMHW00000001")?.expect("stored");
                // The row moves past the step this body is about to raise it to.
                ptx.exec(
                    "UPDATE tokens SET last_step = 1000 WHERE bank = $1 AND serial = $2",
                    &[&ptx.bank, &"GMHW00000001"],
                )?;
                t.otp.last_step = Some(500);
                tx.put_token(&t)?;
                Ok(())
            })
            .unwrap_err();
        assert!(err.to_string().contains("changed 0 rows"), "{err}");
        // Neither the body's own UPDATE nor the one behind it was committed.
        let stored = store.token("GMHW00000001").unwrap().expect("stored");
        assert_eq!(stored.otp.last_step, None);
        // The next batch commits as usual.
        let mut t = stored;
        t.otp.last_step = Some(7);
        store.commit_now(|tx| tx.put_token(&t)).unwrap();
        assert_eq!(
            store.token("GMHW00000001").unwrap().unwrap().otp.last_step,
            Some(7)
        );
    }
}
