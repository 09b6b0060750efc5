//! What SEARCH, SORT and THREAD read from a message (RFC 9051 §6.4.4, RFC 5256, RFC 5957).
//!
//! Header text is decoded here (RFC 2047 encoded words, raw ISO-2022-JP), unlike ENVELOPE.
//! Matching is a case-insensitive substring test on Unicode simple lowercase ([`fold_case`]),
//! which is what RFC 9051 §6.4.4 asks for with its "case-insensitive" and is close to the
//! i;unicode-casemap comparator RFC 5256 names.

use mail_parser::decoders::html::html_to_text;
use mail_parser::{HeaderValue, parsers::MessageStream};

use super::address::EnvelopeAddress;
use super::decode::{TransferEncoding, to_utf8};
use super::header;
use super::structure::{MessageStructure, Part, PartBody};

/// Default bound on [`search_text`]'s output: 1 MiB of text is plenty to search, and keeps a
/// huge attachment-like text part from costing memory per message searched.
pub const SEARCH_TEXT_LIMIT: usize = 1 << 20;

/// The decoded values of every top-level header field called `name` (case-insensitive), in
/// order: unfolded, RFC 2047 encoded words decoded to UTF-8.
pub fn header_values(message: &[u8], name: &str) -> Vec<String> {
    let body_start = header::body_start(message, 0, message.len());
    header::fields(message.get(..body_start).unwrap_or_default())
        .iter()
        .filter(|f| f.name.eq_ignore_ascii_case(name.as_bytes()))
        .map(|f| decode_header_value(f.value))
        .collect()
}

/// The whole top-level header as searchable text, one `Name: decoded value` line per field,
/// for SEARCH TEXT (RFC 9051 §6.4.4: "header or body"). Each field is decoded on its own:
/// decoding the raw block in one go stops at the first line end.
pub fn header_text(message: &[u8], s: &MessageStructure) -> String {
    let block = message.get(..s.root.body_start).unwrap_or_default();
    let mut out = String::new();
    for f in header::fields(block) {
        out.push_str(&String::from_utf8_lossy(f.name));
        out.push_str(": ");
        out.push_str(&decode_header_value(f.value));
        out.push('\n');
    }
    out
}

/// Decodes a raw header value: unfolds it and decodes RFC 2047 encoded words; unencoded
/// ISO-2022-JP (7-bit escape sequences, still sent by some Japanese clients) is converted
/// too, and other raw 8-bit bytes are read as UTF-8.
pub fn decode_header_value(raw: &[u8]) -> String {
    let converted;
    let raw = if raw.contains(&0x1b) {
        converted = to_utf8(raw, Some("iso-2022-jp"));
        converted.as_bytes()
    } else {
        raw
    };
    let input = header::for_parser(raw);
    match MessageStream::new(&input).parse_unstructured() {
        HeaderValue::Text(text) => text.into_owned(),
        HeaderValue::TextList(list) => list.join(" "),
        _ => String::new(),
    }
}

/// The decoded text of every `text/*` part, attached messages included, for BODY and TEXT
/// search: transfer encoding undone, charset converted to UTF-8, HTML reduced to its text.
/// Parts are joined by a line break; the output stops at `limit` bytes (on a char boundary).
pub fn search_text(message: &[u8], s: &MessageStructure, limit: usize) -> String {
    let mut out = String::new();
    collect_text(message, &s.root, limit, &mut out);
    out
}

fn collect_text(message: &[u8], part: &Part, limit: usize, out: &mut String) {
    if out.len() >= limit {
        return;
    }
    match &part.body {
        PartBody::Multipart(children) => {
            for child in children {
                collect_text(message, child, limit, out);
            }
        }
        PartBody::Message(inner) => collect_text(message, &inner.root, limit, out),
        PartBody::Basic if part.is_text() => {
            let raw = message.get(part.body_start..part.end).unwrap_or_default();
            // An unknown encoding is searched as it stands: better than not at all.
            let bytes = match part.encoding() {
                TransferEncoding::Unknown => raw.to_vec(),
                known => known.decode(raw).unwrap_or_default(),
            };
            let mut text = to_utf8(&bytes, part.param("charset"));
            if part.subtype.eq_ignore_ascii_case("html") {
                text = html_to_text(&text);
            }
            if !out.is_empty() {
                out.push('\n');
            }
            let room = limit.saturating_sub(out.len());
            let mut cut = room.min(text.len());
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            out.push_str(text.get(..cut).unwrap_or_default());
        }
        PartBody::Basic => {}
    }
}

/// Unicode simple lowercase of `text`, for case-insensitive matching.
pub fn fold_case(text: &str) -> String {
    text.chars().flat_map(char::to_lowercase).collect()
}

/// True when `needle` occurs in `haystack`, ignoring case ([`fold_case`] on both).
pub fn contains_ci(haystack: &str, needle: &str) -> bool {
    fold_case(haystack).contains(&fold_case(needle))
}

