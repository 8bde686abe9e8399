//! [`Tx`]: what one transaction may read and write. Every write of a record updates its index
//! entries in the same transaction, so an index never disagrees with the records it lists.
//! Signatures speak records and [`TxResult`] only; how the engine stores them stays here.

use super::index::{self, Entry};
use super::records::{
    ApiKey, Application, Attempt, Business, CancelForm, Card, Customer, Receipt, ReceiptKind,
    Release, Staff, StaffSessionRecord, Token,
};
use super::{decode, encode, open_card, open_secret, Abort, Counters, TxResult, LAST_RECEIPT, T};
use serde::{de::DeserializeOwned, Serialize};
use sled::transaction::TransactionalTree;
use zeroize::Zeroizing;

/// Typed access to the records inside one transaction, on either engine.
pub struct Tx<'a> {
    pub(super) e: TxEngine<'a>,
    sealer: &'a crate::seal::Sealer,
    /// The bank whose records these are, stamped on its audit records.
    pub(super) bank: Option<&'a crate::banks::BankCode>,
    /// The audit events this transaction recorded, for the store's observer.
    pub(super) events: Vec<super::AuditEvent>,
    /// The last audit record appended: its number (sled), or its place in the batch
    /// (PostgreSQL), for [`super::Store::commit_receipted`].
    pub(super) receipt: Option<u64>,
}

pub(super) enum TxEngine<'a> {
    Sled(SledTx<'a>),
    Postgres(&'a super::pg::PgTx<'a>),
}

/// Runs `$body` with `$e` bound to the transaction's engine side (same method names on both).
macro_rules! on_tx {
    ($self:expr, $e:ident => $body:expr) => {
        match &$self.e {
            TxEngine::Sled($e) => $body,
            TxEngine::Postgres($e) => $body,
        }
    };
    (mut $self:expr, $e:ident => $body:expr) => {
        match &mut $self.e {
            TxEngine::Sled($e) => $body,
            TxEngine::Postgres($e) => $body,
        }
    };
}

/// A sled transaction over every tree, with the counters it advances.
pub(super) struct SledTx<'a> {
    trees: &'a [TransactionalTree],
    pub(super) counters: Counters,
    /// The import being moved from `staged` into `tokens` (0: none), see `staging.rs`.
    folding: u64,
}

