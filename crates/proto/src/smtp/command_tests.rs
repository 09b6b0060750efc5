//! Known-answer tests for [`super::parse_command`], RFC 5321 / RFC 2033 transcript style.

use super::*;

fn ok(line: &str) -> Request<String> {
    match parse_command(line.as_bytes()) {
        Ok(r) => r,
        Err(reply) => panic!("{line:?} rejected: {reply}"),
    }
}

fn err(line: &[u8]) -> String {
    match parse_command(line) {
        Ok(r) => panic!("{line:?} accepted as {r:?}"),
        Err(reply) => reply.to_string(),
    }
}

#[test]
fn greetings() {
    assert_eq!(
        ok("EHLO client.example.org"),
        Request::Ehlo {
            host: "client.example.org".into()
        }
    );
    assert_eq!(
        ok("helo [192.0.2.1]"),
        Request::Helo {
            host: "[192.0.2.1]".into()
        }
    );
    // RFC 2033 §4.1: LMTP greets with LHLO.
    assert_eq!(
        ok("LHLO mx.example.org"),
        Request::Lhlo {
            host: "mx.example.org".into()
        }
    );
    assert_eq!(err(b"EHLO"), "501 5.5.4 Syntax: EHLO domain");
    assert_eq!(err(b"LHLO"), "501 5.5.4 Syntax: LHLO domain");
}

#[test]
fn mail_from() {
    let Request::Mail { from } = ok("MAIL FROM:<Alice@Example.org> SIZE=1000 BODY=8BITMIME") else {
        panic!("not MAIL");
    };
    assert_eq!(from.address, "Alice@Example.org");
    assert_eq!(from.size, 1000);
    assert_ne!(from.flags & smtp_proto::MAIL_BODY_8BITMIME, 0);

    let Request::Mail { from } = ok("mail from:<>") else {
        panic!("not MAIL");
    };
    assert_eq!(from.address, "", "null reverse-path");

    let Request::Mail { from } = ok("MAIL FROM:<a@b> SMTPUTF8") else {
        panic!("not MAIL");
    };
    assert_ne!(from.flags & smtp_proto::MAIL_SMTPUTF8, 0);
}

#[test]
fn rcpt_to() {
    let Request::Rcpt { to } = ok("RCPT TO:<bob@example.org>") else {
        panic!("not RCPT");
    };
    assert_eq!(to.address, "bob@example.org");
    let Request::Rcpt { to } = ok("RCPT TO:<Postmaster>") else {
        panic!("not RCPT");
    };
    assert_eq!(
        to.address, "",
        "smtp-proto maps <Postmaster> to an empty address"
    );
}

#[test]
fn simple_verbs() {
    assert_eq!(ok("DATA"), Request::Data);
    assert_eq!(ok("RSET"), Request::Rset);
    assert_eq!(ok("QUIT"), Request::Quit);
    assert_eq!(ok("quit"), Request::Quit);
    assert_eq!(ok("STARTTLS"), Request::StartTls);
    assert_eq!(
        ok("NOOP"),
        Request::Noop {
            value: String::new()
        }
    );
    assert_eq!(
        ok("BDAT 100 LAST"),
        Request::Bdat {
            chunk_size: 100,
            is_last: true
        }
    );
    assert!(matches!(
        ok("AUTH PLAIN AGFsaWNlAHNlY3JldA=="),
        Request::Auth { mechanism: smtp_proto::AUTH_PLAIN, initial_response } if initial_response == "AGFsaWNlAHNlY3JldA=="
    ));
}

#[test]
fn unknown_verbs() {
    assert_eq!(err(b"FOO bar"), "500 5.5.1 Unrecognized command");
    assert_eq!(err(b""), "500 5.5.1 Unrecognized command");
    assert_eq!(err(b"\xff\xfe QUIT"), "500 5.5.1 Unrecognized command");
    assert_eq!(err(b"\0QUIT"), "500 5.5.1 Unrecognized command");
    assert_eq!(err(b"QU\0IT"), "500 5.5.2 Syntax error");
    assert_eq!(err(b"QUIT\rRSET"), "500 5.5.2 Syntax error");
    assert_eq!(err(b"NOOP a\nRSET"), "500 5.5.2 Syntax error");
}

#[test]
fn address_errors() {
    assert_eq!(
        err(b"MAIL FROM:<a b@c>"),
        "501 5.1.7 Invalid sender address"
    );
    assert_eq!(
        err(b"RCPT TO:<..@c>"),
        "501 5.1.3 Invalid recipient address"
    );
    assert_eq!(
        err(b"RCPT TO:<nodomain>"),
        "501 5.1.3 Invalid recipient address"
    );
}

#[test]
fn syntax_errors() {
    assert_eq!(
        err(b"MAIL TO:<a@b>"),
        "501 5.5.4 Syntax: MAIL FROM:<reverse-path> [parameters]"
    );
    assert_eq!(
        err(b"RCPT"),
        "501 5.5.4 Syntax: RCPT TO:<forward-path> [parameters]"
    );
    assert_eq!(
        err(b"MAIL FROM:<a@b> SIZE=abc"),
        "501 5.5.4 Invalid parameter: SIZE"
    );
    assert_eq!(
        err(b"MAIL FROM:<a@b> X-FOO=1"),
        "555 5.5.4 Unsupported parameter: X-FOO=1"
    );
}

#[test]
fn error_reply_mapping_is_total() {
    assert_eq!(
        error_reply(Error::NeedsMoreData { bytes_left: 3 }).to_string(),
        "501 5.5.4 Syntax error"
    );
    assert_eq!(
        error_reply(Error::ResponseTooLong).to_string(),
        "500 5.5.2 Syntax error"
    );
    assert_eq!(
        error_reply(Error::UnsupportedParameter {
            param: "A\u{7}B\r\nC".repeat(40)
        })
        .to_string()
        .len(),
        "555 5.5.4 Unsupported parameter: ".len() + MAX_ECHO
    );
}
