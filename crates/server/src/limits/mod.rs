//! Limits per IP, per tenant and per account, shared by every protocol (DESIGN.md "Overload,
//! faults and isolation").
//!
//! Implementation notes:
//! - [`config`] is `[limits]`: the server's defaults. A tenant or an account overrides them
//!   with `yubin_store::ServiceLimits` (set by `yubin admin domain|account limits`). On a
//!   domain a count covers all its accounts together (sessions, commands, inbound messages);
//!   on an account, that account alone. The largest message size is the account's, else the
//!   domain's, else the protocol's `max_message_size`, and never more than the latter.
//! - [`logins`] is the failed-login guard (delays and lockouts); [`sessions`] counts open
//!   connections per IP and authenticated sessions per account and tenant; [`rates`] holds
//!   the per-window budgets (commands per minute, inbound messages per hour).
//! - Overrides are read from the store at login (so a change applies to the next session) and,
//!   for inbound mail, through a cache of [`DOMAIN_CACHE_TTL`].
//! - Everything lives in memory: a restart forgives, which errs towards letting mail through.
//!   Every refusal counts in `yubin_rejected_total{protocol, reason}`.

pub mod config;
pub mod logins;
pub mod rates;
pub mod sessions;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use yubin_store::{AccountInfo, MailStore, ServiceLimits};

pub use config::{LimitsConfig, Networks};
use logins::LoginGuard;
use rates::RateTable;
use sessions::{Counter, Slot};

use crate::net::telemetry;

/// How long a tenant's overrides are reused for inbound mail before they are read again.
pub const DOMAIN_CACHE_TTL: Duration = Duration::from_secs(3);
/// Most tenants whose overrides are cached.
const DOMAIN_CACHE_ENTRIES: usize = 10_000;

/// The address a limit counts a client under: IPv4 as is, IPv6 by its /64 (one host's share).
pub fn ip_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

/// Every limit's state, one per server.
pub struct Limits {
    config: LimitsConfig,
    exempt: Networks,
    store: Option<MailStore>,
    /// The failed-login guard.
    pub logins: LoginGuard,
    ips: Arc<Counter<IpAddr>>,
    accounts: Arc<Counter<u64>>,
    tenants: Arc<Counter<String>>,
    account_commands: RateTable<u64>,
    tenant_commands: RateTable<String>,
    tenant_inbound: RateTable<String>,
    ip_inbound: RateTable<IpAddr>,
    domains: Mutex<HashMap<String, (Instant, ServiceLimits)>>,
}

/// Why an authenticated session was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionRefused {
    /// The account has its most sessions open.
    Account,
    /// The tenant has its most sessions open.
    Tenant,
}

impl Limits {
    /// How long a refusal by a rate limit waits before it is sent, so a client that retries at
    /// once (a flood) is slowed to the pace of its refusals instead of spinning.
    pub fn refusal_delay(&self) -> Duration {
        Duration::from_millis(self.config.command_refusal_delay_ms)
    }

    /// The limits of `config`, reading overrides from `store` (none without one).
    pub fn new(config: LimitsConfig, store: Option<MailStore>) -> Arc<Self> {
        Arc::new(Self {
            logins: LoginGuard::new(&config),
            exempt: Networks::parse(&config.exempt_ips).unwrap_or_default(),
            config,
            store,
            ips: Counter::new(),
            accounts: Counter::new(),
            tenants: Counter::new(),
            account_commands: RateTable::new(Duration::from_secs(60)),
            tenant_commands: RateTable::new(Duration::from_secs(60)),
            tenant_inbound: RateTable::new(Duration::from_secs(3600)),
            ip_inbound: RateTable::new(Duration::from_secs(3600)),
            domains: Mutex::new(HashMap::new()),
        })
    }

    /// The server's defaults.
    pub fn config(&self) -> &LimitsConfig {
        &self.config
    }

