//! Where mail for a domain goes: the ordered addresses to try (RFC 5321 §5.1, RFC 7505).
//!
//! The decisions are plain functions of the DNS answers ([`plan_mx`]), so they are tested
//! without a resolver; [`hops`] asks DNS and applies them.
//! - MX records by preference, equal preferences in random order (load sharing, §5.1).
//! - A single MX "." is a null MX (RFC 7505): the domain takes no mail, a permanent failure.
//!   A "." among other MX records is a misconfiguration; it is skipped.
//! - No MX: the domain itself is the host (implicit MX, §5.1), with its A/AAAA records.
//! - The domain does not exist (NXDOMAIN): permanent; the resolver failed: temporary.
//! - Each host's IPv4 then IPv6 addresses; at most [`MAX_ADDRESSES`] in all. If no host has an
//!   address, the failure is permanent when DNS said so for all of them, temporary otherwise.
//! - Not done: dropping MX hosts at or after this host's own preference (§5.1 loop rule); the
//!   queue never hands local domains to this module.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use crate::dns::{Dns, LookupError};
use crate::smtp::outbound::Outcome;

/// Most addresses tried for one domain in one delivery attempt (Postfix tries 5 MX hosts).
pub const MAX_ADDRESSES: usize = 10;

/// One address to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    /// The host's name (an MX exchange, the domain, or an address literal such as
    /// `[192.0.2.1]`): for messages and for checking its certificate.
    pub host: String,
    /// Where to connect.
    pub addr: SocketAddr,
}

impl Hop {
    /// `mx.example.test[192.0.2.1]:25` as in Postfix logs, or `[192.0.2.1]:25` for a literal.
    pub fn describe(&self) -> String {
        if self.host.starts_with('[') {
            return format!("{}:{}", self.host, self.addr.port());
        }
        format!("{}[{}]:{}", self.host, self.addr.ip(), self.addr.port())
    }
}

/// The hosts for a domain, from its MX records (preference, exchange without trailing dot;
/// `""` is the root, "."). `random(n)` returns a number below `n`.
pub fn plan_mx(
    domain: &str,
    records: &[(u16, String)],
    random: &mut dyn FnMut(usize) -> usize,
) -> Result<Vec<String>, Outcome> {
    let is_root = |name: &str| name.is_empty() || name == ".";
    if records.is_empty() {
        return Ok(vec![domain.to_string()]);
    }
    if records.iter().all(|(_, name)| is_root(name)) {
        return Err(Outcome::Permanent(format!(
            "5.1.10 {domain} accepts no mail (null MX, RFC 7505)"
        )));
    }
    let mut hosts: Vec<(u16, String)> = records
        .iter()
        .filter(|(_, name)| !is_root(name))
        .map(|(pref, name)| (*pref, name.to_ascii_lowercase()))
        .collect();
    hosts.sort_by_key(|(pref, _)| *pref);
    hosts.dedup_by(|a, b| a.1 == b.1);
    let mut start = 0;
    while start < hosts.len() {
        let pref = hosts[start].0;
        let end = start
            + hosts[start..]
                .iter()
                .take_while(|(p, _)| *p == pref)
                .count();
        shuffle(&mut hosts[start..end], random);
        start = end;
    }
    Ok(hosts.into_iter().map(|(_, name)| name).collect())
}

/// Fisher-Yates with the caller's randomness.
fn shuffle<T>(items: &mut [T], random: &mut dyn FnMut(usize) -> usize) {
    for i in (1..items.len()).rev() {
        let j = random(i + 1).min(i);
        items.swap(i, j);
    }
}

/// The address of an address literal, `[192.0.2.1]` or `[IPv6:2001:db8::1]` (RFC 5321 §4.1.3).
pub fn ip_literal(destination: &str) -> Option<IpAddr> {
    let inner = destination.strip_prefix('[')?.strip_suffix(']')?;
    match inner.get(..5) {
        Some(tag) if tag.eq_ignore_ascii_case("IPv6:") => {
            inner[5..].parse::<Ipv6Addr>().ok().map(IpAddr::V6)
        }
        _ => inner.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4),
    }
}

/// A relay setting: `host:port`, `[192.0.2.1]:587`, `[IPv6:::1]:587` or `host` (port 25).
pub fn parse_relay(relay: &str) -> Result<(String, u16), String> {
    let bad = || format!("outbound relay {relay:?}: expected host, host:port or [ip]:port");
    let (host, port) = match relay.rfind(':') {
        Some(i)
            if !relay[..i].is_empty() && (relay.starts_with('[') == relay[..i].ends_with(']')) =>
        {
            let port = relay[i + 1..].parse::<u16>().map_err(|_| bad())?;
            (&relay[..i], port)
        }
        _ => (relay, 25),
    };
    if port == 0 {
        return Err(bad());
    }
    if ip_literal(host).is_some() {
        return Ok((host.to_string(), port));
    }
    if host.starts_with('[') || !yubin_proto::address::is_valid_domain(host) {
        return Err(bad());
    }
    Ok((host.to_ascii_lowercase(), port))
}

