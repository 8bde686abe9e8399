//! The network gates, in one place: which client networks may do what.
//!
//! - [`NetSet`]: a set of CIDR networks that judges IPv4 clients of a dual-stack listener
//!   (`::ffff:a.b.c.d`) as the IPv4 address they are — the one place that canonicalises;
//! - [`Networks`]: the carriers' published gateway ranges and the emulator networks
//!   (`carrier_networks.toml` of the bank directory, or of its parent: [`Networks::file_for`]),
//!   which decide whether a peer may vouch for subscriber-ID headers;
//! - [`forwarded_https`]: `X-Forwarded-Proto` believed from configured TLS proxies only.
//!
//! The internal networks (who reaches `/api/`) and the branch networks (who reaches
//! `/branch`) are [`NetSet`]s in the configuration; each front asks its set before anything else.

use crate::carrier::Carrier;
use ipnet::IpNet;
use serde::Deserialize;
use std::net::IpAddr;

/// A set of client networks. Membership is decided on the canonical address: an IPv4-mapped
/// IPv6 peer is its IPv4 address.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(from = "Vec<IpNet>")]
pub struct NetSet {
    nets: Vec<IpNet>,
    /// The same networks as (network, mask) integers: judging a peer is a few instructions
    /// per network (the phone front judges the client of every top page it serves).
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

impl From<Vec<IpNet>> for NetSet {
    fn from(nets: Vec<IpNet>) -> NetSet {
        NetSet::new(nets)
    }
}

impl PartialEq for NetSet {
    fn eq(&self, other: &NetSet) -> bool {
        self.nets == other.nets
    }
}

impl Eq for NetSet {}

impl NetSet {
    pub fn new(nets: Vec<IpNet>) -> NetSet {
        let (mut v4, mut v6) = (Vec::new(), Vec::new());
        for net in &nets {
            match net {
                IpNet::V4(n) => {
                    let mask = u32::from(n.netmask());
                    v4.push((u32::from(n.network()) & mask, mask));
                }
                IpNet::V6(n) => {
                    let mask = u128::from(n.netmask());
                    v6.push((u128::from(n.network()) & mask, mask));
                }
            }
        }
        NetSet { nets, v4, v6 }
    }

    /// This host only: 127.0.0.0/8 and ::1.
    pub fn loopback() -> NetSet {
        NetSet::new(
            ["127.0.0.0/8", "::1/128"]
                .iter()
                .filter_map(|n| n.parse().ok())
                .collect(),
        )
    }

    /// `nets`, or `default` when none are given (a command-line list replaces the default).
    pub fn or(nets: Vec<IpNet>, default: NetSet) -> NetSet {
        if nets.is_empty() {
            default
        } else {
            NetSet::new(nets)
        }
    }

    pub fn contains(&self, peer: IpAddr) -> bool {
        match canonical(peer) {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                self.v4.iter().any(|&(net, mask)| a & mask == net)
            }
            IpAddr::V6(a) => {
                let a = u128::from(a);
                self.v6.iter().any(|&(net, mask)| a & mask == net)
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &IpNet> {
        self.nets.iter()
    }
}

/// The address a peer is judged as: IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is IPv4.
pub fn canonical(peer: IpAddr) -> IpAddr {
    peer.to_canonical()
}

/// `X-Forwarded-Proto: https` from a configured TLS proxy. The last value counts: a proxy
/// appends what it saw, so earlier values may come from the phone's side and prove nothing.
pub fn forwarded_https<H: crate::carrier::Headers + ?Sized>(
    headers: &H,
    peer: IpAddr,
    proxies: &NetSet,
) -> bool {
    if !proxies.contains(peer) {
        return false;
    }
    headers
        .last(&crate::carrier::names::X_FORWARDED_PROTO)
        .and_then(|v| v.rsplit(',').next())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// One carrier's gateway ranges: `[docomo]` `networks = ["210.153.84.0/24", ...]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarrierNetworks {
    #[serde(default)]
    pub networks: NetSet,
}

/// The carrier networks file's name.
const FILE: &str = "carrier_networks.toml";

/// Carrier gateway networks + emulator networks, loaded from `carrier_networks.toml`.
///
/// A missing carrier table means no ranges for it; a missing `emulator_networks` means
/// no emulator is trusted (a production file can leave loopback out on purpose).
/// Unknown keys are errors, so a misspelt carrier is not silently untrusted.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Networks {
    #[serde(default)]
    pub emulator_networks: NetSet,
    #[serde(default)]
    pub docomo: CarrierNetworks,
    #[serde(default)]
    pub au: CarrierNetworks,
    #[serde(default)]
    pub softbank: CarrierNetworks,
    #[serde(default)]
    pub willcom: CarrierNetworks,
}

impl Networks {
    /// The carrier networks file of the bank directory `bank_dir`: its own
    /// `carrier_networks.toml`, else its parent's. The carriers' ranges are the gateway's, not a
    /// bank's: the repository's one-bank setup (`data/one-bank/`) shares the file of the
    /// multi-bank `data/` this way instead of keeping a second copy.
    pub fn file_for(bank_dir: &std::path::Path) -> Option<std::path::PathBuf> {
        let own = bank_dir.join(FILE);
        if own.is_file() {
            return Some(own);
        }
        bank_dir
            .parent()
            .map(|p| p.join(FILE))
            .filter(|p| p.is_file())
    }

