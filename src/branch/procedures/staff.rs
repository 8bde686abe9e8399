//! Staff records as the console's procedures need them: loading them (the demo loader; an HR
//! feed later) and reading one.

use crate::store::{AuditEvent, Event, Staff, Store, StoreError};

/// Stores staff records, with one audit record.
pub fn put_staff(store: &Store, staff: &[Staff], at: u64) -> Result<(), StoreError> {
    store.commit_now(|tx| {
        for s in staff {
            tx.put_staff(s)?;
        }
        tx.audit(
            at,
            Event {
                detail: format!("{} staff", staff.len()),
                ..Event::new(AuditEvent::StaffLoad)
            },
        )
    })?;
    Ok(())
}

pub fn staff(store: &Store, staff_id: &str) -> Result<Option<Staff>, StoreError> {
    store.staff(staff_id)
}
