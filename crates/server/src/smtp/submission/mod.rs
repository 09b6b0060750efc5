//! Message submission (RFC 6409) policy: who may send as whom, how much, and what the MSA adds.
//!
//! Implementation notes:
//! - The SMTP session (`super::session`) runs submission as one more mode of the same state
//!   machine: AUTH is offered, MAIL needs it, RCPT relays. The decisions live here.
//! - An account may use as envelope sender, and in From:, its own address, any address that
//!   delivers to it (an alias naming it, `user+tag`, a catch-all it receives), and the null
//!   sender (for MDNs). Anything else is 553 5.7.1 (RFC 6409 §6.1, as Postfix's
//!   `reject_sender_login_mismatch`).
//! - Limits are messages and recipients per hour per account and per domain ([`limits`]), from
//!   the account's and domain's overrides over `[sending]`; past one the client gets 451 4.7.1
//!   and may retry later.
//! - Missing Date and Message-ID are added (RFC 6409 §8.2, §8.3); nothing else is rewritten.
//! - Then the message is DKIM-signed (RFC 6376) with every key of its From: domain when that is
//!   hosted here, else of the account's domain ([`signing_domain`]).

pub(crate) mod headers;
pub(crate) mod limits;

use serde::{Deserialize, Serialize};
use yubin_proto::Address;
use yubin_store::{AccountInfo, MailStore, Resolved, Result, ServiceLimits};

use crate::mailauth::DkimSigner;
use limits::{Hourly, SendLimits};

/// `[sending]` settings: the submission policy for authenticated senders.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SendingConfig {
    /// Refuse a message whose From: names an address the account may not send as.
    pub check_from_header: bool,
    /// Most messages one account may send per hour.
    pub messages_per_hour: u32,
    /// Most recipients one account may send to per hour.
    pub recipients_per_hour: u32,
    /// Most messages all accounts of one domain may send per hour.
    pub domain_messages_per_hour: u32,
    /// Most recipients all accounts of one domain may send to per hour.
    pub domain_recipients_per_hour: u32,
}

impl Default for SendingConfig {
    fn default() -> Self {
        Self {
            check_from_header: true,
            messages_per_hour: 500,
            recipients_per_hour: 2_000,
            domain_messages_per_hour: 10_000,
            domain_recipients_per_hour: 50_000,
        }
    }
}

impl SendingConfig {
    /// Checks the values; the error names the key.
    pub fn validate(&self) -> std::result::Result<(), String> {
        for (name, n) in [
            ("messages_per_hour", self.messages_per_hour),
            ("recipients_per_hour", self.recipients_per_hour),
            ("domain_messages_per_hour", self.domain_messages_per_hour),
            (
                "domain_recipients_per_hour",
                self.domain_recipients_per_hour,
            ),
        ] {
            if n == 0 {
                return Err(format!("sending.{name} must be at least 1"));
            }
        }
        Ok(())
    }
}

/// The submission policy shared by every submission session.
pub struct Submission {
    pub(crate) config: SendingConfig,
    pub(crate) limits: SendLimits,
    pub(crate) dkim: Option<DkimSigner>,
}

impl Submission {
    /// The policy for `config`, signing with `dkim` when given.
    pub fn new(config: SendingConfig, dkim: Option<DkimSigner>) -> Self {
        let limits = SendLimits::new();
        Self {
            config,
            limits,
            dkim,
        }
    }
}

impl Submission {
    /// The hourly message budgets of an account with these overrides.
    pub(crate) fn messages(&self, account: &ServiceLimits, tenant: &ServiceLimits) -> Hourly {
        Hourly {
            account: account
                .messages_per_hour
                .unwrap_or(self.config.messages_per_hour),
            domain: tenant
                .messages_per_hour
                .unwrap_or(self.config.domain_messages_per_hour),
        }
    }

    /// The hourly recipient budgets of an account with these overrides.
    pub(crate) fn recipients(&self, account: &ServiceLimits, tenant: &ServiceLimits) -> Hourly {
        Hourly {
            account: account
                .recipients_per_hour
                .unwrap_or(self.config.recipients_per_hour),
            domain: tenant
                .recipients_per_hour
                .unwrap_or(self.config.domain_recipients_per_hour),
        }
    }
}

/// Whether `account` may use `address` as a sender (envelope or From:).
///
/// Errors: the store's, when it cannot answer (the caller replies 451).
pub(crate) fn may_send_as(store: &MailStore, account: &AccountInfo, address: &str) -> Result<bool> {
    if address.is_empty() {
        return Ok(true);
    }
    let Ok(parsed) = Address::parse(address) else {
        return Ok(false);
    };
    if parsed.normalized() == account.address {
        return Ok(true);
    }
    Ok(match store.resolve(&parsed, 0)? {
        Resolved::Accept(resolution) => resolution
            .local
            .iter()
            .any(|target| target.account == account.record.id),
        _ => false,
    })
}

/// The domain part of a normalized account address.
pub(crate) fn domain_of(address: &str) -> &str {
    address.rsplit_once('@').map_or("", |(_, d)| d)
}

/// The domain whose DKIM keys sign a submitted message: the From: domain when it is hosted
/// here (so DMARC alignment holds for aliases in other hosted domains), else the account's.
pub(crate) fn signing_domain(store: &MailStore, account: &AccountInfo, from: &[String]) -> String {
    from.first()
        .map(|a| domain_of(a).to_ascii_lowercase())
        .filter(|d| store.is_local_domain(d).unwrap_or(false))
        .unwrap_or_else(|| domain_of(&account.address).to_string())
}
