//! Property tests for the IMAP command grammar: it never panics, and generated valid commands
//! parse to the value they were generated from. Modified UTF-7 round-trips.
//!
//! Bounded to 1,000 cases each; the `imap_command` fuzz target in `/fuzz` runs longer.

use std::ops::Range;

use bytes::BytesMut;
use proptest::prelude::*;
use yubin_proto::imap::command::*;
use yubin_proto::imap::framer::{CommandFramer, Frame, FramerLimits};
use yubin_proto::imap::{parse_command, utf7};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 1_000,
        ..ProptestConfig::default()
    }
}

/// Bytes biased towards IMAP syntax so the parser gets past the first token often.
fn imap_bytes() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just(b"a ".to_vec()),
        Just(b" ".to_vec()),
        Just(b"(".to_vec()),
        Just(b")".to_vec()),
        Just(b"[".to_vec()),
        Just(b"]".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"\\".to_vec()),
        Just(b"{3}\r\n".to_vec()),
        Just(b"~{2+}\r\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"UID ".to_vec()),
        Just(b"NOT ".to_vec()),
        Just(b"OR ".to_vec()),
        prop::sample::select(vec![
            "FETCH",
            "STORE",
            "SEARCH",
            "LIST",
            "APPEND",
            "SELECT",
            "SORT",
            "THREAD",
            "ID",
            "LOGIN",
            "STATUS",
            "CREATE",
            "BODY.PEEK",
            "BINARY",
            "HEADER.FIELDS",
            "1:*",
            "$",
            "0",
            "4294967296",
            "CHANGEDSINCE",
            "RETURN",
            "QRESYNC",
            "+FLAGS",
            "NIL",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        prop::collection::vec(any::<u8>(), 1..4),
    ];
    prop::collection::vec(token, 0..40).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn never_panics_on_arbitrary_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..200),
        ranges in prop::collection::vec((0usize..250, 0usize..250), 0..4),
    ) {
        let literals: Vec<Range<usize>> = ranges.into_iter().map(|(a, b)| a..b).collect();
        let _ = parse_command(&bytes, &literals);
    }

    #[test]
    fn never_panics_on_framed_input(bytes in imap_bytes()) {
        let mut framer = CommandFramer::new(FramerLimits::default());
        let mut buf = BytesMut::from(&bytes[..]);
        buf.extend_from_slice(b"\r\n");
        while let Some(frame) = framer.next_frame(&mut buf) {
            if let Frame::Command { bytes, literals } = frame
                && let Err(e) = parse_command(&bytes, &literals)
            {
                prop_assert!(e.message.bytes().all(|b| (0x20..0x7f).contains(&b)));
            }
        }
    }

    #[test]
    fn utf7_round_trips(name in any::<String>()) {
        let encoded = utf7::encode(&name);
        prop_assert!(encoded.bytes().all(|b| (0x20..0x7f).contains(&b)));
        prop_assert_eq!(utf7::decode(encoded.as_bytes()), Some(name));
    }

    #[test]
    fn utf7_decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Some(name) = utf7::decode(&bytes) {
            // Not always the same bytes (`&AOk-&AOk-` re-encodes as one shift), same name.
            let again = utf7::encode(&name);
            prop_assert_eq!(utf7::decode(again.as_bytes()), Some(name));
        }
    }

    #[test]
    fn sequence_sets_parse((wire, want) in sequence_set()) {
        let line = format!("t1 UID FETCH {wire} UID\r\n");
        let cmd = parse_command(line.as_bytes(), &[]).map_err(|e| TestCaseError::fail(e.message))?;
        let CommandBody::Fetch { set, .. } = cmd.body else {
            return Err(TestCaseError::fail("not FETCH"));
        };
        prop_assert_eq!(set, want);
    }

    #[test]
    fn search_keys_parse(keys in prop::collection::vec(search_key(), 1..4)) {
        let wire: Vec<&str> = keys.iter().map(|(w, _)| w.as_str()).collect();
        let line = format!("t1 SEARCH {}\r\n", wire.join(" "));
        let cmd = parse_command(line.as_bytes(), &[]).map_err(|e| TestCaseError::fail(format!("{line:?}: {}", e.message)))?;
        let CommandBody::Search { criteria, .. } = cmd.body else {
            return Err(TestCaseError::fail("not SEARCH"));
        };
        let mut want: Vec<SearchKey> = keys.into_iter().map(|(_, k)| k).collect();
        let want = if want.len() == 1 { want.remove(0) } else { SearchKey::And(want) };
        prop_assert_eq!(criteria, want);
    }

    #[test]
    fn fetch_items_parse(items in prop::collection::vec(fetch_att(), 1..6)) {
        let wire: Vec<&str> = items.iter().map(|(w, _)| w.as_str()).collect();
        let line = format!("t1 FETCH 1 ({})\r\n", wire.join(" "));
        let cmd = parse_command(line.as_bytes(), &[]).map_err(|e| TestCaseError::fail(format!("{line:?}: {}", e.message)))?;
        let CommandBody::Fetch { items: got, .. } = cmd.body else {
            return Err(TestCaseError::fail("not FETCH"));
        };
        let want: Vec<FetchAttr> = items.into_iter().map(|(_, a)| a).collect();
        prop_assert_eq!(got, want);
    }
}

