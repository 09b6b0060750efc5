//! Password checks for every protocol that logs users in (IMAP now; POP3 and submission later).
//!
//! Argon2id costs ~19 MiB of memory and tens of milliseconds of CPU per check. Running checks on
//! tokio's blocking pool let a login storm start a thread, and a malloc arena that keeps its
//! 19 MiB, per concurrent login: measured, 500 parallel logins left the process at several GiB.
//! A fixed set of checker threads (one per core) bounds both memory and CPU, and a bounded queue
//! in front of them turns a flood into quick "try later" answers instead of a pile-up.

use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;
use yubin_proto::Secret;
use yubin_store::{AccountInfo, Error, ErrorKind, MailStore, Result};

/// Logins waiting for a checker; more fail at once with `Unavailable`.
const QUEUE: usize = 256;

struct Job {
    user: String,
    password: Secret<String>,
    reply: oneshot::Sender<Result<Option<AccountInfo>>>,
}

/// A small pool of threads that verify passwords against the store.
#[derive(Clone)]
pub struct PasswordChecker {
    jobs: SyncSender<Job>,
}

impl PasswordChecker {
    /// Starts `threads` checker threads (at least one) over `store`.
    pub fn start(store: MailStore, threads: usize) -> Self {
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
        Self { jobs: tx }
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
        answer
            .await
            .map_err(|_| Error::new(ErrorKind::Unavailable, "password check abandoned"))?
    }
}
