//! Who is signing in: the peer address, or, when the peer is a trusted proxy, the address that
//! proxy says it forwarded for.

use std::net::{IpAddr, Ipv6Addr};

use ipnet::IpNet;

/// The header a trusted proxy writes the client's address into (`AUTH_TRUSTED_PROXY_HEADER`).
/// Only that one is read: a proxy passes the other one through as the client sent it, so a
/// client could otherwise choose its own address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ForwardingHeader {
    /// `X-Forwarded-For` (ingress-nginx, Envoy, Traefik, cloud load balancers).
    #[default]
    XForwardedFor,
    /// `Forwarded` (RFC 7239).
    Forwarded,
}

impl ForwardingHeader {
    /// `x-forwarded-for` or `forwarded` (any case).
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "" | "x-forwarded-for" => Ok(Self::XForwardedFor),
            "forwarded" => Ok(Self::Forwarded),
            other => Err(format!(
                "`{other}` is neither x-forwarded-for nor forwarded"
            )),
        }
    }

    /// The header's name, as gRPC metadata keys are written.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::XForwardedFor => "x-forwarded-for",
            Self::Forwarded => "forwarded",
        }
    }
}

impl std::str::FromStr for ForwardingHeader {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        Self::parse(raw)
    }
}

/// The proxies whose forwarding header is believed (`AUTH_TRUSTED_PROXIES`), and which header
/// that is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    networks: Vec<IpNet>,
    header: ForwardingHeader,
}

impl TrustedProxies {
    /// Parses a comma-separated list of CIDRs or single addresses (`10.0.0.0/8, 192.0.2.7,
    /// fd00::/8`); empty trusts nobody. The error names the entry that is not one.
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("`{entry}` is not an address or a CIDR range"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|networks| Self {
                networks,
                header: ForwardingHeader::default(),
            })
    }

    /// The same proxies, writing the client's address into `header`.
    #[must_use]
    pub fn with_header(self, header: ForwardingHeader) -> Self {
        Self { header, ..self }
    }

    /// The header read from trusted proxies.
    pub fn header(&self) -> ForwardingHeader {
        self.header
    }

    fn trusts(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.networks.iter().any(|net| net.contains(&address))
    }

    /// The client of a request that came from `peer` with these lines of the configured
    /// forwarding header (`None` for a line that is not text): `peer` itself unless it is
    /// trusted; otherwise the nearest address in the forwarding chain that is not a trusted
    /// proxy, read from the right, where each trusted proxy appended the address it received
    /// from. An entry that is not an address (`unknown`, an obfuscated name, garbage, a line
    /// that is not text) ends the walk at the last trusted hop, so a client can never pick its
    /// own address by writing into the header.
    pub fn client<'a>(
        &self,
        peer: IpAddr,
        lines: impl IntoIterator<Item = Option<&'a str>>,
    ) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let chain: Vec<Option<IpAddr>> = lines
            .into_iter()
            .flat_map(|line| match line {
                Some(line) => line.split(',').map(Some).collect::<Vec<_>>(),
                None => vec![None],
            })
            .map(|hop| {
                hop.and_then(|hop| match self.header {
                    ForwardingHeader::XForwardedFor => node(hop.trim()),
                    ForwardingHeader::Forwarded => forwarded_for(hop),
                })
            })
            .collect();
        let mut client = peer;
        for hop in chain.into_iter().rev() {
            let Some(hop) = hop.map(canonical) else {
                break;
            };
            client = hop;
            if !self.trusts(hop) {
                break;
            }
        }
        client
    }
}

impl std::str::FromStr for TrustedProxies {
    type Err = String;

    fn from_str(list: &str) -> Result<Self, String> {
        Self::parse(list)
    }
}

/// The `for=` node of one `Forwarded` element (`for=192.0.2.60;proto=https`,
/// `for="[2001:db8::17]:4711"`), when it is an address.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    let node = element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("for")
            .then(|| value.trim().trim_matches('"'))
    })?;
    self::node(node)
}

/// An address as a proxy writes it: `192.0.2.60`, `192.0.2.60:4711`, `2001:db8::17`,
/// `[2001:db8::17]` or `[2001:db8::17]:4711`.
fn node(node: &str) -> Option<IpAddr> {
    if let Some(bracketed) = node.strip_prefix('[') {
        return bracketed.split_once(']')?.0.parse().ok();
    }
    node.parse().ok().or_else(|| {
        node.split_once(':')
            .and_then(|(address, _port)| address.parse::<std::net::Ipv4Addr>().ok())
            .map(IpAddr::V4)
    })
}

/// IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`, what a dual-stack listener reports) as IPv4.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

