//! Known-answer tests for [`super::parse_command`], from the RFC 1939, 2449, 5034 and 2595
//! example sessions.

use proptest::prelude::*;

use super::*;

fn ok(line: &str) -> Command {
    match parse_command(line.as_bytes()) {
        Ok(c) => c,
        Err(e) => panic!("{line:?} rejected: {e}"),
    }
}

fn syntax(line: &[u8]) -> &'static str {
    match parse_command(line) {
        Ok(c) => panic!("{line:?} accepted as {c:?}"),
        Err(e) => {
            assert_eq!(e.kind, ParseErrorKind::Syntax, "{line:?}: {e}");
            e.message
        }
    }
}

/// The shape of a command, with the password exposed, for comparisons.
fn shape(c: &Command) -> String {
    match c {
        Command::Pass(p) => format!("Pass({:?})", p.expose()),
        Command::Auth { mechanism, initial } => format!("Auth({mechanism:?}, {initial:?})"),
        other => format!("{other:?}"),
    }
}

#[test]
fn rfc1939_transaction_commands() {
    let cases = [
        ("STAT", "Stat"),
        ("LIST", "List(None)"),
        ("LIST 2", "List(Some(2))"),
        ("RETR 1", "Retr(1)"),
        ("DELE 1", "Dele(1)"),
        ("NOOP", "Noop"),
        ("RSET", "Rset"),
        ("QUIT", "Quit"),
        ("TOP 1 10", "Top { msg: 1, lines: 10 }"),
        ("TOP 1 0", "Top { msg: 1, lines: 0 }"),
        ("UIDL", "Uidl(None)"),
        ("UIDL 2", "Uidl(Some(2))"),
        ("LIST 4294967295", "List(Some(4294967295))"),
    ];
    for (line, want) in cases {
        assert_eq!(shape(&ok(line)), want, "{line}");
    }
}

