//! Signing and verification together: messages signed with generated keys are checked by
//! mail-auth's verifiers, with the DNS answers they need placed in mail-auth's TXT cache (so no
//! network is used) and every other name going to a resolver that cannot be reached.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::verify::DomainKey;
use mail_auth::dmarc::Dmarc;
use mail_auth::hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use mail_auth::hickory_resolver::proto::op::ResponseCode;
use mail_auth::spf::Spf;
use mail_auth::{DnsError, MessageAuthenticator, ResolverCache, Txt};

use super::*;

/// mail-auth's TXT cache: looked up before DNS, so what is put here is what the verifiers see.
#[derive(Default)]
struct TxtCache(Mutex<HashMap<Box<str>, Txt>>);

impl ResolverCache<Box<str>, Txt> for TxtCache {
    fn get<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.lock().expect("not poisoned").get(name).cloned()
    }

    fn remove<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.lock().expect("not poisoned").remove(name)
    }

    fn insert(&self, key: Box<str>, value: Txt, _: Instant) {
        self.0.lock().expect("not poisoned").insert(key, value);
    }
}

impl TxtCache {
    fn publish<T: TxtRecordParser + Into<Txt>>(&self, name: &str, record: &str) {
        let parsed = T::parse(record.as_bytes()).expect("valid record");
        self.insert(format!("{name}.").into(), parsed.into(), Instant::now());
    }

    fn nxdomain(&self, name: &str) {
        self.insert(
            format!("{name}.").into(),
            Txt::Error(mail_auth::Error::Dns(DnsError::RecordNotFound(
                ResponseCode::NXDomain,
            ))),
            Instant::now(),
        );
    }
}

/// A resolver whose only nameserver is a closed local port: every uncached lookup fails at
/// once, as a temporary error.
fn unreachable_resolver() -> MessageAuthenticator {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a: SocketAddr| a.port())
        .expect("a free port");
    let mut server = NameServerConfig::udp_and_tcp(IpAddr::V4(Ipv4Addr::LOCALHOST));
    for connection in &mut server.connections {
        connection.port = port;
    }
    let mut options = ResolverOpts::default();
    options.timeout = Duration::from_millis(300);
    options.attempts = 1;
    MessageAuthenticator::new(ResolverConfig::from_name_servers(vec![server]), options)
        .expect("resolver")
}

const SENDER_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));

fn message() -> Vec<u8> {
    concat!(
        "From: Alice <alice@example.com>\r\n",
        "To: bob@example.net\r\n",
        "Subject: Quarterly report\r\n",
        "Date: Mon, 6 Jul 2026 10:00:00 +0000\r\n",
        "Message-ID: <report-1@example.com>\r\n",
        "MIME-Version: 1.0\r\n",
        "Content-Type: text/plain; charset=utf-8\r\n",
        "\r\n",
        "The numbers are up.\r\n",
    )
    .as_bytes()
    .to_vec()
}

/// DATA/dkim with an RSA and an Ed25519 key for example.com, and their records published in
/// `cache` together with SPF for 192.0.2.10 and a DMARC reject policy.
fn signed_setup(cache: &TxtCache) -> (tempfile::TempDir, DkimSigner) {
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = KeyDir::new(dir.path());
    for algorithm in [KeyAlgorithm::Rsa, KeyAlgorithm::Ed25519] {
        let key =
            DkimKey::generate("example.com", algorithm.default_selector(), algorithm).expect("key");
        keys.save(&key).expect("saved");
        cache.publish::<DomainKey>(&key.record_name(), &key.record_value().expect("record"));
    }
    cache.publish::<Spf>("example.com", "v=spf1 ip4:192.0.2.10 -all");
    cache.publish::<Spf>("mail.example.com", "v=spf1 ip4:192.0.2.10 -all");
    cache.publish::<Dmarc>("_dmarc.example.com", "v=DMARC1; p=reject");
    cache.nxdomain("_dmarc.com");
    let signer = DkimSigner::new(dir.path());
    (dir, signer)
}

fn input<'a>(ip: IpAddr, message: &'a [u8]) -> InboundInput<'a> {
    InboundInput {
        peer_ip: ip,
        helo: "mail.example.com",
        mail_from: "alice@example.com",
        hostname: "mx.yubin.test",
        message,
    }
}

#[tokio::test]
async fn signed_message_passes_dkim_spf_and_dmarc() {
    let cache = TxtCache::default();
    let (_dir, signer) = signed_setup(&cache);
    let original = message();
    let signature = signer.sign("Example.com", &original);
    let text = String::from_utf8(signature.clone()).expect("ascii");
    assert_eq!(text.matches("DKIM-Signature:").count(), 2, "{text}");
    assert!(text.contains("a=rsa-sha256") && text.contains("a=ed25519-sha256"));
    assert!(text.contains("c=relaxed/relaxed") && text.contains("t="));
    assert!(text.ends_with("\r\n"));
    let signed = [signature, original].concat();

    let auth = unreachable_resolver();
    let verdict = check_inbound_cached(&auth, input(SENDER_IP, &signed), Some(&cache)).await;
    assert_eq!(verdict.spf.helo, AuthResult::Pass);
    assert_eq!(verdict.spf.mail_from, AuthResult::Pass);
    assert_eq!(verdict.spf.domain, "example.com");
    let mut selectors: Vec<(AuthResult, &str, &str)> = verdict
        .dkim
        .iter()
        .map(|d| (d.result, d.domain.as_str(), d.selector.as_str()))
        .collect();
    selectors.sort_by_key(|s| s.2);
    assert_eq!(
        selectors,
        [
            (AuthResult::Pass, "example.com", "yubin-ed25519"),
            (AuthResult::Pass, "example.com", "yubin-rsa"),
        ]
    );
    assert_eq!(verdict.arc, AuthResult::None);
    assert_eq!(
        verdict.dmarc,
        DmarcOutcome {
            result: AuthResult::Pass,
            policy: DmarcPolicy::Reject,
            from_domain: "example.com".into(),
        }
    );
    assert!(!verdict.should_reject());
    let header = &verdict.header;
    assert!(
        header.starts_with("Authentication-Results: mx.yubin.test;\r\n\t"),
        "{header}"
    );
    assert!(header.ends_with("\r\n") && !header.ends_with("\r\n\r\n"));
    for part in [
        "spf=pass",
        "smtp.helo=mail.example.com",
        "smtp.mailfrom=",
        "dkim=pass header.d=example.com header.s=yubin-rsa",
        "dkim=pass header.d=example.com header.s=yubin-ed25519",
        "arc=none",
        "dmarc=pass header.from=example.com policy.dmarc=reject",
    ] {
        assert!(header.contains(part), "{part} missing in {header}");
    }
}

