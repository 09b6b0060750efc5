//! The IMAP command grammar (RFC 9051 §9, with RFC 3501's rev1-only commands and the
//! extensions in [`CommandBody`]): a framed command's bytes become a typed [`Command`].
//!
//! # Implementation notes
//! - Input is one whole command from the framer: lines joined by literals, every literal's data
//!   inlined after its marker and CRLF, and the data ranges in `literals`. A literal is read
//!   where the grammar allows a string; its data is taken from the next range, which must start
//!   right after the marker's line ending and have the marker's length, so a parser fed bytes
//!   that did not come from the framer fails cleanly instead of reading the wrong octets.
//! - Hand-written recursive descent over a byte cursor: no allocation before a value is known
//!   to be valid, no unbounded recursion (search keys nest at most [`MAX_DEPTH`] deep), checked
//!   arithmetic on every number.
//! - Errors carry the tag whenever the tag itself was valid, so the session can answer
//!   `<tag> BAD <message>`; messages name the command and what was expected.
//! - Command names and keywords are case-insensitive (RFC 9051 §9 note 1); values the session
//!   compares (system flags, capability and mechanism names, charsets) come out in a canonical
//!   case.

mod fetch;
mod mailbox;
mod search;
mod values;

use std::{fmt, ops::Range};

use super::command::{Command, CommandBody, Tag};

/// Deepest nesting of search keys (parentheses, `NOT`, `OR`) accepted.
pub const MAX_DEPTH: usize = 64;

/// A command the grammar refused: the session answers `<tag> BAD <message>`, or `* BAD
/// <message>` when `tag` is `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The command's tag, when it was a valid one.
    pub tag: Option<Tag>,
    /// What was wrong, for a person to read: printable ASCII, no line ending.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parses one framed command.
///
/// `bytes` is the command exactly as [`Frame::Command`](super::framer::Frame::Command) carries
/// it (ending in CRLF or a bare LF) and `literals` the ranges of its literals' data, in order.
/// Never panics, whatever the input.
pub fn parse_command(bytes: &[u8], literals: &[Range<usize>]) -> Result<Command, ParseError> {
    let mut p = Parser::new(bytes, literals);
    let tag = match p.tag() {
        Some(tag) => tag,
        None => {
            return Err(ParseError {
                tag: None,
                message: "missing or invalid tag".into(),
            });
        }
    };
    let result = p
        .sp("a command name")
        .and_then(|()| p.command())
        .and_then(|body| {
            p.end()?;
            Ok(body)
        });
    match result {
        Ok(body) => Ok(Command { tag, body }),
        Err(message) => Err(ParseError {
            tag: Some(tag),
            message: match p.command_name {
                Some(name) => format!("{name}: {message}"),
                None => message,
            },
        }),
    }
}

/// ASTRING-CHAR (RFC 9051 §9): ATOM-CHAR or `]`.
pub fn is_astring_char(b: u8) -> bool {
    is_atom_char(b) || b == b']'
}

/// ATOM-CHAR (RFC 9051 §9): any CHAR except atom-specials `(` `)` `{` SP CTL `%` `*` DQUOTE `\`
/// `]`.
pub(crate) fn is_atom_char(b: u8) -> bool {
    matches!(b, 0x21..=0x7e) && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}

/// list-char (RFC 9051 §9): ATOM-CHAR, list-wildcards or resp-specials.
fn is_list_char(b: u8) -> bool {
    is_astring_char(b) || b == b'%' || b == b'*'
}

/// A grammar error's message; the command name is prefixed by [`parse_command`].
type PResult<T> = Result<T, String>;

/// Longest run of digits read as a number (`u64::MAX` has 20).
const MAX_DIGITS: usize = 20;

/// The cursor over one command.
struct Parser<'a> {
    buf: &'a [u8],
    pos: usize,
    literals: &'a [Range<usize>],
    next_literal: usize,
    /// The command being parsed (upper-cased, with `UID ` when prefixed), for error messages.
    command_name: Option<&'static str>,
}

/// A string whose form matters to the caller: literal8 is only allowed for APPEND data.
enum Literal {
    /// `{n}` or `{n+}`.
    Plain(Range<usize>),
    /// `~{n}`.
    Binary(Range<usize>),
}

impl<'a> Parser<'a> {
    fn new(buf: &'a [u8], literals: &'a [Range<usize>]) -> Self {
        Parser {
            buf,
            pos: 0,
            literals,
            next_literal: 0,
            command_name: None,
        }
    }

