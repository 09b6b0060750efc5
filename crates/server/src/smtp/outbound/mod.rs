//! Outbound delivery: the SMTP client that hands queued mail to other domains' servers.
//!
//! Implementation notes:
//! - [`deliver_domain`] is the entry the queue runner calls, once per (message, destination
//!   domain) with all of that domain's recipients: [`resolve`] turns the domain into the
//!   ordered addresses to try, [`client`] runs one SMTP transaction per address.
//! - RFC 5321 §5.1: addresses are tried in order while recipients are left with a temporary
//!   outcome; a delivered recipient or a 5xx to MAIL/RCPT/DATA from a server that answered is
//!   final and not retried elsewhere. Recipients still temporary after the last address are
//!   the queue's to retry later.
//! - Outcome texts are either the remote reply (`550 5.1.1 <a@b>: no such user`) or, when
//!   Yubin decided without a reply (DNS, connection, TLS, SMTPUTF8), an enhanced status code
//!   and a reason (`4.4.1 connect to mx.example.test[192.0.2.1]:25: connection refused`), as
//!   Postfix writes them, so DSNs can quote either.
//! - TLS (RFC 3207, RFC 7435): STARTTLS is used whenever offered, without checking the
//!   certificate (most MX certificates do not match their names); `Required` and `Verify`
//!   make it mandatory, `Verify` also checks it. An opportunistic handshake that fails is
//!   retried once in clear text, as Postfix does.

pub mod client;
pub mod resolve;
mod tls;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::dns::Dns;

pub use client::{Attempt, Envelope, transaction};
pub use resolve::Hop;

/// `[outbound]` settings: how Yubin delivers to other servers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct OutboundConfig {
    /// Name sent with EHLO/HELO; it should be this host's name in DNS. Empty: the address
    /// literal of the local end of the connection (`[192.0.2.1]`, RFC 5321 §4.1.4).
    pub helo_name: String,
    /// Port of remote MX servers (25; tests run the peer on an unprivileged port).
    pub port: u16,
    /// Seconds to wait for a TCP connection to an address before trying the next.
    pub connect_timeout_secs: u64,
    /// Seconds to wait for the greeting and for the reply to EHLO, STARTTLS, AUTH, MAIL FROM
    /// and each RCPT TO (RFC 5321 §4.5.3.2: 5 minutes).
    pub command_timeout_secs: u64,
    /// Seconds to wait for the reply to DATA (RFC 5321 §4.5.3.2: 2 minutes).
    pub data_start_timeout_secs: u64,
    /// Seconds allowed for each block of the message to be written (3 minutes).
    pub data_block_timeout_secs: u64,
    /// Seconds to wait for the reply after the final "." (10 minutes).
    pub data_end_timeout_secs: u64,
    /// TLS policy for every connection: `none`, `opportunistic`, `required`, `verify`.
    pub tls: TlsPolicy,
    /// Policies for particular destination domains, overriding `tls` (`{ "bank.example" =
    /// "verify" }`): TLS required where configured.
    pub tls_domains: BTreeMap<String, TlsPolicy>,
    /// PEM file of CA certificates for `tls = "verify"`; empty: the Mozilla roots built in
    /// (webpki-roots).
    pub ca_file: String,
    /// Send all outbound mail through this host instead of MX lookups: `host:port`,
    /// `[192.0.2.1]:587`, or `host` (port 25). Empty: deliver directly.
    pub relay: String,
    /// User name for AUTH at the relay (PLAIN, else LOGIN); empty: no AUTH.
    pub relay_user: String,
    /// Password for `relay_user`. Sent only over TLS, or in clear to a loopback relay.
    pub relay_password: String,
}

impl Default for OutboundConfig {
    fn default() -> Self {
        Self {
            helo_name: String::new(),
            port: 25,
            connect_timeout_secs: 30,
            command_timeout_secs: 300,
            data_start_timeout_secs: 120,
            data_block_timeout_secs: 180,
            data_end_timeout_secs: 600,
            tls: TlsPolicy::Opportunistic,
            tls_domains: BTreeMap::new(),
            ca_file: String::new(),
            relay: String::new(),
            relay_user: String::new(),
            relay_password: String::new(),
        }
    }
}