    /// Admits a connection from `ip`, holding its place until the slot is dropped; `None` (and
    /// counted) when the address has `connections_per_ip` open already.
    pub fn connect(&self, protocol: &'static str, ip: IpAddr) -> Option<Slot<IpAddr>> {
        let limit = if self.exempt.contains(ip) {
            0
        } else {
            self.config.connections_per_ip
        };
        let slot = self.ips.acquire(ip_key(ip), limit);
        if slot.is_none() {
            telemetry::rejected(protocol, "ip_connections");
            tracing::info!(%ip, protocol, "connection refused: too many from this address");
        }
        slot
    }

    /// Opens an authenticated session of `info`'s account, within its and its tenant's
    /// session limits, reading their overrides now. Refusals are counted.
    pub async fn open_session(
        self: &Arc<Self>,
        protocol: &'static str,
        info: &AccountInfo,
    ) -> Result<AccountSession, SessionRefused> {
        let tenant = info
            .address
            .rsplit_once('@')
            .map_or("", |(_, d)| d)
            .to_string();
        let tenant_limits = self.read_domain(&tenant).await;
        let budget = Budget {
            account: info.record.limits,
            tenant: tenant_limits,
        };
        let account_max = budget
            .account
            .connections
            .unwrap_or(self.config.account_connections);
        let tenant_max = budget
            .tenant
            .connections
            .unwrap_or(self.config.tenant_connections);
        let Some(account_slot) = self.accounts.acquire(info.record.id, account_max) else {
            telemetry::rejected_tenant(protocol, "account_sessions", &tenant);
            return Err(SessionRefused::Account);
        };
        let Some(tenant_slot) = self.tenants.acquire(tenant.clone(), tenant_max) else {
            telemetry::rejected_tenant(protocol, "tenant_sessions", &tenant);
            return Err(SessionRefused::Tenant);
        };
        metrics::gauge!("yubin_sessions", "protocol" => protocol, "tenant" => tenant.clone())
            .increment(1.0);
        Ok(AccountSession {
            limits: self.clone(),
            protocol,
            account: info.record.id,
            tenant,
            budget,
            _slots: (account_slot, tenant_slot),
        })
    }

    /// Takes one inbound message for `tenant` (lowercase) from its hourly budget; false (and
    /// counted) when it is spent.
    pub fn inbound_for_tenant(&self, protocol: &'static str, tenant: &str) -> bool {
        let limit = self
            .cached_domain(tenant)
            .inbound_messages_per_hour
            .unwrap_or(self.config.tenant_inbound_messages_per_hour);
        let ok = self.tenant_inbound.take(&tenant.to_string(), limit);
        if !ok {
            telemetry::rejected_tenant(protocol, "tenant_inbound_rate", tenant);
        }
        ok
    }

    /// Takes one message from `ip`'s hourly budget on the MX port; false (and counted) when
    /// it is spent.
    pub fn inbound_from_ip(&self, protocol: &'static str, ip: IpAddr) -> bool {
        let ok = self.exempt.contains(ip)
            || self
                .ip_inbound
                .take(&ip_key(ip), self.config.ip_inbound_messages_per_hour);
        if !ok {
            telemetry::rejected(protocol, "ip_inbound_rate");
        }
        ok
    }

    /// The largest message `tenant` accepts, when it has set one (the protocol's maximum
    /// still applies on top).
    pub fn tenant_max_message_size(&self, tenant: &str) -> Option<u64> {
        self.cached_domain(tenant).max_message_size
    }

    /// A tenant's overrides, read at most every [`DOMAIN_CACHE_TTL`]. The read is a single
    /// record, done on the caller's thread as the other per-recipient lookups are.
    fn cached_domain(&self, tenant: &str) -> ServiceLimits {
        let now = Instant::now();
        let cached = self
            .domains
            .lock()
            .ok()
            .and_then(|cache| cache.get(tenant).copied());
        if let Some((at, limits)) = cached
            && now.duration_since(at) < DOMAIN_CACHE_TTL
        {
            return limits;
        }
        // While the store is slow a stale answer (or none) beats a lookup that holds this
        // worker thread and every session waiting for it.
        if self.store.as_ref().is_some_and(MailStore::is_slow) {
            return cached.map(|(_, limits)| limits).unwrap_or_default();
        }
        let limits = self
            .store
            .as_ref()
            .and_then(|s| s.domain(tenant).ok())
            .map(|d| d.record.limits)
            .unwrap_or_default();
        self.remember(tenant, limits);
        limits
    }

