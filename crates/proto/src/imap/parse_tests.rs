//! Known-answer tests for the command grammar, mostly transcripts from the RFCs' examples.

// Literal ranges are data here, not ranges to expand.
#![allow(clippy::single_range_in_vec_init)]

use bytes::BytesMut;

use super::*;
use crate::imap::command::*;
use crate::imap::framer::{CommandFramer, Frame, FramerLimits};

/// Frames `wire` (which may hold literals) with the real framer and parses the one command.
fn parse(wire: &[u8]) -> Result<Command, ParseError> {
    let mut framer = CommandFramer::new(FramerLimits::default());
    let mut buf = BytesMut::from(wire);
    loop {
        match framer.next_frame(&mut buf) {
            Some(Frame::Command { bytes, literals }) => {
                assert!(buf.is_empty(), "one command per test");
                return parse_command(&bytes, &literals);
            }
            Some(Frame::NeedContinuation) => {}
            other => panic!("framer: {other:?}"),
        }
    }
}

fn ok(wire: &str) -> CommandBody {
    match parse(wire.as_bytes()) {
        Ok(c) => c.body,
        Err(e) => panic!("{wire:?}: {}", e.message),
    }
}

/// `CommandBody` is not `PartialEq` (secrets); its `Debug` shows everything else.
fn check(wire: &str, expected: CommandBody) {
    assert_eq!(
        format!("{:?}", ok(wire)),
        format!("{expected:?}"),
        "{wire:?}"
    );
}

fn err(wire: &str) -> ParseError {
    match parse(wire.as_bytes()) {
        Ok(c) => panic!("{wire:?} parsed as {c:?}"),
        Err(e) => e,
    }
}

fn bad(wire: &str, message: &str) {
    let e = err(wire);
    assert_eq!(e.message, message, "{wire:?}");
}

fn mbox(name: &str) -> MailboxName {
    MailboxName(name.as_bytes().to_vec())
}

fn set(ranges: &[(u32, u32)]) -> SequenceSet {
    SequenceSet::Ranges(
        ranges
            .iter()
            .map(|&(a, b)| (SeqNum::Value(a), SeqNum::Value(b)))
            .collect(),
    )
}

fn flag(f: &str) -> Flag {
    Flag(f.into())
}

fn date(year: i32, month: u8, day: u8) -> Date {
    Date { year, month, day }
}

#[test]
fn simple_commands_any_case_crlf_or_lf() {
    for (wire, want) in [
        ("a CAPABILITY\r\n", CommandBody::Capability),
        ("a noop\n", CommandBody::Noop),
        ("a LogOut\r\n", CommandBody::Logout),
        ("a STARTTLS\r\n", CommandBody::StartTls),
        ("a IDLE\r\n", CommandBody::Idle),
        ("a NAMESPACE\r\n", CommandBody::Namespace),
        ("a CLOSE\r\n", CommandBody::Close),
        ("a UNSELECT\r\n", CommandBody::Unselect),
        ("a CHECK\r\n", CommandBody::Check),
        ("a EXPUNGE\r\n", CommandBody::Expunge { uids: None }),
    ] {
        check(wire, want);
    }
    let c = parse(b"A001.x-1 NOOP\r\n").expect("parses");
    assert_eq!(c.tag.as_str(), "A001.x-1");
}

#[test]
fn errors_keep_the_tag() {
    let e = err("a1 FETCH\r\n");
    assert_eq!(e.tag.as_ref().map(Tag::as_str), Some("a1"));
    assert_eq!(e.message, "FETCH: expected a sequence set");
    bad("a1 FOO\r\n", "unknown command FOO");
    bad("a1 NOOP extra\r\n", "NOOP: unexpected text after command");
    bad(
        "a1 FETCH 0 FLAGS\r\n",
        "FETCH: 0 is not a valid sequence number",
    );
    bad("a1 FETCH 1:x FLAGS\r\n", "FETCH: expected a sequence set");
    bad("a1 UID NOOP\r\n", "UID NOOP is not a UID command");
    bad("a1\r\n", "expected a command name");
    bad("a1 \r\n", "expected a command name");
    for wire in ["+x NOOP\r\n", "a*b NOOP\r\n", " NOOP\r\n", "\r\n"] {
        assert_eq!(err(wire).tag, None, "{wire:?}");
    }
    // Echoed words stay short and printable.
    let long = format!("t {}\r\n", "X".repeat(100));
    assert_eq!(err(&long).message.len(), "unknown command ".len() + 32);
}

#[test]
fn requires_the_line_ending() {
    assert!(parse_command(b"a NOOP", &[]).is_err());
    assert!(parse_command(b"a NOOP\r\nb NOOP\r\n", &[]).is_err());
}

#[test]
fn login_with_quoted_and_literal_strings() {
    // RFC 9051 §6.2.3
    let CommandBody::Login { username, password } = ok("a001 LOGIN SMITH SESAME\r\n") else {
        panic!("not LOGIN");
    };
    assert_eq!(username, b"SMITH");
    assert_eq!(password.expose(), b"SESAME");
    let CommandBody::Login { username, password } =
        ok("a LOGIN \"fred \\\"x\\\\\" {5}\r\npa ss\r\n")
    else {
        panic!("not LOGIN");
    };
    assert_eq!(username, b"fred \"x\\");
    assert_eq!(password.expose(), b"pa ss");
    let CommandBody::Login { password, .. } = ok("a LOGIN {3+}\r\nbob {0}\r\n\r\n") else {
        panic!("not LOGIN");
    };
    assert_eq!(password.expose(), b"");
    bad(
        "a LOGIN \"a\\b\" x\r\n",
        "LOGIN: bad escape in quoted string",
    );
    bad("a LOGIN \"abc x\r\n", "LOGIN: unterminated quoted string");
    bad("a LOGIN bob\r\n", "LOGIN: expected a password");
    bad("a LOGIN ~{1}\r\nx y\r\n", "LOGIN: expected a password");
    bad("a LOGIN {1}\r\n\0 y\r\n", "LOGIN: NUL in literal");
}

