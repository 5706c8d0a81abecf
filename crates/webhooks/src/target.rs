//! Where deliveries may go. Tenants choose their endpoint URLs; unchecked,
//! a URL could make tpgate POST into the platform's own network (SSRF) and
//! the delivery log would tell the tenant what answered. Unless allowed (a
//! laptop, tests), a delivery goes only to a public address on an allowed
//! port:
//!
//! - [`check_url`], before any connection: the scheme, the effective port
//!   (explicit or the scheme's default) against a [`PortPolicy`], and an IP
//!   literal host (literals skip resolution) against [`is_public`];
//! - [`PublicOnlyResolver`], at connection time: a name is resolved and
//!   every non-public address dropped, so the address checked is the one
//!   connected to (no second lookup an attacker's DNS could answer
//!   differently).
//!
//! Whatever the reason, a tenant sees one text, [`UNREACHABLE`] (the
//! [`Display`](std::fmt::Display) of [`Refused`]): an internal name, a
//! private address, an unknown name and a refused port look the same from
//! outside. The reason itself, [`Refused::detail`], is for operators' logs.
use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    str::FromStr,
};

use Judge::{EmbeddedIpv4, Refuse};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// What a tenant sees when a delivery target is refused, for any reason.
pub const UNREACHABLE: &str =
    "the endpoint could not be reached at a public address on an allowed port";

/// The most of a refusal's detail kept for the logs.
const MAX_DETAIL: usize = 300;

/// A refused delivery target. `Display` is [`UNREACHABLE`], the same for
/// every reason; [`Refused::detail`] says why, for operators only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    detail: String,
}

impl Refused {
    fn new(detail: impl fmt::Display) -> Self {
        let mut detail = detail.to_string();
        if detail.len() > MAX_DETAIL {
            let mut end = MAX_DETAIL;
            while !detail.is_char_boundary(end) {
                end -= 1;
            }
            detail.truncate(end);
            detail.push('…');
        }
        Self { detail }
    }

    /// Why the target was refused (bounded; for operators' logs, never for
    /// the tenant).
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(UNREACHABLE)
    }
}

impl std::error::Error for Refused {}

// ---------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------

/// How an address in a special-purpose prefix is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Judge {
    /// Never a delivery target.
    Refuse,
    /// Reaches the IPv4 address in its last 32 bits: judged as that.
    EmbeddedIpv4,
}

/// One special-purpose prefix.
#[derive(Debug)]
struct Special<A> {
    net: A,
    len: u8,
    name: &'static str,
    judge: Judge,
}

const fn v4(net: [u8; 4], len: u8, name: &'static str) -> Special<Ipv4Addr> {
    Special {
        net: Ipv4Addr::new(net[0], net[1], net[2], net[3]),
        len,
        name,
        judge: Refuse,
    }
}

const fn v6(net: [u16; 8], len: u8, name: &'static str, judge: Judge) -> Special<Ipv6Addr> {
    Special {
        net: Ipv6Addr::new(
            net[0], net[1], net[2], net[3], net[4], net[5], net[6], net[7],
        ),
        len,
        name,
        judge,
    }
}

/// Every entry of the IANA IPv4 Special-Purpose Address Registry
/// (<https://www.iana.org/assignments/iana-ipv4-special-registry/>, RFC 6890
/// and updates), plus multicast and limited broadcast from the IPv4 Address
/// Space Registry. All are refused, including the few the registry marks
/// globally reachable (192.0.0.9 and .10 anycast inside 192.0.0.0/24, AMT,
/// AS112): anycast infrastructure, where no webhook receiver lives.
/// First match wins (the broadcast address before 240/4 names it better).
#[rustfmt::skip]
const V4_SPECIAL: &[Special<Ipv4Addr>] = &[
    v4([0, 0, 0, 0],         8,  "\"this network\" (RFC 791)"),
    v4([10, 0, 0, 0],        8,  "private use (RFC 1918)"),
    v4([100, 64, 0, 0],      10, "shared address space, carrier-grade NAT (RFC 6598)"),
    v4([127, 0, 0, 0],       8,  "loopback (RFC 1122)"),
    v4([169, 254, 0, 0],     16, "link local, cloud metadata (RFC 3927)"),
    v4([172, 16, 0, 0],      12, "private use (RFC 1918)"),
    v4([192, 0, 0, 0],       24, "IETF protocol assignments (RFC 6890)"),
    v4([192, 0, 2, 0],       24, "documentation, TEST-NET-1 (RFC 5737)"),
    v4([192, 31, 196, 0],    24, "AS112-v4 (RFC 7535)"),
    v4([192, 52, 193, 0],    24, "AMT (RFC 7450)"),
    v4([192, 88, 99, 0],     24, "6to4 relay anycast, deprecated (RFC 7526)"),
    v4([192, 168, 0, 0],     16, "private use (RFC 1918)"),
    v4([192, 175, 48, 0],    24, "AS112 direct delegation (RFC 7534)"),
    v4([198, 18, 0, 0],      15, "benchmarking (RFC 2544)"),
    v4([198, 51, 100, 0],    24, "documentation, TEST-NET-2 (RFC 5737)"),
    v4([203, 0, 113, 0],     24, "documentation, TEST-NET-3 (RFC 5737)"),
    v4([224, 0, 0, 0],       4,  "multicast (RFC 5771)"),
    v4([255, 255, 255, 255], 32, "limited broadcast (RFC 919)"),
    v4([240, 0, 0, 0],       4,  "reserved (RFC 1112)"),
];

