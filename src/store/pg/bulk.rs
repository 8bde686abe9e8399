//! Many records at once: bulk loads and token imports (each one transaction, inserting a
//! thousand rows per statement), and copying a whole embedded database in (`migrate`).

use super::super::records::{
    ApiKey, Application, Attempt, AuditEvent, AuditRecord, Business, CancelForm, Card, Customer,
    Event, Receipt, Release, Staff, Token,
};
use super::super::{encode, StoreError, TxResult};
use super::{Pg, PgTx};
use crate::seal::Sealer;

/// Rows per INSERT.
const CHUNK: usize = 1000;

fn text<R: serde::Serialize>(r: &R) -> String {
    String::from_utf8(encode(r)).unwrap_or_default()
}

fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Everything an embedded database holds, read out for [`Pg::import_all`].
pub(crate) struct Everything {
    pub customers: Vec<Customer>,
    pub tokens: Vec<Token>,
    pub receipts: Vec<Receipt>,
    pub attempts: Vec<Attempt>,
    pub audit: Vec<AuditRecord>,
    pub api_keys: Vec<ApiKey>,
    pub staff: Vec<Staff>,
    pub forms: Vec<CancelForm>,
    pub releases: Vec<Release>,
    pub applications: Vec<Application>,
    pub businesses: Vec<Business>,
    pub cards: Vec<Card>,
    /// The next 受付番号 the embedded database would have issued.
    pub next_receipt: u32,
}

impl PgTx<'_> {
    fn insert_customers(&self, all: &[Customer]) -> TxResult<()> {
        for chunk in all.chunks(CHUNK) {
            let ids: Vec<&str> = chunk.iter().map(|c| c.contract_id.as_str()).collect();
            let bodies: Vec<String> = chunk.iter().map(text).collect();
            self.exec(
                "INSERT INTO customers (bank, contract_id, body) \
                 SELECT $3, k, b::jsonb FROM unnest($1::text[], $2::text[]) AS t(k, b)",
                &[&ids, &bodies, &self.bank],
            )?;
        }
        Ok(())
    }

    /// Inserts tokens, replacing stored ones of the same serial.
    pub(super) fn upsert_tokens(&self, all: &[&Token]) -> TxResult<()> {
        self.forget_prefetched();
        for chunk in all.chunks(CHUNK) {
            let serials: Vec<&str> = chunk.iter().map(|t| t.serial.as_str()).collect();
            let steps: Vec<i64> = chunk
                .iter()
                .map(|t| t.otp.last_step.map_or(-1, big))
                .collect();
            let fails: Vec<i32> = chunk
                .iter()
                .map(|t| i32::try_from(t.otp.fails).unwrap_or(i32::MAX))
                .collect();
            let owners: Vec<Option<&str>> =
                chunk.iter().map(|t| t.assigned_to.as_deref()).collect();
            let free: Vec<bool> = chunk.iter().map(|t| t.free_hardware()).collect();
            let bodies: Vec<String> = chunk.iter().map(|t| text(*t)).collect();
            self.exec(
                "INSERT INTO tokens \
                 (bank, serial, last_step, fails, assigned_to, free_hardware, body) \
                 SELECT $7, s, l, f, a, h, b::jsonb FROM unnest($1::text[], $2::bigint[], \
                 $3::int[], $4::text[], $5::bool[], $6::text[]) AS t(s, l, f, a, h, b) \
                 ON CONFLICT (bank, serial) DO UPDATE SET last_step = EXCLUDED.last_step, \
                 fails = EXCLUDED.fails, assigned_to = EXCLUDED.assigned_to, \
                 free_hardware = EXCLUDED.free_hardware, body = EXCLUDED.body",
                &[
                    &serials, &steps, &fails, &owners, &free, &bodies, &self.bank,
                ],
            )?;
        }
        Ok(())
    }
}