#[test]
fn literal_must_match_the_framers_ranges() {
    let wire = b"a LOGIN {3}\r\nbob x\r\n";
    assert!(parse_command(wire, &[13..16]).is_ok());
    assert!(parse_command(wire, &[]).is_err());
    assert!(parse_command(wire, &[12..15]).is_err());
    assert!(parse_command(wire, &[13..15]).is_err());
    assert!(parse_command(wire, &[13..99]).is_err());
}

#[test]
fn authenticate() {
    let CommandBody::Authenticate { mechanism, initial } = ok("a AUTHENTICATE plain\r\n") else {
        panic!("not AUTHENTICATE");
    };
    assert_eq!(mechanism, "PLAIN");
    assert!(initial.is_none());
    let CommandBody::Authenticate { initial, .. } =
        ok("a AUTHENTICATE PLAIN AGZyZWQAc2VjcmV0=\r\n")
    else {
        panic!("not AUTHENTICATE");
    };
    assert_eq!(
        initial.map(|s| s.into_inner()),
        Some(b"AGZyZWQAc2VjcmV0=".to_vec())
    );
    let CommandBody::Authenticate { initial, .. } = ok("a AUTHENTICATE EXTERNAL =\r\n") else {
        panic!("not AUTHENTICATE");
    };
    assert_eq!(initial.map(|s| s.into_inner()), Some(b"=".to_vec()));
}

#[test]
fn id_enable_compress() {
    // RFC 2971 §3.3
    check(
        "a023 ID (\"name\" \"sodr\" \"version\" \"19.34\" \"os\" NIL)\r\n",
        CommandBody::Id(Some(vec![
            ("name".into(), Some("sodr".into())),
            ("version".into(), Some("19.34".into())),
            ("os".into(), None),
        ])),
    );
    check("a ID NIL\r\n", CommandBody::Id(None));
    check("a ID ()\r\n", CommandBody::Id(Some(vec![])));
    check(
        "a ID ({4}\r\nname {1}\r\nx)\r\n",
        CommandBody::Id(Some(vec![("name".into(), Some("x".into()))])),
    );
    check(
        "t2 ENABLE CONDSTORE qresync X-GOOD-IDEA\r\n",
        CommandBody::Enable(vec![
            "CONDSTORE".into(),
            "QRESYNC".into(),
            "X-GOOD-IDEA".into(),
        ]),
    );
    bad("a ENABLE\r\n", "ENABLE: expected a capability name");
    check(
        "a COMPRESS deflate\r\n",
        CommandBody::Compress("DEFLATE".into()),
    );
}

#[test]
fn select_examine_with_condstore_and_qresync() {
    check(
        "A142 SELECT INBOX\r\n",
        CommandBody::Select {
            mailbox: mbox("INBOX"),
            params: SelectParams::default(),
        },
    );
    check(
        "a EXAMINE \"blurdybloop\" (CONDSTORE)\r\n",
        CommandBody::Examine {
            mailbox: mbox("blurdybloop"),
            params: SelectParams {
                condstore: true,
                qresync: None,
            },
        },
    );
    // RFC 7162 §3.2.5.2
    check(
        "A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n",
        CommandBody::Select {
            mailbox: mbox("INBOX"),
            params: SelectParams {
                condstore: false,
                qresync: Some(QresyncParams {
                    uidvalidity: 67890007,
                    modseq: 20050715194045000,
                    known_uids: Some(set(&[(41, 41), (43, 211), (214, 541)])),
                    seq_match: None,
                }),
            },
        },
    );
    check(
        "B04 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 \
         15000,22500,27000,29970,29973,29976,29979:29997)))\r\n",
        CommandBody::Select {
            mailbox: mbox("INBOX"),
            params: SelectParams {
                condstore: false,
                qresync: Some(QresyncParams {
                    uidvalidity: 67890007,
                    modseq: 90060115194045000,
                    known_uids: Some(set(&[(1, 29997)])),
                    seq_match: Some((
                        set(&[(5000, 5000), (7500, 7500), (9000, 9000), (9990, 9999)]),
                        set(&[
                            (15000, 15000),
                            (22500, 22500),
                            (27000, 27000),
                            (29970, 29970),
                            (29973, 29973),
                            (29976, 29976),
                            (29979, 29997),
                        ]),
                    )),
                }),
            },
        },
    );
    let CommandBody::Select { params, .. } = ok("a SELECT x (QRESYNC (1 2 (1:2 3:4)))\r\n") else {
        panic!("not SELECT");
    };
    assert_eq!(
        params.qresync.and_then(|q| q.seq_match),
        Some((set(&[(1, 2)]), set(&[(3, 4)])))
    );
    bad("a SELECT x (FOO)\r\n", "SELECT: unknown SELECT parameter");
    bad("a SELECT x ()\r\n", "SELECT: expected a SELECT parameter");
    bad("a SELECT\r\n", "SELECT: expected a mailbox name");
}

