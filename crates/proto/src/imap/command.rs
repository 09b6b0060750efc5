//! Typed IMAP commands: what the grammar (`parse`) produces and the session dispatches on.
//!
//! Values here are already validated: a [`Tag`] has only tag characters, a sequence set has no
//! zero, a flag is an atom. Strings a client sent as quoted, literal or atom forms arrive decoded
//! into plain bytes (`Vec<u8>`) when they may be 8-bit (mailbox names, search strings, passwords)
//! and as `String` when the grammar restricts them to ASCII (atoms, flag names, charsets).

use std::ops::Range;

pub use super::section::{Section, SectionText};
use crate::secret::Secret;

/// Special-use attributes (RFC 6154 §2, RFC 8457 `\\Important`) in canonical spelling; the
/// grammar writes CREATE's USE attributes this way.
pub const SPECIAL_USE: &[&str] = &[
    "\\All",
    "\\Archive",
    "\\Drafts",
    "\\Flagged",
    "\\Junk",
    "\\Sent",
    "\\Trash",
    "\\Important",
];

/// A command tag (RFC 9051 §9 `tag`: 1*<any ASTRING-CHAR except "+">).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tag(String);

impl Tag {
    /// Validates a tag.
    pub fn new(s: &str) -> Option<Tag> {
        let ok = !s.is_empty()
            && s.bytes()
                .all(|b| b != b'+' && super::parse::is_astring_char(b));
        ok.then(|| Tag(s.to_string()))
    }

    /// The tag text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One parsed command.
///
/// Not `PartialEq`: LOGIN and AUTHENTICATE carry [`Secret`]s, which deliberately cannot be
/// compared with `==`.
#[derive(Debug, Clone)]
pub struct Command {
    /// The client's tag.
    pub tag: Tag,
    /// What it asks for.
    pub body: CommandBody,
}

/// A number in a sequence set: a value or `*` (the largest number in use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqNum {
    /// A sequence number or UID, never 0.
    Value(u32),
    /// `*`
    Star,
}

/// A sequence set (RFC 9051 §9 `sequence-set`), or `$` for the saved search result (RFC 5182).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SequenceSet {
    /// Ranges as written; `a:b` with a > b is kept as written (it means the same as b:a).
    Ranges(Vec<(SeqNum, SeqNum)>),
    /// `$`: the result of the last SEARCH with RETURN (SAVE).
    Saved,
}

/// A flag or keyword (RFC 9051 §9 `flag`). System flags keep their backslash (`\Seen`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Flag(pub String);

/// A mailbox name exactly as sent (bytes after quoted/literal decoding). `INBOX` in any case is
/// INBOX; in IMAP4rev1 mode non-ASCII names are modified UTF-7, decoding is the session's job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxName(pub Vec<u8>);

/// An IMAP date (`date`: `1-Feb-2024`), as a calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date {
    /// Year.
    pub year: i32,
    /// Month, 1..=12.
    pub month: u8,
    /// Day of the month, 1..=31.
    pub day: u8,
}

/// An IMAP `date-time` (`"17-Jul-1996 02:44:25 -0700"`), as seconds since the Unix epoch (UTC)
/// plus the zone offset the client wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    /// Seconds since the Unix epoch, UTC.
    pub timestamp: i64,
    /// The zone offset written, in minutes east of UTC.
    pub offset_minutes: i32,
}

/// Every command of IMAP4rev2/rev1 and the extensions Yubin implements.
///
/// Not `PartialEq`, like [`Command`].
#[derive(Debug, Clone)]
pub enum CommandBody {
    // --- any state (RFC 9051 §6.1) ---
    /// `CAPABILITY`
    Capability,
    /// `NOOP`
    Noop,
    /// `LOGOUT`
    Logout,
    /// `ID (...)` or `ID NIL` (RFC 2971): field/value pairs.
    Id(Option<Vec<(String, Option<String>)>>),

    // --- not authenticated (§6.2) ---
    /// `STARTTLS`
    StartTls,
    /// `AUTHENTICATE mech [initial-response]` (RFC 4959 SASL-IR). `initial` is the base64 text
    /// as sent (`=` for an empty response), decoded by the session's SASL code.
    Authenticate {
        /// Mechanism name, upper-cased.
        mechanism: String,
        /// SASL-IR initial response, still base64.
        initial: Option<Secret<Vec<u8>>>,
    },
    /// `LOGIN user password`
    Login {
        /// User name (astring).
        username: Vec<u8>,
        /// Password (astring).
        password: Secret<Vec<u8>>,
    },

