//! Where OmniPlug may send requests when a *person* chose the address (a self-hosted Bluesky
//! server): only to the public internet. Loopback, private, link-local (cloud metadata lives at
//! 169.254.169.254), CGNAT, multicast and other special-purpose addresses are refused, unless
//! the operator allows a network for self-hosted servers on their LAN (`OMNIPLUG_OUTBOUND_ALLOW`).
//!
//! The check runs twice: when the person connects (so they get a clear message) and on every
//! connection the client opens, through the client's DNS resolver, so a name that resolved to
//! a public address yesterday and to 127.0.0.1 today (DNS rebinding) is still refused. Address
//! literals never reach a resolver, so [`Outbound::check_url`] covers them on each call.
//! Addresses the operator configured (the default Bluesky server, the Sandbox) are not checked.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
};

use reqwest::{
    Url,
    dns::{Addrs, Name, Resolve, Resolving},
};

/// The networks a person-chosen address may resolve into besides the public internet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outbound {
    allowed: AddressList,
}

/// Addresses and networks an operator names in a setting, like `192.168.1.0/24, 10.0.0.7`:
/// the outbound allow-list here, the trusted proxies in the server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressList(Arc<Vec<ipnet::IpNet>>);

impl AddressList {
    /// Reads addresses or networks separated by commas or spaces (`192.168.1.0/24, 10.0.0.7,
    /// fd00::/8`); a bare address is a network of one. Empty is an empty list.
    pub fn parse(raw: &str) -> Result<Self, String> {
        raw.split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|item| {
                item.parse::<ipnet::IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| format!("{item:?} is not an IP address or network"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|list| Self(Arc::new(list)))
    }

    /// Whether `ip` is in one of the networks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }
}

/// A person-chosen address OmniPlug will not call, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The host as the person wrote it.
    pub host: String,
    /// The address it is (or resolved to).
    pub ip: IpAddr,
    /// What kind of address that is ("a loopback address").
    pub kind: &'static str,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let is = if self.host == self.ip.to_string() {
            format!("{} is", self.host)
        } else {
            format!("{} points at {}, which is", self.host, self.ip)
        };
        write!(
            f,
            "{is} {}. OmniPlug only calls servers on the public internet; the operator can allow a private network with OMNIPLUG_OUTBOUND_ALLOW.",
            self.kind
        )
    }
}

impl std::error::Error for Refusal {}

impl Outbound {
    /// Reads an allow-list (see [`AddressList::parse`]). Empty allows nothing beyond the
    /// public internet.
    pub fn parse(raw: &str) -> Result<Self, String> {
        AddressList::parse(raw).map(|allowed| Self { allowed })
    }

    /// Whether a connection to `ip` is allowed; `host` names it in the refusal.
    pub fn check_ip(&self, host: &str, ip: IpAddr) -> Result<(), Refusal> {
        let Some(kind) = special_purpose(ip) else {
            return Ok(());
        };
        if self.allowed.contains(ip) {
            return Ok(());
        }
        Err(Refusal {
            host: host.to_owned(),
            ip,
            kind,
        })
    }

    /// Checks `url`'s host: an address literal directly, a name by resolving it now (every
    /// address it resolves to must be allowed).
    pub async fn check_url(&self, url: &Url) -> Result<(), Refusal> {
        match literal(url) {
            Some((host, ip)) => self.check_ip(host, ip),
            None => match url.host_str() {
                Some(name) => self.resolve_checked(name).await.map(drop),
                None => Ok(()),
            },
        }
    }

    /// Checks `url`'s host when it is an address literal, which no resolver sees; names pass
    /// here and are checked by [`Self::resolver`] when the connection is opened.
    pub fn check_literal(&self, url: &Url) -> Result<(), Refusal> {
        match literal(url) {
            Some((host, ip)) => self.check_ip(host, ip),
            None => Ok(()),
        }
    }

    /// Resolves `name` and refuses it when any of its addresses is not allowed. A name that
    /// does not resolve is left to the connection attempt, which then fails as usual.
    async fn resolve_checked(&self, name: &str) -> Result<Vec<SocketAddr>, Refusal> {
        let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((name, 0)).await {
            Ok(found) => found.collect(),
            Err(_) => return Ok(Vec::new()),
        };
        for addr in &addrs {
            self.check_ip(name, addr.ip())?;
        }
        Ok(addrs)
    }

    /// A DNS resolver for `reqwest` that applies these rules to every connection.
    pub(crate) fn resolver(&self) -> Arc<Guarded> {
        Arc::new(Guarded(self.clone()))
    }
}

/// The host of `url` as an address, when it is one. The URL parser has already normalised
/// literals (`[::1]`, `2130706433` → `127.0.0.1`).
fn literal(url: &Url) -> Option<(&str, IpAddr)> {
    let host = url.host_str()?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse().ok().map(|ip| (bare, ip))
}

/// The resolver behind [`Outbound::resolver`].
pub(crate) struct Guarded(Outbound);