#[test]
fn rfc1939_authorization_commands() {
    assert_eq!(shape(&ok("USER frated")), r#"User("frated")"#);
    assert_eq!(shape(&ok("USER mrose")), r#"User("mrose")"#);
    assert_eq!(shape(&ok("PASS secret")), r#"Pass("secret")"#);
    let Command::Apop { user, digest } = ok("APOP mrose c4c9334bac560ecc979e58001b3e22fb") else {
        panic!("not APOP");
    };
    assert_eq!(user, "mrose");
    assert_eq!(digest, "c4c9334bac560ecc979e58001b3e22fb");
}

#[test]
fn rfc2449_2595_capa_and_stls() {
    assert_eq!(shape(&ok("CAPA")), "Capa");
    assert_eq!(shape(&ok("STLS")), "Stls");
}

#[test]
fn rfc5034_auth() {
    // RFC 5034 §4 examples.
    assert_eq!(shape(&ok("AUTH GSSAPI")), r#"Auth(Some("GSSAPI"), None)"#);
    assert_eq!(
        shape(&ok("AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=")),
        r#"Auth(Some("PLAIN"), Some("dGVzdAB0ZXN0AHRlc3Q="))"#
    );
    assert_eq!(
        shape(&ok("AUTH PLAIN =")),
        r#"Auth(Some("PLAIN"), Some("="))"#
    );
    assert_eq!(shape(&ok("auth plain")), r#"Auth(Some("PLAIN"), None)"#);
    assert_eq!(
        shape(&ok("AUTH X-OAUTH_2")),
        r#"Auth(Some("X-OAUTH_2"), None)"#
    );
    assert_eq!(shape(&ok("AUTH")), "Auth(None, None)");
    assert_eq!(
        syntax(b"AUTH PLAIN abc def"),
        "syntax: AUTH mechanism [initial-response]"
    );
    assert_eq!(syntax(b"AUTH PL@IN"), "invalid SASL mechanism name");
    assert_eq!(
        syntax(b"AUTH ABCDEFGHIJKLMNOPQRSTU"),
        "invalid SASL mechanism name"
    );
    assert_eq!(syntax(b"AUTH PLAIN a*b"), "initial response is not base64");
}

#[test]
fn keywords_are_case_insensitive() {
    assert_eq!(shape(&ok("stat")), "Stat");
    assert_eq!(shape(&ok("Retr 3")), "Retr(3)");
    assert_eq!(shape(&ok("tOp 2 5")), "Top { msg: 2, lines: 5 }");
    assert_eq!(shape(&ok("uidl")), "Uidl(None)");
    assert_eq!(shape(&ok("capa")), "Capa");
    assert_eq!(shape(&ok("stls")), "Stls");
}

#[test]
fn message_numbers() {
    assert_eq!(syntax(b"RETR 0"), "invalid message number");
    assert_eq!(syntax(b"RETR +1"), "invalid message number");
    assert_eq!(syntax(b"RETR -1"), "invalid message number");
    assert_eq!(syntax(b"RETR 4294967296"), "invalid message number");
    assert_eq!(
        syntax(b"RETR 99999999999999999999"),
        "invalid message number"
    );
    assert_eq!(syntax(b"RETR 1x"), "invalid message number");
    assert_eq!(syntax(b"RETR 0x1"), "invalid message number");
    assert_eq!(syntax(b"RETR"), "syntax: RETR msg");
    assert_eq!(syntax(b"RETR 1 2"), "syntax: RETR msg");
    assert_eq!(syntax(b"DELE"), "syntax: DELE msg");
    assert_eq!(syntax(b"LIST 0"), "invalid message number");
    assert_eq!(syntax(b"LIST 1 2"), "syntax: LIST [msg]");
    assert_eq!(syntax(b"UIDL x"), "invalid message number");
    assert_eq!(syntax(b"TOP 1"), "syntax: TOP msg n");
    assert_eq!(syntax(b"TOP 0 1"), "invalid message number");
    assert_eq!(syntax(b"TOP 1 -1"), "invalid line count");
    assert_eq!(syntax(b"TOP 1 2 3"), "syntax: TOP msg n");
    // Leading zeros are still decimal; extra spaces are tolerated.
    assert_eq!(shape(&ok("RETR 007")), "Retr(7)");
    assert_eq!(shape(&ok("TOP  1  2 ")), "Top { msg: 1, lines: 2 }");
    assert_eq!(shape(&ok("LIST ")), "List(None)");
}

#[test]
fn no_argument_commands_refuse_arguments() {
    for line in [
        &b"STAT 1"[..],
        b"NOOP x",
        b"RSET 1",
        b"QUIT now",
        b"CAPA x",
        b"STLS x",
    ] {
        let message = syntax(line);
        assert!(message.starts_with("syntax: "), "{message}");
    }
    assert_eq!(shape(&ok("QUIT ")), "Quit", "trailing space is harmless");
}

#[test]
fn pass_keeps_spaces() {
    // RFC 1939 §7: a server may treat spaces in PASS's argument as part of the password.
    assert_eq!(
        shape(&ok("PASS correct horse  battery ")),
        r#"Pass("correct horse  battery ")"#
    );
    assert_eq!(shape(&ok("PASS  leading")), r#"Pass(" leading")"#);
    assert_eq!(shape(&ok("pass p\u{e4}ss")), "Pass(\"p\u{e4}ss\")");
    assert_eq!(syntax(b"PASS"), "syntax: PASS password");
    assert_eq!(syntax(b"PASS "), "syntax: PASS password");
    assert_eq!(syntax(b"PASS a\0b"), "syntax: PASS password");
    assert_eq!(syntax(b"PASS a\rb"), "syntax: PASS password");
    assert_eq!(syntax(b"PASS \xff"), "password must be UTF-8");
}

#[test]
fn user_takes_the_trimmed_rest() {
    assert_eq!(
        shape(&ok("USER  alice@example.org ")),
        r#"User("alice@example.org")"#
    );
    assert_eq!(shape(&ok("USER John Smith")), r#"User("John Smith")"#);
    assert_eq!(syntax(b"USER"), "syntax: USER name");
    assert_eq!(syntax(b"USER   "), "syntax: USER name");
    assert_eq!(syntax(b"USER a\0b"), "syntax: USER name");
    assert_eq!(syntax(b"USER \xc3"), "argument must be UTF-8");
    assert_eq!(syntax(b"APOP mrose"), "syntax: APOP name digest");
}

#[test]
fn unknown_commands() {
    for line in [
        &b"XTND XMIT"[..],
        b"HELO",
        b"RETRIEVE 1",
        b"\xff",
        b" STAT",
        b"STAT\t",
    ] {
        let e = parse_command(line).expect_err("not a command");
        assert_eq!(e.kind, ParseErrorKind::Unknown, "{line:?}");
        assert_eq!(e.message, "unknown command");
    }
    let e = parse_command(b"").expect_err("empty");
    assert_eq!(
        (e.kind, e.message),
        (ParseErrorKind::Unknown, "empty command")
    );
}

#[test]
fn debug_never_shows_credentials() {
    let pass = format!("{:?}", ok("PASS hunter2"));
    assert_eq!(pass, "Pass(***)");
    let auth = format!("{:?}", ok("AUTH PLAIN AGFsaWNlAGh1bnRlcjI="));
    assert!(!auth.contains("AGFsaWNl"), "{auth}");
    assert_eq!(
        auth,
        r#"Auth { mechanism: Some("PLAIN"), initial: Some(***) }"#
    );
    assert_eq!(ok("PASS x").name(), "PASS");
    assert_eq!(ok("top 1 1").name(), "TOP");
}

proptest! {
    #[test]
    fn never_panics_and_errors_are_printable(line in proptest::collection::vec(any::<u8>(), 0..64)) {
        if let Err(e) = parse_command(&line) {
            prop_assert!(e.message.bytes().all(|b| (0x20..0x7f).contains(&b)));
        }
    }

    #[test]
    fn keyword_like_lines_never_panic(
        kw in prop::sample::select(vec!["USER", "PASS", "APOP", "STAT", "LIST", "RETR", "DELE",
            "NOOP", "RSET", "QUIT", "TOP", "UIDL", "CAPA", "AUTH", "STLS"]),
        args in "[ 0-9a-zA-Z+=\\-\u{0}\r\t]{0,24}",
    ) {
        let line = format!("{kw} {args}");
        match parse_command(line.as_bytes()) {
            Ok(c) => prop_assert_eq!(c.name(), kw),
            Err(e) => prop_assert_eq!(e.kind, ParseErrorKind::Syntax),
        }
    }

    #[test]
    fn message_numbers_round_trip(n in 1u32..) {
        let line = format!("RETR {n}");
        let parsed = parse_command(line.as_bytes());
        prop_assert!(matches!(parsed, Ok(Command::Retr(m)) if m == n));
    }
}