    // --- authenticated (§6.3) ---
    /// `ENABLE cap...` (RFC 5161), capability names upper-cased.
    Enable(Vec<String>),
    /// `SELECT mailbox [(CONDSTORE | QRESYNC (...))]`
    Select {
        /// Mailbox.
        mailbox: MailboxName,
        /// Select parameters.
        params: SelectParams,
    },
    /// `EXAMINE mailbox [...]`: SELECT read-only.
    Examine {
        /// Mailbox.
        mailbox: MailboxName,
        /// Select parameters.
        params: SelectParams,
    },
    /// `CREATE mailbox [(USE (\Special ...))]` (RFC 6154 CREATE-SPECIAL-USE).
    Create {
        /// Mailbox.
        mailbox: MailboxName,
        /// Requested special-use attributes, with backslash.
        special_use: Vec<String>,
    },
    /// `DELETE mailbox`
    Delete(MailboxName),
    /// `RENAME from to`
    Rename {
        /// Existing name.
        from: MailboxName,
        /// New name.
        to: MailboxName,
    },
    /// `SUBSCRIBE mailbox`
    Subscribe(MailboxName),
    /// `UNSUBSCRIBE mailbox`
    Unsubscribe(MailboxName),
    /// `LIST [(selection)] reference (pattern | (patterns)) [RETURN (...)]` (RFC 9051 §6.3.9,
    /// RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS).
    List {
        /// Reference name (bytes, may be empty).
        reference: Vec<u8>,
        /// One or more patterns (list-mailbox, with `*` and `%`).
        patterns: Vec<Vec<u8>>,
        /// Selection options.
        selection: ListSelection,
        /// Return options.
        returns: ListReturn,
    },
    /// `LSUB reference pattern` (RFC 3501 only).
    Lsub {
        /// Reference name.
        reference: Vec<u8>,
        /// Pattern.
        pattern: Vec<u8>,
    },
    /// `NAMESPACE` (RFC 2342)
    Namespace,
    /// `STATUS mailbox (items)`
    Status {
        /// Mailbox.
        mailbox: MailboxName,
        /// Requested items.
        items: Vec<StatusItem>,
    },
    /// `APPEND mailbox [flags] [date-time] literal ...` (one message, or several with
    /// MULTIAPPEND, RFC 3502).
    Append {
        /// Target mailbox.
        mailbox: MailboxName,
        /// One or more messages.
        messages: Vec<AppendMessage>,
    },
    /// `IDLE` (RFC 2177); the session then reads `DONE`.
    Idle,
    /// `GETQUOTA root` (RFC 9208)
    GetQuota(Vec<u8>),
    /// `GETQUOTAROOT mailbox`
    GetQuotaRoot(MailboxName),
    /// `SETQUOTA root (resource limit ...)`: refused by Yubin (quotas are the admin's), parsed so
    /// the reply can say so.
    SetQuota {
        /// Quota root.
        root: Vec<u8>,
        /// (resource name upper-cased, limit).
        limits: Vec<(String, u64)>,
    },
    /// `COMPRESS mechanism` (RFC 4978), upper-cased.
    Compress(String),

    // --- selected (§6.4) ---
    /// `CLOSE`
    Close,
    /// `UNSELECT` (RFC 3691)
    Unselect,
    /// `CHECK` (RFC 3501 only; a NOOP)
    Check,
    /// `EXPUNGE`, or `UID EXPUNGE set` (UIDPLUS) when `uids` is set.
    Expunge {
        /// Only these UIDs (UID EXPUNGE).
        uids: Option<SequenceSet>,
    },
    /// `[UID] SEARCH [RETURN (...)] [CHARSET x] criteria`
    Search {
        /// UID SEARCH.
        uid: bool,
        /// ESEARCH return options (RFC 4731/9051); `None` = no RETURN given (plain SEARCH reply
        /// in rev1, ESEARCH ALL in rev2).
        returns: Option<Vec<SearchReturn>>,
        /// CHARSET, upper-cased.
        charset: Option<String>,
        /// All criteria ANDed together.
        criteria: SearchKey,
    },
    /// `[UID] FETCH set items [(CHANGEDSINCE n [VANISHED])]`
    Fetch {
        /// UID FETCH.
        uid: bool,
        /// Messages.
        set: SequenceSet,
        /// Items (macros ALL/FAST/FULL already expanded).
        items: Vec<FetchAttr>,
        /// CONDSTORE CHANGEDSINCE (RFC 7162 §3.1.4).
        changed_since: Option<u64>,
        /// QRESYNC VANISHED modifier (only valid with UID FETCH and CHANGEDSINCE).
        vanished: bool,
    },
    /// `[UID] STORE set [(UNCHANGEDSINCE n)] [+|-]FLAGS[.SILENT] (flags)`
    Store {
        /// UID STORE.
        uid: bool,
        /// Messages.
        set: SequenceSet,
        /// CONDSTORE UNCHANGEDSINCE.
        unchanged_since: Option<u64>,
        /// Replace, add or remove.
        mode: StoreMode,
        /// `.SILENT`
        silent: bool,
        /// The flags.
        flags: Vec<Flag>,
    },
    /// `[UID] COPY set mailbox`
    Copy {
        /// UID COPY.
        uid: bool,
        /// Messages.
        set: SequenceSet,
        /// Target.
        mailbox: MailboxName,
    },
    /// `[UID] MOVE set mailbox` (RFC 6851)
    Move {
        /// UID MOVE.
        uid: bool,
        /// Messages.
        set: SequenceSet,
        /// Target.
        mailbox: MailboxName,
    },
    /// `[UID] SORT [RETURN (...)] (criteria) charset search` (RFC 5256, RFC 5267 ESORT)
    Sort {
        /// UID SORT.
        uid: bool,
        /// ESORT return options, if given.
        returns: Option<Vec<SearchReturn>>,
        /// Sort keys in order.
        criteria: Vec<SortCriterion>,
        /// Charset, upper-cased.
        charset: String,
        /// Search criteria.
        search: SearchKey,
    },
    /// `[UID] THREAD algorithm charset search` (RFC 5256)
    Thread {
        /// UID THREAD.
        uid: bool,
        /// Algorithm.
        algorithm: ThreadAlgorithm,
        /// Charset, upper-cased.
        charset: String,
        /// Search criteria.
        search: SearchKey,
    },
}

