//! `LATCHKEY_TRUSTED_PROXIES`: which TCP peers may tell us, through `LATCHKEY_CLIENT_IP_HEADER`,
//! who the client is.
//!
//! Ranges are parsed by `ipnet` (a maintained crate already in the dependency tree) rather than
//! by hand: prefix masks over IPv4 and IPv6 are exactly where an off-by-one trusts a whole
//! network by mistake.

use std::net::IpAddr;

use ipnet::IpNet;

/// Proxies whose forwarding header is believed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TrustedProxies {
    /// The default: whoever is the TCP peer is taken to be the one proxy in front of Latchkey.
    /// Its header is believed, but no address written inside the header is ever trusted, so the
    /// client is the right-most (last appended) entry.
    #[default]
    PeerOnly,
    /// Only peers inside these ranges are proxies; entries inside them are skipped as hops.
    Listed(Vec<IpNet>),
}

impl TrustedProxies {
    /// Parses `10.0.0.0/8, 127.0.0.1, fd00::/8`: comma-separated addresses or CIDR ranges.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let expected = || {
            "comma-separated IP addresses or CIDR ranges of your own proxies, \
             e.g. 10.0.0.0/8, 127.0.0.1"
                .to_owned()
        };
        let mut nets = Vec::new();
        for item in raw.split(',').map(str::trim) {
            let net = if item.contains('/') {
                item.parse::<IpNet>().map_err(|_| expected())?.trunc()
            } else {
                IpNet::from(
                    item.parse::<IpAddr>()
                        .map_err(|_| expected())?
                        .to_canonical(),
                )
            };
            nets.push(net);
        }
        if nets.is_empty() {
            return Err(expected());
        }
        Ok(Self::Listed(nets))
    }

    /// Whether the header may be read on a connection from `peer`.
    pub fn trusts_peer(&self, peer: IpAddr) -> bool {
        match self {
            Self::PeerOnly => true,
            Self::Listed(_) => self.is_listed(peer),
        }
    }

    /// Whether an address found inside the header is one of our proxies (a hop to skip).
    pub fn is_listed(&self, ip: IpAddr) -> bool {
        match self {
            Self::PeerOnly => false,
            Self::Listed(nets) => {
                let ip = ip.to_canonical();
                nets.iter().any(|net| net.contains(&ip))
            }
        }
    }
}

impl std::fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::PeerOnly => write!(f, "the TCP peer only"),
            Self::Listed(nets) => {
                let list: Vec<String> = nets.iter().map(ToString::to_string).collect();
                write!(f, "{}", list.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TrustedProxies;

    fn ip(text: &str) -> std::net::IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn addresses_and_ranges_of_both_families_parse() {
        let trusted = TrustedProxies::parse(" 10.0.0.0/8, 127.0.0.1 ,2001:db8::/32,::1").unwrap();
        for inside in [
            "10.1.2.3",
            "127.0.0.1",
            "2001:db8:ffff::1",
            "::1",
            "::ffff:10.9.9.9",
        ] {
            assert!(trusted.is_listed(ip(inside)), "{inside}");
            assert!(trusted.trusts_peer(ip(inside)), "{inside}");
        }
        for outside in ["11.0.0.1", "127.0.0.2", "2001:db9::1", "::2"] {
            assert!(!trusted.is_listed(ip(outside)), "{outside}");
            assert!(!trusted.trusts_peer(ip(outside)), "{outside}");
        }
    }

    #[test]
    fn a_range_with_host_bits_covers_its_network() {
        let trusted = TrustedProxies::parse("192.168.1.77/24").unwrap();
        assert!(trusted.is_listed(ip("192.168.1.1")));
        assert_eq!(trusted.to_string(), "192.168.1.0/24");
    }

    #[test]
    fn garbage_is_refused() {
        for bad in [
            "",
            "10.0.0.0/33",
            "10.0.0.0/",
            "localhost",
            "10.0.0.1,,10.0.0.2",
            "10.0.0.1;10.0.0.2",
            "::1/129",
            "*",
        ] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_default_trusts_any_peer_but_no_listed_hop() {
        let trusted = TrustedProxies::default();
        assert!(trusted.trusts_peer(ip("203.0.113.9")));
        assert!(!trusted.is_listed(ip("127.0.0.1")));
        assert_eq!(trusted.to_string(), "the TCP peer only");
    }
}
