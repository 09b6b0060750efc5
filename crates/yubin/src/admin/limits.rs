//! `yubin admin domain|account limits`: a tenant's or an account's service limits, and the
//! effective limits `show` prints with where each comes from.
//!
//! Only the options given change; `default` clears an override so the value is inherited again
//! (an account's from `[limits]`/`[sending]`, a largest message size from its domain). The
//! running server reads overrides at each login and, for inbound mail, every few seconds, so
//! no restart is needed.

use std::fmt::Write as _;

use clap::Args;
use serde::{Deserialize, Serialize};
use yubin_server::limits::LimitsConfig;
use yubin_server::smtp::submission::SendingConfig;
use yubin_store::ServiceLimits;

/// The server defaults `show` compares overrides with.
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    /// `[limits]`.
    pub limits: LimitsConfig,
    /// `[sending]`.
    pub sending: SendingConfig,
}

/// The service-limit options of `domain limits` and `account limits`: a number, or `default`.
#[derive(Debug, Clone, Default, Args, Serialize, Deserialize)]
pub struct ServiceArgs {
    /// Concurrent IMAP, POP3 and submission sessions (a domain's: all accounts together).
    #[arg(long, value_name = "N|default")]
    pub connections: Option<String>,
    /// Commands per minute after login.
    #[arg(long, value_name = "N|default")]
    pub commands_per_minute: Option<String>,
    /// Messages sent (submission) per hour.
    #[arg(long, value_name = "N|default")]
    pub messages_per_hour: Option<String>,
    /// Recipients of sent messages per hour.
    #[arg(long, value_name = "N|default")]
    pub recipients_per_hour: Option<String>,
    /// Messages received over SMTP and LMTP per hour (domains only).
    #[arg(long, value_name = "N|default")]
    pub inbound_messages_per_hour: Option<String>,
    /// Largest message in bytes (inbound, submission, APPEND).
    #[arg(long, value_name = "BYTES|default")]
    pub max_message_size: Option<String>,
}

impl ServiceArgs {
    /// Whether any option was given.
    pub fn any(&self) -> bool {
        [
            &self.connections,
            &self.commands_per_minute,
            &self.messages_per_hour,
            &self.recipients_per_hour,
            &self.inbound_messages_per_hour,
            &self.max_message_size,
        ]
        .iter()
        .any(|o| o.is_some())
    }

    /// `current` with the given options applied.
    pub fn apply(&self, mut current: ServiceLimits) -> Result<ServiceLimits, String> {
        set(&mut current.connections, &self.connections, "connections")?;
        set(
            &mut current.commands_per_minute,
            &self.commands_per_minute,
            "commands-per-minute",
        )?;
        set(
            &mut current.messages_per_hour,
            &self.messages_per_hour,
            "messages-per-hour",
        )?;
        set(
            &mut current.recipients_per_hour,
            &self.recipients_per_hour,
            "recipients-per-hour",
        )?;
        set(
            &mut current.inbound_messages_per_hour,
            &self.inbound_messages_per_hour,
            "inbound-messages-per-hour",
        )?;
        set(
            &mut current.max_message_size,
            &self.max_message_size,
            "max-message-size",
        )?;
        Ok(current)
    }
}

fn set<T: std::str::FromStr>(
    field: &mut Option<T>,
    given: &Option<String>,
    name: &str,
) -> Result<(), String> {
    match given.as_deref().map(str::trim) {
        None => {}
        Some("default") => *field = None,
        Some(text) => {
            *field = Some(
                text.parse()
                    .map_err(|_| format!("--{name}: '{text}' is not a number or \"default\""))?,
            );
        }
    }
    Ok(())
}

fn count(n: u64) -> String {
    if n == 0 {
        "unlimited".into()
    } else {
        n.to_string()
    }
}

/// One `key: value (source)` line: the override when set, else the fallback.
fn line(out: &mut String, key: &str, own: Option<u64>, whose: &str, fallback: (String, &str)) {
    let _ = match own {
        Some(n) => writeln!(out, "{key}: {} ({whose})", count(n)),
        None => writeln!(out, "{key}: {} ({})", fallback.0, fallback.1),
    };
}

