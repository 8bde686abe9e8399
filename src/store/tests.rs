//! The store's behaviour, written against the API alone so that every engine runs the same
//! tests: each test takes the engine's `open` (a database directory and master key → a store).
//! [`engine_tests!`] runs them all for one engine; the sled engine's own tests (tampering with
//! stored bytes, rebuilding indexes) follow at the end.

use super::*;
use crate::otp::{HashAlg, Params};
use std::path::Path;

type Open = fn(&Path, Sealer) -> Result<Store, StoreError>;

fn key() -> Sealer {
    Sealer::from_key(&[1; 32])
}

const NOW: u64 = 1_700_000_000;

/// A token of the RFC 6238 test seed (also used by the store's other modules' tests).
pub(super) fn token(store: &Store, serial: &str, kind: TokenKind) -> Token {
    store.new_token(&NewToken {
        serial,
        kind,
        params: Params {
            algorithm: HashAlg::Sha1,
            digits: 6,
            period: 60,
            t0: 0,
        },
        secret: b"12345678901234567890",
    })
}

fn customer(id: &str) -> Customer {
    Customer {
        contract_id: id.into(),
        name: "テスト".into(),
        login_hash: String::new(),
        transfer_hash: String::new(),
        login_fails: 0,
        claim_fails: 0,
        login_temp_locks: 0,
        login_locked_until: 0,
        transfer_lock: Default::default(),
        token: None,
        transfers_blocked: false,
        closed: false,
        from_host: None,
    }
}

fn form(no: &str, contract_id: &str) -> CancelForm {
    CancelForm {
        form_no: no.into(),
        contract_id: contract_id.into(),
        serial: "GMHW00000001".into(),
        received_on: "2023-11-14".into(),
        branch_code: "001".into(),
        identity_checked: true,
        recorded_by: "C0011".into(),
        recorded_at: NOW,
        decision: Decision::Received,
        replacement: None,
        user_id: None,
    }
}

fn release(id: u64, contract_id: &str) -> Release {
    Release {
        id,
        contract_id: contract_id.into(),
        kind: ReleaseKind::Login,
        serial: None,
        note: String::new(),
        recorded_by: "C0011".into(),
        branch_code: "001".into(),
        recorded_at: NOW,
        decision: Decision::Received,
    }
}

fn application(no: &str, contract_id: &str, serial: &str, at: u64) -> Application {
    Application {
        application_no: no.into(),
        contract_id: contract_id.into(),
        serial: serial.into(),
        reason: IssueReason::New,
        fee_yen: 1100,
        returned_serial: None,
        recorded_by: "C0011".into(),
        branch_code: "001".into(),
        at,
    }
}

fn event(tx: &mut Tx, n: u64, contract_id: Option<&str>) -> TxResult<u64> {
    tx.audit(
        NOW + n,
        Event {
            contract_id,
            detail: format!("event {n}"),
            ..Event::new(AuditEvent::StaffLoad)
        },
    )
}

fn serials(tokens: &[Token]) -> Vec<&str> {
    tokens.iter().map(|t| t.serial.as_str()).collect()
}