    /// The networks of [`Networks::file_for`], or [`Networks::loopback_only`] when there is no
    /// file; and the file they came from.
    pub fn for_bank_dir(
        bank_dir: &std::path::Path,
    ) -> Result<(Networks, Option<std::path::PathBuf>), String> {
        match Networks::file_for(bank_dir) {
            Some(file) => Ok((Networks::load(&file)?, Some(file))),
            None => Ok((Networks::loopback_only(), None)),
        }
    }

    pub fn load(path: &std::path::Path) -> Result<Networks, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        Networks::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Networks, String> {
        let networks: Networks =
            toml::from_str(text).map_err(|e| format!("invalid carrier networks: {e}"))?;
        // "210.153.84.1/24" parses, but is most likely a typo for another range.
        let all = networks.emulator_networks.iter().chain(
            [
                &networks.docomo,
                &networks.au,
                &networks.softbank,
                &networks.willcom,
            ]
            .into_iter()
            .flat_map(|c| c.networks.iter()),
        );
        for net in all {
            if net.trunc() != *net {
                return Err(format!(
                    "{net} has host bits set (did you mean {}?)",
                    net.trunc()
                ));
            }
        }
        Ok(networks)
    }

    /// Default used when no file: empty carrier lists, emulator = loopback (127.0.0.0/8, ::1).
    pub fn loopback_only() -> Networks {
        Networks {
            emulator_networks: NetSet::loopback(),
            ..Networks::default()
        }
    }

