//! Command framing for IMAP: lines joined by literals, with caps and resynchronization.
//!
//! RFC 9051 §2.2 ends lines in CRLF; like most servers we also accept a bare LF. A line ending
//! in a literal marker (`{n}`, `{n+}`, `~{n}`: RFC 9051 §4.3, RFC 7888, RFC 3516) is followed
//! by exactly `n` octets of data, then the command goes on with more line text. Nothing else
//! in a line means anything to the framer; that is the grammar's job.
//!
//! Every refusal is reported once, as soon as it is known, and the framer then silently drops
//! what the client still sends of that command: the rest of an over-long line, the data of a
//! refused non-synchronizing literal (the client sends it without waiting), and the lines and
//! non-synchronizing literals after it. A refused synchronizing literal ends the command, since
//! the client never gets the `+` it waits for (RFC 9051 §7.5).

use std::{fmt, mem, ops::Range};

use bytes::{Buf, Bytes, BytesMut};

use super::marker::{self, Marker, content_len, push_tail};

/// Largest non-synchronizing literal a LITERAL- server accepts (RFC 7888).
pub const LITERAL_MINUS_MAX: usize = 4096;

/// The `reason` strings of [`Frame::Malformed`], for the session to pick its reply by.
pub mod reason {
    /// A line (without literals and line ending) was longer than [`super::FramerLimits::max_line`].
    pub const LINE_TOO_LONG: &str = "line too long";
    /// The command's lines and literals together exceeded [`super::FramerLimits::max_command`].
    pub const COMMAND_TOO_LONG: &str = "command too long";
    /// A non-synchronizing literal was over the limit (answer with `[TOOBIG]`).
    pub const LITERAL_TOO_BIG: &str = "literal too big";
    /// A line ended in something shaped like a literal marker that is not a valid one.
    pub const BAD_LITERAL: &str = "bad literal marker";
}

/// Size caps for one [`CommandFramer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramerLimits {
    /// Longest line in octets, excluding its line ending and any literal data (default 8192,
    /// the RFC 7162 §4 recommendation for servers).
    pub max_line: usize,
    /// Largest single literal, e.g. the message of an APPEND (default 64 MiB); advertise it as
    /// `APPENDLIMIT` (RFC 7889).
    pub max_literal: usize,
    /// Largest command in total, lines plus literal data (default `max_literal` + 1 MiB, so a
    /// maximal APPEND fits with its flags, date and a few small literals).
    pub max_command: usize,
    /// LITERAL- (RFC 7888, part of IMAP4rev2) instead of LITERAL+: non-synchronizing
    /// literals over [`LITERAL_MINUS_MAX`] octets are refused. Default `false` (LITERAL+).
    pub literal_minus: bool,
}

impl Default for FramerLimits {
    fn default() -> Self {
        const MIB: usize = 1024 * 1024;
        FramerLimits {
            max_line: 8192,
            max_literal: 64 * MIB,
            max_command: 65 * MIB,
            literal_minus: false,
        }
    }
}

/// One result of [`CommandFramer::next_frame`].
#[derive(Debug, PartialEq)]
pub enum Frame {
    /// A whole command: the raw bytes with every literal's data inlined exactly as received
    /// (lines keep their CRLF, `{n}`/`{n+}` markers stay), plus the byte ranges of each
    /// literal's data, in order, so the grammar can take them without re-scanning.
    Command {
        /// The command as received, ending in its final line ending.
        bytes: Bytes,
        /// Where each literal's data lies in `bytes`.
        literals: Vec<Range<usize>>,
    },
    /// The client sent an acceptable synchronizing literal `{n}`: the server must now send a
    /// `+` continuation request; the framer goes on when more bytes arrive.
    NeedContinuation,
    /// A synchronizing literal over `max_literal` or `max_command`: answer
    /// `<tag> NO [TOOBIG] ...` (RFC 9051 §7.1, RFC 7889). The command is already discarded; the
    /// client sends no data since it gets no `+`. Carries the tag if one could be read.
    LiteralTooBig {
        /// The command's tag, if valid.
        tag: Option<String>,
    },
    /// An over-long line or command, a non-synchronizing literal over the limit, or a bad
    /// literal marker: answer `<tag> BAD ...` (`* BAD` without a tag). The framer drops what
    /// the client still sends of this command. `reason` is one of the [`reason`] constants.
    Malformed {
        /// The command's tag, if valid.
        tag: Option<String>,
        /// What was wrong, one of the [`reason`] constants.
        reason: &'static str,
    },
}

/// A plain line (see [`CommandFramer::next_line`]) was longer than `max_line`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineTooLong;