#[tokio::test]
async fn altered_message_from_an_unlisted_host_fails_dmarc_and_is_rejected() {
    let cache = TxtCache::default();
    let (_dir, signer) = signed_setup(&cache);
    let original = message();
    let signature = signer.sign("example.com", &original);
    let signed = String::from_utf8([signature, original].concat()).expect("ascii");
    let altered = signed.replace("Subject: Quarterly report", "Subject: Quarterly rep0rt");
    let altered = altered.as_bytes();

    let auth = unreachable_resolver();
    let stranger = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));
    let verdict = check_inbound_cached(&auth, input(stranger, altered), Some(&cache)).await;
    assert_eq!(verdict.spf.mail_from, AuthResult::Fail);
    assert_eq!(verdict.dkim.len(), 2);
    assert!(
        verdict.dkim.iter().all(|d| d.result == AuthResult::Fail),
        "{:?}",
        verdict.dkim
    );
    assert_eq!(verdict.dmarc.result, AuthResult::Fail);
    assert_eq!(verdict.dmarc.policy, DmarcPolicy::Reject);
    assert!(verdict.should_reject());
    assert!(verdict.header.contains("dmarc=fail"), "{}", verdict.header);
    assert!(verdict.header.contains("spf=fail"), "{}", verdict.header);
}

#[tokio::test]
async fn dns_failures_are_temporary_errors_and_never_reject() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = DkimKey::generate("example.com", "s1", KeyAlgorithm::Ed25519).expect("key");
    KeyDir::new(dir.path()).save(&key).expect("saved");
    let original = message();
    let signed = [
        DkimSigner::new(dir.path()).sign("example.com", &original),
        original,
    ]
    .concat();

    let auth = unreachable_resolver();
    let verdict = check_inbound(&auth, input(SENDER_IP, &signed)).await;
    assert_eq!(verdict.spf.helo, AuthResult::TempError);
    assert_eq!(verdict.spf.mail_from, AuthResult::TempError);
    assert_eq!(verdict.dkim.len(), 1);
    assert_eq!(verdict.dkim[0].result, AuthResult::TempError);
    assert_eq!(verdict.dmarc.result, AuthResult::TempError);
    assert!(!verdict.should_reject());
    assert!(
        verdict.header.contains("spf=temperror"),
        "{}",
        verdict.header
    );
    assert!(
        verdict.header.contains("dkim=temperror"),
        "{}",
        verdict.header
    );
    assert!(
        verdict.header.contains("dmarc=temperror"),
        "{}",
        verdict.header
    );
}

#[tokio::test]
async fn unparsable_message_and_null_sender_give_none_results() {
    let cache = TxtCache::default();
    cache.publish::<Spf>("mail.example.com", "v=spf1 ip4:192.0.2.10 -all");
    let auth = unreachable_resolver();
    for message in [&b""[..], b"no header here, just text", b"\r\n\r\nbody only"] {
        let verdict = check_inbound_cached(
            &auth,
            InboundInput {
                mail_from: "",
                ..input(SENDER_IP, message)
            },
            Some(&cache),
        )
        .await;
        // The null reverse-path is checked as postmaster@HELO.
        assert_eq!(verdict.spf.helo, AuthResult::Pass);
        assert_eq!(verdict.spf.mail_from, AuthResult::Pass);
        assert!(verdict.dkim.is_empty());
        assert_eq!(verdict.dmarc.result, AuthResult::None);
        assert!(!verdict.should_reject() && !verdict.should_quarantine());
        for part in ["smtp.mailfrom=<>", "dkim=none", "arc=none", "dmarc=none"] {
            assert!(verdict.header.contains(part), "{part}: {}", verdict.header);
        }
    }
}

#[test]
fn signer_sees_keys_added_and_removed_by_another_writer() {
    let dir = tempfile::tempdir().expect("temp dir");
    let signer = DkimSigner::new(dir.path());
    let message = message();
    assert!(signer.sign("example.com", &message).is_empty());
    assert!(signer.domains().is_empty());

    // As `yubin admin dkim` in another process would.
    let keys = KeyDir::new(dir.path());
    let key = DkimKey::generate("example.com", "later", KeyAlgorithm::Ed25519).expect("key");
    keys.save(&key).expect("saved");
    let header = String::from_utf8(signer.sign("example.com", &message)).expect("ascii");
    assert!(header.starts_with("DKIM-Signature:"), "{header}");
    assert!(header.contains("s=later"), "{header}");
    assert!(signer.sign("example.org", &message).is_empty());
    assert_eq!(signer.domains(), ["example.com"]);

    keys.remove("example.com", "later").expect("removed");
    assert!(signer.sign("example.com", &message).is_empty());
}
