//! Delivery status notifications (RFC 3464) in a multipart/report (RFC 6522): the bounce for
//! recipients that failed and the warning for recipients still being retried.

use mail_builder::MessageBuilder;
use mail_builder::headers::raw::Raw;
use mail_builder::mime::MimePart;

/// Most bytes of the original header section returned in the report.
const MAX_RETURNED_HEADERS: usize = 64 * 1024;

/// What happened to one recipient (RFC 3464 §2.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Failed,
    Delayed,
}

/// One recipient in the report.
#[derive(Debug, Clone)]
pub(crate) struct ReportedRecipient {
    pub address: String,
    pub action: Action,
    /// The last reply from the remote side, or what went wrong (`connect to ...: refused`).
    pub diagnostic: String,
    /// The host that gave the reply, if one answered.
    pub remote_mta: Option<String>,
    pub last_attempt: i64,
}

/// Everything a report needs.
pub(crate) struct Report<'a> {
    /// Our host name (Reporting-MTA, the From: domain).
    pub reporting_mta: &'a str,
    /// The original envelope sender, who gets the report.
    pub to: &'a str,
    /// When the message was queued.
    pub arrival: i64,
    /// For delay warnings: until when it is retried.
    pub retry_until: Option<i64>,
    pub recipients: Vec<ReportedRecipient>,
    /// The original message; its header section is returned.
    pub original: &'a [u8],
}

/// The RFC 3463 status in a reply text: "550 5.1.1 no such user" -> "5.1.1"; from the basic
/// code when there is none (5xx -> 5.0.0, anything else -> 4.0.0).
pub(crate) fn status_of(reply: &str) -> String {
    match crate::smtp::outbound::enhanced_status(reply) {
        Some(status) => status.to_string(),
        None if reply.starts_with('5') => "5.0.0".into(),
        None => "4.0.0".into(),
    }
}

fn rfc822_date(secs: i64) -> String {
    mail_parser::DateTime::from_timestamp(secs).to_rfc822()
}

/// The header section of `message` (up to the first empty line), bounded.
fn header_section(message: &[u8]) -> &[u8] {
    let end = memchr::memmem::find(message, b"\r\n\r\n")
        .map(|i| i + 2)
        .or_else(|| memchr::memmem::find(message, b"\n\n").map(|i| i + 1))
        .unwrap_or(message.len());
    let end = end.min(MAX_RETURNED_HEADERS);
    // Do not cut inside a line.
    match message[..end].iter().rposition(|&b| b == b'\n') {
        Some(i) => &message[..=i],
        None => &message[..end],
    }
}

/// Text that goes into a report field: one line, printable.
fn field(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(900)
        .collect()
}