/// Cuts whole IMAP commands out of a receive buffer.
///
/// The framer owns no receive buffer: the session reads into a `BytesMut` and calls
/// [`CommandFramer::next_frame`] until it returns `None`. A command that spans literals is
/// gathered inside the framer, so the receive buffer never holds more than one partial line
/// (at most `max_line` + 1 octets) once `next_frame` has returned `None`.
#[derive(Debug)]
pub struct CommandFramer {
    limits: FramerLimits,
    state: State,
    /// Octets at the front of the receive buffer known to hold no LF (the current line so
    /// far), so a call never rescans what an earlier call already looked at.
    scanned: usize,
    /// The current command so far once it has a literal: its lines and literal data.
    pending: BytesMut,
    /// Ranges in `pending` of the literals completed so far.
    literals: Vec<Range<usize>>,
}

#[derive(Debug)]
enum State {
    /// Reading line text at the front of the receive buffer.
    Line,
    /// Copying literal data into `pending`; the literal began at `start` there.
    Literal { start: usize, remaining: u64 },
    /// Dropping the rest of a line that was already reported. `tail` keeps its last octets so
    /// a trailing `{n+}` is still honoured when `command` (false for [`CommandFramer::next_line`]).
    SkipLine { tail: Vec<u8>, command: bool },
    /// Dropping the data of a refused non-synchronizing literal, then the rest of its command.
    SkipLiteral { remaining: u64 },
}

impl State {
    /// Starts dropping a line from its first remaining octet.
    fn skip_line(command: bool) -> Self {
        State::SkipLine {
            tail: Vec::new(),
            command,
        }
    }
}

/// How a line scan ended.
enum Scan {
    /// No LF yet; the line is still within the limit.
    Incomplete,
    /// The line is over `max_line` (complete or not); nothing was consumed.
    TooLong,
    /// A complete line of `len` octets including its LF.
    Line { len: usize },
}

impl CommandFramer {
    /// Creates a framer enforcing `limits`.
    pub fn new(limits: FramerLimits) -> Self {
        CommandFramer {
            limits,
            state: State::Line,
            scanned: 0,
            pending: BytesMut::new(),
            literals: Vec::new(),
        }
    }

    /// The limits this framer enforces.
    pub fn limits(&self) -> &FramerLimits {
        &self.limits
    }

    /// Takes the next frame from the front of `buf`, removing the consumed octets.
    ///
    /// Returns `None` when more input is needed: read more into `buf` and call again. Each
    /// octet is looked at a bounded number of times across calls, so framing is O(n) in the
    /// input; after `None`, `buf` holds at most `max_line` + 1 octets.
    pub fn next_frame(&mut self, buf: &mut BytesMut) -> Option<Frame> {
        loop {
            match self.state {
                State::Line => {
                    if let Some(frame) = self.line(buf)? {
                        return Some(frame);
                    }
                }
                State::Literal { start, remaining } => {
                    let n = take(remaining, buf);
                    self.pending.extend_from_slice(&buf[..n]);
                    buf.advance(n);
                    let remaining = remaining - n as u64;
                    if remaining > 0 {
                        self.state = State::Literal { start, remaining };
                        return None;
                    }
                    self.literals.push(start..self.pending.len());
                    self.state = State::Line;
                }
                State::SkipLine { .. } | State::SkipLiteral { .. } => self.skip(buf)?,
            }
        }
    }

    /// Takes the next plain line from the front of `buf`, without its CRLF (or bare LF).
    ///
    /// For input that is not a command: the `DONE` ending IDLE (RFC 9051 §6.3.13) and the
    /// client's AUTHENTICATE responses (§6.2.2). Same rules as command lines, but literal
    /// markers mean nothing here. `Some(Err(LineTooLong))` comes once per line over
    /// `max_line`, as soon as it is known; its remaining octets are dropped as they arrive.
    /// Call it between commands only: a partly received command is abandoned.
    pub fn next_line(&mut self, buf: &mut BytesMut) -> Option<Result<BytesMut, LineTooLong>> {
        loop {
            match self.state {
                State::Line => break,
                State::Literal { .. } => self.state = State::Line,
                State::SkipLine { .. } | State::SkipLiteral { .. } => self.skip(buf)?,
            }
        }
        self.reset_command();
        match self.scan(buf) {
            Scan::Incomplete => None,
            Scan::TooLong => {
                self.state = State::skip_line(false);
                Some(Err(LineTooLong))
            }
            Scan::Line { len } => {
                let mut line = buf.split_to(len);
                line.truncate(content_len(&line));
                Some(Ok(line))
            }
        }
    }

