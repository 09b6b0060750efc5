//! One SMTP transaction with one server: one message, its recipients of one domain.
//!
//! Implementation notes:
//! - Replies are read with smtp-proto's `ResponseReceiver` (multi-line replies, enhanced codes,
//!   4 KiB cap) and EHLO capabilities with its `EhloResponse`.
//! - EHLO, and HELO when EHLO gets a 5xx (RFC 5321 §3.2); EHLO again after STARTTLS (RFC 3207
//!   §4.2), whose capabilities replace the clear-text ones. Bytes the server sent after its
//!   220 to STARTTLS are dropped.
//! - MAIL FROM carries SIZE= when offered (RFC 1870), BODY=8BITMIME when the message has 8-bit
//!   bytes and the server offers it (RFC 6152; without the offer the message is sent as is, as
//!   Postfix does), SMTPUTF8 when an address is not ASCII (RFC 6531; a server without it cannot
//!   take such an address: 5.6.7 for that recipient).
//! - PIPELINING (RFC 2920): MAIL FROM and every RCPT TO in one write, replies read in order;
//!   DATA waits for them, so no message is sent when every recipient was refused.
//! - Everything that is not a reply to MAIL, RCPT or DATA (connection, greeting, EHLO, TLS,
//!   AUTH) fails the session: a temporary outcome for every recipient, and the caller tries
//!   the next address.

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use smtp_proto::response::parser::ResponseReceiver;
use smtp_proto::{
    AUTH_LOGIN, AUTH_PLAIN, EXT_8BIT_MIME, EXT_AUTH, EXT_PIPELINING, EXT_SIZE, EXT_SMTP_UTF8,
    EXT_START_TLS, EhloResponse,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::net::stream::{Stream, TLS_HANDSHAKE_TIMEOUT};
use crate::smtp::outbound::{Credentials, Hop, OutboundConfig, Outcome, TlsPolicy, tls};

/// The message and its envelope.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    /// Reverse path without angle brackets; empty for a bounce (`MAIL FROM:<>`).
    pub mail_from: &'a str,
    /// Forward paths without angle brackets.
    pub recipients: &'a [String],
    /// The message as stored (any line endings; dot-stuffing is done here).
    pub message: &'a [u8],
}

/// What one server did with the recipients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The server, as `mx.example.test[192.0.2.1]:25`.
    pub host: String,
    /// One outcome per recipient, in the envelope's order.
    pub recipients: Vec<(String, Outcome)>,
}

/// Bytes of the message written per write call, each within the data block timeout.
const DATA_BLOCK: usize = 64 * 1024;

/// Runs one transaction with `hop`. Never fails as a whole: problems become outcomes.
/// `credentials` are presented with AUTH (a relay).
pub async fn transaction(
    cfg: &OutboundConfig,
    hop: &Hop,
    credentials: Option<&Credentials>,
    envelope: &Envelope<'_>,
) -> Attempt {
    let mut result = session(cfg, hop, credentials, envelope, cfg.tls).await;
    if let Err(Failure::Handshake(reason)) = &result
        && cfg.tls == TlsPolicy::Opportunistic
    {
        tracing::info!(host = %hop.describe(), %reason, "TLS failed; retrying in clear text");
        result = session(cfg, hop, credentials, envelope, TlsPolicy::None).await;
    }
    let recipients = match result {
        Ok(outcomes) => outcomes,
        Err(failure) => {
            let outcome = Outcome::Temporary(failure.into_text());
            envelope
                .recipients
                .iter()
                .map(|r| (r.clone(), outcome.clone()))
                .collect()
        }
    };
    Attempt {
        host: hop.describe(),
        recipients,
    }
}

/// Why a session ended before the transaction gave per-recipient answers.
enum Failure {
    /// Anything but the TLS handshake.
    Session(String),
    /// The TLS handshake (after the server's 220 to STARTTLS).
    Handshake(String),
}

impl Failure {
    fn into_text(self) -> String {
        match self {
            Failure::Session(t) | Failure::Handshake(t) => t,
        }
    }
}

/// What the server said it supports.
#[derive(Debug, Default, Clone, Copy)]
struct Capabilities {
    extensions: u32,
    auth: u64,
}

impl Capabilities {
    fn has(&self, extension: u32) -> bool {
        self.extensions & extension != 0
    }
}

/// A reply: its code and its text as one line (`550 5.1.1 no such user`).
struct Reply {
    code: u16,
    text: String,
    raw: Vec<u8>,
}

