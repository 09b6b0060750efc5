//! Counting what is open: connections per IP, authenticated sessions per account and tenant.
//! A [`Slot`] holds one place until dropped, however the session ends; a key whose count falls
//! to zero is removed, so memory follows the connections that are open.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// Open places per key.
pub struct Counter<K: Hash + Eq> {
    counts: Mutex<HashMap<K, u32>>,
}

impl<K: Hash + Eq + Clone> Counter<K> {
    /// An empty counter.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            counts: Mutex::new(HashMap::new()),
        })
    }

    /// Takes a place for `key` unless `limit` (0 = unlimited) are taken already.
    pub fn acquire(self: &Arc<Self>, key: K, limit: u32) -> Option<Slot<K>> {
        let mut counts = self.counts.lock().ok()?;
        let count = counts.entry(key.clone()).or_insert(0);
        if limit != 0 && *count >= limit {
            if *count == 0 {
                counts.remove(&key);
            }
            return None;
        }
        *count += 1;
        Some(Slot {
            counter: self.clone(),
            key,
        })
    }

    /// Places taken for `key`.
    pub fn count(&self, key: &K) -> u32 {
        self.counts
            .lock()
            .map(|c| c.get(key).copied().unwrap_or(0))
            .unwrap_or(0)
    }
}

/// One place in a [`Counter`], given back when dropped.
pub struct Slot<K: Hash + Eq + Clone> {
    counter: Arc<Counter<K>>,
    key: K,
}

impl<K: Hash + Eq + Clone> Drop for Slot<K> {
    fn drop(&mut self) {
        if let Ok(mut counts) = self.counter.counts.lock()
            && let Some(count) = counts.get_mut(&self.key)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_given_back_on_drop() {
        let counter = Counter::new();
        let a = counter.acquire("ip", 2).expect("first");
        let b = counter.acquire("ip", 2).expect("second");
        assert!(counter.acquire("ip", 2).is_none());
        assert!(counter.acquire("other", 2).is_some());
        drop(a);
        assert_eq!(counter.count(&"ip"), 1);
        let _c = counter.acquire("ip", 2).expect("after a drop");
        drop(b);
        assert!(counter.acquire("any", 0).is_some(), "0 is unlimited");
    }
}