impl<'a> Tx<'a> {
    pub(super) fn sled(
        trees: &'a [TransactionalTree],
        counters: Counters,
        sealer: &'a crate::seal::Sealer,
        folding: u64,
        bank: Option<&'a crate::banks::BankCode>,
    ) -> Tx<'a> {
        Tx {
            e: TxEngine::Sled(SledTx {
                trees,
                counters,
                folding,
            }),
            sealer,
            bank,
            events: Vec::new(),
            receipt: None,
        }
    }

    pub(super) fn postgres(
        tx: &'a super::pg::PgTx<'a>,
        sealer: &'a crate::seal::Sealer,
        bank: Option<&'a crate::banks::BankCode>,
    ) -> Tx<'a> {
        Tx {
            e: TxEngine::Postgres(tx),
            sealer,
            bank,
            events: Vec::new(),
            receipt: None,
        }
    }

    pub(super) fn into_counters(self) -> Counters {
        match self.e {
            TxEngine::Sled(s) => s.counters,
            // Only sled keeps counters in memory.
            TxEngine::Postgres(_) => unreachable!("PostgreSQL keeps its counters in the database"),
        }
    }

    /// Marks import `id` as published (the embedded engine's staged imports, `staging.rs`).
    pub(super) fn put_staged_marker(&self, key: &str, id: u64) -> TxResult<()> {
        match &self.e {
            TxEngine::Sled(e) => e.put_meta(key, &id.to_be_bytes()),
            TxEngine::Postgres(_) => Ok(()),
        }
    }

    /// Stores `value` under meta `key` (a staged import's marker).
    pub(super) fn put_meta_bytes(&self, key: &str, value: &[u8]) -> TxResult<()> {
        match &self.e {
            TxEngine::Sled(e) => e.put_meta(key, value),
            TxEngine::Postgres(e) => e.put_meta(key, value),
        }
    }

    /// Up to `limit` staged rows of import `id` after key `after`, locked (PostgreSQL's staged
    /// imports; the embedded engine reads its `staged` tree outside transactions).
    pub(super) fn staged_rows(
        &self,
        id: u64,
        after: &str,
        limit: usize,
    ) -> TxResult<Vec<(String, String)>> {
        match &self.e {
            TxEngine::Sled(_) => Ok(Vec::new()),
            TxEngine::Postgres(e) => e.staged_rows(id, after, limit),
        }
    }

    /// Deletes staged rows `keys` of import `id` (PostgreSQL's staged imports).
    pub(super) fn remove_staged_rows(&self, id: u64, keys: &[&str]) -> TxResult<()> {
        match &self.e {
            TxEngine::Sled(_) => Ok(()),
            TxEngine::Postgres(e) => e.remove_staged_rows(id, keys),
        }
    }

    /// Removes a staged row (applied by the embedded engine's customer import).
    pub(super) fn remove_staged(&self, key: &[u8]) -> TxResult<()> {
        match &self.e {
            TxEngine::Sled(e) => {
                e.tree(T::Staged).remove(key)?;
                Ok(())
            }
            TxEngine::Postgres(_) => Ok(()),
        }
    }

    /// The token's seed, opened for one check; zeroed when dropped.
    pub fn secret(&self, token: &Token) -> TxResult<Zeroizing<Vec<u8>>> {
        open_secret(self.sealer, token)
    }

    pub fn customer(&self, contract_id: &str) -> TxResult<Option<Customer>> {
        on_tx!(self, e => e.customer(contract_id))
    }

    pub fn put_customer(&self, c: &Customer) -> TxResult<()> {
        on_tx!(self, e => e.put_customer(c))
    }

    pub fn token(&self, serial: &str) -> TxResult<Option<Token>> {
        on_tx!(self, e => e.token(serial))
    }

    pub fn business(&self, contract_id: &str) -> TxResult<Option<Business>> {
        on_tx!(self, e => e.business(contract_id))
    }

    pub fn put_business(&self, b: &Business) -> TxResult<()> {
        on_tx!(self, e => e.put_business(b))
    }

    /// `contract_id`'s お客様カード digits, opened for one check; zeroed when dropped.
    pub fn card_digits(&self, contract_id: &str) -> TxResult<Option<Zeroizing<Vec<u8>>>> {
        match on_tx!(self, e => e.card(contract_id))? {
            None => Ok(None),
            Some(card) => Ok(Some(open_card(self.sealer, &card)?)),
        }
    }

    /// Stores a card made by [`super::Store::seal_card`].
    pub fn put_card(&self, c: &Card) -> TxResult<()> {
        on_tx!(self, e => e.put_card(c))
    }

    pub fn put_token(&self, t: &Token) -> TxResult<()> {
        on_tx!(self, e => e.put_token(t))
    }

    /// Issues the next 受付番号 and stores the receipt with it.
    pub fn receipt(
        &mut self,
        kind: ReceiptKind,
        contract_id: &str,
        serial: &str,
        old_serial: Option<&str>,
        at: u64,
    ) -> TxResult<Receipt> {
        on_tx!(mut self, e => e.receipt(kind, contract_id, serial, old_serial, at))
    }

    /// Records a feature-phone 利用中止 attempt.
    pub fn add_attempt(&mut self, a: &Attempt) -> TxResult<()> {
        on_tx!(mut self, e => e.add_attempt(a))
    }

    pub fn staff(&self, staff_id: &str) -> TxResult<Option<Staff>> {
        on_tx!(self, e => e.staff(staff_id))
    }

    pub fn put_staff(&self, s: &Staff) -> TxResult<()> {
        on_tx!(self, e => e.put_staff(s))
    }

    /// The signed-in staff session stored under `key` ([`StaffSessionRecord::key`]).
    pub fn staff_session(&self, key: &str) -> TxResult<Option<StaffSessionRecord>> {
        on_tx!(self, e => e.staff_session(key))
    }

    pub fn put_staff_session(&self, s: &StaffSessionRecord) -> TxResult<()> {
        on_tx!(self, e => e.put_staff_session(s))
    }

    pub fn remove_staff_session(&self, key: &str) -> TxResult<()> {
        on_tx!(self, e => e.remove_staff_session(key))
    }

    pub fn form(&self, form_no: &str) -> TxResult<Option<CancelForm>> {
        on_tx!(self, e => e.form(form_no))
    }

    pub fn put_form(&self, f: &CancelForm) -> TxResult<()> {
        on_tx!(self, e => e.put_form(f))
    }

    pub fn application(&self, application_no: &str) -> TxResult<Option<Application>> {
        on_tx!(self, e => e.application(application_no))
    }

    pub fn put_application(&self, a: &Application) -> TxResult<()> {
        on_tx!(self, e => e.put_application(a))
    }

    pub fn release(&self, id: u64) -> TxResult<Option<Release>> {
        on_tx!(self, e => e.release(id))
    }

    pub fn put_release(&self, r: &Release) -> TxResult<()> {
        on_tx!(self, e => e.put_release(r))
    }

    /// The API caller whose key hashes to `hash`.
    pub fn api_key(&self, hash: &[u8; 32]) -> TxResult<Option<ApiKey>> {
        on_tx!(self, e => e.api_key(hash))
    }

    /// Stores an API caller under its key hash ([`ApiKey::hash_hex`]).
    pub fn put_api_key(&self, k: &ApiKey) -> TxResult<()> {
        on_tx!(self, e => e.put_api_key(k))
    }

    /// The sequence number the next audit record of this transaction gets: unique, so it can
    /// number records made in the same write.
    pub fn next_audit_seq(&self) -> TxResult<u64> {
        match &self.e {
            TxEngine::Sled(e) => Ok(e.next_audit_seq()),
            TxEngine::Postgres(e) => e.next_audit_seq(),
        }
    }
}