    // --- cursor ---

    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// Consumes `b` if it is next.
    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Requires `b` next.
    fn expect(&mut self, b: u8, what: &str) -> PResult<()> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(format!("expected {what}"))
        }
    }

    /// One SP before an argument described by `what`.
    fn sp(&mut self, what: &str) -> PResult<()> {
        self.expect(b' ', what)
    }

    /// True when the line ending closing the command is next.
    fn at_end(&self) -> bool {
        matches!(self.rest(), b"\r\n" | b"\n")
    }

    /// The line ending that closes the command, and nothing after it.
    fn end(&mut self) -> PResult<()> {
        if self.at_end() {
            self.pos = self.buf.len();
            Ok(())
        } else {
            Err("unexpected text after command".into())
        }
    }

    /// Consumes `word` (ASCII, upper-case) case-insensitively if it is next and not followed by
    /// more atom characters.
    fn keyword(&mut self, word: &str) -> bool {
        let rest = self.rest();
        let n = word.len();
        let matches = rest
            .get(..n)
            .is_some_and(|w| w.eq_ignore_ascii_case(word.as_bytes()))
            && !rest.get(n).copied().is_some_and(is_atom_char);
        if matches {
            self.pos += n;
        }
        matches
    }

    /// The run of bytes satisfying `pred` from the cursor (possibly empty).
    fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> &'a [u8] {
        let rest = self.rest();
        let n = rest.iter().position(|&b| !pred(b)).unwrap_or(rest.len());
        self.pos += n;
        &rest[..n]
    }

    // --- the command line ---

    fn tag(&mut self) -> Option<Tag> {
        let raw = self.take_while(|b| b != b'+' && is_astring_char(b));
        let tag = std::str::from_utf8(raw).ok().and_then(Tag::new)?;
        // A tag ends at SP (or the line end, reported as a missing command name).
        matches!(self.peek(), Some(b' ' | b'\r' | b'\n')).then_some(tag)
    }

    /// An atom (RFC 9051 §9 `atom`), as ASCII text.
    fn atom(&mut self, what: &str) -> PResult<&'a str> {
        let raw = self.take_while(is_atom_char);
        if raw.is_empty() {
            return Err(format!("expected {what}"));
        }
        // ATOM-CHAR is ASCII, so this cannot fail; the fallback keeps the parser total.
        std::str::from_utf8(raw).map_err(|_| format!("expected {what}"))
    }

    /// An atom upper-cased.
    fn atom_upper(&mut self, what: &str) -> PResult<String> {
        Ok(self.atom(what)?.to_ascii_uppercase())
    }

    fn command(&mut self) -> PResult<CommandBody> {
        let start = self.pos;
        let name = self.atom("a command name")?.to_ascii_uppercase();
        if name == "UID" {
            self.sp("a command after UID")?;
            let sub = self.atom("a command after UID")?.to_ascii_uppercase();
            return self.uid_command(&sub);
        }
        let Some(known) = COMMANDS.iter().find(|c| **c == name) else {
            self.pos = start;
            return Err(format!("unknown command {}", printable(&name)));
        };
        self.command_name = Some(known);
        self.body(known)
    }

    fn uid_command(&mut self, sub: &str) -> PResult<CommandBody> {
        let Some(name) = UID_COMMANDS
            .iter()
            .find(|(c, _)| *c == sub)
            .map(|(_, n)| *n)
        else {
            return Err(format!("UID {} is not a UID command", printable(sub)));
        };
        self.command_name = Some(name);
        match sub {
            "EXPUNGE" => {
                self.sp("a UID set")?;
                Ok(CommandBody::Expunge {
                    uids: Some(self.sequence_set()?),
                })
            }
            _ => self.selected(sub, true),
        }
    }

    fn body(&mut self, name: &str) -> PResult<CommandBody> {
        use CommandBody as C;
        Ok(match name {
            "CAPABILITY" => C::Capability,
            "NOOP" => C::Noop,
            "LOGOUT" => C::Logout,
            "STARTTLS" => C::StartTls,
            "IDLE" => C::Idle,
            "NAMESPACE" => C::Namespace,
            "CLOSE" => C::Close,
            "UNSELECT" => C::Unselect,
            "CHECK" => C::Check,
            "EXPUNGE" => C::Expunge { uids: None },
            "ID" => self.id()?,
            "AUTHENTICATE" => self.authenticate()?,
            "LOGIN" => self.login()?,
            "ENABLE" => self.enable()?,
            "COMPRESS" => {
                self.sp("a compression mechanism")?;
                C::Compress(self.atom_upper("a compression mechanism")?)
            }
            "FETCH" | "STORE" | "COPY" | "MOVE" | "SEARCH" | "SORT" | "THREAD" => {
                self.selected(name, false)?
            }
            _ => self.mailbox_command(name)?,
        })
    }

    fn selected(&mut self, name: &str, uid: bool) -> PResult<CommandBody> {
        match name {
            "FETCH" => self.fetch(uid),
            "STORE" => self.store(uid),
            "COPY" | "MOVE" => {
                self.sp("a sequence set")?;
                let set = self.sequence_set()?;
                self.sp("a mailbox name")?;
                let mailbox = self.mailbox()?;
                Ok(if name == "COPY" {
                    CommandBody::Copy { uid, set, mailbox }
                } else {
                    CommandBody::Move { uid, set, mailbox }
                })
            }
            "SEARCH" => self.search(uid),
            "SORT" => self.sort(uid),
            _ => self.thread(uid),
        }
    }

    // RFC 2971 §3.1: id-params-list = "(" *(string SP nstring) ")" / nil
    fn id(&mut self) -> PResult<CommandBody> {
        self.sp("a parameter list or NIL")?;
        if self.keyword("NIL") {
            return Ok(CommandBody::Id(None));
        }
        self.expect(b'(', "a parameter list or NIL")?;
        let mut pairs = Vec::new();
        if !self.eat(b')') {
            loop {
                let field = self.string()?;
                self.sp("a value")?;
                let value = self.nstring()?;
                pairs.push((lossy(field), value.map(lossy)));
                if self.eat(b')') {
                    break;
                }
                self.sp("a field name or )")?;
            }
        }
        Ok(CommandBody::Id(Some(pairs)))
    }

    // RFC 9051 §6.2.2, RFC 4959: "AUTHENTICATE" SP auth-type [SP (base64 / "=")]
    fn authenticate(&mut self) -> PResult<CommandBody> {
        self.sp("a SASL mechanism")?;
        let mechanism = self.atom_upper("a SASL mechanism")?;
        let initial = if self.eat(b' ') {
            let raw =
                self.take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
            if raw.is_empty() {
                return Err("expected a base64 initial response".into());
            }
            Some(crate::Secret::new(raw.to_vec()))
        } else {
            None
        };
        Ok(CommandBody::Authenticate { mechanism, initial })
    }

    fn login(&mut self) -> PResult<CommandBody> {
        self.sp("a user name")?;
        let username = self.astring()?;
        self.sp("a password")?;
        let password = crate::Secret::new(self.astring()?);
        Ok(CommandBody::Login { username, password })
    }

    // RFC 5161: "ENABLE" 1*(SP capability)
    fn enable(&mut self) -> PResult<CommandBody> {
        let mut caps = Vec::new();
        loop {
            self.sp("a capability name")?;
            caps.push(self.atom_upper("a capability name")?);
            if self.at_end() {
                return Ok(CommandBody::Enable(caps));
            }
        }
    }

    // --- strings (RFC 9051 §4.3) ---

    /// astring = 1*ASTRING-CHAR / string
    fn astring(&mut self) -> PResult<Vec<u8>> {
        match self.peek() {
            Some(b'"' | b'{') => self.string(),
            _ => {
                let raw = self.take_while(is_astring_char);
                if raw.is_empty() {
                    Err("expected a string".into())
                } else {
                    Ok(raw.to_vec())
                }
            }
        }
    }

    /// nstring = string / NIL
    fn nstring(&mut self) -> PResult<Option<Vec<u8>>> {
        if self.keyword("NIL") {
            Ok(None)
        } else {
            self.string().map(Some)
        }
    }

    /// string = quoted / literal
    fn string(&mut self) -> PResult<Vec<u8>> {
        match self.peek() {
            Some(b'"') => self.quoted(),
            Some(b'{') => match self.literal()? {
                Literal::Plain(range) => {
                    let data = self.buf.get(range).unwrap_or_default();
                    if data.contains(&0) {
                        // CHAR8 excludes NUL; only literal8 may carry it (RFC 3516).
                        return Err("NUL in literal".into());
                    }
                    Ok(data.to_vec())
                }
                Literal::Binary(_) => Err("literal8 not allowed here".into()),
            },
            _ => Err("expected a string".into()),
        }
    }

    /// quoted = DQUOTE *QUOTED-CHAR DQUOTE, with `\"` and `\\` escapes; 8-bit (UTF-8, RFC 9051)
    /// passes through, CR, LF and NUL do not.
    fn quoted(&mut self) -> PResult<Vec<u8>> {
        self.expect(b'"', "a quoted string")?;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => {
                            out.push(c);
                            self.pos += 1;
                        }
                        _ => return Err("bad escape in quoted string".into()),
                    }
                }
                Some(b'\r' | b'\n' | 0) | None => {
                    return Err("unterminated quoted string".into());
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// A literal (`{n}`, `{n+}`) or literal8 (`~{n}`) at the cursor: its marker, line ending and
    /// data, which must be the next range the framer reported.
    fn literal(&mut self) -> PResult<Literal> {
        let binary = self.eat(b'~');
        self.expect(b'{', "a literal")?;
        let len = self.number64("a literal length")?;
        self.eat(b'+');
        self.expect(b'}', "} closing a literal marker")?;
        self.eat(b'\r');
        self.expect(b'\n', "a line ending after a literal marker")?;
        let range = self
            .literals
            .get(self.next_literal)
            .filter(|r| {
                r.start == self.pos
                    && r.start <= r.end
                    && r.end <= self.buf.len()
                    && u64::try_from(r.end - r.start).ok() == Some(len)
            })
            .cloned()
            .ok_or_else(|| "literal does not match its marker".to_string())?;
        self.next_literal += 1;
        self.pos = range.end;
        Ok(if binary {
            Literal::Binary(range)
        } else {
            Literal::Plain(range)
        })
    }

    /// list-mailbox = 1*list-char / string
    fn list_mailbox(&mut self) -> PResult<Vec<u8>> {
        match self.peek() {
            Some(b'"' | b'{') => self.string(),
            _ => {
                let raw = self.take_while(is_list_char);
                if raw.is_empty() {
                    Err("expected a mailbox pattern".into())
                } else {
                    Ok(raw.to_vec())
                }
            }
        }
    }

    // --- numbers (RFC 9051 §9 number, number64, nz-number) ---

    fn number64(&mut self, what: &str) -> PResult<u64> {
        let digits = self.take_while(|b| b.is_ascii_digit());
        if digits.is_empty() {
            return Err(format!("expected {what}"));
        }
        if digits.len() > MAX_DIGITS {
            return Err(format!("{what} too large"));
        }
        digits.iter().try_fold(0u64, |n, &d| {
            n.checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(d - b'0')))
                .ok_or_else(|| format!("{what} too large"))
        })
    }

    fn number(&mut self, what: &str) -> PResult<u32> {
        let n = self.number64(what)?;
        u32::try_from(n).map_err(|_| format!("{what} too large"))
    }

    fn nz_number(&mut self, what: &str) -> PResult<u32> {
        match self.number(what)? {
            0 => Err(format!("{what} must not be 0")),
            n => Ok(n),
        }
    }

    /// A parenthesized, SP-separated list of at least one item (`"(" x *(SP x) ")"`), or an
    /// empty one when `empty_ok`.
    fn list<T>(
        &mut self,
        what: &str,
        empty_ok: bool,
        mut item: impl FnMut(&mut Self) -> PResult<T>,
    ) -> PResult<Vec<T>> {
        self.expect(b'(', &format!("( starting {what}"))?;
        let mut out = Vec::new();
        if self.eat(b')') {
            return if empty_ok {
                Ok(out)
            } else {
                Err(format!("expected {what}"))
            };
        }
        loop {
            out.push(item(self)?);
            if self.eat(b')') {
                return Ok(out);
            }
            self.sp(&format!("SP or ) in {what}"))?;
        }
    }
}

