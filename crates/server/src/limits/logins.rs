//! The failed-login guard shared by IMAP, POP3 and submission.
//!
//! Failures are counted per client IP (IPv6: per /64, since one host has a whole /64), per
//! account name and per (account, IP) pair, within `login_failure_window_secs`:
//! - each failed login is answered after a delay that starts at `login_failure_delay_ms` and
//!   doubles with every further failure of the IP or of the account, up to
//!   `login_failure_delay_max_ms`. The session sleeps; no password-checker thread waits.
//! - `ip_login_failures` failures lock the IP out, and `account_ip_login_failures` lock the
//!   (account, IP) pair out, for `login_lockout_secs`: their logins are refused at once, before
//!   any password check, even with the right password. Refusals while locked do not extend it.
//! - An account is never locked as a whole: failures against it from many addresses only slow
//!   the answers to further failures. Otherwise anyone could lock a user out of their mail by
//!   guessing wrong on purpose; the owner on a clean address logs in without delay. (Postfix's
//!   anvil and Dovecot's auth penalty are per IP for the same reason.)
//! - A successful login forgets the pair's failures, not the IP's: an attacker with one valid
//!   account must not be able to reset the count of their guesses at others.
//!
//! State is in memory and bounded: each table keeps at most `login_tracking_entries`; past it,
//! expired entries go first, then the least recently seen. An attacker cycling addresses
//! costs a fixed amount of memory (and may push out old lockouts, which only lets the oldest
//! of them guess again).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::config::{LimitsConfig, Networks};
use super::ip_key;

/// Longest account name remembered; longer names (no real address is) are cut.
const MAX_NAME: usize = 256;

/// Why a login was refused before its password was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lockout {
    /// The client IP is locked out.
    Ip,
    /// This account is locked out from this IP.
    AccountIp,
}

struct Track {
    failures: u32,
    since: Instant,
    last: Instant,
    locked_until: Option<Instant>,
}

impl Track {
    fn new(now: Instant) -> Self {
        Self {
            failures: 0,
            since: now,
            last: now,
            locked_until: None,
        }
    }

    fn locked(&self, now: Instant) -> bool {
        self.locked_until.is_some_and(|t| t > now)
    }

    /// Counts one failure, starting over when the window or a lockout has passed.
    fn fail(&mut self, now: Instant, window: Duration) {
        let lock_over = self.locked_until.is_some_and(|t| t <= now);
        if lock_over || (self.locked_until.is_none() && now.duration_since(self.since) > window) {
            *self = Track::new(now);
        }
        self.failures = self.failures.saturating_add(1);
        self.last = now;
    }

    /// Starts a lockout when `threshold` (0 = never) is reached; true if it started now.
    fn lock_at(&mut self, threshold: u32, now: Instant, lockout: Duration) -> bool {
        if threshold == 0 || self.failures < threshold || self.locked(now) {
            return false;
        }
        self.locked_until = Some(now + lockout);
        true
    }

    fn stale(&self, now: Instant, window: Duration) -> bool {
        !self.locked(now) && now.duration_since(self.since) > window
    }
}

struct Tables {
    ips: HashMap<IpAddr, Track>,
    accounts: HashMap<String, Track>,
    pairs: HashMap<(String, IpAddr), Track>,
}

/// Failed-login counts, delays and lockouts.
pub struct LoginGuard {
    config: LimitsConfig,
    exempt: Networks,
    tables: Mutex<Tables>,
}

impl LoginGuard {
    /// A guard with the thresholds of `config`.
    pub fn new(config: &LimitsConfig) -> Self {
        Self {
            config: config.clone(),
            exempt: Networks::parse(&config.exempt_ips).unwrap_or_default(),
            tables: Mutex::new(Tables {
                ips: HashMap::new(),
                accounts: HashMap::new(),
                pairs: HashMap::new(),
            }),
        }
    }

    /// Whether `user` may try a password from `ip` now.
    pub fn check(&self, ip: IpAddr, user: &str) -> Result<(), Lockout> {
        let now = Instant::now();
        let ip = ip_key(ip);
        let Ok(tables) = self.tables.lock() else {
            return Ok(());
        };
        if tables.ips.get(&ip).is_some_and(|t| t.locked(now)) {
            return Err(Lockout::Ip);
        }
        if tables
            .pairs
            .get(&(name(user), ip))
            .is_some_and(|t| t.locked(now))
        {
            return Err(Lockout::AccountIp);
        }
        Ok(())
    }

