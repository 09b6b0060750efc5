//! The IMAP connection loop: greeting, framing, dispatch through the command table, STARTTLS,
//! IDLE and shutdown. Handlers live in the sibling modules as further `impl Session` blocks.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use yubin_proto::imap::command::{Command, CommandBody, MailboxName};
use yubin_proto::imap::framer::{CommandFramer, Frame, FramerLimits, reason};
use yubin_proto::imap::parse::parse_command;
use yubin_proto::imap::utf7;

use super::Service;
use super::commands::spec;
use super::errors::Failure;
use super::state::{Enabled, State};
use crate::limits::AccountSession;
use crate::net::{Shutdown, stream};

/// Read buffer an idle session keeps; a bigger one left by an APPEND is released.
const IDLE_BUFFER: usize = 1024;
pub use crate::net::stream::Stream;

/// Serves one connection to the end.
pub(crate) async fn serve(
    service: Arc<Service>,
    mut tcp: TcpStream,
    peer: SocketAddr,
    shutdown: Shutdown,
    implicit_tls: bool,
) {
    let Ok(_permit) = service.connections.clone().try_acquire_owned() else {
        crate::net::telemetry::rejected("imap", "connections");
        if !implicit_tls {
            let _ = tcp
                .write_all(b"* BYE [UNAVAILABLE] Too many connections, try again later\r\n")
                .await;
        }
        return;
    };
    let Some(_ip) = service.limits.connect("imap", peer.ip()) else {
        if !implicit_tls {
            let _ = tcp
                .write_all(b"* BYE [UNAVAILABLE] Too many connections from your address\r\n")
                .await;
        }
        return;
    };
    let _open = crate::net::telemetry::Connection::open("imap");
    let Some(stream) = stream::open(tcp, peer, service.tls.as_ref(), implicit_tls).await else {
        return;
    };
    let mut session = Session::new(service.clone(), peer, shutdown);
    session.tls = implicit_tls;
    session.run(stream).await;
}

/// What the loop does after a command's tagged reply.
pub(crate) enum Flow {
    /// Next command.
    Continue,
    /// Close the connection (LOGOUT, or a fatal error after `* BYE`).
    Close,
    /// Start TLS, then continue with a fresh framer.
    StartTls,
    /// Start DEFLATE compression (RFC 4978), then continue.
    Compress,
}

/// A successful command's tagged OK: `[code] text`.
pub(crate) struct Done {
    pub code: Option<String>,
    pub text: String,
}

impl Done {
    pub fn ok(text: impl Into<String>) -> Self {
        Self {
            code: None,
            text: text.into(),
        }
    }

    pub fn with_code(code: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            code: Some(code.into()),
            text: text.into(),
        }
    }
}

pub(crate) type Outcome = Result<Done, Failure>;

/// How a wait for input ended.
pub(crate) enum Input {
    Data,
    Closed,
    TimedOut,
    ShuttingDown,
}

/// One IMAP connection.
pub struct Session {
    pub(crate) service: Arc<Service>,
    pub(crate) peer: SocketAddr,
    pub(crate) shutdown: Shutdown,
    pub(crate) state: State,
    pub(crate) enabled: Enabled,
    pub(crate) tls: bool,
    /// COMPRESS=DEFLATE is on.
    pub(crate) compressed: bool,
    pub(crate) rbuf: BytesMut,
    /// Untagged and tagged output waiting to be written.
    pub(crate) out: Vec<u8>,
    pub(crate) framer: CommandFramer,
    pub(crate) auth_failures: usize,
    /// The logged-in account's place in its session limits and its command budget.
    pub(crate) seat: Option<AccountSession>,
    /// Tag of the command running, for ESEARCH's `(TAG "...")`.
    pub(crate) current_tag: String,
    errors: usize,
    /// Start of the current command-rate window and commands in it.
    window: (Instant, u32),
}

impl Session {
    fn new(service: Arc<Service>, peer: SocketAddr, shutdown: Shutdown) -> Self {
        let framer = CommandFramer::new(limits(&service));
        Self {
            service,
            peer,
            shutdown,
            state: State::NotAuthenticated,
            enabled: Enabled::default(),
            tls: false,
            compressed: false,
            rbuf: BytesMut::with_capacity(IDLE_BUFFER),
            out: Vec::new(),
            framer,
            auth_failures: 0,
            seat: None,
            current_tag: String::new(),
            errors: 0,
            window: (Instant::now(), 0),
        }
    }