/// Builds the report message (headers and body, CRLF).
pub(crate) fn build(report: &Report<'_>) -> Vec<u8> {
    let failed = report.recipients.iter().any(|r| r.action == Action::Failed);
    let subject = if failed {
        "Undelivered Mail Returned to Sender"
    } else {
        "Delayed Mail (still being retried)"
    };
    let mut text = String::new();
    text.push_str(&format!(
        "This is the mail system at host {}.\r\n\r\n",
        report.reporting_mta
    ));
    if failed {
        text.push_str(
            "Your message could not be delivered to one or more recipients. It is attached \
             below.\r\n\r\n",
        );
    } else {
        text.push_str("Your message could not be delivered yet to one or more recipients.\r\n");
        if let Some(until) = report.retry_until {
            text.push_str(&format!(
                "Delivery will be retried until {}.\r\n",
                rfc822_date(until)
            ));
        }
        text.push_str("You do not need to send it again.\r\n\r\n");
    }
    for r in &report.recipients {
        text.push_str(&format!(
            "<{}>: {}\r\n",
            field(&r.address),
            field(&r.diagnostic)
        ));
    }

    let mut status = format!(
        "Reporting-MTA: dns; {}\r\nArrival-Date: {}\r\n",
        report.reporting_mta,
        rfc822_date(report.arrival)
    );
    for r in &report.recipients {
        status.push_str("\r\n");
        status.push_str(&format!(
            "Final-Recipient: rfc822; {}\r\n",
            field(&r.address)
        ));
        let (action, fallback) = match r.action {
            Action::Failed => ("failed", "5.0.0"),
            Action::Delayed => ("delayed", "4.0.0"),
        };
        let mut code = status_of(&r.diagnostic);
        // The status class must agree with the action (RFC 3464 §2.3.4).
        if !code.starts_with(&fallback[..1]) {
            code = fallback.into();
        }
        status.push_str(&format!("Action: {action}\r\nStatus: {code}\r\n"));
        if let Some(mta) = &r.remote_mta {
            status.push_str(&format!("Remote-MTA: dns; {}\r\n", field(mta)));
        }
        status.push_str(&format!(
            "Diagnostic-Code: smtp; {}\r\nLast-Attempt-Date: {}\r\n",
            field(&r.diagnostic),
            rfc822_date(r.last_attempt)
        ));
        if let (Action::Delayed, Some(until)) = (r.action, report.retry_until) {
            status.push_str(&format!("Will-Retry-Until: {}\r\n", rfc822_date(until)));
        }
    }

    let mut headers_part = b"Content-Type: text/rfc822-headers\r\n\r\n".to_vec();
    headers_part.extend_from_slice(header_section(report.original));
    let mut status_part = b"Content-Type: message/delivery-status\r\n\r\n".to_vec();
    status_part.extend_from_slice(status.as_bytes());

    let body = MimePart::new(
        mail_builder::headers::content_type::ContentType::new("multipart/report")
            .attribute("report-type", "delivery-status"),
        vec![
            MimePart::new("text/plain", text),
            MimePart::raw(status_part),
            MimePart::raw(headers_part),
        ],
    );
    let from = format!("MAILER-DAEMON@{}", report.reporting_mta);
    MessageBuilder::new()
        .from(("Mail Delivery System", from.as_str()))
        .to(report.to)
        .subject(subject)
        // RFC 3834: an automatic reply, so that auto-responders stay quiet.
        .header("Auto-Submitted", Raw::new("auto-replied"))
        .body(body)
        .write_to_vec()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_comes_from_the_reply() {
        assert_eq!(status_of("550 5.1.1 <x@y>: no such user"), "5.1.1");
        assert_eq!(status_of("550 no such user"), "5.0.0");
        assert_eq!(status_of("421 4.4.2 timeout"), "4.4.2");
        assert_eq!(
            status_of("connect to mx.test[127.0.0.1]:25: refused"),
            "4.0.0"
        );
        assert_eq!(status_of("554 5.9.99999 bogus"), "5.0.0");
        assert_eq!(status_of("5.4.7 Delivery time expired"), "5.4.7");
    }

    #[test]
    fn a_bounce_is_a_delivery_status_report() {
        use mail_parser::MimeHeaders;
        let original = b"From: a@x.test\r\nSubject: hi\r\n\r\nsecret body\r\n";
        let message = build(&Report {
            reporting_mta: "mx.x.test",
            to: "a@x.test",
            arrival: 0,
            retry_until: None,
            recipients: vec![ReportedRecipient {
                address: "b@y.test".into(),
                action: Action::Failed,
                diagnostic: "550 5.1.1 no such user\r\ninjected: header".into(),
                remote_mta: Some("mx.y.test".into()),
                last_attempt: 60,
            }],
            original,
        });
        let parsed = mail_parser::MessageParser::new()
            .parse(&message)
            .expect("a report parses");
        assert_eq!(
            parsed.subject(),
            Some("Undelivered Mail Returned to Sender")
        );
        let ct = parsed.root_part().content_type().expect("content type");
        assert_eq!(ct.c_type, "multipart");
        assert_eq!(ct.subtype(), Some("report"));
        assert_eq!(ct.attribute("report-type"), Some("delivery-status"));
        let text = String::from_utf8_lossy(&message);
        assert!(
            text.contains("Final-Recipient: rfc822; b@y.test\r\nAction: failed\r\nStatus: 5.1.1")
        );
        assert!(text.contains("Remote-MTA: dns; mx.y.test"));
        assert!(text.contains("Auto-Submitted: auto-replied"));
        assert!(text.contains("Subject: hi"), "original headers returned");
        assert!(!text.contains("secret body"), "the body is not returned");
        assert!(
            !text.contains("\r\ninjected: header"),
            "no header injection"
        );
    }

    #[test]
    fn a_delay_warning_says_until_when() {
        let message = build(&Report {
            reporting_mta: "mx.x.test",
            to: "a@x.test",
            arrival: 0,
            retry_until: Some(432_000),
            recipients: vec![ReportedRecipient {
                address: "b@y.test".into(),
                action: Action::Delayed,
                diagnostic: "connect to mx.y.test[192.0.2.1]:25: connection refused".into(),
                remote_mta: None,
                last_attempt: 60,
            }],
            original: b"Subject: hi\r\n\r\n",
        });
        let text = String::from_utf8_lossy(&message);
        assert!(text.contains("Subject: Delayed Mail (still being retried)"));
        assert!(text.contains("Action: delayed\r\nStatus: 4.0.0"));
        assert!(text.contains("Will-Retry-Until: Tue, 6 Jan 1970"));
    }
}
