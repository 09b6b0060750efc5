//! Configuration: one TOML file whose every key has a default, so no file is needed.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use yubin_server::dns::DnsConfig;
use yubin_server::imap::ImapConfig;
use yubin_server::limits::LimitsConfig;
use yubin_server::net::tls::TlsConfig;
use yubin_server::pop3::Pop3Config;
use yubin_server::smtp::SmtpConfig;
use yubin_server::smtp::inbound::ChecksConfig;
use yubin_server::smtp::outbound::{OutboundConfig, TlsPolicy};
use yubin_server::smtp::queue::QueueConfig;
use yubin_server::smtp::submission::SendingConfig;
use yubin_store::admission;
use yubin_web::HttpConfig;

/// The whole configuration file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[server]`: identity, data directory, shutdown.
    pub server: ServerConfig,
    /// `[smtp]`: the inbound MX service.
    pub smtp: SmtpConfig,
    /// `[lmtp]`: local delivery from a trusted MTA.
    pub lmtp: SmtpConfig,
    /// `[submission]`: authenticated sending on 587 (STARTTLS) and 465 (implicit TLS).
    pub submission: SmtpConfig,
    /// `[sending]`: what authenticated senders may do.
    pub sending: SendingConfig,
    /// `[queue]`: retries and concurrency of outbound delivery.
    pub queue: QueueConfig,
    /// `[outbound]`: how Yubin talks to other servers.
    pub outbound: OutboundConfig,
    /// `[dns]`: the resolver for MX lookups and SPF/DKIM/DMARC.
    pub dns: DnsConfig,
    /// `[checks]`: SPF/DKIM/DMARC on the MX port.
    pub checks: ChecksConfig,
    /// `[http]`: health, readiness and metrics over HTTP; the admin API over HTTPS.
    pub http: HttpConfig,
    /// `[imap]`: IMAP4rev2/rev1 for mail clients.
    pub imap: ImapConfig,
    /// `[pop3]`: POP3 for mail clients that download.
    pub pop3: Pop3Config,
    /// `[limits]`: per-IP, per-tenant and per-account limits, failed-login lockouts.
    pub limits: LimitsConfig,
    /// `[tls]`: certificate for STARTTLS.
    pub tls: TlsConfig,
}

/// `[server]` settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Name in greetings and Received headers.
    pub hostname: String,
    /// Where the store, blobs and generated certificate live.
    pub data_dir: PathBuf,
    /// Seconds in-flight sessions get to finish after SIGTERM.
    pub shutdown_grace_secs: u64,
    /// Log filter (tracing syntax), overridden by RUST_LOG.
    pub log: String,
    /// Seconds a deleted message's body stays readable before the purger removes it.
    pub purge_grace_secs: u64,
    /// Most deleted messages the background purger removes per second (it goes slower while
    /// foreground work suffers).
    pub purge_rate: u64,
    /// Store latency (ms) above which new work gets temporary errors: SMTP 421 at connect and
    /// 451 4.3.0, IMAP `NO [UNAVAILABLE]`, POP3 `-ERR [SYS/TEMP]`.
    pub store_slow_ms: u64,
    /// Longest one delivery's store work may take (ms) before the client gets 451 4.3.0.
    pub store_deadline_ms: u64,
    /// Store operations one tenant may have in progress at once; more wait on the tenant's own
    /// budget, so a flooding tenant queues behind itself.
    pub tenant_store_slots: usize,
}

