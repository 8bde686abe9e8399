//! [`PgTx`]: one transaction body's view of its batch's PostgreSQL transaction (see
//! `batch.rs`). Reads lock their row until commit; writes go out at once, except the audit
//! records, which are numbered and hashed against the chain head the batch holds locked (or,
//! in a late body, when the batch takes the head at its end), and inserted by the batch just
//! before its COMMIT. The body's savepoint travels with its first
//! statement (pipelined: no round trip of its own), and so does the answer to a token's
//! conditional UPDATE, which is sent without waiting (see [`PgTx::exec_later`]).

use super::super::audit::{chained, Who};
use super::super::error::{Abort, Stop};
use super::super::records::{
    ApiKey, Application, Attempt, AuditRecord, Business, CancelForm, Card, Customer, Event,
    Receipt, ReceiptKind, Release, Staff, StaffSessionRecord, Token,
};
use super::super::{decode, encode, TxResult, LAST_RECEIPT};
use deadpool_postgres::Client;
use serde::de::DeserializeOwned;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use tokio_postgres::types::ToSql;

type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

/// A statement sent on the batch's connection whose answer is not read yet: how many rows it
/// changed (see [`PgTx::exec_later`]).
pub(super) type Later = Pin<Box<dyn Future<Output = Result<u64, tokio_postgres::Error>> + Send>>;

/// Reads the answers of `later`, in the order sent. `Err` says why the batch must not commit:
/// one failed, or changed other than the one row it must change.
pub(super) async fn settle(later: Vec<Later>) -> Result<(), String> {
    let mut why = None;
    // Every answer is read, even after a failure: an unread one would hold up the connection.
    for statement in later {
        match statement.await {
            Ok(1) => {}
            Ok(n) => {
                why.get_or_insert(format!("a token's conditional update changed {n} rows"));
            }
            Err(e) => {
                why.get_or_insert(e.to_string());
            }
        }
    }
    why.map_or(Ok(()), Err)
}

/// The audit chain's head as the batch holds it (locked), and the records appended to it.
/// Until the batch takes the head (`taken`), `next_seq` and `hash` mean nothing and the
/// records appended are pending: numbered and hashed by [`Chain::take`].
#[derive(Clone, Default)]
pub(super) struct Chain {
    pub next_seq: u64,
    pub hash: String,
    pub appended: Vec<AuditRecord>,
    /// The head moved (records appended, or a copied chain's head set).
    pub moved: bool,
    /// The batch holds the head row locked, and `next_seq` and `hash` are its values.
    pub taken: bool,
}

impl Chain {
    /// The head as read (locked) from the database: the pending records get their numbers
    /// and hashes, in the order appended, chained on from it.
    pub fn take(&mut self, next_seq: u64, hash: String) {
        let (mut next, mut prev) = (next_seq, hash);
        for rec in &mut self.appended {
            rec.seq = next;
            rec.prev = prev;
            rec.hash = super::super::audit::digest(rec);
            next += 1;
            prev = rec.hash.clone();
        }
        self.next_seq = next;
        self.hash = prev;
        self.taken = true;
    }

    /// The number of the first record appended (those after it follow on), once taken.
    pub fn base(&self) -> Option<u64> {
        match self.appended.first() {
            Some(first) if self.taken => Some(first.seq),
            _ => None,
        }
    }
}

/// The statement that locks the bank's chain head (and reads it).
pub(super) const TAKE_HEAD: &str =
    "SELECT next_seq, hash FROM audit_head WHERE bank = $1 AND id = 1 FOR UPDATE";

/// The head in a row of [`TAKE_HEAD`]: next number, hash.
pub(super) fn head_of(
    row: &tokio_postgres::Row,
) -> Result<(u64, String), super::super::StoreError> {
    let next: i64 = row.try_get(0)?;
    let next = u64::try_from(next).map_err(|_| Abort::corrupt("audit_head", "seq"))?;
    Ok((next, row.try_get(1)?))
}

/// A token's OTP state as this transaction read it (under its row lock).
#[derive(Clone, Copy)]
struct ReadState {
    last_step: i64,
    fails: i32,
}

