//! A demo bank: customers, token inventory, existing registrations, the branch staff, the
//! 法人 contracts and the お客様カード from the bank's `demo/` folder (`data/banks/CODE/demo/`
//! of the three-bank demo, `data/one-bank/demo/` of the one-bank one), loaded into an empty
//! database by `serve --demo`.

use crate::branch::procedures::{staff as ops, Role, Staff};
use crate::business;
use crate::inventory;
use crate::password;
use crate::store::{AuditEvent, Binding, Customer, Event, Store, StoreError, TokenState};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("demo data {file}: {message}")]
    Data { file: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One demo customer as the CSV gives it (the passwords are public demo values).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct DemoCustomer {
    pub contract_id: String,
    pub login_password: String,
    pub transfer_password: String,
    pub name: String,
}

#[derive(Debug, Clone, serde::Deserialize)]
struct DemoRegistration {
    contract_id: String,
    serial: String,
    login_otp: u8,
}

fn read_csv<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, DemoError> {
    let err = |message: String| DemoError::Data {
        file: path.display().to_string(),
        message,
    };
    let mut reader = csv::Reader::from_path(path).map_err(|e| err(e.to_string()))?;
    reader
        .deserialize()
        .collect::<Result<Vec<T>, _>>()
        .map_err(|e| err(e.to_string()))
}

pub fn customers(dir: &Path) -> Result<Vec<DemoCustomer>, DemoError> {
    read_csv(&dir.join("demo/customers.csv"))
}

/// One demo staff member as `staff.csv` gives it (the passwords are public demo values).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct DemoStaff {
    pub staff_id: String,
    pub password: String,
    pub name: String,
    pub branch_code: String,
    pub role: Role,
}

/// The demo staff; a bank directory without `demo/staff.csv` simply has none.
pub fn staff(dir: &Path) -> Result<Vec<DemoStaff>, DemoError> {
    let path = dir.join("demo/staff.csv");
    if !path.exists() {
        return Ok(Vec::new());
    }
    read_csv(&path)
}

/// Loads the demo staff, their passwords hashed.
fn load_staff(store: &Store, dir: &Path, now: u64) -> Result<(), DemoError> {
    let mut records = Vec::new();
    for s in staff(dir)? {
        let password_hash = password::hash(&s.password).map_err(|e| DemoError::Data {
            file: "staff.csv".into(),
            message: e.to_string(),
        })?;
        records.push(Staff {
            staff_id: s.staff_id,
            name: s.name,
            branch_code: s.branch_code,
            role: s.role,
            password_hash,
            disabled: false,
            must_change: false,
            sign_in_fails: 0,
            last_attempt: 0,
        });
    }
    ops::put_staff(store, &records, now)?;
    Ok(())
}