/// SELECT/EXAMINE parameters (RFC 7162).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelectParams {
    /// `(CONDSTORE)`
    pub condstore: bool,
    /// `(QRESYNC (uidvalidity modseq [known-uids [(seq-match-data)]]))`
    pub qresync: Option<QresyncParams>,
}

/// QRESYNC select parameters (RFC 7162 §3.2.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QresyncParams {
    /// The UIDVALIDITY the client knows.
    pub uidvalidity: u32,
    /// The last MODSEQ the client knows.
    pub modseq: u64,
    /// UIDs the client knows, if sent.
    pub known_uids: Option<SequenceSet>,
    /// (known sequence numbers, corresponding UIDs), if sent.
    pub seq_match: Option<(SequenceSet, SequenceSet)>,
}

/// LIST selection options (RFC 5258 §3.1, RFC 6154).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListSelection {
    /// `SUBSCRIBED`
    pub subscribed: bool,
    /// `REMOTE` (no effect here)
    pub remote: bool,
    /// `RECURSIVEMATCH`
    pub recursive_match: bool,
    /// `SPECIAL-USE`
    pub special_use: bool,
}

/// LIST return options (RFC 5258 §3.2, RFC 5819, RFC 6154).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListReturn {
    /// `SUBSCRIBED`
    pub subscribed: bool,
    /// `CHILDREN`
    pub children: bool,
    /// `SPECIAL-USE`
    pub special_use: bool,
    /// `STATUS (items)` (LIST-STATUS)
    pub status: Option<Vec<StatusItem>>,
}

/// STATUS data items (RFC 9051 §6.3.11, RFC 7162, RFC 8438).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusItem {
    /// `MESSAGES`
    Messages,
    /// `RECENT` (rev1)
    Recent,
    /// `UIDNEXT`
    UidNext,
    /// `UIDVALIDITY`
    UidValidity,
    /// `UNSEEN`
    Unseen,
    /// `DELETED` (rev2)
    Deleted,
    /// `SIZE` (RFC 8438)
    Size,
    /// `HIGHESTMODSEQ` (RFC 7162)
    HighestModSeq,
    /// `APPENDLIMIT` (RFC 7889)
    AppendLimit,
}

/// One message of an APPEND.
#[derive(Debug, Clone, PartialEq)]
pub struct AppendMessage {
    /// Flags to set.
    pub flags: Vec<Flag>,
    /// INTERNALDATE to set.
    pub date: Option<DateTime>,
    /// Where the message data lies in the frame's bytes (a literal's range, from the framer).
    pub data: Range<usize>,
    /// Sent as literal8 (`~{n}`, RFC 3516): may contain NUL.
    pub binary: bool,
}

/// ESEARCH/ESORT return options (RFC 4731, RFC 9051 §6.4.4, RFC 5182 SAVE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchReturn {
    /// `MIN`
    Min,
    /// `MAX`
    Max,
    /// `ALL`
    All,
    /// `COUNT`
    Count,
    /// `SAVE`
    Save,
}