#[test]
fn mailbox_commands() {
    check(
        "A003 CREATE owatagusiam/\r\n",
        CommandBody::Create {
            mailbox: mbox("owatagusiam/"),
            special_use: vec![],
        },
    );
    // RFC 6154 §5.2
    check(
        "t1 CREATE \"Important Messages\" (USE (\\important \\Flagged))\r\n",
        CommandBody::Create {
            mailbox: mbox("Important Messages"),
            special_use: vec!["\\Important".into(), "\\Flagged".into()],
        },
    );
    check(
        "a DELETE blurdybloop\r\n",
        CommandBody::Delete(mbox("blurdybloop")),
    );
    check(
        "A683 RENAME blurdybloop sarasoop\r\n",
        CommandBody::Rename {
            from: mbox("blurdybloop"),
            to: mbox("sarasoop"),
        },
    );
    check(
        "a SUBSCRIBE {4}\r\n#new\r\n",
        CommandBody::Subscribe(mbox("#new")),
    );
    check(
        "a UNSUBSCRIBE \"\u{e9}\"\r\n",
        CommandBody::Unsubscribe(mbox("\u{e9}")),
    );
    check(
        "A002 LSUB \"#news.\" \"comp.mail.*\"\r\n",
        CommandBody::Lsub {
            reference: b"#news.".to_vec(),
            pattern: b"comp.mail.*".to_vec(),
        },
    );
    check(
        "A042 STATUS blurdybloop (UIDNEXT MESSAGES deleted size HIGHESTMODSEQ APPENDLIMIT \
         RECENT UNSEEN UIDVALIDITY)\r\n",
        CommandBody::Status {
            mailbox: mbox("blurdybloop"),
            items: vec![
                StatusItem::UidNext,
                StatusItem::Messages,
                StatusItem::Deleted,
                StatusItem::Size,
                StatusItem::HighestModSeq,
                StatusItem::AppendLimit,
                StatusItem::Recent,
                StatusItem::Unseen,
                StatusItem::UidValidity,
            ],
        },
    );
    bad("a STATUS x (FOO)\r\n", "STATUS: unknown status item FOO");
    bad("a STATUS x ()\r\n", "STATUS: expected a status item");
    check("a GETQUOTA \"\"\r\n", CommandBody::GetQuota(vec![]));
    check(
        "a GETQUOTAROOT INBOX\r\n",
        CommandBody::GetQuotaRoot(mbox("INBOX")),
    );
    check(
        "S0000 SETQUOTA \"#user/alice\" (STORAGE 510 message 4)\r\n",
        CommandBody::SetQuota {
            root: b"#user/alice".to_vec(),
            limits: vec![("STORAGE".into(), 510), ("MESSAGE".into(), 4)],
        },
    );
}

fn list(
    reference: &str,
    patterns: &[&str],
    selection: ListSelection,
    returns: ListReturn,
) -> CommandBody {
    CommandBody::List {
        reference: reference.as_bytes().to_vec(),
        patterns: patterns.iter().map(|p| p.as_bytes().to_vec()).collect(),
        selection,
        returns,
    }
}

#[test]
fn list_basic_and_extended() {
    // RFC 9051 §6.3.9
    check(
        "A101 LIST \"\" \"\"\r\n",
        list("", &[""], Default::default(), Default::default()),
    );
    check(
        "A102 LIST #news.comp.mail.misc \"\"\r\n",
        list(
            "#news.comp.mail.misc",
            &[""],
            Default::default(),
            Default::default(),
        ),
    );
    check(
        "A103 LIST /usr/staff/jones \"\"\r\n",
        list(
            "/usr/staff/jones",
            &[""],
            Default::default(),
            Default::default(),
        ),
    );
    check(
        "a LIST \"\" *\r\n",
        list("", &["*"], Default::default(), Default::default()),
    );
    check(
        "a LIST \"\" %/]x\r\n",
        list("", &["%/]x"], Default::default(), Default::default()),
    );
    // RFC 5258 §5
    check(
        "A02 LIST (SUBSCRIBED) \"\" \"*\"\r\n",
        list(
            "",
            &["*"],
            ListSelection {
                subscribed: true,
                ..Default::default()
            },
            Default::default(),
        ),
    );
    check(
        "A03 LIST () \"\" \"%\" RETURN (CHILDREN)\r\n",
        list(
            "",
            &["%"],
            Default::default(),
            ListReturn {
                children: true,
                ..Default::default()
            },
        ),
    );
    check(
        "A04 LIST (REMOTE subscribed RECURSIVEMATCH) \"\" (\"INBOX\" \"Drafts\" Sent/%) \
         RETURN (SUBSCRIBED SPECIAL-USE)\r\n",
        list(
            "",
            &["INBOX", "Drafts", "Sent/%"],
            ListSelection {
                subscribed: true,
                remote: true,
                recursive_match: true,
                special_use: false,
            },
            ListReturn {
                subscribed: true,
                special_use: true,
                ..Default::default()
            },
        ),
    );
    // RFC 5819 §2
    check(
        "A01 LIST \"\" % RETURN (STATUS (MESSAGES UNSEEN))\r\n",
        list(
            "",
            &["%"],
            Default::default(),
            ListReturn {
                status: Some(vec![StatusItem::Messages, StatusItem::Unseen]),
                ..Default::default()
            },
        ),
    );
    check(
        "a LIST (SPECIAL-USE) \"\" {1}\r\n*\r\n",
        list(
            "",
            &["*"],
            ListSelection {
                special_use: true,
                ..Default::default()
            },
            Default::default(),
        ),
    );
    bad(
        "a LIST (RECURSIVEMATCH) \"\" *\r\n",
        "LIST: RECURSIVEMATCH needs another selection option",
    );
    bad(
        "a LIST (FOO) \"\" *\r\n",
        "LIST: unknown selection option FOO",
    );
    bad(
        "a LIST \"\" * RETURN (FOO)\r\n",
        "LIST: unknown return option FOO",
    );
    bad("a LIST \"\"\r\n", "LIST: expected a mailbox pattern");
}