/// A body that writes a record of every kind, with its index entries, then aborts: nothing of
/// it may remain, counters included.
pub fn aborted_commit_writes_nothing(open: Open) {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path(), key()).unwrap();
    let mut t = token(&s, "GMHW00000001", TokenKind::Hardware);
    t.assigned_to = Some("1".into());
    let err = s
        .commit_now(|tx| {
            tx.put_customer(&customer("1"))?;
            tx.put_token(&t)?;
            tx.put_form(&form("F1", "1"))?;
            tx.put_release(&release(7, "1"))?;
            tx.put_application(&application("A1", "1", &t.serial, NOW))?;
            tx.add_attempt(&Attempt {
                at: NOW,
                contract_id: Some("1".into()),
                ..Default::default()
            })?;
            tx.receipt(ReceiptKind::Registration, "1", &t.serial, None, NOW)?;
            event(tx, 0, Some("1"))?;
            Err::<(), _>(Abort::corrupt("test", "stop"))
        })
        .unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { tree: "test", .. }));
    assert_eq!(s.customer("1").unwrap(), None);
    assert_eq!(s.token(&t.serial).unwrap(), None);
    assert!(s.assigned_tokens("1").unwrap().is_empty());
    assert!(s.forms_of("1").unwrap().is_empty());
    assert!(s.releases_of("1").unwrap().is_empty());
    assert!(s.applications_of("1").unwrap().is_empty());
    assert!(s.attempts_of("1").unwrap().is_empty());
    assert!(s.receipts_of("1").unwrap().is_empty());
    let (forms, releases) = s.pending().unwrap();
    assert!(forms.is_empty() && releases.is_empty());
    let done = s.processed_between(0, u64::MAX).unwrap();
    assert!(done.applications.is_empty());
    assert_eq!(s.verify_audit().unwrap(), Ok(0));
    assert!(s.audit_recent(Some("1"), None, 10).unwrap().is_empty());
    // The counters did not move either: the next write gets the first numbers.
    let (r, seq) = s
        .commit_now(|tx| {
            let r = tx.receipt(ReceiptKind::Registration, "1", "X", None, NOW)?;
            Ok((r, event(tx, 1, None)?))
        })
        .unwrap();
    assert_eq!((r.number, seq), (FIRST_RECEIPT, 0));
}

/// Each lookup lists exactly the records that match it, as they change.
pub fn indexes_follow_records(open: Open) {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path(), key()).unwrap();
    let hw1 = token(&s, "GMHW00000001", TokenKind::Hardware);
    let hw2 = token(&s, "GMHW00000002", TokenKind::Hardware);
    let sw = token(&s, "SYSW00000001", TokenKind::Software);
    s.commit_now(|tx| {
        for t in [&hw1, &hw2, &sw] {
            tx.put_token(t)?;
        }
        tx.put_customer(&customer("1"))?;
        tx.put_customer(&customer("2"))
    })
    .unwrap();
    assert_eq!(
        s.free_hardware_tokens(10).unwrap(),
        vec!["GMHW00000001", "GMHW00000002"]
    );
    assert_eq!(s.free_hardware_tokens(1).unwrap(), vec!["GMHW00000001"]);
    // Handed out for customer 1, then moved to customer 2.
    let mut t = hw1.clone();
    t.assigned_to = Some("1".into());
    s.commit_now(|tx| tx.put_token(&t)).unwrap();
    assert_eq!(serials(&s.assigned_tokens("1").unwrap()), vec![&t.serial]);
    assert_eq!(s.free_hardware_tokens(10).unwrap(), vec!["GMHW00000002"]);
    t.assigned_to = Some("2".into());
    s.commit_now(|tx| tx.put_token(&t)).unwrap();
    assert!(s.assigned_tokens("1").unwrap().is_empty());
    assert_eq!(serials(&s.assigned_tokens("2").unwrap()), vec![&t.serial]);
    // Registered: still assigned (the page shows only available ones), no longer free.
    t.state = TokenState::Active {
        contract_id: "2".into(),
        since: NOW,
    };
    s.commit_now(|tx| tx.put_token(&t)).unwrap();
    assert_eq!(s.assigned_tokens("2").unwrap()[0].state, t.state);

    // Forms and releases: pending until decided, then processed at the decision's time.
    s.commit_now(|tx| {
        tx.put_form(&form("F2", "1"))?;
        tx.put_form(&form("F1", "2"))?;
        tx.put_release(&release(3, "1"))
    })
    .unwrap();
    let (forms, releases) = s.pending().unwrap();
    let numbers: Vec<&str> = forms.iter().map(|f| f.form_no.as_str()).collect();
    assert_eq!(numbers, vec!["F1", "F2"]);
    assert_eq!(releases.len(), 1);
    assert_eq!(s.forms_of("1").unwrap()[0].form_no, "F2");
    assert_eq!(s.releases_of("1").unwrap()[0].id, 3);
    let decided = Decision::Approved {
        by: "S0012".into(),
        at: NOW + 100,
        receipt: None,
    };
    s.commit_now(|tx| {
        tx.put_form(&CancelForm {
            decision: decided.clone(),
            ..form("F2", "1")
        })?;
        tx.put_release(&Release {
            decision: decided.clone(),
            ..release(3, "1")
        })?;
        tx.put_application(&application("A1", "2", &t.serial, NOW + 50))
    })
    .unwrap();
    let (forms, releases) = s.pending().unwrap();
    assert_eq!(forms.len(), 1);
    assert!(releases.is_empty());
    let done = s.processed_between(NOW + 100, NOW + 101).unwrap();
    assert_eq!((done.forms.len(), done.releases.len()), (1, 1));
    assert!(done.applications.is_empty());
    let done = s.processed_between(NOW, NOW + 100).unwrap();
    assert_eq!(done.applications.len(), 1);
    assert!(done.forms.is_empty());
    assert_eq!(s.applications_of("2").unwrap()[0].application_no, "A1");
    assert!(s.applications_of("1").unwrap().is_empty());

    // Attempts, with and without a customer.
    s.commit_now(|tx| {
        tx.add_attempt(&Attempt {
            at: NOW,
            contract_id: Some("1".into()),
            ..Default::default()
        })?;
        // Anonymous ones are counts (per carrier and interval).
        tx.add_attempt(&Attempt {
            at: NOW + 1,
            contract_id: None,
            count: 40,
            carrier: Some("au".into()),
        })?;
        tx.add_attempt(&Attempt {
            at: NOW + 2,
            contract_id: Some("1".into()),
            ..Default::default()
        })
    })
    .unwrap();
    let ats: Vec<u64> = s.attempts_of("1").unwrap().iter().map(|a| a.at).collect();
    assert_eq!(ats, vec![NOW, NOW + 2]);
    assert_eq!(s.attempts().count(), 3);
    let counted: u64 = s.attempts().map(|a| a.unwrap().count).sum();
    assert_eq!(counted, 42);
    assert!(s.attempts_of("2").unwrap().is_empty());

    // A replacement 発行申込書 of a 法人 user waits among the forms, read back as written.
    let replacement = CancelForm {
        replacement: Some(Replacement {
            reason: IssueReason::Battery,
            serial: Some("GMHW00000002".into()),
        }),
        user_id: Some("u1".into()),
        ..form("A9", "1")
    };
    s.commit_now(|tx| tx.put_form(&replacement)).unwrap();
    assert_eq!(s.form("A9").unwrap().as_ref(), Some(&replacement));
    let (forms, _) = s.pending().unwrap();
    assert!(forms.contains(&replacement));
}

