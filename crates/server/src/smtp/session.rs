//! The SMTP/LMTP session state machine: one per connection.
//!
//! Input is framed by `yubin_proto::smtp::line::LineFramer` (bounded lines) and parsed by
//! `parse_command`; message data goes through `DataDecoder` (DATA) or is counted off the buffer
//! (BDAT). Replies to pipelined commands are collected and written before the next read
//! (RFC 2920), so a pipelining client gets them in one packet.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use smtp_proto::Request;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use yubin_proto::Address;
use yubin_proto::smtp::command::parse_command;
use yubin_proto::smtp::data::{DataDecoder, DataProgress};
use yubin_proto::smtp::line::{LineError, LineFramer};
use yubin_proto::smtp::reply::Reply;
use yubin_store::{AccountInfo, Delivery, Resolution, Resolved};

use super::errors::reply_for;
use super::inbound::Decision;
use super::sasl::{self, Exchange, Step};
use super::submission::{self, headers, limits::Exceeded};
use super::trace::{TraceInfo, queue_id, unix_now, with_trace_headers, without_own_auth_results};
use super::{Mode, Service};
use crate::auth::Login as Checked;
use crate::limits::{AccountSession, SessionRefused};
use crate::net::{Shutdown, telemetry};

/// Read buffer kept by an idle session; a larger one left by a big message is released.
const IDLE_BUFFER: usize = 4096;

/// Serves one connection: greeting, commands, optional STARTTLS, until QUIT or close.
pub(crate) async fn serve(
    service: Arc<Service>,
    mut stream: TcpStream,
    peer: SocketAddr,
    shutdown: Shutdown,
    implicit_tls: bool,
) {
    let Ok(_permit) = service.connections.clone().try_acquire_owned() else {
        telemetry::rejected(service.mode.label(), "connections");
        if implicit_tls {
            // A TLS client could not read a clear-text reply.
            return;
        }
        let _ = stream
            .write_all(
                &Reply::new(421, "4.7.0", "Too many connections, try again later").to_bytes(),
            )
            .await;
        return;
    };
    // LMTP comes from the trusted MTA in front, which opens as many connections as it needs.
    let ip_slot = match service.mode {
        Mode::Lmtp => None,
        _ => Some(service.limits.connect(service.mode.label(), peer.ip())),
    };
    if let Some(None) = ip_slot {
        if !implicit_tls {
            let _ = stream
                .write_all(
                    &Reply::new(421, "4.7.0", "Too many connections from your address").to_bytes(),
                )
                .await;
        }
        return;
    }
    let _open = telemetry::Connection::open(service.mode.label());
    let deadline = Instant::now() + Duration::from_secs(service.config.session_timeout_secs);
    if implicit_tls {
        // RFC 8314 §3.3: TLS first, then the greeting.
        let Some(acceptor) = service.tls.clone() else {
            return;
        };
        let Some(mut tls) = crate::net::stream::handshake(&acceptor, stream, peer).await else {
            return;
        };
        if service.store.is_slow() {
            refuse_busy(&service, &mut tls).await;
            return;
        }
        let mut conn = Conn::new(service.clone(), peer, shutdown, deadline);
        conn.push(conn.greeting());
        let _ = conn.run(tls, true).await;
        return;
    }
    if service.store.is_slow() {
        refuse_busy(&service, &mut stream).await;
        return;
    }
    let mut conn = Conn::new(service.clone(), peer, shutdown, deadline);
    conn.push(conn.greeting());
    let stream = match conn.run(stream, false).await {
        Next::StartTls(stream) => stream,
        Next::Close => return,
    };
    let Some(acceptor) = service.tls.clone() else {
        return;
    };
    if let Some(tls) = crate::net::stream::handshake(&acceptor, stream, peer).await {
        conn.restart_after_tls();
        let _ = conn.run(tls, true).await;
    }
}

/// 421 at connect while the store is slow: the client retries later instead of starting a
/// transaction that would pile up behind the store (RFC 5321 §3.8 allows 421 as the greeting).
async fn refuse_busy<S: AsyncWrite + Unpin>(service: &Service, stream: &mut S) {
    telemetry::rejected(service.mode.label(), "store_slow");
    let _ = stream
        .write_all(&Reply::new(421, "4.3.0", "Storage is busy, try again later").to_bytes())
        .await;
    let _ = stream.shutdown().await;
}

/// How the command loop ended.
enum Next<S> {
    Close,
    StartTls(S),
}

/// What the client said about itself.
struct Greeting {
    helo: String,
    extended: bool,
}

/// An open mail transaction.
struct Envelope {
    /// When MAIL was accepted: the transaction's start for its duration metric.
    started: std::time::Instant,
    mail_from: String,
    size_hint: usize,
    /// The largest message this transaction takes: the session's, lowered by each recipient
    /// tenant's `max_message_size`.
    max_size: usize,
    /// Recipient tenants whose inbound budget this message has been taken from.
    tenants: Vec<String>,
    recipients: Vec<(String, Resolution)>,
    /// Message bytes received so far with BDAT, and whether they overflowed the size limit.
    chunks: Option<(Vec<u8>, bool)>,
}

/// Session state; each variant carries only what is valid in it.
enum State {
    Connected,
    Greeted(Greeting),
    Mail(Greeting, Envelope),
}

/// What a command asks the loop to do beyond writing its reply.
enum Action {
    Continue,
    Data,
    Bdat {
        size: usize,
        last: bool,
    },
    StartTls,
    Quit,
    /// Close after writing the replies (too many failed logins).
    Close,
}