    async fn run(&mut self, mut stream: Stream) {
        if self.shutdown.is_shutting_down() {
            self.out
                .extend_from_slice(b"* BYE [UNAVAILABLE] Server shutting down\r\n");
            let _ = self.flush(&mut stream).await;
            return;
        }
        let greeting = format!(
            "* OK [CAPABILITY {}] {} Yubin IMAP ready\r\n",
            self.capabilities(),
            self.service.hostname
        );
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
                    // RFC 9051 §6.2.1: bytes pipelined after STARTTLS are dropped, and the
                    // framer starts afresh on the encrypted stream.
                    self.rbuf.clear();
                    self.framer = CommandFramer::new(limits(&self.service));
                    stream = match stream::handshake(&acceptor, stream, self.peer).await {
                        Some(tls) => Box::new(tls),
                        None => return,
                    };
                    self.tls = true;
                }
                Flow::Compress => {
                    if !self.flush(&mut stream).await {
                        return;
                    }
                    // Whatever follows the command is already compressed.
                    let pending = self.rbuf.split().to_vec();
                    self.framer = CommandFramer::new(limits(&self.service));
                    stream = Box::new(super::compress::Deflate::new(stream, pending));
                    self.compressed = true;
                }
            }
        }
    }

    /// Runs every complete command in the buffer, then reads more; returns on a flow change.
    async fn commands(&mut self, stream: &mut Stream) -> Flow {
        loop {
            while let Some(frame) = self.framer.next_frame(&mut self.rbuf) {
                let flow = match frame {
                    Frame::NeedContinuation => {
                        self.out.extend_from_slice(b"+ Ready for literal data\r\n");
                        Flow::Continue
                    }
                    Frame::LiteralTooBig { tag } => {
                        let tag = tag.unwrap_or_else(|| "*".into());
                        Failure::no(Some("TOOBIG"), "Literal too big").write(&tag, &mut self.out);
                        Flow::Continue
                    }
                    Frame::Malformed { tag, reason: why } => {
                        let text = match why {
                            reason::LINE_TOO_LONG => "Line too long",
                            reason::COMMAND_TOO_LONG => "Command too long",
                            // RFC 7889 §4 / RFC 9051 §7.1: the code tells the client (and its
                            // user) that the message is too big, not that the client is broken.
                            reason::LITERAL_TOO_BIG => "[TOOBIG] Literal too big",
                            _ => "Malformed literal",
                        };
                        self.protocol_error(tag.as_deref(), text)
                    }
                    Frame::Command { bytes, literals } => {
                        self.throttle().await;
                        match parse_command(&bytes, &literals) {
                            Ok(command) => {
                                // IDLE lasts as long as the client wants: not a latency.
                                let timed = !matches!(command.body, CommandBody::Idle);
                                let started = std::time::Instant::now();
                                let flow = self.dispatch(command, &bytes, stream).await;
                                if timed {
                                    crate::net::telemetry::command("imap", started);
                                }
                                flow
                            }
                            Err(e) => {
                                let tag = e.tag.as_ref().map(|t| t.as_str().to_string());
                                self.protocol_error(tag.as_deref(), &e.message)
                            }
                        }
                    }
                };
                match flow {
                    Flow::Continue => {}
                    other => return other,
                }
                if self.out.len() > 64 * 1024 && !self.flush(stream).await {
                    return Flow::Close;
                }
            }
            if !self.flush(stream).await {
                return Flow::Close;
            }
            if self.rbuf.is_empty() && self.rbuf.capacity() > 8 * 1024 {
                self.rbuf = BytesMut::with_capacity(IDLE_BUFFER);
            }
            match self.fill(stream).await {
                Input::Data => {}
                Input::Closed => return Flow::Close,
                Input::TimedOut => {
                    self.out
                        .extend_from_slice(b"* BYE Autologout; idle for too long\r\n");
                    return Flow::Close;
                }
                Input::ShuttingDown => {
                    self.out
                        .extend_from_slice(b"* BYE [UNAVAILABLE] Server shutting down\r\n");
                    return Flow::Close;
                }
            }
        }
    }

    /// `* BAD` / `tag BAD`, closing the connection after too many.
    fn protocol_error(&mut self, tag: Option<&str>, text: &str) -> Flow {
        self.errors += 1;
        Failure::bad(text).write(tag.unwrap_or("*"), &mut self.out);
        if self.errors >= self.service.config.max_errors {
            self.out
                .extend_from_slice(b"* BYE Too many protocol errors\r\n");
            return Flow::Close;
        }
        Flow::Continue
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

    async fn dispatch(&mut self, command: Command, bytes: &[u8], stream: &mut Stream) -> Flow {
        let tag = command.tag.as_str().to_string();
        self.current_tag.clone_from(&tag);
        let spec = spec(&command.body);
        if !spec.allowed_in(self.state.kind()) {
            let text = match self.state.kind() {
                super::state::StateKind::NotAuthenticated => {
                    format!("{} needs authentication first", spec.name)
                }
                super::state::StateKind::Authenticated if spec.selected_only => {
                    format!("{} needs a selected mailbox", spec.name)
                }
                _ => format!("{} is not valid in this state", spec.name),
            };
            return self.protocol_error(Some(&tag), &text);
        }
        if !matches!(command.body, CommandBody::Logout)
            && let Some(seat) = &self.seat
            && !seat.command()
        {
            tokio::time::sleep(seat.refusal_delay()).await;
            Failure::no(Some("LIMIT"), "Too many commands per minute; slow down")
                .write(&tag, &mut self.out);
            return Flow::Continue;
        }
        // Admission (DESIGN.md "Overload"): store work waits on the tenant's own budget, and
        // none starts while the store is slow; NOOP then answers without its mailbox sync.
        let quiet = matches!(command.body, CommandBody::Noop | CommandBody::Check)
            && self.service.store.is_slow();
        let _admitted = if needs_store(&command.body) {
            match self.admit().await {
                Ok(admitted) => admitted,
                Err(failure) => {
                    failure.write(&tag, &mut self.out);
                    return Flow::Continue;
                }
            }
        } else {
            None
        };
        let mut flow = Flow::Continue;
        let outcome = match command.body {
            CommandBody::Capability => {
                let line = format!("* CAPABILITY {}\r\n", self.capabilities());
                self.out.extend_from_slice(line.as_bytes());
                Ok(Done::ok("CAPABILITY completed"))
            }
            CommandBody::Noop | CommandBody::Check => {
                Ok(Done::ok(format!("{} completed", spec.name)))
            }
            CommandBody::Logout => {
                self.out.extend_from_slice(b"* BYE Logging out\r\n");
                self.state = State::Logout;
                flow = Flow::Close;
                Ok(Done::ok("LOGOUT completed"))
            }
            CommandBody::Id(_) => {
                self.out
                    .extend_from_slice(b"* ID (\"name\" \"Yubin\" \"vendor\" \"Yubin\")\r\n");
                Ok(Done::ok("ID completed"))
            }
            CommandBody::StartTls => {
                if self.tls {
                    Err(Failure::bad("TLS is already active"))
                } else if self.service.tls.is_none() {
                    Err(Failure::no(None, "TLS is not available"))
                } else {
                    flow = Flow::StartTls;
                    Ok(Done::ok("Begin TLS negotiation now"))
                }
            }
            CommandBody::Login { username, password } => {
                let r = self.login(&username, password).await;
                if self.auth_failures >= self.service.config.max_auth_failures {
                    flow = Flow::Close;
                }
                r
            }
            CommandBody::Authenticate { mechanism, initial } => {
                let r = self.authenticate(&tag, &mechanism, initial, stream).await;
                if self.auth_failures >= self.service.config.max_auth_failures {
                    flow = Flow::Close;
                }
                r
            }
            CommandBody::Enable(caps) => Ok(self.enable(&caps)),
            CommandBody::Namespace => {
                self.out
                    .extend_from_slice(b"* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
                Ok(Done::ok("NAMESPACE completed"))
            }
            CommandBody::Idle => {
                if let Some(f) = self.idle(stream).await {
                    return f;
                }
                Ok(Done::ok("IDLE terminated"))
            }
            CommandBody::Compress(mechanism) => {
                if self.compressed {
                    Err(Failure::no(
                        Some("COMPRESSIONACTIVE"),
                        "Compression is already active",
                    ))
                } else if mechanism != "DEFLATE" {
                    Err(Failure::bad(format!(
                        "Unknown compression mechanism {mechanism}"
                    )))
                } else {
                    flow = Flow::Compress;
                    Ok(Done::ok("DEFLATE active"))
                }
            }
            CommandBody::Select { mailbox, params } => self.select(&mailbox, params, false).await,
            CommandBody::Examine { mailbox, params } => self.select(&mailbox, params, true).await,
            CommandBody::Create {
                mailbox,
                special_use,
            } => self.create(&mailbox, &special_use).await,
            CommandBody::Delete(mailbox) => self.delete(&mailbox).await,
            CommandBody::Rename { from, to } => self.rename(&from, &to).await,
            CommandBody::Subscribe(mailbox) => self.subscribe(&mailbox, true).await,
            CommandBody::Unsubscribe(mailbox) => self.subscribe(&mailbox, false).await,
            CommandBody::List {
                reference,
                patterns,
                selection,
                returns,
            } => self.list(&reference, &patterns, &selection, &returns),
            CommandBody::Lsub { reference, pattern } => self.lsub(&reference, &pattern),
            CommandBody::Status { mailbox, items } => self.status(&mailbox, &items),
            CommandBody::Append { mailbox, messages } => {
                self.append(&mailbox, &messages, bytes).await
            }
            CommandBody::GetQuota(root) => self.get_quota(&root),
            CommandBody::GetQuotaRoot(mailbox) => self.get_quota_root(&mailbox),
            CommandBody::SetQuota { .. } => Err(Failure::no(
                Some("NOPERM"),
                "Quotas are set by the administrator",
            )),
            CommandBody::Close => self.close(true).await,
            CommandBody::Unselect => self.close(false).await,
            CommandBody::Expunge { uids } => self.expunge(uids.as_ref()).await,
            CommandBody::Search {
                uid,
                returns,
                charset,
                criteria,
            } => {
                self.search(uid, returns.as_deref(), charset.as_deref(), &criteria)
                    .await
            }
            CommandBody::Fetch {
                uid,
                set,
                items,
                changed_since,
                vanished,
            } => self.fetch(uid, &set, &items, changed_since, vanished).await,
            CommandBody::Store {
                uid,
                set,
                unchanged_since,
                mode,
                silent,
                flags,
            } => {
                self.store(uid, &set, unchanged_since, mode, silent, &flags)
                    .await
            }
            CommandBody::Copy { uid, set, mailbox } => {
                self.copy_or_move(uid, &set, &mailbox, false).await
            }
            CommandBody::Move { uid, set, mailbox } => {
                self.copy_or_move(uid, &set, &mailbox, true).await
            }
            CommandBody::Sort {
                uid,
                returns,
                criteria,
                charset,
                search,
            } => {
                self.sort(uid, returns.as_deref(), &criteria, &charset, &search)
                    .await
            }
            CommandBody::Thread {
                uid,
                algorithm,
                charset,
                search,
            } => self.thread(uid, algorithm, &charset, &search).await,
        };
        // Updates from other sessions go out before the tagged reply, where the table allows.
        if matches!(self.state, State::Selected(..)) && matches!(flow, Flow::Continue) && !quiet {
            self.sync(spec.may_expunge).await;
        }
        match outcome {
            Ok(done) => {
                self.out.extend_from_slice(tag.as_bytes());
                self.out.extend_from_slice(b" OK ");
                if let Some(code) = done.code {
                    self.out.push(b'[');
                    self.out.extend_from_slice(code.as_bytes());
                    self.out.extend_from_slice(b"] ");
                }
                self.out.extend_from_slice(done.text.as_bytes());
                self.out.extend_from_slice(b"\r\n");
            }
            Err(failure) => {
                if failure.bad {
                    return self.protocol_error(Some(&tag), &failure.text.clone());
                }
                failure.write(&tag, &mut self.out);
            }
        }
        flow
    }

    /// Admits one command's store work: refused while the store is slow, else a slot of the
    /// logged-in tenant's budget (none needed before login: the password checkers are bounded).
    async fn admit(&self) -> Result<Option<yubin_store::Admitted>, Failure> {
        let busy = |message: &str| {
            crate::net::telemetry::rejected("imap", "store_busy");
            Failure::no(Some("UNAVAILABLE"), message.to_string())
        };
        let Some(login) = self.state.login() else {
            if self.service.store.is_slow() {
                return Err(busy("the store is slow; try again later"));
            }
            return Ok(None);
        };
        let tenant = login.address.rsplit_once('@').map_or("", |(_, d)| d);
        self.service
            .store
            .admit(&[tenant])
            .await
            .map(Some)
            .map_err(|e| busy(e.message()))
    }

    /// The CAPABILITY list for the current state (RFC 9051 §7.2.2).
    pub(crate) fn capabilities(&self) -> String {
        let mut caps = vec!["IMAP4rev2", "IMAP4rev1"];
        let plain_ok = self.plaintext_ok();
        if matches!(self.state, State::NotAuthenticated) {
            if !self.tls && self.service.tls.is_some() {
                caps.push("STARTTLS");
            }
            if plain_ok {
                caps.push("AUTH=PLAIN");
            } else {
                caps.push("LOGINDISABLED");
            }
            caps.push("SASL-IR");
        }
        caps.extend([
            "LITERAL+",
            "ENABLE",
            "ID",
            "IDLE",
            "NAMESPACE",
            "UNSELECT",
            "UIDPLUS",
            "MOVE",
            "CHILDREN",
            "SPECIAL-USE",
            "CREATE-SPECIAL-USE",
            "LIST-EXTENDED",
            "LIST-STATUS",
            "ESEARCH",
            "SEARCHRES",
            "CONDSTORE",
            "QRESYNC",
            "QUOTA",
            "QUOTA=RES-STORAGE",
            "STATUS=SIZE",
            "BINARY",
            "MULTIAPPEND",
            "WITHIN",
            "SORT",
            "SORT=DISPLAY",
            "ESORT",
            "THREAD=ORDEREDSUBJECT",
            "THREAD=REFERENCES",
            "UTF8=ACCEPT",
        ]);
        if !self.compressed && !matches!(self.state, State::NotAuthenticated) {
            caps.push("COMPRESS=DEFLATE");
        }
        let mut text = caps.join(" ");
        // RFC 7889 §3: after login, the account's own limit when it is lower.
        text.push_str(&format!(" APPENDLIMIT={}", self.max_append()));
        text
    }

    /// Whether plain-text credentials may be sent on this connection.
    pub(crate) fn plaintext_ok(&self) -> bool {
        self.tls
            || self.service.config.allow_plaintext_auth
            || (self.service.config.loopback_is_secure && self.peer.ip().is_loopback())
    }

    fn enable(&mut self, caps: &[String]) -> Done {
        let mut turned_on = Vec::new();
        for cap in caps {
            let newly = match cap.as_str() {
                "IMAP4REV2" => !std::mem::replace(&mut self.enabled.rev2, true),
                "UTF8=ACCEPT" => !std::mem::replace(&mut self.enabled.utf8, true),
                "CONDSTORE" => {
                    let newly = !self.enabled.condstore;
                    self.enable_condstore();
                    newly
                }
                "QRESYNC" => {
                    self.enable_condstore();
                    !std::mem::replace(&mut self.enabled.qresync, true)
                }
                _ => false,
            };
            if newly {
                turned_on.push(match cap.as_str() {
                    "IMAP4REV2" => "IMAP4rev2",
                    other => other,
                });
            }
        }
        let mut line = b"* ENABLED".to_vec();
        for cap in turned_on {
            line.push(b' ');
            line.extend_from_slice(cap.as_bytes());
        }
        line.extend_from_slice(b"\r\n");
        self.out.extend_from_slice(&line);
        Done::ok("ENABLE completed")
    }

    /// The logged-in account's id.
    pub(crate) fn account(&self) -> Result<u64, Failure> {
        self.state
            .login()
            .map(|l| l.account)
            .ok_or_else(|| Failure::bad("Not authenticated"))
    }

    /// The largest message this session may APPEND: the account's or tenant's limit when
    /// below the server's.
    pub(crate) fn max_append(&self) -> usize {
        let max = self.service.config.max_message_size;
        self.seat.as_ref().map_or(max, |s| s.max_message_size(max))
    }

    /// Turns CONDSTORE on; the first time with a mailbox selected, its HIGHESTMODSEQ is sent
    /// (RFC 7162 §3.1: the client may not have seen it at SELECT).
    pub(crate) fn enable_condstore(&mut self) {
        if std::mem::replace(&mut self.enabled.condstore, true) {
            return;
        }
        if let Some(sel) = self.state.selected_mut() {
            let line = format!(
                "* OK [HIGHESTMODSEQ {}] Highest\r\n",
                sel.highest_modseq.max(1)
            );
            self.out.extend_from_slice(line.as_bytes());
        }
    }

    /// A mailbox name as the store knows it: UTF-8, `INBOX` in canonical case.
    pub(crate) fn mailbox_name(&self, name: &MailboxName) -> Result<String, Failure> {
        let raw = &name.0;
        let decoded = if self.enabled.rev2 || self.enabled.utf8 {
            String::from_utf8(raw.clone()).ok()
        } else {
            // RFC 3501 §5.1.3: modified UTF-7; clients that send raw UTF-8 anyway are accepted.
            utf7::decode(raw).or_else(|| {
                String::from_utf8(raw.clone())
                    .ok()
                    .filter(|s| !s.is_ascii())
            })
        };
        // A name that does not decode is well-formed syntax naming no possible mailbox: NO, not
        // BAD (RFC 9051 §7.1: BAD is for commands that cannot be parsed), as Dovecot answers.
        let name = decoded.ok_or_else(|| {
            Failure::no(
                Some("CANNOT"),
                "Mailbox name is not valid modified UTF-7 or UTF-8",
            )
        })?;
        Ok(canonical_inbox(name))
    }

    /// A store mailbox name as the client expects to see it.
    pub(crate) fn wire_name(&self, name: &str) -> Vec<u8> {
        if self.enabled.rev2 || self.enabled.utf8 {
            name.as_bytes().to_vec()
        } else {
            utf7::encode(name).into_bytes()
        }
    }

    /// Writes pending output; false if the client is gone.
    pub(crate) async fn flush(&mut self, stream: &mut Stream) -> bool {
        stream::write_out(stream, &mut self.out).await
    }

    /// Reads more input, ending early on shutdown or the state's timeout.
    pub(crate) async fn fill(&mut self, stream: &mut Stream) -> Input {
        if self.rbuf.capacity() - self.rbuf.len() < 512 {
            self.rbuf.reserve(4096);
        }
        let secs = if matches!(self.state, State::NotAuthenticated) {
            self.service.config.login_timeout_secs
        } else {
            self.service.config.idle_timeout_secs
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

    /// Reads one plain line (AUTHENTICATE response, IDLE's DONE); `None` if the connection
    /// ended, timed out or the server is shutting down (a `* BYE` is queued then).
    pub(crate) async fn read_line(&mut self, stream: &mut Stream) -> Option<Result<Vec<u8>, ()>> {
        loop {
            if let Some(line) = self.framer.next_line(&mut self.rbuf) {
                return Some(line.map(|l| l.to_vec()).map_err(|_| ()));
            }
            if !self.flush(stream).await {
                return None;
            }
            match self.fill(stream).await {
                Input::Data => {}
                Input::Closed => return None,
                Input::TimedOut => {
                    self.out
                        .extend_from_slice(b"* BYE Autologout; idle for too long\r\n");
                    return None;
                }
                Input::ShuttingDown => {
                    self.out
                        .extend_from_slice(b"* BYE [UNAVAILABLE] Server shutting down\r\n");
                    return None;
                }
            }
        }
    }
}

fn limits(service: &Service) -> FramerLimits {
    let max_literal = service.config.max_message_size;
    FramerLimits {
        max_line: service.config.max_line_length,
        max_literal,
        max_command: max_literal.saturating_add(1024 * 1024),
        literal_minus: false,
    }
}

/// `INBOX` is case-insensitive (RFC 9051 §5.1); everything else is kept as sent.
pub(crate) fn canonical_inbox(name: String) -> String {
    if name.eq_ignore_ascii_case("INBOX") {
        "INBOX".to_string()
    } else {
        name
    }
}

/// Whether a command reads or writes the store (and so is admitted first).
fn needs_store(body: &CommandBody) -> bool {
    !matches!(
        body,
        CommandBody::Capability
            | CommandBody::Noop
            | CommandBody::Check
            | CommandBody::Logout
            | CommandBody::Id(_)
            | CommandBody::StartTls
            | CommandBody::Enable(_)
            | CommandBody::Namespace
            | CommandBody::Idle
            | CommandBody::Compress(_)
    )
}