fn seq_num() -> impl Strategy<Value = (String, SeqNum)> {
    prop_oneof![
        Just(("*".to_string(), SeqNum::Star)),
        (1u32..).prop_map(|n| (n.to_string(), SeqNum::Value(n))),
    ]
}

fn sequence_set() -> impl Strategy<Value = (String, SequenceSet)> {
    let range = (seq_num(), prop::option::of(seq_num())).prop_map(|(a, b)| match b {
        Some(b) => (format!("{}:{}", a.0, b.0), (a.1, b.1)),
        None => (a.0, (a.1, a.1)),
    });
    prop_oneof![
        1 => Just(("$".to_string(), SequenceSet::Saved)),
        9 => prop::collection::vec(range, 1..5).prop_map(|rs| {
            let wire: Vec<String> = rs.iter().map(|(w, _)| w.clone()).collect();
            (wire.join(","), SequenceSet::Ranges(rs.into_iter().map(|(_, r)| r).collect()))
        }),
    ]
}

/// A string argument in one of its three forms (no literals here: those need ranges).
fn astring_arg() -> impl Strategy<Value = (String, Vec<u8>)> {
    prop_oneof![
        "[a-zA-Z0-9]{1,8}".prop_map(|s| (s.clone(), s.into_bytes())),
        "[ a-z\"\\\\]{0,8}".prop_map(|s| {
            let escaped = s.replace('\\', "\\\\").replace('"', "\\\"");
            (format!("\"{escaped}\""), s.into_bytes())
        }),
    ]
}

fn date_arg() -> impl Strategy<Value = (String, Date)> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    (1970i32..2100, 1u8..=12, 1u8..=28, any::<bool>()).prop_map(|(year, month, day, quote)| {
        let text = format!("{day}-{}-{year}", MONTHS[usize::from(month - 1)]);
        let wire = if quote { format!("\"{text}\"") } else { text };
        (wire, Date { year, month, day })
    })
}

fn flag_key(name: &str, flag: &str) -> (String, SearchKey) {
    (name.to_string(), SearchKey::Flag(Flag(flag.to_string())))
}

fn search_key() -> impl Strategy<Value = (String, SearchKey)> {
    let leaf = prop_oneof![
        Just(("ALL".to_string(), SearchKey::All)),
        Just(flag_key("SEEN", "\\Seen")),
        Just(flag_key("answered", "\\Answered")),
        Just(("NEW".to_string(), SearchKey::New)),
        sequence_set().prop_map(|(w, s)| (w, SearchKey::SequenceSet(s))),
        sequence_set().prop_map(|(w, s)| (format!("UID {w}"), SearchKey::Uid(s))),
        astring_arg().prop_map(|(w, s)| (format!("FROM {w}"), SearchKey::From(s))),
        astring_arg().prop_map(|(w, s)| (
            format!("HEADER X-Y {w}"),
            SearchKey::Header("X-Y".into(), s)
        )),
        date_arg().prop_map(|(w, d)| (format!("SINCE {w}"), SearchKey::Since(d))),
        date_arg().prop_map(|(w, d)| (format!("SENTBEFORE {w}"), SearchKey::SentBefore(d))),
        any::<u64>().prop_map(|n| (format!("LARGER {n}"), SearchKey::Larger(n))),
        "[a-zA-Z$]{1,8}".prop_map(|k| (format!("KEYWORD {k}"), SearchKey::Flag(Flag(k)))),
    ];
    leaf.prop_recursive(4, 32, 3, |inner| {
        prop_oneof![
            inner
                .clone()
                .prop_map(|(w, k)| (format!("NOT {w}"), SearchKey::Not(Box::new(k)))),
            (inner.clone(), inner.clone()).prop_map(|((wa, a), (wb, b))| {
                (
                    format!("OR {wa} {wb}"),
                    SearchKey::Or(Box::new(a), Box::new(b)),
                )
            }),
            prop::collection::vec(inner, 1..4).prop_map(|ks| {
                let wire: Vec<&str> = ks.iter().map(|(w, _)| w.as_str()).collect();
                let wire = format!("({})", wire.join(" "));
                let mut keys: Vec<SearchKey> = ks.into_iter().map(|(_, k)| k).collect();
                let key = if keys.len() == 1 {
                    keys.remove(0)
                } else {
                    SearchKey::And(keys)
                };
                (wire, key)
            }),
        ]
    })
}

