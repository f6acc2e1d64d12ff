//! Who is signing in: the peer address, or, when the peer is a trusted proxy, the address that
//! proxy says it forwarded for.

use std::net::{IpAddr, Ipv6Addr};

use ipnet::IpNet;

/// The proxies whose forwarding headers are believed (`AUTH_TRUSTED_PROXIES`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

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
            .map(Self)
    }

    fn trusts(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.0.iter().any(|net| net.contains(&address))
    }

    /// The client of a request that came from `peer` with these forwarding headers: `peer`
    /// itself unless it is trusted; otherwise the nearest address in the forwarding chain that
    /// is not a trusted proxy, read from the right, where each trusted proxy appended the
    /// address it received from. `Forwarded` (RFC 7239) is read when present, otherwise
    /// `X-Forwarded-For`; an entry that is not an address (`unknown`, an obfuscated name,
    /// garbage) ends the walk at the last trusted hop, so a client can never pick its own
    /// address by writing into the header.
    pub fn client<'a>(
        &self,
        peer: IpAddr,
        forwarded: impl IntoIterator<Item = &'a str>,
        x_forwarded_for: impl IntoIterator<Item = &'a str>,
    ) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let forwarded: Vec<&str> = forwarded.into_iter().collect();
        let chain: Vec<Option<IpAddr>> = if forwarded.is_empty() {
            x_forwarded_for
                .into_iter()
                .flat_map(|line| line.split(','))
                .map(|hop| hop.trim().parse::<IpAddr>().ok())
                .collect()
        } else {
            forwarded
                .into_iter()
                .flat_map(|line| line.split(','))
                .map(forwarded_for)
                .collect()
        };
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

/// The `for=` node of one `Forwarded` element (`for=192.0.2.60;proto=https`,
/// `for="[2001:db8::17]:4711"`), when it is an address.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    let node = element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("for")
            .then(|| value.trim().trim_matches('"'))
    })?;
    if let Some(bracketed) = node.strip_prefix('[') {
        return bracketed.split_once(']')?.0.parse().ok();
    }
    // An address, or an IPv4 address with a port.
    node.parse().ok().or_else(|| {
        node.split_once(':')
            .and_then(|(address, _port)| address.parse().ok())
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
        assert_eq!(proxies().0.len(), 3);
        assert_eq!(
            TrustedProxies::parse("10.0.0.0/8,10.0.0.0/33").unwrap_err(),
            "`10.0.0.0/33` is not an address or a CIDR range"
        );
        assert!(TrustedProxies::parse("ingress.local").is_err());
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let peer = ip("203.0.113.9");
        assert_eq!(
            proxies().client(peer, ["for=198.51.100.1"], ["198.51.100.1"]),
            peer
        );
        assert_eq!(
            TrustedProxies::default().client(ip("10.0.0.1"), [], ["198.51.100.1"]),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_client_is_the_nearest_untrusted_hop() {
        let proxy = ip("10.1.2.3");
        // A client's own prefix of the header is ignored: the trusted proxy appended the
        // address it really received from.
        assert_eq!(
            proxies().client(proxy, [], ["6.6.6.6, 198.51.100.1, 10.9.9.9"]),
            ip("198.51.100.1")
        );
        // Several header lines are one list, in order.
        assert_eq!(
            proxies().client(proxy, [], ["6.6.6.6", "198.51.100.2", "192.0.2.7"]),
            ip("198.51.100.2")
        );
        // Only proxies all the way: the leftmost is the best there is.
        assert_eq!(
            proxies().client(proxy, [], ["10.0.0.5, 10.0.0.6"]),
            ip("10.0.0.5")
        );
        // No header: the proxy itself.
        assert_eq!(proxies().client(proxy, [], []), proxy);
        // Garbage ends the walk at the last trusted hop.
        assert_eq!(
            proxies().client(proxy, [], ["198.51.100.1, unknown, 10.0.0.6"]),
            ip("10.0.0.6")
        );
        assert_eq!(proxies().client(proxy, [], ["not-an-address"]), proxy);
    }

    #[test]
    fn forwarded_is_read_before_x_forwarded_for() {
        let proxy = ip("10.1.2.3");
        assert_eq!(
            proxies().client(
                proxy,
                ["for=6.6.6.6, For=\"198.51.100.1:4711\";proto=https;by=10.1.2.3"],
                ["203.0.113.1"]
            ),
            ip("198.51.100.1")
        );
        assert_eq!(
            proxies().client(proxy, ["proto=https;for=\"[2001:db8:cafe::17]:4711\""], []),
            ip("2001:db8:cafe::17")
        );
        assert_eq!(
            proxies().client(proxy, ["for=[2001:db8::1]"], []),
            ip("2001:db8::1")
        );
        assert_eq!(
            proxies().client(proxy, ["for=_hidden, for=10.0.0.9"], []),
            ip("10.0.0.9")
        );
        assert_eq!(proxies().client(proxy, ["by=10.0.0.1"], []), proxy);
    }

    #[test]
    fn mapped_ipv4_peers_are_ipv4_and_ipv6_clients_count_by_their_64() {
        assert_eq!(
            proxies().client(ip("::ffff:10.1.2.3"), [], ["198.51.100.1"]),
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
