//! `[limits]`: the server-wide defaults of the per-IP, per-tenant and per-account limits, and
//! the failed-login guard's thresholds. A tenant (`yubin admin domain limits`) or an account
//! (`yubin admin account limits`) may override the service limits; see [`super::Budget`].

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// `[limits]` settings. A count of 0 turns that limit off.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Concurrent connections from one IP address (IPv6: one /64), over every protocol.
    pub connections_per_ip: u32,
    /// Concurrent authenticated IMAP, POP3 and submission sessions of one account.
    pub account_connections: u32,
    /// Concurrent authenticated sessions of all accounts of one tenant (domain) together.
    pub tenant_connections: u32,
    /// Commands per minute of one account after login (IMAP, POP3, submission).
    pub account_commands_per_minute: u32,
    /// Commands per minute of all accounts of one tenant together.
    pub tenant_commands_per_minute: u32,
    /// Milliseconds a command over the per-minute budget waits before it is refused.
    pub command_refusal_delay_ms: u64,
    /// Messages per hour that one tenant receives over SMTP (MX) and LMTP.
    pub tenant_inbound_messages_per_hour: u32,
    /// Messages per hour that one client IP (IPv6: one /64) may send to the MX port.
    pub ip_inbound_messages_per_hour: u32,
    /// Delay before the answer to the first failed login of an IP or account, in
    /// milliseconds; it doubles with each further failure.
    pub login_failure_delay_ms: u64,
    /// Longest delay before answering a failed login, in milliseconds.
    pub login_failure_delay_max_ms: u64,
    /// Failed logins from one IP within `login_failure_window_secs` that lock the IP out.
    pub ip_login_failures: u32,
    /// Failed logins to one account from one IP that lock that pair out (the account stays
    /// open from other addresses).
    pub account_ip_login_failures: u32,
    /// Seconds over which failed logins are counted.
    pub login_failure_window_secs: u64,
    /// Seconds a lockout lasts.
    pub login_lockout_secs: u64,
    /// Most IPs, accounts and pairs the login guard remembers; the oldest are forgotten first.
    pub login_tracking_entries: usize,
    /// Addresses or networks ("192.0.2.10", "10.0.0.0/8", "2001:db8::/32") free of the
    /// per-IP limits and of lockouts: a webmail or proxy in front that logs in for many users
    /// (and must guard against guessing itself). Their failed logins are still delayed.
    pub exempt_ips: Vec<String>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            connections_per_ip: 50,
            account_connections: 20,
            tenant_connections: 1000,
            account_commands_per_minute: 60_000,
            tenant_commands_per_minute: 0,
            command_refusal_delay_ms: 1000,
            tenant_inbound_messages_per_hour: 100_000,
            ip_inbound_messages_per_hour: 20_000,
            login_failure_delay_ms: 500,
            login_failure_delay_max_ms: 8000,
            ip_login_failures: 20,
            account_ip_login_failures: 8,
            login_failure_window_secs: 900,
            login_lockout_secs: 900,
            login_tracking_entries: 100_000,
            exempt_ips: Vec::new(),
        }
    }
}

impl LimitsConfig {
    /// Checks values that serde cannot; the error names the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.login_failure_window_secs == 0 || self.login_lockout_secs == 0 {
            return Err(
                "limits.login_failure_window_secs and login_lockout_secs must be at least 1".into(),
            );
        }
        if self.login_tracking_entries < 16 {
            return Err("limits.login_tracking_entries must be at least 16".into());
        }
        if self.login_failure_delay_max_ms < self.login_failure_delay_ms {
            return Err(
                "limits.login_failure_delay_max_ms must not be below login_failure_delay_ms".into(),
            );
        }
        Networks::parse(&self.exempt_ips)?;
        Ok(())
    }
}

/// A list of IP networks.
#[derive(Debug, Clone, Default)]
pub struct Networks(Vec<(IpAddr, u8)>);

impl Networks {
    /// Parses "ip" and "ip/prefix" entries; the error names the bad one.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let mut out = Vec::new();
        for entry in entries {
            let bad = || format!("limits.exempt_ips: '{entry}' is not an IP or IP/prefix");
            let (ip, prefix) = match entry.trim().split_once('/') {
                Some((ip, prefix)) => (ip, Some(prefix)),
                None => (entry.trim(), None),
            };
            let ip: IpAddr = ip.parse().map_err(|_| bad())?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
                None => max,
            };
            out.push((ip, prefix));
        }
        Ok(Self(out))
    }

    /// Whether `ip` is in one of the networks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|(net, prefix)| match (net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(*prefix)).unwrap_or(0);
                u32::from(*n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(*prefix)).unwrap_or(0);
                u128::from(*n) & mask == u128::from(a) & mask
            }
            _ => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_match_by_prefix() {
        let nets = Networks::parse(&[
            "10.0.0.0/8".into(),
            "2001:db8::/32".into(),
            "192.0.2.7".into(),
        ])
        .expect("valid");
        let has = |s: &str| nets.contains(s.parse().expect("ip"));
        assert!(has("10.200.1.1") && has("2001:db8:ffff::1") && has("192.0.2.7"));
        assert!(has("::ffff:10.0.0.1"));
        assert!(!has("11.0.0.1") && !has("192.0.2.8") && !has("2001:db9::1"));
        assert!(Networks::parse(&["10.0.0.0/33".into()]).is_err());
        assert!(Networks::parse(&["nowhere".into()]).is_err());
        assert!(
            Networks::parse(&["0.0.0.0/0".into()])
                .expect("all")
                .contains("8.8.8.8".parse().expect("ip"))
        );
    }
}
