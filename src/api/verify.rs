//! `POST /api/v1/otp/verify`: another channel asks whether a customer's OTP is good. The check
//! is the phone's own ([`ledger::check_otp_audited`]): same replay state, fail counter and
//! lockout. Every decided call answers 200 with the result and the audit record's number.

use super::keys::Caller;
use super::{json, ApiError};
use crate::app::App;
use crate::clock;
use crate::ids::{ContractId, OtpCode};
use crate::ledger::{self, OtpCheck, OtpRefusal};
use crate::reply::Reply;
use hyper::StatusCode;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// The request body. Strings borrow from the body unless they hold JSON escapes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body<'a> {
    #[serde(borrow)]
    contract_id: Cow<'a, str>,
    #[serde(borrow)]
    otp: Cow<'a, str>,
    #[serde(borrow)]
    purpose: Cow<'a, str>,
    /// 法人: the 利用者ID whose token is asked about.
    #[serde(borrow, default)]
    user_id: Option<Cow<'a, str>>,
    /// The bank (金融機関コード) the caller means; must be the path's bank when given.
    #[serde(borrow, default)]
    bank: Option<Cow<'a, str>>,
}

/// What the code is for, as the caller says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Login,
    Transfer,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Login => "login",
            Purpose::Transfer => "transfer",
        }
    }
}

/// A checked request. No `Debug`: it holds the OTP.
pub struct Query<'a> {
    pub contract_id: ContractId,
    pub otp: OtpCode,
    pub purpose: Purpose,
    /// 法人: the user of the business contract.
    pub user_id: Option<Cow<'a, str>>,
    /// The bank the caller names, if it does.
    pub bank: Option<Cow<'a, str>>,
}

/// Parses and checks the body. Messages are fixed: serde's own would echo values (the OTP).
pub fn parse(body: &[u8]) -> Result<Query<'_>, ApiError> {
    const SHAPE: &str = "expected {\"contract_id\": string, \"otp\": string, \"purpose\": \"login\" | \"transfer\", optional \"user_id\": string, optional \"bank\": string} and no other fields";
    // serde would take a JSON array as the fields in order: only an object is the contract.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::BadRequest(if body.trim_ascii().is_empty() {
            "body is not valid JSON"
        } else {
            SHAPE
        }));
    }
    let b: Body = serde_json::from_slice(body).map_err(|e| {
        ApiError::BadRequest(if e.is_data() {
            SHAPE
        } else {
            "body is not valid JSON"
        })
    })?;
    let contract_id = ContractId::parse(&b.contract_id)
        .map_err(|_| ApiError::BadRequest("contract_id must be 1 to 16 ASCII letters or digits"))?;
    let otp = OtpCode::parse(&b.otp)
        .map_err(|_| ApiError::BadRequest("otp must be 6 to 8 ASCII digits"))?;
    if let Some(u) = &b.user_id {
        if u.is_empty() || u.len() > 16 || !u.bytes().all(|c| c.is_ascii_alphanumeric()) {
            return Err(ApiError::BadRequest(
                "user_id must be 1 to 16 ASCII letters or digits",
            ));
        }
    }
    let purpose = match b.purpose.as_ref() {
        "login" => Purpose::Login,
        "transfer" => Purpose::Transfer,
        _ => {
            return Err(ApiError::BadRequest(
                "purpose must be \"login\" or \"transfer\"",
            ))
        }
    };
    Ok(Query {
        contract_id,
        otp,
        purpose,
        user_id: b.user_id,
        bank: b.bank,
    })
}

/// The answer's `result`. An unknown contract ID is a plain `reject` (the audit record names it):
/// callers gain nothing from a separate kind, and it is not one the issue asks for.
pub fn result_name(check: &OtpCheck) -> &'static str {
    match check {
        OtpCheck::Accepted { .. } => "accept",
        OtpCheck::Refused(OtpRefusal::Wrong { .. }) | OtpCheck::UnknownCustomer => "reject",
        OtpCheck::Refused(OtpRefusal::Replayed) => "replayed",
        OtpCheck::Refused(OtpRefusal::LockedNow | OtpRefusal::Locked) => "locked",
        OtpCheck::NoToken => "no_token",
        OtpCheck::Cancelled => "cancelled",
    }
}

