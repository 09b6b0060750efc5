//! [`Address`]: a validated RFC 5321 mailbox, `local-part "@" domain`.
//!
//! ```text
//! Mailbox        = Local-part "@" ( Domain / address-literal )      ; RFC 5321 §4.1.2
//! Local-part     = Dot-string / Quoted-string
//! Dot-string     = Atom *("." Atom)
//! Quoted-string  = DQUOTE *( qtextSMTP / quoted-pairSMTP ) DQUOTE
//! Domain         = sub-domain *("." sub-domain)
//! sub-domain     = Let-dig [Ldh-str] / U-label                      ; RFC 6531 §3.3
//! ```
//!
//! # Implementation notes
//! - Size limits from RFC 5321 §4.5.3.1: local part 64 octets, domain 255 octets; the whole
//!   mailbox at most 254 octets so that `<mailbox>` fits the 256-octet path limit.
//! - Non-ASCII UTF-8 is accepted in atoms, quoted strings and domain labels (SMTPUTF8,
//!   RFC 6531). Whitespace and control characters are refused everywhere, except a plain space
//!   inside a quoted local part.
//! - The domain is lowercased when parsed; the local part is kept as given, because RFC 5321
//!   §2.4 lets the receiving host decide whether it is case-sensitive.
//!   [`Address::normalized`] lowercases its ASCII letters to make the store key.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

const MAX_LOCAL: usize = 64;
const MAX_DOMAIN: usize = 255;
const MAX_ADDRESS: usize = 254;
const MAX_LABEL: usize = 63;

/// A syntactically valid mailbox, `local@domain`, with a lowercase domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    local: String,
    domain: String,
}

/// Why a string is not a valid mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AddressError {
    /// The string is empty.
    Empty,
    /// There is no `@` outside a quoted local part.
    MissingAt,
    /// There is more than one `@` outside a quoted local part.
    MultipleAt,
    /// Nothing before the `@`.
    EmptyLocal,
    /// Nothing after the `@`.
    EmptyDomain,
    /// The local part is longer than 64 octets.
    LocalTooLong,
    /// The domain is longer than 255 octets.
    DomainTooLong,
    /// The whole address is longer than 254 octets.
    TooLong,
    /// A space, tab or other whitespace or control character where it is not allowed.
    Whitespace,
    /// A character not allowed in an unquoted local part.
    InvalidLocalChar(char),
    /// A dot at the start or end of the local part, or two dots in a row.
    InvalidDots,
    /// A quoted local part is not closed, or is not followed directly by `@`.
    BadQuotes,
    /// A domain label is empty, too long, starts or ends with `-`, or has an invalid character.
    InvalidDomain,
    /// An address literal in brackets is not `[IPv4]` or `[IPv6:addr]`.
    InvalidAddressLiteral,
}

impl Address {
    /// Parses a mailbox, without angle brackets and without trimming anything.
    ///
    /// Accepts `user@example.org`, `"john doe"@example.org`, `user@[192.0.2.1]`,
    /// `user@[IPv6:2001:db8::1]` and UTF-8 (`jörg@bücher.example`). The domain is lowercased.
    pub fn parse(s: &str) -> Result<Address, AddressError> {
        if s.is_empty() {
            return Err(AddressError::Empty);
        }
        // U+FFFD is what a lossy decoder makes of bytes that were not UTF-8 (RFC 6531 requires
        // UTF-8); no real mailbox contains it.
        if s.contains(char::REPLACEMENT_CHARACTER) {
            return Err(AddressError::InvalidLocalChar(char::REPLACEMENT_CHARACTER));
        }
        let (local, domain) = split_at_sign(s)?;
        if local.is_empty() {
            return Err(AddressError::EmptyLocal);
        }
        if domain.is_empty() {
            return Err(AddressError::EmptyDomain);
        }
        if domain.chars().any(is_space_or_control) {
            return Err(AddressError::Whitespace);
        }
        if local.len() > MAX_LOCAL {
            return Err(AddressError::LocalTooLong);
        }
        validate_local(local)?;
        let domain = domain.to_lowercase();
        if domain.len() > MAX_DOMAIN {
            return Err(AddressError::DomainTooLong);
        }
        if domain.starts_with('[') {
            validate_literal(&domain)?;
        } else if !labels_valid(&domain) {
            return Err(AddressError::InvalidDomain);
        }
        if local.len() + 1 + domain.len() > MAX_ADDRESS {
            return Err(AddressError::TooLong);
        }
        Ok(Address {
            local: local.to_owned(),
            domain,
        })
    }

    /// The local part, as given (quotes included if it was quoted).
    pub fn local(&self) -> &str {
        &self.local
    }

    /// The domain, lowercased; an address literal keeps its brackets.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// `local@domain` with ASCII letters of the local part lowercased: the store key.
    ///
    /// Only ASCII is folded, so the result is never longer than the address and always parses.
    pub fn normalized(&self) -> String {
        format!("{}@{}", self.local.to_ascii_lowercase(), self.domain)
    }
}

