//! POP3 (RFC 1939) with CAPA (RFC 2449), SASL PLAIN (RFC 5034), STLS (RFC 2595) and the
//! response codes of RFC 2449 and RFC 3206.
//!
//! Implementation notes:
//! - One task per connection. [`session`] owns the socket loop (line framing, pipelining,
//!   timeouts, STLS, shutdown) and dispatches to [`auth`] (USER/PASS, AUTH PLAIN, the maildrop
//!   lock) and [`transaction`] (STAT, LIST, UIDL, RETR, TOP, DELE, RSET, QUIT).
//! - [`maildrop`] is the session's view: a snapshot of INBOX taken once at login, so every
//!   STAT/LIST/UIDL reply of a session comes from the same consistent listing, and messages
//!   delivered meanwhile appear next session. The snapshot is read under a deadline
//!   (`store_timeout_ms`); past it the login answers `-ERR [SYS/TEMP]` and nothing partial is
//!   ever listed.
//! - UIDL is the message's gid: an id assigned once at delivery, kept by IMAP MOVE and by
//!   `yubin admin account export`/`import`, and never reused, so it survives restarts, flag
//!   changes, moves out of INBOX and back, and a move to another server.
//! - One POP3 session per maildrop ([`Locks`]); a second login gets `-ERR [IN-USE]`. DELE only
//!   marks; QUIT commits the marks as one logical delete through the store; a connection that
//!   drops, times out or is shut down commits nothing.
//! - Limits (`crate::limits`): past `connections_per_ip` the greeting is `-ERR [SYS/TEMP]`;
//!   a login while locked out by the failed-login guard gets `-ERR [SYS/TEMP]` at once (not
//!   `[AUTH]`: the password may be right, RFC 3206 §4); past the account's session limit
//!   `-ERR [IN-USE]` (its other sessions hold it, RFC 2449 §8.1.1), past the tenant's
//!   `-ERR [SYS/TEMP]`; a command past the per-minute budget waits, then `-ERR [SYS/TEMP]`.
//! - Store errors become `-ERR [SYS/TEMP]` or `-ERR [SYS/PERM]` in one function,
//!   [`errors::err_for`].

pub mod auth;
pub mod errors;
pub mod maildrop;
pub mod session;
pub mod transaction;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use yubin_store::MailStore;

use crate::auth::PasswordChecker;
use crate::limits::Limits;
use crate::net::Shutdown;

/// `[pop3]` settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Pop3Config {
    /// Addresses for POP3 with STLS (110).
    pub listen: Vec<String>,
    /// Addresses for POP3 over implicit TLS (995).
    pub listen_tls: Vec<String>,
    /// Allow USER/PASS and AUTH PLAIN without TLS from any address.
    pub allow_plaintext_auth: bool,
    /// Treat loopback connections as secure for plain-text authentication.
    pub loopback_is_secure: bool,
    /// Most simultaneous connections.
    pub max_connections: usize,
    /// Seconds a logged-in session may stay silent (RFC 1939 §3: at least 10 minutes).
    pub idle_timeout_secs: u64,
    /// Seconds a not-yet-authenticated session may stay silent.
    pub login_timeout_secs: u64,
    /// Milliseconds to wait before answering a failed login.
    pub auth_failure_delay_ms: u64,
    /// Failed logins per connection before it is closed.
    pub max_auth_failures: usize,
    /// Most commands per second per connection, averaged; past it commands are delayed.
    pub max_commands_per_sec: u32,
    /// Unknown or malformed commands per connection before it is closed.
    pub max_errors: usize,
    /// Milliseconds the store may take to list the maildrop or read a message; past it the
    /// command answers `-ERR [SYS/TEMP]`.
    pub store_timeout_ms: u64,
    /// Seconds that must pass between two logins to the same maildrop (RFC 2449 LOGIN-DELAY);
    /// 0 advertises nothing and enforces nothing.
    pub login_delay_secs: u64,
    /// RFC 2449 EXPIRE policy: "never" (mail stays until deleted) or "0" (messages retrieved in
    /// a session are deleted when it ends with QUIT).
    pub expire: String,
    /// Mark messages retrieved with RETR as \Seen (visible over IMAP) when the session QUITs.
    pub mark_retrieved_seen: bool,
}

impl Pop3Config {
    /// Defaults with the given listen addresses.
    pub fn with_listen(listen: Vec<String>, listen_tls: Vec<String>) -> Self {
        Self {
            listen,
            listen_tls,
            ..Self::default()
        }
    }

    /// Whether retrieved messages are deleted at QUIT (`EXPIRE 0`).
    pub fn expire_now(&self) -> bool {
        self.expire.trim() == "0"
    }

