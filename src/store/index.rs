//! Secondary indexes: which index entries each record has, and rebuilding them all from the
//! records. An entry is a key alone (`owner \0 record key`, or a fixed-width prefix), so a
//! lookup is one prefix scan of its index and one read per record found.
//!
//! Transactions keep a record and its entries together (see [`super::Tx`]); bulk loads mark
//! the indexes stale first and current again when done, so an interrupted load is rebuilt at
//! the next open. Readers still check each record they reach through an index.

use super::records::{ApiKey, Application, Attempt, AuditRecord, CancelForm, Receipt, Release};
use super::records::{Decision, Token};
use super::{decode, StoreError, T};

/// One index entry: the index and the entry's key.
pub(super) type Entry = (T, Vec<u8>);

/// The indexes, rebuilt from the records when the stored format is older than [`FORMAT`].
pub(super) const INDEXES: [T; 11] = [
    T::History,
    T::IxAssigned,
    T::IxFreeHardware,
    T::IxAttempts,
    T::IxForms,
    T::IxApplications,
    T::IxReleases,
    T::IxPending,
    T::IxProcessed,
    T::IxApiNames,
    T::IxAuditContract,
];

/// The index layout this code keeps (stored in `meta` as `format`); 0 means "being loaded in
/// bulk, rebuild at open".
pub(super) const FORMAT: u32 = 2;

/// `owner \0 key`: every entry of one owner (a contract ID, a caller name) shares a prefix.
pub(super) fn pair(owner: &str, key: &[u8]) -> Vec<u8> {
    let mut k = prefix(owner);
    k.extend_from_slice(key);
    k
}

pub(super) fn prefix(owner: &str) -> Vec<u8> {
    let mut k = owner.as_bytes().to_vec();
    k.push(0);
    k
}

/// Kinds of a processed-at entry.
pub(super) const FORM: u8 = b'f';
pub(super) const RELEASE: u8 = b'r';
pub(super) const APPLICATION: u8 = b'a';

fn tagged(tag: u8, key: &[u8]) -> Vec<u8> {
    let mut k = vec![tag];
    k.extend_from_slice(key);
    k
}

fn at_tagged(at: u64, tag: u8, key: &[u8]) -> Vec<u8> {
    let mut k = at.to_be_bytes().to_vec();
    k.extend(tagged(tag, key));
    k
}

pub(super) fn of_token(t: &Token) -> Vec<Entry> {
    let mut out = Vec::new();
    if let Some(owner) = &t.assigned_to {
        out.push((T::IxAssigned, pair(owner, t.serial.as_bytes())));
    }
    if t.free_hardware() {
        out.push((T::IxFreeHardware, t.serial.as_bytes().to_vec()));
    }
    out
}

pub(super) fn of_attempt(key: u64, a: &Attempt) -> Vec<Entry> {
    a.contract_id
        .iter()
        .map(|c| (T::IxAttempts, pair(c, &key.to_be_bytes())))
        .collect()
}

fn of_decision(d: &Decision, tag: u8, key: &[u8]) -> Option<Entry> {
    match d.decided_at() {
        None => Some((T::IxPending, tagged(tag, key))),
        Some(at) => Some((T::IxProcessed, at_tagged(at, tag, key))),
    }
}

pub(super) fn of_form(f: &CancelForm) -> Vec<Entry> {
    let key = f.form_no.as_bytes();
    let mut out = vec![(T::IxForms, pair(&f.contract_id, key))];
    out.extend(of_decision(&f.decision, FORM, key));
    out
}

pub(super) fn of_release(r: &Release) -> Vec<Entry> {
    let key = r.id.to_be_bytes();
    let mut out = vec![(T::IxReleases, pair(&r.contract_id, &key))];
    out.extend(of_decision(&r.decision, RELEASE, &key));
    out
}

pub(super) fn of_application(a: &Application) -> Vec<Entry> {
    let key = a.application_no.as_bytes();
    vec![
        (T::IxApplications, pair(&a.contract_id, key)),
        (T::IxProcessed, at_tagged(a.at, APPLICATION, key)),
    ]
}

pub(super) fn of_api_key(hash: &[u8], k: &ApiKey) -> Vec<Entry> {
    vec![(T::IxApiNames, pair(&k.name, hash))]
}

pub(super) fn of_receipt(r: &Receipt) -> Vec<Entry> {
    vec![(T::History, pair(&r.contract_id, &r.number.to_be_bytes()))]
}

pub(super) fn of_audit(r: &AuditRecord) -> Vec<Entry> {
    r.contract_id
        .iter()
        .map(|c| (T::IxAuditContract, pair(c, &r.seq.to_be_bytes())))
        .collect()
}

/// The index entries of the record stored under `key` in `tree` (none for trees without
/// indexes).
pub(super) fn of_stored(tree: T, key: &[u8], value: &[u8]) -> Result<Vec<Entry>, StoreError> {
    let name = tree.name();
    Ok(match tree {
        T::Tokens => of_token(&decode(name, value)?),
        T::Attempts => {
            let k: [u8; 8] = key
                .try_into()
                .map_err(|_| super::Abort::corrupt(name, "key"))?;
            of_attempt(u64::from_be_bytes(k), &decode(name, value)?)
        }
        T::Forms => of_form(&decode(name, value)?),
        T::Releases => of_release(&decode(name, value)?),
        T::Applications => of_application(&decode(name, value)?),
        T::ApiKeys => of_api_key(key, &decode(name, value)?),
        T::Receipts => of_receipt(&decode(name, value)?),
        T::Audit => of_audit(&decode(name, value)?),
        _ => Vec::new(),
    })
}

/// The record trees that have index entries.
pub(super) const INDEXED: [T; 8] = [
    T::Tokens,
    T::Attempts,
    T::Forms,
    T::Releases,
    T::Applications,
    T::ApiKeys,
    T::Receipts,
    T::Audit,
];
