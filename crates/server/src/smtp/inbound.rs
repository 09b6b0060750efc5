//! What the MX port checks about a message before storing it: SPF, DKIM, ARC and DMARC
//! (`crate::mailauth`), recorded in an Authentication-Results field (RFC 8601), and DMARC
//! `p=reject` enforced with 550 5.7.1 at the end of DATA (RFC 7489 §6.6.2).

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::dns::Dns;
use crate::mailauth::{InboundInput, InboundVerdict, check_inbound};

/// Longest the checks of one message may take (SPF alone may need 10 lookups); past it the
/// message is stored without an Authentication-Results field rather than held up.
const CHECK_TIMEOUT: Duration = Duration::from_secs(30);

/// `[checks]` settings: sender authentication on the MX port.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ChecksConfig {
    /// Check SPF, DKIM, ARC and DMARC and add an Authentication-Results field.
    pub enabled: bool,
    /// Refuse (550 5.7.1) a message that fails DMARC when its domain publishes `p=reject`.
    pub dmarc_reject: bool,
    /// Hosted domains that take such messages anyway (tagged in Authentication-Results).
    pub dmarc_reject_exempt: Vec<String>,
}

impl Default for ChecksConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            dmarc_reject: true,
            dmarc_reject_exempt: Vec::new(),
        }
    }
}

/// The checks of one MX listener.
pub struct InboundChecks {
    dns: Arc<Dns>,
    dmarc_reject: bool,
    exempt: BTreeSet<String>,
}

/// What the session does with a received message.
pub(crate) enum Decision {
    /// Store it with this field prepended (empty when the checks gave no answer in time).
    Accept(Vec<u8>),
    /// Refuse it; holds the domain whose policy asked for it.
    Reject(String),
}

impl InboundChecks {
    /// The checks for `config` over `dns`; `None` when they are turned off.
    pub fn new(config: &ChecksConfig, dns: Arc<Dns>) -> Option<Self> {
        config.enabled.then(|| Self {
            dns,
            dmarc_reject: config.dmarc_reject,
            exempt: config
                .dmarc_reject_exempt
                .iter()
                .map(|d| d.trim().to_ascii_lowercase())
                .collect(),
        })
    }

    /// Checks `message` from `peer` and decides; `recipient_domains` are the hosted domains it
    /// is for, lowercase (a rejection needs every one of them to enforce DMARC).
    pub(crate) async fn decide(
        &self,
        peer: IpAddr,
        helo: &str,
        mail_from: &str,
        hostname: &str,
        message: &[u8],
        recipient_domains: &[String],
    ) -> Decision {
        let input = InboundInput {
            peer_ip: peer.to_canonical(),
            helo,
            mail_from,
            hostname,
            message,
        };
        let verdict: InboundVerdict = match tokio::time::timeout(
            CHECK_TIMEOUT,
            check_inbound(self.dns.authenticator(), input),
        )
        .await
        {
            Ok(v) => v,
            Err(_) => {
                tracing::warn!(%peer, "sender authentication checks timed out");
                return Decision::Accept(Vec::new());
            }
        };
        let enforced = self.dmarc_reject
            && !recipient_domains.is_empty()
            && recipient_domains.iter().all(|d| !self.exempt.contains(d));
        if verdict.should_reject() && enforced {
            tracing::info!(%peer, from_domain = %verdict.dmarc.from_domain,
                "refused by the sender domain's DMARC policy");
            return Decision::Reject(verdict.dmarc.from_domain);
        }
        Decision::Accept(verdict.header.into_bytes())
    }
}