/// The base subject of RFC 5256 §2.1, from an already decoded subject: white space collapsed,
/// `(fwd)` trailers, `Re:` / `Fw:` / `Fwd:` leaders (with `[blob]`s before or inside them),
/// lone leading `[blob]`s and `[fwd: ...]` wrappers removed. Case is kept; compare the result
/// with [`fold_case`].
pub fn base_subject(subject: &str) -> String {
    // Step 1: tabs and line breaks become spaces, runs of white space one space.
    let collapsed = subject
        .split([' ', '\t', '\r', '\n'])
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let mut s = collapsed.as_str();
    loop {
        // Step 2: subj-trailer = "(fwd)" / WSP, repeatedly.
        loop {
            let t = s.trim_end();
            match strip_suffix_ci(t, "(fwd)") {
                Some(rest) => s = rest,
                None => {
                    s = t;
                    break;
                }
            }
        }
        // Steps 3 and 4, until neither changes anything.
        loop {
            let t = s.trim_start();
            if let Some(rest) = strip_refwd(t) {
                s = rest;
                continue;
            }
            if let Some(rest) = strip_blob(t)
                && !rest.trim().is_empty()
            {
                s = rest;
                continue;
            }
            s = t;
            break;
        }
        // Step 5: subj-fwd-hdr / subj-fwd-trl, then back to step 2.
        match strip_prefix_ci(s, "[fwd:").and_then(|r| r.strip_suffix(']')) {
            Some(inner) => s = inner,
            None => break,
        }
    }
    s.to_owned()
}

/// `*subj-blob subj-refwd`: blobs, then `re` / `fw` / `fwd`, white space, an optional blob,
/// and a colon. Returns what follows the colon.
fn strip_refwd(s: &str) -> Option<&str> {
    let mut rest = s;
    while let Some(after) = strip_blob(rest) {
        rest = after;
    }
    let rest = strip_prefix_ci(rest, "re")
        .or_else(|| strip_prefix_ci(rest, "fwd"))
        .or_else(|| strip_prefix_ci(rest, "fw"))?;
    let rest = rest.trim_start_matches([' ', '\t']);
    let rest = strip_blob(rest).unwrap_or(rest);
    rest.strip_prefix(':')
}

/// `subj-blob = "[" *BLOBCHAR "]" *WSP`, BLOBCHAR being anything but the brackets.
fn strip_blob(s: &str) -> Option<&str> {
    let inner = s.strip_prefix('[')?;
    let close = inner.find(['[', ']'])?;
    let rest = inner.get(close..)?.strip_prefix(']')?;
    Some(rest.trim_start_matches([' ', '\t']))
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

fn strip_suffix_ci<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    let tail = s.get(cut..)?;
    tail.eq_ignore_ascii_case(suffix)
        .then(|| s.get(..cut))
        .flatten()
}

/// The sent date of RFC 5256 §2.2: the Date header in seconds since the epoch (UTC, its zone
/// applied). `None` when absent or unparsable (SORT then uses the internal date).
pub fn sent_date(s: &MessageStructure) -> Option<i64> {
    let raw = s.envelope.date.as_ref()?;
    let input = header::for_parser(raw.as_bytes());
    match MessageStream::new(&input).parse_date() {
        HeaderValue::DateTime(dt) if dt.is_valid() => Some(dt.to_timestamp()),
        _ => None,
    }
}

/// The mailbox (local part) of the first address in `list`, for SORT FROM / TO / CC (RFC 5256
/// §3); group markers are skipped. `None` for an empty list.
pub fn first_mailbox(list: &[EnvelopeAddress]) -> Option<String> {
    let first = list.iter().find(|a| !a.is_group_marker())?;
    first.mailbox.as_ref().map(|m| m.to_string_lossy())
}

/// The display form of the first address in `list` for SORT DISPLAYFROM / DISPLAYTO (RFC 5957
/// §3): its display name decoded, or, without one, `mailbox@host`.
pub fn display_address(list: &[EnvelopeAddress]) -> Option<String> {
    let first = list.iter().find(|a| !a.is_group_marker())?;
    if let Some(name) = &first.name {
        let decoded = decode_header_value(name.as_bytes());
        if !decoded.trim().is_empty() {
            return Some(decoded);
        }
    }
    let mailbox = first
        .mailbox
        .as_ref()
        .map(|m| m.to_string_lossy())
        .unwrap_or_default();
    let host = first
        .host
        .as_ref()
        .map(|h| h.to_string_lossy())
        .unwrap_or_default();
    Some(format!("{mailbox}@{host}"))
}

/// The message ids THREAD=REFERENCES works with (RFC 5256 §3 REFERENCES step 1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ThreadIds {
    /// The `Message-ID`, without angle brackets.
    pub message_id: Option<String>,
    /// The ids in `References`, in order.
    pub references: Vec<String>,
    /// The ids in `In-Reply-To` (used when References is absent).
    pub in_reply_to: Vec<String>,
}

/// Reads Message-ID, References and In-Reply-To from the top-level header.
pub fn thread_ids(message: &[u8], s: &MessageStructure) -> ThreadIds {
    let block = message.get(..s.root.body_start).unwrap_or_default();
    let fields = header::fields(block);
    let ids = |name| {
        header::first(&fields, name)
            .map(|v| msg_ids(&header::unfold(v)))
            .unwrap_or_default()
    };
    ThreadIds {
        message_id: ids("message-id").into_iter().next(),
        references: ids("references"),
        in_reply_to: ids("in-reply-to"),
    }
}

/// The `<id>`s of a field (RFC 5322 §3.6.4), brackets removed, comments and phrases skipped;
/// a field without any bracketed id but with one word is taken as that id (broken clients).
fn msg_ids(value: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(value);
    let mut ids = Vec::new();
    let mut rest = text.as_ref();
    while let Some(open) = rest.find('<') {
        let after = rest.get(open + 1..).unwrap_or_default();
        let Some(close) = after.find('>') else {
            break;
        };
        let id: String = after
            .get(..close)
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if !id.is_empty() {
            ids.push(id);
        }
        rest = after.get(close + 1..).unwrap_or_default();
    }
    if ids.is_empty() {
        let words: Vec<&str> = text.split_whitespace().collect();
        if let [word] = words.as_slice() {
            ids.push((*word).to_owned());
        }
    }
    ids
}

#[cfg(test)]
#[path = "search_tests.rs"]
mod tests;
