//! Password checks for every protocol that logs users in (IMAP, POP3, submission), under the
//! failed-login guard of `crate::limits::logins` ([`PasswordChecker::log_in`]).
//!
//! Argon2id costs ~19 MiB of memory and tens of milliseconds of CPU per check. Running checks on
//! tokio's blocking pool let a login storm start a thread, and a malloc arena that keeps its
//! 19 MiB, per concurrent login: measured, 500 parallel logins left the process at several GiB.
//! A fixed set of checker threads (one per core) bounds both memory and CPU, and a bounded queue
//! in front of them turns a flood into quick "try later" answers instead of a pile-up.
//!
//! Mail clients log in again every few minutes with the same password (POP3 polling, IMAP
//! reconnects), so a password that verified recently is remembered as a keyed SHA-256 digest
//! (the key is random per process and never leaves it), for [`CACHE_TTL`], bound to the stored
//! hash: changing the password or disabling the account takes effect at the next login. Only
//! successes are cached, so every wrong guess still costs a full Argon2 check. (Dovecot's
//! `auth_cache` keeps the passdb's hash and so still runs the hash check on every login; only for
//! passdbs without hashes, such as PAM, does it keep a digest of the password as this does.)

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use tokio::sync::oneshot;
use yubin_proto::Secret;
use yubin_store::{AccountInfo, Error, ErrorKind, MailStore, Result};

use crate::limits::logins::{Lockout, LoginGuard};
use crate::net::telemetry;

/// Logins waiting for a checker; more fail at once with `Unavailable`.
const QUEUE: usize = 256;
/// How long a verified password is remembered.
const CACHE_TTL: Duration = Duration::from_secs(15 * 60);
/// Most remembered accounts; past it the cache starts over (rare, and only costs Argon2 checks).
const CACHE_ENTRIES: usize = 100_000;

/// A recently verified password.
struct Verified {
    /// The account's stored hash when it was verified.
    stored: String,
    /// SHA-256 of the process key and the password.
    digest: [u8; 32],
    at: Instant,
}

struct Cache {
    key: [u8; 32],
    entries: Mutex<HashMap<String, Verified>>,
}

impl Cache {
    /// A cache under a fresh random key; all zeros (no randomness) turns it off.
    fn new() -> Self {
        let mut key = [0u8; 32];
        if getrandom::fill(&mut key).is_err() {
            tracing::warn!("no randomness for the login cache; every login runs Argon2");
            key = [0; 32];
        }
        Self {
            key,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn digest(&self, password: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.key);
        h.update(password.as_bytes());
        h.finalize().into()
    }

    fn hit(&self, info: &AccountInfo, password: &str) -> bool {
        if self.key == [0; 32] || !info.record.enabled {
            return false;
        }
        let digest = self.digest(password);
        let Ok(entries) = self.entries.lock() else {
            return false;
        };
        entries.get(&info.address).is_some_and(|v| {
            v.stored == info.record.password && v.digest == digest && v.at.elapsed() < CACHE_TTL
        })
    }

    fn remember(&self, info: &AccountInfo, password: &str) {
        if self.key == [0; 32] {
            return;
        }
        let digest = self.digest(password);
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= CACHE_ENTRIES {
            entries.clear();
        }
        entries.insert(
            info.address.clone(),
            Verified {
                stored: info.record.password.clone(),
                digest,
                at: Instant::now(),
            },
        );
    }
}

/// How a login through [`PasswordChecker::log_in`] ended.
pub enum Login {
    /// The password is right.
    Accepted(AccountInfo),
    /// Wrong password, unknown or disabled account; the failure delay has been waited.
    Rejected,
    /// Refused before any check: the client is locked out for a while.
    Locked(Lockout),
    /// The check could not run (too many waiting, store down).
    Unavailable(Error),
}

struct Job {
    user: String,
    password: Secret<String>,
    reply: oneshot::Sender<Result<Option<AccountInfo>>>,
}

/// A small pool of threads that verify passwords against the store.
#[derive(Clone)]
pub struct PasswordChecker {
    jobs: SyncSender<Job>,
    store: MailStore,
    cache: Arc<Cache>,
}

impl PasswordChecker {
    /// Starts `threads` checker threads (at least one) over `store`.
    pub fn start(store: MailStore, threads: usize) -> Self {
        let cache = Arc::new(Cache::new());
        let lookup = store.clone();
        let (tx, rx) = sync_channel::<Job>(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            let store = store.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("yubin-auth-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = match rx.lock() {
                            Ok(guard) => guard.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else {
                            return;
                        };
                        let result = store.verify_password(&job.user, job.password.expose());
                        let _ = job.reply.send(result);
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password checker thread");
            }
        }
        Self {
            jobs: tx,
            store: lookup,
            cache,
        }
    }

    /// Checks `user`'s password: `Ok(None)` for a wrong password, an unknown or a disabled
    /// account (callers must not tell these apart to the client).
    ///
    /// Errors: `Unavailable` when too many checks are waiting or the checkers stopped.
    pub async fn verify(
        &self,
        user: String,
        password: Secret<String>,
    ) -> Result<Option<AccountInfo>> {
        // A record read is microseconds (off the async workers while the store is slow); the
        // cache spares the Argon2 check behind it.
        let name = user.clone();
        if let Ok(info) = self
            .store
            .read_small(move |store| store.account(&name))
            .await
            && self.cache.hit(&info, password.expose())
        {
            return Ok(Some(info));
        }
        let remembered = Secret::new(password.expose().clone());
        let (reply, answer) = oneshot::channel();
        match self.jobs.try_send(Job {
            user,
            password,
            reply,
        }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                return Err(Error::new(
                    ErrorKind::Unavailable,
                    "too many logins in progress",
                ));
            }
            Err(TrySendError::Disconnected(_)) => {
                return Err(Error::new(
                    ErrorKind::Unavailable,
                    "password checks stopped",
                ));
            }
        }
        let result = answer
            .await
            .map_err(|_| Error::new(ErrorKind::Unavailable, "password check abandoned"))?;
        if let Ok(Some(info)) = &result {
            self.cache.remember(info, remembered.expose());
        }
        result
    }

    /// Logs `user` in from `peer` under the failed-login `guard` (see `crate::limits::logins`):
    /// a locked-out client is refused before any password check, and a failure is answered
    /// after the guard's delay (at least `floor`), waited here without holding a checker.
    pub async fn log_in(
        &self,
        guard: &LoginGuard,
        protocol: &'static str,
        peer: IpAddr,
        user: String,
        password: Secret<String>,
        floor: Duration,
    ) -> Login {
        if let Err(lockout) = guard.check(peer, &user) {
            telemetry::rejected(protocol, "login_lockout");
            tracing::info!(%peer, account = %user, protocol, ?lockout, "login refused: locked out");
            return Login::Locked(lockout);
        }
        match self.verify(user.clone(), password).await {
            Ok(Some(info)) => {
                guard.succeeded(peer, &user);
                Login::Accepted(info)
            }
            Ok(None) => {
                telemetry::rejected(protocol, "auth_failure");
                let delay = guard.failed(protocol, peer, &user).max(floor);
                tokio::time::sleep(delay).await;
                Login::Rejected
            }
            Err(e) => Login::Unavailable(e),
        }
    }
}
