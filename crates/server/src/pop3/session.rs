//! The POP3 connection loop: greeting, line framing with pipelining (RFC 2449 §6.6), the
//! AUTHORIZATION/TRANSACTION states, STLS and timeouts. Handlers live in [`super::auth`] and
//! [`super::transaction`] as further `impl Session` blocks.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use yubin_proto::pop3::command::Command;
use yubin_proto::pop3::line::{LineError, discard_line, next_line};
use yubin_proto::pop3::parse::{ParseErrorKind, parse_command};

use super::Service;
use super::errors::Failure;
use super::maildrop::Maildrop;
use crate::limits::AccountSession;
use crate::net::{Shutdown, stream};

/// Longest command line: RFC 2449 §4 allows 255 octets; a SASL response may be longer.
pub(crate) const MAX_COMMAND: usize = 512;
/// Longest SASL response line (base64 of a PLAIN message with long credentials).
pub(crate) const MAX_SASL_LINE: usize = 8192;
/// Output is written out once this much is pending, so a pipelined burst of RETRs never holds
/// more than a message or so in memory.
const FLUSH_AT: usize = 64 * 1024;

pub use crate::net::stream::Stream;

/// RFC 1939 §3 states (UPDATE is the QUIT handler itself).
pub(crate) enum State {
    /// Before login; USER's name waits here for PASS.
    Authorization { user: Option<String> },
    /// Logged in, maildrop locked.
    Transaction(Box<Maildrop>),
}

/// What the loop does after a command.
pub(crate) enum Flow {
    Continue,
    Close,
    StartTls,
}

/// How a wait for input ended.
pub(crate) enum Input {
    Data,
    Closed,
    TimedOut,
    ShuttingDown,
}

/// Serves one connection to the end.
pub(crate) async fn serve(
    service: Arc<Service>,
    mut tcp: TcpStream,
    peer: SocketAddr,
    shutdown: Shutdown,
    implicit_tls: bool,
) {
    let Ok(_permit) = service.connections.clone().try_acquire_owned() else {
        crate::net::telemetry::rejected("pop3", "connections");
        if !implicit_tls {
            let _ = tcp
                .write_all(b"-ERR [SYS/TEMP] Too many connections, try again later\r\n")
                .await;
        }
        return;
    };
    let Some(_ip) = service.limits.connect("pop3", peer.ip()) else {
        if !implicit_tls {
            let _ = tcp
                .write_all(b"-ERR [SYS/TEMP] Too many connections from your address\r\n")
                .await;
        }
        return;
    };
    let _open = crate::net::telemetry::Connection::open("pop3");
    let Some(stream) = stream::open(tcp, peer, service.tls.as_ref(), implicit_tls).await else {
        return;
    };
    let mut session = Session::new(service.clone(), peer, shutdown);
    session.tls = implicit_tls;
    session.run(stream).await;
}

/// One POP3 connection.
pub struct Session {
    pub(crate) service: Arc<Service>,
    pub(crate) peer: SocketAddr,
    shutdown: Shutdown,
    pub(crate) state: State,
    pub(crate) tls: bool,
    pub(crate) rbuf: BytesMut,
    pub(crate) out: Vec<u8>,
    /// A message body RETR sends as stored, and the terminator after it: written right after
    /// `out`, in the same vectored write, instead of being copied into `out`.
    pub(crate) body: Option<(Vec<u8>, &'static [u8])>,
    pub(crate) auth_failures: usize,
    /// The logged-in account's place in its session limits and its command budget.
    pub(crate) seat: Option<AccountSession>,
    errors: usize,
    /// Start of the current command-rate window and commands in it.
    window: (Instant, u32),
}

impl Session {
    fn new(service: Arc<Service>, peer: SocketAddr, shutdown: Shutdown) -> Self {
        Self {
            service,
            peer,
            shutdown,
            state: State::Authorization { user: None },
            tls: false,
            rbuf: BytesMut::with_capacity(1024),
            out: Vec::new(),
            body: None,
            auth_failures: 0,
            seat: None,
            errors: 0,
            window: (Instant::now(), 0),
        }
    }

