//! USER/PASS (RFC 1939 §7) and AUTH PLAIN (RFC 5034), then the maildrop lock and snapshot.
//!
//! Failed attempts wait the failed-login guard's delay (`crate::limits::logins`, at least
//! `auth_failure_delay_ms`) before the `-ERR [AUTH]`, and the connection closes after
//! `max_auth_failures`; a locked-out client gets `-ERR [SYS/TEMP]` at once. Unknown user, wrong password and disabled account give the
//! same answer. Plain-text credentials are refused on a connection that is neither TLS nor
//! loopback unless `allow_plaintext_auth` is set (RFC 2595 §2.2).

use std::time::Duration;

use yubin_proto::Secret;
use yubin_proto::sasl::{decode_response, parse_plain};

use super::errors::Failure;
use super::maildrop::{Maildrop, listing};
use super::session::{MAX_SASL_LINE, Session, State, Stream};
use super::{LockRefused, Service};
use crate::auth::Login as Checked;
use crate::limits::SessionRefused;

/// Messages (in the whole account) up to which the login snapshot is read on the session's own
/// worker: about half a millisecond of work, less than a hop to the blocking pool costs a busy
/// machine; bigger maildrops are read off the workers.
const SMALL_MAILDROP: u64 = 1000;

fn privacy_required() -> Failure {
    Failure::new(
        Some("AUTH"),
        "Plain-text authentication needs TLS: use STLS or port 995",
    )
}

impl Session {
    pub(crate) fn user(&mut self, name: String) -> Result<(), Failure> {
        if !self.plaintext_ok() {
            return Err(privacy_required());
        }
        self.state = State::Authorization { user: Some(name) };
        self.ok("Send your password");
        Ok(())
    }

    pub(crate) async fn pass(&mut self, password: Secret<String>) -> Result<(), Failure> {
        let user = match &mut self.state {
            State::Authorization { user } => user.take(),
            State::Transaction(_) => None,
        };
        let Some(user) = user else {
            return Err(Failure::plain("Send USER first"));
        };
        if !self.plaintext_ok() {
            return Err(privacy_required());
        }
        self.log_in(user, password).await
    }

    pub(crate) async fn auth(
        &mut self,
        mechanism: Option<String>,
        initial: Option<String>,
        stream: &mut Stream,
    ) -> Result<(), Failure> {
        let Some(mechanism) = mechanism else {
            // RFC 1734 practice, which clients such as fetchmail use to probe: list mechanisms.
            self.out.extend_from_slice(b"+OK Mechanisms follow\r\n");
            if self.plaintext_ok() {
                self.out.extend_from_slice(b"PLAIN\r\n");
            }
            self.out.extend_from_slice(b".\r\n");
            return Ok(());
        };
        if !mechanism.eq_ignore_ascii_case("PLAIN") {
            return Err(Failure::plain(format!(
                "Unsupported authentication mechanism {mechanism}"
            )));
        }
        if !self.plaintext_ok() {
            return Err(privacy_required());
        }
        let response = match initial {
            // RFC 5034 §4: "=" is an empty initial response.
            Some(text) if text == "=" => Vec::new(),
            Some(text) => text.into_bytes(),
            None => {
                self.out.extend_from_slice(b"+ \r\n");
                match self.read_line(stream, MAX_SASL_LINE).await {
                    Some(line) => line.to_vec(),
                    None => return Err(Failure::plain("Authentication aborted")),
                }
            }
        };
        if response.trim_ascii() == b"*" {
            return Err(Failure::plain("Authentication cancelled"));
        }
        let Ok(decoded) = decode_response(&response) else {
            return Err(Failure::plain("Invalid base64 in the SASL response"));
        };
        let Ok(creds) = parse_plain(decoded.expose()) else {
            return self.fail_auth().await;
        };
        if !creds.authzid.is_empty() && !creds.authzid.eq_ignore_ascii_case(&creds.authcid) {
            return self.fail_auth().await;
        }
        self.log_in(creds.authcid, creds.password).await
    }

    /// Checks the credentials, locks the maildrop and takes its snapshot.
    async fn log_in(&mut self, user: String, password: Secret<String>) -> Result<(), Failure> {
        // A slow store would leave the snapshot below past its deadline anyway; say so at once.
        if self.service.store.is_slow() {
            crate::net::telemetry::rejected("pop3", "store_slow");
            return Err(Failure::busy());
        }
        let service = self.service.clone();
        let floor = Duration::from_millis(service.config.auth_failure_delay_ms);
        let checked = service
            .passwords
            .log_in(
                &service.limits.logins,
                "pop3",
                self.peer.ip(),
                user,
                password,
                floor,
            )
            .await;
        let info = match checked {
            Checked::Accepted(info) => info,
            Checked::Rejected => {
                self.count_failure();
                return Err(invalid());
            }
            Checked::Locked(_) => {
                self.count_failure();
                return Err(Failure::new(
                    Some("SYS/TEMP"),
                    "Too many failed logins from your address; try again later",
                ));
            }
            Checked::Unavailable(e) => return Err(e.into()),
        };
        let seat = match service.limits.open_session("pop3", &info).await {
            Ok(seat) => seat,
            Err(SessionRefused::Account) => {
                return Err(Failure::new(
                    Some("IN-USE"),
                    "Too many sessions open for this account; try again later",
                ));
            }
            Err(SessionRefused::Tenant) => {
                return Err(Failure::new(
                    Some("SYS/TEMP"),
                    "Too many sessions open for this domain; try again later",
                ));
            }
        };
        let account = info.record.id;
        let service: &Service = &service;
        let lock = match service.locks.acquire(
            account,
            Duration::from_secs(service.config.login_delay_secs),
        ) {
            Ok(lock) => lock,
            Err(LockRefused::InUse) => {
                return Err(Failure::new(
                    Some("IN-USE"),
                    "Another POP3 session is using this mailbox",
                ));
            }
            Err(LockRefused::TooSoon) => {
                return Err(Failure::new(
                    Some("LOGIN-DELAY"),
                    format!(
                        "Wait {} seconds between logins",
                        service.config.login_delay_secs
                    ),
                ));
            }
        };
        // A small maildrop's snapshot takes microseconds; a large one's is read off the workers.
        let small = info.messages <= SMALL_MAILDROP;
        let (mailbox, entries) = self
            .store_call(small, move |store| {
                let view = store.select(account, "INBOX")?;
                Ok((view.id, listing(&view.messages)))
            })
            .await?;
        let maildrop = Maildrop::new(account, info.address, mailbox, entries, lock);
        let (count, octets) = maildrop.stat();
        tracing::info!(peer = %self.peer, account = %maildrop.address, messages = count, "POP3 login");
        self.state = State::Transaction(Box::new(maildrop));
        self.seat = Some(seat);
        self.ok(&format!("Logged in, {count} messages ({octets} octets)"));
        Ok(())
    }

    /// A failure before any password check (malformed SASL): the fixed delay, then -ERR.
    async fn fail_auth(&mut self) -> Result<(), Failure> {
        tokio::time::sleep(Duration::from_millis(
            self.service.config.auth_failure_delay_ms,
        ))
        .await;
        self.count_failure();
        Err(invalid())
    }

    fn count_failure(&mut self) {
        self.auth_failures += 1;
        tracing::info!(peer = %self.peer, failures = self.auth_failures, "POP3 login failed");
    }
}

fn invalid() -> Failure {
    Failure::new(Some("AUTH"), "Invalid credentials")
}