impl OutboundConfig {
    /// Checks what would otherwise fail at every delivery: the relay's syntax and the CA file.
    pub fn validate(&self) -> Result<(), String> {
        if !self.relay.is_empty() {
            resolve::parse_relay(&self.relay)?;
        }
        if self.tls == TlsPolicy::Verify
            || self.tls_domains.values().any(|p| *p == TlsPolicy::Verify)
        {
            tls::connector(TlsPolicy::Verify, &self.ca_file)?;
        }
        if self.relay_user.is_empty() != self.relay_password.is_empty() {
            return Err("outbound relay_user and relay_password go together".to_string());
        }
        Ok(())
    }
}

/// Whether and how STARTTLS is used (RFC 3207; RFC 7435 opportunistic security).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TlsPolicy {
    /// Never use STARTTLS.
    None,
    /// Use TLS when the server offers it, without checking its certificate; clear text when it
    /// does not (Postfix "may").
    #[default]
    Opportunistic,
    /// TLS or no delivery (temporary failure); the certificate is not checked ("encrypt").
    Required,
    /// TLS with a certificate valid for the host name, from the built-in roots or `ca_file`
    /// ("secure"); for a relay, or MX hosts known to have proper certificates.
    Verify,
}

/// What became of one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server accepted the message for it; holds its reply.
    Delivered(String),
    /// Not delivered yet; try again later. Holds the reply or the reason.
    Temporary(String),
    /// Never deliverable as it stands: bounce. Holds the reply or the reason.
    Permanent(String),
}

impl Outcome {
    /// The reply or the reason.
    pub fn text(&self) -> &str {
        match self {
            Outcome::Delivered(t) | Outcome::Temporary(t) | Outcome::Permanent(t) => t,
        }
    }

    /// The enhanced status code (RFC 3463) for a DSN: the one in the text, or `X.0.0` from the
    /// reply's class when the server gave none.
    pub fn status(&self) -> String {
        let fallback = match self {
            Outcome::Delivered(_) => "2.0.0",
            Outcome::Temporary(_) => "4.0.0",
            Outcome::Permanent(_) => "5.0.0",
        };
        enhanced_status(self.text()).unwrap_or(fallback).to_string()
    }
}

/// The RFC 3463 enhanced status code in a reply or a reason: the first word of Yubin's own
/// reasons (`5.4.7 Delivery time expired`) or the word after a three-digit reply code
/// (`550 5.1.1 no such user`); `None` when there is none.
pub fn enhanced_status(text: &str) -> Option<&str> {
    let is_status = |w: &str| {
        let parts: Vec<&str> = w.split('.').collect();
        parts.len() == 3
            && matches!(parts[0], "2" | "4" | "5")
            && parts[1..]
                .iter()
                .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
    };
    let mut words = text.split_whitespace();
    match (words.next(), words.next()) {
        (Some(first), _) if is_status(first) => Some(first),
        (Some(code), Some(second)) if code.len() == 3 && is_status(second) => Some(second),
        _ => None,
    }
}

/// Delivers `message` from `mail_from` to `recipients` (all in `domain`), trying the domain's
/// servers in order; one outcome per recipient, in the order given. `domain` may be an address
/// literal (`[192.0.2.1]`, `[IPv6:2001:db8::1]`); a configured relay replaces the MX lookup.
/// `message` is the message as stored; line endings are normalised and dots stuffed here.
pub async fn deliver_domain(
    dns: &Dns,
    cfg: &OutboundConfig,
    domain: &str,
    mail_from: &str,
    recipients: &[String],
    message: &[u8],
) -> Vec<(String, Outcome)> {
    let (hops, credentials) = match route(dns, cfg, domain).await {
        Ok(found) => found,
        Err(outcome) => {
            tracing::info!(
                domain,
                reason = outcome.text(),
                "no route for outbound mail"
            );
            return recipients
                .iter()
                .map(|r| (r.clone(), outcome.clone()))
                .collect();
        }
    };
    let envelope = Envelope {
        mail_from,
        recipients,
        message,
    };
    let policy = cfg.tls_domains.get(&domain.to_ascii_lowercase()).copied();
    match policy {
        Some(tls) if tls != cfg.tls => {
            let cfg = OutboundConfig { tls, ..cfg.clone() };
            deliver_to_hops(&cfg, &hops, credentials.as_ref(), &envelope).await
        }
        _ => deliver_to_hops(cfg, &hops, credentials.as_ref(), &envelope).await,
    }
}

