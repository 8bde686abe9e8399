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
//! member; otherwise it leaves the commit to the next in line and waits for it. A batch begins
//! by locking the chain head, so batches of different gateways run one after another and never
//! deadlock (a batch waiting for the head holds nothing yet).
//!
//! Round trips: inside a batch the bodies run one after another on one connection, so each
//! round trip of a body holds up every gateway. A token's conditional UPDATE (on a row the body
//! holds locked) is sent without waiting for its answer; that answer comes back in the round
//! trip of the next statement (the next body's first), and before COMMIT the batch reads every
//! answer still due: COMMIT is never sent if one failed or changed no row.

use super::super::error::{Abort, Stop};
use super::super::{encode, StoreError, Tx, TxResult};
use super::tx::{settle, Chain, Later};
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

/// How batches ended: every batch up to `last` has, those in `failed` without committing.
#[derive(Default)]
struct Ended {
    last: u64,
    failed: BTreeMap<u64, String>,
}

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
    /// committed. Called on a thread that may block (see `Core::enter`).
    pub(super) fn run<R>(
        &self,
        core: &Core,
        bank: &Bank,
        sealer: &Sealer,
        body: &dyn Fn(&PgTx, &mut Tx) -> TxResult<R>,
    ) -> Result<R, StoreError> {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let mut open = lock(&self.open);
        self.queued.fetch_sub(1, Ordering::SeqCst);
        if open.client.is_none() {
            Self::begin(core, bank, &mut open)?;
        }
        let number = open.number;
        let mut panicked = None;
        let out = match &open.broken {
            // Lost already: this body would be lost with it.
            Some(why) => Err(batch_failed(why.clone())),
            None => {
                let run = std::panic::AssertUnwindSafe(|| {
                    Self::one_body(core, bank, &mut open, sealer, body)
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
            return ended.map_err(batch_failed).and(out);
        }
        drop(open);
        let ended = self.wait_for(number);
        ended.map_err(batch_failed).and(out)
    }

    /// Opens a batch: a pooled connection, BEGIN, and the bank's chain head locked.
    fn begin(core: &Core, bank: &Bank, open: &mut Open) -> Result<(), StoreError> {
        let rt = core.rt();
        let client = rt.block_on(core.pool().get()).map_err(unavailable)?;
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&bank.key];
        let head = rt.block_on(async {
            let begin = client.batch_execute("BEGIN ISOLATION LEVEL READ COMMITTED");
            let head = client.query_one(
                "SELECT next_seq, hash FROM audit_head WHERE bank = $1 AND id = 1 FOR UPDATE",
                &params,
            );
            tokio::try_join!(begin, head)
        });
        let row = match head {
            Ok((_, row)) => row,
            Err(e) => {
                let _ = rt.block_on(client.batch_execute("ROLLBACK"));
                return Err(e.into());
            }
        };
        let next: i64 = row.try_get(0)?;
        open.chain = Chain {
            next_seq: u64::try_from(next)
                .map_err(|_| StoreError::from(Abort::corrupt("audit_head", "seq")))?,
            hash: row.try_get(1)?,
            appended: Vec::new(),
            moved: false,
        };
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
                body(&ptx, &mut tx)
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

    /// Commits the open batch (or rolls back a broken one) and closes it. A COMMIT that fails
    /// is never retried: it may have committed.
    fn commit(core: &Core, bank: &Bank, open: &mut Open) -> Result<(), String> {
        let Some(client) = open.client.take() else {
            return Err("no open batch".into());
        };
        let rt = core.rt();
        let later = settle(std::mem::take(&mut open.later));
        if let Some(why) = open.broken.take() {
            let _ = rt.block_on(async { tokio::join!(later, client.batch_execute("ROLLBACK")) });
            return Err(why);
        }
        let chain = std::mem::take(&mut open.chain);
        let written = rt.block_on(async {
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
                .map_err(|e| e.to_string())
        });
        if written.is_err() {
            let _ = rt.block_on(client.batch_execute("ROLLBACK"));
        }
        written
    }

    fn end(&self, number: u64, how: Result<(), String>) {
        let mut ended = lock(&self.ended);
        ended.last = ended.last.max(number);
        if let Err(why) = how {
            ended.failed.insert(number, why);
            // Members read their batch's end at once; failures are few (the database gone).
            while ended.failed.len() > 4096 {
                ended.failed.pop_first();
            }
        }
        drop(ended);
        self.ended_changed.notify_all();
    }

    fn wait_for(&self, number: u64) -> Result<(), String> {
        let mut ended = lock(&self.ended);
        loop {
            if ended.last >= number {
                return match ended.failed.get(&number) {
                    Some(why) => Err(why.clone()),
                    None => Ok(()),
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
    use crate::otp::{HashAlg, Params};
    use crate::seal::Sealer;
    use crate::store::{Engine, NewToken, Store, TokenKind};

    /// A token's conditional UPDATE is sent without waiting for its answer; when it finds the
    /// row changed after all (here by the body itself, behind its own read), the batch does
    /// not commit, and nothing of it is written.
    #[test]
    fn a_token_update_that_changes_no_row_keeps_the_batch_from_committing() {
        let dir = tempfile::tempdir().unwrap();
        let url = harness::shared().database(&harness::name_for(dir.path()));
        let store = Store::open_postgres(&url, Sealer::from_key(&[1; 32])).unwrap();
        let token = store.new_token(&NewToken {
            serial: "GMHW00000001",
            kind: TokenKind::Hardware,
            params: Params {
                algorithm: HashAlg::Sha1,
                digits: 6,
                period: 60,
                t0: 0,
            },
            secret: b"12345678901234567890",
        });
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
