//! Loading 法人 contracts with plain secrets: from two CSV files (the demo bank's) or from
//! records a caller has parsed itself. The operator's import of a bank's files, with hashes
//! and as a delta, is `customers import --business` ([`crate::operate::businesses`]). Secrets arrive plain
//! and are stored as argon2 hashes; the お客様カード digits are sealed like token seeds.
//!
//! Files (UTF-8, header line):
//! - contracts: `contract_id,name,admin_password,confirm_pin,card,usage`
//!   (`usage` = `per_user` | `shared`, `card` = the eight digits under ア..ク);
//! - users: `contract_id,user_id,name`.

use crate::password;
use crate::store::{AuditEvent, BizUser, Business, Card, Event, Store, StoreError, Usage};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{file}: {message}")]
    Data { file: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One contract as a file or an importer gives it (secrets plain; never logged).
#[derive(Clone, serde::Deserialize)]
pub struct NewBusiness {
    pub contract_id: String,
    pub name: String,
    pub admin_password: String,
    pub confirm_pin: String,
    pub card: String,
    pub usage: String,
    #[serde(skip)]
    pub users: Vec<NewUser>,
}

/// One user of a contract.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct NewUser {
    pub contract_id: String,
    pub user_id: String,
    pub name: String,
}

fn data(file: &Path, message: String) -> LoadError {
    LoadError::Data {
        file: file.display().to_string(),
        message,
    }
}

fn read<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, LoadError> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| data(path, e.to_string()))?;
    reader
        .deserialize()
        .collect::<Result<Vec<T>, _>>()
        .map_err(|e| data(path, e.to_string()))
}

/// Reads the two files into contracts with their users.
pub fn read_files(contracts: &Path, users: &Path) -> Result<Vec<NewBusiness>, LoadError> {
    let mut list: Vec<NewBusiness> = read(contracts)?;
    for u in read::<NewUser>(users)? {
        let Some(b) = list.iter_mut().find(|b| b.contract_id == u.contract_id) else {
            return Err(data(
                users,
                format!("user {} of unknown contract {}", u.user_id, u.contract_id),
            ));
        };
        b.users.push(u);
    }
    Ok(list)
}

/// A 契約先ID or 利用者ID: 1 to 16 ASCII letters or digits.
pub fn valid_id(s: &str) -> bool {
    // A 利用者ID follows the rule of a 契約先ID.
    crate::ids::ContractId::parse(s).is_ok()
}

/// The records for one contract: checked, secrets hashed, card sealed.
pub fn prepare(store: &Store, n: &NewBusiness) -> Result<(Business, Card), String> {
    let id = &n.contract_id;
    if !valid_id(id) {
        return Err(format!("契約先ID {id:?}: 1 to 16 ASCII letters or digits"));
    }
    let usage = Usage::parse(&n.usage)
        .ok_or_else(|| format!("{id}: usage {:?} is not per_user or shared", n.usage))?;
    if !crate::card::valid(&n.card) {
        return Err(format!("{id}: the お客様カード must be eight digits"));
    }
    if n.admin_password.is_empty() || n.confirm_pin.is_empty() {
        return Err(format!("{id}: empty ご契約先暗証番号 or 確認暗証番号"));
    }
    let mut users: Vec<BizUser> = Vec::new();
    for u in &n.users {
        if !valid_id(&u.user_id) || users.iter().any(|x| x.user_id == u.user_id) {
            return Err(format!("{id}: 利用者ID {:?} invalid or twice", u.user_id));
        }
        users.push(BizUser {
            user_id: u.user_id.clone(),
            name: u.name.clone(),
            serial: None,
            blocked: false,
        });
    }
    let hash = |p: &str| password::hash(p).map_err(|e| e.to_string());
    let b = Business {
        contract_id: id.clone(),
        name: n.name.clone(),
        admin_hash: hash(&n.admin_password)?,
        confirm_hash: hash(&n.confirm_pin)?,
        usage,
        users,
        shared_serial: None,
        admin_fails: 0,
        closed: false,
        from_host: None,
    };
    Ok((b, store.seal_card(id, &n.card)))
}

/// Stores `contracts` in one durable write with one audit record: all or none. A 契約先ID
/// already held by a personal customer or another contract is refused.
pub fn load(store: &Store, contracts: &[NewBusiness], now: u64) -> Result<usize, LoadError> {
    let mut records = Vec::new();
    for n in contracts {
        let r = prepare(store, n).map_err(|m| LoadError::Data {
            file: "contracts".into(),
            message: m,
        })?;
        if store.customer(&n.contract_id)?.is_some() || store.business(&n.contract_id)?.is_some() {
            return Err(LoadError::Data {
                file: "contracts".into(),
                message: format!("契約先ID {} is taken", n.contract_id),
            });
        }
        records.push(r);
    }
    store_all(store, &records, now)?;
    Ok(records.len())
}

/// Stores prepared records (an importer that hashed and sealed them itself, see
/// [`prepare`]) in one durable write with one audit record.
pub fn store_all(store: &Store, records: &[(Business, Card)], now: u64) -> Result<(), StoreError> {
    store.commit_now(|tx| {
        for (b, card) in records {
            tx.put_business(b)?;
            tx.put_card(card)?;
        }
        tx.audit(
            now,
            Event {
                detail: format!("{} business contracts", records.len()),
                ..Event::new(AuditEvent::BizLoad)
            },
        )
    })?;
    Ok(())
}

/// Stores お客様カード for personal customers (`contract_id`, eight digits): all or none.
pub fn load_cards(store: &Store, cards: &[(String, String)], now: u64) -> Result<(), LoadError> {
    let mut records = Vec::new();
    for (id, digits) in cards {
        if !crate::card::valid(digits) {
            return Err(LoadError::Data {
                file: "cards".into(),
                message: format!("{id}: the お客様カード must be eight digits"),
            });
        }
        records.push(store.seal_card(id, digits));
    }
    store.commit_now(|tx| {
        for c in &records {
            tx.put_card(c)?;
        }
        tx.audit(
            now,
            Event {
                detail: format!("{} お客様カード", records.len()),
                ..Event::new(AuditEvent::CardLoad)
            },
        )
    })?;
    Ok(())
}
