//! The DNS resolver every part of Yubin shares: MX and address lookups for outbound delivery
//! now, SPF/DKIM/DMARC TXT lookups later (through [`Dns::authenticator`], the same resolver and
//! cache).
//!
//! Lookups answer in three ways the callers must tell apart (RFC 5321 §5.1, RFC 2308): records;
//! the name does not exist (NXDOMAIN, a permanent answer); or the resolver could not find out
//! (timeout, SERVFAIL, refused: try again later). A name that exists without records of the type
//! asked (NODATA) is an empty list, not an error.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use mail_auth::common::cache::NoCache;
use mail_auth::hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use mail_auth::hickory_resolver::proto::op::ResponseCode;
use mail_auth::hickory_resolver::system_conf::read_system_conf;
use mail_auth::{MX, MessageAuthenticator, RecordSet};
use serde::{Deserialize, Serialize};

/// `[dns]` settings.
#[derive(Serialize, Deserialize, Default, Clone, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DnsConfig {
    /// Resolvers to ask, as `ip:port` (`"127.0.0.1:5353"`, `"[::1]:53"`) or a bare IP (port
    /// 53); each is asked over UDP and, for truncated answers, TCP on that port. Empty: the
    /// system's /etc/resolv.conf.
    pub nameservers: Vec<String>,
    /// Milliseconds to wait for one answer before asking again; 0 = the resolver's default
    /// (5 s, or `options timeout:` in /etc/resolv.conf).
    pub timeout_ms: u64,
}

/// The resolver (with its cache); cheap to share by reference.
pub struct Dns {
    authenticator: MessageAuthenticator,
}

/// Why a lookup gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    /// The name does not exist (NXDOMAIN): permanent.
    NoSuchName,
    /// No answer could be had now (timeout, SERVFAIL, network): temporary. Holds the reason.
    Temporary(String),
}

impl Dns {
    /// Builds the resolver; fails on a nameserver that is not `ip[:port]` or an unreadable
    /// /etc/resolv.conf.
    pub fn new(config: &DnsConfig) -> Result<Self, String> {
        let (resolver, mut options) = if config.nameservers.is_empty() {
            read_system_conf().map_err(|e| format!("reading /etc/resolv.conf: {e}"))?
        } else {
            let servers = config
                .nameservers
                .iter()
                .map(|s| nameserver(s))
                .collect::<Result<Vec<_>, _>>()?;
            (
                ResolverConfig::from_name_servers(servers),
                ResolverOpts::default(),
            )
        };
        if config.timeout_ms > 0 {
            options.timeout = Duration::from_millis(config.timeout_ms);
        }
        let authenticator = MessageAuthenticator::new(resolver, options)
            .map_err(|e| format!("starting the DNS resolver: {e}"))?;
        Ok(Self { authenticator })
    }

    /// The resolver as mail-auth's SPF/DKIM/DMARC verifier.
    pub fn authenticator(&self) -> &MessageAuthenticator {
        &self.authenticator
    }

    /// The MX records of `domain` as (preference, exchange) pairs, exchanges in lower case
    /// without the trailing dot (a null MX, RFC 7505, is `"."` -> `""`). Empty when the domain
    /// exists but has no MX.
    pub async fn mx(&self, domain: &str) -> Result<Vec<(u16, String)>, LookupError> {
        let found = self
            .authenticator
            .mx_lookup(domain, None::<&NoCache<Box<str>, RecordSet<MX>>>)
            .await;
        let records = match found {
            Ok(records) => records,
            Err(e) => return no_records(e),
        };
        Ok(records
            .rrset
            .iter()
            .flat_map(|mx| {
                mx.exchanges
                    .iter()
                    .map(|name| (mx.preference, name.trim_end_matches('.').to_string()))
            })
            .collect())
    }

    /// The IPv4 and IPv6 addresses of `host`, IPv4 first. NXDOMAIN only when neither family
    /// exists; a failure of one family with an answer from the other is not an error.
    pub async fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, LookupError> {
        let (v4, v6) = tokio::join!(
            self.authenticator.ipv4_lookup(host, None::<&NoCache<_, _>>),
            self.authenticator.ipv6_lookup(host, None::<&NoCache<_, _>>),
        );
        let v4 = v4
            .map(|r| r.rrset.iter().copied().map(IpAddr::V4).collect::<Vec<_>>())
            .or_else(no_records);
        let v6 = v6
            .map(|r| r.rrset.iter().copied().map(IpAddr::V6).collect::<Vec<_>>())
            .or_else(no_records);
        match (v4, v6) {
            (Ok(mut a), Ok(b)) => {
                a.extend(b);
                Ok(a)
            }
            (Ok(a), Err(e)) | (Err(e), Ok(a)) => {
                if a.is_empty() {
                    Err(e)
                } else {
                    Ok(a)
                }
            }
            (Err(LookupError::Temporary(e)), _) | (_, Err(LookupError::Temporary(e))) => {
                Err(LookupError::Temporary(e))
            }
            (Err(LookupError::NoSuchName), Err(LookupError::NoSuchName)) => {
                Err(LookupError::NoSuchName)
            }
        }
    }
}

/// Maps a failed lookup: NODATA is an empty answer, NXDOMAIN permanent, the rest temporary.
fn no_records<T: Default>(e: mail_auth::Error) -> Result<T, LookupError> {
    match e {
        mail_auth::Error::Dns(mail_auth::DnsError::RecordNotFound(code)) => match code {
            ResponseCode::NoError => Ok(T::default()),
            ResponseCode::NXDomain => Err(LookupError::NoSuchName),
            other => Err(LookupError::Temporary(format!(
                "DNS server answered {other}"
            ))),
        },
        other => Err(LookupError::Temporary(other.to_string())),
    }
}

/// `ip:port` or a bare IP (port 53), asked over UDP and TCP.
fn nameserver(spec: &str) -> Result<NameServerConfig, String> {
    let addr = match spec.parse::<SocketAddr>() {
        Ok(addr) => addr,
        Err(_) => match spec.parse::<IpAddr>() {
            Ok(ip) => SocketAddr::new(ip, 53),
            Err(_) => return Err(format!("dns nameserver {spec:?}: expected ip or ip:port")),
        },
    };
    let mut server = NameServerConfig::udp_and_tcp(addr.ip());
    for connection in &mut server.connections {
        connection.port = addr.port();
    }
    Ok(server)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nameservers_take_ip_and_port() {
        let s = nameserver("127.0.0.1:5353").expect("valid");
        assert_eq!(s.ip, IpAddr::from([127, 0, 0, 1]));
        assert_eq!(s.connections.len(), 2);
        assert!(s.connections.iter().all(|c| c.port == 5353));
        let s = nameserver("::1").expect("valid");
        assert!(s.connections.iter().all(|c| c.port == 53));
        assert!(nameserver("dns.example").is_err());
    }
}
