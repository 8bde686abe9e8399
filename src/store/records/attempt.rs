//! A feature-phone 利用中止 attempt (the phone cannot cancel; the branch follows up).

use serde::{Deserialize, Serialize};

/// A feature-phone 利用中止 attempt, or (anonymous ones) a count of them: anonymous attempts
/// are counted in memory and written as one record per carrier and interval
/// ([`crate::cancel_count`]), so a flood of page views is not a flood of writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// When it was made (a count: when it was written).
    pub at: u64,
    pub contract_id: Option<String>,
    /// How many attempts this record stands for (records from before counting: one).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub count: u64,
    /// The carrier of a count of anonymous attempts (`docomo`, `au`, ... or `other`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
}

fn one() -> u64 {
    1
}

fn is_one(n: &u64) -> bool {
    *n == 1
}

impl Default for Attempt {
    /// One attempt, at time 0, of no one in particular.
    fn default() -> Attempt {
        Attempt {
            at: 0,
            contract_id: None,
            count: 1,
            carrier: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_attempt_is_stored_as_before_counts_existed() {
        let old: Attempt = serde_json::from_str(r#"{"at":5,"contract_id":"1"}"#).unwrap();
        assert_eq!((old.count, old.carrier), (1, None));
        let one = Attempt {
            at: 5,
            contract_id: Some("1".into()),
            ..Attempt::default()
        };
        assert_eq!(
            serde_json::to_string(&one).unwrap(),
            r#"{"at":5,"contract_id":"1"}"#
        );
    }
}
