//! SMTP: receiving as MX (RFC 5321), submission (RFC 6409, RFC 8314) and LMTP (RFC 2033);
//! sending with [`outbound`], driven by the [`queue`] runner.
//!
//! Implementation notes:
//! - One task per connection; [`session`] is the state machine, [`trace`] builds the headers
//!   Yubin prepends, [`errors`] maps store errors to replies in one place.
//! - A message is acknowledged only after `MailStore::deliver` returned, i.e. after the blob and
//!   its rows are durable (group commit).
//! - The MX port never relays: a recipient in a domain not hosted here gets 550 5.7.1 (there is no
//!   authentication on it; submission is a separate service).
//! - STARTTLS restarts the session state (RFC 3207 §4.2) and drops bytes pipelined after it.
//! - Submission (587 with STARTTLS, 465 with implicit TLS) is the same state machine with AUTH
//!   ([`sasl`]) and the sending policy of [`submission`]; AUTH needs TLS unless
//!   `allow_plaintext_auth` is set. Local recipients are stored at once; remote ones go to the
//!   outbound queue in the same commit.
//! - Limits (`crate::limits`): past `connections_per_ip` the greeting is 421 4.7.0. On the MX
//!   port a client IP past its hourly message budget gets 451 4.7.1 at MAIL; on MX and LMTP a
//!   recipient whose tenant is past its hourly inbound budget gets 451 4.7.1 at RCPT, and one
//!   whose tenant's `max_message_size` is smaller than the message 552 5.3.4 (at RCPT for a
//!   declared SIZE, else after DATA). Submission: a locked-out client gets 454 4.7.0 at AUTH
//!   (RFC 4954 §6: temporary), a login past the account's or tenant's session limit 454 4.7.0,
//!   a command past the per-minute budget waits, then 451 4.7.1; the account's or tenant's
//!   `max_message_size` applies to SIZE and DATA (552 5.3.4).

pub mod errors;
pub mod inbound;
pub mod outbound;
pub mod queue;
mod sasl;
pub mod session;
pub mod submission;
pub mod trace;

use std::net::SocketAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use yubin_store::MailStore;

use crate::auth::PasswordChecker;
use crate::limits::{Limits, LimitsConfig};
use crate::net::Shutdown;
use inbound::InboundChecks;
use submission::Submission;

/// `[smtp]` settings (the MX service); `[lmtp]` and `[submission]` use the same keys.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// Addresses to listen on.
    pub listen: Vec<String>,
    /// Addresses for implicit TLS (submission on 465, RFC 8314); unused by MX and LMTP.
    pub listen_tls: Vec<String>,
    /// Submission: allow AUTH without TLS. Off, AUTH before STARTTLS gets 538 5.7.11.
    pub allow_plaintext_auth: bool,
    /// Submission: milliseconds to wait before answering a failed AUTH.
    pub auth_failure_delay_ms: u64,
    /// Submission: failed AUTH attempts before the connection is closed.
    pub max_auth_failures: usize,
    /// Largest message accepted, in bytes (advertised with SIZE).
    pub max_message_size: usize,
    /// Most recipients per message.
    pub max_recipients: usize,
    /// Most commands per connection.
    pub max_commands: usize,
    /// Most protocol errors per connection before it is closed.
    pub max_errors: usize,
    /// Longest command line in bytes.
    pub max_line_length: usize,
    /// Most simultaneous connections.
    pub max_connections: usize,
    /// Seconds to wait for a command (RFC 5321 §4.5.3.2: at least 5 minutes).
    pub command_timeout_secs: u64,
    /// Seconds to wait for each block of message data (RFC 5321: at least 3 minutes).
    pub data_timeout_secs: u64,
    /// Longest a connection may last, in seconds.
    pub session_timeout_secs: u64,
}

impl SmtpConfig {
    /// Defaults with the given listen addresses.
    pub fn with_listen(listen: Vec<String>) -> Self {
        Self {
            listen,
            ..Self::default()
        }
    }
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            listen: Vec::new(),
            listen_tls: Vec::new(),
            allow_plaintext_auth: false,
            auth_failure_delay_ms: 1000,
            max_auth_failures: 3,
            max_message_size: 50 * 1024 * 1024,
            max_recipients: 100,
            max_commands: 1000,
            max_errors: 20,
            max_line_length: 4096,
            max_connections: 10_000,
            command_timeout_secs: 300,
            data_timeout_secs: 180,
            session_timeout_secs: 1800,
        }
    }
}