    async fn run(&mut self, mut stream: Stream) {
        if self.shutdown.is_shutting_down() {
            self.out
                .extend_from_slice(b"-ERR [SYS/TEMP] Server shutting down\r\n");
            let _ = self.flush(&mut stream).await;
            return;
        }
        let greeting = format!("+OK {} Yubin POP3 ready\r\n", self.service.hostname);
        self.out.extend_from_slice(greeting.as_bytes());
        loop {
            match self.commands(&mut stream).await {
                Flow::Continue => {}
                Flow::Close => {
                    let _ = self.flush(&mut stream).await;
                    let _ = stream.shutdown().await;
                    return;
                }
                Flow::StartTls => {
                    if !self.flush(&mut stream).await {
                        return;
                    }
                    let Some(acceptor) = self.service.tls.clone() else {
                        return;
                    };
                    // RFC 2595 §4: anything pipelined after STLS is not to be trusted.
                    self.rbuf.clear();
                    stream = match stream::handshake(&acceptor, stream, self.peer).await {
                        Some(tls) => Box::new(tls),
                        None => return,
                    };
                    self.tls = true;
                }
            }
        }
    }

    /// Runs every complete command in the buffer, then reads more; returns on a flow change.
    async fn commands(&mut self, stream: &mut Stream) -> Flow {
        let mut discarding = false;
        loop {
            loop {
                if discarding {
                    if !discard_line(&mut self.rbuf) {
                        self.rbuf.clear();
                        break;
                    }
                    discarding = false;
                    if let Some(flow) = self.protocol_error("Command line too long") {
                        return flow;
                    }
                }
                let Some(line) = next_line(&mut self.rbuf, MAX_COMMAND) else {
                    break;
                };
                let line = match line {
                    Ok(line) => line,
                    Err(LineError::TooLong) => {
                        discarding = true;
                        continue;
                    }
                };
                self.throttle().await;
                let flow = match parse_command(&line) {
                    Ok(command) => {
                        let started = std::time::Instant::now();
                        let flow = self.dispatch(command, stream).await;
                        crate::net::telemetry::command("pop3", started);
                        flow
                    }
                    Err(e) => {
                        let text = match e.kind {
                            ParseErrorKind::Unknown => "Unknown command",
                            _ => e.message,
                        };
                        match self.protocol_error(text) {
                            Some(flow) => flow,
                            None => Flow::Continue,
                        }
                    }
                };
                if !matches!(flow, Flow::Continue) {
                    return flow;
                }
                // A pending body goes out before anything a later command queues in `out`.
                let due = self.out.len() >= FLUSH_AT || self.body.is_some();
                if due && !self.flush(stream).await {
                    return Flow::Close;
                }
            }
            if !self.flush(stream).await {
                return Flow::Close;
            }
            if self.rbuf.is_empty() && self.rbuf.capacity() > 8 * 1024 {
                self.rbuf = BytesMut::with_capacity(1024);
            }
            match self.fill(stream).await {
                Input::Data => {}
                // RFC 1939 §6: a session that ends without QUIT does not enter UPDATE, so
                // nothing marked is deleted.
                Input::Closed => return Flow::Close,
                Input::TimedOut => {
                    self.out
                        .extend_from_slice(b"-ERR Autologout; idle for too long\r\n");
                    return Flow::Close;
                }
                Input::ShuttingDown => {
                    self.out
                        .extend_from_slice(b"-ERR [SYS/TEMP] Server shutting down\r\n");
                    return Flow::Close;
                }
            }
        }
    }

    /// `-ERR text`, closing the connection after too many.
    fn protocol_error(&mut self, text: &str) -> Option<Flow> {
        self.errors += 1;
        self.fail(&Failure::plain(text));
        if self.errors >= self.service.config.max_errors {
            self.out
                .extend_from_slice(b"-ERR Too many errors, closing\r\n");
            return Some(Flow::Close);
        }
        None
    }