    /// Records a failed login of `user` from `ip` over `protocol`; returns how long to wait
    /// before answering. A lockout that starts here is logged and counted.
    pub fn failed(&self, protocol: &'static str, ip: IpAddr, user: &str) -> Duration {
        let now = Instant::now();
        let key = ip_key(ip);
        let user = name(user);
        let window = Duration::from_secs(self.config.login_failure_window_secs);
        let lockout = Duration::from_secs(self.config.login_lockout_secs);
        let cap = self.config.login_tracking_entries;
        let Ok(mut tables) = self.tables.lock() else {
            return Duration::from_millis(self.config.login_failure_delay_max_ms);
        };
        let tables = &mut *tables;
        let ip_track = track(&mut tables.ips, key, now, window, cap);
        ip_track.fail(now, window);
        let ip_failures = ip_track.failures;
        // An exempt address (a webmail in front) is slowed down but never locked out.
        let exempt = self.exempt.contains(ip);
        let ip_locked = !exempt && ip_track.lock_at(self.config.ip_login_failures, now, lockout);
        let account = track(&mut tables.accounts, user.clone(), now, window, cap);
        account.fail(now, window);
        let account_failures = account.failures;
        let pair = track(&mut tables.pairs, (user.clone(), key), now, window, cap);
        pair.fail(now, window);
        let pair_locked =
            !exempt && pair.lock_at(self.config.account_ip_login_failures, now, lockout);
        if ip_locked {
            tracing::warn!(%ip, account = %user, protocol, failures = ip_failures,
                lockout_secs = lockout.as_secs(), "login lockout of an IP");
            metrics::counter!("yubin_login_lockouts_total", "protocol" => protocol, "scope" => "ip")
                .increment(1);
        }
        if pair_locked {
            tracing::warn!(%ip, account = %user, protocol, lockout_secs = lockout.as_secs(),
                "login lockout of an account from an IP");
            metrics::counter!("yubin_login_lockouts_total", "protocol" => protocol, "scope" => "account_ip")
                .increment(1);
        }
        self.delay(ip_failures.max(account_failures))
    }

    /// Records a successful login: the pair's failures are forgotten.
    pub fn succeeded(&self, ip: IpAddr, user: &str) {
        if let Ok(mut tables) = self.tables.lock() {
            tables.pairs.remove(&(name(user), ip_key(ip)));
        }
    }

    /// The wait before answering the `failures`-th failure.
    fn delay(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(30);
        let ms = self
            .config
            .login_failure_delay_ms
            .saturating_mul(1u64 << doublings)
            .min(self.config.login_failure_delay_max_ms);
        Duration::from_millis(ms)
    }
}

/// The key an account name is tracked under.
fn name(user: &str) -> String {
    user.trim()
        .chars()
        .take(MAX_NAME)
        .collect::<String>()
        .to_lowercase()
}

/// `key`'s entry, making room first when the table is full.
fn track<K: Hash + Eq + Clone>(
    map: &mut HashMap<K, Track>,
    key: K,
    now: Instant,
    window: Duration,
    cap: usize,
) -> &mut Track {
    if !map.contains_key(&key) && map.len() >= cap {
        map.retain(|_, t| !t.stale(now, window));
        if map.len() >= cap {
            // Forget the least recently seen eighth at once, so this runs rarely.
            let mut seen: Vec<Instant> = map.values().map(|t| t.last).collect();
            let cut = (cap / 8).max(1).min(seen.len() - 1);
            let (_, boundary, _) = seen.select_nth_unstable(cut);
            let boundary = *boundary;
            map.retain(|_, t| t.last > boundary);
        }
    }
    map.entry(key).or_insert_with(|| Track::new(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(ip_failures: u32, pair_failures: u32) -> LoginGuard {
        LoginGuard::new(&LimitsConfig {
            ip_login_failures: ip_failures,
            account_ip_login_failures: pair_failures,
            login_failure_delay_ms: 100,
            login_failure_delay_max_ms: 800,
            login_tracking_entries: 16,
            ..LimitsConfig::default()
        })
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn delays_double_up_to_the_cap() {
        let g = guard(0, 0);
        let delays: Vec<u64> = (0..6)
            .map(|_| g.failed("imap", ip("192.0.2.1"), "a@x").as_millis() as u64)
            .collect();
        assert_eq!(delays, [100, 200, 400, 800, 800, 800]);
    }

    #[test]
    fn an_ip_is_locked_out_but_the_account_stays_open_elsewhere() {
        let g = guard(5, 3);
        let attacker = ip("192.0.2.1");
        for i in 0..3 {
            g.failed("imap", attacker, &format!("user{i}@x"));
        }
        g.failed("imap", attacker, "alice@x");
        assert_eq!(g.check(attacker, "alice@x"), Ok(()));
        g.failed("imap", attacker, "alice@x");
        assert_eq!(g.check(attacker, "bob@x"), Err(Lockout::Ip));
        assert_eq!(g.check(ip("192.0.2.2"), "alice@x"), Ok(()));
    }

    #[test]
    fn a_pair_is_locked_and_a_success_clears_it() {
        let g = guard(0, 3);
        let home = ip("2001:db8::1");
        g.failed("pop3", home, "Alice@X");
        g.failed("pop3", home, "alice@x");
        g.succeeded(ip("2001:db8::2"), "alice@x"); // same /64
        g.failed("pop3", home, "alice@x");
        assert_eq!(
            g.check(home, "alice@x"),
            Ok(()),
            "the success reset the pair"
        );
        for _ in 0..3 {
            g.failed("pop3", home, "alice@x");
        }
        assert_eq!(g.check(home, "ALICE@x"), Err(Lockout::AccountIp));
        assert_eq!(g.check(ip("2001:db8:1::1"), "alice@x"), Ok(()));
        // Many addresses failing on one account never lock it.
        for i in 0..50 {
            g.failed("pop3", ip(&format!("198.51.100.{i}")), "carol@x");
        }
        assert_eq!(g.check(ip("203.0.113.9"), "carol@x"), Ok(()));
    }

    #[test]
    fn memory_stays_bounded_when_addresses_cycle() {
        let g = guard(3, 3);
        for i in 0..10_000u32 {
            let addr = IpAddr::from(i.to_be_bytes());
            g.failed("imap", addr, &format!("u{i}"));
        }
        let tables = g.tables.lock().expect("lock");
        assert!(tables.ips.len() <= 16 && tables.accounts.len() <= 16 && tables.pairs.len() <= 16);
    }
}
