//! The router and every front on arbitrary requests (method, path and query, headers, body),
//! against a real gateway with the demo bank: never panics, always answers with a known status.
#![no_main]

use keitai_gateway::app::App;
use keitai_gateway::config::{Bank, Config};
use keitai_gateway::net::{NetSet, Networks};
use keitai_gateway::router::Gateway;
use keitai_gateway::seal::Sealer;
use keitai_gateway::store::Store;
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

struct World {
    gateway: Gateway,
    runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/one-bank");
        let store = Store::open(&dir.path().join("db"), Sealer::from_key(&[9; 32])).expect("store");
        keitai_gateway::demo::load(&store, &data, 1_700_000_000).expect("demo");
        let config = Config {
            listen: "127.0.0.1:0".parse().expect("addr"),
            data_dir: dir.path().to_owned(),
            bank: Bank::load(&data.join("bank.toml")).expect("bank"),
            networks: Networks::loopback_only(),
            allow_pc: false,
            client_timeout: Duration::from_secs(10),
            tls_proxies: NetSet::default(),
            internal_networks: NetSet::loopback(),
            branch_networks: NetSet::loopback(),
            emulator: None,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        World {
            gateway: Gateway::new(App::new(config, store)),
            runtime,
            _dir: dir,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    // Layout: method byte, then target, headers and body separated by NUL bytes.
    let Some((&m, rest)) = data.split_first() else { return };
    let mut parts = rest.splitn(3, |&b| b == 0);
    let target = String::from_utf8_lossy(parts.next().unwrap_or(b"/"));
    let headers = parts.next().unwrap_or(b"");
    let body = parts.next().unwrap_or(b"");
    let method = ["GET", "POST", "HEAD", "PUT"][usize::from(m) % 4];
    let mut builder = hyper::Request::builder().method(method).uri(target.as_ref());
    for line in headers.split(|&b| b == b'\n') {
        if let Some(i) = line.iter().position(|&b| b == b':') {
            builder = builder.header(&line[..i], &line[i + 1..]);
        }
    }
    let body = keitai_gateway::body::Body::full(bytes::Bytes::copy_from_slice(body));
    let Ok(request) = builder.body(body) else { return };
    let w = world();
    let peer = "127.0.0.1:40000".parse().expect("addr");
    let reply = w.runtime.block_on(w.gateway.dispatch(request, peer));
    // Phone error pages go out as 200; the logged status is the logical one.
    for status in [reply.status, reply.log_status()] {
        assert!(
            [200, 400, 401, 403, 404, 405, 408, 413].contains(&status.as_u16()),
            "status {status}"
        );
    }
});
