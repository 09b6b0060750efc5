//! Address fields split the way IMAP's ENVELOPE wants them, without decoding.
//!
//! RFC 9051 §7.5.2: an address is (name adl mailbox host); a group is a start marker with the
//! group name as mailbox and NIL host, its members, then an end marker of four NILs. Names stay
//! raw (encoded words are the client's to decode); quoting is removed from display names and
//! kept in local parts so `mailbox@host` is still an addr-spec.
//!
//! The parser is lenient like the mail it meets (RFC 5322 §4.4 obsolete syntax, stray
//! commas, missing brackets): it never fails, and an address without a mailbox or domain gets
//! `MISSING_MAILBOX` / `MISSING_DOMAIN`, as Dovecot does, because a NIL host would turn it
//! into a group marker.

use serde::{Deserialize, Serialize};

use super::raw::RawText;

/// Mailbox written for an address that has none.
pub const MISSING_MAILBOX: &str = "MISSING_MAILBOX";
/// Host written for an address that has none.
pub const MISSING_DOMAIN: &str = "MISSING_DOMAIN";

/// One entry of an ENVELOPE address list: an address or a group marker.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EnvelopeAddress {
    /// Display name (raw phrase, quotes removed), or the comment after a bare addr-spec.
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<RawText>,
    /// Source route (`@a,@b`, RFC 5322 §4.4 obs-route).
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub adl: Option<RawText>,
    /// Local part; for a group start marker, the group name; `None` in an end marker.
    #[serde(rename = "m", default, skip_serializing_if = "Option::is_none")]
    pub mailbox: Option<RawText>,
    /// Domain; `None` only in group markers.
    #[serde(rename = "h", default, skip_serializing_if = "Option::is_none")]
    pub host: Option<RawText>,
}

