//! The POP3 commands a client can send (RFC 1939 §§4-7, RFC 2449 §5, RFC 5034 §4, RFC 2595 §4).

use std::fmt;

use crate::secret::Secret;

/// One parsed POP3 command line. Message numbers are 1-based and never 0.
#[derive(Clone)]
pub enum Command {
    /// `USER name` (RFC 1939 §7): the rest of the line, trimmed.
    User(String),
    /// `PASS string` (RFC 1939 §7): everything after `PASS `, spaces included.
    Pass(Secret<String>),
    /// `APOP name digest` (RFC 1939 §7), parsed only so it can be refused cleanly.
    Apop {
        /// The mailbox name.
        user: String,
        /// The MD5 digest as sent (lower-case hex per the RFC, not checked).
        digest: String,
    },
    /// `STAT` (RFC 1939 §5).
    Stat,
    /// `LIST [msg]` (RFC 1939 §5).
    List(Option<u32>),
    /// `RETR msg` (RFC 1939 §5).
    Retr(u32),
    /// `DELE msg` (RFC 1939 §5).
    Dele(u32),
    /// `NOOP` (RFC 1939 §5).
    Noop,
    /// `RSET` (RFC 1939 §5).
    Rset,
    /// `QUIT` (RFC 1939 §§4, 6).
    Quit,
    /// `TOP msg n` (RFC 1939 §7); `lines` may be 0 (headers only).
    Top {
        /// The message number.
        msg: u32,
        /// How many body lines to send after the header section.
        lines: u32,
    },
    /// `UIDL [msg]` (RFC 1939 §7).
    Uidl(Option<u32>),
    /// `CAPA` (RFC 2449 §5).
    Capa,
    /// `AUTH [mechanism [initial-response]]` (RFC 5034 §4).
    ///
    /// Bare `AUTH` lists the mechanisms, as many servers do (RFC 5034 does not define it).
    Auth {
        /// The SASL mechanism name, upper-cased (`PLAIN`); `None` for bare `AUTH`.
        mechanism: Option<String>,
        /// The SASL-IR initial response as sent: base64, or `=` for an empty response.
        /// It may carry a password: `Debug` prints it as `***`.
        initial: Option<String>,
    },
    /// `STLS` (RFC 2595 §4).
    Stls,
}

impl Command {
    /// The command's keyword in upper case, for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Command::User(_) => "USER",
            Command::Pass(_) => "PASS",
            Command::Apop { .. } => "APOP",
            Command::Stat => "STAT",
            Command::List(_) => "LIST",
            Command::Retr(_) => "RETR",
            Command::Dele(_) => "DELE",
            Command::Noop => "NOOP",
            Command::Rset => "RSET",
            Command::Quit => "QUIT",
            Command::Top { .. } => "TOP",
            Command::Uidl(_) => "UIDL",
            Command::Capa => "CAPA",
            Command::Auth { .. } => "AUTH",
            Command::Stls => "STLS",
        }
    }
}

// By hand, so an AUTH initial response (base64 of a PLAIN password) never reaches a log.
impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::User(name) => f.debug_tuple("User").field(name).finish(),
            Command::Pass(password) => f.debug_tuple("Pass").field(password).finish(),
            Command::Apop { user, digest } => f
                .debug_struct("Apop")
                .field("user", user)
                .field("digest", digest)
                .finish(),
            Command::List(msg) => f.debug_tuple("List").field(msg).finish(),
            Command::Retr(msg) => f.debug_tuple("Retr").field(msg).finish(),
            Command::Dele(msg) => f.debug_tuple("Dele").field(msg).finish(),
            Command::Top { msg, lines } => f
                .debug_struct("Top")
                .field("msg", msg)
                .field("lines", lines)
                .finish(),
            Command::Uidl(msg) => f.debug_tuple("Uidl").field(msg).finish(),
            Command::Auth { mechanism, initial } => f
                .debug_struct("Auth")
                .field("mechanism", mechanism)
                .field("initial", &initial.as_ref().map(|_| Secret::new(())))
                .finish(),
            Command::Stat => f.write_str("Stat"),
            Command::Noop => f.write_str("Noop"),
            Command::Rset => f.write_str("Rset"),
            Command::Quit => f.write_str("Quit"),
            Command::Capa => f.write_str("Capa"),
            Command::Stls => f.write_str("Stls"),
        }
    }
}
