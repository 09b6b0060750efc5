//! What the framer reads inside a line: its end, a trailing literal marker and the tag.

/// What the end of a line says about a following literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Marker {
    /// The line does not end in a literal marker: it ends the command.
    None,
    /// The line ends in something shaped like a marker (`{` then only digits, `+` and `-`, then
    /// `}`) that is not a valid one: `{}`, `{+5}`, `{-1}`, more than 20 digits, over `u64`.
    Bad,
    /// `{len}` (synchronizing, `sync`) or `{len+}`; a `~` before the `{` (literal8) changes
    /// nothing for framing.
    Literal {
        /// Number of data octets that follow the line's CRLF.
        len: u64,
        /// True for `{len}`: the client waits for a `+` continuation before sending the data.
        sync: bool,
    },
}

/// Longest tag we report (RFC 9051 does not cap tags; 64 octets is plenty for any client and
/// keeps an error path from copying attacker-sized strings).
pub(crate) const MAX_TAG: usize = 64;

/// Most digits a marker's number may have (`u64::MAX` has 20).
const MAX_DIGITS: usize = 20;

/// Octets of a skipped line kept to read its marker: `~{` + 20 digits + `+}` + CRLF fits.
pub(crate) const TAIL: usize = 32;

/// Length of a line without its LF and, if present, the CR before it.
pub(crate) fn content_len(line: &[u8]) -> usize {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line).len()
}

/// Appends `bytes` to `tail`, keeping only its last [`TAIL`] octets.
pub(crate) fn push_tail(tail: &mut Vec<u8>, bytes: &[u8]) {
    let bytes = &bytes[bytes.len().saturating_sub(TAIL)..];
    tail.extend_from_slice(bytes);
    let excess = tail.len().saturating_sub(TAIL);
    tail.drain(..excess);
}

/// Reads the literal marker at the very end of `line` (its content, without CRLF).
///
/// RFC 9051 §9: `literal = "{" number64 ["+"] "}" CRLF *CHAR8`; RFC 3516:
/// `literal8 = "~{" number64 "}" CRLF *OCTET`. Looks back only over the marker's own
/// characters, so the cost is bounded by the marker, not the line.
pub(crate) fn parse(line: &[u8]) -> Marker {
    let Some(rest) = line.strip_suffix(b"}") else {
        return Marker::None;
    };
    let open = rest
        .iter()
        .rposition(|b| !matches!(b, b'0'..=b'9' | b'+' | b'-'));
    let Some(open) = open.filter(|&i| rest[i] == b'{') else {
        // `}` ends an atom here (ATOM-CHAR allows it), not a marker.
        return Marker::None;
    };
    let body = &rest[open + 1..];
    let (digits, sync) = match body.strip_suffix(b"+") {
        Some(digits) => (digits, false),
        None => (body, true),
    };
    if digits.is_empty() || digits.len() > MAX_DIGITS {
        return Marker::Bad;
    }
    let mut len: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return Marker::Bad;
        }
        match len
            .checked_mul(10)
            .and_then(|l| l.checked_add(u64::from(d - b'0')))
        {
            Some(l) => len = l,
            None => return Marker::Bad,
        }
    }
    Marker::Literal { len, sync }
}

/// The tag at the start of a command's first line, if it is a valid one.
///
/// RFC 9051 §9: `tag = 1*<any ASTRING-CHAR except "+">`. The tag must be ended by SP, CR or LF
/// within the first `window` octets of `first_line` (and within [`MAX_TAG`] + 1), so the answer
/// does not depend on how much of an over-long line has arrived.
pub(crate) fn tag(first_line: &[u8], window: usize) -> Option<String> {
    let window = &first_line[..first_line.len().min(window).min(MAX_TAG + 1)];
    let end = window
        .iter()
        .position(|&b| matches!(b, b' ' | b'\r' | b'\n'))?;
    let tag = &window[..end];
    if tag.is_empty() || !tag.iter().all(|&b| is_tag_char(b)) {
        return None;
    }
    String::from_utf8(tag.to_vec()).ok()
}

/// ASTRING-CHAR except `+`: any CHAR but CTL, SP, `(`, `)`, `{`, `%`, `*`, DQUOTE, `\`
/// (`]`, a resp-special, is allowed in astrings).
fn is_tag_char(b: u8) -> bool {
    matches!(b, 0x21..=0x7e) && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b'+')
}

#[cfg(test)]
#[path = "marker_tests.rs"]
mod tests;
