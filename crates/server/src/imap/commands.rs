//! The declarative command table (Dovecot's `imap-commands.c` idea): for every command, the
//! states it is valid in and whether the server may send EXPUNGE responses while it runs.
//!
//! RFC 9051 §7.5.1: EXPUNGE (and VANISHED) must not be sent while responding to FETCH, STORE or
//! SEARCH by sequence number, or when no command is in progress, because the client's sequence
//! numbers would shift under it. The UID forms may send them.

use yubin_proto::imap::command::CommandBody;

use super::state::StateKind;

/// Where a command may run and what it may report.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Command name for replies and logs.
    pub name: &'static str,
    /// Valid before authentication.
    pub not_authenticated: bool,
    /// Valid when authenticated (and therefore also when selected, unless `selected_only`).
    pub authenticated: bool,
    /// Valid only with a mailbox selected.
    pub selected_only: bool,
    /// The session may send pending EXPUNGEs when the command completes.
    pub may_expunge: bool,
}

const fn any(name: &'static str) -> Spec {
    Spec {
        name,
        not_authenticated: true,
        authenticated: true,
        selected_only: false,
        may_expunge: true,
    }
}

const fn unauth(name: &'static str) -> Spec {
    Spec {
        name,
        not_authenticated: true,
        authenticated: false,
        selected_only: false,
        may_expunge: false,
    }
}

const fn auth(name: &'static str) -> Spec {
    Spec {
        name,
        not_authenticated: false,
        authenticated: true,
        selected_only: false,
        may_expunge: true,
    }
}

const fn selected(name: &'static str, may_expunge: bool) -> Spec {
    Spec {
        name,
        not_authenticated: false,
        authenticated: true,
        selected_only: true,
        may_expunge,
    }
}

/// The table entry of a command.
pub fn spec(body: &CommandBody) -> Spec {
    use CommandBody as C;
    match body {
        C::Capability => any("CAPABILITY"),
        C::Noop => any("NOOP"),
        C::Logout => any("LOGOUT"),
        C::Id(_) => any("ID"),
        C::StartTls => unauth("STARTTLS"),
        C::Authenticate { .. } => unauth("AUTHENTICATE"),
        C::Login { .. } => unauth("LOGIN"),
        C::Enable(_) => auth("ENABLE"),
        C::Select { .. } => auth("SELECT"),
        C::Examine { .. } => auth("EXAMINE"),
        C::Create { .. } => auth("CREATE"),
        C::Delete(_) => auth("DELETE"),
        C::Rename { .. } => auth("RENAME"),
        C::Subscribe(_) => auth("SUBSCRIBE"),
        C::Unsubscribe(_) => auth("UNSUBSCRIBE"),
        C::List { .. } => auth("LIST"),
        C::Lsub { .. } => auth("LSUB"),
        C::Namespace => auth("NAMESPACE"),
        C::Status { .. } => auth("STATUS"),
        C::Append { .. } => auth("APPEND"),
        C::Idle => auth("IDLE"),
        C::GetQuota(_) => auth("GETQUOTA"),
        C::GetQuotaRoot(_) => auth("GETQUOTAROOT"),
        C::SetQuota { .. } => auth("SETQUOTA"),
        C::Compress(_) => auth("COMPRESS"),
        C::Close => selected("CLOSE", true),
        C::Unselect => selected("UNSELECT", true),
        C::Check => selected("CHECK", true),
        C::Expunge { .. } => selected("EXPUNGE", true),
        C::Search { uid, .. } => selected("SEARCH", *uid),
        C::Fetch { uid, .. } => selected("FETCH", *uid),
        C::Store { uid, .. } => selected("STORE", *uid),
        C::Copy { .. } => selected("COPY", true),
        C::Move { .. } => selected("MOVE", true),
        C::Sort { uid, .. } => selected("SORT", *uid),
        C::Thread { uid, .. } => selected("THREAD", *uid),
    }
}

impl Spec {
    /// Whether the command may run in `state`.
    pub fn allowed_in(&self, state: StateKind) -> bool {
        match state {
            StateKind::NotAuthenticated => self.not_authenticated,
            StateKind::Authenticated => self.authenticated && !self.selected_only,
            StateKind::Selected => self.authenticated,
            StateKind::Logout => false,
        }
    }
}