    /// true when `peer` may vouch for `carrier`'s subscriber-ID headers: in that
    /// carrier's ranges or in emulator_networks. Never for `Carrier::None`.
    pub fn trusts(&self, carrier: Carrier, peer: IpAddr) -> bool {
        let ranges = match carrier {
            Carrier::Docomo => &self.docomo.networks,
            Carrier::Au => &self.au.networks,
            Carrier::Softbank => &self.softbank.networks,
            Carrier::Willcom => &self.willcom.networks,
            Carrier::None => return false,
        };
        // The same answer either way round; the emulator networks are a couple of entries, a
        // carrier's dozens (the top page's form value judges every client).
        self.emulator_networks.contains(peer) || ranges.contains(peer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn set(nets: &[&str]) -> NetSet {
        NetSet::new(nets.iter().map(|n| n.parse().unwrap()).collect())
    }

    #[test]
    fn sets_judge_mapped_ipv4_as_ipv4() {
        let loopback = NetSet::loopback();
        assert!(loopback.contains(ip("127.0.0.1")));
        assert!(loopback.contains(ip("::1")));
        assert!(loopback.contains(ip("::ffff:127.0.0.1")));
        assert!(!loopback.contains(ip("10.1.2.3")));
        let branch = set(&["10.0.0.0/8"]);
        assert!(branch.contains(ip("10.1.2.3")));
        assert!(branch.contains(ip("::ffff:10.1.2.3")));
        assert!(!branch.contains(ip("127.0.0.1")));
        assert!(!NetSet::default().contains(ip("127.0.0.1")));
        assert_eq!(NetSet::or(vec![], NetSet::loopback()), NetSet::loopback());
        assert_eq!(
            NetSet::or(vec!["10.0.0.0/8".parse().unwrap()], NetSet::loopback()),
            branch
        );
    }

    #[test]
    fn a_set_judges_as_its_networks_do() {
        let nets = [
            "210.153.84.0/24",
            "10.0.0.1/8",
            "192.168.7.5/32",
            "0.0.0.0/0",
            "2001:db8::/32",
            "fe80::1/64",
            "::1/128",
            "::ffff:0:0/96",
        ];
        let peers = [
            "210.153.84.9",
            "210.153.85.9",
            "10.200.1.1",
            "11.0.0.1",
            "192.168.7.5",
            "192.168.7.6",
            "2001:db8:1::5",
            "2001:db9::5",
            "fe80::abcd",
            "fe81::1",
            "::1",
            "::2",
            "::ffff:10.1.1.1",
        ];
        for net in nets {
            let parsed: IpNet = net.parse().unwrap();
            let one = set(&[net]);
            for peer in peers {
                let peer = ip(peer);
                let want = parsed.contains(&canonical(peer));
                assert_eq!(one.contains(peer), want, "{net} {peer}");
            }
        }
    }

    fn https(headers: &[(&str, &str)], peer: &str, proxies: &[&str]) -> bool {
        forwarded_https(headers, ip(peer), &set(proxies))
    }

    #[test]
    fn forwarded_proto_only_from_a_tls_proxy() {
        let h = [("x-forwarded-proto", "https")];
        assert!(https(&h, "10.0.0.5", &["10.0.0.0/24"]));
        assert!(https(&h, "::ffff:10.0.0.5", &["10.0.0.0/24"]));
        assert!(!https(&h, "10.0.1.5", &["10.0.0.0/24"]));
        assert!(!https(&h, "127.0.0.1", &[]));
        assert!(!https(&[], "10.0.0.5", &["10.0.0.0/24"]));
        assert!(!https(
            &[("x-forwarded-proto", "http")],
            "10.0.0.5",
            &["10.0.0.0/24"]
        ));
        // The proxy appended "http" after what the client claimed.
        let appended = [("x-forwarded-proto", "https, http")];
        assert!(!https(&appended, "10.0.0.5", &["10.0.0.0/24"]));
        assert!(https(
            &[("x-forwarded-proto", "HTTPS")],
            "10.0.0.5",
            &["10.0.0.0/24"]
        ));
    }

    const SAMPLE: &str = r#"
emulator_networks = ["127.0.0.0/8", "::1/128"]
[docomo]
networks = ["210.153.84.0/24", "124.146.174.0/24"]
[au]
networks = ["210.230.128.224/28"]
[softbank]
networks = ["2001:db8:1::/48"]
"#;

    #[test]
    fn trusts_in_range_only_for_that_carrier() {
        let n = Networks::parse(SAMPLE).unwrap();
        assert!(n.trusts(Carrier::Docomo, ip("210.153.84.1")));
        assert!(n.trusts(Carrier::Docomo, ip("124.146.174.255")));
        assert!(!n.trusts(Carrier::Docomo, ip("210.153.85.1")));
        assert!(!n.trusts(Carrier::Au, ip("210.153.84.1")));
        assert!(n.trusts(Carrier::Au, ip("210.230.128.239")));
        assert!(!n.trusts(Carrier::Au, ip("210.230.128.240")));
        assert!(!n.trusts(Carrier::Willcom, ip("210.153.84.1")));
        assert!(!n.trusts(Carrier::None, ip("210.153.84.1")));
    }

    #[test]
    fn trusts_emulator_loopback_for_every_carrier_but_none() {
        let n = Networks::parse(SAMPLE).unwrap();
        for c in [
            Carrier::Docomo,
            Carrier::Au,
            Carrier::Softbank,
            Carrier::Willcom,
        ] {
            assert!(n.trusts(c, ip("127.0.0.1")));
            assert!(n.trusts(c, ip("127.9.9.9")));
            assert!(n.trusts(c, ip("::1")));
            assert!(!n.trusts(c, ip("10.0.0.1")));
        }
        assert!(!n.trusts(Carrier::None, ip("127.0.0.1")));
    }

    #[test]
    fn trusts_ipv6_and_mapped_ipv4() {
        let n = Networks::parse(SAMPLE).unwrap();
        assert!(n.trusts(Carrier::Softbank, ip("2001:db8:1::42")));
        assert!(!n.trusts(Carrier::Softbank, ip("2001:db8:2::42")));
        assert!(n.trusts(Carrier::Docomo, ip("::ffff:210.153.84.7")));
        assert!(n.trusts(Carrier::Au, ip("::ffff:127.0.0.1")));
        assert!(!n.trusts(Carrier::Docomo, ip("::ffff:8.8.8.8")));
    }

    #[test]
    fn loopback_only_trusts_nothing_else() {
        let n = Networks::loopback_only();
        assert!(n.trusts(Carrier::Docomo, ip("127.0.0.1")));
        assert!(n.trusts(Carrier::Au, ip("::1")));
        assert!(!n.trusts(Carrier::Docomo, ip("210.153.84.1")));
        assert!(!n.trusts(Carrier::Docomo, ip("::2")));
    }

    #[test]
    fn parse_errors_are_reported() {
        assert!(Networks::parse("").unwrap().emulator_networks.is_empty());
        let e = Networks::parse("[docmo]\nnetworks = []").unwrap_err();
        assert!(e.contains("docmo"), "{e}");
        let e = Networks::parse("[au]\nnetworks = [\"300.1.1.1/24\"]").unwrap_err();
        assert!(e.contains("invalid"), "{e}");
        let e = Networks::parse("[au]\nnetworks = [\"210.230.128.225/28\"]").unwrap_err();
        assert!(e.contains("210.230.128.224/28"), "{e}");
        let e = Networks::load(std::path::Path::new("/nonexistent/nets.toml")).unwrap_err();
        assert!(e.contains("/nonexistent/nets.toml"), "{e}");
    }

    #[test]
    fn a_bank_dir_without_its_own_file_uses_its_parents() {
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let shared = repo.join("data").join(FILE);
        assert_eq!(Networks::file_for(&repo.join("data")), Some(shared.clone()));
        assert_eq!(
            Networks::file_for(&repo.join("data/one-bank")),
            Some(shared)
        );
        let tmp = tempfile::tempdir().unwrap();
        let bank = tmp.path().join("bank");
        std::fs::create_dir(&bank).unwrap();
        assert_eq!(Networks::file_for(&bank), None);
        let (n, file) = Networks::for_bank_dir(&bank).unwrap();
        assert!(file.is_none() && n.docomo.networks.is_empty());
        std::fs::write(tmp.path().join(FILE), "emulator_networks = []\n").unwrap();
        assert_eq!(Networks::file_for(&bank), Some(tmp.path().join(FILE)));
        // The bank directory's own file comes first.
        std::fs::write(bank.join(FILE), "[au]\nnetworks = [\"10.0.0.0/8\"]\n").unwrap();
        let (n, file) = Networks::for_bank_dir(&bank).unwrap();
        assert_eq!(file, Some(bank.join(FILE)));
        assert!(n.trusts(Carrier::Au, ip("10.1.2.3")));
    }

    #[test]
    fn shipped_file_parses() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/carrier_networks.toml");
        let n = Networks::load(&path).unwrap();
        assert!(!n.docomo.networks.is_empty() && !n.au.networks.is_empty());
        assert!(!n.softbank.networks.is_empty() && !n.willcom.networks.is_empty());
        assert!(n.trusts(Carrier::Docomo, ip("127.0.0.1")));
        // The addresses jpmobile's own specs use as in-range examples.
        assert!(n.trusts(Carrier::Au, ip("210.230.128.225")));
        assert!(n.trusts(Carrier::Softbank, ip("210.146.7.199")));
        assert!(n.trusts(Carrier::Willcom, ip("61.198.142.1")));
        assert!(!n.trusts(Carrier::Docomo, ip("210.146.7.199")));
    }
}
