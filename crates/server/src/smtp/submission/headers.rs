//! What submission reads from and adds to a message's header (RFC 6409 §8).

use mail_parser::{HeaderName, MessageParser};

/// What the header section says, as far as submission cares.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct HeaderFacts {
    /// Addresses in From: (none when there is no From: field or it holds no address).
    pub from: Vec<String>,
    /// Whether a From: field is present at all.
    pub has_from: bool,
    pub has_date: bool,
    pub has_message_id: bool,
}

/// Reads the header section of `message`.
pub(crate) fn facts(message: &[u8]) -> HeaderFacts {
    let Some(parsed) = MessageParser::new().parse_headers(message) else {
        return HeaderFacts::default();
    };
    let mut facts = HeaderFacts::default();
    for header in parsed.headers() {
        match header.name {
            HeaderName::From => facts.has_from = true,
            HeaderName::Date => facts.has_date = true,
            HeaderName::MessageId => facts.has_message_id = true,
            _ => {}
        }
    }
    if let Some(from) = parsed.from() {
        facts.from = from
            .iter()
            .filter_map(|a| a.address())
            .map(str::to_string)
            .collect();
    }
    facts
}

/// The fields an MSA may add (RFC 6409 §8.2 Message-ID, §8.3 Date) when the client left them
/// out, to prepend to the message.
pub(crate) fn missing_fields(facts: &HeaderFacts, id: &str, hostname: &str, now: i64) -> Vec<u8> {
    let mut out = Vec::new();
    if !facts.has_date {
        let date = mail_parser::DateTime::from_timestamp(now).to_rfc822();
        out.extend_from_slice(format!("Date: {date}\r\n").as_bytes());
    }
    if !facts.has_message_id {
        let mut nonce = [0u8; 6];
        let _ = getrandom::fill(&mut nonce);
        let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
        out.extend_from_slice(format!("Message-ID: <{id}.{nonce}@{hostname}>\r\n").as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_from_date_and_message_id() {
        let m = b"From: Alice <alice@example.test>, bob@example.test\r\nDate: Mon, 1 Dec 2026 \
                  10:00:00 +0000\r\nSubject: x\r\n\r\nbody\r\n";
        let f = facts(m);
        assert_eq!(f.from, ["alice@example.test", "bob@example.test"]);
        assert!(f.has_from && f.has_date && !f.has_message_id);
        let added =
            String::from_utf8(missing_fields(&f, "q1", "mail.example.test", 0)).expect("ascii");
        assert!(added.starts_with("Message-ID: <q1."), "{added}");
        assert!(added.ends_with("@mail.example.test>\r\n"), "{added}");
        assert!(!added.contains("Date:"));
    }

    #[test]
    fn a_bare_message_gets_both_fields() {
        let f = facts(b"Subject: hi\r\n\r\nbody\r\n");
        assert!(!f.has_from && f.from.is_empty());
        let added = String::from_utf8(missing_fields(&f, "q2", "h", 86_400)).expect("ascii");
        assert!(
            added.starts_with("Date: Fri, 2 Jan 1970 00:00:00 +0000\r\nMessage-ID: <q2."),
            "{added}"
        );
    }

    #[test]
    fn garbage_is_no_header() {
        assert_eq!(facts(b"").from, Vec::<String>::new());
        assert!(!facts(b"\xff\xfe\r\n\r\n").has_from);
    }
}