    /// Checks values that serde cannot.
    pub fn validate(&self) -> Result<(), String> {
        match self.expire.trim() {
            "never" | "NEVER" | "0" => {}
            other => {
                return Err(format!(
                    "pop3.expire: '{other}' is not supported; use \"never\" or \"0\" \
                     (deleting n days after retrieval needs the retention service)"
                ));
            }
        }
        for addr in self.listen.iter().chain(&self.listen_tls) {
            addr.parse::<SocketAddr>()
                .map_err(|_| format!("pop3.listen: '{addr}' is not an address:port"))?;
        }
        if self.max_connections == 0 || self.max_auth_failures == 0 || self.store_timeout_ms == 0 {
            return Err("pop3: limits must be at least 1".into());
        }
        if self.idle_timeout_secs < 600 {
            return Err("pop3.idle_timeout_secs must be at least 600 (RFC 1939 §3)".into());
        }
        Ok(())
    }
}

impl Default for Pop3Config {
    fn default() -> Self {
        Self {
            listen: Vec::new(),
            listen_tls: Vec::new(),
            allow_plaintext_auth: false,
            loopback_is_secure: true,
            max_connections: 10_000,
            idle_timeout_secs: 600,
            login_timeout_secs: 60,
            auth_failure_delay_ms: 1000,
            max_auth_failures: 3,
            max_commands_per_sec: 2000,
            max_errors: 20,
            store_timeout_ms: 5000,
            login_delay_secs: 0,
            expire: "never".into(),
            mark_retrieved_seen: true,
        }
    }
}

/// Which maildrops have a POP3 session, and when each was last logged into.
#[derive(Default)]
pub struct Locks {
    held: Mutex<HashSet<u64>>,
    last_login: Mutex<HashMap<u64, Instant>>,
}

/// Why a maildrop could not be locked.
pub enum LockRefused {
    /// Another session holds it.
    InUse,
    /// The previous login was less than `login_delay_secs` ago.
    TooSoon,
}

/// Holds a maildrop's lock until dropped, however the session ends.
pub struct LockGuard {
    locks: Arc<Locks>,
    account: u64,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if let Ok(mut held) = self.locks.held.lock() {
            held.remove(&self.account);
        }
    }
}

impl Locks {
    /// Locks `account`'s maildrop, enforcing `login_delay` between logins when non-zero.
    pub fn acquire(
        self: &Arc<Self>,
        account: u64,
        login_delay: Duration,
    ) -> Result<LockGuard, LockRefused> {
        let Ok(mut held) = self.held.lock() else {
            return Err(LockRefused::InUse);
        };
        if held.contains(&account) {
            return Err(LockRefused::InUse);
        }
        if !login_delay.is_zero() {
            let Ok(mut last) = self.last_login.lock() else {
                return Err(LockRefused::InUse);
            };
            let now = Instant::now();
            if last
                .get(&account)
                .is_some_and(|t| now.duration_since(*t) < login_delay)
            {
                return Err(LockRefused::TooSoon);
            }
            last.insert(account, now);
        }
        held.insert(account);
        Ok(LockGuard {
            locks: self.clone(),
            account,
        })
    }
}

/// What every POP3 session shares.
pub struct Service {
    /// Limits and timeouts.
    pub config: Pop3Config,
    /// Name in the greeting.
    pub hostname: String,
    /// The mail store.
    pub store: MailStore,
    /// TLS for STLS and the implicit-TLS port.
    pub tls: Option<TlsAcceptor>,
    /// Caps simultaneous connections.
    pub connections: Arc<Semaphore>,
    /// Verifies passwords (shared with IMAP).
    pub passwords: PasswordChecker,
    /// Maildrop locks.
    pub locks: Arc<Locks>,
    /// Per-IP, per-tenant and per-account limits and the failed-login guard (shared).
    pub limits: Arc<Limits>,
}

impl Service {
    /// Builds the shared state of the POP3 listeners.
    pub fn new(
        config: Pop3Config,
        hostname: String,
        store: MailStore,
        tls: Option<TlsAcceptor>,
        passwords: PasswordChecker,
        limits: Arc<Limits>,
    ) -> Arc<Self> {
        let connections = Arc::new(Semaphore::new(config.max_connections));
        Arc::new(Self {
            config,
            hostname,
            store,
            tls,
            connections,
            passwords,
            locks: Arc::default(),
            limits,
        })
    }

    /// Serves one accepted connection to the end; `implicit_tls` for the 995 listener.
    pub async fn handle(
        self: Arc<Self>,
        stream: TcpStream,
        peer: SocketAddr,
        shutdown: Shutdown,
        implicit_tls: bool,
    ) {
        session::serve(self, stream, peer, shutdown, implicit_tls).await;
    }
}
