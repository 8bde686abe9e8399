//! Reads outside a transaction, each one statement on a pooled connection; the same answers,
//! in the same order, as the embedded engine's.

use super::super::records::{
    ApiKey, Application, Attempt, AuditRecord, Business, CancelForm, Customer, Receipt, Release,
    Staff, StaffSessionRecord, Token,
};
use super::super::{decode, Processed, StoreError};
use super::{pool_error, Pg};
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
            let client = self.pool.get().await.map_err(pool_error)?;
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

    /// Every record of `table` in key order, for the tools' listings.
    fn every<R: DeserializeOwned>(
        &self,
        table: &'static str,
        sql: &str,
    ) -> std::vec::IntoIter<Result<R, StoreError>> {
        match self.records(table, sql, &[]) {
            Ok(all) => all.into_iter().map(Ok).collect::<Vec<_>>().into_iter(),
            Err(e) => vec![Err(e)].into_iter(),
        }
    }

    pub(crate) fn is_empty(&self) -> Result<bool, StoreError> {
        let rows = self.query(
            "SELECT NOT EXISTS (SELECT 1 FROM customers) AND NOT EXISTS (SELECT 1 FROM tokens)",
            &[],
        )?;
        Ok(rows.first().map(|r| r.get(0)).unwrap_or(false))
    }

    pub(crate) fn customer(&self, contract_id: &str) -> Result<Option<Customer>, StoreError> {
        self.record(
            "customers",
            "SELECT body::text FROM customers WHERE contract_id = $1",
            &[&contract_id],
        )
    }

    pub(crate) fn token(&self, serial: &str) -> Result<Option<Token>, StoreError> {
        self.record(
            "tokens",
            "SELECT body::text FROM tokens WHERE serial = $1",
            &[&serial],
        )
    }

    pub(crate) fn receipt(&self, number: u32) -> Result<Option<Receipt>, StoreError> {
        let number = i32::try_from(number).unwrap_or(i32::MAX);
        self.record(
            "receipts",
            "SELECT body::text FROM receipts WHERE number = $1",
            &[&number],
        )
    }

    pub(crate) fn receipts_of(&self, contract_id: &str) -> Result<Vec<Receipt>, StoreError> {
        self.records(
            "receipts",
            "SELECT body::text FROM receipts WHERE contract_id = $1 ORDER BY number",
            &[&contract_id],
        )
    }

    pub(crate) fn assigned_tokens(&self, contract_id: &str) -> Result<Vec<Token>, StoreError> {
        self.records(
            "tokens",
            "SELECT body::text FROM tokens WHERE assigned_to = $1 ORDER BY serial",
            &[&contract_id],
        )
    }

    pub(crate) fn free_hardware_tokens(&self, limit: usize) -> Result<Vec<String>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.query(
            "SELECT serial FROM tokens WHERE free_hardware ORDER BY serial LIMIT $1",
            &[&limit],
        )?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    pub(crate) fn attempts_of(&self, contract_id: &str) -> Result<Vec<Attempt>, StoreError> {
        self.records(
            "attempts",
            "SELECT body::text FROM attempts WHERE contract_id = $1 ORDER BY id",
            &[&contract_id],
        )
    }

    pub(crate) fn staff(&self, staff_id: &str) -> Result<Option<Staff>, StoreError> {
        self.record(
            "staff",
            "SELECT body::text FROM staff WHERE staff_id = $1",
            &[&staff_id],
        )
    }

    pub(crate) fn form(&self, form_no: &str) -> Result<Option<CancelForm>, StoreError> {
        self.record(
            "forms",
            "SELECT body::text FROM forms WHERE form_no = $1",
            &[&form_no],
        )
    }

    pub(crate) fn forms_of(&self, contract_id: &str) -> Result<Vec<CancelForm>, StoreError> {
        self.records(
            "forms",
            "SELECT body::text FROM forms WHERE contract_id = $1 ORDER BY form_no",
            &[&contract_id],
        )
    }

    pub(crate) fn release(&self, id: u64) -> Result<Option<Release>, StoreError> {
        self.record(
            "releases",
            "SELECT body::text FROM releases WHERE id = $1",
            &[&big(id)],
        )
    }

    pub(crate) fn releases_of(&self, contract_id: &str) -> Result<Vec<Release>, StoreError> {
        self.records(
            "releases",
            "SELECT body::text FROM releases WHERE contract_id = $1 ORDER BY id",
            &[&contract_id],
        )
    }

    pub(crate) fn application(
        &self,
        application_no: &str,
    ) -> Result<Option<Application>, StoreError> {
        self.record(
            "applications",
            "SELECT body::text FROM applications WHERE application_no = $1",
            &[&application_no],
        )
    }

    pub(crate) fn applications_of(
        &self,
        contract_id: &str,
    ) -> Result<Vec<Application>, StoreError> {
        self.records(
            "applications",
            "SELECT body::text FROM applications WHERE contract_id = $1 ORDER BY application_no",
            &[&contract_id],
        )
    }

    pub(crate) fn pending(&self) -> Result<(Vec<CancelForm>, Vec<Release>), StoreError> {
        let forms = self.records(
            "forms",
            "SELECT body::text FROM forms WHERE decided_at IS NULL ORDER BY form_no",
            &[],
        )?;
        let releases = self.records(
            "releases",
            "SELECT body::text FROM releases WHERE decided_at IS NULL ORDER BY id",
            &[],
        )?;
        Ok((forms, releases))
    }

    pub(crate) fn processed_between(&self, from: u64, to: u64) -> Result<Processed, StoreError> {
        let (from, to) = (big(from), big(to));
        Ok(Processed {
            forms: self.records(
                "forms",
                "SELECT body::text FROM forms WHERE decided_at >= $1 AND decided_at < $2 \
                 ORDER BY form_no",
                &[&from, &to],
            )?,
            releases: self.records(
                "releases",
                "SELECT body::text FROM releases WHERE decided_at >= $1 AND decided_at < $2 \
                 ORDER BY id",
                &[&from, &to],
            )?,
            applications: self.records(
                "applications",
                "SELECT body::text FROM applications WHERE at >= $1 AND at < $2 \
                 ORDER BY application_no",
                &[&from, &to],
            )?,
        })
    }

    pub(crate) fn api_key(&self, hash: &[u8; 32]) -> Result<Option<ApiKey>, StoreError> {
        self.record(
            "api_keys",
            "SELECT body::text FROM api_keys WHERE hash = $1",
            &[&hash.as_slice()],
        )
    }

    pub(crate) fn api_keys_named(&self, name: &str) -> Result<Vec<ApiKey>, StoreError> {
        self.records(
            "api_keys",
            "SELECT body::text FROM api_keys WHERE name = $1 ORDER BY hash",
            &[&name],
        )
    }

    pub(crate) fn api_keys(&self) -> impl Iterator<Item = Result<ApiKey, StoreError>> + '_ {
        self.every("api_keys", "SELECT body::text FROM api_keys ORDER BY hash")
    }

    pub(crate) fn tokens(&self) -> impl Iterator<Item = Result<Token, StoreError>> + '_ {
        self.every("tokens", "SELECT body::text FROM tokens ORDER BY serial")
    }

    pub(crate) fn customers(&self) -> impl Iterator<Item = Result<Customer, StoreError>> + '_ {
        self.every(
            "customers",
            "SELECT body::text FROM customers ORDER BY contract_id",
        )
    }

    pub(crate) fn business(&self, contract_id: &str) -> Result<Option<Business>, StoreError> {
        self.record(
            "businesses",
            "SELECT body::text FROM businesses WHERE contract_id = $1",
            &[&contract_id],
        )
    }

    pub(crate) fn businesses(&self) -> impl Iterator<Item = Result<Business, StoreError>> + '_ {
        self.every(
            "businesses",
            "SELECT body::text FROM businesses ORDER BY contract_id",
        )
    }

    pub(crate) fn has_card(&self, contract_id: &str) -> Result<bool, StoreError> {
        let rows = self.query(
            "SELECT 1 FROM cards WHERE contract_id = $1",
            &[&contract_id],
        )?;
        Ok(!rows.is_empty())
    }

    pub(crate) fn staff_session(
        &self,
        key: &str,
    ) -> Result<Option<StaffSessionRecord>, StoreError> {
        self.record(
            "staff_sessions",
            "SELECT body::text FROM staff_sessions WHERE key = $1",
            &[&key],
        )
    }

    pub(crate) fn staff_sessions(
        &self,
    ) -> impl Iterator<Item = Result<StaffSessionRecord, StoreError>> + '_ {
        self.every(
            "staff_sessions",
            "SELECT body::text FROM staff_sessions ORDER BY key",
        )
    }

    pub(crate) fn every_staff(&self) -> impl Iterator<Item = Result<Staff, StoreError>> + '_ {
        self.every("staff", "SELECT body::text FROM staff ORDER BY staff_id")
    }

    pub(crate) fn attempts(&self) -> impl Iterator<Item = Result<Attempt, StoreError>> + '_ {
        self.every("attempts", "SELECT body::text FROM attempts ORDER BY id")
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
                "SELECT body::text FROM audit WHERE seq >= $1 ORDER BY seq LIMIT $2",
                &[&next, &PAGE],
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
                "SELECT body::text FROM audit WHERE contract_id = $1 AND at >= $2 AND seq < $3 \
                 ORDER BY seq DESC LIMIT $4",
                &[&c, &since, &before, &limit],
            ),
            None => self.records(
                "audit",
                "SELECT body::text FROM audit WHERE at >= $1 AND seq < $2 \
                 ORDER BY seq DESC LIMIT $3",
                &[&since, &before, &limit],
            ),
        }
    }
}
