//! The client's address: the TCP peer, unless the peer is one of the
//! operator's trusted proxies (`http.trusted_proxies`), in which case the
//! right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
//! Anyone else's `X-Forwarded-For` is ignored: a client could write
//! anything there to dodge per-address throttles.
use std::net::IpAddr;

use ipnet::IpNet;

/// The trusted proxies, parsed once at start.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Addresses (`10.0.0.7`) or CIDRs (`10.0.0.0/8`); names the bad entry.
    pub fn parse(entries: &[String]) -> anyhow::Result<Self> {
        entries
            .iter()
            .map(|e| {
                let e = e.trim();
                e.parse::<IpNet>()
                    .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        anyhow::anyhow!("http.trusted_proxies: {e:?} is not an IP address or CIDR")
                    })
            })
            .collect::<anyhow::Result<_>>()
            .map(Self)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client address of a request from `peer` with these
    /// `X-Forwarded-For` header values.
    pub fn client(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<IpAddr> = forwarded_for
            .iter()
            .flat_map(|v| v.split(','))
            .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
            .map(canonical)
            .collect();
        hops.iter()
            .rev()
            .find(|hop| !self.trusts(**hop))
            .or(hops.first())
            .copied()
            .unwrap_or(peer)
    }
}

/// IPv4-mapped IPv6 (a dual-stack listener's view of an IPv4 peer) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_counts_only_from_trusted_proxies() {
        let trusted = TrustedProxies::parse(&["10.0.0.0/8".into(), "192.0.2.1".into()]).unwrap();
        // A stranger's header is ignored.
        assert_eq!(
            trusted.client(ip("203.0.113.9"), &["1.2.3.4"]),
            ip("203.0.113.9")
        );
        // Through the Ingress: the right-most untrusted hop (a client's own
        // left-most entries cannot move it).
        assert_eq!(
            trusted.client(ip("10.1.2.3"), &["6.6.6.6, 198.51.100.7, 10.9.9.9"]),
            ip("198.51.100.7")
        );
        assert_eq!(
            trusted.client(ip("::ffff:192.0.2.1"), &["198.51.100.7"]),
            ip("198.51.100.7")
        );
        // Only proxies in the chain, or nothing usable: the first hop, else the peer.
        assert_eq!(
            trusted.client(ip("10.1.2.3"), &["10.2.2.2"]),
            ip("10.2.2.2")
        );
        assert_eq!(trusted.client(ip("10.1.2.3"), &["junk"]), ip("10.1.2.3"));
        assert!(TrustedProxies::parse(&["not-an-ip".into()]).is_err());
        assert_eq!(
            TrustedProxies::default().client(ip("10.1.2.3"), &["1.1.1.1"]),
            ip("10.1.2.3")
        );
    }
}