/// Every entry of the IANA IPv6 Special-Purpose Address Registry
/// (<https://www.iana.org/assignments/iana-ipv6-special-registry/>, RFC 6890
/// and updates), plus site-local and multicast from the IPv6 Address Space
/// Registry. Refused, except the two forms that reach an IPv4 address
/// through the host or a translator (IPv4-mapped, the well-known NAT64
/// prefix): those are judged by the embedded IPv4 address. As for IPv4,
/// the registry's globally reachable anycast entries (inside 2001::/23,
/// AS112) are refused too; 6to4 is refused outright (its relays may reach
/// the embedded IPv4 address, and no receiver needs it). Whatever lies
/// outside 2000::/3, the only space IANA allocates for global unicast, is
/// refused as well (see [`non_public_reason`]). First match wins.
#[rustfmt::skip]
const V6_SPECIAL: &[Special<Ipv6Addr>] = &[
    v6([0, 0, 0, 0, 0, 0, 0, 0],           128, "unspecified (RFC 4291)", Refuse),
    v6([0, 0, 0, 0, 0, 0, 0, 1],           128, "loopback (RFC 4291)", Refuse),
    v6([0, 0, 0, 0, 0, 0, 0, 0],           96,  "IPv4-compatible, deprecated (RFC 4291)", Refuse),
    v6([0, 0, 0, 0, 0, 0xffff, 0, 0],      96,  "IPv4-mapped (RFC 4291)", EmbeddedIpv4),
    v6([0, 0, 0, 0, 0xffff, 0, 0, 0],      96,  "IPv4-translated (RFC 2765)", Refuse),
    v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0],   96,  "NAT64 well-known prefix (RFC 6052)", EmbeddedIpv4),
    v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0],   48,  "NAT64 local-use prefix (RFC 8215)", Refuse),
    v6([0x100, 0, 0, 0, 0, 0, 0, 0],       64,  "discard-only (RFC 6666)", Refuse),
    v6([0x100, 0, 0, 1, 0, 0, 0, 0],       64,  "dummy prefix (RFC 9780)", Refuse),
    v6([0x2001, 0, 0, 0, 0, 0, 0, 0],      23,  "IETF protocol assignments, incl. Teredo 2001::/32 (RFC 2928, RFC 4380)", Refuse),
    v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0],  32,  "documentation (RFC 3849)", Refuse),
    v6([0x2002, 0, 0, 0, 0, 0, 0, 0],      16,  "6to4 (RFC 3056)", Refuse),
    v6([0x2620, 0x4f, 0x8000, 0, 0, 0, 0, 0], 48, "AS112 direct delegation (RFC 7534)", Refuse),
    v6([0x3fff, 0, 0, 0, 0, 0, 0, 0],      20,  "documentation (RFC 9637)", Refuse),
    v6([0x5f00, 0, 0, 0, 0, 0, 0, 0],      16,  "SRv6 SIDs (RFC 9602)", Refuse),
    v6([0xfc00, 0, 0, 0, 0, 0, 0, 0],      7,   "unique local (RFC 4193)", Refuse),
    v6([0xfe80, 0, 0, 0, 0, 0, 0, 0],      10,  "link local (RFC 4291)", Refuse),
    v6([0xfec0, 0, 0, 0, 0, 0, 0, 0],      10,  "site local, deprecated (RFC 3879)", Refuse),
    v6([0xff00, 0, 0, 0, 0, 0, 0, 0],      8,   "multicast (RFC 4291)", Refuse),
];

/// Global unicast space (IANA IPv6 Address Space Registry): 2000::/3.
const V6_GLOBAL_UNICAST: (u128, u8) = (0x2000 << 112, 3);