impl<'a> SledTx<'a> {
    fn tree(&self, t: T) -> &TransactionalTree {
        &self.trees[t.i()]
    }

    fn get<R: DeserializeOwned>(&self, t: T, key: &[u8]) -> TxResult<Option<R>> {
        match self.tree(t).get(key)? {
            None => Ok(None),
            Some(v) => Ok(Some(decode(t.name(), &v)?)),
        }
    }

    pub(super) fn put<R: Serialize>(&self, t: T, key: &[u8], value: &R) -> TxResult<()> {
        self.tree(t).insert(key, encode(value))?;
        Ok(())
    }

    pub(super) fn put_meta(&self, key: &str, value: &[u8]) -> TxResult<()> {
        self.tree(T::Meta).insert(key.as_bytes(), value)?;
        Ok(())
    }

    /// Replaces a record's index entries `old` by `new`.
    pub(super) fn reindex(&self, old: Vec<Entry>, new: Vec<Entry>) -> TxResult<()> {
        for e in old.iter().filter(|e| !new.contains(e)) {
            self.tree(e.0).remove(e.1.as_slice())?;
        }
        for e in new.iter().filter(|e| !old.contains(e)) {
            self.tree(e.0).insert(e.1.as_slice(), &[][..])?;
        }
        Ok(())
    }

    /// Stores `value` under `key` of `t`, moving its index entries from the stored record's.
    fn put_indexed<R: Serialize + DeserializeOwned>(
        &self,
        t: T,
        key: &[u8],
        value: &R,
        entries: impl Fn(&R) -> Vec<Entry>,
    ) -> TxResult<()> {
        let old = self
            .get::<R>(t, key)?
            .map(|r| entries(&r))
            .unwrap_or_default();
        self.reindex(old, entries(value))?;
        self.put(t, key, value)
    }

    pub fn customer(&self, contract_id: &str) -> TxResult<Option<Customer>> {
        self.get(T::Customers, contract_id.as_bytes())
    }

    pub fn put_customer(&self, c: &Customer) -> TxResult<()> {
        self.put(T::Customers, c.contract_id.as_bytes(), c)
    }

    pub fn business(&self, contract_id: &str) -> TxResult<Option<Business>> {
        self.get(T::Businesses, contract_id.as_bytes())
    }

    pub fn put_business(&self, b: &Business) -> TxResult<()> {
        self.put(T::Businesses, b.contract_id.as_bytes(), b)
    }

    pub fn card(&self, contract_id: &str) -> TxResult<Option<Card>> {
        self.get(T::Cards, contract_id.as_bytes())
    }

    /// Stores a card made by [`super::Store::seal_card`].
    pub fn put_card(&self, c: &Card) -> TxResult<()> {
        self.put(T::Cards, c.contract_id.as_bytes(), c)
    }

    pub fn token(&self, serial: &str) -> TxResult<Option<Token>> {
        if self.folding != 0 {
            if let Some(t) = self.get(T::Staged, &super::staging::key(self.folding, serial))? {
                return Ok(Some(t));
            }
        }
        self.get(T::Tokens, serial.as_bytes())
    }