impl Reply {
    /// 2xx delivered, 4xx temporary, 5xx permanent; anything else is a broken server.
    fn outcome(&self) -> Outcome {
        match self.code {
            200..=299 => Outcome::Delivered(self.text.clone()),
            500..=599 => Outcome::Permanent(self.text.clone()),
            _ => Outcome::Temporary(self.text.clone()),
        }
    }
}

async fn session(
    cfg: &OutboundConfig,
    hop: &Hop,
    credentials: Option<&Credentials>,
    envelope: &Envelope<'_>,
    policy: TlsPolicy,
) -> Result<Vec<(String, Outcome)>, Failure> {
    let peer = hop.describe();
    let connect_limit = Duration::from_secs(cfg.connect_timeout_secs);
    let tcp = match timeout(connect_limit, TcpStream::connect(hop.addr)).await {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(e)) => return Err(Failure::Session(format!("4.4.1 connect to {peer}: {e}"))),
        Err(_) => {
            return Err(Failure::Session(format!(
                "4.4.1 connect to {peer}: timed out"
            )));
        }
    };
    let _ = tcp.set_nodelay(true);
    let helo = helo_name(cfg, tcp.local_addr().ok());
    let mut conn = Conn {
        stream: Box::new(tcp),
        buf: Vec::new(),
        receiver: ResponseReceiver::default(),
        peer,
        command_timeout: Duration::from_secs(cfg.command_timeout_secs),
    };
    let greeting = conn.reply("the greeting", conn.command_timeout).await?;
    if greeting.code != 220 {
        return Err(conn.refused("the greeting", &greeting));
    }
    let mut caps = conn.hello(&helo).await?;
    let mut secure = false;
    if policy != TlsPolicy::None {
        if caps.has(EXT_START_TLS) {
            conn.send(b"STARTTLS\r\n", "STARTTLS").await?;
            let reply = conn.reply("STARTTLS", conn.command_timeout).await?;
            if reply.code == 220 {
                conn = conn.start_tls(hop, policy, &cfg.ca_file).await?;
                caps = conn.hello(&helo).await?;
                secure = true;
            } else if policy != TlsPolicy::Opportunistic {
                return Err(Failure::Session(format!(
                    "4.7.4 {} refused STARTTLS: {}",
                    conn.peer, reply.text
                )));
            }
        } else if policy != TlsPolicy::Opportunistic {
            return Err(Failure::Session(format!(
                "4.7.4 {} does not offer STARTTLS, which the TLS policy requires",
                conn.peer
            )));
        }
    }
    if let Some(credentials) = credentials {
        let clear_ok = hop.addr.ip().is_loopback();
        if !secure && !clear_ok {
            return Err(Failure::Session(format!(
                "4.7.0 not sending the relay password to {} without TLS",
                conn.peer
            )));
        }
        conn.authenticate(&caps, credentials).await?;
    }
    let outcomes = conn.mail(cfg, &caps, envelope).await?;
    conn.quit().await;
    Ok(outcomes)
}

/// EHLO argument: the configured name, else the local address as a literal (RFC 5321 §4.1.4).
fn helo_name(cfg: &OutboundConfig, local: Option<SocketAddr>) -> String {
    if !cfg.helo_name.is_empty() {
        return cfg.helo_name.clone();
    }
    match local.map(|a| a.ip()) {
        Some(std::net::IpAddr::V4(ip)) => format!("[{ip}]"),
        Some(std::net::IpAddr::V6(ip)) => format!("[IPv6:{ip}]"),
        None => "[127.0.0.1]".to_string(),
    }
}

/// The connection, with replies read but not yet parsed.
struct Conn {
    stream: Stream,
    buf: Vec<u8>,
    receiver: ResponseReceiver,
    peer: String,
    command_timeout: Duration,
}

impl Conn {
    /// EHLO, or HELO (no extensions) when EHLO is refused with 5xx.
    async fn hello(&mut self, name: &str) -> Result<Capabilities, Failure> {
        self.send(format!("EHLO {name}\r\n").as_bytes(), "EHLO")
            .await?;
        let reply = self.reply("EHLO", self.command_timeout).await?;
        if reply.code == 250 {
            // A 250 smtp-proto cannot read is still a greeting; it just offers nothing.
            let caps = EhloResponse::parse(&mut reply.raw.iter())
                .map(|ehlo| Capabilities {
                    extensions: ehlo.capabilities,
                    auth: ehlo.auth_mechanisms,
                })
                .unwrap_or_default();
            return Ok(caps);
        }
        if !(500..600).contains(&reply.code) {
            return Err(self.refused("EHLO", &reply));
        }
        self.send(format!("HELO {name}\r\n").as_bytes(), "HELO")
            .await?;
        let reply = self.reply("HELO", self.command_timeout).await?;
        if reply.code != 250 {
            return Err(self.refused("HELO", &reply));
        }
        Ok(Capabilities::default())
    }