#[derive(Serialize)]
struct Verdict {
    result: &'static str,
    receipt: String,
}

/// Verifies one code for `caller`.
pub async fn verify(app: &App, caller: &Caller, body: &[u8]) -> Result<Reply, ApiError> {
    let q = parse(body)?;
    // Contract IDs repeat between banks: a request naming another bank than its path's is
    // refused, never checked against this bank's customer of the same ID.
    if q.bank
        .as_deref()
        .is_some_and(|b| b != app.config.bank.bank_code)
    {
        return Err(ApiError::BadRequest(
            "bank is not the bank of this path (/CODE/api/...)",
        ));
    }
    let mut detail = format!("api caller={} purpose={}", caller.name, q.purpose.as_str());
    if let Some(u) = &q.user_id {
        detail.push_str(&format!(" user={u}"));
    }
    let (check, seq) = ledger::check_otp_audited_for(
        &app.store,
        &q.contract_id,
        q.user_id.as_deref(),
        &q.otp,
        clock::now_unix(),
        app.config.bank.policy.otp_fail_limit,
        &detail,
    )
    .await?;
    Ok(json(
        StatusCode::OK,
        &Verdict {
            result: result_name(&check),
            receipt: seq.to_string(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_good_bodies() {
        let q =
            parse(br#"{"contract_id":"1000000002","otp":"123456","purpose":"transfer"}"#).unwrap();
        assert_eq!(q.contract_id.as_str(), "1000000002");
        assert_eq!(q.otp.as_str(), "123456");
        assert_eq!(q.purpose, Purpose::Transfer);
    }

    #[test]
    fn takes_an_optional_user_id_for_business_contracts() {
        let q = parse(br#"{"contract_id":"2000000001","otp":"123456","purpose":"transfer","user_id":"kitami01"}"#).unwrap();
        assert_eq!(q.user_id.as_deref(), Some("kitami01"));
        let q = parse(br#"{"contract_id":"1","otp":"123456","purpose":"login"}"#).unwrap();
        assert!(q.user_id.is_none());
        for body in [
            &br#"{"contract_id":"1","otp":"987654","purpose":"login","user_id":""}"#[..],
            br#"{"contract_id":"1","otp":"987654","purpose":"login","user_id":"a b"}"#,
            br#"{"contract_id":"1","otp":"987654","purpose":"login","user_id":7}"#,
        ] {
            assert!(matches!(parse(body), Err(ApiError::BadRequest(_))));
        }
    }

    #[test]
    fn refuses_bad_bodies_without_echoing_them() {
        for body in [
            &b""[..],
            b"{",
            b"[]",
            br#"["1","987654","login"]"#,
            br#"{"contract_id":"1","otp":"123456"}"#,
            br#"{"contract_id":"1","otp":987654,"purpose":"login"}"#,
            br#"{"contract_id":"1","otp":"987654","purpose":"login","x":1}"#,
            br#"{"contract_id":"","otp":"987654","purpose":"login"}"#,
            br#"{"contract_id":"1 2","otp":"987654","purpose":"login"}"#,
            br#"{"contract_id":"1","otp":"98765","purpose":"login"}"#,
            br#"{"contract_id":"1","otp":"98765a","purpose":"login"}"#,
            br#"{"contract_id":"1","otp":"987654","purpose":"withdraw"}"#,
        ] {
            match parse(body).map(|q| q.purpose) {
                Err(ApiError::BadRequest(m)) => assert!(!m.contains("98765"), "{m}"),
                other => panic!("{:?}: {other:?}", String::from_utf8_lossy(body)),
            }
        }
    }
}
