//! The お客様カード 確認用パスワード check (seeds 000, 001): the bank picks two of the card's
//! eight positions (ア..ク) for each attempt and the customer types the two digits printed
//! there. A wrong answer counts toward the same lockout as the passwords (a personal customer's
//! login counter, a business administrator's counter) and the next attempt gets a new pair.

use crate::store::{AuditEvent, Event, Store, StoreError, Tx, TxResult, CARD_POSITIONS};
use subtle::ConstantTimeEq;

/// Two distinct card positions (0 = ア .. 7 = ク), in card order.
pub type Positions = [u8; 2];

/// Two positions picked at random from the OS source.
pub fn pick() -> Positions {
    let mut b = [0u8; 2];
    // The OS random source failing is unrecoverable for a server that issues secrets.
    getrandom::fill(&mut b).expect("OS random source");
    let first = b[0] % 8;
    // 1..=7 places on: never the same position twice, every pair equally likely.
    let second = (first + 1 + b[1] % 7) % 8;
    [first.min(second), first.max(second)]
}

/// The katakana of each position, as the card prints them.
pub fn labels(p: Positions) -> [&'static str; 2] {
    [
        CARD_POSITIONS[p[0] as usize % 8],
        CARD_POSITIONS[p[1] as usize % 8],
    ]
}

/// Whether `digits` (a card: eight ASCII digits) reads `answer` at `p`, in constant time.
pub fn matches(digits: &[u8], p: Positions, answer: [&str; 2]) -> bool {
    let want = [
        digits.get(p[0] as usize).copied().unwrap_or(0),
        digits.get(p[1] as usize).copied().unwrap_or(0),
    ];
    let got: Vec<u8> = answer
        .iter()
        .map(|a| match a.as_bytes() {
            [d] if d.is_ascii_digit() => *d,
            _ => 0xff,
        })
        .collect();
    digits.len() == 8 && bool::from(want.as_slice().ct_eq(&got))
}

/// Whether `s` can be printed on a card: eight ASCII digits.
pub fn valid(s: &str) -> bool {
    s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Whose counter a card answer counts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// A personal customer: the login fail counter, shared with both passwords.
    Personal,
    /// A business contract's administrator: the administrator's counter.
    Business,
}

/// The result of a card answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardCheck {
    Ok,
    Wrong {
        left: u32,
    },
    LockedNow,
    Locked,
    /// No card on file for the contract (the bank has not issued one).
    NoCard,
}

/// Checks `answer` at `p` against `contract_id`'s card, counting a wrong answer toward the
/// lockout at `limit`: one durable write with its audit record.
pub async fn check(
    store: &Store,
    holder: Holder,
    contract_id: &str,
    p: Positions,
    answer: [&str; 2],
    now: u64,
    limit: u32,
) -> Result<CardCheck, StoreError> {
    store
        .commit(|tx| check_in(tx, holder, contract_id, p, answer, now, limit))
        .await
}

fn check_in(
    tx: &mut Tx,
    holder: Holder,
    contract_id: &str,
    p: Positions,
    answer: [&str; 2],
    now: u64,
    limit: u32,
) -> TxResult<CardCheck> {
    let fails = match holder {
        Holder::Personal => tx.customer(contract_id)?.map(|c| c.login_fails),
        Holder::Business => tx.business(contract_id)?.map(|b| b.admin_fails),
    };
    let Some(fails) = fails else {
        return Ok(CardCheck::NoCard);
    };
    if fails >= limit {
        return Ok(CardCheck::Locked);
    }
    let Some(digits) = tx.card_digits(contract_id)? else {
        return Ok(CardCheck::NoCard);
    };
    let ok = matches(&digits, p, answer);
    let fails = if ok { 0 } else { fails + 1 };
    match holder {
        Holder::Personal => {
            if let Some(mut c) = tx.customer(contract_id)? {
                c.login_fails = fails;
                tx.put_customer(&c)?;
            }
        }
        Holder::Business => {
            if let Some(mut b) = tx.business(contract_id)? {
                b.admin_fails = fails;
                tx.put_business(&b)?;
            }
        }
    }
    let (event, result) = if ok {
        (AuditEvent::CardOk, CardCheck::Ok)
    } else if fails >= limit {
        (AuditEvent::CardLockout, CardCheck::LockedNow)
    } else {
        (
            AuditEvent::CardFailed,
            CardCheck::Wrong {
                left: limit - fails,
            },
        )
    };
    let [a, b] = labels(p);
    tx.audit(
        now,
        Event {
            contract_id: Some(contract_id),
            // The positions asked, never the digits.
            detail: format!("お客様カード ({a},{b})"),
            ..Event::new(event)
        },
    )?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_distinct_ordered_and_cover_the_card() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..2000 {
            let p = pick();
            assert!(p[0] < p[1] && p[1] < 8, "{p:?}");
            seen.insert(p);
        }
        assert_eq!(seen.len(), 28, "every one of the 28 pairs turns up");
    }

    #[test]
    fn answers_match_only_the_digits_at_the_positions() {
        let card = b"40173958";
        assert_eq!(labels([2, 5]), ["ウ", "カ"]);
        assert!(matches(card, [2, 5], ["1", "9"]));
        assert!(!matches(card, [2, 5], ["9", "1"]));
        assert!(!matches(card, [2, 5], ["1", ""]));
        assert!(!matches(card, [2, 5], ["01", "9"]));
        assert!(!matches(b"4017", [2, 3], ["1", "7"]), "not a card");
        assert!(valid("40173958") && !valid("4017395") && !valid("4017395a"));
    }
}