const MESSAGE: &str = "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n\
From: Fred Foobar <foobar@Blurdybloop.example>\r\n\
Subject: afternoon meeting\r\n\
To: mooch@owatagu.siam.edu.example\r\n\
Message-Id: <B27397-0100000@Blurdybloop.example>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\
\r\n\
Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n";

#[test]
fn append_rfc9051_example() {
    let head = "A003 APPEND saved-messages (\\Seen) {326}\r\n";
    let wire = format!("{head}{MESSAGE}\r\n");
    let cmd = parse(wire.as_bytes()).expect("parses");
    let CommandBody::Append { mailbox, messages } = cmd.body else {
        panic!("not APPEND");
    };
    assert_eq!(mailbox, mbox("saved-messages"));
    assert_eq!(
        messages,
        vec![AppendMessage {
            flags: vec![flag("\\Seen")],
            date: None,
            data: head.len()..head.len() + 326,
            binary: false,
        }]
    );
    assert_eq!(
        &wire.as_bytes()[messages[0].data.clone()],
        MESSAGE.as_bytes()
    );
}

#[test]
fn append_forms_and_multiappend() {
    let CommandBody::Append { messages, .. } =
        ok("a APPEND x (\\seen $Junk) \" 7-Feb-1994 21:52:25 -0800\" {2+}\r\nhi\r\n")
    else {
        panic!("not APPEND");
    };
    assert_eq!(messages[0].flags, vec![flag("\\Seen"), flag("$Junk")]);
    assert_eq!(
        messages[0].date,
        Some(DateTime {
            timestamp: 760_686_745,
            offset_minutes: -480,
        })
    );
    let CommandBody::Append { messages, .. } =
        ok("a APPEND x \"17-Jul-1996 02:44:25 -0700\" ~{3}\r\na\0b\r\n")
    else {
        panic!("not APPEND");
    };
    assert!(messages[0].binary && messages[0].flags.is_empty());
    assert_eq!(messages[0].date.map(|d| d.timestamp), Some(837_596_665));
    // RFC 3502 §6
    let wire = "A003 APPEND saved-messages (\\Seen) {3}\r\nabc (\\Seen) \"7-Feb-1994 22:43:04 -0800\" {4}\r\nabcd ~{1}\r\nz\r\n";
    let CommandBody::Append { messages, .. } = ok(wire) else {
        panic!("not APPEND");
    };
    assert_eq!(messages.len(), 3);
    let data: Vec<&[u8]> = messages
        .iter()
        .map(|m| &wire.as_bytes()[m.data.clone()])
        .collect();
    assert_eq!(data, vec![&b"abc"[..], b"abcd", b"z"]);
    assert_eq!(
        messages.iter().map(|m| m.binary).collect::<Vec<_>>(),
        [false, false, true]
    );
    bad(
        "a APPEND x (\\Seen)\r\n",
        "APPEND: expected a message literal",
    );
    // RFC 6855 §4: UTF8 (literal8)
    let wire = "a APPEND x (\\Seen) UTF8 (~{3}\r\nabc) utf8 (~{1}\r\nz)\r\n";
    let CommandBody::Append { messages, .. } = ok(wire) else {
        panic!("not APPEND");
    };
    let data: Vec<&[u8]> = messages
        .iter()
        .map(|m| &wire.as_bytes()[m.data.clone()])
        .collect();
    assert_eq!(data, vec![&b"abc"[..], b"z"]);
    bad(
        "a APPEND x UTF8 (~{1}\r\na\r\n",
        "APPEND: expected \")\" after the UTF8 message literal",
    );
    bad(
        "a APPEND x \"xx\" {1}\r\na\r\n",
        "APPEND: expected a date-time like \"17-Jul-1996 02:44:25 -0700\"",
    );
    bad(
        "a APPEND x \"31-Feb-1994 22:43:04 -0800\" {1}\r\na\r\n",
        "APPEND: no such date",
    );
    bad(
        "a APPEND x (\\*) {1}\r\na\r\n",
        "APPEND: \\* is not a valid flag here",
    );
    bad(
        "a APPEND x {1}\r\na extra\r\n",
        "APPEND: expected a message literal",
    );
}

fn fetch(set: SequenceSet, items: Vec<FetchAttr>) -> CommandBody {
    CommandBody::Fetch {
        uid: false,
        set,
        items,
        changed_since: None,
        vanished: false,
    }
}

fn body_section(
    peek: bool,
    part: Vec<u32>,
    text: Option<SectionText>,
    partial: Option<(u32, u32)>,
) -> FetchAttr {
    FetchAttr::BodySection {
        peek,
        section: Section { part, text },
        partial,
    }
}

