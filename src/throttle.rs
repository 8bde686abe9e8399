//! Who a client is, for limits, and how many wrong passwords one client may try across all
//! contract IDs (a token bucket per client, in memory).
//!
//! Every i-mode or EZweb phone reaches us from a handful of carrier gateway addresses, so on a
//! carrier network the client is the subscriber ID the carrier vouches for (a per-address limit
//! there would throttle a whole carrier). Phones on a carrier network that send no ID share one
//! bucket per carrier, smaller than its users' many IDs together would get. Anyone else is
//! their address (IPv6: its /64, what one subscriber line gets).
//!
//! Buckets live in memory: a restart refills them, which the per-contract lock (durable) bounds.

use crate::carrier::Carrier;
use crate::request::Request;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// One client, as limits see it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Client {
    /// The carrier's subscriber ID (trusted network only).
    Subscriber(Carrier, String),
    /// A phone on a carrier's network that sent no subscriber ID.
    Carrier(Carrier),
    /// Anyone else: the peer address (IPv6 cut to its /64).
    Address(IpAddr),
}

impl Client {
    /// Who sent `req`. `on_carrier` says whether the peer is in the handset's carrier
    /// networks (`Networks::trusts`).
    pub fn of(req: &Request, on_carrier: bool) -> Client {
        let carrier = req.handset.carrier;
        match (&req.subscriber, on_carrier) {
            (Some(id), _) => Client::Subscriber(carrier, id.clone()),
            (None, true) => Client::Carrier(carrier),
            (None, false) => Client::Address(prefix(req.peer.ip())),
        }
    }

    /// [`Client::of`] as if `req` had sent no subscriber ID (i-mode sends its ID only to
    /// `guid=ON` URLs, so a phone's top page may come without it and its form post with it).
    pub fn without_subscriber(req: &Request, on_carrier: bool) -> Client {
        match on_carrier {
            true => Client::Carrier(req.handset.carrier),
            false => Client::Address(prefix(req.peer.ip())),
        }
    }

    /// The bytes a value signed for this client is bound to (see [`crate::form_token`]),
    /// handed to `f` as the parts they run together from (the top page signs one per
    /// view): nothing is formatted, copied or allocated, whatever the subscriber ID's length.
    pub fn with_binding<R>(&self, f: impl FnOnce(&[&[u8]]) -> R) -> R {
        fn carrier(c: &Carrier) -> &'static [u8] {
            match c {
                Carrier::Docomo => b"Docomo",
                Carrier::Au => b"Au",
                Carrier::Softbank => b"Softbank",
                Carrier::Willcom => b"Willcom",
                Carrier::None => b"None",
            }
        }
        match self {
            Client::Subscriber(c, id) => f(&[b"subscriber/", carrier(c), b"/", id.as_bytes()]),
            Client::Carrier(c) => f(&[b"carrier/", carrier(c)]),
            Client::Address(IpAddr::V4(ip)) => f(&[b"address4/", &ip.octets()]),
            Client::Address(IpAddr::V6(ip)) => f(&[b"address6/", &ip.octets()]),
        }
    }

    /// A short stable number for this client (the hash queue's fairness key).
    pub fn id(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.hash(&mut h);
        h.finish()
    }
}

fn prefix(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

/// Wrong passwords a client may have outstanding: `burst` at once, then one more every
/// `refill_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub burst: u32,
    pub refill_secs: u64,
}

/// One subscriber or address: two locks' worth at once, then 5 an hour. One customer's own
/// typing errors lock their login long before this matters.
pub const CLIENT: Budget = Budget {
    burst: 10,
    refill_secs: 720,
};
/// Everyone on one carrier without a subscriber ID: rare (our links ask for the ID), so a
/// bucket a little bigger than one client's: 20 at once, then 10 an hour.
pub const CARRIER_ANONYMOUS: Budget = Budget {
    burst: 20,
    refill_secs: 360,
};

impl Budget {
    pub fn for_client(c: &Client) -> Budget {
        match c {
            Client::Carrier(_) => CARRIER_ANONYMOUS,
            _ => CLIENT,
        }
    }

    /// Most wrong passwords one client gets in its first `secs` (a full bucket, then refills).
    pub fn most_in(&self, secs: u64) -> u64 {
        u64::from(self.burst) + secs / self.refill_secs
    }
}

