//! The outbound queue runner: takes due messages from the store's queue, delivers them with
//! `smtp::outbound`, records each recipient's outcome, retries with backoff, and tells the
//! sender about delays and failures with DSNs ([`dsn`]).
//!
//! Implementation notes:
//! - The queue itself (records, schedule, per-recipient status) is the store's
//!   (`MailStore::queue_*`); this module only decides what to do and when.
//! - Before an attempt the message's next-attempt time is moved one backoff step ahead (a
//!   lease): if the process dies mid-attempt the message is tried again then, and the loop never
//!   picks up a message that is in flight.
//! - Each domain's outcome is written right after its SMTP transaction, so a crash after the
//!   remote side accepted re-sends to no recipient it already has (RFC 5321 §6.1 leaves the gap
//!   between the remote 250 and our commit, which one commit per transaction keeps minimal).
//! - Backoff as Postfix: `min_backoff_secs` doubling per attempt up to `max_backoff_secs`, for
//!   `lifetime_secs` (5 days); a delay warning after `delay_warning_secs`; no DSN to the null
//!   sender (RFC 3464 §2, RFC 5321 §4.5.5).

pub(crate) mod dsn;
pub mod runner;

use serde::{Deserialize, Serialize};

/// `[queue]` settings: retries and concurrency of outbound delivery.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct QueueConfig {
    /// Seconds before the first retry; doubled after each failed attempt.
    pub min_backoff_secs: u64,
    /// Longest wait between attempts, in seconds.
    pub max_backoff_secs: u64,
    /// Seconds after which a message still not delivered is bounced.
    pub lifetime_secs: u64,
    /// Seconds after which the sender is told the message is delayed (0 = never).
    pub delay_warning_secs: u64,
    /// Most messages being delivered at once.
    pub max_concurrency: usize,
    /// Most simultaneous deliveries to one destination domain.
    pub destination_concurrency: usize,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            min_backoff_secs: 300,
            max_backoff_secs: 4000,
            lifetime_secs: 5 * 24 * 3600,
            delay_warning_secs: 4 * 3600,
            max_concurrency: 100,
            destination_concurrency: 20,
        }
    }
}

impl QueueConfig {
    /// Checks the values; the error names the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.min_backoff_secs == 0 || self.max_backoff_secs < self.min_backoff_secs {
            return Err("queue: need 0 < min_backoff_secs <= max_backoff_secs".into());
        }
        if self.lifetime_secs == 0 {
            return Err("queue.lifetime_secs must be at least 1".into());
        }
        if self.max_concurrency == 0 || self.destination_concurrency == 0 {
            return Err("queue: concurrency limits must be at least 1".into());
        }
        Ok(())
    }

    /// Seconds to wait after the `attempts`-th failed attempt.
    pub fn backoff(&self, attempts: u32) -> u64 {
        let doublings = attempts.saturating_sub(1).min(32);
        self.min_backoff_secs
            .saturating_mul(1u64 << doublings)
            .min(self.max_backoff_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let c = QueueConfig::default();
        let waits: Vec<u64> = (1..=6).map(|a| c.backoff(a)).collect();
        assert_eq!(waits, [300, 600, 1200, 2400, 4000, 4000]);
        assert_eq!(c.backoff(0), 300);
        assert_eq!(c.backoff(u32::MAX), 4000);
    }
}
