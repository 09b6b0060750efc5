//! The SMTP AUTH exchange (RFC 4954) for PLAIN (RFC 4616) and LOGIN, as a pure state machine:
//! the session feeds it the AUTH command and then each client line, and gets back a challenge
//! to send, the credentials to check, or the reply that ends the exchange.
//!
//! Checking the credentials, the TLS requirement and failure delays are the session's job.

use yubin_proto::Secret;
use yubin_proto::sasl::{self, SaslError};
use yubin_proto::smtp::reply::Reply;

/// Base64 of "Username:" and "Password:", the challenges LOGIN clients expect.
const LOGIN_USER: &str = "VXNlcm5hbWU6";
const LOGIN_PASSWORD: &str = "UGFzc3dvcmQ6";

/// A mechanism waiting for the client's next line.
pub(crate) enum Exchange {
    /// PLAIN without an initial response: the next line is the response.
    Plain,
    /// LOGIN: the next line is the user name.
    LoginUser,
    /// LOGIN: the next line is the password.
    LoginPassword(String),
}

/// What the session does next.
pub(crate) enum Step {
    /// Send this 334 challenge; the client's next line goes to [`next`] with the exchange.
    Challenge(Reply, Exchange),
    /// Check these credentials.
    Credentials {
        /// The user name (the account address).
        user: String,
        /// The password.
        password: Secret<String>,
    },
    /// The exchange is over without credentials: send this reply.
    Failed(Reply),
}

/// Starts an exchange for `AUTH <mechanism> [initial-response]` (smtp-proto's mechanism bits).
pub(crate) fn start(mechanism: u64, initial: &str) -> Step {
    match mechanism {
        smtp_proto::AUTH_PLAIN if initial.is_empty() => {
            Step::Challenge(Reply::plain(334, ""), Exchange::Plain)
        }
        smtp_proto::AUTH_PLAIN => plain(initial.as_bytes()),
        smtp_proto::AUTH_LOGIN if initial.is_empty() => {
            Step::Challenge(Reply::plain(334, LOGIN_USER), Exchange::LoginUser)
        }
        // Some clients send the user name with the command (RFC 4954 §4 initial response).
        smtp_proto::AUTH_LOGIN => login_user(initial.as_bytes()),
        _ => Step::Failed(Reply::new(
            504,
            "5.5.4",
            "Unrecognized authentication type; use PLAIN or LOGIN",
        )),
    }
}

/// Continues an exchange with the client's line (without CRLF).
pub(crate) fn next(exchange: Exchange, line: &[u8]) -> Step {
    if line.trim_ascii() == b"*" {
        // RFC 4954 §4: the client cancels with "*".
        return Step::Failed(Reply::new(501, "5.0.0", "Authentication cancelled"));
    }
    match exchange {
        Exchange::Plain => plain(line),
        Exchange::LoginUser => login_user(line),
        Exchange::LoginPassword(user) => match sasl::decode_login_text(line) {
            Ok(password) => Step::Credentials { user, password },
            Err(e) => malformed(e),
        },
    }
}

fn plain(response: &[u8]) -> Step {
    let decoded = match sasl::decode_response(response) {
        Ok(d) => d,
        Err(e) => return malformed(e),
    };
    match sasl::parse_plain(decoded.expose()) {
        // Acting for another identity (authzid) is not offered.
        Ok(c) if !c.authzid.is_empty() && c.authzid != c.authcid => Step::Failed(Reply::new(
            535,
            "5.7.8",
            "Authentication credentials invalid",
        )),
        Ok(c) => Step::Credentials {
            user: c.authcid,
            password: c.password,
        },
        Err(e) => malformed(e),
    }
}

fn login_user(line: &[u8]) -> Step {
    match sasl::decode_login_text(line) {
        Ok(user) => Step::Challenge(
            Reply::plain(334, LOGIN_PASSWORD),
            Exchange::LoginPassword(user.into_inner()),
        ),
        Err(e) => malformed(e),
    }
}

fn malformed(error: SaslError) -> Step {
    Step::Failed(match error {
        SaslError::Base64 => Reply::new(501, "5.5.2", "Cannot decode the response (base64)"),
        SaslError::Malformed => Reply::new(501, "5.5.2", "Malformed authentication response"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(step: Step) -> (String, String) {
        match step {
            Step::Credentials { user, password } => (user, password.expose().clone()),
            Step::Challenge(r, _) | Step::Failed(r) => panic!("expected credentials, got {r:?}"),
        }
    }

    fn challenge(step: Step) -> (Reply, Exchange) {
        match step {
            Step::Challenge(r, e) => (r, e),
            Step::Credentials { .. } => panic!("expected a challenge, got credentials"),
            Step::Failed(r) => panic!("expected a challenge, got {r:?}"),
        }
    }

    fn failure(step: Step) -> u16 {
        match step {
            Step::Failed(r) => r.code,
            _ => panic!("expected a failure"),
        }
    }

    #[test]
    fn plain_with_and_without_initial_response() {
        // "\0tim\0tanstaaftanstaaf"
        let b64 = "AHRpbQB0YW5zdGFhZnRhbnN0YWFm";
        let (user, pass) = credentials(start(smtp_proto::AUTH_PLAIN, b64));
        assert_eq!((user.as_str(), pass.as_str()), ("tim", "tanstaaftanstaaf"));
        let (reply, exchange) = challenge(start(smtp_proto::AUTH_PLAIN, ""));
        assert_eq!(reply.to_bytes(), b"334 \r\n");
        let (user, _) = credentials(next(exchange, b64.as_bytes()));
        assert_eq!(user, "tim");
    }

    #[test]
    fn login_asks_for_user_then_password() {
        let (reply, exchange) = challenge(start(smtp_proto::AUTH_LOGIN, ""));
        assert_eq!(reply.to_bytes(), b"334 VXNlcm5hbWU6\r\n");
        let (reply, exchange) = challenge(next(exchange, b"dGlt"));
        assert_eq!(reply.to_bytes(), b"334 UGFzc3dvcmQ6\r\n");
        let (user, pass) = credentials(next(exchange, b"c2VjcmV0"));
        assert_eq!((user.as_str(), pass.as_str()), ("tim", "secret"));
        // user name given with the command
        let (_, exchange) = challenge(start(smtp_proto::AUTH_LOGIN, "dGlt"));
        assert!(matches!(exchange, Exchange::LoginPassword(ref u) if u == "tim"));
    }

    #[test]
    fn cancel_bad_base64_and_foreign_identity_fail() {
        let (_, exchange) = challenge(start(smtp_proto::AUTH_LOGIN, ""));
        assert_eq!(failure(next(exchange, b"*")), 501);
        assert_eq!(failure(start(smtp_proto::AUTH_PLAIN, "!!!")), 501);
        // "bob\0tim\0pw": tim asking to act as bob
        assert_eq!(
            failure(start(smtp_proto::AUTH_PLAIN, "Ym9iAHRpbQBwdw==")),
            535
        );
        // "tim\0tim\0pw" is the same identity
        let (user, _) = credentials(start(smtp_proto::AUTH_PLAIN, "dGltAHRpbQBwdw=="));
        assert_eq!(user, "tim");
        assert_eq!(failure(start(smtp_proto::AUTH_CRAM_MD5, "")), 504);
    }
}