fn mask<const BITS: u32>(len: u8) -> u128 {
    // `len` 0 matches everything; a shift by the full width would overflow.
    let ones = if BITS == 128 {
        u128::MAX
    } else {
        (1u128 << BITS) - 1
    };
    ones.checked_shl(BITS - u32::from(len)).unwrap_or(0) & ones
}

fn in_prefix<const BITS: u32>(ip: u128, net: u128, len: u8) -> bool {
    let m = mask::<BITS>(len);
    ip & m == net & m
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static Special<Ipv4Addr>> {
    V4_SPECIAL.iter().find(|s| {
        in_prefix::<32>(
            u128::from(u32::from(ip)),
            u128::from(u32::from(s.net)),
            s.len,
        )
    })
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static Special<Ipv6Addr>> {
    V6_SPECIAL
        .iter()
        .find(|s| in_prefix::<128>(u128::from(ip), u128::from(s.net), s.len))
}

/// Why `ip` is not a public unicast address (the special-purpose entry it
/// falls in), or `None` when it is one.
pub fn non_public_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => special_v4(v4).map(|s| s.name),
        IpAddr::V6(v6) => match special_v6(v6) {
            Some(s) if s.judge == EmbeddedIpv4 => {
                let [.., a, b, c, d] = v6.octets();
                special_v4(Ipv4Addr::new(a, b, c, d)).map(|s| s.name)
            }
            Some(s) => Some(s.name),
            None if !in_prefix::<128>(u128::from(v6), V6_GLOBAL_UNICAST.0, V6_GLOBAL_UNICAST.1) => {
                Some("outside global unicast space 2000::/3 (IANA IPv6 address space)")
            }
            None => None,
        },
    }
}

/// Whether `ip` is a public unicast address: in no special-purpose prefix
/// (IPv4-mapped and NAT64 addresses judged by their IPv4 address).
pub fn is_public(ip: IpAddr) -> bool {
    non_public_reason(ip).is_none()
}

// ---------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------

/// A port or an inclusive range of ports. Written `443` or `"1024-65535"`
/// (in TOML a number or a string; by env in a bracketed list,
/// `[80, 443, 1024-65535]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRange {
    first: u16,
    last: u16,
}

impl PortRange {
    /// `first..=last`; panics (at compile time in consts) if `first > last`.
    pub const fn new(first: u16, last: u16) -> Self {
        assert!(first <= last, "a port range must not end before it starts");
        Self { first, last }
    }

    pub const fn single(port: u16) -> Self {
        Self::new(port, port)
    }

    pub fn first(&self) -> u16 {
        self.first
    }

    pub fn last(&self) -> u16 {
        self.last
    }

    pub fn contains(&self, port: u16) -> bool {
        (self.first..=self.last).contains(&port)
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

/// Why a port range was not understood (never quotes the input).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a port (0-65535) or an inclusive range of ports such as \"1024-65535\"")]
pub struct BadPortRange;

impl FromStr for PortRange {
    type Err = BadPortRange;

    fn from_str(s: &str) -> Result<Self, BadPortRange> {
        let port = |p: &str| p.trim().parse::<u16>().map_err(|_| BadPortRange);
        let (first, last) = match s.split_once('-') {
            Some((first, last)) => (port(first)?, port(last)?),
            None => {
                let p = port(s)?;
                (p, p)
            }
        };
        if first > last {
            return Err(BadPortRange);
        }
        Ok(Self { first, last })
    }
}

impl serde::Serialize for PortRange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.first == self.last {
            s.serialize_u16(self.first)
        } else {
            s.collect_str(self)
        }
    }
}

