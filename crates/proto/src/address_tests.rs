//! Known-answer tests for [`super::Address`] and [`super::is_valid_domain`].

use super::*;

fn parse(s: &str) -> Result<Address, AddressError> {
    Address::parse(s)
}

#[test]
fn accepts_ordinary_addresses() {
    let a = parse("Alice.Smith+tag@Example.ORG").expect("valid address");
    assert_eq!(a.local(), "Alice.Smith+tag");
    assert_eq!(a.domain(), "example.org");
    assert_eq!(a.to_string(), "Alice.Smith+tag@example.org");
    assert_eq!(a.normalized(), "alice.smith+tag@example.org");
    assert_eq!("x@y".parse::<Address>(), parse("x@y"));
    assert!(parse("a@localhost").is_ok());
    assert!(parse("!#$%&'*+-/=?^_`{|}~@x-1.example").is_ok());
}

#[test]
fn quoted_local_parts() {
    let a = parse("\"John Doe\"@example.org").expect("quoted");
    assert_eq!(a.local(), "\"John Doe\"");
    assert_eq!(a.normalized(), "\"john doe\"@example.org");
    assert!(parse("\"a@b\"@example.org").is_ok());
    assert!(parse("\"a\\\"b\"@example.org").is_ok());
    assert_eq!(parse("\"abc@x"), Err(AddressError::BadQuotes));
    assert_eq!(parse("\"a\"b"), Err(AddressError::MissingAt));
    assert_eq!(parse("\"a\"b@x"), Err(AddressError::BadQuotes));
    assert_eq!(parse("\"a\tb\"@x"), Err(AddressError::Whitespace));
}

#[test]
fn utf8_addresses() {
    let a = parse("Jörg@Bücher.Example").expect("SMTPUTF8");
    assert_eq!(a.domain(), "bücher.example");
    assert_eq!(a.normalized(), "jörg@bücher.example");
    assert!(parse("用户@例子.广告").is_ok());
    assert!(is_valid_domain("例子.广告"));
    assert_eq!(parse("a@b\u{a0}c"), Err(AddressError::Whitespace));
}

#[test]
fn address_literals() {
    assert_eq!(
        parse("a@[192.0.2.1]").map(|a| a.domain().to_owned()),
        Ok("[192.0.2.1]".into())
    );
    let a = parse("a@[IPv6:2001:DB8::1]").expect("v6 literal");
    assert_eq!(a.domain(), "[ipv6:2001:db8::1]");
    assert_eq!(parse(&a.to_string()), Ok(a));
    for bad in [
        "a@[1.2.3]",
        "a@[300.1.1.1]",
        "a@[2001:db8::1]",
        "a@[x:y]",
        "a@[1.2.3.4",
    ] {
        assert_eq!(
            parse(bad),
            Err(AddressError::InvalidAddressLiteral),
            "{bad}"
        );
    }
}

#[test]
fn at_signs() {
    assert_eq!(parse(""), Err(AddressError::Empty));
    assert_eq!(parse("alice"), Err(AddressError::MissingAt));
    assert_eq!(parse("a@b@c"), Err(AddressError::MultipleAt));
    assert_eq!(parse("@b"), Err(AddressError::EmptyLocal));
    assert_eq!(parse("a@"), Err(AddressError::EmptyDomain));
}

#[test]
fn local_part_syntax() {
    assert_eq!(
        parse(" a@b"),
        Err(AddressError::Whitespace),
        "nothing is trimmed"
    );
    assert_eq!(parse("a@b "), Err(AddressError::Whitespace));
    assert_eq!(parse("a b@c"), Err(AddressError::Whitespace));
    assert_eq!(parse("a\0@c"), Err(AddressError::Whitespace));
    assert_eq!(parse("a,b@c"), Err(AddressError::InvalidLocalChar(',')));
    assert_eq!(parse("a\"b@c"), Err(AddressError::InvalidLocalChar('"')));
    assert_eq!(parse(".a@c"), Err(AddressError::InvalidDots));
    assert_eq!(parse("a.@c"), Err(AddressError::InvalidDots));
    assert_eq!(parse("a..b@c"), Err(AddressError::InvalidDots));
}

#[test]
fn domain_syntax() {
    for bad in [
        "a@-b.c", "a@b-.c", "a@b..c", "a@.b", "a@b.", "a@b_c", "a@b/c",
    ] {
        assert_eq!(parse(bad), Err(AddressError::InvalidDomain), "{bad}");
    }
    assert!(is_valid_domain("Example.ORG"));
    assert!(is_valid_domain("a-b.c1"));
    assert!(!is_valid_domain(""));
    assert!(!is_valid_domain("[1.2.3.4]"));
    assert!(!is_valid_domain("example.org."));
    assert!(!is_valid_domain(&format!("{}.org", "a".repeat(64))));
    assert!(is_valid_domain(&format!("{}.org", "a".repeat(63))));
}

#[test]
fn length_limits() {
    let local64 = "a".repeat(64);
    assert!(parse(&format!("{local64}@b")).is_ok());
    assert_eq!(
        parse(&format!("a{local64}@b")),
        Err(AddressError::LocalTooLong)
    );
    let label = "d".repeat(63);
    let domain255 = format!("{label}.{label}.{label}.{}", "d".repeat(63));
    assert_eq!(domain255.len(), 255);
    assert!(is_valid_domain(&domain255));
    assert!(!is_valid_domain(&format!("{domain255}x")));
    assert_eq!(parse(&format!("a@{domain255}")), Err(AddressError::TooLong));
    assert_eq!(
        parse(&format!("a@x{domain255}")),
        Err(AddressError::DomainTooLong)
    );
    let domain250 = &domain255[5..];
    assert_eq!(format!("abc@{domain250}").len(), 254);
    assert!(parse(&format!("abc@{domain250}")).is_ok());
    assert_eq!(
        parse(&format!("abcd@{domain250}")),
        Err(AddressError::TooLong)
    );
}

#[test]
fn error_messages_are_readable() {
    assert_eq!(AddressError::MissingAt.to_string(), "missing @");
    assert_eq!(
        AddressError::LocalTooLong.to_string(),
        "local part longer than 64 octets"
    );
    assert_eq!(
        AddressError::InvalidLocalChar('\u{7}').to_string(),
        "character '\\u{7}' not allowed in local part (quote it)"
    );
}

#[test]
fn bytes_that_were_not_utf8_are_refused() {
    assert!(Address::parse("\u{FFFD}\u{FFFD}@remote.test").is_err());
    assert!(Address::parse("user@re\u{FFFD}mote.test").is_err());
}