    /// Delays commands past the configured rate so one client cannot monopolize a core.
    async fn throttle(&mut self) {
        // A pipelined burst (200,000 DELEs) runs from the buffer without waiting on the socket;
        // spending the task's cooperative budget per command lets the other sessions on this
        // worker run every so often (the mass-delete test saw them stall 10-20 ms without).
        tokio::task::coop::consume_budget().await;
        let limit = self.service.config.max_commands_per_sec.max(1);
        let (start, count) = self.window;
        let elapsed = start.elapsed();
        if elapsed >= Duration::from_secs(1) {
            self.window = (Instant::now(), 1);
            return;
        }
        self.window.1 = count + 1;
        if count >= limit {
            tokio::time::sleep(Duration::from_secs(1) - elapsed).await;
            self.window = (Instant::now(), 0);
        }
    }

    async fn dispatch(&mut self, command: Command, stream: &mut Stream) -> Flow {
        let in_transaction = matches!(self.state, State::Transaction(_));
        if !matches!(command, Command::Quit)
            && let Some(seat) = &self.seat
            && !seat.command()
        {
            tokio::time::sleep(seat.refusal_delay()).await;
            self.fail(&Failure::new(
                Some("SYS/TEMP"),
                "Too many commands per minute; slow down",
            ));
            return Flow::Continue;
        }
        let result = match command {
            Command::Capa => {
                self.capa();
                Ok(())
            }
            Command::Noop if in_transaction => {
                self.ok("");
                Ok(())
            }
            Command::Quit => return self.quit().await,
            Command::Stls if !in_transaction => return self.stls(),
            Command::User(name) if !in_transaction => self.user(name),
            Command::Pass(password) if !in_transaction => {
                let r = self.pass(password).await;
                if self.auth_failures >= self.service.config.max_auth_failures {
                    if let Err(f) = &r {
                        self.fail(f);
                    }
                    return Flow::Close;
                }
                r
            }
            Command::Auth { mechanism, initial } if !in_transaction => {
                let r = self.auth(mechanism, initial, stream).await;
                if self.auth_failures >= self.service.config.max_auth_failures {
                    if let Err(f) = &r {
                        self.fail(f);
                    }
                    return Flow::Close;
                }
                r
            }
            Command::Apop { .. } if !in_transaction => Err(Failure::plain(
                "APOP is not supported; use USER/PASS or AUTH PLAIN over TLS",
            )),
            Command::Stat if in_transaction => self.stat(),
            Command::List(n) if in_transaction => self.list(n),
            Command::Uidl(n) if in_transaction => self.uidl(n),
            Command::Retr(n) if in_transaction => self.retr(n, None).await,
            Command::Top { msg, lines } if in_transaction => self.retr(msg, Some(lines)).await,
            Command::Dele(n) if in_transaction => self.dele(n),
            Command::Rset if in_transaction => self.rset(),
            _ => {
                return match self.protocol_error(if in_transaction {
                    "Command not valid after login"
                } else {
                    "Log in first (USER/PASS or AUTH)"
                }) {
                    Some(flow) => flow,
                    None => Flow::Continue,
                };
            }
        };
        if let Err(failure) = result {
            self.fail(&failure);
        }
        Flow::Continue
    }

    /// CAPA (RFC 2449 §5): what this state and connection allow.
    fn capa(&mut self) {
        let mut caps: Vec<String> = vec!["TOP".into(), "UIDL".into()];
        if !matches!(self.state, State::Transaction(_)) {
            if self.plaintext_ok() {
                caps.push("USER".into());
                caps.push("SASL PLAIN".into());
            }
            if !self.tls && self.service.tls.is_some() {
                caps.push("STLS".into());
            }
        }
        caps.extend(
            ["RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"]
                .iter()
                .map(|s| s.to_string()),
        );
        caps.push(if self.service.config.expire_now() {
            "EXPIRE 0".into()
        } else {
            "EXPIRE NEVER".into()
        });
        if self.service.config.login_delay_secs > 0 {
            caps.push(format!(
                "LOGIN-DELAY {}",
                self.service.config.login_delay_secs
            ));
        }
        caps.push("IMPLEMENTATION Yubin".into());
        self.out
            .extend_from_slice(b"+OK Capability list follows\r\n");
        for cap in caps {
            self.out.extend_from_slice(cap.as_bytes());
            self.out.extend_from_slice(b"\r\n");
        }
        self.out.extend_from_slice(b".\r\n");
    }