    /// One step in [`State::Line`]: `None` = need input, `Some(None)` = go on, else a frame.
    fn line(&mut self, buf: &mut BytesMut) -> Option<Option<Frame>> {
        let len = match self.scan(buf) {
            Scan::Incomplete => return None,
            Scan::TooLong => return Some(Some(self.refuse_line(buf, reason::LINE_TOO_LONG))),
            Scan::Line { len } => len,
        };
        if self.pending.len().saturating_add(len) > self.limits.max_command {
            return Some(Some(self.refuse_line(buf, reason::COMMAND_TOO_LONG)));
        }
        match marker::parse(&buf[..content_len(&buf[..len])]) {
            Marker::None => {
                let line = buf.split_to(len);
                let bytes = if self.pending.is_empty() {
                    line.freeze()
                } else {
                    self.pending.extend_from_slice(&line);
                    mem::take(&mut self.pending).freeze()
                };
                let literals = mem::take(&mut self.literals);
                Some(Some(Frame::Command { bytes, literals }))
            }
            Marker::Bad => {
                // We cannot tell how many octets might follow; the line ends the command.
                let tag = self.tag(buf);
                buf.advance(len);
                self.reset_command();
                Some(Some(Frame::Malformed {
                    tag,
                    reason: reason::BAD_LITERAL,
                }))
            }
            Marker::Literal { len: data, sync } => {
                let limit = if sync || !self.limits.literal_minus {
                    self.limits.max_literal
                } else {
                    self.limits.max_literal.min(LITERAL_MINUS_MAX)
                };
                let total = (self.pending.len() as u64)
                    .saturating_add(len as u64)
                    .saturating_add(data);
                let too_big = data > limit as u64 || total > self.limits.max_command as u64;
                if too_big {
                    let tag = self.tag(buf);
                    buf.advance(len);
                    self.reset_command();
                    if sync {
                        return Some(Some(Frame::LiteralTooBig { tag }));
                    }
                    // RFC 7888: the client sends the data anyway; drop exactly that.
                    self.state = State::SkipLiteral { remaining: data };
                    return Some(Some(Frame::Malformed {
                        tag,
                        reason: reason::LITERAL_TOO_BIG,
                    }));
                }
                self.pending.extend_from_slice(&buf[..len]);
                buf.advance(len);
                self.state = State::Literal {
                    start: self.pending.len(),
                    remaining: data,
                };
                Some(sync.then_some(Frame::NeedContinuation))
            }
        }
    }

    /// Looks for the end of the line at the front of `buf`, resuming where the last call
    /// stopped. Resets the resume point whenever the result is not [`Scan::Incomplete`].
    fn scan(&mut self, buf: &[u8]) -> Scan {
        let from = self.scanned.min(buf.len());
        match buf[from..].iter().position(|&b| b == b'\n') {
            Some(i) => {
                self.scanned = 0;
                let len = from + i + 1;
                if content_len(&buf[..len]) > self.limits.max_line {
                    Scan::TooLong
                } else {
                    Scan::Line { len }
                }
            }
            // `max_line` octets plus a CR may still be waiting for their LF.
            None if buf.len() > self.limits.max_line.saturating_add(1) => {
                self.scanned = 0;
                Scan::TooLong
            }
            None => {
                self.scanned = buf.len();
                Scan::Incomplete
            }
        }
    }

    /// Refuses the command whose current line starts `buf` and drops the rest of it.
    fn refuse_line(&mut self, buf: &[u8], reason: &'static str) -> Frame {
        let tag = self.tag(buf);
        self.reset_command();
        self.state = State::skip_line(true);
        Frame::Malformed { tag, reason }
    }

    /// Drops input in the skip states. `None` = need more input, `Some(())` = skipping done.
    fn skip(&mut self, buf: &mut BytesMut) -> Option<()> {
        match &mut self.state {
            State::SkipLiteral { remaining } => {
                let n = take(*remaining, buf);
                buf.advance(n);
                *remaining -= n as u64;
                if *remaining > 0 {
                    return None;
                }
                self.state = State::skip_line(true);
            }
            State::SkipLine { tail, command } => {
                let Some(lf) = buf.iter().position(|&b| b == b'\n') else {
                    push_tail(tail, buf);
                    buf.clear();
                    return None;
                };
                push_tail(tail, &buf[..=lf]);
                buf.advance(lf + 1);
                self.state = match marker::parse(&tail[..content_len(tail)]) {
                    Marker::Literal { len, sync: false } if *command => {
                        State::SkipLiteral { remaining: len }
                    }
                    // A plain line or a `{n}` the client will not get a `+` for: done.
                    _ => State::Line,
                };
            }
            State::Line | State::Literal { .. } => {}
        }
        Some(())
    }

    /// The current command's tag, from its first line: in `pending`, else at the front of `buf`.
    fn tag(&self, buf: &[u8]) -> Option<String> {
        let first = if self.pending.is_empty() {
            buf
        } else {
            &self.pending[..]
        };
        // Only what is sure to be there when an over-long line is noticed, so the answer does
        // not depend on how the input was split into reads.
        marker::tag(first, self.limits.max_line.saturating_add(2))
    }

    /// Forgets the command gathered so far, releasing its memory.
    fn reset_command(&mut self) {
        self.pending = BytesMut::new();
        self.literals.clear();
    }
}

impl fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("line too long")
    }
}

impl std::error::Error for LineTooLong {}

/// How many of `remaining` literal octets `buf` holds.
fn take(remaining: u64, buf: &[u8]) -> usize {
    usize::try_from(remaining).map_or(buf.len(), |r| r.min(buf.len()))
}

#[cfg(test)]
#[path = "framer_tests.rs"]
mod tests;