/// The audit chain verifies, continues across a reopen, and is read back by customer and
/// time; a database refuses a master key other than its own.
pub fn audit_chain_verifies_and_continues(open: Open) {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = open(dir.path(), key()).unwrap();
        for n in 0..4 {
            let who = if n % 2 == 0 { Some("1") } else { None };
            assert_eq!(s.commit_now(|tx| event(tx, n, who)).unwrap(), n);
        }
    }
    assert!(matches!(
        open(dir.path(), Sealer::from_key(&[2; 32])),
        Err(StoreError::WrongKey)
    ));
    let s = open(dir.path(), key()).unwrap();
    s.commit_now(|tx| event(tx, 4, Some("1"))).unwrap();
    assert_eq!(s.verify_audit().unwrap(), Ok(5));
    let seqs = |recs: Vec<AuditRecord>| recs.iter().map(|r| r.seq).collect::<Vec<_>>();
    assert_eq!(seqs(s.audit_recent(None, None, 3).unwrap()), vec![4, 3, 2]);
    assert_eq!(
        seqs(s.audit_recent(Some("1"), None, 10).unwrap()),
        vec![4, 2, 0]
    );
    assert_eq!(
        seqs(s.audit_recent(Some("1"), Some(NOW + 1), 10).unwrap()),
        vec![4, 2]
    );
    // One page of the trail: the records below number `before`.
    assert_eq!(
        seqs(s.audit_page(None, None, Some(3), 2).unwrap()),
        vec![2, 1]
    );
    assert_eq!(
        seqs(s.audit_page(Some("1"), None, Some(4), 10).unwrap()),
        vec![2, 0]
    );
    assert!(s
        .audit_page(Some("1"), None, Some(0), 10)
        .unwrap()
        .is_empty());
    let rec = s.audit().nth(4).unwrap().unwrap();
    assert_eq!(rec.event, AuditEvent::StaffLoad);
    assert_eq!(rec.event, "staff_load");
}

