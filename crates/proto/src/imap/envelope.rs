//! FETCH ENVELOPE (RFC 9051 §7.5.2), and the IMAP string forms the FETCH encoders share.

use crate::mime::{EnvelopeAddress, MessageStructure, RawText};

/// Longest string sent quoted; longer ones go as literals, which clients read without
/// scanning for escapes.
const MAX_QUOTED: usize = 1024;

/// Writes the ENVELOPE of `s` (RFC 9051 §7.5.2 and §9 `envelope`; RFC 3501 has the same
/// form): `(date subject from sender reply-to to cc bcc in-reply-to message-id)`.
///
/// Sender and Reply-To fall back to From when absent or empty, as RFC 9051 §7.5.2 requires of
/// the server.
pub fn envelope(s: &MessageStructure, out: &mut Vec<u8>) {
    let e = &s.envelope;
    out.push(b'(');
    nstring(e.date.as_ref().map(RawText::as_bytes), out);
    out.push(b' ');
    nstring(e.subject.as_ref().map(RawText::as_bytes), out);
    out.push(b' ');
    addresses(&e.from, out);
    out.push(b' ');
    addresses(
        if e.sender.is_empty() {
            &e.from
        } else {
            &e.sender
        },
        out,
    );
    out.push(b' ');
    addresses(
        if e.reply_to.is_empty() {
            &e.from
        } else {
            &e.reply_to
        },
        out,
    );
    for list in [&e.to, &e.cc, &e.bcc] {
        out.push(b' ');
        addresses(list, out);
    }
    out.push(b' ');
    nstring(e.in_reply_to.as_ref().map(RawText::as_bytes), out);
    out.push(b' ');
    nstring(e.message_id.as_ref().map(RawText::as_bytes), out);
    out.push(b')');
}

/// `"(" 1*address ")" / nil`, `address = "(" addr-name SP addr-adl SP addr-mailbox SP
/// addr-host ")"`.
fn addresses(list: &[EnvelopeAddress], out: &mut Vec<u8>) {
    if list.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for a in list {
        out.push(b'(');
        nstring(a.name.as_ref().map(RawText::as_bytes), out);
        out.push(b' ');
        nstring(a.adl.as_ref().map(RawText::as_bytes), out);
        out.push(b' ');
        nstring(a.mailbox.as_ref().map(RawText::as_bytes), out);
        out.push(b' ');
        nstring(a.host.as_ref().map(RawText::as_bytes), out);
        out.push(b')');
    }
    out.push(b')');
}

/// `nstring`: NIL or [`string`].
pub(crate) fn nstring(value: Option<&[u8]>, out: &mut Vec<u8>) {
    match value {
        Some(v) => string(v, out),
        None => out.extend_from_slice(b"NIL"),
    }
}

/// `string` (RFC 9051 §4.3): quoted when every octet is a 7-bit TEXT-CHAR and it is short,
/// else a literal `{n}\r\n...`, which carries CR, LF and 8-bit text. NUL may appear in
/// neither, so it becomes U+FFFD.
pub(crate) fn string(value: &[u8], out: &mut Vec<u8>) {
    let quotable = value.len() <= MAX_QUOTED
        && value
            .iter()
            .all(|&b| (0x01..0x80).contains(&b) && b != b'\r' && b != b'\n');
    if quotable {
        out.push(b'"');
        for &b in value {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
        return;
    }
    let mut body = Vec::with_capacity(value.len());
    for &b in value {
        if b == 0 {
            body.extend_from_slice("\u{fffd}".as_bytes());
        } else {
            body.push(b);
        }
    }
    literal(&body, out);
}

/// `{n}\r\n` and the octets.
pub(crate) fn literal(body: &[u8], out: &mut Vec<u8>) {
    out.push(b'{');
    out.extend_from_slice(body.len().to_string().as_bytes());
    out.extend_from_slice(b"}\r\n");
    out.extend_from_slice(body);
}
