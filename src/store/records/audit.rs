//! One audit event as the hash chain stores it, what a write adds to the trail, and the names
//! of every event the gateway records ([`AuditEvent`], each name written once, here).

use serde::{Deserialize, Serialize};

macro_rules! audit_events {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// Every kind of audit event. Stored as its name (the strings trails have always held).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum AuditEvent {
            $($(#[$doc])* $variant,)*
        }

        impl AuditEvent {
            /// Every event, in declaration order.
            pub const ALL: &'static [AuditEvent] = &[$(AuditEvent::$variant,)*];

            /// The name stored in audit records.
            pub fn name(self) -> &'static str {
                match self {
                    $(AuditEvent::$variant => $name,)*
                }
            }
        }
    };
}

audit_events! {
    LoginOk = "login_ok",
    LoginFailed = "login_failed",
    /// The wrong password that used up the last try.
    LoginLockout = "login_lockout",
    /// A password tried on a login already locked.
    LoginLocked = "login_locked",
    OtpOk = "otp_ok",
    OtpFailed = "otp_failed",
    OtpReplayed = "otp_replayed",
    OtpLockout = "otp_lockout",
    OtpLocked = "otp_locked",
    OtpUnknownContract = "otp_unknown_contract",
    OtpCancelled = "otp_cancelled",
    OtpNoToken = "otp_no_token",
    Registration = "registration",
    Exchange = "exchange",
    /// The customer changed ログイン時のワンタイムパスワード from the menu (detail `on`/`off`).
    LoginOtpChanged = "login_otp_changed",
    /// A feature phone opened 利用中止 and was sent to a branch.
    CancelAttempt = "cancel_attempt",
    StaffLoad = "staff_load",
    StaffSignIn = "staff_sign_in",
    StaffSignInFailed = "staff_sign_in_failed",
    StaffSignInPaused = "staff_sign_in_paused",
    StaffSignOut = "staff_sign_out",
    /// A staff member looked up a contract ID their bank does not have (another bank's
    /// customer, or a typo): refused, and kept on the trail.
    StaffLookupUnknown = "staff_lookup_unknown",
    BranchCancelReceived = "branch_cancel_received",
    BranchCancelApproved = "branch_cancel_approved",
    BranchCancelRejected = "branch_cancel_rejected",
    BranchTokenIssued = "branch_token_issued",
    /// A 発行申込書 replacing an active token (故障/電池切れ), waiting for a supervisor.
    BranchReplaceReceived = "branch_replace_received",
    /// The replacement approved: the old token handed back (返却済), a new one issued.
    BranchReplaceApproved = "branch_replace_approved",
    BranchReplaceRejected = "branch_replace_rejected",
    BranchReleaseReceived = "branch_release_received",
    BranchReleaseApproved = "branch_release_approved",
    BranchReleaseRejected = "branch_release_rejected",
    /// Tokens imported from a vendor's inventory file.
    Import = "import",
    /// Customers and tokens bulk-loaded into an empty database.
    BulkLoad = "bulk_load",
    DemoLoad = "demo_load",
    ApiKeyAdd = "api_key_add",
    ApiKeyRevoke = "api_key_revoke",
    /// A revoked API key presented (refused).
    ApiKeyRevokedUsed = "api_key_revoked_used",
    /// `customers import` from the internet-banking host's export (one per file).
    CustomersImport = "customers_import",
    /// A contract the bank closed: its token cancelled, transfers blocked.
    ContractClosed = "contract_closed",
    ContractReopened = "contract_reopened",
    StaffAdd = "staff_add",
    StaffDisable = "staff_disable",
    StaffEnable = "staff_enable",
    StaffPasswordReset = "staff_password_reset",
    StaffUnlock = "staff_unlock",
    /// A staff member chose their own password (forced at the first sign-in).
    StaffPasswordChange = "staff_password_change",
    /// 法人: a token registered to a business user or as the shared token (seed 004).
    BizRegistration = "biz_registration",
    /// 法人: a user's (or the shared) registration released (利用登録解除).
    BizRelease = "biz_release",
    /// 法人: 利用形態 changed, every registration of the contract released with it.
    BizUsage = "biz_usage",
    /// An お客様カード answer (確認用パスワード) was right.
    CardOk = "card_ok",
    CardFailed = "card_failed",
    /// The wrong card answer that used up the last try.
    CardLockout = "card_lockout",
    /// 法人: business contracts loaded (demo, import).
    BizLoad = "biz_load",
    /// お客様カード loaded for personal customers (demo, import).
    CardLoad = "card_load",
    /// 法人: a branch released a business administrator's lock.
    BizUnlock = "biz_unlock",
}

impl std::fmt::Display for AuditEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl PartialEq<AuditEvent> for String {
    fn eq(&self, other: &AuditEvent) -> bool {
        self == other.name()
    }
}

/// One audit event: hash-chained to the one before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub seq: u64,
    pub at: u64,
    /// The event's name ([`AuditEvent::name`]); kept as text so a trail written by any version
    /// reads back and verifies unchanged.
    pub event: String,
    pub contract_id: Option<String>,
    pub serial: Option<String>,
    pub detail: String,
    /// Staff IDs (maker, then checker) for actions taken at a branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff: Option<String>,
    /// The branch code of the staff member who acted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// The bank's 金融機関コード, on a multi-bank gateway (a one-bank trail has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank: Option<String>,
    /// SHA-256 of the previous record (hex; zeros for the first).
    pub prev: String,
    /// SHA-256 over `prev` and this record's other fields.
    pub hash: String,
}

/// What a write adds to the audit trail.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub event: AuditEvent,
    pub contract_id: Option<&'a str>,
    pub serial: Option<&'a str>,
    pub detail: String,
}

impl Event<'_> {
    /// An event about no customer and no token, without detail.
    pub fn new(event: AuditEvent) -> Event<'static> {
        Event {
            event,
            contract_id: None,
            serial: None,
            detail: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for e in AuditEvent::ALL {
            assert!(seen.insert(e.name()), "{e} twice");
            assert!(e
                .name()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
    }
}