#[test]
fn fetch_macros_and_items() {
    use FetchAttr as F;
    check(
        "a FETCH 1 ALL\r\n",
        fetch(
            set(&[(1, 1)]),
            vec![F::Flags, F::InternalDate, F::Rfc822Size, F::Envelope],
        ),
    );
    check(
        "a FETCH 1 fast\r\n",
        fetch(
            set(&[(1, 1)]),
            vec![F::Flags, F::InternalDate, F::Rfc822Size],
        ),
    );
    check(
        "a FETCH 1 FULL\r\n",
        fetch(
            set(&[(1, 1)]),
            vec![
                F::Flags,
                F::InternalDate,
                F::Rfc822Size,
                F::Envelope,
                F::Body,
            ],
        ),
    );
    // RFC 9051 §6.4.5
    check(
        "A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\r\n",
        fetch(
            set(&[(2, 4)]),
            vec![
                F::Flags,
                body_section(
                    false,
                    vec![],
                    Some(SectionText::HeaderFields(vec![
                        "DATE".into(),
                        "FROM".into(),
                    ])),
                    None,
                ),
            ],
        ),
    );
    check(
        "a fetch 1:*,$x (uid rfc822 RFC822.HEADER rfc822.text RFC822.SIZE envelope BODY bodystructure INTERNALDATE MODSEQ)\r\n"
            .replace("$x", "7")
            .as_str(),
        fetch(
            SequenceSet::Ranges(vec![(SeqNum::Value(1), SeqNum::Star), (SeqNum::Value(7), SeqNum::Value(7))]),
            vec![F::Uid, F::Rfc822, F::Rfc822Header, F::Rfc822Text, F::Rfc822Size, F::Envelope, F::Body, F::BodyStructure, F::InternalDate, F::ModSeq],
        ),
    );
    check(
        "a FETCH $ (BODY.PEEK[] BODY[1.2.MIME] body[3.TEXT]<0.2048> BODY[4.1] BODY[HEADER.FIELDS.NOT ({4}\r\nX-Ab Y)] BODY[2.HEADER])\r\n",
        fetch(
            SequenceSet::Saved,
            vec![
                body_section(true, vec![], None, None),
                body_section(false, vec![1, 2], Some(SectionText::Mime), None),
                body_section(false, vec![3], Some(SectionText::Text), Some((0, 2048))),
                body_section(false, vec![4, 1], None, None),
                body_section(
                    false,
                    vec![],
                    Some(SectionText::HeaderFieldsNot(vec![
                        "X-Ab".into(),
                        "Y".into(),
                    ])),
                    None,
                ),
                body_section(false, vec![2], Some(SectionText::Header), None),
            ],
        ),
    );
    // RFC 3516 §4.3
    check(
        "a FETCH 1 (BINARY[1]<0.100> BINARY.PEEK[] BINARY.SIZE[4.2])\r\n",
        fetch(
            set(&[(1, 1)]),
            vec![
                F::Binary {
                    peek: false,
                    part: vec![1],
                    partial: Some((0, 100)),
                },
                F::Binary {
                    peek: true,
                    part: vec![],
                    partial: None,
                },
                F::BinarySize { part: vec![4, 2] },
            ],
        ),
    );
    bad(
        "a FETCH 1 BODY[MIME]\r\n",
        "FETCH: expected HEADER, HEADER.FIELDS, TEXT or MIME in a body section",
    );
    bad(
        "a FETCH 1 BODY[0]\r\n",
        "FETCH: a part number must not be 0",
    );
    bad(
        "a FETCH 1 BODY[]<1.0>\r\n",
        "FETCH: a partial length must not be 0",
    );
    bad(
        "a FETCH 1 BODY[1\r\n",
        "FETCH: expected ] closing a body section",
    );
    bad(
        "a FETCH 1 BODY[TEXT\r\n",
        "FETCH: expected HEADER, HEADER.FIELDS, TEXT or MIME in a body section",
    );
    bad("a FETCH 1 FOO\r\n", "FETCH: expected a fetch item");
    bad("a FETCH 1 ()\r\n", "FETCH: expected a fetch item");
    bad(
        "a FETCH 1 (FLAGS\r\n",
        "FETCH: expected SP or ) in a fetch item",
    );
    bad(
        "a FETCH 4294967296 FLAGS\r\n",
        "FETCH: a sequence number too large",
    );
    bad(
        "a FETCH 1 BODY[]<99999999999999999999999.1>\r\n",
        "FETCH: a partial offset too large",
    );
}

#[test]
fn fetch_modifiers_and_uid() {
    // RFC 7162 §3.1.4.1, §3.2.6
    check(
        "s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)\r\n",
        CommandBody::Fetch {
            uid: true,
            set: SequenceSet::Ranges(vec![(SeqNum::Value(1), SeqNum::Star)]),
            items: vec![FetchAttr::Flags],
            changed_since: Some(12345),
            vanished: false,
        },
    );
    check(
        "A02 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n",
        CommandBody::Fetch {
            uid: true,
            set: set(&[(300, 500)]),
            items: vec![FetchAttr::Flags],
            changed_since: Some(12345),
            vanished: true,
        },
    );
    bad(
        "a FETCH 1 FLAGS (CHANGEDSINCE 1 VANISHED)\r\n",
        "FETCH: VANISHED is only allowed in UID FETCH",
    );
    bad(
        "a UID FETCH 1 FLAGS (VANISHED)\r\n",
        "UID FETCH: VANISHED requires CHANGEDSINCE",
    );
    bad("a FETCH 1 FLAGS (FOO)\r\n", "FETCH: unknown FETCH modifier");
}