/// True if `s` is a valid domain name: dot-separated labels of 1..=63 octets, each made of
/// letters, digits and hyphens (not at either end) or containing non-ASCII UTF-8, 255 octets
/// at most. No address literals, no trailing dot. Case is not checked.
pub fn is_valid_domain(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_DOMAIN && labels_valid(s)
}

/// Splits at the `@` that separates local part and domain, honouring a quoted local part.
fn split_at_sign(s: &str) -> Result<(&str, &str), AddressError> {
    let at = if s.starts_with('"') {
        let close = closing_quote(s).ok_or(AddressError::BadQuotes)?;
        if s.as_bytes().get(close + 1) != Some(&b'@') {
            return Err(if s[close + 1..].contains('@') {
                AddressError::BadQuotes
            } else {
                AddressError::MissingAt
            });
        }
        close + 1
    } else {
        s.find('@').ok_or(AddressError::MissingAt)?
    };
    let (local, domain) = (&s[..at], &s[at + 1..]);
    if domain.contains('@') {
        return Err(AddressError::MultipleAt);
    }
    Ok((local, domain))
}

/// Byte index of the quote closing the quoted string that starts at index 0.
fn closing_quote(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(i),
            _ => {}
        }
    }
    None
}

fn validate_local(local: &str) -> Result<(), AddressError> {
    if let Some(inner) = local.strip_prefix('"').and_then(|l| l.strip_suffix('"')) {
        // RFC 5321 qtextSMTP / quoted-pairSMTP: printable ASCII and space, plus UTF-8.
        if inner.chars().any(|c| c != ' ' && is_space_or_control(c)) {
            return Err(AddressError::Whitespace);
        }
        return Ok(());
    }
    if let Some(c) = local.chars().find(|&c| !is_atext(c) && c != '.') {
        return Err(if is_space_or_control(c) {
            AddressError::Whitespace
        } else {
            AddressError::InvalidLocalChar(c)
        });
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(AddressError::InvalidDots);
    }
    Ok(())
}

/// RFC 5322 atext, extended with non-ASCII UTF-8 by RFC 6531.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || "!#$%&'*+-/=?^_`{|}~".contains(c)
        || (!c.is_ascii() && !is_space_or_control(c))
}

fn is_space_or_control(c: char) -> bool {
    c.is_whitespace() || c.is_control()
}

fn labels_valid(domain: &str) -> bool {
    domain.split('.').all(|label| {
        (1..=MAX_LABEL).contains(&label.len())
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| {
                c.is_ascii_alphanumeric() || c == '-' || (!c.is_ascii() && !is_space_or_control(c))
            })
    })
}

/// RFC 5321 §4.1.3 address literals; the general `tag:content` form is not accepted.
fn validate_literal(domain: &str) -> Result<(), AddressError> {
    let inner = domain
        .strip_prefix('[')
        .and_then(|d| d.strip_suffix(']'))
        .ok_or(AddressError::InvalidAddressLiteral)?;
    let ok = match inner.strip_prefix("ipv6:") {
        Some(v6) => v6.parse::<Ipv6Addr>().is_ok(),
        None => inner.parse::<Ipv4Addr>().is_ok(),
    };
    if ok {
        Ok(())
    } else {
        Err(AddressError::InvalidAddressLiteral)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local, self.domain)
    }
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Address::parse(s)
    }
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressError::Empty => f.write_str("empty address"),
            AddressError::MissingAt => f.write_str("missing @"),
            AddressError::MultipleAt => f.write_str("more than one @"),
            AddressError::EmptyLocal => f.write_str("nothing before the @"),
            AddressError::EmptyDomain => f.write_str("nothing after the @"),
            AddressError::LocalTooLong => f.write_str("local part longer than 64 octets"),
            AddressError::DomainTooLong => f.write_str("domain longer than 255 octets"),
            AddressError::TooLong => f.write_str("address longer than 254 octets"),
            AddressError::Whitespace => f.write_str("whitespace or control character in address"),
            AddressError::InvalidLocalChar(c) => {
                write!(f, "character {c:?} not allowed in local part (quote it)")
            }
            AddressError::InvalidDots => {
                f.write_str("local part starts or ends with a dot, or has two dots in a row")
            }
            AddressError::BadQuotes => f.write_str("unterminated or misplaced quotes"),
            AddressError::InvalidDomain => f.write_str(
                "invalid domain: labels must be 1-63 letters, digits or hyphens, not starting or ending with a hyphen",
            ),
            AddressError::InvalidAddressLiteral => {
                f.write_str("invalid address literal: use [192.0.2.1] or [IPv6:2001:db8::1]")
            }
        }
    }
}

impl std::error::Error for AddressError {}

#[cfg(test)]
#[path = "address_tests.rs"]
mod tests;
