//! The console's URLs, written once: the routes match them, the pages and lists link to them.

/// The console's own prefix (the front owns it and everything under it; the cookie's path).
pub const ROOT: &str = "/branch";
pub const HOME: &str = "/branch/";
pub const LOGIN: &str = "/branch/login";
pub const LOGOUT: &str = "/branch/logout";
/// The password change (forced after sign-in with an initial password).
pub const PASSWORD: &str = "/branch/password";
pub const CUSTOMER: &str = "/branch/customer";
pub const FORMS: &str = "/branch/forms";
pub const FORM: &str = "/branch/form";
pub const FORMS_APPROVE: &str = "/branch/forms/approve";
pub const FORMS_REJECT: &str = "/branch/forms/reject";
pub const APPLICATIONS: &str = "/branch/applications";
pub const RELEASES: &str = "/branch/releases";
pub const RELEASE: &str = "/branch/release";
pub const RELEASES_APPROVE: &str = "/branch/releases/approve";
pub const RELEASES_REJECT: &str = "/branch/releases/reject";
/// Each list is also served as `.csv` under the same name.
pub const LISTS: &str = "/branch/lists";
pub const PENDING: &str = "/branch/lists/pending";
pub const PENDING_CSV: &str = "/branch/lists/pending.csv";
pub const TODAY: &str = "/branch/lists/today";
pub const TODAY_CSV: &str = "/branch/lists/today.csv";
pub const ATTEMPTS: &str = "/branch/lists/attempts";
pub const ATTEMPTS_CSV: &str = "/branch/lists/attempts.csv";
pub const AUDIT: &str = "/branch/audit";
/// 法人: a supervisor releases the administrator's lock or a token's.
pub const BUSINESS_UNLOCK: &str = "/branch/business/unlock";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_their_csv_share_a_name_under_lists() {
        for (page, csv) in [
            (PENDING, PENDING_CSV),
            (TODAY, TODAY_CSV),
            (ATTEMPTS, ATTEMPTS_CSV),
        ] {
            assert!(page.starts_with(LISTS));
            assert_eq!(format!("{page}.csv"), csv);
        }
        assert_eq!(HOME.trim_end_matches('/'), ROOT);
    }
}
