//! The writer thread's CPU priority while it commits background work.
//!
//! Why: a purge commit is CPU work inside the engine (copy-on-write pages, checksums), and on a
//! busy machine a session that wakes while one runs waits for a core. The mass-delete test
//! measured other users' p99 at 2.1x (IMAP) and 2.6x (POP3) their idle values with purge commits
//! at normal priority, and 1.2x and 1.0x with them at nice 19, which the scheduler preempts for
//! any normal thread that wakes. Foreground groups keep the thread's normal priority.
//!
//! Lowering a thread's priority is always allowed, but raising it back needs root,
//! `CAP_SYS_NICE` or an `RLIMIT_NICE` that covers it (systemd: `LimitNICE=+0`). Where that is
//! not granted the writer never lowers itself, since it could not come back up for foreground
//! commits; [`Background::lowers`] says which case holds.

/// Nice value of background commits: the lowest priority.
#[cfg(target_os = "linux")]
const BACKGROUND_NICE: i32 = 19;

/// Runs background commits at low priority where the process may restore it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Background {
    /// The thread's own nice value, restored after each background group.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    normal: i32,
    lowers: bool,
}

impl Background {
    /// Finds out, on a scratch thread (a thread's nice value is its own on Linux), whether a
    /// lowered priority can be raised back to the calling thread's.
    pub(crate) fn probe() -> Self {
        #[cfg(target_os = "linux")]
        {
            use rustix::process::{getpriority_process, setpriority_process};
            let Ok(normal) = getpriority_process(None) else {
                return Self::never();
            };
            if normal >= BACKGROUND_NICE {
                return Self::never();
            }
            let lowers = std::thread::spawn(move || {
                setpriority_process(None, normal + 1).is_ok()
                    && setpriority_process(None, normal).is_ok()
            })
            .join()
            .unwrap_or(false);
            Self { normal, lowers }
        }
        #[cfg(not(target_os = "linux"))]
        Self::never()
    }

    fn never() -> Self {
        Self {
            normal: 0,
            lowers: false,
        }
    }

    /// Whether background groups run at low priority.
    pub(crate) fn lowers(&self) -> bool {
        self.lowers
    }

    /// Runs `work` on the calling thread at the background priority, if allowed.
    pub(crate) fn run<T>(&self, work: impl FnOnce() -> T) -> T {
        if !self.lowers {
            return work();
        }
        #[cfg(target_os = "linux")]
        {
            use rustix::process::setpriority_process;
            let _ = setpriority_process(None, BACKGROUND_NICE);
            let out = work();
            if setpriority_process(None, self.normal).is_err() {
                tracing::warn!("could not restore the writer thread's priority");
            }
            out
        }
        #[cfg(not(target_os = "linux"))]
        work()
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn background_work_runs_at_the_lowest_priority_and_the_thread_gets_its_own_back() {
        std::thread::spawn(|| {
            let before = rustix::process::getpriority_process(None).expect("nice");
            let background = Background::probe();
            let during = background.run(|| rustix::process::getpriority_process(None));
            let after = rustix::process::getpriority_process(None).expect("nice");
            assert_eq!(after, before, "the thread's priority is restored");
            if background.lowers() {
                assert_eq!(during.expect("nice"), BACKGROUND_NICE);
            } else {
                assert_eq!(
                    during.expect("nice"),
                    before,
                    "never lowered without the right"
                );
            }
        })
        .join()
        .expect("thread");
    }
}