/// A duration in whole milliseconds, for the config's `_ms` keys.
fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            hostname: system_hostname(),
            data_dir: PathBuf::from("./yubin-data"),
            shutdown_grace_secs: 10,
            log: "info".into(),
            purge_grace_secs: 60,
            purge_rate: 2000,
            store_slow_ms: millis(admission::DEFAULT_SLOW_AFTER),
            store_deadline_ms: millis(admission::DEFAULT_DEADLINE),
            tenant_store_slots: admission::DEFAULT_TENANT_SLOTS,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        let root = is_root();
        Self {
            server: ServerConfig::default(),
            smtp: SmtpConfig::with_listen(vec![
                if root { "0.0.0.0:25" } else { "0.0.0.0:2525" }.into(),
            ]),
            lmtp: SmtpConfig::with_listen(vec![
                if root {
                    "127.0.0.1:24"
                } else {
                    "127.0.0.1:2424"
                }
                .into(),
            ]),
            submission: SmtpConfig {
                listen: vec![if root { "0.0.0.0:587" } else { "0.0.0.0:1587" }.into()],
                listen_tls: vec![if root { "0.0.0.0:465" } else { "0.0.0.0:1465" }.into()],
                ..SmtpConfig::default()
            },
            sending: SendingConfig::default(),
            queue: QueueConfig::default(),
            outbound: OutboundConfig::default(),
            dns: DnsConfig::default(),
            checks: ChecksConfig::default(),
            http: HttpConfig::default(),
            imap: ImapConfig::with_listen(
                vec![if root { "0.0.0.0:143" } else { "0.0.0.0:1143" }.into()],
                vec![if root { "0.0.0.0:993" } else { "0.0.0.0:1993" }.into()],
            ),
            pop3: Pop3Config::with_listen(
                vec![if root { "0.0.0.0:110" } else { "0.0.0.0:1110" }.into()],
                vec![if root { "0.0.0.0:995" } else { "0.0.0.0:1995" }.into()],
            ),
            limits: LimitsConfig::default(),
            tls: TlsConfig::default(),
        }
    }
}

