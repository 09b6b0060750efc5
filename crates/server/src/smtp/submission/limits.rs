//! Sending limits: messages and recipients per hour, per account and per domain.
//!
//! Each limit is a GCRA bucket (governor) of `n` per hour: a burst of up to `n`, refilled
//! evenly over the hour, so a sender who hits the limit can send again a little later instead of
//! at the top of the next hour. Counts live in memory: a restart forgives, which errs towards
//! letting mail through.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::SendingConfig;

/// How often (in checks) buckets that are full again are forgotten, bounding memory.
const SWEEP_EVERY: u32 = 4096;

/// Which limit refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exceeded {
    Account,
    Domain,
}

/// The four buckets of the sending limits.
pub(crate) struct SendLimits {
    account_messages: DefaultKeyedRateLimiter<u64>,
    account_recipients: DefaultKeyedRateLimiter<u64>,
    domain_messages: DefaultKeyedRateLimiter<String>,
    domain_recipients: DefaultKeyedRateLimiter<String>,
    checks: AtomicU32,
}

fn per_hour(n: u32) -> Quota {
    Quota::per_hour(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

impl SendLimits {
    pub(crate) fn new(config: &SendingConfig) -> Self {
        Self {
            account_messages: RateLimiter::keyed(per_hour(config.messages_per_hour)),
            account_recipients: RateLimiter::keyed(per_hour(config.recipients_per_hour)),
            domain_messages: RateLimiter::keyed(per_hour(config.domain_messages_per_hour)),
            domain_recipients: RateLimiter::keyed(per_hour(config.domain_recipients_per_hour)),
            checks: AtomicU32::new(0),
        }
    }

    /// Takes one message from the account's and its domain's buckets.
    pub(crate) fn message(&self, account: u64, domain: &str) -> Result<(), Exceeded> {
        self.sweep();
        if self.account_messages.check_key(&account).is_err() {
            return Err(Exceeded::Account);
        }
        if self.domain_messages.check_key(&domain.to_string()).is_err() {
            return Err(Exceeded::Domain);
        }
        Ok(())
    }

    /// Takes one recipient from the account's and its domain's buckets.
    pub(crate) fn recipient(&self, account: u64, domain: &str) -> Result<(), Exceeded> {
        if self.account_recipients.check_key(&account).is_err() {
            return Err(Exceeded::Account);
        }
        if self
            .domain_recipients
            .check_key(&domain.to_string())
            .is_err()
        {
            return Err(Exceeded::Domain);
        }
        Ok(())
    }

    fn sweep(&self) {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.account_messages.retain_recent();
            self.account_recipients.retain_recent();
            self.domain_messages.retain_recent();
            self.domain_recipients.retain_recent();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_account_and_domain_has_its_own_budget() {
        let limits = SendLimits::new(&SendingConfig {
            messages_per_hour: 2,
            recipients_per_hour: 3,
            domain_messages_per_hour: 3,
            domain_recipients_per_hour: 100,
            ..SendingConfig::default()
        });
        assert_eq!(limits.message(1, "a.test"), Ok(()));
        assert_eq!(limits.message(1, "a.test"), Ok(()));
        assert_eq!(limits.message(1, "a.test"), Err(Exceeded::Account));
        // another account of the same domain: its own budget, until the domain's runs out
        assert_eq!(limits.message(2, "a.test"), Ok(()));
        assert_eq!(limits.message(3, "a.test"), Err(Exceeded::Domain));
        assert_eq!(limits.message(4, "b.test"), Ok(()));
        for _ in 0..3 {
            assert_eq!(limits.recipient(5, "c.test"), Ok(()));
        }
        assert_eq!(limits.recipient(5, "c.test"), Err(Exceeded::Account));
    }
}
