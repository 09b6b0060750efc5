//! Multi-line response bodies (RFC 1939 §3): CRLF line endings, dot-stuffing, the `.` line.
//!
//! A line ends at CRLF, at a bare LF or at a bare CR; all three go out as CRLF, so a stored
//! message with LF endings is sent as the RFC asks and [`crlf_size`] can say in advance how
//! many octets that makes. [`write_multiline`], [`crlf_size`] and [`top`] share that one
//! definition of a line.

/// Where the line starting at `from` ends: (end of its content, start of the next line), or
/// `None` if `body[from..]` holds no line ending.
fn line_end(body: &[u8], from: usize) -> Option<(usize, usize)> {
    let rest = body.get(from..)?;
    let at = from + memchr::memchr2(b'\r', b'\n', rest)?;
    let next = if body[at] == b'\r' && body.get(at + 1) == Some(&b'\n') {
        at + 2
    } else {
        at + 1
    };
    Some((at, next))
}

/// Appends `body` as a POP3 multi-line response body: every line ends CRLF (bare LF and bare
/// CR become CRLF), lines starting with '.' get another '.', a missing final line ending is
/// added, then ".\r\n".
///
/// Octets that need no change are copied in runs as long as possible, so a body already in
/// CRLF form costs one scan and a few large copies. Returns what [`crlf_size`] would say of
/// `body` (counted in the same scan, so RETR need not make a second one).
pub fn write_multiline(out: &mut Vec<u8>, body: &[u8]) -> u64 {
    if crlf_clean(body) {
        return write_clean(out, body);
    }
    let mut size = body.len() as u64;
    out.reserve(body.len() + body.len() / 64 + 5);
    // `body[copied..pos]` is waiting to be copied unchanged.
    let mut copied = 0;
    let mut pos = 0;
    while pos < body.len() {
        if body[pos] == b'.' {
            out.extend_from_slice(&body[copied..pos]);
            out.push(b'.');
            copied = pos;
        }
        match line_end(body, pos) {
            Some((end, next)) => {
                if next - end == 1 {
                    out.extend_from_slice(&body[copied..end]);
                    out.extend_from_slice(b"\r\n");
                    copied = next;
                    size += 1;
                }
                pos = next;
            }
            None => {
                out.extend_from_slice(&body[copied..]);
                out.extend_from_slice(b"\r\n");
                copied = body.len();
                pos = body.len();
                size += 2;
            }
        }
    }
    out.extend_from_slice(&body[copied..]);
    out.extend_from_slice(b".\r\n");
    size
}

/// Whether every CR in `body` is followed by LF and every LF preceded by CR: mail as SMTP
/// delivers it. Checked without branching per byte, so the compiler vectorises it; a stored
/// message is nearly always clean, and [`write_clean`] then needs no line-by-line scan.
fn crlf_clean(body: &[u8]) -> bool {
    let (Some(&first), Some(&last)) = (body.first(), body.last()) else {
        return true;
    };
    if first == b'\n' || last == b'\r' {
        return false;
    }
    // A pair (a, b) is bare exactly when "a is CR" differs from "b is LF". One fold over every
    // pair, no early exit, so it vectorises; unclean bodies are rare enough not to need one.
    body.iter().zip(&body[1..]).fold(0u8, |acc, (&a, &b)| {
        acc | (u8::from(a == b'\r') ^ u8::from(b == b'\n'))
    }) == 0
}

/// When `body` needs no rewriting to go out as a multi-line response (CRLF-clean, no line
/// starting with '.'), what must follow it: the terminator, after a CRLF when the body does not
/// end in one. [`write_multiline`] writes exactly `body` then this for such a body, so a caller
/// can send the stored bytes as they are instead of copying them; its octet count is then
/// `body.len()`, plus 2 for the longer tail.
pub fn verbatim_tail(body: &[u8]) -> Option<&'static [u8]> {
    let dot_line = body.first() == Some(&b'.') || memchr::memmem::find(body, b"\n.").is_some();
    if dot_line || !crlf_clean(body) {
        return None;
    }
    Some(if body.is_empty() || body.ends_with(b"\n") {
        b".\r\n"
    } else {
        b"\r\n.\r\n"
    })
}

/// [`write_multiline`] for a [`crlf_clean`] body: only lines starting with '.' (after a CRLF,
/// or at the very start) change, so the body goes out in runs between them.
fn write_clean(out: &mut Vec<u8>, body: &[u8]) -> u64 {
    out.reserve(body.len() + 5);
    let mut copied = 0;
    if body.first() == Some(&b'.') {
        out.push(b'.');
    }
    for at in memchr::memmem::find_iter(body, b"\n.") {
        out.extend_from_slice(&body[copied..=at]);
        out.push(b'.');
        copied = at + 1;
    }
    out.extend_from_slice(&body[copied..]);
    let mut size = body.len() as u64;
    if !body.is_empty() && !body.ends_with(b"\n") {
        out.extend_from_slice(b"\r\n");
        size += 2;
    }
    out.extend_from_slice(b".\r\n");
    size
}

/// Octets `body` has once every line ends CRLF, before dot-stuffing: what STAT and LIST
/// report (RFC 1939 §5), equal to what [`write_multiline`] writes minus the added dots and
/// the final `.` line.
pub fn crlf_size(body: &[u8]) -> u64 {
    let mut size = body.len() as u64;
    let mut pos = 0;
    while let Some((end, next)) = line_end(body, pos) {
        if next - end == 1 {
            size += 1;
        }
        pos = next;
    }
    if pos < body.len() {
        size += 2;
    }
    size
}

/// What TOP sends (RFC 1939 §7): the header section, the blank line after it, and the first
/// `lines` lines of the body; the whole message if it is shorter or has no blank line.
///
/// The result is a prefix of `message`, to be written with [`write_multiline`].
pub fn top(message: &[u8], lines: u32) -> &[u8] {
    let mut pos = 0;
    loop {
        let Some((end, next)) = line_end(message, pos) else {
            return message;
        };
        let blank = end == pos;
        pos = next;
        if blank {
            break;
        }
    }
    for _ in 0..lines {
        match line_end(message, pos) {
            Some((_, next)) => pos = next,
            None => return message,
        }
    }
    &message[..pos]
}

#[cfg(test)]
#[path = "multiline_tests.rs"]
mod tests;
