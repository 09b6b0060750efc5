use super::*;

fn entry(
    name: Option<&str>,
    adl: Option<&str>,
    mailbox: Option<&str>,
    host: Option<&str>,
) -> EnvelopeAddress {
    EnvelopeAddress {
        name: name.map(RawText::from),
        adl: adl.map(RawText::from),
        mailbox: mailbox.map(RawText::from),
        host: host.map(RawText::from),
    }
}

#[test]
fn display_names_routes_and_comments() {
    assert_eq!(
        parse_address_list(br#"John Q. Public <jqp@example.com>, "Smith, J" <@relay.example,@r2.example:js@example.org>"#),
        vec![
            entry(Some("John Q. Public"), None, Some("jqp"), Some("example.com")),
            entry(Some("Smith, J"), Some("@relay.example,@r2.example"), Some("js"), Some("example.org")),
        ]
    );
    assert_eq!(
        parse_address_list(b"root (Super User), \"odd local\"@[192.0.2.1]"),
        vec![
            entry(Some("Super User"), None, Some("root"), Some(MISSING_DOMAIN)),
            entry(None, None, Some("\"odd local\""), Some("[192.0.2.1]")),
        ]
    );
}

#[test]
fn groups_become_markers() {
    assert_eq!(
        parse_address_list(b"undisclosed-recipients:;"),
        vec![
            entry(None, None, Some("undisclosed-recipients"), None),
            EnvelopeAddress::default()
        ]
    );
    // An unterminated group is closed at the end.
    assert_eq!(
        parse_address_list(b"G: a@b"),
        vec![
            entry(None, None, Some("G"), None),
            entry(None, None, Some("a"), Some("b")),
            EnvelopeAddress::default()
        ]
    );
}

#[test]
fn broken_lists_do_not_fail() {
    assert_eq!(parse_address_list(b""), vec![]);
    assert_eq!(parse_address_list(b",,,"), vec![]);
    assert_eq!(
        parse_address_list(b"<unclosed@x, b@c"),
        vec![
            entry(None, None, Some("unclosed"), Some("x")),
            entry(None, None, Some("b"), Some("c"))
        ]
    );
    assert_eq!(
        parse_address_list(b"Name <>"),
        vec![entry(
            Some("Name"),
            None,
            Some(MISSING_MAILBOX),
            Some(MISSING_DOMAIN)
        )]
    );
}
