//! The gateway's stored records, one kind per file: what each engine keeps, typed. Records are
//! plain data with the few domain checks that need nothing but the record (is this token
//! locked?); the procedures that change them live with their owners (`ledger`, `branch`,
//! `api`, `inventory`).

mod api_key;
mod application;
mod attempt;
mod audit;
mod business;
mod card;
mod customer;
mod form;
mod receipt;
mod release;
mod staff;
mod staff_session;
mod token;

pub use api_key::ApiKey;
pub use application::{Application, IssueReason};
pub use attempt::Attempt;
pub use audit::{AuditEvent, AuditRecord, Event};
pub use business::{BizHostHashes, BizUser, Business, Usage};
pub use card::{Card, CARD_POSITIONS};
pub use customer::{Binding, Customer, HostHashes};
pub use form::{CancelForm, Decision, Replacement};
pub use receipt::{Receipt, ReceiptKind};
pub use release::{Release, ReleaseKind};
pub use staff::{Role, Staff};
pub use staff_session::StaffSessionRecord;
pub use token::{NewToken, Token, TokenKind, TokenState};
