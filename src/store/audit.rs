//! The audit trail: records appended inside transactions, each hash-chained to the one
//! before it, and the check that the chain is whole.

use super::index;
use super::records::{AuditRecord, Event};
use super::tx::{SledTx, TxEngine};
use super::{StoreError, Tx, TxResult, T};
use sha2::{Digest, Sha256};

pub(super) const ZERO_HASH: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// SHA-256 over `prev` and the record's other fields.
pub(super) fn digest(r: &AuditRecord) -> String {
    let mut h = Sha256::new();
    for part in [
        r.prev.as_str(),
        &r.seq.to_string(),
        &r.at.to_string(),
        &r.event,
        r.contract_id.as_deref().unwrap_or(""),
        r.serial.as_deref().unwrap_or(""),
        &r.detail,
    ] {
        // Length-prefixed so no two field splits hash alike.
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    // Staff, branch and bank are hashed only when present, so records without them keep the
    // digests they had before these fields existed.
    for part in [&r.staff, &r.branch, &r.bank].into_iter().flatten() {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

impl Tx<'_> {
    /// Appends an audit record, chained to the previous one. Returns its sequence number,
    /// except in a body of [`super::Store::commit_receipted`] on PostgreSQL, where the number
    /// is known only after COMMIT: such a body reads the receipt that call returns instead.
    pub fn audit(&mut self, at: u64, e: Event) -> TxResult<u64> {
        self.append_audit(at, e, None, None)
    }

    /// Appends an audit record for an action taken at a branch: `staff` names the staff IDs
    /// (maker, then checker), `branch` the acting staff member's branch code.
    pub fn audit_by(&mut self, at: u64, e: Event, staff: &str, branch: &str) -> TxResult<u64> {
        self.append_audit(at, e, Some(staff.to_owned()), Some(branch.to_owned()))
    }

    fn append_audit(
        &mut self,
        at: u64,
        e: Event,
        staff: Option<String>,
        branch: Option<String>,
    ) -> TxResult<u64> {
        self.events.push(e.event);
        let who = Who {
            staff,
            branch,
            bank: self.bank.map(|b| b.as_str().to_owned()),
        };
        match &mut self.e {
            TxEngine::Sled(tx) => {
                let seq = tx.append_audit(at, e, who)?;
                self.receipt = Some(seq);
                Ok(seq)
            }
            TxEngine::Postgres(tx) => {
                // Its place in the batch: the number once the batch has taken the head.
                self.receipt = Some(tx.audit_place());
                tx.append_audit(at, e, who)
            }
        }
    }
}

/// Who an audit record names besides the event: the staff member and branch that acted, and
/// the bank whose trail it is.
pub(super) struct Who {
    pub staff: Option<String>,
    pub branch: Option<String>,
    pub bank: Option<String>,
}

/// The record `e` becomes as number `seq` of the chain, after the record hashed `prev`.
pub(super) fn chained(seq: u64, prev: String, at: u64, e: Event, who: Who) -> AuditRecord {
    let mut rec = AuditRecord {
        seq,
        at,
        event: e.event.name().to_owned(),
        contract_id: e.contract_id.map(str::to_owned),
        serial: e.serial.map(str::to_owned),
        detail: e.detail,
        staff: who.staff,
        branch: who.branch,
        bank: who.bank,
        prev,
        hash: String::new(),
    };
    rec.hash = digest(&rec);
    rec
}

impl SledTx<'_> {
    pub(super) fn append_audit(&mut self, at: u64, e: Event, who: Who) -> TxResult<u64> {
        let prev = self.counters.audit_head.clone();
        let rec = chained(self.counters.next_audit, prev, at, e, who);
        self.put(T::Audit, &rec.seq.to_be_bytes(), &rec)?;
        self.reindex(Vec::new(), index::of_audit(&rec))?;
        self.counters.next_audit += 1;
        self.counters.audit_head = rec.hash;
        Ok(rec.seq)
    }
}

impl super::Store {
    /// Checks the audit chain: `Ok(count)`, or `Err(n)` where record `n` is the first that is
    /// missing, altered, or not linked to the one before it.
    pub fn verify_audit(&self) -> Result<Result<u64, u64>, StoreError> {
        let mut prev = ZERO_HASH.to_owned();
        let mut count = 0;
        for (i, rec) in self.audit().enumerate() {
            let rec = rec?;
            if rec.seq != i as u64 || rec.prev != prev || digest(&rec) != rec.hash {
                return Ok(Err(i as u64));
            }
            prev = rec.hash;
            count += 1;
        }
        Ok(Ok(count))
    }

    /// The newest `limit` audit records (newest first), of one contract ID or of all, from
    /// `since` on.
    pub fn audit_recent(
        &self,
        contract_id: Option<&str>,
        since: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        self.audit_page(contract_id, since, None, limit)
    }

    /// [`Store::audit_recent`] older than record number `before`: one page of the trail,
    /// read from where the page starts, never the whole trail.
    pub fn audit_page(
        &self,
        contract_id: Option<&str>,
        since: Option<u64>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        match &self.engine {
            super::Engine::Sled(e) => e.audit_recent(contract_id, since, before, limit),
            super::Engine::Postgres(e) => e.audit_recent(contract_id, since, before, limit),
        }
    }
}

impl super::Sled {
    /// Reads backwards from the newest and stops once records are well before `since` (an
    /// hour's slack for records written out of clock order).
    pub(super) fn audit_recent(
        &self,
        contract_id: Option<&str>,
        since: Option<u64>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        const SLACK: u64 = 3600;
        let mut out = Vec::new();
        let mut take = |rec: AuditRecord| -> bool {
            if since.is_some_and(|t| rec.at.saturating_add(SLACK) < t) {
                return false;
            }
            if since.is_none_or(|t| rec.at >= t) {
                out.push(rec);
            }
            out.len() < limit
        };
        match contract_id {
            Some(c) => {
                let prefix = index::prefix(c);
                // Keys are the prefix and the record number: up to `before`'s key, or past
                // every key of the prefix (whose last byte, the separator, is 0).
                let end = match before {
                    Some(b) => [prefix.as_slice(), &b.to_be_bytes()].concat(),
                    None => [&prefix[..prefix.len() - 1], &[1u8][..]].concat(),
                };
                let range = self.tree(T::IxAuditContract).range(prefix.clone()..end);
                for kv in range.rev() {
                    let (k, _) = kv?;
                    let Some(rec) = self.read::<AuditRecord>(T::Audit, &k[prefix.len()..])? else {
                        continue;
                    };
                    if rec.contract_id.as_deref() == Some(c) && !take(rec) {
                        break;
                    }
                }
            }
            None => {
                let end = before.unwrap_or(u64::MAX).to_be_bytes();
                for kv in self.tree(T::Audit).range(..end).rev() {
                    let (_, v) = kv?;
                    if !take(super::decode("audit", &v)?) {
                        break;
                    }
                }
            }
        }
        Ok(out)
    }
}