#[test]
fn store_copy_move_expunge() {
    // RFC 9051 §6.4.6
    check(
        "A003 STORE 2:4 +FLAGS (\\Deleted)\r\n",
        CommandBody::Store {
            uid: false,
            set: set(&[(2, 4)]),
            unchanged_since: None,
            mode: StoreMode::Add,
            silent: false,
            flags: vec![flag("\\Deleted")],
        },
    );
    // RFC 7162 §3.1.3
    check(
        "d105 UID STORE 7,5,9 (UNCHANGEDSINCE 320162338) -flags.silent \\seen $Forwarded\r\n",
        CommandBody::Store {
            uid: true,
            set: set(&[(7, 7), (5, 5), (9, 9)]),
            unchanged_since: Some(320162338),
            mode: StoreMode::Remove,
            silent: true,
            flags: vec![flag("\\Seen"), flag("$Forwarded")],
        },
    );
    check(
        "a STORE 1 FLAGS ()\r\n",
        CommandBody::Store {
            uid: false,
            set: set(&[(1, 1)]),
            unchanged_since: None,
            mode: StoreMode::Replace,
            silent: false,
            flags: vec![],
        },
    );
    bad(
        "a STORE 1 FLAGS (\\*)\r\n",
        "STORE: \\* is not a valid flag here",
    );
    bad(
        "a STORE 1 LABELS (x)\r\n",
        "STORE: expected FLAGS, +FLAGS or -FLAGS",
    );
    check(
        "A003 COPY 2:4 MEETING\r\n",
        CommandBody::Copy {
            uid: false,
            set: set(&[(2, 4)]),
            mailbox: mbox("MEETING"),
        },
    );
    // RFC 6851 §4.3
    check(
        "a UID MOVE 42:69 foo\r\n",
        CommandBody::Move {
            uid: true,
            set: set(&[(42, 69)]),
            mailbox: mbox("foo"),
        },
    );
    check(
        "a uid copy 5:3 {3}\r\nfoo\r\n",
        CommandBody::Copy {
            uid: true,
            set: set(&[(5, 3)]),
            mailbox: mbox("foo"),
        },
    );
    check(
        "A003 UID EXPUNGE 3000:3002\r\n",
        CommandBody::Expunge {
            uids: Some(set(&[(3000, 3002)])),
        },
    );
    bad("a UID EXPUNGE\r\n", "UID EXPUNGE: expected a UID set");
}

fn search(
    returns: Option<Vec<SearchReturn>>,
    charset: Option<&str>,
    criteria: SearchKey,
) -> CommandBody {
    CommandBody::Search {
        uid: false,
        returns,
        charset: charset.map(String::from),
        criteria,
    }
}

fn sflag(f: &str) -> SearchKey {
    SearchKey::Flag(flag(f))
}

fn not(k: SearchKey) -> SearchKey {
    SearchKey::Not(Box::new(k))
}

#[test]
fn search_examples() {
    use SearchKey as K;
    // RFC 9051 §6.4.4
    check(
        "A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
        search(
            Some(vec![SearchReturn::Min, SearchReturn::Count]),
            None,
            K::And(vec![
                sflag("\\Flagged"),
                K::Since(date(1994, 2, 1)),
                not(K::From(b"Smith".to_vec())),
            ]),
        ),
    );
    check(
        "A283 SEARCH RETURN () FLAGGED SINCE \"1-Feb-1994\"\r\n",
        search(
            Some(vec![SearchReturn::All]),
            None,
            K::And(vec![sflag("\\Flagged"), K::Since(date(1994, 2, 1))]),
        ),
    );
    check(
        "A284 SEARCH TEXT \"string not in mailbox\"\r\n",
        search(None, None, K::Text(b"string not in mailbox".to_vec())),
    );
    check(
        "A285 SEARCH CHARSET utf-8 TEXT {12}\r\n\u{201c}quoted\u{201d}\r\n",
        search(
            None,
            Some("UTF-8"),
            K::Text("\u{201c}quoted\u{201d}".as_bytes().to_vec()),
        ),
    );
    check(
        "A286 SEARCH RETURN (SAVE) CHARSET \"US-ASCII\" OR (UNSEEN NEW) (OLD RECENT)\r\n",
        search(
            Some(vec![SearchReturn::Save]),
            Some("US-ASCII"),
            K::Or(
                Box::new(K::And(vec![not(sflag("\\Seen")), K::New])),
                Box::new(K::And(vec![K::Old, K::Recent])),
            ),
        ),
    );
    check(
        "a UID SEARCH 1:100,$ UID 5:* (ALL)\r\n"
            .replace(",$", "")
            .as_str(),
        CommandBody::Search {
            uid: true,
            returns: None,
            charset: None,
            criteria: K::And(vec![
                K::SequenceSet(set(&[(1, 100)])),
                K::Uid(SequenceSet::Ranges(vec![(SeqNum::Value(5), SeqNum::Star)])),
                K::All,
            ]),
        },
    );
    check(
        "a SEARCH $\r\n",
        search(None, None, K::SequenceSet(SequenceSet::Saved)),
    );
    bad("a SEARCH\r\n", "SEARCH: expected search criteria");
    bad("a SEARCH FOO\r\n", "SEARCH: unknown search key FOO");
    bad("a SEARCH SINCE 30-Feb-2024\r\n", "SEARCH: no such date");
    bad(
        "a SEARCH SINCE 1-Fob-2024\r\n",
        "SEARCH: expected a date like 1-Feb-2024",
    );
    bad(
        "a SEARCH OR SEEN\r\n",
        "SEARCH: expected a second search key",
    );
    bad(
        "a SEARCH RETURN (FOO) ALL\r\n",
        "SEARCH: unknown return option FOO",
    );
    bad("a SEARCH ()\r\n", "SEARCH: expected a search key");
}