/// 受付番号 are seven digits, consecutive, never issued twice (across reopening), and listed
/// per customer.
pub fn receipts_are_numbered_once(open: Open) {
    let dir = tempfile::tempdir().unwrap();
    let first = {
        let s = open(dir.path(), key()).unwrap();
        s.commit_now(|tx| tx.receipt(ReceiptKind::Registration, "1", "A", None, NOW))
            .unwrap()
    };
    assert_eq!(first.number, FIRST_RECEIPT);
    let s = open(dir.path(), key()).unwrap();
    let second = s
        .commit_now(|tx| tx.receipt(ReceiptKind::Exchange, "1", "B", Some("A"), NOW))
        .unwrap();
    let other = s
        .commit_now(|tx| tx.receipt(ReceiptKind::Registration, "2", "C", None, NOW))
        .unwrap();
    assert_eq!(second.number, first.number + 1);
    assert_eq!(other.number, first.number + 2);
    assert_eq!(second.number_text().len(), 7);
    let mine: Vec<u32> = s
        .receipts_of("1")
        .unwrap()
        .iter()
        .map(|r| r.number)
        .collect();
    assert_eq!(mine, vec![first.number, second.number]);
    assert_eq!(s.receipt(other.number).unwrap().unwrap().contract_id, "2");
}

/// 法人 contracts and お客様カード: stored whole, read back by ID, listed; a card opens only
/// under its own contract ID and the right key, and is never stored as its digits.
pub fn businesses_and_cards(open: Open) {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path(), key()).unwrap();
    let b = Business {
        contract_id: "2000000001".into(),
        name: "有限会社テスト".into(),
        admin_hash: "h1".into(),
        confirm_hash: "h2".into(),
        usage: Usage::PerUser,
        users: vec![BizUser {
            user_id: "u1".into(),
            name: "利用者1".into(),
            serial: Some("GMHW00000001".into()),
            blocked: false,
        }],
        shared_serial: None,
        admin_fails: 2,
        closed: false,
        from_host: None,
    };
    let card = s.seal_card(&b.contract_id, "40173958");
    assert!(!card.sealed.contains("40173958"));
    s.commit_now(|tx| {
        tx.put_business(&b)?;
        tx.put_card(&card)?;
        // A card record copied to another contract does not open there.
        tx.put_card(&Card {
            contract_id: "2000000002".into(),
            ..card.clone()
        })
    })
    .unwrap();
    drop(s);
    let s = open(dir.path(), key()).unwrap();
    assert_eq!(s.business(&b.contract_id).unwrap(), Some(b.clone()));
    assert_eq!(s.business("2000000009").unwrap(), None);
    let all: Vec<Business> = s.businesses().map(Result::unwrap).collect();
    assert_eq!(all, vec![b.clone()]);
    assert!(s.has_card(&b.contract_id).unwrap());
    assert!(!s.has_card("1").unwrap());
    let digits = s
        .commit_now(|tx| Ok(tx.card_digits(&b.contract_id)?.map(|d| d.to_vec())))
        .unwrap();
    assert_eq!(digits.as_deref(), Some(&b"40173958"[..]));
    assert!(matches!(
        s.commit_now(|tx| tx.card_digits("2000000002").map(|_| ())),
        Err(StoreError::Corrupt { tree: "cards", .. })
    ));
    assert!(s
        .commit_now(|tx| Ok(tx.card_digits("1")?.is_none()))
        .unwrap());
}

