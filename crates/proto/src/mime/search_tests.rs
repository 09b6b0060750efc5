use super::*;

fn crlf(text: &str) -> Vec<u8> {
    text.replace('\n', "\r\n").into_bytes()
}

#[test]
fn header_values_decode_encoded_words_and_raw_iso_2022_jp() {
    let msg = crlf(
        "Subject: =?UTF-8?Q?Caf=C3=A9?=\n =?UTF-8?B?IOKYlQ==?=\nX-Raw: \x1b$B$3$s$K$A$O\x1b(B\nsubject: second\n\nbody\n",
    );
    assert_eq!(
        header_values(&msg, "SUBJECT"),
        vec!["Caf\u{e9} \u{2615}", "second"]
    );
    assert_eq!(
        header_values(&msg, "x-raw"),
        vec!["\u{3053}\u{3093}\u{306b}\u{3061}\u{306f}"]
    );
    assert!(header_values(&msg, "to").is_empty());
}

#[test]
fn header_text_has_every_field_decoded() {
    let msg = crlf(
        "From: a@example.test\nSubject: =?UTF-8?B?5Lya6K2w?=\n folded\nX-Last: tail\n\nbody Invoice\n",
    );
    let s = MessageStructure::analyze(&msg);
    let text = header_text(&msg, &s);
    assert!(text.contains("From: a@example.test\n"), "{text:?}");
    assert!(text.contains("\u{4f1a}\u{8b70}"), "{text:?}");
    assert!(
        text.contains("folded") && text.contains("X-Last: tail"),
        "{text:?}"
    );
    assert!(
        !text.contains("Invoice"),
        "the body is not header text: {text:?}"
    );
}

#[test]
fn search_text_decodes_parts() {
    let msg = crlf(
        "Content-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nna=EFve caf=E9\n--b\nContent-Type: text/html\nContent-Transfer-Encoding: base64\n\nPHA+SGVsbG88L3A+\n--b\nContent-Type: image/png\n\nnot text\n--b--\n",
    );
    let s = MessageStructure::analyze(&msg);
    let text = search_text(&msg, &s, SEARCH_TEXT_LIMIT);
    assert!(text.contains("na\u{ef}ve caf\u{e9}"), "{text:?}");
    assert!(text.contains("Hello") && !text.contains("<p>"), "{text:?}");
    assert!(!text.contains("not text"));
    assert!(search_text(&msg, &s, 4).len() <= 4);
    assert!(contains_ci(&text, "CAF\u{c9}"));
}

#[test]
fn base_subjects_of_rfc_5256() {
    for (subject, base) in [
        ("Re: hello", "hello"),
        ("RE: Re: re:hello", "hello"),
        ("Fwd: [list] Re: hello (fwd)", "hello"),
        ("[fwd: Re: hello]", "hello"),
        ("[PATCH] fix", "fix"),
        ("[only a blob]", "[only a blob]"),
        ("Re [blob]: x", "x"),
        ("  spaced \t  out  ", "spaced out"),
        ("Fw:", ""),
        ("Réponse", "Réponse"),
    ] {
        assert_eq!(base_subject(subject), base, "{subject:?}");
    }
}

#[test]
fn dates_addresses_and_ids() {
    let msg = crlf(
        "Date: Tue, 2 Jan 2024 10:00:00 +0900\nFrom: =?UTF-8?Q?J=C3=B6rg?= <jorg@example.de>, b@c\nTo: list: x@y;\nMessage-ID: <a@b>\nReferences: <r1@x> (c) <r2@x>\nIn-Reply-To: <r2@x>\n\n",
    );
    let s = MessageStructure::analyze(&msg);
    assert_eq!(sent_date(&s), Some(1_704_157_200));
    assert_eq!(first_mailbox(&s.envelope.from).as_deref(), Some("jorg"));
    assert_eq!(
        display_address(&s.envelope.from).as_deref(),
        Some("J\u{f6}rg")
    );
    assert_eq!(first_mailbox(&s.envelope.to).as_deref(), Some("x"));
    assert_eq!(display_address(&s.envelope.to).as_deref(), Some("x@y"));
    assert_eq!(first_mailbox(&s.envelope.cc), None);
    assert_eq!(
        thread_ids(&msg, &s),
        ThreadIds {
            message_id: Some("a@b".into()),
            references: vec!["r1@x".into(), "r2@x".into()],
            in_reply_to: vec!["r2@x".into()],
        }
    );
    assert_eq!(
        sent_date(&MessageStructure::analyze(b"Date: garbage\r\n\r\n")),
        None
    );
}