#[test]
fn every_search_key() {
    use SearchKey as K;
    let s = |v: &str| v.as_bytes().to_vec();
    let cases: Vec<(&str, SearchKey)> = vec![
        ("ALL", K::All),
        ("ANSWERED", sflag("\\Answered")),
        ("DELETED", sflag("\\Deleted")),
        ("DRAFT", sflag("\\Draft")),
        ("FLAGGED", sflag("\\Flagged")),
        ("SEEN", sflag("\\Seen")),
        ("UNANSWERED", not(sflag("\\Answered"))),
        ("UNDELETED", not(sflag("\\Deleted"))),
        ("UNDRAFT", not(sflag("\\Draft"))),
        ("UNFLAGGED", not(sflag("\\Flagged"))),
        ("UNSEEN", not(sflag("\\Seen"))),
        ("KEYWORD $Junk", sflag("$Junk")),
        ("UNKEYWORD $Junk", not(sflag("$Junk"))),
        ("NEW", K::New),
        ("OLD", K::Old),
        ("RECENT", K::Recent),
        ("BCC a", K::Bcc(s("a"))),
        ("CC \"b c\"", K::Cc(s("b c"))),
        ("FROM {1}\r\nx", K::From(s("x"))),
        ("TO d", K::To(s("d"))),
        ("SUBJECT \"\"", K::Subject(s(""))),
        ("BODY e", K::Body(s("e"))),
        ("TEXT f", K::Text(s("f"))),
        (
            "HEADER Message-ID <x@y>",
            K::Header("Message-ID".into(), s("<x@y>")),
        ),
        (
            "HEADER {8}\r\nX-Header \"\"",
            K::Header("X-Header".into(), s("")),
        ),
        ("BEFORE 1-Jan-2000", K::Before(date(2000, 1, 1))),
        ("ON 29-feb-2024", K::On(date(2024, 2, 29))),
        ("SINCE \"31-Dec-1999\"", K::Since(date(1999, 12, 31))),
        ("SENTBEFORE 2-Mar-2001", K::SentBefore(date(2001, 3, 2))),
        ("SENTON 02-Mar-2001", K::SentOn(date(2001, 3, 2))),
        ("SENTSINCE 3-Apr-2002", K::SentSince(date(2002, 4, 3))),
        ("LARGER 1000", K::Larger(1000)),
        ("SMALLER 18446744073709551615", K::Smaller(u64::MAX)),
        ("MODSEQ 620162338", K::ModSeq(620162338)),
        // RFC 7162 §3.1.5
        (
            "MODSEQ \"/flags/\\\\draft\" all 620162338",
            K::ModSeq(620162338),
        ),
        ("OLDER 3600", K::Older(3600)),
        ("YOUNGER 60", K::Younger(60)),
        ("UID 1,3", K::Uid(set(&[(1, 1), (3, 3)]))),
        ("2:3", K::SequenceSet(set(&[(2, 3)]))),
        ("NOT NOT SEEN", not(not(sflag("\\Seen")))),
        ("(SEEN)", sflag("\\Seen")),
        ("((SEEN) (ALL))", K::And(vec![sflag("\\Seen"), K::All])),
    ];
    for (key, want) in cases {
        check(&format!("a SEARCH {key}\r\n"), search(None, None, want));
    }
    bad(
        "a SEARCH KEYWORD \\Seen\r\n",
        "SEARCH: expected a keyword, not a system flag",
    );
    bad(
        "a SEARCH YOUNGER 0\r\n",
        "SEARCH: a number of seconds must not be 0",
    );
    bad(
        "a SEARCH LARGER 18446744073709551616\r\n",
        "SEARCH: a size too large",
    );
}

#[test]
fn nesting_limit() {
    // Past the framer's line limit on purpose: the grammar must hold on its own.
    let raw = |s: String| parse_command(s.as_bytes(), &[]).map_err(|e| e.message);
    let deep = |n: usize| format!("a SEARCH {}SEEN{}\r\n", "(".repeat(n), ")".repeat(n));
    let too_deep = Err("SEARCH: search criteria nested too deeply".to_string());
    assert!(raw(deep(MAX_DEPTH - 1)).is_ok());
    assert_eq!(raw(deep(MAX_DEPTH)).map(|_| ()), too_deep);
    assert_eq!(raw(deep(100_000)).map(|_| ()), too_deep);
    let nots = format!("a SEARCH {}SEEN\r\n", "NOT ".repeat(100_000));
    assert_eq!(raw(nots).map(|_| ()), too_deep);
    let ors = format!("a SEARCH {}SEEN\r\n", "OR SEEN ".repeat(100_000));
    assert_eq!(raw(ors).map(|_| ()), too_deep);
    let wide = format!("a SEARCH {}SEEN\r\n", "SEEN ".repeat(100_000));
    assert!(raw(wide).is_ok());
}