/// The addresses to try for `destination` (a domain or an address literal) on `port`.
pub async fn hops(dns: &Dns, destination: &str, port: u16) -> Result<Vec<Hop>, Outcome> {
    if let Some(ip) = ip_literal(destination) {
        return Ok(vec![literal_hop(destination, ip, port)]);
    }
    let domain = destination.trim_end_matches('.').to_ascii_lowercase();
    let records = match dns.mx(&domain).await {
        Ok(records) => records,
        Err(LookupError::NoSuchName) => {
            return Err(Outcome::Permanent(format!(
                "5.1.2 domain {domain} does not exist (NXDOMAIN)"
            )));
        }
        Err(LookupError::Temporary(e)) => {
            return Err(Outcome::Temporary(format!(
                "4.4.3 MX lookup for {domain} failed: {e}"
            )));
        }
    };
    let implicit = records.is_empty();
    let hosts = plan_mx(&domain, &records, &mut random_below)?;
    let mut found = Vec::new();
    let mut temporary = None;
    for host in &hosts {
        match dns.addresses(host).await {
            Ok(addrs) => found.push((host.clone(), addrs)),
            Err(LookupError::Temporary(e)) => {
                temporary.get_or_insert(format!("address lookup for {host} failed: {e}"));
            }
            Err(LookupError::NoSuchName) => found.push((host.clone(), Vec::new())),
        }
    }
    plan_addresses(&domain, implicit, found, temporary, port)
}

/// The addresses of a named host (a relay), or of an address literal; no MX lookup.
pub async fn host_hops(dns: &Dns, host: &str, port: u16) -> Result<Vec<Hop>, Outcome> {
    if let Some(ip) = ip_literal(host) {
        return Ok(vec![literal_hop(host, ip, port)]);
    }
    // A relay written as a bare address ("127.0.0.1:587") is that address, not a name.
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![Hop {
            host: host.to_string(),
            addr: SocketAddr::new(ip, port),
        }]);
    }
    match dns.addresses(host).await {
        Ok(addrs) if !addrs.is_empty() => Ok(addrs
            .into_iter()
            .take(MAX_ADDRESSES)
            .map(|ip| Hop {
                host: host.to_string(),
                addr: SocketAddr::new(ip, port),
            })
            .collect()),
        // A relay is the operator's own setting: its absence from DNS is worth retrying.
        Ok(_) | Err(LookupError::NoSuchName) => Err(Outcome::Temporary(format!(
            "4.4.4 relay host {host} has no address"
        ))),
        Err(LookupError::Temporary(e)) => Err(Outcome::Temporary(format!(
            "4.4.3 address lookup for relay {host} failed: {e}"
        ))),
    }
}

/// Hops from each host's addresses, in host order. `temporary` is the first lookup that failed
/// for a reason other than "no such name or address".
pub fn plan_addresses(
    domain: &str,
    implicit: bool,
    hosts: Vec<(String, Vec<IpAddr>)>,
    temporary: Option<String>,
    port: u16,
) -> Result<Vec<Hop>, Outcome> {
    let hops: Vec<Hop> = hosts
        .into_iter()
        .flat_map(|(host, addrs)| {
            addrs.into_iter().map(move |ip| Hop {
                host: host.clone(),
                addr: SocketAddr::new(ip, port),
            })
        })
        .take(MAX_ADDRESSES)
        .collect();
    if !hops.is_empty() {
        return Ok(hops);
    }
    if let Some(reason) = temporary {
        return Err(Outcome::Temporary(format!("4.4.3 {reason}")));
    }
    Err(Outcome::Permanent(if implicit {
        format!("5.1.2 {domain} has no MX and no address records")
    } else {
        format!("5.4.4 no MX host of {domain} has an address")
    }))
}

fn literal_hop(literal: &str, ip: IpAddr, port: u16) -> Hop {
    Hop {
        host: literal.to_string(),
        addr: SocketAddr::new(ip, port),
    }
}

