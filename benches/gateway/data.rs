//! Generated banks: customers and hardware tokens from a deterministic seed, loaded through the
//! store's bulk loader, and token inventory CSVs. Everything lives under target/bench-data/.

use keitai_gateway::banks::BankCode;
use keitai_gateway::inventory::Seed;
use keitai_gateway::otp::{HashAlg, Params};
use keitai_gateway::seal::Sealer;
use keitai_gateway::store::{Binding, Customer, Store, TokenKind, TokenState};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const LOGIN_PASSWORD: &str = "Pass1234";
pub const TRANSFER_PASSWORD: &str = "Move1234";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data")
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn contract_id(i: u64) -> String {
    (3_000_000_000 + i).to_string()
}

pub fn serial(i: u64) -> String {
    format!("BNHW{i:08}")
}

/// Token `i`'s seed: 20 bytes from SHA-256 of a fixed label and `i`.
pub fn secret(i: u64) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(b"keitai-gateway bench token");
    h.update(i.to_be_bytes());
    h.finalize()[..20].to_vec()
}

pub fn params() -> Params {
    Params {
        algorithm: HashAlg::Sha1,
        digits: 6,
        period: 60,
        t0: 0,
    }
}

/// The code token `i` shows at `unix`.
pub fn code(i: u64, unix: u64) -> String {
    params().code_at(&secret(i), unix)
}

fn seed(i: u64) -> Seed {
    Seed {
        serial: serial(i),
        kind: TokenKind::Hardware,
        params: params(),
        secret: zeroize::Zeroizing::new(secret(i)),
    }
}

/// A bank of `customers` customers and as many hardware tokens; customer `i < bound` holds
/// token `i` (ログイン時のワンタイムパスワード 認証する). Every customer has the same two
/// passwords, hashed once: a hundred thousand argon2 hashes would take longer than the bench.
pub fn build_bank(dir: &Path, customers: u64, bound: u64) -> PathBuf {
    if dir.exists() {
        std::fs::remove_dir_all(dir).expect("remove old bench data");
    }
    std::fs::create_dir_all(dir).expect("bench data dir");
    let key = dir.join("master.key");
    let sealer = Sealer::create(&key).expect("key file");
    let store = Store::open(&dir.join("db"), sealer).expect("open store");
    fill(&store, customers, bound);
    key
}

/// Banks `codes` in one database under `dir`, each of `customers` customers and tokens like
/// [`build_bank`]'s (the same contract IDs and serials: each bank has its own).
pub fn build_banks(dir: &Path, codes: &[BankCode], customers: u64) -> PathBuf {
    if dir.exists() {
        std::fs::remove_dir_all(dir).expect("remove old bench data");
    }
    std::fs::create_dir_all(dir).expect("bench data dir");
    let key = dir.join("master.key");
    let sealer = Sealer::create(&key).expect("key file");
    let cache = keitai_gateway::store::SERVING_CACHE;
    for store in Store::open_banks(&dir.join("db"), &sealer, cache, codes).expect("open stores") {
        fill(&store, customers, 0);
    }
    key
}

/// Loads the bank of [`build_bank`] into `store` (empty, of either engine).
pub fn fill(store: &Store, customers: u64, bound: u64) {
    let login = keitai_gateway::password::hash(LOGIN_PASSWORD).expect("hash");
    let transfer = keitai_gateway::password::hash(TRANSFER_PASSWORD).expect("hash");
    let now = keitai_gateway::clock::now_unix();
    let people = (0..customers).map(|i| Customer {
        contract_id: contract_id(i),
        name: "信金太郎".into(),
        login_hash: login.clone(),
        transfer_hash: transfer.clone(),
        login_fails: 0,
        claim_fails: 0,
        login_temp_locks: 0,
        login_locked_until: 0,
        transfer_lock: Default::default(),
        token: (i < bound).then(|| Binding {
            serial: serial(i),
            since: now,
            login_otp: true,
            subscriber_id: None,
        }),
        transfers_blocked: false,
        closed: false,
        from_host: None,
    });
    let tokens = (0..customers).map(|i| {
        let mut t = store.new_token(&seed(i).as_new());
        if i < bound {
            t.state = TokenState::Active {
                contract_id: contract_id(i),
                since: now,
            };
        }
        t
    });
    store.bulk_load(people, tokens, now).expect("bulk load");
    load_business(store, now);
}