/// API callers are found by key hash and by name, revoked or not.
pub fn api_keys_by_hash_and_name(open: Open) {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path(), key()).unwrap();
    let key_of = |name: &str, byte: u8| ApiKey {
        name: name.into(),
        hash_hex: hex::encode([byte; 32]),
        created: NOW,
        revoked: None,
    };
    s.commit_now(|tx| {
        tx.put_api_key(&key_of("ib-core", 1))?;
        tx.put_api_key(&key_of("sp-app", 2))
    })
    .unwrap();
    assert_eq!(s.api_key(&[1; 32]).unwrap().unwrap().name, "ib-core");
    assert_eq!(s.api_key(&[3; 32]).unwrap(), None);
    let revoked = ApiKey {
        revoked: Some(NOW + 1),
        ..key_of("ib-core", 1)
    };
    s.commit_now(|tx| {
        tx.put_api_key(&revoked)?;
        tx.put_api_key(&key_of("ib-core", 4))
    })
    .unwrap();
    let named = s.api_keys_named("ib-core").unwrap();
    assert_eq!(named.len(), 2);
    assert_eq!(named.iter().filter(|k| k.revoked.is_none()).count(), 1);
    assert_eq!(s.api_keys_named("sp-app").unwrap().len(), 1);
    assert_eq!(s.api_keys().count(), 3);
    // A hash that is not 32 bytes of hex is refused, and nothing is written.
    let bad = ApiKey {
        hash_hex: "zz".into(),
        ..key_of("bad", 0)
    };
    assert!(s.commit_now(|tx| tx.put_api_key(&bad)).is_err());
    assert!(s.api_keys_named("bad").unwrap().is_empty());
}

/// Bulk loads and token loads list their records in the indexes like transactions do.
pub fn bulk_loads_are_indexed(open: Open) {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path(), key()).unwrap();
    let mut assigned = token(&s, "GMHW00000001", TokenKind::Hardware);
    assigned.assigned_to = Some("1".into());
    let free = token(&s, "GMHW00000002", TokenKind::Hardware);
    s.bulk_load([customer("1")], [assigned.clone(), free.clone()], NOW)
        .unwrap();
    assert_eq!(
        serials(&s.assigned_tokens("1").unwrap()),
        vec![&assigned.serial]
    );
    assert_eq!(
        s.free_hardware_tokens(10).unwrap(),
        vec![free.serial.clone()]
    );
    // Replacing a free hardware token by a software one takes it off the free list.
    let sw = token(&s, "GMHW00000002", TokenKind::Software);
    let event = Event::new(AuditEvent::Import);
    assert_eq!(s.load_tokens([&sw], event, NOW).unwrap(), 1);
    assert!(s.free_hardware_tokens(10).unwrap().is_empty());
    assert_eq!(
        s.existing_tokens(["GMHW00000002", "NOPE"]).unwrap().len(),
        1
    );
    assert_eq!(s.verify_audit().unwrap(), Ok(2));
}

/// Staff records and signed-in staff sessions: read back, listed, removed; new fields of old
/// records read as their defaults.
pub fn staff_and_their_sessions(open: Open) {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path(), key()).unwrap();
    let staff = Staff {
        staff_id: "S0012".into(),
        name: "本店課長".into(),
        branch_code: "001".into(),
        role: Role::Supervisor,
        password_hash: "$argon2id$x".into(),
        disabled: false,
        must_change: true,
        sign_in_fails: 3,
        last_attempt: NOW,
    };
    let session = |k: &str, seen: u64| StaffSessionRecord {
        key: k.into(),
        csrf: "c".into(),
        staff_id: "S0012".into(),
        created: NOW,
        last_seen: seen,
    };
    s.commit_now(|tx| {
        tx.put_staff(&staff)?;
        tx.put_staff_session(&session("a", NOW))?;
        tx.put_staff_session(&session("b", NOW + 60))
    })
    .unwrap();
    assert_eq!(s.staff("S0012").unwrap().as_ref(), Some(&staff));
    assert_eq!(s.every_staff().count(), 1);
    assert_eq!(s.staff_session("b").unwrap().unwrap().last_seen, NOW + 60);
    assert_eq!(s.staff_sessions().count(), 2);
    s.commit_now(|tx| tx.remove_staff_session("a")).unwrap();
    assert!(s.staff_session("a").unwrap().is_none());
    assert_eq!(s.staff_sessions().count(), 1);
    let old: Staff = serde_json::from_str(
        r#"{"staff_id":"C1","name":"n","branch_code":"001","role":"clerk","password_hash":"h"}"#,
    )
    .unwrap();
    assert!(!old.disabled && !old.must_change && old.sign_in_fails == 0);
}

