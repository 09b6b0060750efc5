//! Property tests: analyze, the FETCH writers, sections and search never panic, on raw bytes
//! and on MIME-shaped noise, and always write one well-formed IMAP value.
//!
//! Bounded case counts keep `cargo test` fast; the `mime_structure` fuzz target in `/fuzz`
//! runs the same checks for longer.

mod imap_syntax;

use proptest::prelude::*;
use yubin_proto::imap::bodystructure::body_structure;
use yubin_proto::imap::envelope::envelope;
use yubin_proto::imap::fetch_body::{binary_section, binary_size, section_bytes};
use yubin_proto::imap::section::{Section, SectionText};
use yubin_proto::mime::MessageStructure;
use yubin_proto::mime::search::{
    base_subject, display_address, first_mailbox, header_values, search_text, sent_date, thread_ids,
};

/// Pieces that steer the input into MIME's interesting corners.
const PIECES: &[&[u8]] = &[
    b"\r\n",
    b"\n",
    b" ",
    b"\t",
    b":",
    b"Content-Type: multipart/mixed; boundary=b\r\n",
    b"Content-Type: multipart/digest; boundary=\"c\"\r\n",
    b"Content-Type: message/rfc822\r\n",
    b"Content-Type: text/html; charset=iso-2022-jp\r\n",
    b"Content-Type: text/plain; name*0*=utf-8''%E5; name*1=x\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n",
    b"Content-Transfer-Encoding: x-weird\r\n",
    b"Content-Disposition: attachment; filename=\"a\\\"b\"\r\n",
    b"From: \"A\" <a@b>, G: c@d, (x) <@r:e@f>;\r\n",
    b"Subject: =?utf-8?q?=C3=A9?= Re: [x] Fwd: y (fwd)\r\n",
    b"Date: Tue, 2 Jan 2024 10:00:00 +0900\r\n",
    b"References: <a@b> <c@d>\r\n",
    b"--b\r\n",
    b"--b--\r\n",
    b"--c\r\n",
    b"--c--",
    b"=\r\n",
    b"=4",
    b"QUJD",
    b"\x1b$B",
    b"\xff\x00",
    b"<",
    b"\"",
    b"(",
];

fn mime_noise() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(PIECES).prop_map(<[u8]>::to_vec),
            1 => prop::collection::vec(any::<u8>(), 0..8),
        ],
        0..60,
    )
    .prop_map(|pieces| pieces.concat())
}

fn section_strategy() -> impl Strategy<Value = Section> {
    (
        prop::collection::vec(0u32..4, 0..4),
        prop_oneof![
            Just(None),
            Just(Some(SectionText::Header)),
            Just(Some(SectionText::Text)),
            Just(Some(SectionText::Mime)),
            Just(Some(SectionText::HeaderFields(vec!["subject".into()]))),
            Just(Some(SectionText::HeaderFieldsNot(vec!["from".into()]))),
        ],
    )
        .prop_map(|(part, text)| Section { part, text })
}

fn exercise(message: &[u8], sections: &[Section]) {
    let s = MessageStructure::analyze(message);
    let mut out = Vec::new();
    envelope(&s, &mut out);
    imap_syntax::check_value(&out).expect("ENVELOPE is one IMAP value");
    for ext in [false, true] {
        let mut out = Vec::new();
        body_structure(&s, ext, &mut out);
        imap_syntax::check_value(&out).expect("BODYSTRUCTURE is one IMAP value");
    }
    for section in sections {
        let _ = section_bytes(message, &s, section);
        let binary = binary_section(message, &s, &section.part);
        let size = binary_size(message, &s, &section.part);
        assert_eq!(binary.map(|b| b.len() as u64), size);
    }
    assert!(search_text(message, &s, 64).len() <= 64);
    for value in header_values(message, "subject") {
        let _ = base_subject(&value);
    }
    let _ = sent_date(&s);
    let _ = first_mailbox(&s.envelope.from);
    let _ = display_address(&s.envelope.to);
    let _ = thread_ids(message, &s);
    let json = serde_json::to_string(&s).expect("structure serializes");
    let back: MessageStructure = serde_json::from_str(&json).expect("JSON reads back");
    assert_eq!(back, s);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1_000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(message in prop::collection::vec(any::<u8>(), 0..512),
                       sections in prop::collection::vec(section_strategy(), 0..6)) {
        exercise(&message, &sections);
    }

    #[test]
    fn mime_shaped_noise(message in mime_noise(),
                         sections in prop::collection::vec(section_strategy(), 0..6)) {
        exercise(&message, &sections);
    }

    #[test]
    fn base_subject_is_idempotent(subject in "[ReFwd:\\[\\]() a-z\t]{0,40}") {
        let once = base_subject(&subject);
        prop_assert_eq!(base_subject(&once), once.clone());
    }
}
