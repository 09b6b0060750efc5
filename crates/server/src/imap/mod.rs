//! IMAP4rev2 (RFC 9051) and IMAP4rev1 (RFC 3501) service.
//!
//! Implementation notes:
//! - One task per connection. [`session`] owns the socket loop (framer, timeouts, STARTTLS, IDLE,
//!   shutdown `* BYE`); [`commands`] is the declarative table of which command runs in which
//!   state and whether it may send EXPUNGE responses; [`state`] holds the state enum whose
//!   variants carry only their own data; handlers live in [`auth`], [`mailboxes`], [`fetch`],
//!   [`search`], [`messages`]; [`selected`] keeps the session's view of the selected mailbox
//!   (sequence numbers to UIDs, flags the client was told) and turns store changes into untagged
//!   `EXPUNGE`/`VANISHED`/`EXISTS`/`FETCH` at the points RFC 9051 §7.5.1 allows.
//! - Parsing is `yubin_proto::imap` (framer, then grammar); encoding of ENVELOPE/BODYSTRUCTURE and
//!   body sections is `yubin_proto::mime` / `yubin_proto::imap`.
//! - Everything goes through `MailStore`; store errors become response codes in one function,
//!   [`errors::no_for`].
//! - APPEND answers OK only after `MailStore::append` returned, i.e. after the commit is durable.
//! - Plain-text authentication (LOGIN, AUTHENTICATE PLAIN) is refused on a connection that is not
//!   TLS unless it comes from loopback (as Dovecot does) or `allow_plaintext_auth` is set; the
//!   capability list then says LOGINDISABLED and omits AUTH=PLAIN (RFC 9051 §6.2.3).
//! - Limits (`crate::limits`): a connection past `connections_per_ip` gets `* BYE
//!   [UNAVAILABLE]`; a login while locked out by the failed-login guard `NO [UNAVAILABLE]`
//!   (temporary, and not AUTHENTICATIONFAILED: the password may be right); a login past the
//!   account's or tenant's session limit `NO [LIMIT]`; a command past the per-minute budget
//!   waits `command_refusal_delay_ms`, then `NO [LIMIT]`; an APPEND past the account's or
//!   tenant's `max_message_size` `NO [TOOBIG]` (RFC 5530).

pub mod auth;
pub mod commands;
pub mod compress;
pub mod errors;
pub mod fetch;
pub mod idle;
pub mod mailboxes;
pub mod messages;
pub mod search;
pub mod selected;
pub mod session;
pub mod state;
pub mod thread;

use std::net::SocketAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use yubin_store::MailStore;

use crate::limits::Limits;
use crate::net::Shutdown;

/// `[imap]` settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ImapConfig {
    /// Addresses for IMAP with STARTTLS (143).
    pub listen: Vec<String>,
    /// Addresses for IMAP over implicit TLS (993).
    pub listen_tls: Vec<String>,
    /// Allow LOGIN/AUTHENTICATE PLAIN without TLS from any address (loopback is always allowed).
    pub allow_plaintext_auth: bool,
    /// Treat loopback connections as secure for plain-text authentication.
    pub loopback_is_secure: bool,
    /// Longest command line in octets (RFC 7162 §4 asks for at least 8192).
    pub max_line_length: usize,
    /// Largest literal (APPEND message) in octets; advertised as APPENDLIMIT.
    pub max_message_size: usize,
    /// Most simultaneous connections.
    pub max_connections: usize,
    /// Seconds an authenticated session may stay silent (RFC 9051 §5.4: at least 30 minutes).
    pub idle_timeout_secs: u64,
    /// Seconds a not-yet-authenticated session may stay silent.
    pub login_timeout_secs: u64,
    /// Milliseconds to wait before answering a failed login, to slow password guessing.
    pub auth_failure_delay_ms: u64,
    /// Failed logins per connection before it is closed.
    pub max_auth_failures: usize,
    /// Most commands per second per connection, averaged; past it commands are delayed.
    pub max_commands_per_sec: u32,
    /// Protocol errors (BAD) per connection before it is closed.
    pub max_errors: usize,
}

impl ImapConfig {
    /// Defaults with the given listen addresses.
    pub fn with_listen(listen: Vec<String>, listen_tls: Vec<String>) -> Self {
        Self {
            listen,
            listen_tls,
            ..Self::default()
        }
    }
}

impl Default for ImapConfig {
    fn default() -> Self {
        Self {
            listen: Vec::new(),
            listen_tls: Vec::new(),
            allow_plaintext_auth: false,
            loopback_is_secure: true,
            max_line_length: 65_536,
            max_message_size: 50 * 1024 * 1024,
            max_connections: 20_000,
            idle_timeout_secs: 1800,
            login_timeout_secs: 60,
            auth_failure_delay_ms: 1000,
            max_auth_failures: 5,
            max_commands_per_sec: 500,
            max_errors: 50,
        }
    }
}

/// What every IMAP session shares.
pub struct Service {
    /// Limits and timeouts.
    pub config: ImapConfig,
    /// Name in the greeting.
    pub hostname: String,
    /// The mail store.
    pub store: MailStore,
    /// TLS for STARTTLS and the implicit-TLS port.
    pub tls: Option<TlsAcceptor>,
    /// Caps simultaneous connections.
    pub connections: Arc<Semaphore>,
    /// Verifies passwords on a fixed set of threads (see [`crate::auth`]), shared with POP3.
    pub passwords: crate::auth::PasswordChecker,
    /// Per-IP, per-tenant and per-account limits and the failed-login guard (shared).
    pub limits: Arc<Limits>,
}

impl Service {
    /// Builds the shared state of the IMAP listeners.
    pub fn new(
        config: ImapConfig,
        hostname: String,
        store: MailStore,
        tls: Option<TlsAcceptor>,
        passwords: crate::auth::PasswordChecker,
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
            limits,
        })
    }

    /// Serves one accepted connection to the end; `implicit_tls` for the 993 listener.
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