/// Every command name, so error messages can name the command as a `&'static str`.
const COMMANDS: &[&str] = &[
    "CAPABILITY",
    "NOOP",
    "LOGOUT",
    "STARTTLS",
    "IDLE",
    "NAMESPACE",
    "CLOSE",
    "UNSELECT",
    "CHECK",
    "EXPUNGE",
    "ID",
    "AUTHENTICATE",
    "LOGIN",
    "ENABLE",
    "COMPRESS",
    "FETCH",
    "STORE",
    "COPY",
    "MOVE",
    "SEARCH",
    "SORT",
    "THREAD",
    "SELECT",
    "EXAMINE",
    "CREATE",
    "DELETE",
    "RENAME",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "LIST",
    "LSUB",
    "STATUS",
    "APPEND",
    "GETQUOTA",
    "GETQUOTAROOT",
    "SETQUOTA",
];

/// Commands that take the `UID` prefix, with their names for messages.
const UID_COMMANDS: &[(&str, &str)] = &[
    ("COPY", "UID COPY"),
    ("MOVE", "UID MOVE"),
    ("FETCH", "UID FETCH"),
    ("SEARCH", "UID SEARCH"),
    ("STORE", "UID STORE"),
    ("EXPUNGE", "UID EXPUNGE"),
    ("SORT", "UID SORT"),
    ("THREAD", "UID THREAD"),
];

/// A client's word, safe to echo in a response line and short.
fn printable(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(32)
        .collect()
}

/// Text for fields the session only logs or compares as text (ID parameters).
fn lossy(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