fn random_below(n: usize) -> usize {
    // A failing system RNG only loses the load sharing, never a delivery.
    getrandom::u32().map_or(0, |r| r as usize % n.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mx(records: &[(u16, &str)]) -> Vec<(u16, String)> {
        records.iter().map(|(p, n)| (*p, n.to_string())).collect()
    }

    fn first(_: usize) -> usize {
        0
    }

    #[test]
    fn mx_hosts_go_by_preference() {
        let records = mx(&[
            (20, "b.example.test"),
            (10, "A.example.test"),
            (30, "c.example.test"),
        ]);
        let hosts = plan_mx("example.test", &records, &mut first).expect("hosts");
        assert_eq!(
            hosts,
            ["a.example.test", "b.example.test", "c.example.test"]
        );
    }

    #[test]
    fn equal_preferences_are_shuffled_but_stay_in_their_rank() {
        let records = mx(&[(10, "a"), (10, "b"), (10, "c"), (5, "first"), (20, "last")]);
        let mut seen = std::collections::HashSet::new();
        let mut state = 12345u64;
        let mut rng = move |n: usize| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as usize) % n
        };
        for _ in 0..200 {
            let hosts = plan_mx("example.test", &records, &mut rng).expect("hosts");
            assert_eq!(hosts.first().map(String::as_str), Some("first"));
            assert_eq!(hosts.last().map(String::as_str), Some("last"));
            seen.insert(hosts[1..4].join(","));
        }
        assert_eq!(
            seen.len(),
            6,
            "every order of the three equal hosts: {seen:?}"
        );
    }

    #[test]
    fn no_mx_means_the_domain_itself() {
        let hosts = plan_mx("example.test", &[], &mut first).expect("implicit MX");
        assert_eq!(hosts, ["example.test"]);
    }

    #[test]
    fn null_mx_is_a_permanent_failure() {
        let err = plan_mx("example.test", &mx(&[(0, "")]), &mut first).expect_err("null MX");
        assert!(
            matches!(&err, Outcome::Permanent(t) if t.starts_with("5.1.10 ")),
            "{err:?}"
        );
        let err = plan_mx("example.test", &mx(&[(0, ".")]), &mut first).expect_err("null MX");
        assert_eq!(err.status(), "5.1.10");
    }

    #[test]
    fn a_root_exchange_among_real_ones_is_skipped() {
        let records = mx(&[(0, ""), (10, "mx.example.test")]);
        let hosts = plan_mx("example.test", &records, &mut first).expect("hosts");
        assert_eq!(hosts, ["mx.example.test"]);
    }

    #[test]
    fn addresses_follow_host_order_and_are_capped() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        let hosts = vec![
            ("a".to_string(), vec![ip("192.0.2.1"), ip("2001:db8::1")]),
            ("b".to_string(), vec![]),
            ("c".to_string(), vec![ip("192.0.2.3")]),
        ];
        let hops = plan_addresses("example.test", false, hosts, None, 2525).expect("hops");
        let described: Vec<String> = hops.iter().map(Hop::describe).collect();
        assert_eq!(
            described,
            [
                "a[192.0.2.1]:2525",
                "a[2001:db8::1]:2525",
                "c[192.0.2.3]:2525"
            ]
        );
        let many = (0..20)
            .map(|i| (format!("h{i}"), vec![ip("192.0.2.9")]))
            .collect();
        let hops = plan_addresses("example.test", false, many, None, 25).expect("hops");
        assert_eq!(hops.len(), MAX_ADDRESSES);
    }

    #[test]
    fn no_address_anywhere_is_permanent_unless_a_lookup_failed() {
        let none = || vec![("mx.example.test".to_string(), vec![])];
        let err = plan_addresses("example.test", false, none(), None, 25).expect_err("none");
        assert_eq!(err.status(), "5.4.4");
        let err = plan_addresses("example.test", true, none(), None, 25).expect_err("none");
        assert_eq!(err.status(), "5.1.2");
        let err = plan_addresses("example.test", false, none(), Some("timeout".into()), 25)
            .expect_err("temporary");
        assert!(matches!(err, Outcome::Temporary(_)), "{err:?}");
    }

    #[test]
    fn address_literals_and_relays_parse() {
        assert_eq!(
            ip_literal("[127.0.0.1]"),
            Some(IpAddr::from([127, 0, 0, 1]))
        );
        assert_eq!(ip_literal("[IPv6:::1]"), Some("::1".parse().expect("ip")));
        assert_eq!(ip_literal("[::1]"), None);
        assert_eq!(ip_literal("127.0.0.1"), None);
        assert_eq!(ip_literal("example.test"), None);
        assert_eq!(
            parse_relay("Smtp.Example.test:587"),
            Ok(("smtp.example.test".to_string(), 587))
        );
        assert_eq!(
            parse_relay("smtp.example.test"),
            Ok(("smtp.example.test".into(), 25))
        );
        assert_eq!(
            parse_relay("[127.0.0.1]:2525"),
            Ok(("[127.0.0.1]".into(), 2525))
        );
        assert_eq!(
            parse_relay("[IPv6:::1]:2525"),
            Ok(("[IPv6:::1]".into(), 2525))
        );
        assert_eq!(parse_relay("[IPv6:::1]"), Ok(("[IPv6:::1]".into(), 25)));
        assert!(parse_relay("smtp.example.test:x").is_err());
        assert!(parse_relay("smtp.example.test:0").is_err());
        assert!(parse_relay("").is_err());
        assert!(parse_relay("[nonsense]:25").is_err());
    }
}