pub(crate) struct PgTx<'a> {
    client: &'a Arc<Client>,
    /// The bank column of every row this body reads or writes.
    pub(super) bank: &'a str,
    rt: &'a tokio::runtime::Runtime,
    chain: RefCell<Chain>,
    tokens_read: RefCell<HashMap<String, ReadState>>,
    /// Tokens fetched (and locked) with their customer, not yet asked for: body and state.
    prefetched: RefCell<HashMap<String, (String, ReadState)>>,
    /// Customers fetched (and locked) by a `business` read that found no business, not yet
    /// asked for (an OTP check asks for the business first, then the customer).
    prefetched_customers: RefCell<HashMap<String, Customer>>,
    /// The savepoint statement still to send (with the first statement), if any.
    savepoint: Cell<Option<&'static str>>,
    /// Statements sent and not answered yet (this body's, or earlier bodies' of the batch):
    /// read with the next statement's round trip, or by the batch before COMMIT.
    later: RefCell<Vec<Later>>,
    /// Why the batch must not commit, when one of `later` says so.
    broken: RefCell<Option<String>>,
}

/// A token's step as stored: -1 for none.
fn step_of(t: &Token) -> i64 {
    t.otp
        .last_step
        .map_or(-1, |s| i64::try_from(s).unwrap_or(i64::MAX))
}

fn body_text<R: serde::Serialize>(r: &R) -> String {
    String::from_utf8(encode(r)).unwrap_or_default()
}

fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl<'a> PgTx<'a> {
    /// A body's view of `client`, whose transaction is open, with the batch's chain head and
    /// the savepoint statement that opens the body (see `batch.rs`).
    pub(super) fn on(
        client: &'a Arc<Client>,
        rt: &'a tokio::runtime::Runtime,
        bank: &'a super::Bank,
        chain: Chain,
        savepoint: &'static str,
        later: Vec<Later>,
    ) -> PgTx<'a> {
        PgTx {
            client,
            bank: &bank.key,
            rt,
            chain: RefCell::new(chain),
            tokens_read: RefCell::new(HashMap::new()),
            prefetched: RefCell::new(HashMap::new()),
            prefetched_customers: RefCell::new(HashMap::new()),
            savepoint: Cell::new(Some(savepoint)),
            later: RefCell::new(later),
            broken: RefCell::new(None),
        }
    }

    /// The statements still unanswered, for the batch to read (with the next body's first
    /// statement, or before COMMIT).
    pub(super) fn take_later(&self) -> Vec<Later> {
        std::mem::take(&mut *self.later.borrow_mut())
    }

    /// Why the batch must not commit, if an answer read by this body said so.
    pub(super) fn take_broken(&self) -> Option<String> {
        self.broken.borrow_mut().take()
    }

    /// Waits for `f` (one round trip) while reading the unanswered statements sent before
    /// it; an error when one of those says the batch must not commit.
    fn round<T>(&self, f: impl Future<Output = Result<T, tokio_postgres::Error>>) -> TxResult<T> {
        let later = self.take_later();
        if later.is_empty() {
            return Ok(self.rt.block_on(f)?);
        }
        let (settled, out) = self.rt.block_on(async { tokio::join!(settle(later), f) });
        if let Err(why) = settled {
            *self.broken.borrow_mut() = Some(why.clone());
            return Err(Abort(Stop::Pool(format!(
                "the transaction did not commit: {why}"
            ))));
        }
        Ok(out?)
    }

    /// Whether the body's savepoint was sent (it issued a statement).
    pub(super) fn began(&self) -> bool {
        self.savepoint.get().is_none()
    }

    /// The chain head as the body left it.
    pub(super) fn into_chain(self) -> Chain {
        self.chain.into_inner()
    }

    /// Runs one statement (prepared once per connection) and returns its rows; the body's
    /// savepoint goes first, in the same round trip.
    pub(super) fn rows(&self, sql: &str, params: Params) -> TxResult<Vec<tokio_postgres::Row>> {
        let query = async {
            let stmt = self.client.prepare_cached(sql).await?;
            self.client.query(&stmt, params).await
        };
        match self.savepoint.take() {
            None => self.round(query),
            Some(sp) => {
                let opened = self.client.batch_execute(sp);
                Ok(self.round(async { tokio::try_join!(opened, query) })?.1)
            }
        }
    }

    /// Runs one statement; how many rows it changed.
    pub(super) fn exec(&self, sql: &str, params: Params) -> TxResult<u64> {
        let run = async {
            let stmt = self.client.prepare_cached(sql).await?;
            self.client.execute(&stmt, params).await
        };
        match self.savepoint.take() {
            None => self.round(run),
            Some(sp) => {
                let opened = self.client.batch_execute(sp);
                Ok(self.round(async { tokio::try_join!(opened, run) })?.1)
            }
        }
    }

    /// Sends a statement that must change exactly one row, one this body holds locked, and
    /// goes on without waiting for its answer: that answer is read in the round trip of the
    /// next statement on the connection (this body's or the next body's), or by the batch
    /// before its COMMIT, and if the statement failed or changed no row the batch does not
    /// commit (its callers are told).
    fn exec_later(&self, sql: &str, params: Vec<Box<dyn ToSql + Sync + Send>>) -> TxResult<()> {
        if !self.began() {
            // The body's first statement (never so after a read): it carries the savepoint,
            // and a row found changed runs the body again.
            let refs: Vec<&(dyn ToSql + Sync)> =
                params.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect();
            return match self.exec(sql, &refs)? {
                1 => Ok(()),
                _ => Err(Abort(Stop::Conflict)),
            };
        }
        let stmt = self.round(self.client.prepare_cached(sql))?;
        let client = self.client.clone();
        let mut sent: Later = Box::pin(async move {
            let refs: Vec<&(dyn ToSql + Sync)> =
                params.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect();
            client.execute(&stmt, &refs).await
        });
        // The first poll puts the statement on the connection, ahead of whatever follows.
        if let Poll::Ready(out) = sent.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            sent = Box::pin(std::future::ready(out));
        }
        self.later.borrow_mut().push(sent);
        Ok(())
    }

    /// The record in `body` (the first column) of the one row `sql` finds, if any.
    fn get<R: DeserializeOwned>(
        &self,
        table: &'static str,
        sql: &str,
        params: Params,
    ) -> TxResult<Option<R>> {
        match self.rows(sql, params)?.first() {
            None => Ok(None),
            Some(row) => {
                let text: String = row.try_get(0)?;
                Ok(Some(decode(table, text.as_bytes())?))
            }
        }
    }

    /// Drops tokens fetched with their customers (a bulk write may replace them).
    pub(super) fn forget_prefetched(&self) {
        self.prefetched.borrow_mut().clear();
        self.prefetched_customers.borrow_mut().clear();
    }

    /// Sets the chain head (a copied chain's last record).
    pub(super) fn set_chain_head(&self, next_seq: u64, hash: String) {
        let mut chain = self.chain.borrow_mut();
        chain.next_seq = next_seq;
        chain.hash = hash;
        chain.moved = true;
    }

    /// Appends an audit record. With the head taken, returns its number; before (a body of
    /// [`crate::store::Store::commit_receipted`]), the record is pending and the number
    /// returned is its place in the batch, which that call resolves after COMMIT.
    pub(crate) fn append_audit(&self, at: u64, e: Event, who: Who) -> TxResult<u64> {
        let mut chain = self.chain.borrow_mut();
        if !chain.taken {
            let place = chain.appended.len() as u64;
            let rec = chained(place, String::new(), at, e, who);
            chain.moved = true;
            chain.appended.push(rec);
            return Ok(place);
        }
        let rec = chained(chain.next_seq, chain.hash.clone(), at, e, who);
        chain.next_seq += 1;
        chain.hash = rec.hash.clone();
        chain.moved = true;
        let seq = rec.seq;
        chain.appended.push(rec);
        Ok(seq)
    }

    /// The place in the batch the next audit record gets (see `Store::commit_receipted`).
    pub(crate) fn audit_place(&self) -> u64 {
        self.chain.borrow().appended.len() as u64
    }

    /// Whether the batch holds the chain head.
    pub(super) fn head_taken(&self) -> bool {
        self.chain.borrow().taken
    }

    /// Locks the bank's chain head now (one round trip, carrying the body's savepoint): from
    /// here on every record appended gets its number at once, and so did those pending.
    pub(super) fn take_head(&self) -> TxResult<()> {
        if self.head_taken() {
            return Ok(());
        }
        let rows = self.rows(TAKE_HEAD, &[&self.bank])?;
        let Some(row) = rows.first() else {
            return Err(Abort::corrupt("audit_head", "missing"));
        };
        let (next, hash) = head_of(row).map_err(|_| Abort::corrupt("audit_head", "seq"))?;
        self.chain.borrow_mut().take(next, hash);
        Ok(())
    }

    pub(crate) fn next_audit_seq(&self) -> TxResult<u64> {
        // A number handed out inside a body needs the head.
        self.take_head()?;
        Ok(self.chain.borrow().next_seq)
    }

    /// The customer, locked; the token bound to them comes locked in the same statement and
    /// is kept for the `token` read that usually follows (an OTP check saves a round trip).
    pub(crate) fn customer(&self, contract_id: &str) -> TxResult<Option<Customer>> {
        if let Some(c) = self.prefetched_customers.borrow_mut().remove(contract_id) {
            return Ok(Some(c));
        }
        let rows = self.rows(
            "SELECT c.body::text, t.serial, t.body::text, t.last_step, t.fails \
             FROM customers c LEFT JOIN LATERAL (SELECT serial, body, last_step, fails \
             FROM tokens WHERE bank = c.bank AND serial = c.body->'token'->>'serial' \
             FOR UPDATE) t ON true \
             WHERE c.bank = $2 AND c.contract_id = $1 FOR UPDATE OF c",
            &[&contract_id, &self.bank],
        )?;
        match rows.first() {
            None => Ok(None),
            Some(row) => self.customer_row(row, 0),
        }
    }

    /// The customer (and their token, kept for `token`) in columns `at..at + 5` of `row`
    /// (customer body, token serial, body, last_step, fails), if any.
    fn customer_row(&self, row: &tokio_postgres::Row, at: usize) -> TxResult<Option<Customer>> {
        let Some(text) = row.try_get::<_, Option<String>>(at)? else {
            return Ok(None);
        };
        let customer: Customer = decode("customers", text.as_bytes())?;
        let serial: Option<String> = row.try_get(at + 1)?;
        if let (Some(serial), Some(body)) = (serial, row.try_get::<_, Option<String>>(at + 2)?) {
            let state = ReadState {
                last_step: row.try_get(at + 3)?,
                fails: row.try_get(at + 4)?,
            };
            self.prefetched.borrow_mut().insert(serial, (body, state));
        }
        Ok(Some(customer))
    }

    pub(crate) fn put_customer(&self, c: &Customer) -> TxResult<()> {
        // A later read must see this write, not the row as first fetched.
        self.prefetched_customers
            .borrow_mut()
            .remove(&c.contract_id);
        self.exec(
            "INSERT INTO customers (bank, contract_id, body) VALUES ($3, $1, $2::text::jsonb) \
             ON CONFLICT (bank, contract_id) DO UPDATE SET body = EXCLUDED.body",
            &[&c.contract_id, &body_text(c), &self.bank],
        )
        .map(drop)
    }

    pub(crate) fn token(&self, serial: &str) -> TxResult<Option<Token>> {
        if let Some((text, state)) = self.prefetched.borrow_mut().remove(serial) {
            let token: Token = decode("tokens", text.as_bytes())?;
            self.tokens_read
                .borrow_mut()
                .insert(serial.to_owned(), state);
            return Ok(Some(token));
        }
        let rows = self.rows(
            "SELECT body::text, last_step, fails FROM tokens \
             WHERE bank = $2 AND serial = $1 FOR UPDATE",
            &[&serial, &self.bank],
        )?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let text: String = row.try_get(0)?;
        let token: Token = decode("tokens", text.as_bytes())?;
        let state = ReadState {
            last_step: row.try_get(1)?,
            fails: row.try_get(2)?,
        };
        self.tokens_read
            .borrow_mut()
            .insert(serial.to_owned(), state);
        Ok(Some(token))
    }

    /// Stores a token. One this transaction read is updated only if its OTP state is still the
    /// one read, and a raised time step only by `… AND last_step < $new`: the one conditional
    /// statement that makes a code usable once across every gateway. The row is locked since
    /// the read, so the UPDATE is sent without waiting for its answer (`exec_later`): if it
    /// found the row changed after all, the batch does not commit. A token not read here is
    /// inserted or replaced at once; finding it changed runs the body again.
    pub(crate) fn put_token(&self, t: &Token) -> TxResult<()> {
        // A later read must see this write, not the row as first fetched.
        self.prefetched.borrow_mut().remove(&t.serial);
        let step = step_of(t);
        let fails = i32::try_from(t.otp.fails).unwrap_or(i32::MAX);
        let body = body_text(t);
        let free = t.free_hardware();
        let read = self.tokens_read.borrow().get(&t.serial).copied();
        let Some(r) = read else {
            let changed = self.exec(
                "INSERT INTO tokens \
                 (bank, serial, last_step, fails, assigned_to, free_hardware, body) \
                 VALUES ($7, $1, $2, $3, $4, $5, $6::text::jsonb) \
                 ON CONFLICT (bank, serial) DO UPDATE SET last_step = EXCLUDED.last_step, \
                 fails = EXCLUDED.fails, assigned_to = EXCLUDED.assigned_to, \
                 free_hardware = EXCLUDED.free_hardware, body = EXCLUDED.body",
                &[
                    &t.serial,
                    &step,
                    &fails,
                    &t.assigned_to,
                    &free,
                    &body,
                    &self.bank,
                ],
            )?;
            return if changed == 1 {
                Ok(())
            } else {
                Err(Abort(Stop::Conflict))
            };
        };
        let mut params: Vec<Box<dyn ToSql + Sync + Send>> = vec![
            Box::new(t.serial.clone()),
            Box::new(step),
            Box::new(fails),
            Box::new(t.assigned_to.clone()),
            Box::new(free),
            Box::new(body),
            Box::new(self.bank.to_owned()),
        ];
        if step > r.last_step {
            self.exec_later(
                "UPDATE tokens SET last_step = $2, fails = $3, assigned_to = $4, \
                 free_hardware = $5, body = $6::text::jsonb \
                 WHERE bank = $7 AND serial = $1 AND last_step < $2",
                params,
            )?;
        } else {
            params.push(Box::new(r.last_step));
            params.push(Box::new(r.fails));
            self.exec_later(
                "UPDATE tokens SET last_step = $2, fails = $3, assigned_to = $4, \
                 free_hardware = $5, body = $6::text::jsonb \
                 WHERE bank = $7 AND serial = $1 AND last_step = $8 AND fails = $9",
                params,
            )?;
        }
        let state = ReadState {
            last_step: step,
            fails,
        };
        self.tokens_read
            .borrow_mut()
            .insert(t.serial.clone(), state);
        Ok(())
    }

    pub(crate) fn receipt(
        &self,
        kind: ReceiptKind,
        contract_id: &str,
        serial: &str,
        old_serial: Option<&str>,
        at: u64,
    ) -> TxResult<Receipt> {
        // One statement takes the number and locks the counter until commit: numbers are
        // consecutive across gateways, and an aborted transaction issues none.
        let rows = self.rows(
            "UPDATE counters SET next = next + 1 \
             WHERE bank = $2 AND name = 'receipt' AND next <= $1 RETURNING next - 1",
            &[&i64::from(LAST_RECEIPT), &self.bank],
        )?;
        let Some(row) = rows.first() else {
            return Err(Abort(Stop::ReceiptsExhausted));
        };
        let number: i64 = row.try_get(0)?;
        let number = u32::try_from(number).map_err(|_| Abort::corrupt("counters", "receipt"))?;
        let r = Receipt {
            number,
            kind,
            contract_id: contract_id.to_owned(),
            serial: serial.to_owned(),
            old_serial: old_serial.map(str::to_owned),
            at,
        };
        self.exec(
            "INSERT INTO receipts (bank, number, contract_id, body) \
             VALUES ($4, $1, $2, $3::text::jsonb)",
            &[&(number as i32), &r.contract_id, &body_text(&r), &self.bank],
        )?;
        Ok(r)
    }

    pub(crate) fn add_attempt(&self, a: &Attempt) -> TxResult<()> {
        self.exec(
            "INSERT INTO attempts (bank, contract_id, body) VALUES ($3, $1, $2::text::jsonb)",
            &[&a.contract_id, &body_text(a), &self.bank],
        )
        .map(drop)
    }

    pub(crate) fn staff(&self, staff_id: &str) -> TxResult<Option<Staff>> {
        self.get(
            "staff",
            "SELECT body::text FROM staff WHERE bank = $2 AND staff_id = $1 FOR UPDATE",
            &[&staff_id, &self.bank],
        )
    }

    pub(crate) fn put_staff(&self, s: &Staff) -> TxResult<()> {
        self.exec(
            "INSERT INTO staff (bank, staff_id, body) VALUES ($3, $1, $2::text::jsonb) \
             ON CONFLICT (bank, staff_id) DO UPDATE SET body = EXCLUDED.body",
            &[&s.staff_id, &body_text(s), &self.bank],
        )
        .map(drop)
    }

    /// The 法人 contract, locked. When there is none, the personal customer of that ID (and
    /// their token) comes locked in the same statement and is kept for the `customer` read
    /// that follows in an OTP check (one round trip instead of two).
    pub(crate) fn business(&self, contract_id: &str) -> TxResult<Option<Business>> {
        let rows = self.rows(
            "SELECT b.body::text, c.body::text, t.serial, t.body::text, t.last_step, t.fails \
             FROM (SELECT $1::text AS id) k \
             LEFT JOIN LATERAL (SELECT body FROM businesses \
             WHERE bank = $2 AND contract_id = k.id FOR UPDATE) b ON true \
             LEFT JOIN LATERAL (SELECT body FROM customers \
             WHERE b.body IS NULL AND bank = $2 AND contract_id = k.id FOR UPDATE) c ON true \
             LEFT JOIN LATERAL (SELECT serial, body, last_step, fails FROM tokens \
             WHERE bank = $2 AND serial = c.body->'token'->>'serial' FOR UPDATE) t ON true",
            &[&contract_id, &self.bank],
        )?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        if let Some(text) = row.try_get::<_, Option<String>>(0)? {
            return Ok(Some(decode("businesses", text.as_bytes())?));
        }
        if let Some(c) = self.customer_row(row, 1)? {
            self.prefetched_customers
                .borrow_mut()
                .insert(contract_id.to_owned(), c);
        }
        Ok(None)
    }

    pub(crate) fn put_business(&self, b: &Business) -> TxResult<()> {
        self.exec(
            "INSERT INTO businesses (bank, contract_id, body) VALUES ($3, $1, $2::text::jsonb) \
             ON CONFLICT (bank, contract_id) DO UPDATE SET body = EXCLUDED.body",
            &[&b.contract_id, &body_text(b), &self.bank],
        )
        .map(drop)
    }

    pub(crate) fn card(&self, contract_id: &str) -> TxResult<Option<Card>> {
        self.get(
            "cards",
            "SELECT body::text FROM cards WHERE bank = $2 AND contract_id = $1 FOR UPDATE",
            &[&contract_id, &self.bank],
        )
    }

    pub(crate) fn put_card(&self, c: &Card) -> TxResult<()> {
        self.exec(
            "INSERT INTO cards (bank, contract_id, body) VALUES ($3, $1, $2::text::jsonb) \
             ON CONFLICT (bank, contract_id) DO UPDATE SET body = EXCLUDED.body",
            &[&c.contract_id, &body_text(c), &self.bank],
        )
        .map(drop)
    }

    pub(crate) fn staff_session(&self, key: &str) -> TxResult<Option<StaffSessionRecord>> {
        self.get(
            "staff_sessions",
            "SELECT body::text FROM staff_sessions WHERE bank = $2 AND key = $1 FOR UPDATE",
            &[&key, &self.bank],
        )
    }

    pub(crate) fn put_staff_session(&self, s: &StaffSessionRecord) -> TxResult<()> {
        self.exec(
            "INSERT INTO staff_sessions (bank, key, staff_id, body) \
             VALUES ($4, $1, $2, $3::text::jsonb) ON CONFLICT (bank, key) \
             DO UPDATE SET staff_id = EXCLUDED.staff_id, body = EXCLUDED.body",
            &[&s.key, &s.staff_id, &body_text(s), &self.bank],
        )
        .map(drop)
    }

    pub(crate) fn remove_staff_session(&self, key: &str) -> TxResult<()> {
        self.exec(
            "DELETE FROM staff_sessions WHERE bank = $2 AND key = $1",
            &[&key, &self.bank],
        )
        .map(drop)
    }

    pub(crate) fn form(&self, form_no: &str) -> TxResult<Option<CancelForm>> {
        self.get(
            "forms",
            "SELECT body::text FROM forms WHERE bank = $2 AND form_no = $1 FOR UPDATE",
            &[&form_no, &self.bank],
        )
    }

    pub(crate) fn put_form(&self, f: &CancelForm) -> TxResult<()> {
        let decided = f.decision.decided_at().map(big);
        self.exec(
            "INSERT INTO forms (bank, form_no, contract_id, decided_at, body) \
             VALUES ($5, $1, $2, $3, $4::text::jsonb) \
             ON CONFLICT (bank, form_no) DO UPDATE SET contract_id = EXCLUDED.contract_id, \
             decided_at = EXCLUDED.decided_at, body = EXCLUDED.body",
            &[
                &f.form_no,
                &f.contract_id,
                &decided,
                &body_text(f),
                &self.bank,
            ],
        )
        .map(drop)
    }

    pub(crate) fn application(&self, application_no: &str) -> TxResult<Option<Application>> {
        self.get(
            "applications",
            "SELECT body::text FROM applications WHERE bank = $2 AND application_no = $1 FOR UPDATE",
            &[&application_no, &self.bank],
        )
    }

    pub(crate) fn put_application(&self, a: &Application) -> TxResult<()> {
        self.exec(
            "INSERT INTO applications (bank, application_no, contract_id, at, body) \
             VALUES ($5, $1, $2, $3, $4::text::jsonb) \
             ON CONFLICT (bank, application_no) DO UPDATE SET \
             contract_id = EXCLUDED.contract_id, at = EXCLUDED.at, body = EXCLUDED.body",
            &[
                &a.application_no,
                &a.contract_id,
                &big(a.at),
                &body_text(a),
                &self.bank,
            ],
        )
        .map(drop)
    }

    pub(crate) fn release(&self, id: u64) -> TxResult<Option<Release>> {
        self.get(
            "releases",
            "SELECT body::text FROM releases WHERE bank = $2 AND id = $1 FOR UPDATE",
            &[&big(id), &self.bank],
        )
    }

    pub(crate) fn put_release(&self, r: &Release) -> TxResult<()> {
        let decided = r.decision.decided_at().map(big);
        self.exec(
            "INSERT INTO releases (bank, id, contract_id, decided_at, body) \
             VALUES ($5, $1, $2, $3, $4::text::jsonb) \
             ON CONFLICT (bank, id) DO UPDATE SET contract_id = EXCLUDED.contract_id, \
             decided_at = EXCLUDED.decided_at, body = EXCLUDED.body",
            &[
                &big(r.id),
                &r.contract_id,
                &decided,
                &body_text(r),
                &self.bank,
            ],
        )
        .map(drop)
    }

    pub(crate) fn api_key(&self, hash: &[u8; 32]) -> TxResult<Option<ApiKey>> {
        self.get(
            "api_keys",
            "SELECT body::text FROM api_keys WHERE bank = $2 AND hash = $1 FOR UPDATE",
            &[&hash.as_slice(), &self.bank],
        )
    }

    pub(crate) fn put_api_key(&self, k: &ApiKey) -> TxResult<()> {
        let mut hash = [0u8; 32];
        hex::decode_to_slice(&k.hash_hex, &mut hash)
            .map_err(|_| Abort::corrupt("api_keys", "hash"))?;
        self.exec(
            "INSERT INTO api_keys (bank, hash, name, body) VALUES ($4, $1, $2, $3::text::jsonb) \
             ON CONFLICT (bank, hash) DO UPDATE SET name = EXCLUDED.name, body = EXCLUDED.body",
            &[&hash.as_slice(), &k.name, &body_text(k), &self.bank],
        )
        .map(drop)
    }
}