#[test]
fn sort_and_thread() {
    use SearchKey as K;
    // RFC 5256 §3
    check(
        "A283 SORT (SUBJECT REVERSE DATE) UTF-8 ALL\r\n",
        CommandBody::Sort {
            uid: false,
            returns: None,
            criteria: vec![
                SortCriterion {
                    reverse: false,
                    key: SortKey::Subject,
                },
                SortCriterion {
                    reverse: true,
                    key: SortKey::Date,
                },
            ],
            charset: "UTF-8".into(),
            search: K::All,
        },
    );
    check(
        "A285 UID SORT (SUBJECT REVERSE DATE) UTF-8 SINCE 1-Feb-1994 DELETED\r\n",
        CommandBody::Sort {
            uid: true,
            returns: None,
            criteria: vec![
                SortCriterion {
                    reverse: false,
                    key: SortKey::Subject,
                },
                SortCriterion {
                    reverse: true,
                    key: SortKey::Date,
                },
            ],
            charset: "UTF-8".into(),
            search: K::And(vec![K::Since(date(1994, 2, 1)), sflag("\\Deleted")]),
        },
    );
    // RFC 5267 §3.2, RFC 5957
    check(
        "a UID SORT RETURN (MIN COUNT) (DISPLAYFROM arrival cc from size to displayto) us-ascii UNDELETED\r\n",
        CommandBody::Sort {
            uid: true,
            returns: Some(vec![SearchReturn::Min, SearchReturn::Count]),
            criteria: [
                SortKey::DisplayFrom,
                SortKey::Arrival,
                SortKey::Cc,
                SortKey::From,
                SortKey::Size,
                SortKey::To,
                SortKey::DisplayTo,
            ]
            .into_iter()
            .map(|key| SortCriterion {
                reverse: false,
                key,
            })
            .collect(),
            charset: "US-ASCII".into(),
            search: not(sflag("\\Deleted")),
        },
    );
    bad("a SORT () UTF-8 ALL\r\n", "SORT: expected a sort criterion");
    bad("a SORT (SUBJECT) ALL\r\n", "SORT: expected search criteria");
    bad("a SORT (FOO) UTF-8 ALL\r\n", "SORT: unknown sort key FOO");
    // RFC 5256 §3
    check(
        "A283 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000\r\n",
        CommandBody::Thread {
            uid: false,
            algorithm: ThreadAlgorithm::OrderedSubject,
            charset: "UTF-8".into(),
            search: K::Since(date(2000, 3, 5)),
        },
    );
    check(
        "A284 UID THREAD REFERENCES US-ASCII TEXT \"gewp\"\r\n",
        CommandBody::Thread {
            uid: true,
            algorithm: ThreadAlgorithm::References,
            charset: "US-ASCII".into(),
            search: K::Text(b"gewp".to_vec()),
        },
    );
    bad(
        "a THREAD FOO UTF-8 ALL\r\n",
        "THREAD: unknown threading algorithm FOO",
    );
}

#[test]
fn literals_in_every_string_position() {
    // Each `{}` in the template is replaced by a literal holding `X`.
    let templates = [
        ("a LOGIN {} {}\r\n", 2),
        ("a SELECT {}\r\n", 1),
        ("a EXAMINE {}\r\n", 1),
        ("a CREATE {}\r\n", 1),
        ("a DELETE {}\r\n", 1),
        ("a RENAME {} {}\r\n", 2),
        ("a SUBSCRIBE {}\r\n", 1),
        ("a UNSUBSCRIBE {}\r\n", 1),
        ("a LIST {} {}\r\n", 2),
        ("a LIST () {} ({} {})\r\n", 3),
        ("a LSUB {} {}\r\n", 2),
        ("a STATUS {} (MESSAGES)\r\n", 1),
        ("a APPEND {} {}\r\n", 2),
        ("a GETQUOTA {}\r\n", 1),
        ("a GETQUOTAROOT {}\r\n", 1),
        ("a SETQUOTA {} ()\r\n", 1),
        ("a COPY 1 {}\r\n", 1),
        ("a UID MOVE 1 {}\r\n", 1),
        ("a ID ({} {})\r\n", 2),
        ("a FETCH 1 BODY[HEADER.FIELDS ({})]\r\n", 1),
        ("a SEARCH CHARSET UTF-8 FROM {} HEADER {} {}\r\n", 3),
        ("a SORT (DATE) UTF-8 SUBJECT {}\r\n", 1),
        ("a THREAD REFERENCES UTF-8 BODY {}\r\n", 1),
    ];
    for (template, n) in templates {
        for form in ["{1}", "{1+}"] {
            let wire = template.replace("{}", &format!("{form}\r\nX"));
            let cmd = parse(wire.as_bytes()).unwrap_or_else(|e| panic!("{wire:?}: {}", e.message));
            let debug = format!("{:?}", cmd.body);
            let quoted = template.replace("{}", "\"X\"");
            if !template.starts_with("a APPEND") && !template.starts_with("a LOGIN") {
                assert_eq!(debug, format!("{:?}", ok(&quoted)), "{wire:?}");
            }
            assert_eq!(wire.matches(form).count(), n);
        }
    }
}