/// Which protocol a listener speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// SMTP for inbound MX.
    Mx,
    /// LMTP: LHLO, and one reply per recipient after DATA.
    Lmtp,
    /// Message submission: AUTH, then relaying for the authenticated account.
    Submission,
}

impl Mode {
    /// The `protocol` label of its metrics.
    pub fn label(self) -> &'static str {
        match self {
            Mode::Mx => "smtp",
            Mode::Lmtp => "lmtp",
            Mode::Submission => "submission",
        }
    }
}

/// What every session of one listener shares.
pub struct Service {
    /// Protocol.
    pub mode: Mode,
    /// Limits and timeouts.
    pub config: SmtpConfig,
    /// Name used in the greeting and Received headers.
    pub hostname: String,
    /// The mail store.
    pub store: MailStore,
    /// TLS for STARTTLS, if available.
    pub tls: Option<TlsAcceptor>,
    /// Caps simultaneous connections.
    pub connections: Arc<Semaphore>,
    /// Password checks (submission only).
    pub passwords: Option<PasswordChecker>,
    /// The sending policy (submission only).
    pub submission: Option<Submission>,
    /// SPF/DKIM/DMARC checks (MX only).
    pub inbound: Option<InboundChecks>,
    /// Per-IP, per-tenant and per-account limits and the failed-login guard (shared).
    pub limits: Arc<Limits>,
}

impl Service {
    /// The shared state every mode starts from: no AUTH, no sending policy, no sender checks.
    fn base(
        mode: Mode,
        config: SmtpConfig,
        hostname: String,
        store: MailStore,
        tls: Option<TlsAcceptor>,
        limits: Arc<Limits>,
    ) -> Self {
        let connections = Arc::new(Semaphore::new(config.max_connections));
        Self {
            mode,
            config,
            hostname,
            store,
            tls,
            connections,
            passwords: None,
            submission: None,
            inbound: None,
            limits,
        }
    }

    /// Builds the shared state of a listener with its own default `[limits]`.
    pub fn new(
        mode: Mode,
        config: SmtpConfig,
        hostname: String,
        store: MailStore,
        tls: Option<TlsAcceptor>,
    ) -> Arc<Self> {
        let limits = Limits::new(LimitsConfig::default(), Some(store.clone()));
        Arc::new(Self::base(mode, config, hostname, store, tls, limits))
    }

    /// Builds the shared state of an LMTP listener under the server's `limits`.
    pub fn lmtp(
        config: SmtpConfig,
        hostname: String,
        store: MailStore,
        tls: Option<TlsAcceptor>,
        limits: Arc<Limits>,
    ) -> Arc<Self> {
        Arc::new(Self::base(Mode::Lmtp, config, hostname, store, tls, limits))
    }

    /// Builds the shared state of an MX listener that checks senders with `inbound`.
    pub fn mx(
        config: SmtpConfig,
        hostname: String,
        store: MailStore,
        tls: Option<TlsAcceptor>,
        inbound: Option<InboundChecks>,
        limits: Arc<Limits>,
    ) -> Arc<Self> {
        Arc::new(Self {
            inbound,
            ..Self::base(Mode::Mx, config, hostname, store, tls, limits)
        })
    }

    /// Builds the shared state of a submission listener.
    pub fn submission(
        config: SmtpConfig,
        hostname: String,
        store: MailStore,
        tls: Option<TlsAcceptor>,
        passwords: PasswordChecker,
        policy: Submission,
        limits: Arc<Limits>,
    ) -> Arc<Self> {
        Arc::new(Self {
            passwords: Some(passwords),
            submission: Some(policy),
            ..Self::base(Mode::Submission, config, hostname, store, tls, limits)
        })
    }

    /// Serves one accepted connection to the end.
    pub async fn handle(self: Arc<Self>, stream: TcpStream, peer: SocketAddr, shutdown: Shutdown) {
        session::serve(self, stream, peer, shutdown, false).await;
    }

    /// Serves one connection accepted on an implicit-TLS port (465).
    pub async fn handle_tls(
        self: Arc<Self>,
        stream: TcpStream,
        peer: SocketAddr,
        shutdown: Shutdown,
    ) {
        session::serve(self, stream, peer, shutdown, true).await;
    }
}