/// An engine's way of opening several banks in one database (see [`Store::open_banks`]).
type OpenBanks = fn(&Path, &Sealer, &[BankCode]) -> Result<Vec<Store>, StoreError>;

/// Two banks in one database: the same contract ID is two customers, a serial is one bank's,
/// 受付番号 and audit chains are per bank, every audit record names its bank; reopened, each
/// bank finds its own again.
fn banks_keep_their_records_apart(open_banks: OpenBanks) {
    let dir = tempfile::tempdir().unwrap();
    let codes = ["1020", "1021"].map(|c| BankCode::parse(c).unwrap());
    {
        let banks = open_banks(dir.path(), &key(), &codes).unwrap();
        let (a, b) = (&banks[0], &banks[1]);
        assert_eq!(a.bank(), Some(&codes[0]));
        let mut taro = customer("1000000001");
        taro.name = "青葉太郎".into();
        let t = token(a, "GMHW00000001", TokenKind::Hardware);
        a.commit_now(|tx| {
            tx.put_customer(&taro)?;
            tx.put_token(&t)
        })
        .unwrap();
        let mut ichiro = customer("1000000001");
        ichiro.name = "南一郎".into();
        b.commit_now(|tx| tx.put_customer(&ichiro)).unwrap();
        assert_eq!(a.customer("1000000001").unwrap().unwrap().name, "青葉太郎");
        assert_eq!(b.customer("1000000001").unwrap().unwrap().name, "南一郎");
        assert!(b.token("GMHW00000001").unwrap().is_none());
        let receipt = |s: &Store| {
            s.commit_now(|tx| {
                tx.receipt(ReceiptKind::Registration, "1000000001", "S", None, NOW)
                    .map(|r| r.number)
            })
            .unwrap()
        };
        assert_eq!(
            (receipt(a), receipt(a), receipt(b)),
            (1_000_001, 1_000_002, 1_000_001)
        );
        for n in 0..3 {
            a.commit_now(|tx| event(tx, n, Some("1000000001"))).unwrap();
        }
        b.commit_now(|tx| event(tx, 0, None)).unwrap();
    }
    let banks = open_banks(dir.path(), &key(), &codes).unwrap();
    assert_eq!(banks[0].verify_audit().unwrap(), Ok(3));
    assert_eq!(banks[1].verify_audit().unwrap(), Ok(1));
    for (store, code) in banks.iter().zip(&codes) {
        for rec in store.audit() {
            assert_eq!(rec.unwrap().bank.as_deref(), Some(code.as_str()));
        }
    }
    assert_eq!(banks[1].receipts_of("1000000001").unwrap().len(), 1);
    // A record number (the API's `receipt`) is looked up in its own bank's trail.
    let third = banks[0]
        .audit_record(2)
        .unwrap()
        .expect("record 2 of bank A");
    assert_eq!((third.seq, third.bank.as_deref()), (2, Some("1020")));
    assert!(banks[1].audit_record(2).unwrap().is_none());
}

/// Runs every engine-neutral test above against one engine's `open`.
macro_rules! engine_tests {
    ($open:expr; $($test:ident),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                super::$test($open);
            }
        )*
    };
}

mod postgres_engine {
    use super::*;
    use crate::store::pg::harness;

    /// A database of the shared throw-away cluster per test directory.
    fn open(dir: &Path, sealer: Sealer) -> Result<Store, StoreError> {
        let url = harness::shared().database(&harness::name_for(dir));
        Store::open_postgres(&url, sealer)
    }

