//! Session state: each variant carries only the data valid in it (RFC 9051 §3).

use yubin_proto::imap::command::SequenceSet;

use super::errors::Failure;
use super::selected::Selected;

/// Who is logged in.
#[derive(Debug, Clone)]
pub struct Login {
    /// Account id in the store.
    pub account: u64,
    /// Normalized address, for logs.
    pub address: String,
}

/// The IMAP connection state.
pub enum State {
    /// Before LOGIN/AUTHENTICATE.
    NotAuthenticated,
    /// Logged in, no mailbox selected.
    Authenticated(Login),
    /// Logged in with a mailbox selected.
    Selected(Login, Box<Selected>),
    /// LOGOUT received; the connection closes after the tagged OK.
    Logout,
}

impl State {
    /// The login, in the authenticated and selected states.
    pub fn login(&self) -> Option<&Login> {
        match self {
            State::Authenticated(l) | State::Selected(l, _) => Some(l),
            _ => None,
        }
    }

    /// The selected mailbox, if any.
    pub fn selected_mut(&mut self) -> Option<&mut Selected> {
        match self {
            State::Selected(_, s) => Some(s),
            _ => None,
        }
    }

    /// The selected mailbox for a command on `set`: BAD when none is selected, or when a
    /// command by sequence number names one past EXISTS (RFC 9051 §9 `seq-number`).
    pub fn selected_for(&mut self, set: &SequenceSet, uid: bool) -> Result<&mut Selected, Failure> {
        let sel = self
            .selected_mut()
            .ok_or_else(|| Failure::bad("No mailbox selected"))?;
        if !uid && !sel.seq_in_range(set) {
            return Err(Failure::bad("Invalid message sequence number"));
        }
        Ok(sel)
    }

    /// Which column of the command table applies.
    pub fn kind(&self) -> StateKind {
        match self {
            State::NotAuthenticated => StateKind::NotAuthenticated,
            State::Authenticated(_) => StateKind::Authenticated,
            State::Selected(..) => StateKind::Selected,
            State::Logout => StateKind::Logout,
        }
    }
}

/// The state without its data, for the command table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateKind {
    /// Not authenticated.
    NotAuthenticated,
    /// Authenticated.
    Authenticated,
    /// Selected.
    Selected,
    /// Logout.
    Logout,
}

/// Capabilities the client turned on with ENABLE (RFC 5161) or implied by its commands.
#[derive(Debug, Clone, Copy, Default)]
pub struct Enabled {
    /// `ENABLE IMAP4rev2`: rev2 responses (no \Recent, ESEARCH for SEARCH, UTF-8 names).
    pub rev2: bool,
    /// `ENABLE UTF8=ACCEPT` (RFC 6855).
    pub utf8: bool,
    /// CONDSTORE in use (RFC 7162 §3.1): MODSEQ in FETCH responses to flag changes.
    pub condstore: bool,
    /// `ENABLE QRESYNC`: VANISHED instead of EXPUNGE.
    pub qresync: bool,
}
