//! Abuse limits: fixed-window counters in Redis, shared by every server instance.
//!
//! An attempt takes its turn *before* the work it guards ([`take`]): one Lua script
//! increments the counter and starts its window in the same step, so thirty parallel guesses
//! cannot all read "9" and all go ahead, and a counter can never be left without an expiry (a
//! lockout for ever). Work that turned out fine can hand its turn back ([`give_back`]).
//!
//! An in-process limiter (the `governor` crate) would be the usual choice, but servers scale
//! out behind a load balancer and must share one count, so the count lives in Redis.
//!
//! When Redis cannot be reached the attempt goes ahead uncounted (and a warning is logged):
//! logging in without the limit for a minute is better than nobody logging in.

use std::{net::IpAddr, time::Duration};

use fred::{
    interfaces::{ClientLike, KeysInterface},
    types::scripts::Script,
};

use crate::queue::Redis;

/// A kind of attempt and how many of it one subject may make per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Names the counter in Redis and in logs.
    pub name: &'static str,
    /// Attempts allowed in one window.
    pub max: u32,
    /// The window, which starts at the first attempt.
    pub window: Duration,
}

/// Wrong passwords for one account from one address. Counted per pair, so an attacker's
/// guesses never lock the owner out when they log in from their own address.
pub const LOGIN_PER_ACCOUNT_AND_ADDRESS: Limit = Limit {
    name: "login",
    max: 10,
    window: Duration::from_secs(15 * 60),
};

/// Wrong passwords for one account, whatever the address: a guesser with many addresses. An
/// address the account logged in from before (within [`KNOWN_FOR`]) is not held by it, so
/// the owner still gets in from home while strangers are refused.
pub const LOGIN_PER_ACCOUNT: Limit = Limit {
    name: "login-account",
    max: 100,
    window: Duration::from_secs(15 * 60),
};

/// An account logged in from this address (see [`LOGIN_PER_ACCOUNT`]).
pub const KNOWN_ADDRESS: Limit = Limit {
    name: "login-known",
    max: 0,
    window: KNOWN_FOR,
};

/// Wrong passwords from one address, whatever the accounts (one address trying many accounts).
/// Generous, as an office or a phone network shares one address.
pub const LOGIN_PER_ADDRESS: Limit = Limit {
    name: "login-address",
    max: 100,
    window: Duration::from_secs(15 * 60),
};

/// New accounts from one address: `max` an hour (`OMNIPLUG_SIGN_UPS_PER_HOUR`).
pub const fn sign_ups_per_address(max: u32) -> Limit {
    Limit {
        name: "sign-up",
        max,
        window: Duration::from_secs(60 * 60),
    }
}

/// Invitations one person creates, across all their workspaces (each names a stranger's
/// address and makes a link to join).
pub const INVITATIONS_PER_PERSON: Limit = Limit {
    name: "invite",
    max: 50,
    window: Duration::from_secs(60 * 60),
};

/// Workspaces one person creates in a day (each brings its own media quota and invitations).
pub const WORKSPACES_PER_PERSON: Limit = Limit {
    name: "workspace",
    max: 20,
    window: Duration::from_secs(24 * 60 * 60),
};

/// Password changes tried by one account (each checks the current password).
pub const PASSWORD_CHANGES_PER_ACCOUNT: Limit = Limit {
    name: "password",
    max: 10,
    window: Duration::from_secs(15 * 60),
};

/// What [`take`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead.
    Allowed,
    /// Over the limit: try again after this many seconds.
    Limited {
        /// Seconds until the window ends (at least 1).
        retry_after: u64,
    },
}

/// Increments the counter, starting its window when it is new (or somehow has no expiry), and
/// answers the count and the milliseconds left in the window.
const TAKE_LUA: &str = r"
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
";

fn key(redis: &Redis, limit: &Limit, subject: &str) -> String {
    // Subjects are e-mail addresses and client addresses: Redis holds only (the first half of)
    // their SHA-256, the same digest session tokens are stored as.
    let hashed = crate::sessions::hash_token(subject);
    redis.key(&format!("limit:{}:{}", limit.name, &hashed[..32]))
}

/// Takes one attempt from `subject`'s allowance under `limit`.
pub async fn take(redis: &Redis, limit: &Limit, subject: &str) -> Verdict {
    static SCRIPT: std::sync::LazyLock<Script> =
        std::sync::LazyLock::new(|| Script::from_lua(TAKE_LUA));
    if !redis.client().is_connected() {
        tracing::warn!(limit = limit.name, "not counted: Redis is not connected");
        return Verdict::Allowed;
    }
    let window_ms = u64::try_from(limit.window.as_millis()).unwrap_or(u64::MAX);
    let answer: Result<(i64, i64), _> = SCRIPT
        .evalsha_with_reload(
            redis.client(),
            vec![key(redis, limit, subject)],
            vec![window_ms.to_string()],
        )
        .await;
    match answer {
        Ok((count, _)) if count <= i64::from(limit.max) => Verdict::Allowed,
        Ok((_, left_ms)) => Verdict::Limited {
            retry_after: left_ms.unsigned_abs().div_ceil(1000).max(1),
        },
        Err(err) => {
            tracing::warn!(limit = limit.name, error = %err, "not counted: Redis unavailable");
            Verdict::Allowed
        }
    }
}

/// Hands back every attempt taken under `limit` by `subject` (after a successful login, its
/// earlier misses are forgiven).
pub async fn forgive(redis: &Redis, limit: &Limit, subject: &str) {
    if redis.client().is_connected() {
        let _: Result<i64, _> = redis.client().del(key(redis, limit, subject)).await;
    }
}