/// Loads the demo bank whose `demo/` folder is in `dir` ([`crate::banks::Profile::dir`]) into
/// an empty store.
pub fn load(store: &Store, dir: &Path, now: u64) -> Result<(), DemoError> {
    let tokens_path = dir.join("demo/tokens.csv");
    let seeds = inventory::read(&tokens_path).map_err(|e| DemoError::Data {
        file: tokens_path.display().to_string(),
        message: e.to_string(),
    })?;
    let mut tokens = inventory::seal(store, &seeds, |_| {});
    // 法人: hardware tokens already issued to a business at a branch (発行申込書, seed 000).
    for issued in business_tokens(dir)? {
        let t = tokens
            .iter_mut()
            .find(|t| t.serial == issued.serial)
            .ok_or_else(|| DemoError::Data {
                file: "business_tokens.csv".into(),
                message: format!("{} not in the demo inventory", issued.serial),
            })?;
        t.assigned_to = Some(issued.contract_id);
    }
    let regs: Vec<DemoRegistration> = read_csv(&dir.join("demo/registrations.csv"))?;
    let mut records = Vec::new();
    for c in customers(dir)? {
        let hash = |p: &str| {
            password::hash(p).map_err(|e| DemoError::Data {
                file: "customers.csv".into(),
                message: e.to_string(),
            })
        };
        records.push(Customer {
            contract_id: c.contract_id.clone(),
            name: c.name.clone(),
            login_hash: hash(&c.login_password)?,
            transfer_hash: hash(&c.transfer_password)?,
            login_fails: 0,
            claim_fails: 0,
            login_temp_locks: 0,
            login_locked_until: 0,
            transfer_lock: Default::default(),
            token: None,
            transfers_blocked: false,
            closed: false,
            from_host: None,
        });
    }
    for r in &regs {
        let missing = |what: &str| DemoError::Data {
            file: "registrations.csv".into(),
            message: format!(
                "{what} of {} / {} not in the demo data",
                r.contract_id, r.serial
            ),
        };
        let c = records
            .iter_mut()
            .find(|c| c.contract_id == r.contract_id)
            .ok_or_else(|| missing("customer"))?;
        let t = tokens
            .iter_mut()
            .find(|t| t.serial == r.serial)
            .ok_or_else(|| missing("token"))?;
        t.state = TokenState::Active {
            contract_id: c.contract_id.clone(),
            since: now,
        };
        c.token = Some(Binding {
            serial: r.serial.clone(),
            since: now,
            login_otp: r.login_otp == 1,
            subscriber_id: None,
        });
    }
    inventory::import(store, &tokens, false, now, |_| {})?;
    store.commit_now(|tx| {
        for c in &records {
            tx.put_customer(c)?;
        }
        tx.audit(
            now,
            Event {
                detail: format!("{} customers", records.len()),
                ..Event::new(AuditEvent::DemoLoad)
            },
        )
    })?;
    load_staff(store, dir, now)?;
    load_business(store, dir, now)
}

#[derive(Debug, Clone, serde::Deserialize)]
struct IssuedToken {
    contract_id: String,
    serial: String,
}

fn business_tokens(dir: &Path) -> Result<Vec<IssuedToken>, DemoError> {
    let path = dir.join("demo/business_tokens.csv");
    if !path.exists() {
        return Ok(Vec::new());
    }
    read_csv(&path)
}

/// The demo's 法人 contracts with their users (`demo/businesses.csv`, `demo/business_users.csv`)
/// and the personal customers' お客様カード (`demo/cards.csv`); a bank directory without them
/// has none.
pub fn businesses(dir: &Path) -> Result<Vec<business::load::NewBusiness>, DemoError> {
    let contracts = dir.join("demo/businesses.csv");
    if !contracts.exists() {
        return Ok(Vec::new());
    }
    business::load::read_files(&contracts, &dir.join("demo/business_users.csv")).map_err(biz_error)
}

/// The personal customers' demo お客様カード: contract ID and the eight digits.
pub fn cards(dir: &Path) -> Result<Vec<(String, String)>, DemoError> {
    #[derive(serde::Deserialize)]
    struct Row {
        contract_id: String,
        card: String,
    }
    let path = dir.join("demo/cards.csv");
    if !path.exists() {
        return Ok(Vec::new());
    }
    Ok(read_csv::<Row>(&path)?
        .into_iter()
        .map(|r| (r.contract_id, r.card))
        .collect())
}

fn biz_error(e: business::load::LoadError) -> DemoError {
    match e {
        business::load::LoadError::Store(s) => DemoError::Store(s),
        other => DemoError::Data {
            file: "businesses".into(),
            message: other.to_string(),
        },
    }
}

fn load_business(store: &Store, dir: &Path, now: u64) -> Result<(), DemoError> {
    let list = businesses(dir)?;
    if !list.is_empty() {
        business::load::load(store, &list, now).map_err(biz_error)?;
    }
    let cards = cards(dir)?;
    if !cards.is_empty() {
        business::load::load_cards(store, &cards, now).map_err(biz_error)?;
    }
    Ok(())
}

/// Whether `store` still holds the demo bank: every demo customer there, open, with the demo
/// login password. `serve --demo` prints the demo credentials only then: on any other database they
/// would not match.
pub fn matches(store: &Store, dir: &Path) -> Result<bool, DemoError> {
    for c in customers(dir)? {
        let Some(stored) = store.customer(&c.contract_id)?.filter(|s| !s.closed) else {
            return Ok(false);
        };
        if !password::verify(&stored.login_hash, &c.login_password) {
            return Ok(false);
        }
    }
    Ok(true)
}
