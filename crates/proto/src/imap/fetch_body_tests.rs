//! Known-answer tests for ENVELOPE, BODY, BODYSTRUCTURE, BODY[section] and BINARY, on
//! messages written for these tests.

use super::*;
use crate::imap::bodystructure::body_structure;
use crate::imap::envelope::envelope;

fn crlf(text: &str) -> Vec<u8> {
    text.replace('\n', "\r\n").into_bytes()
}

fn env(msg: &[u8]) -> String {
    let mut out = Vec::new();
    envelope(&MessageStructure::analyze(msg), &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn bs(msg: &[u8], ext: bool) -> String {
    let mut out = Vec::new();
    body_structure(&MessageStructure::analyze(msg), ext, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn sec(msg: &[u8], part: &[u32], text: Option<SectionText>) -> Option<String> {
    let s = MessageStructure::analyze(msg);
    let section = Section {
        part: part.to_vec(),
        text,
    };
    section_bytes(msg, &s, &section).map(|b| String::from_utf8_lossy(&b).into_owned())
}

const SIMPLE: &str = "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\n\
From: Fred Foobar <foobar@Blurdybloop.example>\n\
Subject: afternoon meeting\n\
To: mooch@owatagu.siam.edu.example\n\
Message-Id: <B27397-0100000@Blurdybloop.example>\n\
MIME-Version: 1.0\n\
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\n\
\n\
Hello Joe, do you think we can meet at 3:30 tomorrow?\n";

#[test]
fn simple_text_envelope() {
    assert_eq!(
        env(&crlf(SIMPLE)),
        concat!(
            r#"("Mon, 7 Feb 1994 21:52:25 -0800 (PST)" "afternoon meeting" "#,
            r#"(("Fred Foobar" NIL "foobar" "Blurdybloop.example")) "#,
            r#"(("Fred Foobar" NIL "foobar" "Blurdybloop.example")) "#,
            r#"(("Fred Foobar" NIL "foobar" "Blurdybloop.example")) "#,
            r#"((NIL NIL "mooch" "owatagu.siam.edu.example")) NIL NIL NIL "#,
            r#""<B27397-0100000@Blurdybloop.example>")"#
        )
    );
}

#[test]
fn simple_text_body_structure() {
    let msg = crlf(SIMPLE);
    assert_eq!(
        bs(&msg, false),
        r#"("text" "plain" ("charset" "US-ASCII") NIL NIL "7BIT" 55 1)"#
    );
    assert_eq!(
        bs(&msg, true),
        r#"("text" "plain" ("charset" "US-ASCII") NIL NIL "7BIT" 55 1 NIL NIL NIL NIL)"#
    );
}

const ALTERNATIVE: &str = "From: \"Ann Example\" <ann@example.org>\n\
To: Team: bob@example.org, \"Carol\" <carol@example.org>;, dave@example.net (Dave D)\n\
Subject: =?UTF-8?Q?Caf=C3=A9?= plans\n\
Content-Type: multipart/alternative; boundary=\"outer\"\n\
\n\
This is a preamble.\n\
--outer\n\
Content-Type: text/plain; charset=utf-8\n\
Content-Transfer-Encoding: quoted-printable\n\
\n\
Caf=C3=A9 at noon.\n\
--outer\n\
Content-Type: multipart/related; boundary=inner; type=\"text/html\"\n\
\n\
--inner\n\
Content-Type: text/html; charset=utf-8\n\
\n\
<p>Caf\u{e9} at <b>noon</b>.</p><img src=\"cid:logo@example.org\">\n\
--inner\n\
Content-Type: image/png; name=logo.png\n\
Content-ID: <logo@example.org>\n\
Content-Transfer-Encoding: base64\n\
Content-Disposition: inline; filename=logo.png\n\
\n\
iVBORw0KGgo=\n\
--inner--\n\
--outer--\n\
Epilogue.\n";

#[test]
fn alternative_with_related_image() {
    let msg = crlf(ALTERNATIVE);
    assert_eq!(
        env(&msg),
        concat!(
            r#"(NIL "=?UTF-8?Q?Caf=C3=A9?= plans" "#,
            r#"(("Ann Example" NIL "ann" "example.org")) "#,
            r#"(("Ann Example" NIL "ann" "example.org")) "#,
            r#"(("Ann Example" NIL "ann" "example.org")) "#,
            r#"((NIL NIL "Team" NIL)(NIL NIL "bob" "example.org")("Carol" NIL "carol" "example.org")"#,
            r#"(NIL NIL NIL NIL)("Dave D" NIL "dave" "example.net")) NIL NIL NIL NIL)"#
        )
    );
    assert_eq!(
        bs(&msg, false),
        concat!(
            r#"(("text" "plain" ("charset" "utf-8") NIL NIL "QUOTED-PRINTABLE" 18 1)"#,
            r#"(("text" "html" ("charset" "utf-8") NIL NIL "7BIT" 60 1)"#,
            r#"("image" "png" ("name" "logo.png") "<logo@example.org>" NIL "BASE64" 12)"#,
            r#" "related") "alternative")"#
        )
    );
    assert_eq!(
        bs(&msg, true),
        concat!(
            r#"(("text" "plain" ("charset" "utf-8") NIL NIL "QUOTED-PRINTABLE" 18 1 NIL NIL NIL NIL)"#,
            r#"(("text" "html" ("charset" "utf-8") NIL NIL "7BIT" 60 1 NIL NIL NIL NIL)"#,
            r#"("image" "png" ("name" "logo.png") "<logo@example.org>" NIL "BASE64" 12 NIL"#,
            r#" ("inline" ("filename" "logo.png")) NIL NIL)"#,
            r#" "related" ("boundary" "inner" "type" "text/html") NIL NIL NIL)"#,
            r#" "alternative" ("boundary" "outer") NIL NIL NIL)"#
        )
    );
}

#[test]
fn alternative_sections() {
    let msg = crlf(ALTERNATIVE);
    assert_eq!(sec(&msg, &[1], None).as_deref(), Some("Caf=C3=A9 at noon."));
    assert_eq!(
        sec(&msg, &[1], Some(SectionText::Mime)).as_deref(),
        Some(
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        )
    );
    assert_eq!(sec(&msg, &[2, 2], None).as_deref(), Some("iVBORw0KGgo="));
    assert!(sec(&msg, &[2, 1], None).is_some_and(|t| t.starts_with("<p>")));
    assert_eq!(sec(&msg, &[2, 3], None), None);
    assert_eq!(sec(&msg, &[3], None), None);
    assert_eq!(sec(&msg, &[0], None), None);
    // TEXT and HEADER need a message: part 1 is text/plain.
    assert_eq!(sec(&msg, &[1], Some(SectionText::Text)), None);
    assert_eq!(sec(&msg, &[], Some(SectionText::Mime)), None);
    let s = MessageStructure::analyze(&msg);
    assert_eq!(
        binary_section(&msg, &s, &[1]).as_deref(),
        Ok("Caf\u{e9} at noon.".as_bytes())
    );
    assert_eq!(
        binary_section(&msg, &s, &[2, 2]).as_deref(),
        Ok(&b"\x89PNG\r\n\x1a\n"[..])
    );
    assert_eq!(binary_size(&msg, &s, &[2, 2]), Ok(8));
    assert_eq!(binary_size(&msg, &s, &[2, 1]), Ok(60));
    assert_eq!(binary_section(&msg, &s, &[4]), Err(BinaryError::NoSuchPart));
}

#[test]
fn header_fields_keep_folding_and_end_blank() {
    let msg = crlf("Subject: one\n  two\nX-A: 1\nsubject: again\nTo: t@example.org\n\nbody\n");
    assert_eq!(
        sec(
            &msg,
            &[],
            Some(SectionText::HeaderFields(vec!["SUBJECT".into()]))
        )
        .as_deref(),
        Some("Subject: one\r\n  two\r\nsubject: again\r\n\r\n")
    );
    assert_eq!(
        sec(
            &msg,
            &[],
            Some(SectionText::HeaderFieldsNot(vec![
                "subject".into(),
                "x-a".into()
            ]))
        )
        .as_deref(),
        Some("To: t@example.org\r\n\r\n")
    );
    assert_eq!(
        sec(
            &msg,
            &[],
            Some(SectionText::HeaderFields(vec!["none".into()]))
        )
        .as_deref(),
        Some("\r\n")
    );
    assert_eq!(
        sec(&msg, &[], Some(SectionText::Text)).as_deref(),
        Some("body\r\n")
    );
    assert_eq!(sec(&msg, &[1], None).as_deref(), Some("body\r\n"));
    assert_eq!(sec(&msg, &[], None).map(|t| t.len()), Some(msg.len()));
}

const ATTACHED: &str = "From: ann@example.org\n\
To: bob@example.org\n\
Subject: Fwd: report\n\
Content-Type: multipart/mixed; boundary=b1\n\
\n\
--b1\n\
\n\
See the attached message.\n\
--b1\n\
Content-Type: message/rfc822\n\
Content-Description: the report\n\
\n\
From: Carol <carol@example.net>\n\
Subject: report\n\
Date: Tue, 2 Jan 2024 10:00:00 +0900\n\
Message-ID: <r1@example.net>\n\
\n\
Numbers are up.\n\
--b1--\n";

#[test]
fn attached_message() {
    let msg = crlf(ATTACHED);
    assert_eq!(
        bs(&msg, true),
        concat!(
            r#"(("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 25 1 NIL NIL NIL NIL)"#,
            r#"("message" "rfc822" NIL NIL "the report" "7BIT" 135 "#,
            r#"("Tue, 2 Jan 2024 10:00:00 +0900" "report" (("Carol" NIL "carol" "example.net")) "#,
            r#"(("Carol" NIL "carol" "example.net")) (("Carol" NIL "carol" "example.net")) "#,
            r#"NIL NIL NIL NIL "<r1@example.net>") "#,
            r#"("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 15 1 NIL NIL NIL NIL) 6"#,
            r#" NIL NIL NIL NIL) "mixed" ("boundary" "b1") NIL NIL NIL)"#
        )
    );
    assert_eq!(
        env(&msg),
        concat!(
            r#"(NIL "Fwd: report" ((NIL NIL "ann" "example.org")) ((NIL NIL "ann" "example.org")) "#,
            r#"((NIL NIL "ann" "example.org")) ((NIL NIL "bob" "example.org")) NIL NIL NIL NIL)"#
        )
    );
    assert_eq!(
        sec(&msg, &[2], Some(SectionText::Header)).as_deref(),
        Some(
            "From: Carol <carol@example.net>\r\nSubject: report\r\n\
             Date: Tue, 2 Jan 2024 10:00:00 +0900\r\nMessage-ID: <r1@example.net>\r\n\r\n"
        )
    );
    assert_eq!(
        sec(
            &msg,
            &[2],
            Some(SectionText::HeaderFields(vec!["subject".into()]))
        )
        .as_deref(),
        Some("Subject: report\r\n\r\n")
    );
    assert_eq!(
        sec(&msg, &[2], Some(SectionText::Text)).as_deref(),
        Some("Numbers are up.")
    );
    assert_eq!(sec(&msg, &[2, 1], None).as_deref(), Some("Numbers are up."));
    assert_eq!(
        sec(&msg, &[2, 1], Some(SectionText::Mime)).map(|h| h.starts_with("From: Carol")),
        Some(true)
    );
    assert_eq!(sec(&msg, &[2, 2], None), None);
    assert!(
        sec(&msg, &[2], None).is_some_and(|b| b.starts_with("From: Carol") && b.ends_with("up."))
    );
    assert_eq!(
        sec(&msg, &[1], None).as_deref(),
        Some("See the attached message.")
    );
}

const RFC2231: &str = "From: ann@example.org\n\
Subject: file\n\
Content-Type: multipart/mixed; boundary=x\n\
\n\
--x\n\
Content-Type: application/pdf;\n name*0*=UTF-8''%E5%A0%B1%E5%91%8A;\n name*1=\".pdf\"\n\
Content-Disposition: attachment;\n filename*=UTF-8''%E5%A0%B1%E5%91%8A.pdf\n\
Content-Language: ja, en\n\
Content-Location: http://example.org/r.pdf\n\
Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\n\
Content-Transfer-Encoding: base64\n\
\n\
JVBERi0=\n\
--x--\n";

#[test]
fn rfc2231_file_names_decoded_into_literals() {
    assert_eq!(
        bs(&crlf(RFC2231), true),
        concat!(
            "((\"application\" \"pdf\" (\"name\" {10}\r\n\u{5831}\u{544a}.pdf) NIL NIL \"BASE64\" 8 ",
            "\"Q2hlY2sgSW50ZWdyaXR5IQ==\" (\"attachment\" (\"filename\" {10}\r\n\u{5831}\u{544a}.pdf)) ",
            "(\"ja\" \"en\") \"http://example.org/r.pdf\") \"mixed\" (\"boundary\" \"x\") NIL NIL NIL)"
        )
    );
}

#[test]
fn iso_2022_jp_subject_stays_raw() {
    let msg = crlf(
        "Subject: =?ISO-2022-JP?B?GyRCJEskTyRoJCYbKEI=?=\nFrom: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <yamada@example.jp>\n\n\x1b$B$3$s$K$A$O\x1b(B\n",
    );
    assert_eq!(
        env(&msg),
        concat!(
            r#"(NIL "=?ISO-2022-JP?B?GyRCJEskTyRoJCYbKEI=?=" "#,
            r#"(("=?ISO-2022-JP?B?GyRCOzNFRBsoQg==?=" NIL "yamada" "example.jp")) "#,
            r#"(("=?ISO-2022-JP?B?GyRCOzNFRBsoQg==?=" NIL "yamada" "example.jp")) "#,
            r#"(("=?ISO-2022-JP?B?GyRCOzNFRBsoQg==?=" NIL "yamada" "example.jp")) NIL NIL NIL NIL NIL)"#
        )
    );
}

#[test]
fn missing_content_type_defaults() {
    let msg = crlf("Subject: plain\n\nline one\nline two");
    assert_eq!(
        bs(&msg, true),
        r#"("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 18 2 NIL NIL NIL NIL)"#
    );
    let digest = crlf(
        "Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: in digest\n\nhi\n--d--\n",
    );
    assert_eq!(
        bs(&digest, false),
        concat!(
            r#"(("message" "rfc822" NIL NIL NIL "7BIT" 24 "#,
            r#"(NIL "in digest" NIL NIL NIL NIL NIL NIL NIL NIL) "#,
            r#"("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 2 1) 3) "digest")"#
        )
    );
}

#[test]
fn broken_mime_still_answers() {
    // No boundary parameter, and a boundary that never appears.
    for msg in [
        "Content-Type: multipart/mixed\n\nbody\n",
        "Content-Type: multipart/mixed; boundary=zz\n\nbody\n",
    ] {
        assert_eq!(
            bs(&crlf(msg), false),
            r#"(("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 0 0) "mixed")"#
        );
    }
    // An unclosed last part runs to the end; a header line without colon is skipped.
    let msg = crlf(
        "Content-Type: multipart/mixed; boundary=zz\nthis is no header\n\n--zz\nContent-Type: text/plain\n\nabc",
    );
    assert_eq!(
        bs(&msg, false),
        r#"(("text" "plain" NIL NIL NIL "7BIT" 3 1) "mixed")"#
    );
    // Garbage, empty input, headers only.
    assert_eq!(
        bs(b"", false),
        r#"("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 0 0)"#
    );
    assert_eq!(env(b""), "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
    let headers_only = b"Subject: x";
    assert_eq!(
        sec(headers_only, &[], Some(SectionText::Header)).as_deref(),
        Some("Subject: x\r\n\r\n")
    );
    // Unknown transfer encoding: BINARY refuses, BODY still works.
    let msg = crlf("Content-Transfer-Encoding: x-uuencode\n\nbegin 644 f\n");
    let s = MessageStructure::analyze(&msg);
    assert_eq!(
        binary_section(&msg, &s, &[1]),
        Err(BinaryError::UnknownCte("x-uuencode".into()))
    );
    assert_eq!(sec(&msg, &[1], None).as_deref(), Some("begin 644 f\r\n"));
}

#[test]
fn strings_with_specials_and_8bit() {
    let msg = b"Subject: say \"hi\" \\ \xff\r\nFrom: \"a\\\"b\" <x@y>\r\n\r\n";
    assert_eq!(
        env(msg),
        "(NIL {12}\r\nsay \"hi\" \\ \u{fffd} ((\"a\\\"b\" NIL \"x\" \"y\")) ((\"a\\\"b\" NIL \"x\" \"y\")) ((\"a\\\"b\" NIL \"x\" \"y\")) NIL NIL NIL NIL NIL)"
    );
}