const SERVER: &str = "server default";

/// A domain's effective tenant-wide limits.
pub fn show_domain(own: &ServiceLimits, d: &Defaults) -> String {
    let server = |n: u64| (count(n), SERVER);
    let mut out = String::new();
    let l = &d.limits;
    line(
        &mut out,
        "connections",
        own.connections.map(u64::from),
        "domain",
        server(l.tenant_connections.into()),
    );
    line(
        &mut out,
        "commands_per_minute",
        own.commands_per_minute.map(u64::from),
        "domain",
        server(l.tenant_commands_per_minute.into()),
    );
    line(
        &mut out,
        "messages_per_hour",
        own.messages_per_hour.map(u64::from),
        "domain",
        server(d.sending.domain_messages_per_hour.into()),
    );
    line(
        &mut out,
        "recipients_per_hour",
        own.recipients_per_hour.map(u64::from),
        "domain",
        server(d.sending.domain_recipients_per_hour.into()),
    );
    line(
        &mut out,
        "inbound_messages_per_hour",
        own.inbound_messages_per_hour.map(u64::from),
        "domain",
        server(l.tenant_inbound_messages_per_hour.into()),
    );
    line(
        &mut out,
        "max_message_size",
        own.max_message_size,
        "domain",
        ("each protocol's max_message_size".into(), SERVER),
    );
    out
}

/// An account's effective own limits (its domain's count all its accounts together, except
/// the largest message size, which the account inherits).
pub fn show_account(own: &ServiceLimits, domain: &ServiceLimits, d: &Defaults) -> String {
    let server = |n: u64| (count(n), SERVER);
    let mut out = String::new();
    let l = &d.limits;
    line(
        &mut out,
        "connections",
        own.connections.map(u64::from),
        "account",
        server(l.account_connections.into()),
    );
    line(
        &mut out,
        "commands_per_minute",
        own.commands_per_minute.map(u64::from),
        "account",
        server(l.account_commands_per_minute.into()),
    );
    line(
        &mut out,
        "messages_per_hour",
        own.messages_per_hour.map(u64::from),
        "account",
        server(d.sending.messages_per_hour.into()),
    );
    line(
        &mut out,
        "recipients_per_hour",
        own.recipients_per_hour.map(u64::from),
        "account",
        server(d.sending.recipients_per_hour.into()),
    );
    let inherited = match domain.max_message_size {
        Some(n) => (count(n), "domain"),
        None => ("each protocol's max_message_size".into(), SERVER),
    };
    line(
        &mut out,
        "max_message_size",
        own.max_message_size,
        "account",
        inherited,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_given_options_change_and_default_clears() {
        let current = ServiceLimits {
            connections: Some(5),
            messages_per_hour: Some(10),
            ..ServiceLimits::default()
        };
        let args = ServiceArgs {
            connections: Some("default".into()),
            max_message_size: Some("1000".into()),
            ..ServiceArgs::default()
        };
        let new = args.apply(current).expect("valid");
        assert_eq!(new.connections, None);
        assert_eq!(new.messages_per_hour, Some(10));
        assert_eq!(new.max_message_size, Some(1000));
        let bad = ServiceArgs {
            connections: Some("many".into()),
            ..ServiceArgs::default()
        };
        assert!(bad.apply(current).is_err());
    }

    #[test]
    fn show_names_the_source_of_each_value() {
        let d = Defaults::default();
        let own = ServiceLimits {
            connections: Some(3),
            ..ServiceLimits::default()
        };
        let domain = ServiceLimits {
            max_message_size: Some(1000),
            ..ServiceLimits::default()
        };
        let out = show_account(&own, &domain, &d);
        assert!(out.contains("connections: 3 (account)\n"), "{out}");
        assert!(
            out.contains("commands_per_minute: 60000 (server default)\n"),
            "{out}"
        );
        assert!(out.contains("max_message_size: 1000 (domain)\n"), "{out}");
    }
}
