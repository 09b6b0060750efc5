//! Per-key rate budgets: "n per period" for keys whose n may differ (each tenant and account
//! can have its own limit, changed at any time).
//!
//! Each key holds a leaky bucket: the messages (or commands) counted against it, draining at
//! `n` per period. A burst of up to `n` is allowed and the budget refills evenly over the
//! period, so a client at its limit can go on a little later instead of at the top of the next
//! hour (governor's GCRA behaves the same, but its keyed limiters take one quota for all keys,
//! and here each tenant and account may have its own, changed at any time: the count stays, so
//! a raised limit applies at once). A bucket that has drained holds no information and is
//! dropped when the table is swept, which bounds memory by the keys active within one period.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries before the first sweep; later sweeps wait until the table has doubled.
const FIRST_SWEEP: usize = 1024;

/// Budgets of `n` per `period`, one per key.
pub struct RateTable<K> {
    period: Duration,
    inner: Mutex<Inner<K>>,
}

struct Bucket {
    /// Units counted, as of `at`.
    used: f64,
    at: Instant,
    /// When `used` will have drained to nothing at the last limit seen.
    empty_at: Instant,
}

struct Inner<K> {
    buckets: HashMap<K, Bucket>,
    sweep_at: usize,
}

impl<K: Hash + Eq + Clone> RateTable<K> {
    /// An empty table of budgets per `period`.
    pub fn new(period: Duration) -> Self {
        Self {
            period,
            inner: Mutex::new(Inner {
                buckets: HashMap::new(),
                sweep_at: FIRST_SWEEP,
            }),
        }
    }

    /// Takes one from `key`'s budget of `limit` per period; false (and nothing taken) when it
    /// is spent. A limit of 0 means unlimited.
    pub fn take(&self, key: &K, limit: u32) -> bool {
        if limit == 0 {
            return true;
        }
        let now = Instant::now();
        let rate = f64::from(limit) / self.period.as_secs_f64();
        let Ok(mut inner) = self.inner.lock() else {
            return true;
        };
        let used = inner.buckets.get(key).map_or(0.0, |b| {
            (b.used - now.duration_since(b.at).as_secs_f64() * rate).max(0.0)
        });
        if used + 1.0 > f64::from(limit) {
            return false;
        }
        let used = used + 1.0;
        let empty_at = now + Duration::from_secs_f64(used / rate);
        inner.buckets.insert(
            key.clone(),
            Bucket {
                used,
                at: now,
                empty_at,
            },
        );
        if inner.buckets.len() >= inner.sweep_at {
            inner.buckets.retain(|_, b| b.empty_at > now);
            inner.sweep_at = (inner.buckets.len() * 2).max(FIRST_SWEEP);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_the_limit_then_refusals_each_key_alone() {
        let table = RateTable::new(Duration::from_secs(3600));
        for _ in 0..3 {
            assert!(table.take(&"a", 3));
        }
        assert!(!table.take(&"a", 3));
        assert!(table.take(&"b", 3), "another key has its own budget");
        assert!(table.take(&"a", 0), "0 is unlimited");
        // A higher limit set later applies at once.
        assert!(table.take(&"a", 10));
    }

    #[test]
    fn the_budget_refills_over_the_period() {
        let table = RateTable::new(Duration::from_millis(200));
        assert!(table.take(&1u8, 2));
        assert!(table.take(&1u8, 2));
        assert!(!table.take(&1u8, 2));
        std::thread::sleep(Duration::from_millis(120));
        assert!(table.take(&1u8, 2));
    }
}
