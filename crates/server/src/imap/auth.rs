//! LOGIN and AUTHENTICATE PLAIN (RFC 9051 §6.2.2-3, RFC 4959 SASL-IR).
//!
//! Failed attempts wait the failed-login guard's delay (`crate::limits::logins`, at least
//! `auth_failure_delay_ms`) before the NO, and the connection closes after
//! `max_auth_failures`. Unknown user, wrong password and disabled account give the same
//! answer. A locked-out client gets `NO [UNAVAILABLE]` at once, and a login past the account's
//! or tenant's session limit `NO [LIMIT]`.

use std::time::Duration;

use yubin_proto::Secret;
use yubin_proto::sasl::{decode_response, parse_plain};

use super::errors::Failure;
use super::session::{Done, Outcome, Session, Stream};
use super::state::{Login, State};
use crate::auth::Login as Checked;
use crate::limits::SessionRefused;

impl Session {
    pub(crate) async fn login(&mut self, username: &[u8], password: Secret<Vec<u8>>) -> Outcome {
        if !self.plaintext_ok() {
            return Err(Failure::no(
                Some("PRIVACYREQUIRED"),
                "Use STARTTLS or port 993 before logging in",
            ));
        }
        let user = String::from_utf8_lossy(username).into_owned();
        let password = String::from_utf8_lossy(password.expose()).into_owned();
        self.check_credentials(user, Secret::new(password)).await
    }

    pub(crate) async fn authenticate(
        &mut self,
        tag: &str,
        mechanism: &str,
        initial: Option<Secret<Vec<u8>>>,
        stream: &mut Stream,
    ) -> Outcome {
        if mechanism != "PLAIN" {
            return Err(Failure::no(
                Some("CANNOT"),
                format!("Unsupported authentication mechanism {mechanism}"),
            ));
        }
        if !self.plaintext_ok() {
            return Err(Failure::no(
                Some("PRIVACYREQUIRED"),
                "Use STARTTLS or port 993 before authenticating",
            ));
        }
        let response = match initial {
            Some(text) => text.into_inner(),
            None => {
                self.out.extend_from_slice(b"+ \r\n");
                match self.read_line(stream).await {
                    Some(Ok(line)) => line,
                    Some(Err(())) => return Err(Failure::bad("Response line too long")),
                    None => {
                        tracing::debug!(%tag, "connection ended during AUTHENTICATE");
                        return Err(Failure::bad("Authentication aborted"));
                    }
                }
            }
        };
        // RFC 9051 §6.2.2: "*" cancels the exchange.
        if response.trim_ascii() == b"*" {
            return Err(Failure::bad("Authentication cancelled"));
        }
        let Ok(decoded) = decode_response(&response) else {
            return Err(Failure::bad("Invalid base64 in the SASL response"));
        };
        let Ok(creds) = parse_plain(decoded.expose()) else {
            return self.fail_auth().await;
        };
        if !creds.authzid.is_empty() && !creds.authzid.eq_ignore_ascii_case(&creds.authcid) {
            return self.fail_auth().await;
        }
        self.check_credentials(creds.authcid, creds.password).await
    }

    async fn check_credentials(&mut self, user: String, password: Secret<String>) -> Outcome {
        let service = self.service.clone();
        let floor = Duration::from_millis(service.config.auth_failure_delay_ms);
        let checked = service
            .passwords
            .log_in(
                &service.limits.logins,
                "imap",
                self.peer.ip(),
                user,
                password,
                floor,
            )
            .await;
        match checked {
            Checked::Accepted(info) => {
                let seat = match service.limits.open_session("imap", &info).await {
                    Ok(seat) => seat,
                    Err(which) => {
                        let whose = match which {
                            SessionRefused::Account => "this account",
                            SessionRefused::Tenant => "this domain",
                        };
                        return Err(Failure::no(
                            Some("LIMIT"),
                            format!("Too many sessions open for {whose}; try again later"),
                        ));
                    }
                };
                self.seat = Some(seat);
                tracing::info!(peer = %self.peer, account = %info.address, "IMAP login");
                self.state = State::Authenticated(Login {
                    account: info.record.id,
                    address: info.address,
                });
                Ok(Done::with_code(
                    format!("CAPABILITY {}", self.capabilities()),
                    "Logged in",
                ))
            }
            Checked::Rejected => {
                self.count_failure();
                Err(invalid())
            }
            Checked::Locked(_) => {
                self.count_failure();
                Err(Failure::no(
                    Some("UNAVAILABLE"),
                    "Too many failed logins from your address; try again later",
                ))
            }
            Checked::Unavailable(e) => Err(e.into()),
        }
    }

    /// A failure before any password check (malformed SASL): the fixed delay, then NO.
    async fn fail_auth(&mut self) -> Outcome {
        tokio::time::sleep(Duration::from_millis(
            self.service.config.auth_failure_delay_ms,
        ))
        .await;
        self.count_failure();
        Err(invalid())
    }

    /// Counts a failed login, queueing `* BYE` when it is the last this connection gets.
    fn count_failure(&mut self) {
        self.auth_failures += 1;
        tracing::info!(peer = %self.peer, failures = self.auth_failures, "IMAP login failed");
        if self.auth_failures >= self.service.config.max_auth_failures {
            self.out
                .extend_from_slice(b"* BYE Too many failed logins\r\n");
        }
    }
}

fn invalid() -> Failure {
    Failure::no(Some("AUTHENTICATIONFAILED"), "Invalid credentials")
}
