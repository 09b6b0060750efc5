//! Test-only fault injection for the embedded backend: a latency added to every read snapshot,
//! scan and commit while set, to see how the servers behave on a slow disk.
//!
//! A switch only turns when the process was started with `YUBIN_FAULT_INJECTION=1`; otherwise
//! it refuses, so a production server cannot be slowed by a mistyped admin command.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::error::{Error, ErrorKind, Result};

/// The environment variable that allows fault injection in a process.
pub const ENV: &str = "YUBIN_FAULT_INJECTION";

/// The fault switch of one store.
#[derive(Debug, Default)]
pub struct FaultSwitch {
    allowed: bool,
    latency_us: AtomicU64,
}

impl FaultSwitch {
    /// A switch allowed only if the process environment has `YUBIN_FAULT_INJECTION=1`.
    pub fn from_env() -> Self {
        Self {
            allowed: std::env::var(ENV).is_ok_and(|v| v == "1"),
            latency_us: AtomicU64::new(0),
        }
    }

    /// A switch that is allowed whatever the environment (tests that build their own store).
    pub fn allowed() -> Self {
        Self {
            allowed: true,
            latency_us: AtomicU64::new(0),
        }
    }

    /// Sets the latency added to each snapshot, scan and commit (zero turns it off).
    ///
    /// Errors: `Unavailable` when fault injection is not allowed in this process.
    pub fn set_latency(&self, latency: Duration) -> Result<()> {
        if !self.allowed {
            return Err(Error::new(
                ErrorKind::Unavailable,
                format!("fault injection is off; start the server with {ENV}=1 to use it"),
            ));
        }
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_us.store(us, Ordering::Relaxed);
        Ok(())
    }

    /// The latency now added.
    pub fn latency(&self) -> Duration {
        Duration::from_micros(self.latency_us.load(Ordering::Relaxed))
    }

    /// Waits the injected latency, if any. Blocks the thread: that is what a slow disk does.
    pub(crate) fn pause(&self) {
        let us = self.latency_us.load(Ordering::Relaxed);
        if us > 0 {
            std::thread::sleep(Duration::from_micros(us));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_switch_not_allowed_refuses() {
        let off = FaultSwitch::default();
        let e = off
            .set_latency(Duration::from_millis(5))
            .expect_err("must refuse");
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert_eq!(off.latency(), Duration::ZERO);
        let on = FaultSwitch::allowed();
        on.set_latency(Duration::from_millis(5)).expect("allowed");
        assert_eq!(on.latency(), Duration::from_millis(5));
    }
}

#[cfg(test)]
mod store_tests {
    use std::time::{Duration, Instant};

    use crate::{FaultSwitch, MailStore};

    #[tokio::test]
    async fn latency_slows_reads_and_commits_until_turned_off() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = MailStore::open_with_faults(dir.path(), FaultSwitch::allowed())
            .await
            .expect("open");
        store
            .set_store_latency(Duration::from_millis(60))
            .expect("allowed");
        assert_eq!(store.store_latency(), Duration::from_millis(60));
        let started = Instant::now();
        store.list_domains().expect("read");
        assert!(
            started.elapsed() >= Duration::from_millis(60),
            "read delayed"
        );
        let started = Instant::now();
        store.add_domain("slow.test", 0, 0).await.expect("write");
        assert!(
            started.elapsed() >= Duration::from_millis(60),
            "commit delayed"
        );
        store.set_store_latency(Duration::ZERO).expect("off");
        let started = Instant::now();
        store.list_domains().expect("read");
        assert!(started.elapsed() < Duration::from_millis(60), "fast again");
    }

    #[tokio::test]
    async fn a_store_opened_without_the_environment_refuses() {
        // The test process does not set YUBIN_FAULT_INJECTION (no test may: set_var is unsafe).
        if std::env::var(super::ENV).is_ok() {
            return;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let store = MailStore::open(dir.path()).await.expect("open");
        let e = store
            .set_store_latency(Duration::from_millis(10))
            .expect_err("refused");
        assert_eq!(e.kind(), crate::ErrorKind::Unavailable);
        assert_eq!(store.store_latency(), Duration::ZERO);
    }
}

#[cfg(test)]
mod admission_tests {
    use std::time::{Duration, Instant};

    use crate::{FaultSwitch, MailStore};

    #[tokio::test]
    async fn a_slow_store_refuses_admission_and_recovers_by_itself() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = MailStore::open_with_faults(dir.path(), FaultSwitch::allowed())
            .await
            .expect("open");
        store.configure_admission(Duration::from_millis(100), Duration::from_secs(1), 4);
        store.admit(&["a.test"]).await.expect("fast store admits");
        store
            .set_store_latency(Duration::from_millis(300))
            .expect("allowed");
        // The probe runs every 200 ms and is seen as slow once it has run past 100 ms.
        let started = Instant::now();
        while !store.is_slow() {
            assert!(started.elapsed() < Duration::from_secs(3), "never slow");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let e = store.admit(&["a.test"]).await.expect_err("refused");
        assert_eq!(e.kind(), crate::ErrorKind::Unavailable);
        store.set_store_latency(Duration::ZERO).expect("off");
        let started = Instant::now();
        while store.is_slow() {
            assert!(
                started.elapsed() < Duration::from_secs(3),
                "never recovered"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        store.admit(&["a.test"]).await.expect("admits again");
    }
}