impl Resolve for Guarded {
    fn resolve(&self, name: Name) -> Resolving {
        let outbound = self.0.clone();
        Box::pin(async move {
            let name = name.as_str().to_owned();
            let addrs = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let addrs: Vec<SocketAddr> = addrs.collect();
            for addr in &addrs {
                outbound.check_ip(&name, addr.ip())?;
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// What kind of special-purpose address `ip` is, or `None` for a public one. Ranges from the
/// IANA special-purpose registries (RFC 6890 and its updates).
pub fn special_purpose(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return special_v4(v4);
            }
            special_v6(v6)
        }
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip.is_loopback() => "a loopback address",
        _ if ip.is_unspecified() || a == 0 => "an unspecified address",
        _ if ip.is_private() => "a private network address",
        (169, 254, _) => "a link-local address (where cloud metadata services answer)",
        (100, 64..=127, _) => "a carrier-grade NAT address",
        (192, 0, 0) => "an IETF protocol address",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "a documentation address",
        (198, 18..=19, _) => "a benchmarking address",
        (224..=239, _, _) => "a multicast address",
        (240..=255, _, _) => "a reserved address",
        _ => return None,
    })
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    Some(match first {
        _ if ip.is_loopback() => "a loopback address",
        _ if ip.is_unspecified() => "an unspecified address",
        _ if ip.is_multicast() => "a multicast address",
        0xfc00..=0xfdff => "a private network address",
        0xfe80..=0xfebf => "a link-local address",
        0xfec0..=0xfeff => "a site-local address",
        // NAT64 (64:ff9b::/96) reaches IPv4 through a translator: judge the IPv4 address.
        0x0064 if ip.segments()[1] == 0xff9b => {
            let [.., a, b, c, d] = ip.octets();
            return special_v4(Ipv4Addr::new(a, b, c, d));
        }
        0x2001 if ip.segments()[1] == 0x0db8 => "a documentation address",
        // 6to4 (2002::/16) carries an IPv4 address in its next 32 bits.
        0x2002 => {
            let [_, _, a, b, c, d, ..] = ip.octets();
            return special_v4(Ipv4Addr::new(a, b, c, d));
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(outbound: &Outbound, ip: &str) -> bool {
        outbound.check_ip("host", ip.parse().expect("ip")).is_err()
    }

    #[test]
    fn private_and_special_addresses_are_refused_public_ones_allowed() {
        let none = Outbound::default();
        for ip in [
            "127.0.0.1",
            "127.1.2.3",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.1.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
        ] {
            assert!(refused(&none, ip), "{ip} should be refused");
        }
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:1.1.1.1",
        ] {
            assert!(!refused(&none, ip), "{ip} is public");
        }
    }

    #[test]
    fn an_operator_can_allow_a_lan_and_nothing_else() {
        let lan = Outbound::parse("192.168.1.0/24, fd00::/8 10.0.0.7").expect("list");
        assert!(!refused(&lan, "192.168.1.20"));
        assert!(refused(&lan, "192.168.2.20"));
        assert!(!refused(&lan, "10.0.0.7"));
        assert!(refused(&lan, "10.0.0.8"));
        assert!(!refused(&lan, "fd12::1"));
        assert!(refused(&lan, "127.0.0.1"));
        assert!(Outbound::parse("10.0.0.0/33").is_err());
        assert!(Outbound::parse("intranet").is_err());
        assert_eq!(Outbound::parse(" ").expect("empty"), Outbound::default());
    }

    #[test]
    fn refusals_say_what_the_address_is_and_what_to_do() {
        let err = Outbound::default()
            .check_ip("pds.example", "169.254.169.254".parse().expect("ip"))
            .expect_err("metadata");
        assert_eq!(
            err.to_string(),
            "pds.example points at 169.254.169.254, which is a link-local address (where cloud metadata services answer). OmniPlug only calls servers on the public internet; the operator can allow a private network with OMNIPLUG_OUTBOUND_ALLOW."
        );
    }

    /// A listener that counts the connections it accepts.
    async fn listener() -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
        let socket = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = socket.local_addr().expect("addr").port();
        let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = seen.clone();
        tokio::spawn(async move {
            while let Ok((_stream, _)) = socket.accept().await {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        });
        (port, seen)
    }

    #[tokio::test]
    async fn a_client_for_a_person_chosen_server_never_connects_to_a_refused_address() {
        use crate::clients::{ClientConfig, ErrorKind, Network, bluesky::BlueskyClient};
        let (port, seen) = listener().await;
        // An address literal (no resolver involved) and a name that resolves to loopback (the
        // resolver refuses it, as it would a name rebound to 127.0.0.1 after connecting).
        for base in [
            format!("http://127.0.0.1:{port}"),
            format!("http://localhost:{port}"),
        ] {
            let client =
                BlueskyClient::new(ClientConfig::at(&base).person_chosen(Outbound::default()));
            let err = client
                .log_in("someone.example", "app-password")
                .await
                .expect_err("refused");
            assert_eq!(err.kind, ErrorKind::Permanent, "{base}: not retried");
            assert!(
                err.message
                    .contains("OmniPlug only calls servers on the public internet"),
                "{base}: {}",
                err.message
            );
        }
        assert_eq!(
            seen.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "nothing was sent"
        );
        // The same server, allowed by the operator, is called.
        let allowed = Outbound::parse("127.0.0.1").expect("list");
        let client = BlueskyClient::new(
            ClientConfig::at(format!("http://127.0.0.1:{port}"))
                .person_chosen(allowed)
                .with_timeout(std::time::Duration::from_millis(300)),
        );
        let _ = client.log_in("someone.example", "app-password").await;
        assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn names_and_literals_are_checked_alike() {
        let none = Outbound::default();
        for url in [
            "http://127.0.0.1:3000/health?",
            "http://[::1]/",
            "http://localhost:9/",
        ] {
            let url = Url::parse(url).expect("url");
            assert!(none.check_url(&url).await.is_err(), "{url}");
        }
    }
}