/// How a wait for input ended.
enum Input {
    Data,
    Closed,
    TimedOut,
    ShuttingDown,
}

struct Conn {
    service: Arc<Service>,
    peer: SocketAddr,
    shutdown: Shutdown,
    deadline: Instant,
    state: State,
    tls: bool,
    /// The account that authenticated (submission).
    user: Option<AccountInfo>,
    /// Its place in its session limits and its command budget.
    seat: Option<AccountSession>,
    /// An AUTH exchange waiting for the client's next line.
    sasl: Option<Exchange>,
    auth_failures: usize,
    rbuf: BytesMut,
    wbuf: Vec<u8>,
    framer: LineFramer,
    commands: usize,
    errors: usize,
}

impl Conn {
    fn new(service: Arc<Service>, peer: SocketAddr, shutdown: Shutdown, deadline: Instant) -> Self {
        let framer = LineFramer::new(service.config.max_line_length);
        Self {
            service,
            peer,
            shutdown,
            deadline,
            state: State::Connected,
            tls: false,
            user: None,
            seat: None,
            sasl: None,
            auth_failures: 0,
            rbuf: BytesMut::with_capacity(IDLE_BUFFER),
            wbuf: Vec::with_capacity(512),
            framer,
            commands: 0,
            errors: 0,
        }
    }

    /// RFC 3207 §4.2: after TLS starts, forget everything learnt before it, including any bytes
    /// the client pipelined after STARTTLS (they could have been injected in clear text).
    fn restart_after_tls(&mut self) {
        self.state = State::Connected;
        self.tls = true;
        self.user = None;
        self.seat = None;
        self.sasl = None;
        self.rbuf.clear();
        self.framer = LineFramer::new(self.service.config.max_line_length);
    }

    fn greeting(&self) -> Reply {
        let code = if self.shutdown.is_shutting_down() {
            421
        } else {
            220
        };
        let protocol = if self.service.mode == Mode::Lmtp {
            "LMTP"
        } else {
            "ESMTP"
        };
        Reply::plain(code, format!("{} {protocol} Yubin", self.service.hostname))
    }

    fn push(&mut self, reply: Reply) {
        reply.write_to(&mut self.wbuf);
    }

    fn error(&mut self, reply: Reply) {
        self.errors += 1;
        self.push(reply);
    }

    async fn flush<S: AsyncWrite + Unpin>(&mut self, stream: &mut S) -> bool {
        if self.wbuf.is_empty() {
            return true;
        }
        let timeout = Duration::from_secs(self.service.config.command_timeout_secs);
        let ok = matches!(
            tokio::time::timeout(timeout, stream.write_all(&self.wbuf)).await,
            Ok(Ok(()))
        );
        self.wbuf.clear();
        ok
    }

    /// Reads more input. Between commands (`idle`) a shutdown ends the wait; inside a
    /// transaction only the end of the grace period does.
    async fn fill<S: AsyncRead + Unpin>(
        &mut self,
        stream: &mut S,
        timeout: Duration,
        idle: bool,
    ) -> Input {
        if self.rbuf.capacity() - self.rbuf.len() < 1024 {
            self.rbuf.reserve(8192);
        }
        let until = (Instant::now() + timeout).min(self.deadline);
        let mut shutdown = self.shutdown.clone();
        let stop = async move {
            if idle {
                shutdown.wait().await;
            } else {
                shutdown.wait_forced().await;
            }
        };
        tokio::select! {
            read = tokio::time::timeout_at(until, stream.read_buf(&mut self.rbuf)) => match read {
                Ok(Ok(0)) | Ok(Err(_)) => Input::Closed,
                Ok(Ok(_)) => Input::Data,
                Err(_) => Input::TimedOut,
            },
            () = stop => Input::ShuttingDown,
        }
    }

