//! The POP3 command grammar: one line, without its line ending, to a [`Command`].

use std::fmt;

use crate::secret::Secret;

use super::command::Command;

/// Why a command line was refused; the session answers `-ERR message`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseError {
    /// Unknown keyword, or a known one with bad arguments.
    pub kind: ParseErrorKind,
    /// What was wrong, for a person to read: printable ASCII, no line ending.
    pub message: &'static str,
}

/// The two ways a command line can be wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// The keyword is not a POP3 command this parser knows (or the line is empty).
    Unknown,
    /// The keyword is known; its arguments are missing, extra or malformed.
    Syntax,
}

impl ParseError {
    fn unknown(message: &'static str) -> ParseError {
        ParseError {
            kind: ParseErrorKind::Unknown,
            message,
        }
    }

    fn syntax(message: &'static str) -> ParseError {
        ParseError {
            kind: ParseErrorKind::Syntax,
            message,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parses one command line, given WITHOUT its CRLF.
///
/// Keywords are case-insensitive (RFC 1939 §3). Arguments are separated by spaces; runs of
/// spaces and trailing spaces are tolerated, except in PASS, whose argument is everything
/// after the first space. Message numbers are decimal `u32` greater than 0: `0`, signs,
/// overflow and trailing junk are refused. Text arguments must be UTF-8 without control
/// characters (PASS only refuses NUL and CR). Never panics, whatever the input.
pub fn parse_command(line: &[u8]) -> Result<Command, ParseError> {
    let (keyword, rest) = match memchr::memchr(b' ', line) {
        Some(sp) => (&line[..sp], &line[sp + 1..]),
        None => (line, &b""[..]),
    };
    let is = |name: &str| keyword.eq_ignore_ascii_case(name.as_bytes());
    if is("USER") {
        let name = text(rest.trim_ascii(), "syntax: USER name")?;
        if name.is_empty() {
            return Err(ParseError::syntax("syntax: USER name"));
        }
        Ok(Command::User(name))
    } else if is("PASS") {
        password(rest).map(Command::Pass)
    } else if is("APOP") {
        const USAGE: &str = "syntax: APOP name digest";
        let [user, digest] = words::<2>(rest, USAGE)?;
        Ok(Command::Apop {
            user: text(user, USAGE)?,
            digest: text(digest, USAGE)?,
        })
    } else if is("STAT") {
        no_args(rest, Command::Stat, "syntax: STAT")
    } else if is("LIST") {
        optional_msg(rest, "syntax: LIST [msg]").map(Command::List)
    } else if is("RETR") {
        const USAGE: &str = "syntax: RETR msg";
        let [msg] = words::<1>(rest, USAGE)?;
        Ok(Command::Retr(msg_number(msg)?))
    } else if is("DELE") {
        const USAGE: &str = "syntax: DELE msg";
        let [msg] = words::<1>(rest, USAGE)?;
        Ok(Command::Dele(msg_number(msg)?))
    } else if is("NOOP") {
        no_args(rest, Command::Noop, "syntax: NOOP")
    } else if is("RSET") {
        no_args(rest, Command::Rset, "syntax: RSET")
    } else if is("QUIT") {
        no_args(rest, Command::Quit, "syntax: QUIT")
    } else if is("TOP") {
        const USAGE: &str = "syntax: TOP msg n";
        let [msg, lines] = words::<2>(rest, USAGE)?;
        Ok(Command::Top {
            msg: msg_number(msg)?,
            lines: decimal(lines).ok_or(ParseError::syntax("invalid line count"))?,
        })
    } else if is("UIDL") {
        optional_msg(rest, "syntax: UIDL [msg]").map(Command::Uidl)
    } else if is("CAPA") {
        no_args(rest, Command::Capa, "syntax: CAPA")
    } else if is("AUTH") {
        auth(rest)
    } else if is("STLS") {
        no_args(rest, Command::Stls, "syntax: STLS")
    } else if line.is_empty() {
        Err(ParseError::unknown("empty command"))
    } else {
        Err(ParseError::unknown("unknown command"))
    }
}

/// `AUTH [mechanism [initial-response]]` (RFC 5034 §4).
fn auth(rest: &[u8]) -> Result<Command, ParseError> {
    let mut args = rest.split(|&b| b == b' ').filter(|w| !w.is_empty());
    let mechanism = args.next();
    let initial = args.next();
    if args.next().is_some() {
        return Err(ParseError::syntax(
            "syntax: AUTH mechanism [initial-response]",
        ));
    }
    let mechanism = match mechanism {
        None => None,
        // RFC 4422 §3.1: 1-20 characters from A-Z, 0-9, '-' and '_'.
        Some(m)
            if m.len() <= 20
                && m.iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Some(String::from_utf8_lossy(m).to_ascii_uppercase())
        }
        Some(_) => return Err(ParseError::syntax("invalid SASL mechanism name")),
    };
    let initial = match initial {
        None => None,
        Some(b"=") => Some("=".to_owned()),
        Some(i)
            if i.iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=') =>
        {
            Some(String::from_utf8_lossy(i).into_owned())
        }
        Some(_) => return Err(ParseError::syntax("initial response is not base64")),
    };
    Ok(Command::Auth { mechanism, initial })
}

/// PASS's argument: everything after the separating space, exactly as sent (RFC 1939 §7).
fn password(rest: &[u8]) -> Result<Secret<String>, ParseError> {
    const USAGE: &str = "syntax: PASS password";
    if rest.is_empty() || rest.iter().any(|&b| b == 0 || b == b'\r') {
        return Err(ParseError::syntax(USAGE));
    }
    match std::str::from_utf8(rest) {
        Ok(s) => Ok(Secret::new(s.to_owned())),
        Err(_) => Err(ParseError::syntax("password must be UTF-8")),
    }
}

/// Exactly `N` space-separated words.
fn words<'a, const N: usize>(
    rest: &'a [u8],
    usage: &'static str,
) -> Result<[&'a [u8]; N], ParseError> {
    let mut args = rest.split(|&b| b == b' ').filter(|w| !w.is_empty());
    let mut out = [&b""[..]; N];
    for slot in &mut out {
        *slot = args.next().ok_or(ParseError::syntax(usage))?;
    }
    match args.next() {
        Some(_) => Err(ParseError::syntax(usage)),
        None => Ok(out),
    }
}

fn no_args(rest: &[u8], command: Command, usage: &'static str) -> Result<Command, ParseError> {
    if rest.iter().all(|&b| b == b' ') {
        Ok(command)
    } else {
        Err(ParseError::syntax(usage))
    }
}

fn optional_msg(rest: &[u8], usage: &'static str) -> Result<Option<u32>, ParseError> {
    let mut args = rest.split(|&b| b == b' ').filter(|w| !w.is_empty());
    let msg = args.next().map(msg_number).transpose()?;
    match args.next() {
        Some(_) => Err(ParseError::syntax(usage)),
        None => Ok(msg),
    }
}

/// A message number: decimal, no sign, 1..=u32::MAX (RFC 1939 §3: numbered from 1).
fn msg_number(word: &[u8]) -> Result<u32, ParseError> {
    match decimal(word) {
        Some(0) | None => Err(ParseError::syntax("invalid message number")),
        Some(n) => Ok(n),
    }
}

fn decimal(word: &[u8]) -> Option<u32> {
    if word.is_empty() {
        return None;
    }
    word.iter().try_fold(0u32, |n, &b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u32::from(b - b'0'))
        } else {
            None
        }
    })
}

/// A text argument: UTF-8 without control characters.
fn text(word: &[u8], usage: &'static str) -> Result<String, ParseError> {
    if word.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return Err(ParseError::syntax(usage));
    }
    match std::str::from_utf8(word) {
        Ok(s) => Ok(s.to_owned()),
        Err(_) => Err(ParseError::syntax("argument must be UTF-8")),
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
