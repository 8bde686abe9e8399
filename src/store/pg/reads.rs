//! Reads outside a transaction, each one statement on a pooled connection; the same answers,
//! in the same order, as the embedded engine's.

use super::super::records::{
    ApiKey, Application, Attempt, AuditRecord, Business, CancelForm, Customer, Receipt, Release,
    Staff, StaffSessionRecord, Token,
};
use super::super::{decode, Processed, StoreError};
use super::{unavailable, Pg};
use serde::de::DeserializeOwned;
use tokio_postgres::types::ToSql;

type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Pg {
    /// The rows of one statement.
    pub(super) fn query(
        &self,
        sql: &str,
        params: Params,
    ) -> Result<Vec<tokio_postgres::Row>, StoreError> {
        self.block(async {
            let client = self.pool.get().await.map_err(unavailable)?;
            let stmt = client.prepare_cached(sql).await?;
            Ok(client.query(&stmt, params).await?)
        })
    }

    /// The records in the first column (`body::text`) of the rows `sql` finds.
    fn records<R: DeserializeOwned>(
        &self,
        table: &'static str,
        sql: &str,
        params: Params,
    ) -> Result<Vec<R>, StoreError> {
        self.query(sql, params)?
            .iter()
            .map(|row| {
                let text: String = row.try_get(0)?;
                Ok(decode(table, text.as_bytes())?)
            })
            .collect()
    }

    fn record<R: DeserializeOwned>(
        &self,
        table: &'static str,
        sql: &str,
        params: Params,
    ) -> Result<Option<R>, StoreError> {
        Ok(self.records(table, sql, params)?.into_iter().next())
    }

    /// Every record of `table` in key order, for the tools' listings (`sql` takes the bank as
    /// `$1`).
    fn every<R: DeserializeOwned>(
        &self,
        table: &'static str,
        sql: &str,
    ) -> std::vec::IntoIter<Result<R, StoreError>> {
        match self.records(table, sql, &[&self.bank().key]) {
            Ok(all) => all.into_iter().map(Ok).collect::<Vec<_>>().into_iter(),
            Err(e) => vec![Err(e)].into_iter(),
        }
    }

    pub(crate) fn is_empty(&self) -> Result<bool, StoreError> {
        let rows = self.query(
            "SELECT NOT EXISTS (SELECT 1 FROM customers WHERE bank = $1) \
             AND NOT EXISTS (SELECT 1 FROM tokens WHERE bank = $1)",
            &[&self.bank().key],
        )?;
        Ok(rows.first().map(|r| r.get(0)).unwrap_or(false))
    }

    pub(crate) fn customer(&self, contract_id: &str) -> Result<Option<Customer>, StoreError> {
        self.record(
            "customers",
            "SELECT body::text FROM customers WHERE bank = $2 AND contract_id = $1",
            &[&contract_id, &self.bank().key],
        )
    }

    pub(crate) fn token(&self, serial: &str) -> Result<Option<Token>, StoreError> {
        self.record(
            "tokens",
            "SELECT body::text FROM tokens WHERE bank = $2 AND serial = $1",
            &[&serial, &self.bank().key],
        )
    }

    pub(crate) fn receipt(&self, number: u32) -> Result<Option<Receipt>, StoreError> {
        let number = i32::try_from(number).unwrap_or(i32::MAX);
        self.record(
            "receipts",
            "SELECT body::text FROM receipts WHERE bank = $2 AND number = $1",
            &[&number, &self.bank().key],
        )
    }

    pub(crate) fn receipts_of(&self, contract_id: &str) -> Result<Vec<Receipt>, StoreError> {
        self.records(
            "receipts",
            "SELECT body::text FROM receipts WHERE bank = $2 AND contract_id = $1 ORDER BY number",
            &[&contract_id, &self.bank().key],
        )
    }

    pub(crate) fn assigned_tokens(&self, contract_id: &str) -> Result<Vec<Token>, StoreError> {
        self.records(
            "tokens",
            "SELECT body::text FROM tokens WHERE bank = $2 AND assigned_to = $1 ORDER BY serial",
            &[&contract_id, &self.bank().key],
        )
    }

    pub(crate) fn free_hardware_tokens(&self, limit: usize) -> Result<Vec<String>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.query(
            "SELECT serial FROM tokens WHERE bank = $2 AND free_hardware ORDER BY serial LIMIT $1",
            &[&limit, &self.bank().key],
        )?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    pub(crate) fn attempts_of(&self, contract_id: &str) -> Result<Vec<Attempt>, StoreError> {
        self.records(
            "attempts",
            "SELECT body::text FROM attempts WHERE bank = $2 AND contract_id = $1 ORDER BY id",
            &[&contract_id, &self.bank().key],
        )
    }

    pub(crate) fn staff(&self, staff_id: &str) -> Result<Option<Staff>, StoreError> {
        self.record(
            "staff",
            "SELECT body::text FROM staff WHERE bank = $2 AND staff_id = $1",
            &[&staff_id, &self.bank().key],
        )
    }

    pub(crate) fn form(&self, form_no: &str) -> Result<Option<CancelForm>, StoreError> {
        self.record(
            "forms",
            "SELECT body::text FROM forms WHERE bank = $2 AND form_no = $1",
            &[&form_no, &self.bank().key],
        )
    }

    pub(crate) fn forms_of(&self, contract_id: &str) -> Result<Vec<CancelForm>, StoreError> {
        self.records(
            "forms",
            "SELECT body::text FROM forms WHERE bank = $2 AND contract_id = $1 ORDER BY form_no",
            &[&contract_id, &self.bank().key],
        )
    }

    pub(crate) fn release(&self, id: u64) -> Result<Option<Release>, StoreError> {
        self.record(
            "releases",
            "SELECT body::text FROM releases WHERE bank = $2 AND id = $1",
            &[&big(id), &self.bank().key],
        )
    }

    pub(crate) fn releases_of(&self, contract_id: &str) -> Result<Vec<Release>, StoreError> {
        self.records(
            "releases",
            "SELECT body::text FROM releases WHERE bank = $2 AND contract_id = $1 ORDER BY id",
            &[&contract_id, &self.bank().key],
        )
    }

    pub(crate) fn application(
        &self,
        application_no: &str,
    ) -> Result<Option<Application>, StoreError> {
        self.record(
            "applications",
            "SELECT body::text FROM applications WHERE bank = $2 AND application_no = $1",
            &[&application_no, &self.bank().key],
        )
    }

    pub(crate) fn applications_of(
        &self,
        contract_id: &str,
    ) -> Result<Vec<Application>, StoreError> {
        self.records(
            "applications",
            "SELECT body::text FROM applications WHERE bank = $2 AND contract_id = $1 ORDER BY application_no",
            &[&contract_id, &self.bank().key],
        )
    }

    pub(crate) fn pending(&self) -> Result<(Vec<CancelForm>, Vec<Release>), StoreError> {
        let forms = self.records(
            "forms",
            "SELECT body::text FROM forms WHERE bank = $1 AND decided_at IS NULL ORDER BY form_no",
            &[&self.bank().key],
        )?;
        let releases = self.records(
            "releases",
            "SELECT body::text FROM releases WHERE bank = $1 AND decided_at IS NULL ORDER BY id",
            &[&self.bank().key],
        )?;
        Ok((forms, releases))
    }

    pub(crate) fn processed_between(&self, from: u64, to: u64) -> Result<Processed, StoreError> {
        let (from, to) = (big(from), big(to));
        Ok(Processed {
            forms: self.records(
                "forms",
                "SELECT body::text FROM forms WHERE bank = $3 AND decided_at >= $1 AND decided_at < $2 \
                 ORDER BY form_no",
                &[&from, &to, &self.bank().key],
            )?,
            releases: self.records(
                "releases",
                "SELECT body::text FROM releases WHERE bank = $3 AND decided_at >= $1 AND decided_at < $2 \
                 ORDER BY id",
                &[&from, &to, &self.bank().key],
            )?,
            applications: self.records(
                "applications",
                "SELECT body::text FROM applications WHERE bank = $3 AND at >= $1 AND at < $2 \
                 ORDER BY application_no",
                &[&from, &to, &self.bank().key],
            )?,
        })
    }

    pub(crate) fn api_key(&self, hash: &[u8; 32]) -> Result<Option<ApiKey>, StoreError> {
        self.record(
            "api_keys",
            "SELECT body::text FROM api_keys WHERE bank = $2 AND hash = $1",
            &[&hash.as_slice(), &self.bank().key],
        )
    }

    pub(crate) fn api_keys_named(&self, name: &str) -> Result<Vec<ApiKey>, StoreError> {
        self.records(
            "api_keys",
            "SELECT body::text FROM api_keys WHERE bank = $2 AND name = $1 ORDER BY hash",
            &[&name, &self.bank().key],
        )
    }

    pub(crate) fn api_keys(&self) -> impl Iterator<Item = Result<ApiKey, StoreError>> + '_ {
        self.every(
            "api_keys",
            "SELECT body::text FROM api_keys WHERE bank = $1 ORDER BY hash",
        )
    }

    pub(crate) fn tokens(&self) -> impl Iterator<Item = Result<Token, StoreError>> + '_ {
        self.every(
            "tokens",
            "SELECT body::text FROM tokens WHERE bank = $1 ORDER BY serial",
        )
    }

    pub(crate) fn customers(&self) -> impl Iterator<Item = Result<Customer, StoreError>> + '_ {
        self.every(
            "customers",
            "SELECT body::text FROM customers WHERE bank = $1 ORDER BY contract_id",
        )
    }

    pub(crate) fn business(&self, contract_id: &str) -> Result<Option<Business>, StoreError> {
        self.record(
            "businesses",
            "SELECT body::text FROM businesses WHERE bank = $2 AND contract_id = $1",
            &[&contract_id, &self.bank().key],
        )
    }

    pub(crate) fn businesses(&self) -> impl Iterator<Item = Result<Business, StoreError>> + '_ {
        self.every(
            "businesses",
            "SELECT body::text FROM businesses WHERE bank = $1 ORDER BY contract_id",
        )
    }

    pub(crate) fn has_card(&self, contract_id: &str) -> Result<bool, StoreError> {
        let rows = self.query(
            "SELECT 1 FROM cards WHERE bank = $2 AND contract_id = $1",
            &[&contract_id, &self.bank().key],
        )?;
        Ok(!rows.is_empty())
    }

    pub(crate) fn staff_session(
        &self,
        key: &str,
    ) -> Result<Option<StaffSessionRecord>, StoreError> {
        self.record(
            "staff_sessions",
            "SELECT body::text FROM staff_sessions WHERE bank = $2 AND key = $1",
            &[&key, &self.bank().key],
        )
    }

    pub(crate) fn staff_sessions(
        &self,
    ) -> impl Iterator<Item = Result<StaffSessionRecord, StoreError>> + '_ {
        self.every(
            "staff_sessions",
            "SELECT body::text FROM staff_sessions WHERE bank = $1 ORDER BY key",
        )
    }

    pub(crate) fn every_staff(&self) -> impl Iterator<Item = Result<Staff, StoreError>> + '_ {
        self.every(
            "staff",
            "SELECT body::text FROM staff WHERE bank = $1 ORDER BY staff_id",
        )
    }

    pub(crate) fn attempts(&self) -> impl Iterator<Item = Result<Attempt, StoreError>> + '_ {
        self.every(
            "attempts",
            "SELECT body::text FROM attempts WHERE bank = $1 ORDER BY id",
        )
    }

    /// The audit trail, oldest first, read a page at a time (a bank's trail is long).
    pub(crate) fn audit(&self) -> impl Iterator<Item = Result<AuditRecord, StoreError>> + '_ {
        const PAGE: i64 = 10_000;
        let mut next: i64 = 0;
        let mut page = Vec::new().into_iter();
        let mut done = false;
        std::iter::from_fn(move || loop {
            if let Some(r) = page.next() {
                return Some(Ok(r));
            }
            if done {
                return None;
            }
            match self.records::<AuditRecord>(
                "audit",
                "SELECT body::text FROM audit WHERE bank = $3 AND seq >= $1 ORDER BY seq LIMIT $2",
                &[&next, &PAGE, &self.bank().key],
            ) {
                Ok(rows) => {
                    done = (rows.len() as i64) < PAGE;
                    if let Some(last) = rows.last() {
                        next = big(last.seq) + 1;
                    }
                    page = rows.into_iter();
                }
                Err(e) => {
                    done = true;
                    return Some(Err(e));
                }
            }
        })
    }

    /// Audit record `seq` of this bank, by its key (not a walk of the trail).
    pub(crate) fn audit_record(&self, seq: u64) -> Result<Option<AuditRecord>, StoreError> {
        self.record(
            "audit",
            "SELECT body::text FROM audit WHERE bank = $2 AND seq = $1",
            &[&big(seq), &self.bank().key],
        )
    }

    pub(crate) fn audit_recent(
        &self,
        contract_id: Option<&str>,
        since: Option<u64>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let since = big(since.unwrap_or(0));
        let before = before.map_or(i64::MAX, big);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        match contract_id {
            Some(c) => self.records(
                "audit",
                "SELECT body::text FROM audit WHERE bank = $5 AND contract_id = $1 AND at >= $2 \
                 AND seq < $3 ORDER BY seq DESC LIMIT $4",
                &[&c, &since, &before, &limit, &self.bank().key],
            ),
            None => self.records(
                "audit",
                "SELECT body::text FROM audit WHERE bank = $4 AND at >= $1 AND seq < $2 \
                 ORDER BY seq DESC LIMIT $3",
                &[&since, &before, &limit, &self.bank().key],
            ),
        }
    }
}