    engine_tests!(open;
        aborted_commit_writes_nothing,
        indexes_follow_records,
        audit_chain_verifies_and_continues,
        receipts_are_numbered_once,
        api_keys_by_hash_and_name,
        bulk_loads_are_indexed,
        businesses_and_cards,
        staff_and_their_sessions,
    );

    #[test]
    fn banks_keep_their_records_apart() {
        super::banks_keep_their_records_apart(|dir, sealer, banks| {
            let url = harness::shared().database(&harness::name_for(dir));
            Store::open_banks_postgres(&url, sealer, banks)
        });
    }

    /// A one-bank database's rows (bank '') are no bank's; a bank's staff, staff sessions, API
    /// keys and phone sessions are its own.
    #[test]
    fn a_one_bank_database_is_no_banks_and_sessions_stay_in_their_bank() {
        let dir = tempfile::tempdir().unwrap();
        let url = harness::shared().database(&harness::name_for(dir.path()));
        let one = Store::open_postgres(&url, key()).unwrap();
        one.commit_now(|tx| tx.put_customer(&customer("1000000001")))
            .unwrap();
        assert_eq!(one.bank(), None);
        let codes = ["1020", "1021"].map(|c| BankCode::parse(c).unwrap());
        let banks = Store::open_banks_postgres(&url, &key(), &codes).unwrap();
        let (a, b) = (&banks[0], &banks[1]);
        assert!(a.customer("1000000001").unwrap().is_none());
        assert!(!one.is_empty() && a.is_empty());
        let staff: Staff = serde_json::from_str(
            r#"{"staff_id":"C1","name":"n","branch_code":"001","role":"clerk","password_hash":"h"}"#,
        )
        .unwrap();
        a.commit_now(|tx| tx.put_staff(&staff)).unwrap();
        assert!(a.staff("C1").unwrap().is_some());
        assert!(b.staff("C1").unwrap().is_none() && one.staff("C1").unwrap().is_none());
        assert_eq!(b.every_staff().count(), 0);
        let idle = std::time::Duration::from_secs(60);
        let (sa, sb) = (
            a.shared_sessions("phone", idle).unwrap(),
            b.shared_sessions("phone", idle).unwrap(),
        );
        sa.insert("sid", r#"{"n":1}"#).unwrap();
        assert!(sa.get("sid").unwrap().is_some());
        assert!(
            sb.get("sid").unwrap().is_none(),
            "a session of bank A under bank B"
        );
        assert_eq!((sa.count().unwrap(), sb.count().unwrap()), (1, 0));
        assert_eq!(one.verify_audit().unwrap(), Ok(0));
        assert_eq!(a.verify_audit().unwrap(), Ok(0));
    }
}

mod sled_engine {
    use super::*;

    fn open(dir: &Path, sealer: Sealer) -> Result<Store, StoreError> {
        Store::open(dir, sealer)
    }

    engine_tests!(open;
        aborted_commit_writes_nothing,
        indexes_follow_records,
        audit_chain_verifies_and_continues,
        receipts_are_numbered_once,
        api_keys_by_hash_and_name,
        bulk_loads_are_indexed,
        businesses_and_cards,
        staff_and_their_sessions,
    );

    #[test]
    fn banks_keep_their_records_apart() {
        super::banks_keep_their_records_apart(|dir, sealer, banks| {
            Store::open_banks(dir, sealer, SERVING_CACHE, banks)
        });
    }

    /// A one-bank database keeps its unprefixed trees: no bank's view sees its records.
    #[test]
    fn a_one_bank_database_is_no_banks() {
        let dir = tempfile::tempdir().unwrap();
        {
            let one = open(dir.path(), key()).unwrap();
            one.commit_now(|tx| tx.put_customer(&customer("1000000001")))
                .unwrap();
            assert_eq!(one.bank(), None);
        }
        let code = BankCode::parse("1999").unwrap();
        let banks = Store::open_banks(dir.path(), &key(), SERVING_CACHE, &[code]).unwrap();
        assert!(banks[0].customer("1000000001").unwrap().is_none());
    }