    pub fn put_token(&self, t: &Token) -> TxResult<()> {
        if self.folding != 0 {
            // A write supersedes the staged row, which the fold then no longer moves.
            let staged = super::staging::key(self.folding, &t.serial);
            self.tree(T::Staged).remove(staged)?;
        }
        self.put_indexed(T::Tokens, t.serial.as_bytes(), t, index::of_token)
    }

    /// Issues the next 受付番号 and stores the receipt with it.
    pub fn receipt(
        &mut self,
        kind: ReceiptKind,
        contract_id: &str,
        serial: &str,
        old_serial: Option<&str>,
        at: u64,
    ) -> TxResult<Receipt> {
        let number = self.counters.next_receipt;
        if number > LAST_RECEIPT {
            return Err(Abort(super::error::Stop::ReceiptsExhausted));
        }
        self.counters.next_receipt += 1;
        let r = Receipt {
            number,
            kind,
            contract_id: contract_id.to_owned(),
            serial: serial.to_owned(),
            old_serial: old_serial.map(str::to_owned),
            at,
        };
        self.put(T::Receipts, &number.to_be_bytes(), &r)?;
        self.reindex(Vec::new(), index::of_receipt(&r))?;
        // The counter is stored in the same transaction, so a number is never issued twice.
        self.put_meta("next_receipt", &self.counters.next_receipt.to_be_bytes())?;
        Ok(r)
    }

    /// Records a feature-phone 利用中止 attempt.
    pub fn add_attempt(&mut self, a: &Attempt) -> TxResult<()> {
        let key = self.counters.next_attempt;
        self.counters.next_attempt += 1;
        self.put(T::Attempts, &key.to_be_bytes(), a)?;
        self.reindex(Vec::new(), index::of_attempt(key, a))
    }

    pub fn staff(&self, staff_id: &str) -> TxResult<Option<Staff>> {
        self.get(T::Staff, staff_id.as_bytes())
    }

    pub fn put_staff(&self, s: &Staff) -> TxResult<()> {
        self.put(T::Staff, s.staff_id.as_bytes(), s)
    }

    pub fn staff_session(&self, key: &str) -> TxResult<Option<StaffSessionRecord>> {
        self.get(T::StaffSessions, key.as_bytes())
    }

    pub fn put_staff_session(&self, s: &StaffSessionRecord) -> TxResult<()> {
        self.put(T::StaffSessions, s.key.as_bytes(), s)
    }

    pub fn remove_staff_session(&self, key: &str) -> TxResult<()> {
        self.tree(T::StaffSessions).remove(key.as_bytes())?;
        Ok(())
    }

    pub fn form(&self, form_no: &str) -> TxResult<Option<CancelForm>> {
        self.get(T::Forms, form_no.as_bytes())
    }

    pub fn put_form(&self, f: &CancelForm) -> TxResult<()> {
        self.put_indexed(T::Forms, f.form_no.as_bytes(), f, index::of_form)
    }

    pub fn application(&self, application_no: &str) -> TxResult<Option<Application>> {
        self.get(T::Applications, application_no.as_bytes())
    }

    pub fn put_application(&self, a: &Application) -> TxResult<()> {
        let key = a.application_no.as_bytes();
        self.put_indexed(T::Applications, key, a, index::of_application)
    }

    pub fn release(&self, id: u64) -> TxResult<Option<Release>> {
        self.get(T::Releases, &id.to_be_bytes())
    }

    pub fn put_release(&self, r: &Release) -> TxResult<()> {
        self.put_indexed(T::Releases, &r.id.to_be_bytes(), r, index::of_release)
    }

    /// The API caller whose key hashes to `hash`.
    pub fn api_key(&self, hash: &[u8; 32]) -> TxResult<Option<ApiKey>> {
        self.get(T::ApiKeys, hash)
    }

    /// Stores an API caller under its key hash ([`ApiKey::hash_hex`]).
    pub fn put_api_key(&self, k: &ApiKey) -> TxResult<()> {
        let mut hash = [0u8; 32];
        hex::decode_to_slice(&k.hash_hex, &mut hash)
            .map_err(|_| Abort::corrupt("api_keys", "hash"))?;
        self.put_indexed(T::ApiKeys, &hash, k, |k| index::of_api_key(&hash, k))
    }

    /// The sequence number the next audit record of this transaction gets: unique, so it can
    /// number records made in the same write.
    pub fn next_audit_seq(&self) -> u64 {
        self.counters.next_audit
    }
}