fn part() -> impl Strategy<Value = (String, Vec<u32>)> {
    prop::collection::vec(1u32..100, 0..4).prop_map(|p| {
        let wire: Vec<String> = p.iter().map(u32::to_string).collect();
        (wire.join("."), p)
    })
}

fn partial() -> impl Strategy<Value = (String, Option<(u32, u32)>)> {
    prop::option::of((any::<u32>(), 1u32..)).prop_map(|p| match p {
        Some((a, b)) => (format!("<{a}.{b}>"), Some((a, b))),
        None => (String::new(), None),
    })
}

fn section_text() -> impl Strategy<Value = (String, Option<SectionText>)> {
    let names = prop::collection::vec("[A-Za-z][A-Za-z-]{0,8}", 1..3);
    prop_oneof![
        Just((String::new(), None)),
        Just(("HEADER".to_string(), Some(SectionText::Header))),
        Just(("TEXT".to_string(), Some(SectionText::Text))),
        names.clone().prop_map(|n| (
            format!("HEADER.FIELDS ({})", n.join(" ")),
            Some(SectionText::HeaderFields(n))
        )),
        names.prop_map(|n| (
            format!("HEADER.FIELDS.NOT ({})", n.join(" ")),
            Some(SectionText::HeaderFieldsNot(n))
        )),
    ]
}

fn fetch_att() -> impl Strategy<Value = (String, FetchAttr)> {
    let simple = prop::sample::select(vec![
        ("ENVELOPE", FetchAttr::Envelope),
        ("flags", FetchAttr::Flags),
        ("INTERNALDATE", FetchAttr::InternalDate),
        ("RFC822.SIZE", FetchAttr::Rfc822Size),
        ("RFC822", FetchAttr::Rfc822),
        ("RFC822.HEADER", FetchAttr::Rfc822Header),
        ("RFC822.TEXT", FetchAttr::Rfc822Text),
        ("BODY", FetchAttr::Body),
        ("BODYSTRUCTURE", FetchAttr::BodyStructure),
        ("UID", FetchAttr::Uid),
        ("MODSEQ", FetchAttr::ModSeq),
    ])
    .prop_map(|(w, a)| (w.to_string(), a));
    let body = (any::<bool>(), part(), section_text(), partial()).prop_map(
        |(peek, (pw, part), (tw, text), (rw, partial))| {
            let spec = match (pw.is_empty(), tw.is_empty()) {
                (true, _) => tw,
                (false, true) => pw,
                (false, false) => format!("{pw}.{tw}"),
            };
            let name = if peek { "BODY.PEEK" } else { "body" };
            let att = FetchAttr::BodySection {
                peek,
                section: Section { part, text },
                partial,
            };
            (format!("{name}[{spec}]{rw}"), att)
        },
    );
    let binary =
        (0u8..3, part(), partial()).prop_map(|(kind, (pw, part), (rw, partial))| match kind {
            0 => (
                format!("BINARY[{pw}]{rw}"),
                FetchAttr::Binary {
                    peek: false,
                    part,
                    partial,
                },
            ),
            1 => (
                format!("BINARY.PEEK[{pw}]{rw}"),
                FetchAttr::Binary {
                    peek: true,
                    part,
                    partial,
                },
            ),
            _ => (format!("BINARY.SIZE[{pw}]"), FetchAttr::BinarySize { part }),
        });
    prop_oneof![simple, body, binary]
}
