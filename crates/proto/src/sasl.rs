//! SASL mechanisms used by IMAP, POP3 and submission: PLAIN (RFC 4616) and LOGIN.
//!
//! Only the wire decoding lives here; checking the credentials is the caller's job.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::secret::Secret;

/// Credentials from a PLAIN response: `[authzid] NUL authcid NUL passwd`.
#[derive(Debug)]
pub struct PlainCredentials {
    /// Authorization identity; empty when the client wants to act as itself.
    pub authzid: String,
    /// Authentication identity (the user name).
    pub authcid: String,
    /// The password.
    pub password: Secret<String>,
}

/// Why a SASL response could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaslError {
    /// Not valid base64.
    Base64,
    /// Decoded, but not `authzid NUL authcid NUL passwd` in UTF-8.
    Malformed,
}

/// Decodes a base64 SASL response; `=` is the empty response (RFC 4959 §3).
pub fn decode_response(text: &[u8]) -> Result<Secret<Vec<u8>>, SaslError> {
    let text = text.trim_ascii();
    if text == b"=" {
        return Ok(Secret::new(Vec::new()));
    }
    STANDARD
        .decode(text)
        .map(Secret::new)
        .map_err(|_| SaslError::Base64)
}

/// Decodes one base64 line of the LOGIN mechanism (a user name or a password) as UTF-8.
///
/// LOGIN is not standardized (draft-murchison-sasl-login); clients send the user name and then
/// the password, each base64 on its own line, in answer to two 334 challenges.
pub fn decode_login_text(text: &[u8]) -> Result<Secret<String>, SaslError> {
    let raw = decode_response(text)?.into_inner();
    if raw.is_empty() || raw.contains(&0) {
        return Err(SaslError::Malformed);
    }
    String::from_utf8(raw)
        .map(Secret::new)
        .map_err(|_| SaslError::Malformed)
}

/// Parses a decoded PLAIN message (RFC 4616 §2).
pub fn parse_plain(message: &[u8]) -> Result<PlainCredentials, SaslError> {
    let mut parts = message.split(|&b| b == 0);
    let (Some(authzid), Some(authcid), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SaslError::Malformed);
    };
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| SaslError::Malformed);
    let authcid = text(authcid)?;
    if authcid.is_empty() || password.is_empty() {
        return Err(SaslError::Malformed);
    }
    Ok(PlainCredentials {
        authzid: text(authzid)?,
        authcid,
        password: Secret::new(text(password)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4616_example() {
        // RFC 4616 §4: "\0tim\0tanstaaftanstaaf" is AHRpbQB0YW5zdGFhZnRhbnN0YWFm.
        let raw = decode_response(b"AHRpbQB0YW5zdGFhZnRhbnN0YWFm").expect("base64");
        let creds = parse_plain(raw.expose()).expect("plain");
        assert_eq!(creds.authzid, "");
        assert_eq!(creds.authcid, "tim");
        assert_eq!(creds.password.expose(), "tanstaaftanstaaf");
    }

    #[test]
    fn login_lines_decode_to_text() {
        assert_eq!(decode_login_text(b"dGlt").expect("user").expose(), "tim");
        assert_eq!(decode_login_text(b"=").err(), Some(SaslError::Malformed));
        assert_eq!(decode_login_text(b"AA==").err(), Some(SaslError::Malformed));
        assert_eq!(decode_login_text(b"/w==").err(), Some(SaslError::Malformed));
    }

    #[test]
    fn bad_responses_are_errors() {
        assert_eq!(decode_response(b"!!!").err(), Some(SaslError::Base64));
        assert!(decode_response(b"=").expect("empty").expose().is_empty());
        assert_eq!(parse_plain(b"user").err(), Some(SaslError::Malformed));
        assert_eq!(parse_plain(b"\0user\0").err(), Some(SaslError::Malformed));
        assert_eq!(parse_plain(b"a\0b\0c\0d").err(), Some(SaslError::Malformed));
        assert_eq!(parse_plain(b"\0\xff\0pw").err(), Some(SaslError::Malformed));
    }
}