impl Config {
    /// Reads a config file; a missing key takes its default, an unknown key is an error.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses and validates config text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        if self.server.hostname.trim().is_empty() {
            return Err("server.hostname must not be empty".into());
        }
        for (name, n) in [
            ("store_slow_ms", self.server.store_slow_ms),
            ("store_deadline_ms", self.server.store_deadline_ms),
            ("tenant_store_slots", self.server.tenant_store_slots as u64),
        ] {
            if n == 0 {
                return Err(format!("server.{name} must be at least 1"));
            }
        }
        for (name, smtp) in [
            ("smtp", &self.smtp),
            ("lmtp", &self.lmtp),
            ("submission", &self.submission),
        ] {
            if smtp.max_line_length < 512 {
                return Err(format!(
                    "{name}.max_line_length must be at least 512 (RFC 5321 §4.5.3.1.4)"
                ));
            }
            if smtp.max_recipients == 0 || smtp.max_commands == 0 || smtp.max_connections == 0 {
                return Err(format!("{name}: limits must be at least 1"));
            }
            for addr in smtp.listen.iter().chain(&smtp.listen_tls) {
                addr.parse::<std::net::SocketAddr>()
                    .map_err(|_| format!("{name}.listen: '{addr}' is not an address:port"))?;
            }
            if name != "submission" && !smtp.listen_tls.is_empty() {
                return Err(format!(
                    "{name}.listen_tls: only [submission] has implicit TLS"
                ));
            }
        }
        if self.submission.max_auth_failures == 0 {
            return Err("submission.max_auth_failures must be at least 1".into());
        }
        self.sending.validate()?;
        for (key, addrs) in [
            ("listen", &self.http.listen),
            ("listen_tls", &self.http.listen_tls),
        ] {
            for addr in addrs {
                addr.parse::<std::net::SocketAddr>()
                    .map_err(|_| format!("http.{key}: '{addr}' is not an address:port"))?;
            }
        }
        self.queue.validate()?;
        self.outbound.validate()?;
        for ns in &self.dns.nameservers {
            let ok = ns.parse::<std::net::SocketAddr>().is_ok()
                || ns.parse::<std::net::IpAddr>().is_ok();
            if !ok {
                return Err(format!("dns.nameservers: '{ns}' is not an IP or IP:port"));
            }
        }
        for addr in self.imap.listen.iter().chain(&self.imap.listen_tls) {
            addr.parse::<std::net::SocketAddr>()
                .map_err(|_| format!("imap.listen: '{addr}' is not an address:port"))?;
        }
        if self.imap.max_line_length < 8192 {
            return Err("imap.max_line_length must be at least 8192 (RFC 7162 §4)".into());
        }
        if self.imap.max_connections == 0 || self.imap.max_auth_failures == 0 {
            return Err("imap: limits must be at least 1".into());
        }
        if self.server.purge_rate == 0 {
            return Err("server.purge_rate must be at least 1".into());
        }
        self.pop3.validate()?;
        self.limits.validate()?;
        if self.tls.cert.is_empty() != self.tls.key.is_empty() {
            return Err("tls.cert and tls.key must be set together".into());
        }
        Ok(())
    }

    /// The full default configuration with a comment for every key.
    pub fn default_toml() -> String {
        let d = Config::default();
        let list = |v: &[String]| {
            format!(
                "[{}]",
                v.iter()
                    .map(|a| format!("\"{a}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let smtp = |name: &str, c: &SmtpConfig, about: &str| {
            let submission = if name == "submission" {
                format!(
                    "# Addresses for implicit TLS (465 as root, 1465 otherwise; [] disables).\n\
                     listen_tls = {}\n\
                     # Allow AUTH without TLS (otherwise 538 5.7.11 until STARTTLS).\n\
                     allow_plaintext_auth = {}\n\
                     # Milliseconds before a failed AUTH is answered, to slow password guessing.\n\
                     auth_failure_delay_ms = {}\n\
                     # Failed AUTH attempts per connection before it is closed with 421.\n\
                     max_auth_failures = {}\n",
                    list(&c.listen_tls),
                    c.allow_plaintext_auth,
                    c.auth_failure_delay_ms,
                    c.max_auth_failures,
                )
            } else {
                String::new()
            };
            format!(
                "[{name}]\n\
                 # {about}\n\
                 # Addresses to listen on (\"IP:port\"; port 0 picks a free port; [] disables).\n\
                 listen = {}\n\
                 {submission}\
                 # Largest message accepted, in bytes; advertised with SIZE, 552 5.3.4 past it.\n\
                 max_message_size = {}\n\
                 # Most recipients per message; 452 4.5.3 past it.\n\
                 max_recipients = {}\n\
                 # Most commands per connection; then 421 4.7.0 and the connection closes.\n\
                 max_commands = {}\n\
                 # Most protocol errors per connection before it is closed with 421.\n\
                 max_errors = {}\n\
                 # Longest command line in bytes (at least 512); 500 5.5.2 past it.\n\
                 max_line_length = {}\n\
                 # Most simultaneous connections; more get 421 4.7.0.\n\
                 max_connections = {}\n\
                 # Seconds to wait for a command (RFC 5321 asks for at least 300).\n\
                 command_timeout_secs = {}\n\
                 # Seconds to wait for each block of message data (RFC 5321 asks for at least 180).\n\
                 data_timeout_secs = {}\n\
                 # Longest a connection may last, in seconds.\n\
                 session_timeout_secs = {}\n",
                list(&c.listen),
                c.max_message_size,
                c.max_recipients,
                c.max_commands,
                c.max_errors,
                c.max_line_length,
                c.max_connections,
                c.command_timeout_secs,
                c.data_timeout_secs,
                c.session_timeout_secs,
            )
        };
        format!(
            "# Yubin configuration. Every key is optional; shown here with its default.\n\n\
             [server]\n\
             # Name in the SMTP greeting and Received headers (default: this machine's host name).\n\
             hostname = \"{}\"\n\
             # Directory for the metadata store, message blobs and the generated certificate.\n\
             data_dir = \"{}\"\n\
             # Seconds that in-flight sessions get to finish after SIGTERM/SIGINT.\n\
             shutdown_grace_secs = {}\n\
             # Log filter (tracing syntax, e.g. \"info\" or \"yubin_server=debug\"); RUST_LOG overrides it.\n\
             log = \"{}\"\n\
             # Seconds a deleted message stays readable by sessions not yet told of the delete.\n\
             purge_grace_secs = {}\n\
             # Most deleted messages physically removed per second (less while clients are busy).\n\
             purge_rate = {}\n\
             # Store latency (ms) above which new work gets temporary errors (SMTP 421/451 4.3.0,\n\
             # IMAP NO [UNAVAILABLE], POP3 -ERR [SYS/TEMP]); service resumes when it is fast again.\n\
             store_slow_ms = {}\n\
             # Milliseconds one delivery's store work may take before the client gets 451 4.3.0.\n\
             store_deadline_ms = {}\n\
             # Store operations one tenant may run at once; a flooding tenant waits on its own.\n\
             tenant_store_slots = {}\n\n\
             {}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n\
             [tls]\n\
             # PEM certificate chain for STARTTLS. Empty: a self-signed certificate is generated\n\
             # under DATA_DIR/tls/ on first start.\n\
             cert = \"\"\n\
             # PEM private key of `cert` (set both or neither).\n\
             key = \"\"\n",
            d.server.hostname,
            d.server.data_dir.display(),
            d.server.shutdown_grace_secs,
            d.server.log,
            d.server.purge_grace_secs,
            d.server.purge_rate,
            d.server.store_slow_ms,
            d.server.store_deadline_ms,
            d.server.tenant_store_slots,
            smtp(
                "smtp",
                &d.smtp,
                "Inbound SMTP for MX (port 25 as root, 2525 otherwise). Never relays."
            ),
            smtp(
                "lmtp",
                &d.lmtp,
                "LMTP (RFC 2033) for a trusted MTA in front (port 24 as root, 2424 otherwise)."
            ),
            smtp(
                "submission",
                &d.submission,
                "Submission for mail clients (RFC 6409): AUTH after STARTTLS on 587 (1587 when \
                 not root), or implicit TLS."
            ),
            sending_toml(&d.sending),
            queue_toml(&d.queue),
            outbound_toml(&d.outbound),
            dns_toml(&d.dns, &list),
            checks_toml(&d.checks, &list),
            http_toml(&d.http, &list),
            imap_toml(&d.imap, &list),
            pop3_toml(&d.pop3, &list),
            limits_toml(&d.limits, &list),
        )
    }
}

fn sending_toml(c: &SendingConfig) -> String {
    format!(
        "[sending]\n\
         # What authenticated senders may do (submission).\n\
         # Refuse messages whose From: names an address the account may not send as (553 5.7.1).\n\
         check_from_header = {}\n\
         # Messages one account may send per hour; 451 4.7.1 past it.\n\
         messages_per_hour = {}\n\
         # Recipients one account may send to per hour; 451 4.7.1 past it.\n\
         recipients_per_hour = {}\n\
         # Messages all accounts of one domain may send per hour.\n\
         domain_messages_per_hour = {}\n\
         # Recipients all accounts of one domain may send to per hour.\n\
         domain_recipients_per_hour = {}\n",
        c.check_from_header,
        c.messages_per_hour,
        c.recipients_per_hour,
        c.domain_messages_per_hour,
        c.domain_recipients_per_hour,
    )
}

fn queue_toml(c: &QueueConfig) -> String {
    format!(
        "[queue]\n\
         # Outbound delivery retries (as Postfix: backoff doubling from min to max, for 5 days).\n\
         # Seconds before the first retry; doubled after each failed attempt.\n\
         min_backoff_secs = {}\n\
         # Longest wait between two attempts, in seconds.\n\
         max_backoff_secs = {}\n\
         # Seconds after which undelivered mail is returned to the sender.\n\
         lifetime_secs = {}\n\
         # Seconds after which the sender is told delivery is delayed (0 = never).\n\
         delay_warning_secs = {}\n\
         # Most messages being delivered at once.\n\
         max_concurrency = {}\n\
         # Most simultaneous deliveries to one destination domain.\n\
         destination_concurrency = {}\n",
        c.min_backoff_secs,
        c.max_backoff_secs,
        c.lifetime_secs,
        c.delay_warning_secs,
        c.max_concurrency,
        c.destination_concurrency,
    )
}

fn outbound_toml(c: &OutboundConfig) -> String {
    let tls = match c.tls {
        TlsPolicy::None => "none",
        TlsPolicy::Opportunistic => "opportunistic",
        TlsPolicy::Required => "required",
        TlsPolicy::Verify => "verify",
    };
    format!(
        "[outbound]\n\
         # How Yubin delivers to other servers.\n\
         # EHLO name; empty: server.hostname.\n\
         helo_name = \"{}\"\n\
         # Port of remote MX servers.\n\
         port = {}\n\
         # Seconds to wait for a TCP connection before trying the next address.\n\
         connect_timeout_secs = {}\n\
         # Seconds to wait for the greeting and each reply to EHLO, MAIL, RCPT (RFC 5321: 300).\n\
         command_timeout_secs = {}\n\
         # Seconds to wait for the reply to DATA (RFC 5321: 120).\n\
         data_start_timeout_secs = {}\n\
         # Seconds allowed for writing each block of the message (RFC 5321: 180).\n\
         data_block_timeout_secs = {}\n\
         # Seconds to wait for the reply after the final dot (RFC 5321: 600).\n\
         data_end_timeout_secs = {}\n\
         # STARTTLS: \"none\", \"opportunistic\" (when offered, unverified), \"required\", \"verify\".\n\
         tls = \"{tls}\"\n\
         # Per destination domain, overriding tls: {{ \"bank.example\" = \"verify\" }}.\n\
         tls_domains = {{}}\n\
         # PEM CA certificates for tls = \"verify\"; empty: the built-in Mozilla roots.\n\
         ca_file = \"{}\"\n\
         # Send everything through this smart host (\"host:port\"); empty: MX lookups.\n\
         relay = \"{}\"\n\
         # User name for AUTH at the relay; empty: no AUTH.\n\
         relay_user = \"{}\"\n\
         # Password for relay_user (sent only over TLS or to a loopback relay).\n\
         relay_password = \"{}\"\n",
        c.helo_name,
        c.port,
        c.connect_timeout_secs,
        c.command_timeout_secs,
        c.data_start_timeout_secs,
        c.data_block_timeout_secs,
        c.data_end_timeout_secs,
        c.ca_file,
        c.relay,
        c.relay_user,
        c.relay_password,
    )
}

fn checks_toml(c: &ChecksConfig, list: &dyn Fn(&[String]) -> String) -> String {
    format!(
        "[checks]\n\
         # Sender authentication of mail arriving on the MX port.\n\
         # Check SPF, DKIM, ARC and DMARC and add an Authentication-Results field.\n\
         enabled = {}\n\
         # Refuse with 550 5.7.1 what fails DMARC when the sender's domain publishes p=reject.\n\
         dmarc_reject = {}\n\
         # Hosted domains that accept such mail anyway (it is only tagged).\n\
         dmarc_reject_exempt = {}\n",
        c.enabled,
        c.dmarc_reject,
        list(&c.dmarc_reject_exempt),
    )
}

fn http_toml(c: &HttpConfig, list: &dyn Fn(&[String]) -> String) -> String {
    format!(
        "[http]\n\
         # /health (alive), /ready (store answers, data directory writable), /metrics.\n\
         # Addresses for plain HTTP (\"IP:port\"; [] disables); keep it internal.\n\
         listen = {}\n\
         # HTTPS with the [tls] certificate: the same probes and the admin REST API under\n\
         # /api/v1 (bearer tokens from `yubin admin token create`; see docs/api.md).\n\
         listen_tls = {}\n",
        list(&c.listen),
        list(&c.listen_tls)
    )
}

fn dns_toml(c: &DnsConfig, list: &dyn Fn(&[String]) -> String) -> String {
    format!(
        "[dns]\n\
         # The resolver for MX, SPF, DKIM and DMARC lookups.\n\
         # Name servers as \"ip:port\" or \"ip\"; []: the system's /etc/resolv.conf.\n\
         nameservers = {}\n\
         # Milliseconds to wait for one answer (0: the resolver's default, 5 s).\n\
         timeout_ms = {}\n",
        list(&c.nameservers),
        c.timeout_ms,
    )
}

fn imap_toml(c: &ImapConfig, list: &dyn Fn(&[String]) -> String) -> String {
    format!(
        "[imap]\n\
         # IMAP4rev2/IMAP4rev1 for mail clients.\n\
         # Addresses for IMAP with STARTTLS (143 as root, 1143 otherwise; [] disables).\n\
         listen = {}\n\
         # Addresses for IMAP over implicit TLS (993 as root, 1993 otherwise; [] disables).\n\
         listen_tls = {}\n\
         # Allow LOGIN and AUTHENTICATE PLAIN without TLS from any address.\n\
         allow_plaintext_auth = {}\n\
         # Count loopback connections (a local webmail or proxy) as secure for plain-text login.\n\
         loopback_is_secure = {}\n\
         # Longest command line in bytes (at least 8192); BAD past it.\n\
         max_line_length = {}\n\
         # Largest message APPEND accepts, in bytes; advertised as APPENDLIMIT, NO [TOOBIG] past it.\n\
         max_message_size = {}\n\
         # Most simultaneous connections; more get * BYE [UNAVAILABLE].\n\
         max_connections = {}\n\
         # Seconds a logged-in client may stay silent (RFC 9051 asks for at least 1800).\n\
         idle_timeout_secs = {}\n\
         # Seconds a client may take to log in.\n\
         login_timeout_secs = {}\n\
         # Milliseconds before a failed login is answered, to slow password guessing.\n\
         auth_failure_delay_ms = {}\n\
         # Failed logins per connection before it is closed.\n\
         max_auth_failures = {}\n\
         # Commands per second per connection; faster clients are slowed down.\n\
         max_commands_per_sec = {}\n\
         # Protocol errors (BAD) per connection before it is closed.\n\
         max_errors = {}\n",
        list(&c.listen),
        list(&c.listen_tls),
        c.allow_plaintext_auth,
        c.loopback_is_secure,
        c.max_line_length,
        c.max_message_size,
        c.max_connections,
        c.idle_timeout_secs,
        c.login_timeout_secs,
        c.auth_failure_delay_ms,
        c.max_auth_failures,
        c.max_commands_per_sec,
        c.max_errors,
    )
}

fn pop3_toml(c: &Pop3Config, list: &dyn Fn(&[String]) -> String) -> String {
    format!(
        "[pop3]\n\
         # POP3 (RFC 1939) for mail clients that download and delete.\n\
         # Addresses for POP3 with STLS (110 as root, 1110 otherwise; [] disables).\n\
         listen = {}\n\
         # Addresses for POP3 over implicit TLS (995 as root, 1995 otherwise; [] disables).\n\
         listen_tls = {}\n\
         # Allow USER/PASS and AUTH PLAIN without TLS from any address.\n\
         allow_plaintext_auth = {}\n\
         # Count loopback connections as secure for plain-text login.\n\
         loopback_is_secure = {}\n\
         # Most simultaneous connections; more get -ERR [SYS/TEMP].\n\
         max_connections = {}\n\
         # Seconds a logged-in client may stay silent (at least 600, RFC 1939 section 3).\n\
         idle_timeout_secs = {}\n\
         # Seconds a client may take to log in.\n\
         login_timeout_secs = {}\n\
         # Milliseconds before a failed login is answered, to slow password guessing.\n\
         auth_failure_delay_ms = {}\n\
         # Failed logins per connection before it is closed.\n\
         max_auth_failures = {}\n\
         # Commands per second per connection; faster clients are slowed down.\n\
         max_commands_per_sec = {}\n\
         # Unknown or malformed commands per connection before it is closed.\n\
         max_errors = {}\n\
         # Milliseconds the store may take to list a maildrop or read a message; then -ERR [SYS/TEMP].\n\
         store_timeout_ms = {}\n\
         # Seconds required between logins to one maildrop, advertised as LOGIN-DELAY (0: none).\n\
         login_delay_secs = {}\n\
         # EXPIRE policy: \"never\" keeps mail until deleted; \"0\" deletes retrieved messages at QUIT.\n\
         expire = \"{}\"\n\
         # Mark messages downloaded with RETR as read (\\Seen over IMAP) at QUIT.\n\
         mark_retrieved_seen = {}\n",
        list(&c.listen),
        list(&c.listen_tls),
        c.allow_plaintext_auth,
        c.loopback_is_secure,
        c.max_connections,
        c.idle_timeout_secs,
        c.login_timeout_secs,
        c.auth_failure_delay_ms,
        c.max_auth_failures,
        c.max_commands_per_sec,
        c.max_errors,
        c.store_timeout_ms,
        c.login_delay_secs,
        c.expire,
        c.mark_retrieved_seen,
    )
}

fn limits_toml(c: &LimitsConfig, list: &dyn Fn(&[String]) -> String) -> String {
    format!(
        "[limits]\n\
         # Per IP, per tenant (domain) and per account; 0 turns a limit off. Tenants and accounts\n\
         # override these with `yubin admin domain|account limits`.\n\
         # Concurrent connections from one IP (IPv6: one /64) over every protocol.\n\
         connections_per_ip = {}\n\
         # Concurrent logged-in IMAP, POP3 and submission sessions of one account.\n\
         account_connections = {}\n\
         # Concurrent logged-in sessions of all accounts of one tenant together.\n\
         tenant_connections = {}\n\
         # Commands per minute of one account after login; past it: NO [LIMIT], -ERR, 451 4.7.1.\n\
         account_commands_per_minute = {}\n\
         # Commands per minute of all accounts of one tenant together.\n\
         tenant_commands_per_minute = {}\n\
         # Milliseconds a command over its per-minute budget waits before it is refused.\n\
         command_refusal_delay_ms = {}\n\
         # Messages per hour one tenant receives over SMTP and LMTP; 451 4.7.1 past it.\n\
         tenant_inbound_messages_per_hour = {}\n\
         # Messages per hour one client IP may send to the MX port; 451 4.7.1 past it.\n\
         ip_inbound_messages_per_hour = {}\n\
         # Milliseconds before answering the first failed login; doubles with each failure.\n\
         login_failure_delay_ms = {}\n\
         # Longest delay before answering a failed login, in milliseconds.\n\
         login_failure_delay_max_ms = {}\n\
         # Failed logins from one IP within the window that lock the IP out.\n\
         ip_login_failures = {}\n\
         # Failed logins to one account from one IP that lock that pair out (never the account).\n\
         account_ip_login_failures = {}\n\
         # Seconds over which failed logins are counted.\n\
         login_failure_window_secs = {}\n\
         # Seconds a lockout lasts.\n\
         login_lockout_secs = {}\n\
         # Most IPs, accounts and pairs the login guard remembers (oldest forgotten first).\n\
         login_tracking_entries = {}\n\
         # IPs or networks (\"10.0.0.0/8\") free of per-IP limits and lockouts: a webmail or\n\
         # proxy in front that logs in for many users. Their failed logins are still slowed.\n\
         exempt_ips = {}\n",
        c.connections_per_ip,
        c.account_connections,
        c.tenant_connections,
        c.account_commands_per_minute,
        c.tenant_commands_per_minute,
        c.command_refusal_delay_ms,
        c.tenant_inbound_messages_per_hour,
        c.ip_inbound_messages_per_hour,
        c.login_failure_delay_ms,
        c.login_failure_delay_max_ms,
        c.ip_login_failures,
        c.account_ip_login_failures,
        c.login_failure_window_secs,
        c.login_lockout_secs,
        c.login_tracking_entries,
        list(&c.exempt_ips),
    )
}

fn system_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_toml_parses_to_the_defaults() {
        let parsed = Config::parse(&Config::default_toml()).expect("default config parses");
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn every_key_in_the_default_has_a_comment() {
        let text = Config::default_toml();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if line.contains(" = ") && !line.starts_with('#') {
                assert!(
                    lines[i - 1].starts_with('#'),
                    "key without a comment: {line}"
                );
            }
        }
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        assert!(Config::parse("[smtp]\nlisten_on = []\n").is_err());
        assert!(Config::parse("[smtp]\nlisten = [\"nowhere\"]\n").is_err());
        assert!(Config::parse("[smtp]\nmax_line_length = 10\n").is_err());
        assert!(Config::parse("[tls]\ncert = \"/x.pem\"\n").is_err());
        assert!(Config::parse("[pop3]\nexpire = \"30\"\n").is_err());
        assert!(Config::parse("[pop3]\nidle_timeout_secs = 60\n").is_err());
        assert!(Config::parse("[pop3]\nlisten = [\"110\"]\n").is_err());
        assert!(Config::parse("[limits]\nexempt_ips = [\"10.0.0.0/40\"]\n").is_err());
        assert!(Config::parse("[limits]\nlogin_lockout_secs = 0\n").is_err());
        assert!(Config::parse("[limits]\nexempt_ips = [\"10.0.0.0/8\"]\n").is_ok());
    }
}