impl<'de> serde::Deserialize<'de> for PortRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = PortRange;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{BadPortRange}")
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<PortRange, E> {
                u16::try_from(v)
                    .map(PortRange::single)
                    .map_err(|_| E::custom(BadPortRange))
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<PortRange, E> {
                u16::try_from(v)
                    .map(PortRange::single)
                    .map_err(|_| E::custom(BadPortRange))
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<PortRange, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// Ports deliveries may use by default: HTTP, HTTPS and the unprivileged
/// range (receivers on 8080, 8443, 3000, 9000, … keep working), less
/// [`INTERNAL_SERVICE_PORTS`].
pub const DEFAULT_ALLOWED_PORTS: &[PortRange] = &[
    PortRange::single(80),
    PortRange::single(443),
    PortRange::new(1024, 65535),
];

/// Unprivileged ports refused by default: the well-known ports of
/// databases, caches, queues, cluster and container control planes, proxies
/// and remote administration — what an SSRF would aim at, and where no
/// webhook receiver belongs — and the unprivileged ports of the WHATWG
/// Fetch standard's "bad port" list (non-HTTP protocols browsers refuse
/// for the same reason). Common alternative web ports (3000, 5000, 8000,
/// 8080, 8443, 8888, 9000) stay allowed. Operators replace the list with
/// `webhooks.denied_ports`.
#[rustfmt::skip]
pub const INTERNAL_SERVICE_PORTS: &[(PortRange, &str)] = &[
    (PortRange::single(1080),      "SOCKS proxy"),
    (PortRange::single(1099),      "Java RMI registry"),
    (PortRange::single(1433),      "Microsoft SQL Server"),
    (PortRange::single(1521),      "Oracle Database"),
    (PortRange::new(1719, 1720),   "H.323 (Fetch bad port)"),
    (PortRange::single(1723),      "PPTP (Fetch bad port)"),
    (PortRange::single(1883),      "MQTT"),
    (PortRange::single(2049),      "NFS (Fetch bad port)"),
    (PortRange::single(2181),      "ZooKeeper"),
    (PortRange::new(2375, 2377),   "Docker Engine API, Docker Swarm"),
    (PortRange::new(2379, 2380),   "etcd"),
    (PortRange::single(2888),      "ZooKeeper quorum"),
    (PortRange::single(3128),      "HTTP proxy (Squid)"),
    (PortRange::single(3306),      "MySQL, MariaDB"),
    (PortRange::single(3389),      "RDP"),
    (PortRange::single(3659),      "apple-sasl (Fetch bad port)"),
    (PortRange::single(3888),      "ZooKeeper leader election"),
    (PortRange::single(4045),      "NFS lock daemon (Fetch bad port)"),
    (PortRange::single(4190),      "ManageSieve (Fetch bad port)"),
    (PortRange::single(4222),      "NATS"),
    (PortRange::single(4369),      "Erlang port mapper (RabbitMQ, CouchDB)"),
    (PortRange::single(4646),      "Nomad API"),
    (PortRange::new(5060, 5061),   "SIP (Fetch bad port)"),
    (PortRange::single(5432),      "PostgreSQL"),
    (PortRange::single(5601),      "Kibana"),
    (PortRange::single(5672),      "AMQP (RabbitMQ)"),
    (PortRange::single(5900),      "VNC"),
    (PortRange::single(5984),      "CouchDB"),
    (PortRange::new(5985, 5986),   "WinRM"),
    (PortRange::single(6000),      "X11 (Fetch bad port)"),
    (PortRange::single(6222),      "NATS cluster"),
    (PortRange::single(6379),      "Redis"),
    (PortRange::single(6432),      "PgBouncer"),
    (PortRange::single(6443),      "Kubernetes API server"),
    (PortRange::single(6566),      "SANE (Fetch bad port)"),
    (PortRange::new(6665, 6669),   "IRC (Fetch bad port)"),
    (PortRange::single(6679),      "IRC over TLS (Fetch bad port)"),
    (PortRange::single(6697),      "IRC over TLS (Fetch bad port)"),
    (PortRange::new(7000, 7001),   "Cassandra inter-node"),
    (PortRange::single(7199),      "Cassandra JMX"),
    (PortRange::single(8009),      "AJP (Tomcat)"),
    (PortRange::single(8086),      "InfluxDB"),
    (PortRange::single(8123),      "ClickHouse HTTP"),
    (PortRange::new(8200, 8201),   "HashiCorp Vault"),
    (PortRange::new(8300, 8302),   "Consul RPC, Serf"),
    (PortRange::new(8500, 8502),   "Consul HTTP, HTTPS, gRPC"),
    (PortRange::single(8600),      "Consul DNS"),
    (PortRange::single(9042),      "Cassandra CQL"),
    (PortRange::single(9090),      "Prometheus, Cockpit; tpgate's own ops listener"),
    (PortRange::single(9091),      "Prometheus Pushgateway"),
    (PortRange::single(9092),      "Kafka"),
    (PortRange::single(9093),      "Alertmanager, Kafka TLS"),
    (PortRange::single(9100),      "node_exporter, raw printing (JetDirect)"),
    (PortRange::single(9200),      "Elasticsearch, OpenSearch HTTP"),
    (PortRange::single(9300),      "Elasticsearch transport"),
    (PortRange::single(10080),     "Amanda (Fetch bad port)"),
    (PortRange::new(10249, 10250), "kube-proxy metrics, kubelet API"),
    (PortRange::new(10255, 10257), "kubelet read-only, kube-proxy health, kube-controller-manager"),
    (PortRange::single(10259),     "kube-scheduler"),
    (PortRange::single(11211),     "memcached"),
    (PortRange::single(15672),     "RabbitMQ management"),
    (PortRange::single(16379),     "Redis Cluster bus"),
    (PortRange::single(25672),     "RabbitMQ inter-node"),
    (PortRange::single(26379),     "Redis Sentinel"),
    (PortRange::new(27017, 27019), "MongoDB"),
    (PortRange::single(33060),     "MySQL X Protocol"),
];

/// The ports deliveries may use: allowed unless denied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortPolicy {
    pub allowed: Vec<PortRange>,
    pub denied: Vec<PortRange>,
}

impl Default for PortPolicy {
    fn default() -> Self {
        Self {
            allowed: DEFAULT_ALLOWED_PORTS.to_vec(),
            denied: INTERNAL_SERVICE_PORTS.iter().map(|(r, _)| *r).collect(),
        }
    }
}

impl PortPolicy {
    pub fn allows(&self, port: u16) -> bool {
        self.allowed.iter().any(|r| r.contains(port))
            && !self.denied.iter().any(|r| r.contains(port))
    }
}

// ---------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------

/// Checks what can be checked of `url` without a lookup: an http(s) URL
/// whose effective port (explicit, else the scheme's default) `ports`
/// allows, and whose host, when an IP literal, is public. A name is checked
/// when connecting, by [`PublicOnlyResolver`].
pub fn check_url(url: &str, ports: &PortPolicy) -> Result<(), Refused> {
    let parsed = reqwest::Url::parse(url).map_err(|e| Refused::new(format!("not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Refused::new("not an http(s) URL"));
    }
    let Some(port) = parsed.port_or_known_default() else {
        return Err(Refused::new("no port"));
    };
    if !ports.allows(port) {
        return Err(Refused::new(format!("port {port} is not allowed")));
    }
    let ip = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(url::Host::Domain(_)) => return Ok(()),
        None => return Err(Refused::new("no host")),
    };
    match non_public_reason(ip) {
        None => Ok(()),
        Some(why) => Err(Refused::new(format!("{ip} is not a public address: {why}"))),
    }
}

/// Resolves names to their public addresses only; a name with none, or one
/// that cannot be resolved, is a [`Refused`] error (the attempt fails and is
/// retried like any other failure).
#[derive(Debug, Clone, Copy, Default)]
pub struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str();
            let found = tokio::net::lookup_host((host, 0))
                .await
                .map_err(|e| Refused::new(format!("{host}: lookup failed: {e}")))?;
            let mut refused: Option<(IpAddr, &str)> = None;
            let mut public: Vec<SocketAddr> = Vec::new();
            for addr in found {
                match non_public_reason(addr.ip()) {
                    None => public.push(addr),
                    Some(why) => {
                        refused.get_or_insert((addr.ip(), why));
                    }
                }
            }
            if public.is_empty() {
                let detail = match refused {
                    Some((ip, why)) => {
                        format!("{host} resolves to no public address ({ip}: {why})")
                    }
                    None => format!("{host} resolves to no address"),
                };
                return Err(Refused::new(detail).into());
            }
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// Every entry: (prefix, first address, last address, an address just
    /// outside below or above, and whether that neighbour is public).
    #[rustfmt::skip]
    const V4_CASES: &[(&str, &str, &str, &str, bool)] = &[
        ("0.0.0.0/8", "0.0.0.0", "0.255.255.255", "1.0.0.0", true),
        ("10.0.0.0/8", "10.0.0.0", "10.255.255.255", "11.0.0.0", true),
        ("100.64.0.0/10", "100.64.0.0", "100.127.255.255", "100.128.0.0", true),
        ("127.0.0.0/8", "127.0.0.1", "127.255.255.255", "128.0.0.0", true),
        ("169.254.0.0/16", "169.254.169.254", "169.254.255.255", "169.255.0.0", true),
        ("172.16.0.0/12", "172.16.0.0", "172.31.255.255", "172.32.0.0", true),
        ("192.0.0.0/24", "192.0.0.9", "192.0.0.255", "192.0.1.0", true),
        ("192.0.2.0/24", "192.0.2.0", "192.0.2.255", "192.0.3.0", true),
        ("192.31.196.0/24", "192.31.196.1", "192.31.196.255", "192.31.197.0", true),
        ("192.52.193.0/24", "192.52.193.1", "192.52.193.255", "192.52.192.255", true),
        ("192.88.99.0/24", "192.88.99.1", "192.88.99.255", "192.88.100.0", true),
        ("192.168.0.0/16", "192.168.0.0", "192.168.255.255", "192.169.0.0", true),
        ("192.175.48.0/24", "192.175.48.1", "192.175.48.255", "192.175.49.0", true),
        ("198.18.0.0/15", "198.18.0.0", "198.19.255.255", "198.20.0.0", true),
        ("198.51.100.0/24", "198.51.100.0", "198.51.100.255", "198.51.101.0", true),
        ("203.0.113.0/24", "203.0.113.0", "203.0.113.255", "203.0.114.0", true),
        ("224.0.0.0/4", "224.0.0.0", "239.255.255.255", "223.255.255.255", true),
        ("255.255.255.255/32", "255.255.255.255", "255.255.255.255", "255.255.255.254", false),
        ("240.0.0.0/4", "240.0.0.0", "255.255.255.254", "239.255.255.255", false),
    ];

    #[rustfmt::skip]
    const V6_CASES: &[(&str, &str, &str, &str, bool)] = &[
        ("::/128", "::", "::", "::2", false),
        ("::1/128", "::1", "::1", "::2", false),
        ("::/96", "::2", "::255.255.255.255", "::1:0:0", false),
        ("::ffff:0:0/96", "::ffff:0:0", "::ffff:10.1.2.3", "::1:0:0:0", false),
        ("::ffff:0:0:0/96", "::ffff:0:8.8.8.8", "::ffff:0:ffff:ffff", "::1:ffff:0:0:0", false),
        ("64:ff9b::/96", "64:ff9b::", "64:ff9b::a00:1", "64:ff9b::1:0:0", false),
        ("64:ff9b:1::/48", "64:ff9b:1::", "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", "64:ff9b:2::", false),
        ("100::/64", "100::", "100::ffff:ffff:ffff:ffff", "100:0:0:2::", false),
        ("100:0:0:1::/64", "100:0:0:1::", "100::1:ffff:ffff:ffff:ffff", "100:0:0:2::", false),
        ("2001::/23", "2001::1", "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", "2001:200::1", true),
        ("2001::/23", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:1::1", "2000:ffff::1", true),
        ("2001:db8::/32", "2001:db8::", "2001:db8:ffff::1", "2001:db9::1", true),
        ("2002::/16", "2002:a00:1::", "2002:ffff::1", "2003::1", true),
        ("2620:4f:8000::/48", "2620:4f:8000::1", "2620:4f:8000:ffff::1", "2620:4f:8001::1", true),
        ("3fff::/20", "3fff::1", "3fff:fff:ffff::1", "3fff:1000::1", true),
        ("5f00::/16", "5f00::1", "5f00:ffff::1", "5f01::1", false),
        ("fc00::/7", "fc00::1", "fdff:ffff::1", "fbff:ffff::1", false),
        ("fe80::/10", "fe80::1", "febf:ffff::1", "fe7f:ffff::1", false),
        ("fec0::/10", "fec0::1", "feff:ffff::1", "fe00::1", false),
        ("ff00::/8", "ff02::1", "ffff:ffff::1", "feff:ffff::1", false),
    ];

    /// The entry `a` falls in, as (network, length).
    fn entry(a: IpAddr) -> Option<(IpAddr, u8)> {
        match a {
            IpAddr::V4(a) => special_v4(a).map(|s| (IpAddr::V4(s.net), s.len)),
            IpAddr::V6(a) => special_v6(a).map(|s| (IpAddr::V6(s.net), s.len)),
        }
    }

    fn prefix(s: &str) -> (IpAddr, u8) {
        let (net, len) = s.split_once('/').unwrap();
        (ip(net), len.parse().unwrap())
    }

    #[test]
    fn tables_are_canonical_prefixes_each_with_a_case() {
        for s in V4_SPECIAL {
            let bits = u128::from(u32::from(s.net));
            assert_eq!(bits & mask::<32>(s.len), bits, "{}/{}", s.net, s.len);
            let key = (IpAddr::V4(s.net), s.len);
            assert!(V4_CASES.iter().any(|c| prefix(c.0) == key), "{key:?}");
        }
        for s in V6_SPECIAL {
            let bits = u128::from(s.net);
            assert_eq!(bits & mask::<128>(s.len), bits, "{}/{}", s.net, s.len);
            let key = (IpAddr::V6(s.net), s.len);
            assert!(V6_CASES.iter().any(|c| prefix(c.0) == key), "{key:?}");
        }
    }

    #[test]
    fn every_special_range_is_matched_inside_and_not_just_outside() {
        for &(range, first, last, outside, outside_public) in V4_CASES.iter().chain(V6_CASES) {
            for inside in [first, last] {
                assert_eq!(entry(ip(inside)), Some(prefix(range)), "{inside}");
            }
            assert_ne!(entry(ip(outside)), Some(prefix(range)), "{outside}");
            assert_eq!(is_public(ip(outside)), outside_public, "{outside}");
        }
    }

    #[test]
    fn special_ranges_are_refused_but_embedded_public_ipv4_passes() {
        for &(range, first, last, ..) in V4_CASES.iter().chain(V6_CASES) {
            for inside in [first, last] {
                let a = ip(inside);
                let embedding = matches!(range, "::ffff:0:0/96" | "64:ff9b::/96");
                if !embedding {
                    assert!(!is_public(a), "{inside} in {range}");
                }
            }
        }
        // IPv4-mapped and NAT64 addresses are judged by their IPv4 address.
        for (v6, public) in [
            ("::ffff:8.8.8.8", true),
            ("::ffff:10.0.0.1", false),
            ("::ffff:127.0.0.1", false),
            ("::ffff:169.254.169.254", false),
            ("64:ff9b::8.8.8.8", true),
            ("64:ff9b::10.0.0.1", false),
            ("64:ff9b::127.0.0.1", false),
            ("64:ff9b::192.168.1.1", false),
            ("64:ff9b::", false),
            // IPv4-compatible, translated, 6to4, Teredo: refused whatever
            // they embed.
            ("::8.8.8.8", false),
            ("::ffff:0:8.8.8.8", false),
            ("2002:808:808::1", false),
            ("2001:0:808:808::1", false),
        ] {
            assert_eq!(is_public(ip(v6)), public, "{v6}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for public in [
            "1.1.1.1",
            "8.8.8.8",
            "9.9.9.9",
            "100.63.255.255",
            "172.15.255.255",
            "192.167.255.255",
            "198.17.255.255",
            "203.0.114.1",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "2400:cb00::1",
            "2a00:1450:4001::1",
        ] {
            assert!(is_public(ip(public)), "{public}");
            assert_eq!(non_public_reason(ip(public)), None, "{public}");
        }
        // Outside 2000::/3 nothing is allocated for global unicast.
        for unallocated in ["1::1", "4000::1", "8000::1", "e000::1", "1fff:ffff::1"] {
            assert!(!is_public(ip(unallocated)), "{unallocated}");
        }
    }

    #[test]
    fn port_ranges_parse_and_print() {
        assert_eq!("443".parse(), Ok(PortRange::single(443)));
        assert_eq!("1024-65535".parse(), Ok(PortRange::new(1024, 65535)));
        assert_eq!(" 1024 - 2048 ".parse(), Ok(PortRange::new(1024, 2048)));
        for bad in [
            "", "-", "80-", "-80", "65536", "2-1", "http", "1-2-3", "80,443",
        ] {
            assert_eq!(bad.parse::<PortRange>(), Err(BadPortRange), "{bad:?}");
        }
        assert_eq!(PortRange::single(80).to_string(), "80");
        assert_eq!(PortRange::new(1024, 65535).to_string(), "1024-65535");
        // As in TOML and figment's env lists: numbers and "a-b" strings.
        let parsed: Vec<PortRange> =
            serde_json::from_str(r#"[80, 443, "8000-8999", "9443"]"#).unwrap();
        assert_eq!(
            parsed,
            [
                PortRange::single(80),
                PortRange::single(443),
                PortRange::new(8000, 8999),
                PortRange::single(9443)
            ]
        );
        assert_eq!(
            serde_json::to_string(&parsed).unwrap(),
            r#"[80,443,"8000-8999",9443]"#
        );
        for bad in ["[70000]", "[-1]", r#"["9-1"]"#, "[1.5]", "[true]"] {
            let err = serde_json::from_str::<Vec<PortRange>>(bad).unwrap_err();
            assert!(!err.to_string().is_empty(), "{bad}");
        }
    }

    #[test]
    fn port_lists_read_from_toml_and_env_as_tpgate_reads_them() {
        use figment::{
            Figment,
            providers::{Format, Serialized, Toml},
            value::Value,
        };
        let expected = vec![
            PortRange::single(80),
            PortRange::single(443),
            PortRange::new(1024, 65535),
        ];
        let toml = Figment::from(Toml::string(r#"ports = [80, 443, "1024-65535"]"#));
        assert_eq!(
            toml.extract_inner::<Vec<PortRange>>("ports").unwrap(),
            expected
        );
        // An env value is parsed like this (a bracketed list; unquoted
        // ranges are strings, ports numbers).
        for env in ["[80, 443, 1024-65535]", r#"[80, "443", "1024 - 65535"]"#] {
            let value: Value = env.parse().unwrap();
            let from_env = Figment::from(Serialized::default("ports", value));
            assert_eq!(
                from_env.extract_inner::<Vec<PortRange>>("ports").unwrap(),
                expected,
                "{env}"
            );
        }
        // The defaults survive a round trip through figment.
        let round = Figment::from(Serialized::default("ports", &PortPolicy::default().denied));
        assert_eq!(
            round.extract_inner::<Vec<PortRange>>("ports").unwrap(),
            PortPolicy::default().denied
        );
        let bad: Value = "[80, 70000]".parse().unwrap();
        let err = Figment::from(Serialized::default("ports", bad))
            .extract_inner::<Vec<PortRange>>("ports")
            .unwrap_err();
        assert!(err.to_string().contains("port"), "{err}");
    }

    #[test]
    fn default_ports_are_web_and_unprivileged_less_internal_services() {
        let p = PortPolicy::default();
        for ok in [
            80, 443, 1024, 3000, 5000, 8000, 8080, 8443, 8888, 9000, 65535,
        ] {
            assert!(p.allows(ok), "{ok}");
        }
        for refused in [
            0, 1, 22, 25, 79, 81, 442, 444, 1023, 2375, 2379, 3306, 5432, 6379, 6443, 9090, 9200,
            10250, 11211, 27017,
        ] {
            assert!(!p.allows(refused), "{refused}");
        }
        for (range, what) in INTERNAL_SERVICE_PORTS {
            assert!(
                range.first() >= 1024,
                "{what}: privileged ports are not allowed anyway"
            );
            for port in [range.first(), range.last()] {
                assert!(!p.allows(port), "{port} ({what})");
            }
        }
        // Sorted and disjoint, so the list reads well in the README.
        for pair in INTERNAL_SERVICE_PORTS.windows(2) {
            assert!(pair[0].0.last() < pair[1].0.first(), "{:?}", pair[1]);
        }
        let custom = PortPolicy {
            allowed: vec![PortRange::new(8000, 8999)],
            denied: vec![PortRange::single(8086)],
        };
        assert!(custom.allows(8080) && !custom.allows(8086) && !custom.allows(443));
    }

    #[test]
    fn urls_are_checked_for_scheme_port_and_literal_address() {
        let p = PortPolicy::default();
        for ok in [
            "https://hooks.example.com/x",
            "http://hooks.example.com/x",
            "https://hooks.example.com:8443/x",
            "https://8.8.8.8/x",
            "https://[2606:4700:4700::1111]:8080/x",
        ] {
            assert_eq!(check_url(ok, &p), Ok(()), "{ok}");
        }
        for (refused, why) in [
            (
                "http://127.0.0.1:8080/hook",
                "127.0.0.1 is not a public address",
            ),
            ("http://[::1]/hook", "::1 is not a public address"),
            ("http://[::ffff:a00:1]/hook", "not a public address"),
            ("http://[64:ff9b::a9fe:a9fe]/latest", "link local"),
            // Other spellings of 127.0.0.1 are normalised by the URL parser.
            ("http://2130706433/", "127.0.0.1"),
            ("http://0x7f.1/", "127.0.0.1"),
            (
                "https://hooks.example.com:6379/x",
                "port 6379 is not allowed",
            ),
            ("https://hooks.example.com:22/x", "port 22 is not allowed"),
            ("https://8.8.8.8:2375/x", "port 2375"),
            ("ftp://hooks.example.com/x", "not an http(s) URL"),
            ("not a url", "not a URL"),
        ] {
            let err = check_url(refused, &p).unwrap_err();
            assert!(err.detail().contains(why), "{refused}: {}", err.detail());
            assert_eq!(err.to_string(), UNREACHABLE, "{refused}");
        }
    }

    #[test]
    fn refusal_details_are_bounded() {
        let long = format!("https://{}.example/x", "a".repeat(5000));
        let r = Refused::new(format!("{long} resolves to no public address"));
        assert!(r.detail().len() <= MAX_DETAIL + '…'.len_utf8());
        let r = Refused::new("é".repeat(400));
        assert!(r.detail().ends_with('…'));
    }

    #[tokio::test]
    async fn an_internal_name_and_an_unknown_one_are_refused_alike() {
        let internal = PublicOnlyResolver
            .resolve("localhost".parse().unwrap())
            .await
            .err()
            .unwrap();
        let unknown = PublicOnlyResolver
            .resolve("no-such-host.invalid".parse().unwrap())
            .await
            .err()
            .unwrap();
        assert_eq!(internal.to_string(), UNREACHABLE);
        assert_eq!(unknown.to_string(), internal.to_string());
        let internal = internal.downcast::<Refused>().unwrap();
        let unknown = unknown.downcast::<Refused>().unwrap();
        assert!(
            internal
                .detail()
                .contains("localhost resolves to no public address"),
            "{}",
            internal.detail()
        );
        assert!(
            unknown.detail().contains("no-such-host.invalid"),
            "{}",
            unknown.detail()
        );
    }
}