/// Opens the store of a bank just built. sled lets go of its lock a moment after the last
/// handle is dropped (its flusher thread ends on its own time): a refused lock is tried again.
pub fn reopen(dir: &Path, key: &Path) -> Store {
    let began = std::time::Instant::now();
    loop {
        match Store::open(&dir.join("db"), Sealer::load(key).expect("key")) {
            Ok(store) => return store,
            Err(e) if began.elapsed() < std::time::Duration::from_secs(10) => {
                eprintln!("bench: reopening {}: {e}; trying again", dir.display());
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(e) => panic!("store {}: {e}", dir.display()),
        }
    }
}

/// The bench's 法人 contract (its administrator's pages are in the bytes table).
pub const BIZ: (&str, &str, &str) = ("9000000001", "Admin9001", "40173958");

fn load_business(store: &Store, now: u64) {
    use keitai_gateway::business::load::{self, NewBusiness, NewUser};
    let users = ["bench01", "bench02", "bench03"].map(|u| NewUser {
        contract_id: BIZ.0.into(),
        user_id: u.into(),
        name: "信金太郎".into(),
    });
    let contract = NewBusiness {
        contract_id: BIZ.0.into(),
        name: "有限会社ベンチ".into(),
        admin_password: BIZ.1.into(),
        confirm_pin: "Kakunin9001".into(),
        card: BIZ.2.into(),
        usage: "per_user".into(),
        users: users.to_vec(),
    };
    load::load(store, &[contract], now).expect("business contract");
}

/// A bank that is only read (start-up time): built once and kept between runs.
pub fn cached_bank(name: &str, customers: u64) -> (PathBuf, PathBuf) {
    let dir = root().join(name);
    let done = dir.join("complete");
    if !done.exists() {
        build_bank(&dir, customers, 0);
        std::fs::write(&done, b"").expect("marker");
    }
    (dir.clone(), dir.join("master.key"))
}

/// The host's export of `n` customers (`customers import`), every hash the same precomputed
/// bcrypt string (the import checks a hash's form, never computes one). Written anew each
/// time; the caller removes it.
pub fn customers_csv(n: u64) -> PathBuf {
    std::fs::create_dir_all(root()).expect("bench data dir");
    let path = root().join(format!("customers-{n}.csv"));
    let hash = bcrypt::hash(LOGIN_PASSWORD, 12).expect("bcrypt");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).expect("csv"));
    out.write_all(b"\xEF\xBB\xBF").expect("csv");
    write!(
        out,
        "contract_id,name,login_password_hash,transfer_password_hash,status\r\n"
    )
    .expect("csv");
    for i in 0..n {
        let status = if i % 100 == 99 { "closed" } else { "active" };
        write!(out, "{},顧客{i},{hash},{hash},{status}\r\n", contract_id(i)).expect("csv");
    }
    out.flush().expect("csv");
    path
}

/// The pre-shared key of the committed encrypted PSKC fixture (RFC 6030 §6.1's), in hex.
pub const PSKC_PSK_HEX: &str = "12345678901234567890123456789012";

/// An encrypted PSKC file of `n` key packages: the committed fixture's first package (its
/// seed AES-128-CBC encrypted, with its MAC) repeated under serials of the bench's own.
/// Written anew each time; the caller removes it.
pub fn pskc_file(n: u64) -> PathBuf {
    let fixture = std::fs::read_to_string(repo().join("tests/fixtures/pskc/encrypted.pskcxml"))
        .expect("PSKC fixture");
    let first = fixture.find("<pskc:KeyPackage>").expect("a KeyPackage");
    let end = fixture.find("</pskc:KeyPackage>").expect("its end") + "</pskc:KeyPackage>".len();
    let (head, package) = (&fixture[..first], &fixture[first..end]);
    let serial = "KT4A7Q2M9X01";
    assert!(package.contains(serial), "the fixture's first serial");
    std::fs::create_dir_all(root()).expect("bench data dir");
    let path = root().join(format!("tokens-{n}.pskcxml"));
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).expect("pskc"));
    out.write_all(head.as_bytes()).expect("pskc");
    for i in 0..n {
        let mine = package.replace(serial, &format!("BNPS{i:08}"));
        out.write_all(mine.as_bytes()).expect("pskc");
        out.write_all(b"\n ").expect("pskc");
    }
    out.write_all(b"</pskc:KeyContainer>\n").expect("pskc");
    out.flush().expect("pskc");
    path
}

/// A vendor inventory CSV of `n` tokens (serials after the generated banks'), kept between runs.
pub fn inventory_csv(n: u64) -> PathBuf {
    let path = root().join(format!("tokens-{n}.csv"));
    if path.exists() {
        return path;
    }
    std::fs::create_dir_all(root()).expect("bench data dir");
    let tmp = path.with_extension("tmp");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp).expect("csv"));
    writeln!(out, "serial,kind,algorithm,digits,period,secret_base32").expect("csv");
    for i in 0..n {
        let s = data_encoding::BASE32_NOPAD.encode(&secret(50_000_000 + i));
        writeln!(out, "BNIM{i:08},hardware,SHA1,6,60,{s}").expect("csv");
    }
    out.flush().expect("csv");
    drop(out);
    std::fs::rename(&tmp, &path).expect("csv");
    path
}
