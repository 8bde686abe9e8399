//! The audit trail: records appended inside transactions, each hash-chained to the one
//! before it, and the check that the chain is whole.

use super::index;
use super::records::{AuditRecord, Event};
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
    // Staff and branch are hashed only when present, so records without them keep the
    // digests they had before these fields existed.
    for part in [&r.staff, &r.branch].into_iter().flatten() {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

impl Tx<'_> {
    /// Appends an audit record, chained to the previous one. Returns its sequence number (the
    /// receipt the OTP API hands out).
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
        let mut rec = AuditRecord {
            seq: self.counters.next_audit,
            at,
            event: e.event.name().to_owned(),
            contract_id: e.contract_id.map(str::to_owned),
            serial: e.serial.map(str::to_owned),
            detail: e.detail,
            staff,
            branch,
            prev: self.counters.audit_head.clone(),
            hash: String::new(),
        };
        rec.hash = digest(&rec);
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
    /// `since` on. Reads backwards from the newest and stops once records are well before
    /// `since` (an hour's slack for records written out of clock order).
    pub fn audit_recent(
        &self,
        contract_id: Option<&str>,
        since: Option<u64>,
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
                for kv in self.tree(T::IxAuditContract).scan_prefix(&prefix).rev() {
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
                for kv in self.tree(T::Audit).iter().rev() {
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