/// The buckets: tokens a client may spend on password attempts not known to be right.
#[derive(Default)]
pub struct Throttle {
    buckets: Mutex<HashMap<Client, Bucket>>,
}

/// Tokens counted in seconds of refill (one token is `refill_secs` of them), so that refills are
/// exact in integers.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    secs: u64,
    at: u64,
}

/// Clients remembered at most; beyond, buckets that have refilled are forgotten first.
const MAX_CLIENTS: usize = 100_000;

impl Budget {
    fn full(&self) -> u64 {
        u64::from(self.burst) * self.refill_secs
    }

    fn refilled(&self, b: &Bucket, now: u64) -> u64 {
        (b.secs + now.saturating_sub(b.at)).min(self.full())
    }
}

impl Throttle {
    /// Takes one attempt's token from `client` at `now`; false when the bucket is empty.
    pub fn take(&self, client: &Client, now: u64) -> bool {
        let budget = Budget::for_client(client);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(client) {
            buckets.retain(|c, b| {
                let budget = Budget::for_client(c);
                budget.refilled(b, now) < budget.full()
            });
            if buckets.len() >= MAX_CLIENTS {
                // Every remembered client is mid-attack: newcomers wait until some refill.
                return false;
            }
        }
        let b = buckets.entry(client.clone()).or_insert(Bucket {
            secs: budget.full(),
            at: now,
        });
        b.secs = budget.refilled(b, now);
        b.at = now;
        if b.secs < budget.refill_secs {
            return false;
        }
        b.secs -= budget.refill_secs;
        true
    }

    /// Gives back a token whose attempt turned out right (or never ran).
    pub fn give_back(&self, client: &Client) {
        let budget = Budget::for_client(client);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(b) = buckets.get_mut(client) {
            b.secs = (b.secs + budget.refill_secs).min(budget.full());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_client_has_its_own_binding() {
        let clients = [
            Client::Subscriber(Carrier::Docomo, "AbCdEf1".into()),
            Client::Subscriber(Carrier::Au, "AbCdEf1".into()),
            Client::Carrier(Carrier::Docomo),
            Client::Address("127.0.0.1".parse().unwrap()),
            Client::Address("127.0.0.2".parse().unwrap()),
            Client::Address("::ffff:127.0.0.1".parse().unwrap()),
        ];
        let bindings: Vec<Vec<u8>> = clients
            .iter()
            .map(|c| c.with_binding(|parts| parts.concat()))
            .collect();
        for (i, a) in bindings.iter().enumerate() {
            for b in &bindings[i + 1..] {
                assert_ne!(a, b);
            }
        }
        // The bytes signed before the binding came in parts (form_token's old scheme).
        assert_eq!(bindings[0], b"subscriber/Docomo/AbCdEf1");
        assert_eq!(bindings[2], b"carrier/Docomo");
        assert_eq!(bindings[3], b"address4/\x7f\0\0\x01");
        // A long subscriber ID is bound whole.
        let long = Client::Subscriber(Carrier::Au, "x".repeat(200));
        assert_eq!(
            long.with_binding(|parts| parts.concat()),
            [b"subscriber/Au/".as_slice(), &[b'x'; 200]].concat()
        );
    }

    #[test]
    fn a_client_gets_its_burst_then_one_per_refill() {
        let t = Throttle::default();
        let c = Client::Address("192.0.2.1".parse().unwrap());
        for _ in 0..10 {
            assert!(t.take(&c, 0));
        }
        assert!(!t.take(&c, 0));
        assert!(!t.take(&c, 719));
        assert!(t.take(&c, 720));
        assert!(!t.take(&c, 720));
        t.give_back(&c);
        assert!(t.take(&c, 720));
        // Another client is not affected.
        assert!(t.take(&Client::Address("192.0.2.2".parse().unwrap()), 720));
        assert_eq!(CLIENT.most_in(3600), 15);
        assert_eq!(CLIENT.most_in(86_400), 130);
        assert_eq!(CARRIER_ANONYMOUS.most_in(3600), 30);
    }

    #[test]
    fn ipv6_clients_are_their_slash_64() {
        let a = prefix("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = prefix("2001:db8:1:2:bbbb::9".parse().unwrap());
        assert_eq!(a, b);
        assert_eq!(
            prefix("::ffff:192.0.2.1".parse().unwrap()),
            "192.0.2.1".parse::<IpAddr>().unwrap()
        );
    }
}