/// The key a client's failures are counted under: its IPv4 address, or its IPv6 /64 (one host
/// commonly holds a whole /64, and could otherwise rotate through it to guess without limit).
pub fn throttle_key(client: IpAddr) -> IpAddr {
    match canonical(client) {
        IpAddr::V6(v6) => {
            let segments = v6.segments();
            IpAddr::V6(Ipv6Addr::new(
                segments[0],
                segments[1],
                segments[2],
                segments[3],
                0,
                0,
                0,
                0,
            ))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or_else(|_| panic!("{text}"))
    }

    fn proxies() -> TrustedProxies {
        TrustedProxies::parse("10.0.0.0/8, 192.0.2.7 ,fd00::/8").expect("valid")
    }

    fn xff(lines: &[&'static str]) -> Vec<Option<&'static str>> {
        lines.iter().copied().map(Some).collect()
    }

    #[test]
    fn the_list_takes_ranges_and_single_addresses_and_names_a_bad_entry() {
        assert_eq!(
            TrustedProxies::parse("").expect("empty"),
            TrustedProxies::default()
        );
        assert_eq!(
            TrustedProxies::parse(" , ").expect("blank"),
            TrustedProxies::default()
        );
        assert_eq!(proxies().networks.len(), 3);
        assert_eq!(
            TrustedProxies::parse("10.0.0.0/8,10.0.0.0/33").unwrap_err(),
            "`10.0.0.0/33` is not an address or a CIDR range"
        );
        assert!(TrustedProxies::parse("ingress.local").is_err());
        assert_eq!(
            ForwardingHeader::parse(""),
            Ok(ForwardingHeader::XForwardedFor)
        );
        assert_eq!(
            ForwardingHeader::parse(" Forwarded"),
            Ok(ForwardingHeader::Forwarded)
        );
        assert!(ForwardingHeader::parse("x-real-ip").is_err());
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let peer = ip("203.0.113.9");
        assert_eq!(proxies().client(peer, xff(&["198.51.100.1"])), peer);
        assert_eq!(
            TrustedProxies::default().client(ip("10.0.0.1"), xff(&["198.51.100.1"])),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_client_is_the_nearest_untrusted_hop() {
        let proxy = ip("10.1.2.3");
        let client = |lines: &[&'static str]| proxies().client(proxy, xff(lines));
        // A client's own prefix of the header is ignored: the trusted proxy appended the
        // address it really received from.
        assert_eq!(
            client(&["6.6.6.6, 198.51.100.1, 10.9.9.9"]),
            ip("198.51.100.1")
        );
        // Several header lines are one list, in order.
        assert_eq!(
            client(&["6.6.6.6", "198.51.100.2", "192.0.2.7"]),
            ip("198.51.100.2")
        );
        // Only proxies all the way: the leftmost is the best there is.
        assert_eq!(client(&["10.0.0.5, 10.0.0.6"]), ip("10.0.0.5"));
        // No header: the proxy itself.
        assert_eq!(client(&[]), proxy);
        // Garbage ends the walk at the last trusted hop.
        assert_eq!(client(&["198.51.100.1, unknown, 10.0.0.6"]), ip("10.0.0.6"));
        assert_eq!(client(&["not-an-address"]), proxy);
        // Proxies that write ports or brackets.
        assert_eq!(client(&["6.6.6.6, 198.51.100.1:4711"]), ip("198.51.100.1"));
        assert_eq!(client(&["[2001:db8::17]:4711"]), ip("2001:db8::17"));
        assert_eq!(client(&["2001:db8::18"]), ip("2001:db8::18"));
        // A line that is not text cannot hide what the proxy appended after it.
        assert_eq!(
            proxies().client(proxy, [Some("6.6.6.6"), None, Some("198.51.100.3")]),
            ip("198.51.100.3")
        );
        assert_eq!(proxies().client(proxy, [Some("198.51.100.3"), None]), proxy);
    }

    #[test]
    fn only_the_configured_header_is_read() {
        let proxy = ip("10.1.2.3");
        let forwarded = proxies().with_header(ForwardingHeader::Forwarded);
        let client = |lines: &[&'static str]| forwarded.client(proxy, xff(lines));
        assert_eq!(
            client(&["for=6.6.6.6, For=\"198.51.100.1:4711\";proto=https;by=10.1.2.3"]),
            ip("198.51.100.1")
        );
        assert_eq!(
            client(&["proto=https;for=\"[2001:db8:cafe::17]:4711\""]),
            ip("2001:db8:cafe::17")
        );
        assert_eq!(client(&["for=[2001:db8::1]"]), ip("2001:db8::1"));
        assert_eq!(client(&["for=_hidden, for=10.0.0.9"]), ip("10.0.0.9"));
        assert_eq!(client(&["by=10.0.0.1"]), proxy);
        // X-Forwarded-For values are not Forwarded elements.
        assert_eq!(client(&["198.51.100.1"]), proxy);
    }

    #[test]
    fn mapped_ipv4_peers_are_ipv4_and_ipv6_clients_count_by_their_64() {
        assert_eq!(
            proxies().client(ip("::ffff:10.1.2.3"), xff(&["198.51.100.1"])),
            ip("198.51.100.1")
        );
        assert_eq!(
            throttle_key(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")),
            ip("2001:db8:1:2::")
        );
        assert_eq!(throttle_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
        assert_eq!(throttle_key(ip("192.0.2.1")), ip("192.0.2.1"));
    }
}