    #[test]
    fn audit_chain_names_the_first_tampered_record() {
        let dir = tempfile::tempdir().unwrap();
        let s = open(dir.path(), key()).unwrap();
        for n in 0..5 {
            s.commit_now(|tx| event(tx, n, None)).unwrap();
        }
        assert_eq!(s.verify_audit().unwrap(), Ok(5));
        // Rewrite record 2's detail (as an attacker with the database would).
        let audit = s.sled().tree(T::Audit);
        let key = 2u64.to_be_bytes();
        let mut rec: AuditRecord =
            serde_json::from_slice(&audit.get(key).unwrap().unwrap()).unwrap();
        rec.detail = "nothing happened".into();
        audit.insert(key, encode(&rec)).unwrap();
        assert_eq!(s.verify_audit().unwrap(), Err(2));
        // Recomputing its hash does not help: the next record no longer links to it.
        rec.hash = audit::digest(&rec);
        audit.insert(key, encode(&rec)).unwrap();
        assert_eq!(s.verify_audit().unwrap(), Err(3));
        // Deleting a record breaks the sequence: record 3 is named as missing.
        audit.remove(3u64.to_be_bytes()).unwrap();
        assert_eq!(s.verify_audit().unwrap(), Err(3));
    }

    /// A database written before the indexes (no format recorded, no index trees) gets them
    /// at open, once.
    #[test]
    fn missing_indexes_are_built_at_open() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = open(dir.path(), key()).unwrap();
            let mut t = token(&s, "GMHW00000001", TokenKind::Hardware);
            t.assigned_to = Some("1".into());
            s.commit_now(|tx| {
                tx.put_token(&t)?;
                tx.put_form(&form("F1", "1"))?;
                tx.add_attempt(&Attempt {
                    at: NOW,
                    contract_id: Some("1".into()),
                    ..Default::default()
                })?;
                tx.receipt(ReceiptKind::Registration, "1", &t.serial, None, NOW)?;
                event(tx, 0, Some("1")).map(|_| ())
            })
            .unwrap();
            for ix in index::INDEXES {
                s.sled().tree(ix).clear().unwrap();
            }
            s.sled().tree(T::Meta).remove("format").unwrap();
            s.flush().unwrap();
            assert!(s.forms_of("1").unwrap().is_empty());
        }
        let s = open(dir.path(), key()).unwrap();
        assert_eq!(s.assigned_tokens("1").unwrap().len(), 1);
        assert_eq!(s.forms_of("1").unwrap().len(), 1);
        assert_eq!(s.pending().unwrap().0.len(), 1);
        assert_eq!(s.attempts_of("1").unwrap().len(), 1);
        assert_eq!(s.receipts_of("1").unwrap().len(), 1);
        assert_eq!(s.audit_recent(Some("1"), None, 10).unwrap().len(), 1);
        assert_eq!(
            meta_u32(s.sled().tree(T::Meta), "format").unwrap(),
            Some(index::FORMAT)
        );
    }

    /// Attempts stored before they had a counter (keyed by audit sequence) are kept, and new
    /// ones are keyed after them.
    #[test]
    fn attempt_keys_continue_after_old_ones() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = open(dir.path(), key()).unwrap();
            let old = Attempt {
                at: NOW,
                contract_id: Some("1".into()),
                ..Default::default()
            };
            s.sled()
                .tree(T::Attempts)
                .insert(41u64.to_be_bytes(), encode(&old))
                .unwrap();
            s.sled().tree(T::Meta).remove("format").unwrap();
            s.flush().unwrap();
        }
        let s = open(dir.path(), key()).unwrap();
        s.commit_now(|tx| {
            tx.add_attempt(&Attempt {
                at: NOW + 1,
                contract_id: Some("1".into()),
                ..Default::default()
            })
        })
        .unwrap();
        let ats: Vec<u64> = s.attempts_of("1").unwrap().iter().map(|a| a.at).collect();
        assert_eq!(ats, vec![NOW, NOW + 1]);
    }
}
