//! The DATA phase: end-of-data detection and dot-unstuffing (RFC 5321 §4.5.2), and the
//! reverse, [`dot_stuff`], for sending.
//!
//! # Implementation notes
//! - Only `CRLF "." CRLF` ends the data, or `"." CRLF` as the very first line (an empty
//!   message). `LF "." LF`, `CRLF "." LF` and `LF "." CRLF` do not: receivers that disagree on
//!   this can be made to see two messages where the sender saw one ("SMTP smuggling",
//!   CVE-2023-51764/51765/51766).
//! - A bare LF ends a line inside the message and is stored as CRLF (RFC 5322 §2.3 allows no
//!   bare LF). A bare CR is kept as it is and never ends a line.
//! - The CRLF before the final "." belongs to the message, so a message always ends in CRLF.
//! - The decoder is a byte state machine with no buffering of its own: every byte is consumed
//!   exactly once, whatever the chunk boundaries.

use bytes::{Buf, BytesMut};

/// Decodes one message body in the DATA phase.
///
/// Create one per DATA command. Feed it the receive buffer with [`DataDecoder::decode`] until it
/// returns [`DataProgress::Done`].
#[derive(Debug, Clone)]
pub struct DataDecoder {
    max_size: usize,
    size: usize,
    too_big: bool,
    state: State,
}

/// What [`DataDecoder::decode`] achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataProgress {
    /// All of `input` was consumed and the end marker has not been seen yet.
    NeedMore,
    /// The end marker was consumed. `too_big` is true when the message exceeded `max_size`:
    /// its output is truncated and it must be rejected (`552 5.3.4`).
    Done {
        /// The message was larger than `max_size`.
        too_big: bool,
    },
}

/// Where the decoder is within the current line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a line. `after_crlf` is true when the previous line ended in CRLF (or
    /// there was no previous line): only then can "." CRLF be the end marker.
    LineStart { after_crlf: bool },
    /// A line started with "."; the dot has been dropped.
    Dot { after_crlf: bool },
    /// A line was "." CR so far; an LF now ends the data if `after_crlf`.
    DotCr { after_crlf: bool },
    /// Inside a line.
    Text,
    /// Inside a line after a CR that has not been written yet.
    Cr,
    /// The end marker has been consumed.
    Done,
}

impl DataDecoder {
    /// Creates a decoder that keeps at most `max_size` octets of unstuffed message.
    pub fn new(max_size: usize) -> Self {
        DataDecoder {
            max_size,
            size: 0,
            too_big: false,
            state: State::LineStart { after_crlf: true },
        }
    }

    /// Consumes bytes from the front of `input` and appends the unstuffed message to `out`.
    ///
    /// Exactly the consumed bytes are removed from `input`: bytes after the end marker stay
    /// there (pipelined commands). Once the message exceeds `max_size`, nothing more is
    /// appended (`out` receives exactly the first `max_size` octets of the message) but input
    /// is still consumed up to the end marker. The end marker may be split at any byte boundary across
    /// calls. After `Done`, further calls consume nothing and return `Done` again.
    pub fn decode(&mut self, input: &mut BytesMut, out: &mut Vec<u8>) -> DataProgress {
        let mut i = 0;
        while i < input.len() && self.state != State::Done {
            let b = input[i];
            i += 1;
            match self.state {
                State::LineStart { after_crlf } if b == b'.' => {
                    self.state = State::Dot { after_crlf };
                }
                State::LineStart { .. } => {
                    self.text_byte(b, out);
                }
                State::Dot { after_crlf } => match b {
                    b'\r' => self.state = State::DotCr { after_crlf },
                    _ => self.text_byte(b, out),
                },
                State::DotCr { after_crlf: true } if b == b'\n' => {
                    self.state = State::Done;
                }
                State::DotCr { .. } | State::Cr => self.cr_then(b, out),
                State::Text => {
                    // Copy the run of ordinary bytes in one go.
                    let rest = &input[i - 1..];
                    let run = rest
                        .iter()
                        .position(|&c| c == b'\r' || c == b'\n')
                        .unwrap_or(rest.len());
                    if run == 0 {
                        self.text_byte(b, out);
                    } else {
                        self.emit(&rest[..run], out);
                        i += run - 1;
                    }
                }
                State::Done => {}
            }
        }
        input.advance(i);
        match self.state {
            State::Done => DataProgress::Done {
                too_big: self.too_big,
            },
            _ => DataProgress::NeedMore,
        }
    }

    /// Unstuffed message octets seen so far, including those dropped past `max_size`.
    pub fn size(&self) -> usize {
        self.size
    }

    /// True once the message has exceeded `max_size`.
    pub fn is_too_big(&self) -> bool {
        self.too_big
    }

    /// Handles a byte inside a line (no pending CR).
    fn text_byte(&mut self, b: u8, out: &mut Vec<u8>) {
        match b {
            b'\r' => self.state = State::Cr,
            b'\n' => {
                // Bare LF: store as CRLF, but it can never precede an end marker.
                self.emit(b"\r\n", out);
                self.state = State::LineStart { after_crlf: false };
            }
            _ => {
                self.emit(&[b], out);
                self.state = State::Text;
            }
        }
    }

    /// Handles a byte after a pending CR.
    fn cr_then(&mut self, b: u8, out: &mut Vec<u8>) {
        match b {
            b'\n' => {
                self.emit(b"\r\n", out);
                self.state = State::LineStart { after_crlf: true };
            }
            b'\r' => {
                self.emit(b"\r", out);
                self.state = State::Cr;
            }
            _ => {
                self.emit(&[b'\r', b], out);
                self.state = State::Text;
            }
        }
    }

    /// Appends to `out` whatever still fits under `max_size`, so that a too-big message's
    /// output is always its first `max_size` octets, however the input was chunked.
    fn emit(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        let room = self.max_size.saturating_sub(self.size);
        if bytes.len() > room {
            self.too_big = true;
        }
        if let Some(fits) = bytes.get(..bytes.len().min(room)) {
            out.extend_from_slice(fits);
        }
        self.size = self.size.saturating_add(bytes.len());
    }
}

/// Dot-stuffs a message for sending after DATA and appends the end marker.
///
/// Every line ending (CRLF, bare LF or bare CR) is written as CRLF, so the output carries no
/// bare CR or LF that a receiver could read differently; a "." is added before each line that
/// starts with "."; the last line gets a CRLF if it lacks one; then ".\r\n" is appended. An
/// empty message becomes just ".\r\n".
pub fn dot_stuff(msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + msg.len() / 64 + 5);
    let mut rest = msg;
    while !rest.is_empty() {
        let end = rest
            .iter()
            .position(|&c| c == b'\r' || c == b'\n')
            .unwrap_or(rest.len());
        let (line, tail) = rest.split_at(end);
        if line.first() == Some(&b'.') {
            out.push(b'.');
        }
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
        rest = tail
            .strip_prefix(b"\r\n")
            .or_else(|| tail.get(1..))
            .unwrap_or(&[]);
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[cfg(test)]
#[path = "data_tests.rs"]
mod tests;