impl Pg {
    pub(crate) fn bulk_load(
        &self,
        sealer: &Sealer,
        customers: impl IntoIterator<Item = Customer>,
        tokens: impl IntoIterator<Item = Token>,
        at: u64,
    ) -> Result<(u64, u64), StoreError> {
        let customers: Vec<Customer> = customers.into_iter().collect();
        let tokens: Vec<Token> = tokens.into_iter().collect();
        let refs: Vec<&Token> = tokens.iter().collect();
        let (nc, nt) = (customers.len() as u64, tokens.len() as u64);
        self.transaction(sealer, |ptx, tx| {
            ptx.insert_customers(&customers)?;
            ptx.upsert_tokens(&refs)?;
            tx.audit(
                at,
                Event {
                    detail: format!("{nc} customers, {nt} tokens"),
                    ..Event::new(AuditEvent::BulkLoad)
                },
            )
        })?;
        Ok((nc, nt))
    }

    pub(crate) fn load_tokens<'t>(
        &self,
        sealer: &Sealer,
        tokens: impl IntoIterator<Item = &'t Token>,
        event: Event,
        at: u64,
    ) -> Result<u64, StoreError> {
        let tokens: Vec<&Token> = tokens.into_iter().collect();
        self.transaction(sealer, |ptx, tx| {
            ptx.upsert_tokens(&tokens)?;
            tx.audit(at, event.clone())
        })?;
        Ok(tokens.len() as u64)
    }

    /// Copies every record of an embedded database into this one, which must be empty, in one
    /// transaction: the audit records as they are (their chain verifies unchanged), the chain
    /// head and the receipt counter where the embedded database left them.
    pub(crate) fn import_all(&self, sealer: &Sealer, all: &Everything) -> Result<(), StoreError> {
        let rows = self.query(
            "SELECT (SELECT count(*) FROM customers WHERE bank = $1) \
             + (SELECT count(*) FROM tokens WHERE bank = $1) \
             + (SELECT count(*) FROM audit WHERE bank = $1) \
             + (SELECT count(*) FROM staff WHERE bank = $1) \
             + (SELECT count(*) FROM api_keys WHERE bank = $1)",
            &[&self.bank().key],
        )?;
        let used: i64 = rows.first().map_or(1, |r| r.get(0));
        if used != 0 {
            return Err(StoreError::Schema(
                "the target database is not empty: migrate only into a new database".into(),
            ));
        }
        let tokens: Vec<&Token> = all.tokens.iter().collect();
        self.transaction(sealer, |ptx, tx| {
            ptx.insert_customers(&all.customers)?;
            ptx.upsert_tokens(&tokens)?;
            for r in &all.receipts {
                ptx.exec(
                    "INSERT INTO receipts (bank, number, contract_id, body) \
                     VALUES ($4, $1, $2, $3::text::jsonb)",
                    &[&(r.number as i32), &r.contract_id, &text(r), &ptx.bank],
                )?;
            }
            for a in &all.attempts {
                tx.add_attempt(a)?;
            }
            for k in &all.api_keys {
                tx.put_api_key(k)?;
            }
            for s in &all.staff {
                tx.put_staff(s)?;
            }
            for f in &all.forms {
                tx.put_form(f)?;
            }
            for r in &all.releases {
                tx.put_release(r)?;
            }
            for a in &all.applications {
                tx.put_application(a)?;
            }
            for b in &all.businesses {
                tx.put_business(b)?;
            }
            for c in &all.cards {
                tx.put_card(c)?;
            }
            for chunk in all.audit.chunks(CHUNK) {
                let seqs: Vec<i64> = chunk.iter().map(|r| big(r.seq)).collect();
                let ats: Vec<i64> = chunk.iter().map(|r| big(r.at)).collect();
                let owners: Vec<Option<&str>> =
                    chunk.iter().map(|r| r.contract_id.as_deref()).collect();
                let bodies: Vec<String> = chunk.iter().map(text).collect();
                ptx.exec(
                    "INSERT INTO audit (bank, seq, at, contract_id, body) \
                     SELECT $5, s, a, c, b::jsonb FROM unnest($1::bigint[], $2::bigint[], \
                     $3::text[], $4::text[]) AS t(s, a, c, b)",
                    &[&seqs, &ats, &owners, &bodies, &ptx.bank],
                )?;
            }
            if let Some(last) = all.audit.last() {
                ptx.set_chain_head(last.seq + 1, last.hash.clone());
            }
            ptx.exec(
                "UPDATE counters SET next = $1 WHERE bank = $2 AND name = 'receipt'",
                &[&i64::from(all.next_receipt), &ptx.bank],
            )?;
            Ok(())
        })
    }
}