    /// The TLS handshake after the server's 220 to STARTTLS.
    async fn start_tls(self, hop: &Hop, policy: TlsPolicy, ca_file: &str) -> Result<Self, Failure> {
        let connector = match tls::connector(policy, ca_file) {
            Ok(Some(connector)) => connector,
            Ok(None) => return Err(Failure::Session("4.7.5 TLS is switched off".to_string())),
            Err(e) => return Err(Failure::Session(format!("4.7.5 {e}"))),
        };
        let name = tls::server_name(&hop.host, hop.addr.ip());
        let peer = self.peer;
        let handshake = timeout(TLS_HANDSHAKE_TIMEOUT, connector.connect(name, self.stream)).await;
        let stream = match handshake {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                return Err(Failure::Handshake(format!(
                    "4.7.5 TLS handshake with {peer} failed: {e}"
                )));
            }
            Err(_) => {
                return Err(Failure::Handshake(format!(
                    "4.7.5 TLS handshake with {peer} timed out"
                )));
            }
        };
        Ok(Conn {
            stream: Box::new(stream),
            buf: Vec::new(),
            receiver: ResponseReceiver::default(),
            peer,
            command_timeout: self.command_timeout,
        })
    }

    /// AUTH PLAIN (with the initial response, RFC 4954 §4), else AUTH LOGIN.
    async fn authenticate(&mut self, caps: &Capabilities, c: &Credentials) -> Result<(), Failure> {
        let password = c.password.expose();
        let reply = if caps.has(EXT_AUTH) && caps.auth & AUTH_PLAIN != 0 {
            let token = STANDARD.encode(format!("\0{}\0{}", c.user, password));
            self.send(format!("AUTH PLAIN {token}\r\n").as_bytes(), "AUTH")
                .await?;
            self.reply("AUTH", self.command_timeout).await?
        } else if caps.has(EXT_AUTH) && caps.auth & AUTH_LOGIN != 0 {
            self.send(b"AUTH LOGIN\r\n", "AUTH").await?;
            let mut reply = self.reply("AUTH", self.command_timeout).await?;
            for secret in [c.user.as_str(), password.as_str()] {
                if reply.code != 334 {
                    break;
                }
                let line = format!("{}\r\n", STANDARD.encode(secret));
                self.send(line.as_bytes(), "AUTH").await?;
                reply = self.reply("AUTH", self.command_timeout).await?;
            }
            reply
        } else {
            return Err(Failure::Session(format!(
                "4.7.0 relay {} offers neither AUTH PLAIN nor AUTH LOGIN",
                self.peer
            )));
        };
        if reply.code != 235 {
            // A refused password is the operator's to fix; the mail waits for that.
            return Err(Failure::Session(format!(
                "4.7.0 authentication at {} failed: {}",
                self.peer, reply.text
            )));
        }
        Ok(())
    }

    /// MAIL, RCPT and DATA: one outcome per recipient.
    async fn mail(
        &mut self,
        cfg: &OutboundConfig,
        caps: &Capabilities,
        envelope: &Envelope<'_>,
    ) -> Result<Vec<(String, Outcome)>, Failure> {
        let mut outcomes: Vec<(String, Option<Outcome>)> = envelope
            .recipients
            .iter()
            .map(|r| (r.clone(), None))
            .collect();
        let utf8 = caps.has(EXT_SMTP_UTF8);
        for (rcpt, outcome) in &mut outcomes {
            if !is_sendable(rcpt) {
                *outcome = Some(Outcome::Permanent(format!(
                    "5.1.3 recipient address <{rcpt}> cannot be sent"
                )));
            } else if !utf8 && (!rcpt.is_ascii() || !envelope.mail_from.is_ascii()) {
                let whose = if envelope.mail_from.is_ascii() {
                    format!("recipient <{rcpt}>")
                } else {
                    format!("sender <{}>", envelope.mail_from)
                };
                *outcome = Some(Outcome::Permanent(format!(
                    "5.6.7 {} does not support SMTPUTF8, needed for the {whose}",
                    self.peer
                )));
            }
        }
        if !is_sendable(envelope.mail_from) {
            return Ok(finish(outcomes, || {
                Outcome::Permanent(format!(
                    "5.1.7 sender address <{}> cannot be sent",
                    envelope.mail_from
                ))
            }));
        }
        let to_send: Vec<usize> = (0..outcomes.len())
            .filter(|&i| outcomes[i].1.is_none())
            .collect();
        if to_send.is_empty() {
            return Ok(finish(outcomes, unreachable_outcome));
        }

        let mut mail = format!("MAIL FROM:<{}>", envelope.mail_from);
        if caps.has(EXT_SIZE) {
            mail.push_str(&format!(" SIZE={}", envelope.message.len()));
        }
        if caps.has(EXT_8BIT_MIME) && !envelope.message.is_ascii() {
            mail.push_str(" BODY=8BITMIME");
        }
        let needs_utf8 =
            !envelope.mail_from.is_ascii() || to_send.iter().any(|&i| !outcomes[i].0.is_ascii());
        if needs_utf8 {
            mail.push_str(" SMTPUTF8");
        }
        mail.push_str("\r\n");
        let rcpt_lines: Vec<String> = to_send
            .iter()
            .map(|&i| format!("RCPT TO:<{}>\r\n", outcomes[i].0))
            .collect();

        let mail_reply;
        let mut rcpt_replies = Vec::with_capacity(rcpt_lines.len());
        if caps.has(EXT_PIPELINING) {
            let mut batch = mail.into_bytes();
            for line in &rcpt_lines {
                batch.extend_from_slice(line.as_bytes());
            }
            self.send(&batch, "MAIL FROM").await?;
            mail_reply = self.reply("MAIL FROM", self.command_timeout).await?;
            for _ in &rcpt_lines {
                rcpt_replies.push(self.reply("RCPT TO", self.command_timeout).await?);
            }
        } else {
            self.send(mail.as_bytes(), "MAIL FROM").await?;
            mail_reply = self.reply("MAIL FROM", self.command_timeout).await?;
            if mail_reply.code / 100 == 2 {
                for line in &rcpt_lines {
                    self.send(line.as_bytes(), "RCPT TO").await?;
                    rcpt_replies.push(self.reply("RCPT TO", self.command_timeout).await?);
                }
            }
        }
        if mail_reply.code / 100 != 2 {
            let refused = match mail_reply.outcome() {
                Outcome::Delivered(text) => Outcome::Temporary(text),
                other => other,
            };
            for &i in &to_send {
                outcomes[i].1 = Some(refused.clone());
            }
            return Ok(finish(outcomes, unreachable_outcome));
        }
        let mut accepted = Vec::new();
        for (&i, reply) in to_send.iter().zip(&rcpt_replies) {
            if reply.code / 100 == 2 {
                accepted.push(i);
            } else {
                outcomes[i].1 = Some(reply.outcome());
            }
        }
        if accepted.is_empty() {
            return Ok(finish(outcomes, unreachable_outcome));
        }

        self.send(b"DATA\r\n", "DATA").await?;
        let limit = Duration::from_secs(cfg.data_start_timeout_secs);
        let reply = self.reply("DATA", limit).await?;
        let outcome = if reply.code == 354 {
            let data = yubin_proto::smtp::data::dot_stuff(envelope.message);
            let block_limit = Duration::from_secs(cfg.data_block_timeout_secs);
            for block in data.chunks(DATA_BLOCK) {
                self.send_within(block, "the message", block_limit).await?;
            }
            let limit = Duration::from_secs(cfg.data_end_timeout_secs);
            self.reply("the end of the message", limit).await?.outcome()
        } else {
            match reply.outcome() {
                Outcome::Delivered(text) => {
                    Outcome::Temporary(format!("4.5.0 unexpected reply to DATA: {text}"))
                }
                refused => refused,
            }
        };
        for i in accepted {
            outcomes[i].1 = Some(outcome.clone());
        }
        Ok(finish(outcomes, unreachable_outcome))
    }

    /// QUIT, without caring much for the answer: the transaction is over.
    async fn quit(&mut self) {
        if self.send(b"QUIT\r\n", "QUIT").await.is_ok() {
            let _ = self.reply("QUIT", Duration::from_secs(5)).await;
        }
    }

    async fn send(&mut self, bytes: &[u8], stage: &str) -> Result<(), Failure> {
        self.send_within(bytes, stage, self.command_timeout).await
    }

    async fn send_within(
        &mut self,
        bytes: &[u8],
        stage: &str,
        limit: Duration,
    ) -> Result<(), Failure> {
        let write = async {
            self.stream.write_all(bytes).await?;
            self.stream.flush().await
        };
        match timeout(limit, write).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Failure::Session(format!(
                "4.4.2 lost connection with {} while sending {stage}: {e}",
                self.peer
            ))),
            Err(_) => Err(Failure::Session(format!(
                "4.4.2 {} timed out while we sent {stage}",
                self.peer
            ))),
        }
    }

    /// Reads one complete reply within `limit`.
    async fn reply(&mut self, stage: &str, limit: Duration) -> Result<Reply, Failure> {
        let deadline = tokio::time::Instant::now() + limit;
        let mut raw = Vec::new();
        loop {
            if !self.buf.is_empty() {
                let mut bytes = self.buf.iter();
                let parsed = self.receiver.parse(&mut bytes);
                let used = self.buf.len() - bytes.len();
                raw.extend_from_slice(&self.buf[..used]);
                self.buf.drain(..used);
                match parsed {
                    Ok(response) => {
                        self.receiver.reset();
                        return Ok(Reply {
                            code: response.code,
                            text: reply_text(response.code, response.esc, &response.message),
                            raw,
                        });
                    }
                    Err(smtp_proto::Error::NeedsMoreData { .. }) => {}
                    Err(e) => {
                        return Err(Failure::Session(format!(
                            "4.5.0 {} sent a malformed reply to {stage}: {e:?}",
                            self.peer
                        )));
                    }
                }
            }
            match tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.buf)).await {
                Ok(Ok(0)) => {
                    return Err(Failure::Session(format!(
                        "4.4.2 lost connection with {} while waiting for the reply to {stage}",
                        self.peer
                    )));
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    return Err(Failure::Session(format!(
                        "4.4.2 lost connection with {} while waiting for the reply to {stage}: {e}",
                        self.peer
                    )));
                }
                Err(_) => {
                    return Err(Failure::Session(format!(
                        "4.4.2 {} timed out: no reply to {stage} in {} s",
                        self.peer,
                        limit.as_secs()
                    )));
                }
            }
        }
    }

    /// A session failure quoting the server's refusal.
    fn refused(&self, stage: &str, reply: &Reply) -> Failure {
        Failure::Session(format!(
            "4.4.0 {} refused {stage}: {}",
            self.peer, reply.text
        ))
    }
}