impl EnvelopeAddress {
    /// True for a group start or end marker (host is NIL).
    pub fn is_group_marker(&self) -> bool {
        self.host.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// An atom or a quoted string (contents unescaped); `space` says white space came before.
    Word {
        text: Vec<u8>,
        quoted: bool,
        space: bool,
    },
    /// A domain literal, brackets included.
    Literal(Vec<u8>),
    /// A comment's contents.
    Comment(Vec<u8>),
    /// One of `< > , : ; @ .`
    Special(u8),
}

/// Splits an unfolded address field value into ENVELOPE entries.
pub fn parse_address_list(value: &[u8]) -> Vec<EnvelopeAddress> {
    let tokens = tokenize(value);
    let mut out = Vec::new();
    let mut in_group = false;
    let mut pos = 0;
    while pos < tokens.len() {
        let (entry, next, end) = parse_one(&tokens, pos, in_group);
        pos = next;
        match entry {
            Entry::GroupStart(name) if !in_group => {
                out.push(EnvelopeAddress {
                    mailbox: Some(RawText::new(name)),
                    ..EnvelopeAddress::default()
                });
                in_group = true;
            }
            Entry::GroupStart(_) | Entry::Nothing => {}
            Entry::Address(address) => out.push(address),
        }
        if end == End::Semicolon && in_group {
            out.push(EnvelopeAddress::default());
            in_group = false;
        }
    }
    if in_group {
        out.push(EnvelopeAddress::default());
    }
    out
}

enum Entry {
    GroupStart(Vec<u8>),
    Address(EnvelopeAddress),
    Nothing,
}

#[derive(PartialEq, Eq)]
enum End {
    Comma,
    Semicolon,
    Colon,
    Eof,
}

/// Reads one mailbox (or a group's display name) starting at `pos`; returns it, the position
/// after its terminator, and what that terminator was.
fn parse_one(tokens: &[Token], mut pos: usize, in_group: bool) -> (Entry, usize, End) {
    let mut phrase: Vec<&Token> = Vec::new();
    let mut comment: Option<Vec<u8>> = None;
    let mut angle: Option<(Option<Vec<u8>>, Vec<&Token>)> = None;
    let end = loop {
        let Some(token) = tokens.get(pos) else {
            break End::Eof;
        };
        pos += 1;
        match token {
            Token::Special(b',') => break End::Comma,
            Token::Special(b';') => break End::Semicolon,
            Token::Special(b':') if !in_group && angle.is_none() => break End::Colon,
            Token::Special(b'<') if angle.is_none() => {
                let (route, spec, next) = parse_angle(tokens, pos);
                angle = Some((route, spec));
                pos = next;
            }
            Token::Comment(text) => {
                if comment.is_none() {
                    comment = Some(text.clone());
                }
            }
            _ if angle.is_some() => {}
            other => phrase.push(other),
        }
    };
    if end == End::Colon {
        return (Entry::GroupStart(join_phrase(&phrase)), pos, end);
    }
    let entry = match angle {
        Some((route, spec)) => {
            let name = Some(join_phrase(&phrase))
                .filter(|n| !n.is_empty())
                .or(comment);
            Entry::Address(address(name, route, &spec))
        }
        None if phrase.is_empty() => Entry::Nothing,
        None => Entry::Address(address(comment, None, &phrase)),
    };
    (entry, pos, end)
}

/// Reads an angle-addr after its `<`: optional obs-route, then the addr-spec, up to `>`.
fn parse_angle(tokens: &[Token], mut pos: usize) -> (Option<Vec<u8>>, Vec<&Token>, usize) {
    let mut inner: Vec<&Token> = Vec::new();
    while let Some(token) = tokens.get(pos) {
        match token {
            Token::Special(b'>') => {
                pos += 1;
                break;
            }
            // An unclosed `<` ends at the next address separator.
            Token::Special(b',' | b';') if !looks_like_route(&inner) => break,
            Token::Comment(_) => {}
            other => inner.push(other),
        }
        pos += 1;
    }
    // RFC 5322 §4.4 obs-route: `@a,@b:` before the addr-spec.
    if matches!(inner.first(), Some(Token::Special(b'@')))
        && let Some(colon) = inner.iter().position(|t| **t == Token::Special(b':'))
    {
        let route = render(inner.get(..colon).unwrap_or_default(), false);
        let spec = inner.get(colon + 1..).unwrap_or_default().to_vec();
        return (Some(route), spec, pos);
    }
    (None, inner, pos)
}

fn looks_like_route(inner: &[&Token]) -> bool {
    matches!(inner.first(), Some(Token::Special(b'@')))
        && !inner.iter().any(|t| **t == Token::Special(b':'))
}

/// Builds an address from an addr-spec's tokens: the local part is everything before the last
/// `@`, the domain everything after it.
fn address(name: Option<Vec<u8>>, route: Option<Vec<u8>>, spec: &[&Token]) -> EnvelopeAddress {
    let at = spec.iter().rposition(|t| **t == Token::Special(b'@'));
    let (local, domain) = match at {
        Some(at) => (
            spec.get(..at).unwrap_or_default(),
            spec.get(at + 1..).unwrap_or_default(),
        ),
        None => (spec, &[][..]),
    };
    let local = render(local, true);
    let domain = render(domain, false);
    EnvelopeAddress {
        name: name.map(RawText::new),
        adl: route.map(RawText::new),
        mailbox: Some(RawText::new(if local.is_empty() {
            MISSING_MAILBOX.as_bytes().to_vec()
        } else {
            local
        })),
        host: Some(RawText::new(if domain.is_empty() {
            MISSING_DOMAIN.as_bytes().to_vec()
        } else {
            domain
        })),
    }
}

/// Joins a display name's words with single spaces, quotes removed.
fn join_phrase(tokens: &[&Token]) -> Vec<u8> {
    let mut out = Vec::new();
    for token in tokens {
        let text: &[u8] = match token {
            Token::Word { text, .. } => text,
            Token::Literal(text) => text,
            Token::Special(b) => std::slice::from_ref(b),
            Token::Comment(_) => continue,
        };
        if !out.is_empty() && matches!(token, Token::Word { space: true, .. }) {
            out.push(b' ');
        }
        out.extend_from_slice(text);
    }
    out
}

/// Writes tokens back without white space; quoted words get their quotes back if `requote`.
fn render(tokens: &[&Token], requote: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for token in tokens {
        match token {
            Token::Word { text, quoted, .. } if *quoted && requote => {
                out.push(b'"');
                for &b in text {
                    if b == b'"' || b == b'\\' {
                        out.push(b'\\');
                    }
                    out.push(b);
                }
                out.push(b'"');
            }
            Token::Word { text, .. } | Token::Literal(text) => out.extend_from_slice(text),
            Token::Special(b) => out.push(*b),
            Token::Comment(_) => {}
        }
    }
    out
}

fn tokenize(value: &[u8]) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut pos = 0;
    let mut space = false;
    while let Some(&b) = value.get(pos) {
        match b {
            b' ' | b'\t' | b'\r' | b'\n' => {
                space = true;
                pos += 1;
                continue;
            }
            b'"' => {
                let mut text = Vec::new();
                pos += 1;
                while let Some(&c) = value.get(pos) {
                    pos += 1;
                    match c {
                        b'"' => break,
                        b'\\' => {
                            if let Some(&next) = value.get(pos) {
                                text.push(next);
                                pos += 1;
                            }
                        }
                        b'\r' | b'\n' => {}
                        _ => text.push(c),
                    }
                }
                tokens.push(Token::Word {
                    text,
                    quoted: true,
                    space,
                });
            }
            b'(' => {
                let mut depth = 0usize;
                let mut text = Vec::new();
                while let Some(&c) = value.get(pos) {
                    pos += 1;
                    match c {
                        b'(' => {
                            depth += 1;
                            if depth > 1 {
                                text.push(c);
                            }
                        }
                        b')' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                break;
                            }
                            text.push(c);
                        }
                        b'\\' => {
                            if let Some(&next) = value.get(pos) {
                                text.push(next);
                                pos += 1;
                            }
                        }
                        _ => text.push(c),
                    }
                }
                tokens.push(Token::Comment(text));
            }
            b'[' => {
                let start = pos;
                while let Some(&c) = value.get(pos) {
                    pos += 1;
                    if c == b']' {
                        break;
                    }
                }
                tokens.push(Token::Literal(
                    value.get(start..pos).unwrap_or_default().to_vec(),
                ));
            }
            b'<' | b'>' | b',' | b':' | b';' | b'@' | b'.' => {
                tokens.push(Token::Special(b));
                pos += 1;
            }
            _ => {
                let start = pos;
                while let Some(&c) = value.get(pos) {
                    if b" \t\r\n\"(<>,:;@.[".contains(&c) {
                        break;
                    }
                    pos += 1;
                }
                tokens.push(Token::Word {
                    text: value.get(start..pos).unwrap_or_default().to_vec(),
                    quoted: false,
                    space,
                });
            }
        }
        space = false;
    }
    tokens
}

#[cfg(test)]
#[path = "address_tests.rs"]
mod tests;