    async fn run<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        mut stream: S,
        tls: bool,
    ) -> Next<S> {
        self.tls = tls;
        let command_timeout = Duration::from_secs(self.service.config.command_timeout_secs);
        loop {
            while let Some(line) = self.framer.next_line(&mut self.rbuf) {
                let action = match line {
                    Err(LineError::TooLong) => {
                        self.error(Reply::new(500, "5.5.2", "Line too long"));
                        Action::Continue
                    }
                    Ok(line) if self.sasl.is_some() => self.sasl_line(&line).await,
                    Ok(line) => {
                        self.commands += 1;
                        if self.commands > self.service.config.max_commands {
                            self.push(Reply::new(
                                421,
                                "4.7.0",
                                "Too many commands, closing connection",
                            ));
                            let _ = self.flush(&mut stream).await;
                            return Next::Close;
                        }
                        match parse_command(&line) {
                            Ok(request) if !self.command_allowed(&request) => {
                                let delay = self.seat.as_ref().map(|s| s.refusal_delay());
                                tokio::time::sleep(delay.unwrap_or_default()).await;
                                self.push(Reply::new(
                                    451,
                                    "4.7.1",
                                    "Too many commands per minute; slow down",
                                ));
                                Action::Continue
                            }
                            Ok(request) => {
                                let started = std::time::Instant::now();
                                let action = self.command(request).await;
                                telemetry::command(self.service.mode.label(), started);
                                action
                            }
                            Err(reply) => {
                                self.error(reply);
                                Action::Continue
                            }
                        }
                    }
                };
                if self.errors >= self.service.config.max_errors {
                    self.push(Reply::new(
                        421,
                        "4.7.0",
                        "Too many errors, closing connection",
                    ));
                    let _ = self.flush(&mut stream).await;
                    return Next::Close;
                }
                match action {
                    Action::Continue => {}
                    Action::Close => {
                        let _ = self.flush(&mut stream).await;
                        return Next::Close;
                    }
                    Action::Quit => {
                        let _ = self.flush(&mut stream).await;
                        let _ = stream.shutdown().await;
                        return Next::Close;
                    }
                    Action::StartTls => {
                        if !self.flush(&mut stream).await {
                            return Next::Close;
                        }
                        return Next::StartTls(stream);
                    }
                    Action::Data => {
                        if !self.receive_data(&mut stream).await {
                            return Next::Close;
                        }
                    }
                    Action::Bdat { size, last } => {
                        if !self.receive_chunk(&mut stream, size, last).await {
                            return Next::Close;
                        }
                    }
                }
            }
            if !self.flush(&mut stream).await {
                return Next::Close;
            }
            if self.rbuf.is_empty() && self.rbuf.capacity() > 64 * 1024 {
                self.rbuf = BytesMut::with_capacity(IDLE_BUFFER);
            }
            match self.fill(&mut stream, command_timeout, true).await {
                Input::Data => {}
                Input::Closed => return Next::Close,
                Input::TimedOut => {
                    self.push(Reply::new(421, "4.4.2", "Timeout, closing connection"));
                    let _ = self.flush(&mut stream).await;
                    return Next::Close;
                }
                Input::ShuttingDown => {
                    self.push(Reply::new(
                        421,
                        "4.3.2",
                        "Service shutting down, try again later",
                    ));
                    let _ = self.flush(&mut stream).await;
                    return Next::Close;
                }
            }
        }
    }

    fn greeted(&mut self, helo: String, extended: bool) {
        self.state = State::Greeted(Greeting { helo, extended });
    }

    async fn command(&mut self, request: Request<String>) -> Action {
        let lmtp = self.service.mode == Mode::Lmtp;
        match request {
            Request::Ehlo { host } | Request::Helo { host } if lmtp => {
                let _ = host;
                self.error(Reply::new(500, "5.5.1", "This is LMTP: use LHLO"));
            }
            Request::Lhlo { .. } if !lmtp => {
                self.error(Reply::new(500, "5.5.1", "This is SMTP: use EHLO"));
            }
            Request::Ehlo { host } | Request::Lhlo { host } => {
                let reply = self.ehlo_reply();
                self.greeted(host, true);
                self.push(reply);
            }
            Request::Helo { host } => {
                self.greeted(host, false);
                self.push(Reply::plain(250, self.service.hostname.clone()));
            }
            Request::Mail { from } => self.mail(from.address, from.size),
            Request::Rcpt { to } => self.rcpt(to.address).await,
            Request::Data => return self.data_command(),
            Request::Bdat {
                chunk_size,
                is_last,
            } => {
                return Action::Bdat {
                    size: chunk_size,
                    last: is_last,
                };
            }
            Request::Rset => {
                // RFC 5321 §4.1.1.5: RSET ends a transaction and keeps the EHLO.
                if matches!(self.state, State::Mail(..))
                    && let State::Mail(greeting, _) =
                        std::mem::replace(&mut self.state, State::Connected)
                {
                    self.state = State::Greeted(greeting);
                }
                self.push(Reply::new(250, "2.0.0", "Ok"));
            }
            Request::Noop { .. } => self.push(Reply::new(250, "2.0.0", "Ok")),
            Request::Vrfy { .. } => self.push(Reply::new(
                252,
                "2.5.0",
                "Cannot VRFY user, but will accept message and attempt delivery",
            )),
            Request::Help { .. } => self.push(Reply::new(
                214,
                "2.0.0",
                "See RFC 5321 (https://www.rfc-editor.org/rfc/rfc5321)",
            )),
            Request::Quit => {
                self.push(Reply::new(221, "2.0.0", "Bye"));
                return Action::Quit;
            }
            Request::StartTls => {
                if self.tls {
                    self.error(Reply::new(503, "5.5.1", "TLS already active"));
                } else if self.service.tls.is_none() {
                    self.error(Reply::new(454, "4.7.0", "TLS not available"));
                } else {
                    self.push(Reply::new(220, "2.0.0", "Ready to start TLS"));
                    return Action::StartTls;
                }
            }
            Request::Auth {
                mechanism,
                initial_response,
            } if self.service.mode == Mode::Submission => {
                return self.auth(mechanism, &initial_response).await;
            }
            Request::Auth { .. } => {
                self.error(Reply::new(
                    503,
                    "5.5.1",
                    "Authentication is not offered on this port",
                ));
            }
            Request::Expn { .. }
            | Request::Etrn { .. }
            | Request::Atrn { .. }
            | Request::Burl { .. } => {
                self.error(Reply::new(502, "5.5.1", "Command not implemented"));
            }
        }
        Action::Continue
    }

    fn ehlo_reply(&self) -> Reply {
        let mut lines = vec![
            self.service.hostname.clone(),
            "PIPELINING".to_string(),
            format!("SIZE {}", self.service.config.max_message_size),
            "8BITMIME".to_string(),
            "SMTPUTF8".to_string(),
            "ENHANCEDSTATUSCODES".to_string(),
        ];
        if !self.tls && self.service.tls.is_some() {
            lines.push("STARTTLS".to_string());
        }
        if self.service.mode == Mode::Submission && self.auth_allowed() && self.user.is_none() {
            lines.push("AUTH PLAIN LOGIN".to_string());
        }
        lines.push("CHUNKING".to_string());
        lines.push("DSN".to_string());
        Reply::multi(250, lines)
    }

    fn mail(&mut self, address: String, size: usize) {
        let greeting = match std::mem::replace(&mut self.state, State::Connected) {
            State::Greeted(g) => g,
            other => {
                let nested = matches!(other, State::Mail(..));
                self.state = other;
                let text = if nested {
                    "Nested MAIL command"
                } else if self.service.mode == Mode::Lmtp {
                    "Send LHLO first"
                } else {
                    "Send EHLO or HELO first"
                };
                self.error(Reply::new(503, "5.5.1", text));
                return;
            }
        };
        if let Some(reply) = self.needs_auth() {
            self.state = State::Greeted(greeting);
            self.error(reply);
            return;
        }
        if self.service.store.is_slow() {
            // Not a client error: it must not count towards max_errors.
            self.state = State::Greeted(greeting);
            telemetry::rejected(self.service.mode.label(), "store_slow");
            self.push(Reply::new(451, "4.3.0", "Storage is busy, try again later"));
            return;
        }
        let max_size = self.max_message_size();
        if size > max_size {
            self.state = State::Greeted(greeting);
            self.error(Reply::new(
                552,
                "5.3.4",
                "Message size exceeds fixed maximum message size",
            ));
            return;
        }
        let mail_from = if address.is_empty() {
            String::new()
        } else {
            match Address::parse(&address) {
                Ok(a) => a.to_string(),
                Err(e) => {
                    self.state = State::Greeted(greeting);
                    self.error(Reply::new(
                        501,
                        "5.1.7",
                        format!("Bad sender address syntax: {e}"),
                    ));
                    return;
                }
            }
        };
        if let Some((reply, counts)) = self.sender_refused(&mail_from) {
            self.state = State::Greeted(greeting);
            if counts {
                self.error(reply);
            } else {
                self.push(reply);
            }
            return;
        }
        if self.service.mode == Mode::Mx
            && !self.service.limits.inbound_from_ip("smtp", self.peer.ip())
        {
            self.state = State::Greeted(greeting);
            self.push(Reply::new(
                451,
                "4.7.1",
                "Too many messages from your address in the last hour; try again later",
            ));
            return;
        }
        self.state = State::Mail(
            greeting,
            Envelope {
                started: std::time::Instant::now(),
                mail_from,
                size_hint: size,
                max_size,
                tenants: Vec::new(),
                recipients: Vec::new(),
                chunks: None,
            },
        );
        self.push(Reply::new(250, "2.1.0", "Ok"));
    }

    async fn rcpt(&mut self, address: String) {
        let max = self.service.config.max_recipients;
        let State::Mail(_, envelope) = &self.state else {
            self.error(Reply::new(503, "5.5.1", "Need MAIL before RCPT"));
            return;
        };
        if envelope.recipients.len() >= max {
            self.push(Reply::new(452, "4.5.3", "Too many recipients"));
            return;
        }
        let size_hint = envelope.size_hint as u64;
        if address.is_empty() {
            // RFC 5321 §4.5.1: "Postmaster" without a domain must be accepted.
            return self.rcpt_postmaster(size_hint);
        }
        let parsed = match Address::parse(&address) {
            Ok(a) => a,
            Err(e) => {
                self.error(Reply::new(
                    501,
                    "5.1.3",
                    format!("Bad recipient address syntax: {e}"),
                ));
                return;
            }
        };
        if self.service.store.is_slow() {
            telemetry::rejected(self.service.mode.label(), "store_slow");
            self.push(Reply::new(451, "4.3.0", "Storage is busy, try again later"));
            return;
        }
        let submission = self.service.mode == Mode::Submission;
        // Off the async workers: on a slow disk a lookup blocks its thread, and a blocked
        // worker would hold up every other session's replies with it.
        let (store, lookup) = (self.service.store.clone(), parsed.clone());
        let resolved = tokio::task::spawn_blocking(move || store.resolve(&lookup, size_hint))
            .await
            .unwrap_or_else(|e| {
                Err(yubin_store::Error::new(
                    yubin_store::ErrorKind::Internal,
                    format!("recipient lookup task: {e}"),
                ))
            });
        let resolved = match resolved {
            // An authenticated sender relays: the recipient goes to the outbound queue.
            Ok(Resolved::NotLocal) if submission => Ok(Resolved::Accept(Resolution {
                local: Vec::new(),
                remote: vec![parsed.to_string()],
            })),
            other => other,
        };
        let reply = match resolved {
            Ok(Resolved::Accept(resolution)) => {
                if let Some(reply) = self.recipient_over_limit() {
                    self.push(reply);
                    return;
                }
                if !resolution.local.is_empty()
                    && let Some(reply) = self.tenant_refuses(&parsed)
                {
                    if reply.code == 451 {
                        tokio::time::sleep(self.service.limits.refusal_delay()).await;
                    }
                    self.push(reply);
                    return;
                }
                if let State::Mail(_, envelope) = &mut self.state {
                    envelope.recipients.push((parsed.to_string(), resolution));
                }
                Reply::new(250, "2.1.5", "Ok")
            }
            Ok(Resolved::NotLocal) => Reply::new(550, "5.7.1", "Relaying denied"),
            Ok(Resolved::NoSuchUser) => Reply::new(
                550,
                "5.1.1",
                format!("<{parsed}>: Recipient address rejected: User unknown"),
            ),
            Ok(Resolved::Disabled) => {
                Reply::new(550, "5.2.1", format!("<{parsed}>: Mailbox disabled"))
            }
            Ok(Resolved::OverQuota) => {
                Reply::new(452, "4.2.2", format!("<{parsed}>: Mailbox full"))
            }
            Err(e) => reply_for(&e),
        };
        self.push(reply);
    }

    /// Delivers bare `<Postmaster>` to the postmaster of the first hosted domain that has one.
    fn rcpt_postmaster(&mut self, size_hint: u64) {
        let domains = self.service.store.list_domains().unwrap_or_default();
        for domain in domains {
            let Ok(address) = Address::parse(&format!("postmaster@{domain}")) else {
                continue;
            };
            if let Ok(Resolved::Accept(resolution)) =
                self.service.store.resolve(&address, size_hint)
            {
                if let State::Mail(_, envelope) = &mut self.state {
                    envelope.recipients.push((address.to_string(), resolution));
                }
                self.push(Reply::new(250, "2.1.5", "Ok"));
                return;
            }
        }
        self.push(Reply::new(
            550,
            "5.1.1",
            "<Postmaster>: no postmaster address is configured",
        ));
    }

    fn data_command(&mut self) -> Action {
        match &self.state {
            State::Mail(_, env) if env.chunks.is_some() => {
                self.error(Reply::new(503, "5.5.1", "DATA not allowed after BDAT"));
                Action::Continue
            }
            State::Mail(_, env) if !env.recipients.is_empty() => {
                self.push(Reply::plain(354, "End data with <CR><LF>.<CR><LF>"));
                Action::Data
            }
            State::Mail(..) => {
                self.error(Reply::new(554, "5.5.1", "No valid recipients"));
                Action::Continue
            }
            _ => {
                self.error(Reply::new(503, "5.5.1", "Need MAIL and RCPT before DATA"));
                Action::Continue
            }
        }
    }

    /// Waits for more message data (DATA or BDAT). On a timeout, or when the shutdown grace
    /// period ends, says goodbye with 421; nothing was acknowledged, so the client keeps the
    /// message and retries. Returns false when the connection is over.
    async fn fill_data<S: AsyncRead + AsyncWrite + Unpin>(&mut self, stream: &mut S) -> bool {
        let data_timeout = Duration::from_secs(self.service.config.data_timeout_secs);
        let goodbye = match self.fill(stream, data_timeout, false).await {
            Input::Data => return true,
            Input::Closed => return false,
            Input::TimedOut => {
                Reply::new(421, "4.4.2", "Timeout waiting for data, closing connection")
            }
            Input::ShuttingDown => {
                Reply::new(421, "4.3.2", "Service shutting down, transaction aborted")
            }
        };
        self.push(goodbye);
        let _ = self.flush(stream).await;
        false
    }

    /// Receives a DATA block and delivers it. Returns false when the connection is gone.
    async fn receive_data<S: AsyncRead + AsyncWrite + Unpin>(&mut self, stream: &mut S) -> bool {
        if !self.flush(stream).await {
            return false;
        }
        let mut decoder = DataDecoder::new(self.envelope_max());
        let mut body = Vec::new();
        let too_big = loop {
            match decoder.decode(&mut self.rbuf, &mut body) {
                DataProgress::Done { too_big } => break too_big,
                DataProgress::NeedMore => {
                    if !self.fill_data(stream).await {
                        return false;
                    }
                }
            }
        };
        self.finish_message(body, too_big).await;
        true
    }

    /// Receives one BDAT chunk (RFC 3030). Returns false when the connection is gone.
    async fn receive_chunk<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        size: usize,
        last: bool,
    ) -> bool {
        let max = self.envelope_max();
        let accepting = matches!(&self.state, State::Mail(_, env) if !env.recipients.is_empty());
        let mut remaining = size;
        let mut chunk = Vec::new();
        let mut overflow = false;
        let already = match &self.state {
            State::Mail(_, env) => env.chunks.as_ref().map_or(0, |c| c.0.len()),
            _ => 0,
        };
        // The chunk's bytes are consumed even when the command is refused, to stay in sync.
        while remaining > 0 {
            if self.rbuf.is_empty() && !self.fill_data(stream).await {
                return false;
            }
            let take = remaining.min(self.rbuf.len());
            let bytes = self.rbuf.split_to(take);
            if accepting && already + chunk.len() + take <= max {
                chunk.extend_from_slice(&bytes);
            } else {
                overflow = true;
            }
            remaining -= take;
        }
        if !accepting {
            let reply = if matches!(self.state, State::Mail(..)) {
                Reply::new(554, "5.5.1", "No valid recipients")
            } else {
                Reply::new(503, "5.5.1", "Need MAIL and RCPT before BDAT")
            };
            self.error(reply);
            return true;
        }
        let State::Mail(_, env) = &mut self.state else {
            return true;
        };
        let (buffer, too_big) = env.chunks.get_or_insert_with(|| (Vec::new(), false));
        *too_big |= overflow;
        if !*too_big {
            buffer.extend_from_slice(&chunk);
        }
        if last {
            let (body, too_big) = env.chunks.take().unwrap_or_default();
            self.finish_message(body, too_big).await;
        } else {
            self.push(Reply::new(250, "2.0.0", format!("{size} octets received")));
        }
        true
    }

    /// Ends the transaction: rejects an oversized message or stores it, and replies (once for
    /// SMTP, once per recipient for LMTP).
    async fn finish_message(&mut self, body: Vec<u8>, too_big: bool) {
        let State::Mail(greeting, envelope) = std::mem::replace(&mut self.state, State::Connected)
        else {
            return;
        };
        let count = envelope.recipients.len();
        let started = envelope.started;
        let lmtp = self.service.mode == Mode::Lmtp;
        let replies = if too_big {
            vec![
                Reply::new(
                    552,
                    "5.3.4",
                    "Message size exceeds fixed maximum message size"
                );
                if lmtp { count } else { 1 }
            ]
        } else {
            self.deliver(&greeting, envelope, body).await
        };
        self.state = State::Greeted(greeting);
        let accepted = replies.iter().any(|r| r.code == 250);
        telemetry::smtp_transaction(self.service.mode.label(), started, accepted);
        for reply in replies {
            self.push(reply);
        }
    }

    async fn deliver(
        &self,
        greeting: &Greeting,
        envelope: Envelope,
        mut body: Vec<u8>,
    ) -> Vec<Reply> {
        let lmtp = self.service.mode == Mode::Lmtp;
        let id = queue_id();
        // RFC 3848
        let protocol = match (self.service.mode, greeting.extended, self.tls) {
            (Mode::Lmtp, _, false) => "LMTP",
            (Mode::Lmtp, _, true) => "LMTPS",
            (Mode::Submission, _, false) => "ESMTPA",
            (Mode::Submission, _, true) => "ESMTPSA",
            (Mode::Mx, false, _) => "SMTP",
            (Mode::Mx, true, false) => "ESMTP",
            (Mode::Mx, true, true) => "ESMTPS",
        };
        if self.service.mode == Mode::Submission {
            match self.submitted_message(&id, body) {
                Ok(fixed) => body = fixed,
                Err(reply) => return vec![reply],
            }
        }
        if let (Mode::Mx, Some(checks)) = (self.service.mode, &self.service.inbound) {
            let hostname = &self.service.hostname;
            let clean = without_own_auth_results(&body, hostname);
            let domains = recipient_domains(&envelope.recipients);
            let decision = checks
                .decide(
                    self.peer.ip(),
                    &greeting.helo,
                    &envelope.mail_from,
                    hostname,
                    &clean,
                    &domains,
                )
                .await;
            match decision {
                Decision::Reject(domain) => {
                    telemetry::rejected("smtp", "dmarc");
                    return vec![Reply::new(
                        550,
                        "5.7.1",
                        format!("Message rejected by the DMARC policy of {domain}"),
                    )];
                }
                Decision::Accept(mut field) => {
                    field.extend_from_slice(&clean);
                    body = field;
                }
            }
        }
        let single = (envelope.recipients.len() == 1).then(|| envelope.recipients[0].0.as_str());
        let message = with_trace_headers(
            &TraceInfo {
                helo: &greeting.helo,
                peer: self.peer,
                hostname: &self.service.hostname,
                protocol,
                id: &id,
                single_recipient: single,
                mail_from: &envelope.mail_from,
            },
            &body,
        );
        drop(body);
        let addresses: Vec<String> = envelope.recipients.iter().map(|(a, _)| a.clone()).collect();
        let tenants = self.tenants(&envelope.recipients);
        let delivery = Delivery {
            message,
            mail_from: envelope.mail_from,
            recipients: envelope.recipients.into_iter().map(|(_, r)| r).collect(),
        };
        let replies = if lmtp { addresses.len() } else { 1 };
        let tenants: Vec<&str> = tenants.iter().map(String::as_str).collect();
        let store = &self.service.store;
        let admitted = match store.admit(&tenants).await {
            Ok(admitted) => admitted,
            Err(e) => {
                telemetry::rejected(self.service.mode.label(), "store_busy");
                tracing::warn!(id, error = %e, "delivery not admitted");
                return vec![reply_for(&e); replies];
            }
        };
        // Past the deadline the commit may still land; the client retries and, at worst, the
        // message arrives twice (RFC 5321 §6.1 prefers that to losing it).
        let outcome =
            match tokio::time::timeout(store.store_deadline(), store.deliver(delivery)).await {
                Ok(Ok(outcome)) => outcome,
                Ok(Err(e)) => {
                    let reply = reply_for(&e);
                    tracing::warn!(id, error = %e, "delivery failed");
                    return vec![reply; replies];
                }
                Err(_) => {
                    telemetry::rejected(self.service.mode.label(), "store_deadline");
                    tracing::warn!(id, "delivery past the store deadline");
                    let reply = Reply::new(451, "4.3.0", "Storage is slow, try again later");
                    return vec![reply; replies];
                }
            };
        drop(admitted);
        if lmtp {
            return outcome
                .results
                .iter()
                .zip(&addresses)
                .map(|(result, address)| match result {
                    Ok(()) => Reply::new(250, "2.0.0", format!("<{address}> delivered as {id}")),
                    Err(e) => reply_for(e),
                })
                .collect();
        }
        let mut first_error = None;
        for (result, address) in outcome.results.iter().zip(&addresses) {
            if let Err(e) = result {
                // Without an outbound queue yet there is no bounce; the failure is logged.
                tracing::warn!(id, recipient = %address, error = %e, "recipient failed after DATA");
                first_error.get_or_insert(e);
            }
        }
        if outcome.results.iter().any(Result::is_ok) {
            tracing::info!(id, recipients = addresses.len(), "delivered");
            vec![Reply::new(250, "2.0.0", format!("Ok: queued as {id}"))]
        } else {
            vec![first_error.map_or_else(|| Reply::new(451, "4.3.0", "Delivery failed"), reply_for)]
        }
    }

    /// The tenants whose store budgets a delivery uses: the sender's on submission (remote
    /// domains must not get budgets of their own), the recipients' domains otherwise.
    fn tenants(&self, recipients: &[(String, Resolution)]) -> Vec<String> {
        match &self.user {
            Some(user) => user
                .address
                .rsplit_once('@')
                .map(|(_, d)| vec![d.to_string()])
                .unwrap_or_default(),
            None => recipient_domains(recipients),
        }
    }

    /// The largest message the session takes: the account's or tenant's limit after AUTH,
    /// when below the listener's.
    fn max_message_size(&self) -> usize {
        let max = self.service.config.max_message_size;
        self.seat.as_ref().map_or(max, |s| s.max_message_size(max))
    }

    /// The largest message of the open transaction.
    fn envelope_max(&self) -> usize {
        match &self.state {
            State::Mail(_, env) => env.max_size,
            _ => self.max_message_size(),
        }
    }

    /// Whether an authenticated session's command fits its per-minute budget (QUIT always
    /// does).
    fn command_allowed(&self, request: &Request<String>) -> bool {
        match &self.seat {
            Some(seat) if !matches!(request, Request::Quit) => seat.command(),
            _ => true,
        }
    }

    /// MX and LMTP: the reply refusing a local recipient because of its tenant's limits: 552
    /// when the declared size is over its largest message, 451 when its hourly inbound budget
    /// is spent (taken once per tenant and message).
    fn tenant_refuses(&mut self, recipient: &Address) -> Option<Reply> {
        if self.service.mode == Mode::Submission {
            return None;
        }
        let label = self.service.mode.label();
        let tenant = recipient.domain().to_ascii_lowercase();
        let limits = self.service.limits.clone();
        let State::Mail(_, env) = &mut self.state else {
            return None;
        };
        if let Some(max) = limits.tenant_max_message_size(&tenant) {
            let max = usize::try_from(max).unwrap_or(usize::MAX);
            if env.size_hint > max {
                telemetry::rejected_tenant(label, "tenant_message_size", &tenant);
                return Some(Reply::new(
                    552,
                    "5.3.4",
                    format!("<{recipient}>: Message too big for this recipient"),
                ));
            }
            env.max_size = env.max_size.min(max);
        }
        if env.tenants.contains(&tenant) {
            return None;
        }
        if !limits.inbound_for_tenant(label, &tenant) {
            return Some(Reply::new(
                451,
                "4.7.1",
                format!(
                    "<{recipient}>: Too many messages for {tenant} in the last hour; try again later"
                ),
            ));
        }
        env.tenants.push(tenant);
        None
    }

    /// Submission: AUTH must come first.
    fn needs_auth(&self) -> Option<Reply> {
        (self.service.mode == Mode::Submission && self.user.is_none())
            .then(|| Reply::new(530, "5.7.0", "Authentication required"))
    }

    /// Submission: the reply refusing `mail_from`, and whether it counts as a protocol error.
    fn sender_refused(&self, mail_from: &str) -> Option<(Reply, bool)> {
        let (Some(user), Some(policy)) = (&self.user, &self.service.submission) else {
            return None;
        };
        match submission::may_send_as(&self.service.store, user, mail_from) {
            Ok(true) => {}
            Ok(false) => {
                return Some((
                    Reply::new(
                        553,
                        "5.7.1",
                        format!(
                            "<{mail_from}>: Sender address not owned by {}",
                            user.address
                        ),
                    ),
                    true,
                ));
            }
            Err(e) => return Some((reply_for(&e), false)),
        }
        let domain = submission::domain_of(&user.address);
        let budget = self.seat.as_ref().map(|s| *s.budget()).unwrap_or_default();
        let hourly = policy.messages(&budget.account, &budget.tenant);
        match policy.limits.message(user.record.id, domain, hourly) {
            Ok(()) => None,
            Err(which) => {
                telemetry::rejected("submission", "send_limit");
                Some((rate_limited(which, "messages"), false))
            }
        }
    }

    /// Submission: 451 when the account or its domain has sent to too many recipients lately.
    fn recipient_over_limit(&self) -> Option<Reply> {
        let (Some(user), Some(policy)) = (&self.user, &self.service.submission) else {
            return None;
        };
        let domain = submission::domain_of(&user.address);
        let budget = self.seat.as_ref().map(|s| *s.budget()).unwrap_or_default();
        let hourly = policy.recipients(&budget.account, &budget.tenant);
        policy
            .limits
            .recipient(user.record.id, domain, hourly)
            .err()
            .map(|which| {
                telemetry::rejected("submission", "send_limit");
                rate_limited(which, "recipients")
            })
    }

    /// Submission: checks From: and adds a missing Date or Message-ID.
    fn submitted_message(&self, id: &str, body: Vec<u8>) -> Result<Vec<u8>, Reply> {
        let (Some(user), Some(policy)) = (&self.user, &self.service.submission) else {
            return Ok(body);
        };
        let facts = headers::facts(&body);
        if policy.config.check_from_header {
            if !facts.has_from || facts.from.is_empty() {
                return Err(Reply::new(550, "5.6.0", "Message has no From: address"));
            }
            for address in &facts.from {
                match submission::may_send_as(&self.service.store, user, address) {
                    Ok(true) => {}
                    Ok(false) => {
                        return Err(Reply::new(
                            553,
                            "5.7.1",
                            format!("From: <{address}> is not owned by {}", user.address),
                        ));
                    }
                    Err(e) => return Err(reply_for(&e)),
                }
            }
        }
        let mut message = headers::missing_fields(&facts, id, &self.service.hostname, unix_now());
        message.extend_from_slice(&body);
        drop(body);
        if let Some(signer) = &policy.dkim {
            let domain = submission::signing_domain(&self.service.store, user, &facts.from);
            let mut signed = signer.sign(&domain, &message);
            if !signed.is_empty() {
                signed.extend_from_slice(&message);
                message = signed;
            }
        }
        Ok(message)
    }

    fn auth_allowed(&self) -> bool {
        self.tls || self.service.config.allow_plaintext_auth
    }

    /// AUTH (RFC 4954 §4).
    async fn auth(&mut self, mechanism: u64, initial: &str) -> Action {
        let refusal = if self.user.is_some() {
            Some(Reply::new(503, "5.5.1", "Already authenticated"))
        } else if matches!(self.state, State::Connected) {
            Some(Reply::new(503, "5.5.1", "Send EHLO first"))
        } else if matches!(self.state, State::Mail(..)) {
            Some(Reply::new(
                503,
                "5.5.1",
                "AUTH is not allowed during a mail transaction",
            ))
        } else if !self.auth_allowed() {
            // RFC 4954 §6
            Some(Reply::new(
                538,
                "5.7.11",
                "Encryption required for requested authentication mechanism: use STARTTLS",
            ))
        } else {
            None
        };
        if let Some(reply) = refusal {
            self.error(reply);
            return Action::Continue;
        }
        self.sasl_step(sasl::start(mechanism, initial)).await
    }

    /// A client line inside an AUTH exchange.
    async fn sasl_line(&mut self, line: &[u8]) -> Action {
        let Some(exchange) = self.sasl.take() else {
            return Action::Continue;
        };
        self.sasl_step(sasl::next(exchange, line)).await
    }

    async fn sasl_step(&mut self, step: Step) -> Action {
        match step {
            Step::Challenge(reply, exchange) => {
                self.sasl = Some(exchange);
                self.push(reply);
                Action::Continue
            }
            Step::Failed(reply) => {
                self.error(reply);
                Action::Continue
            }
            Step::Credentials { user, password } => self.log_in(user, password).await,
        }
    }

    /// A failed AUTH: its reply, then 421 and the end of the connection after
    /// `max_auth_failures`.
    fn auth_failed(&mut self, reply: Reply) -> Action {
        self.auth_failures += 1;
        self.push(reply);
        if self.auth_failures >= self.service.config.max_auth_failures {
            self.push(Reply::new(
                421,
                "4.7.0",
                "Too many failed authentications, closing connection",
            ));
            return Action::Close;
        }
        Action::Continue
    }

    async fn log_in(&mut self, user: String, password: yubin_proto::Secret<String>) -> Action {
        let Some(passwords) = self.service.passwords.clone() else {
            self.push(Reply::new(454, "4.7.0", "Temporary authentication failure"));
            return Action::Continue;
        };
        let service = self.service.clone();
        let floor = Duration::from_millis(service.config.auth_failure_delay_ms);
        let checked = passwords
            .log_in(
                &service.limits.logins,
                "submission",
                self.peer.ip(),
                user.clone(),
                password,
                floor,
            )
            .await;
        match checked {
            Checked::Accepted(info) => {
                let seat = match service.limits.open_session("submission", &info).await {
                    Ok(seat) => seat,
                    Err(which) => {
                        let whose = match which {
                            SessionRefused::Account => "this account",
                            SessionRefused::Tenant => "this domain",
                        };
                        self.push(Reply::new(
                            454,
                            "4.7.0",
                            format!("Too many sessions open for {whose}; try again later"),
                        ));
                        return Action::Continue;
                    }
                };
                tracing::info!(peer = %self.peer, user = %info.address, "submission login");
                self.user = Some(info);
                self.seat = Some(seat);
                self.push(Reply::new(235, "2.7.0", "Authentication successful"));
                Action::Continue
            }
            Checked::Locked(_) => self.auth_failed(Reply::new(
                454,
                "4.7.0",
                "Too many failed logins from your address; try again later",
            )),
            Checked::Rejected => {
                tracing::info!(peer = %self.peer, user = %user, "submission login failed");
                self.auth_failed(Reply::new(
                    535,
                    "5.7.8",
                    "Authentication credentials invalid",
                ))
            }
            Checked::Unavailable(e) => {
                tracing::warn!(error = %e, "password check unavailable");
                self.push(Reply::new(
                    454,
                    "4.7.0",
                    "Temporary authentication failure, try again later",
                ));
                Action::Continue
            }
        }
    }
}

/// 451 4.7.1 for a sending limit (RFC 6409 §6.2 allows an MSA to refuse temporarily).
fn rate_limited(which: Exceeded, what: &str) -> Reply {
    let whose = match which {
        Exceeded::Account => "this account",
        Exceeded::Domain => "this domain",
    };
    Reply::new(
        451,
        "4.7.1",
        format!("Too many {what} sent by {whose} in the last hour; try again later"),
    )
}

/// The domains of the accepted recipients, each once.
fn recipient_domains(recipients: &[(String, Resolution)]) -> Vec<String> {
    let mut domains: Vec<String> = recipients
        .iter()
        .filter_map(|(a, _)| a.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase()))
        .collect();
    domains.sort();
    domains.dedup();
    domains
}