/// An address that can go between angle brackets in a command line.
fn is_sendable(address: &str) -> bool {
    !address
        .bytes()
        .any(|b| matches!(b, b'\r' | b'\n' | b'<' | b'>') || b.is_ascii_control())
}

/// The outcomes, every recipient having one by now (`missing` covers a logic error).
fn finish(
    outcomes: Vec<(String, Option<Outcome>)>,
    missing: impl Fn() -> Outcome,
) -> Vec<(String, Outcome)> {
    outcomes
        .into_iter()
        .map(|(r, o)| (r, o.unwrap_or_else(&missing)))
        .collect()
}

fn unreachable_outcome() -> Outcome {
    Outcome::Temporary("4.3.0 internal error: recipient left without an outcome".to_string())
}

/// `550 5.1.1 text`, lines of a multi-line reply joined with spaces.
fn reply_text(code: u16, esc: [u8; 3], message: &str) -> String {
    let message = message
        .split('\n')
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    if esc[0] == 0 {
        format!("{code} {message}")
    } else {
        format!("{code} {}.{}.{} {message}", esc[0], esc[1], esc[2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_text_keeps_code_and_enhanced_status() {
        assert_eq!(
            reply_text(550, [5, 1, 1], "no such user"),
            "550 5.1.1 no such user"
        );
        assert_eq!(reply_text(554, [0, 0, 0], "go\naway"), "554 go away");
    }

    #[test]
    fn addresses_that_could_inject_commands_are_not_sent() {
        assert!(is_sendable("user@example.test"));
        assert!(is_sendable("ユーザー@例え.テスト"));
        assert!(is_sendable(""));
        assert!(!is_sendable("a@b>\r\nRCPT TO:<c@d"));
        assert!(!is_sendable("a@b\0"));
    }
}