    fn stls(&mut self) -> Flow {
        if self.tls {
            self.fail(&Failure::plain("TLS is already active"));
            Flow::Continue
        } else if self.service.tls.is_none() {
            self.fail(&Failure::plain("TLS is not available"));
            Flow::Continue
        } else {
            // RFC 2595 §4: a name sent before STLS is forgotten, so it is sent again protected.
            self.state = State::Authorization { user: None };
            self.ok("Begin TLS negotiation");
            Flow::StartTls
        }
    }

    /// Whether plain-text credentials may be sent on this connection.
    pub(crate) fn plaintext_ok(&self) -> bool {
        self.tls
            || self.service.config.allow_plaintext_auth
            || (self.service.config.loopback_is_secure && self.peer.ip().is_loopback())
    }

    /// Queues `+OK text`.
    pub(crate) fn ok(&mut self, text: &str) {
        yubin_proto::pop3::response::ok(&mut self.out, text);
    }

    /// Queues `-ERR [code] text`.
    pub(crate) fn fail(&mut self, failure: &Failure) {
        yubin_proto::pop3::response::err(&mut self.out, failure.code, &failure.text);
    }

    /// Writes pending output; false if the client is gone.
    pub(crate) async fn flush(&mut self, stream: &mut Stream) -> bool {
        match self.body.take() {
            Some((body, tail)) => stream::write_out_with(stream, &mut self.out, &body, tail).await,
            None => stream::write_out(stream, &mut self.out).await,
        }
    }

    /// Reads more input, ending early on shutdown or the state's timeout.
    pub(crate) async fn fill(&mut self, stream: &mut Stream) -> Input {
        if self.rbuf.capacity() - self.rbuf.len() < 512 {
            self.rbuf.reserve(4096);
        }
        let secs = match self.state {
            State::Authorization { .. } => self.service.config.login_timeout_secs,
            State::Transaction(_) => self.service.config.idle_timeout_secs,
        };
        let mut shutdown = self.shutdown.clone();
        tokio::select! {
            read = tokio::time::timeout(Duration::from_secs(secs), stream.read_buf(&mut self.rbuf)) => match read {
                Ok(Ok(0)) | Ok(Err(_)) => Input::Closed,
                Ok(Ok(_)) => Input::Data,
                Err(_) => Input::TimedOut,
            },
            () = shutdown.wait() => Input::ShuttingDown,
        }
    }

    /// Reads one line of at most `max` octets (a SASL response); `None` if the connection
    /// ended, timed out, the line was too long or the server is shutting down.
    pub(crate) async fn read_line(&mut self, stream: &mut Stream, max: usize) -> Option<BytesMut> {
        loop {
            match next_line(&mut self.rbuf, max) {
                Some(Ok(line)) => return Some(line),
                Some(Err(LineError::TooLong)) => {
                    // Drop what has arrived of it; the rest, if any, reads as a bad command.
                    if !discard_line(&mut self.rbuf) {
                        self.rbuf.clear();
                    }
                    return None;
                }
                None => {}
            }
            if !self.flush(stream).await {
                return None;
            }
            match self.fill(stream).await {
                Input::Data => {}
                _ => return None,
            }
        }
    }

    /// Runs a store read under the configured deadline: off the async workers, unless it is
    /// `small` and the store answers quickly (`MailStore::reads_fast`), when the hop to the
    /// blocking pool would cost more than the read.
    pub(crate) async fn store_call<T: Send + 'static>(
        &self,
        small: bool,
        f: impl FnOnce(&yubin_store::MailStore) -> yubin_store::Result<T> + Send + 'static,
    ) -> Result<T, Failure> {
        let store = self.service.store.clone();
        if small && store.reads_fast() {
            return f(&store).map_err(Failure::from);
        }
        let deadline = Duration::from_millis(self.service.config.store_timeout_ms);
        let task = tokio::task::spawn_blocking(move || f(&store));
        match tokio::time::timeout(deadline, task).await {
            Ok(Ok(Ok(v))) => Ok(v),
            Ok(Ok(Err(e))) => Err(e.into()),
            Ok(Err(_)) => Err(Failure::new(
                Some("SYS/TEMP"),
                "Internal error, see the server log",
            )),
            Err(_) => {
                tracing::warn!(peer = %self.peer, "POP3 store read past its deadline");
                Err(Failure::busy())
            }
        }
    }
}