/// Tries `hops` in order until no recipient is left with a temporary outcome (RFC 5321 §5.1);
/// a recipient's outcome is the last one it got. One outcome per recipient, in order.
pub async fn deliver_to_hops(
    cfg: &OutboundConfig,
    hops: &[Hop],
    credentials: Option<&Credentials>,
    envelope: &Envelope<'_>,
) -> Vec<(String, Outcome)> {
    let mut results: Vec<(String, Outcome)> = envelope
        .recipients
        .iter()
        .map(|r| {
            (
                r.clone(),
                Outcome::Temporary("4.4.1 no server to try".to_string()),
            )
        })
        .collect();
    for hop in hops {
        let pending: Vec<String> = results
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Temporary(_)))
            .map(|(r, _)| r.clone())
            .collect();
        if pending.is_empty() {
            break;
        }
        let attempt_envelope = Envelope {
            recipients: &pending,
            ..*envelope
        };
        let attempt = client::transaction(cfg, hop, credentials, &attempt_envelope).await;
        // Recipients are matched by position among the pending ones, so a recipient listed
        // twice keeps two outcomes.
        let mut outcomes = attempt.recipients.into_iter();
        for (rcpt, slot) in results
            .iter_mut()
            .filter(|(_, o)| matches!(o, Outcome::Temporary(_)))
        {
            if let Some((_, outcome)) = outcomes.next() {
                tracing::info!(host = %attempt.host, rcpt, ?outcome, "outbound delivery");
                *slot = outcome;
            }
        }
    }
    results
}

/// User name and password for AUTH at a relay.
#[derive(Clone)]
pub struct Credentials {
    /// SASL authentication identity.
    pub user: String,
    /// Its password; never logged.
    pub password: yubin_proto::secret::Secret<String>,
}

/// The addresses to try and the credentials to present there.
async fn route(
    dns: &Dns,
    cfg: &OutboundConfig,
    domain: &str,
) -> Result<(Vec<Hop>, Option<Credentials>), Outcome> {
    if cfg.relay.is_empty() {
        return Ok((resolve::hops(dns, domain, cfg.port).await?, None));
    }
    let (host, port) =
        resolve::parse_relay(&cfg.relay).map_err(|e| Outcome::Temporary(format!("4.3.5 {e}")))?;
    let hops = resolve::host_hops(dns, &host, port).await?;
    let credentials = (!cfg.relay_user.is_empty()).then(|| Credentials {
        user: cfg.relay_user.clone(),
        password: cfg.relay_password.clone().into(),
    });
    Ok((hops, credentials))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_comes_from_the_text_or_the_class() {
        let o = Outcome::Permanent("550 5.1.1 <a@b>: no such user".into());
        assert_eq!(o.status(), "5.1.1");
        let o = Outcome::Temporary("4.4.1 connect to mx[192.0.2.1]:25: refused".into());
        assert_eq!(o.status(), "4.4.1");
        let o = Outcome::Permanent("554 go away".into());
        assert_eq!(o.status(), "5.0.0");
        let o = Outcome::Delivered("250 ok".into());
        assert_eq!(o.status(), "2.0.0");
    }

    #[test]
    fn config_defaults_follow_rfc_5321_and_reject_unknown_keys() {
        let cfg: OutboundConfig = toml::from_str("").expect("empty config");
        assert_eq!(cfg.port, 25);
        assert_eq!(cfg.command_timeout_secs, 300);
        assert_eq!(cfg.data_end_timeout_secs, 600);
        assert_eq!(cfg.tls, TlsPolicy::Opportunistic);
        let cfg: OutboundConfig = toml::from_str("tls = \"verify\"").expect("policy");
        assert_eq!(cfg.tls, TlsPolicy::Verify);
        assert!(toml::from_str::<OutboundConfig>("relayhost = \"x\"").is_err());
    }

    #[test]
    fn validate_catches_a_bad_relay_and_half_credentials() {
        let mut cfg = OutboundConfig {
            relay: "smtp.example.test:notaport".into(),
            ..OutboundConfig::default()
        };
        assert!(cfg.validate().is_err());
        cfg.relay = "smtp.example.test:587".into();
        assert!(cfg.validate().is_ok());
        cfg.relay_user = "me".into();
        assert!(cfg.validate().is_err());
    }
}