/// Decrements the counter only while it exists: a window that ended in between must not
/// leave a counter at -1 without an expiry (one extra attempt, for ever).
const GIVE_BACK_LUA: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end
return 0
";

/// Hands back one attempt (work that went well does not count against the allowance).
pub async fn give_back(redis: &Redis, limit: &Limit, subject: &str) {
    static SCRIPT: std::sync::LazyLock<Script> =
        std::sync::LazyLock::new(|| Script::from_lua(GIVE_BACK_LUA));
    if redis.client().is_connected() {
        let _: Result<i64, _> = SCRIPT
            .evalsha_with_reload(
                redis.client(),
                vec![key(redis, limit, subject)],
                Vec::<String>::new(),
            )
            .await;
    }
}

/// Remembers for [`KNOWN_FOR`] that `subject` (an account and an address) succeeded.
pub async fn remember(redis: &Redis, limit: &Limit, subject: &str) {
    use fred::types::Expiration;
    if redis.client().is_connected() {
        let expiry = Expiration::EX(i64::try_from(KNOWN_FOR.as_secs()).unwrap_or(i64::MAX));
        let _: Result<(), _> = redis
            .client()
            .set(key(redis, limit, subject), 1, Some(expiry), None, false)
            .await;
    }
}

/// Whether `subject` succeeded within [`KNOWN_FOR`] (see [`remember`]). Unknown when Redis is
/// unreachable, which only matters where a limit would refuse anyway.
pub async fn is_remembered(redis: &Redis, limit: &Limit, subject: &str) -> bool {
    if !redis.client().is_connected() {
        return false;
    }
    let found: Result<Option<i64>, _> = redis.client().get(key(redis, limit, subject)).await;
    matches!(found, Ok(Some(_)))
}

/// How long an address an account logged in from stays known to it.
pub const KNOWN_FOR: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// What an address is counted as: itself for IPv4; for IPv6 its /64, the block one
/// subscriber usually holds whole (counting single addresses would give one host billions).
pub fn address_subject(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let [a, b, c, d, ..] = v6.segments();
            format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
        }
    }
}

/// The address of the person making a request: the connection's peer, or, when the peer is
/// one of the operator's proxies, the nearest address in `X-Forwarded-For` that is not.
///
/// `X-Forwarded-For` is read from the right: each proxy appends the address it was reached
/// from, so everything left of the first untrusted hop was written by the client and can be
/// anything. An entry that is not an address ends the walk at the proxy that appended it.
pub fn client_address<'a>(
    peer: IpAddr,
    forwarded_for: impl IntoIterator<Item = &'a str>,
    trusted: &crate::config::AddressList,
) -> IpAddr {
    // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d.
    let peer = peer.to_canonical();
    if !trusted.contains(peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded_for
        .into_iter()
        .flat_map(|line| line.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = hop_address(hop) else {
            tracing::warn!(
                hop,
                "a trusted proxy sent an X-Forwarded-For entry that is not an address"
            );
            break;
        };
        client = ip;
        if !trusted.contains(ip) {
            break;
        }
    }
    client
}

/// One `X-Forwarded-For` entry as an address: `1.2.3.4`, `2001:db8::1`, and the forms some
/// load balancers write with a port, `1.2.3.4:5678` and `[2001:db8::1]:5678`.
fn hop_address(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    hop.parse::<std::net::SocketAddr>()
        .ok()
        .map(|addr| addr.ip().to_canonical())
}

/// The client address a request came from, set by the server for everything after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AddressList;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv6_clients_count_by_their_slash_64() {
        assert_eq!(address_subject(ip("203.0.113.9")), "203.0.113.9");
        assert_eq!(
            address_subject(ip("2001:db8:1:2:aaaa::1")),
            address_subject(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            address_subject(ip("2001:db8:1:2::1")),
            address_subject(ip("2001:db8:1:3::1"))
        );
    }

    #[test]
    fn ports_and_mapped_addresses_are_read_as_the_address() {
        let trusted = AddressList::parse("127.0.0.1").unwrap();
        // The proxy reached over a dual-stack socket, naming the client with a port.
        assert_eq!(
            client_address(ip("::ffff:127.0.0.1"), ["198.51.100.7:4711"], &trusted),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_address(ip("127.0.0.1"), ["[2001:db8::5]:443"], &trusted),
            ip("2001:db8::5")
        );
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says() {
        let none = AddressList::default();
        assert_eq!(
            client_address(ip("203.0.113.9"), ["1.2.3.4"], &none),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_nearest_untrusted_hop_is_the_client() {
        let trusted = AddressList::parse("127.0.0.0/8, 10.0.0.0/8").unwrap();
        // The client claims 1.2.3.4; the proxy appended the address it really saw.
        assert_eq!(
            client_address(ip("127.0.0.1"), ["1.2.3.4, 198.51.100.7"], &trusted),
            ip("198.51.100.7")
        );
        // Two proxies, two headers.
        assert_eq!(
            client_address(ip("127.0.0.1"), ["198.51.100.7", "10.1.2.3"], &trusted),
            ip("198.51.100.7")
        );
        // Junk ends the walk at the proxy that appended it.
        assert_eq!(
            client_address(ip("127.0.0.1"), ["198.51.100.7, junk, 10.1.2.3"], &trusted),
            ip("10.1.2.3")
        );
        // No header: the proxy itself.
        assert_eq!(
            client_address(ip("127.0.0.1"), [], &trusted),
            ip("127.0.0.1")
        );
        // A peer outside the trusted list is believed, not its header.
        assert_eq!(
            client_address(ip("198.51.100.7"), ["1.2.3.4"], &trusted),
            ip("198.51.100.7")
        );
    }
}