/// Search criteria (RFC 9051 §6.4.4; RFC 3501 keys too; RFC 7162 MODSEQ; RFC 5032 WITHIN).
#[derive(Debug, Clone, PartialEq)]
pub enum SearchKey {
    /// All of these (a parenthesized list, or the top-level list).
    And(Vec<SearchKey>),
    /// `OR a b`
    Or(Box<SearchKey>, Box<SearchKey>),
    /// `NOT a`
    Not(Box<SearchKey>),
    /// `ALL`
    All,
    /// A sequence set (message numbers), or `$`.
    SequenceSet(SequenceSet),
    /// `UID set`
    Uid(SequenceSet),
    /// `ANSWERED` (and UNANSWERED as `Not`) etc.: a system flag or keyword is set.
    /// `ANSWERED DELETED DRAFT FLAGGED SEEN` map to `\Answered`...; `KEYWORD k` to `k`.
    Flag(Flag),
    /// `NEW` (rev1: recent and unseen)
    New,
    /// `OLD` (rev1: not recent)
    Old,
    /// `RECENT` (rev1)
    Recent,
    /// `BCC s`
    Bcc(Vec<u8>),
    /// `CC s`
    Cc(Vec<u8>),
    /// `FROM s`
    From(Vec<u8>),
    /// `TO s`
    To(Vec<u8>),
    /// `SUBJECT s`
    Subject(Vec<u8>),
    /// `HEADER name s`
    Header(String, Vec<u8>),
    /// `BODY s`
    Body(Vec<u8>),
    /// `TEXT s`
    Text(Vec<u8>),
    /// `BEFORE d` (internal date)
    Before(Date),
    /// `ON d`
    On(Date),
    /// `SINCE d`
    Since(Date),
    /// `SENTBEFORE d` (Date header)
    SentBefore(Date),
    /// `SENTON d`
    SentOn(Date),
    /// `SENTSINCE d`
    SentSince(Date),
    /// `LARGER n`
    Larger(u64),
    /// `SMALLER n`
    Smaller(u64),
    /// `MODSEQ [entry-name entry-type] n` (RFC 7162; the entry is ignored)
    ModSeq(u64),
    /// `OLDER secs` (RFC 5032)
    Older(u64),
    /// `YOUNGER secs` (RFC 5032)
    Younger(u64),
}

/// FETCH data items (RFC 9051 §6.4.5, RFC 3516 BINARY, RFC 7162 MODSEQ).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchAttr {
    /// `ENVELOPE`
    Envelope,
    /// `FLAGS`
    Flags,
    /// `INTERNALDATE`
    InternalDate,
    /// `RFC822.SIZE`
    Rfc822Size,
    /// `RFC822` (same as BODY[], sets \Seen)
    Rfc822,
    /// `RFC822.HEADER` (same as BODY.PEEK[HEADER])
    Rfc822Header,
    /// `RFC822.TEXT` (same as BODY[TEXT], sets \Seen)
    Rfc822Text,
    /// `BODY` (non-extensible BODYSTRUCTURE)
    Body,
    /// `BODYSTRUCTURE`
    BodyStructure,
    /// `UID`
    Uid,
    /// `MODSEQ` (RFC 7162)
    ModSeq,
    /// `BODY[section]<partial>` or `BODY.PEEK[...]`
    BodySection {
        /// `.PEEK`: do not set \Seen.
        peek: bool,
        /// The section.
        section: Section,
        /// `<offset.count>`
        partial: Option<(u32, u32)>,
    },
    /// `BINARY[part]<partial>` or `BINARY.PEEK[...]` (RFC 3516)
    Binary {
        /// `.PEEK`
        peek: bool,
        /// Part numbers (empty = whole message).
        part: Vec<u32>,
        /// `<offset.count>`
        partial: Option<(u32, u32)>,
    },
    /// `BINARY.SIZE[part]`
    BinarySize {
        /// Part numbers.
        part: Vec<u32>,
    },
}

/// STORE modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreMode {
    /// `FLAGS`
    Replace,
    /// `+FLAGS`
    Add,
    /// `-FLAGS`
    Remove,
}

/// A SORT criterion (RFC 5256 §3, RFC 5957 DISPLAY).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortCriterion {
    /// `REVERSE`
    pub reverse: bool,
    /// The key.
    pub key: SortKey,
}

/// SORT keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// `ARRIVAL` (internal date)
    Arrival,
    /// `CC`
    Cc,
    /// `DATE` (sent date)
    Date,
    /// `FROM`
    From,
    /// `SIZE`
    Size,
    /// `SUBJECT` (base subject)
    Subject,
    /// `TO`
    To,
    /// `DISPLAYFROM` (RFC 5957)
    DisplayFrom,
    /// `DISPLAYTO` (RFC 5957)
    DisplayTo,
}

/// THREAD algorithms (RFC 5256 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadAlgorithm {
    /// `ORDEREDSUBJECT`
    OrderedSubject,
    /// `REFERENCES`
    References,
}