    /// A tenant's overrides, read now (off the async workers: the store may be slow).
    async fn read_domain(&self, tenant: &str) -> ServiceLimits {
        let Some(store) = self.store.clone() else {
            return ServiceLimits::default();
        };
        let name = tenant.to_string();
        let limits = tokio::task::spawn_blocking(move || store.domain(&name))
            .await
            .ok()
            .and_then(Result::ok)
            .map(|d| d.record.limits)
            .unwrap_or_default();
        self.remember(tenant, limits);
        limits
    }

    fn remember(&self, tenant: &str, limits: ServiceLimits) {
        if let Ok(mut cache) = self.domains.lock() {
            if cache.len() >= DOMAIN_CACHE_ENTRIES {
                cache.clear();
            }
            cache.insert(tenant.to_string(), (Instant::now(), limits));
        }
    }
}

/// An account's and its tenant's overrides as read at login.
#[derive(Debug, Clone, Copy, Default)]
pub struct Budget {
    /// The account's own.
    pub account: ServiceLimits,
    /// Its domain's.
    pub tenant: ServiceLimits,
}

/// An authenticated session, counted in `yubin_sessions{protocol, tenant}` while it lives.
pub struct AccountSession {
    limits: Arc<Limits>,
    protocol: &'static str,
    account: u64,
    tenant: String,
    budget: Budget,
    _slots: (Slot<u64>, Slot<String>),
}

impl AccountSession {
    /// The tenant (domain) of the account.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The overrides read at login.
    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// Takes one command from the account's and the tenant's per-minute budgets; false (and
    /// counted) when either is spent.
    pub fn command(&self) -> bool {
        let config = &self.limits.config;
        let account = self
            .budget
            .account
            .commands_per_minute
            .unwrap_or(config.account_commands_per_minute);
        let tenant = self
            .budget
            .tenant
            .commands_per_minute
            .unwrap_or(config.tenant_commands_per_minute);
        let ok = self.limits.account_commands.take(&self.account, account)
            && self.limits.tenant_commands.take(&self.tenant, tenant);
        if !ok {
            telemetry::rejected_tenant(self.protocol, "command_rate", &self.tenant);
        }
        ok
    }

    /// How long a command over the budget waits before it is refused.
    pub fn refusal_delay(&self) -> Duration {
        Duration::from_millis(self.limits.config.command_refusal_delay_ms)
    }

    /// The largest message this account may store or send, when below `protocol_max`.
    pub fn max_message_size(&self, protocol_max: usize) -> usize {
        self.budget
            .account
            .max_message_size
            .or(self.budget.tenant.max_message_size)
            .map_or(protocol_max, |n| {
                usize::try_from(n).unwrap_or(usize::MAX).min(protocol_max)
            })
    }
}

impl Drop for AccountSession {
    fn drop(&mut self) {
        metrics::gauge!("yubin_sessions", "protocol" => self.protocol, "tenant" => self.tenant.clone())
            .decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_by_slash_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("v6");
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().expect("v6");
        assert_eq!(ip_key(a), ip_key(b));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("mapped");
        assert_eq!(ip_key(mapped), "192.0.2.7".parse::<IpAddr>().expect("v4"));
    }

    #[test]
    fn connections_per_ip_are_capped() {
        let limits = Limits::new(
            LimitsConfig {
                connections_per_ip: 2,
                ..LimitsConfig::default()
            },
            None,
        );
        let ip: IpAddr = "192.0.2.1".parse().expect("v4");
        let a = limits.connect("imap", ip);
        let _b = limits.connect("pop3", ip);
        assert!(a.is_some() && limits.connect("smtp", ip).is_none());
        drop(a);
        assert!(limits.connect("smtp", ip).is_some());
    }
}
