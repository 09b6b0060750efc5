//! DKIM signing of outgoing mail (RFC 6376 §5) with the keys in DATA/dkim.
//!
//! Every key of the signing domain signs, so a domain with an RSA and an Ed25519 key sends both
//! signatures (RFC 8463 §1: verifiers that do not know Ed25519 ignore that one), and during a
//! key rollover the old and the new key sign until the old one is removed.
//!
//! The key directory is re-read when its modification time changes (a key added or removed by
//! `yubin admin dkim`, in this process or another, renames or unlinks a file in it), checked on
//! every call with one `stat`; a key is live for the next message after the command returns.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use mail_auth::common::crypto::{Ed25519Key, RsaKey, Sha256};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::{Canonicalization, Done};

use super::keys::{DkimKey, KeyAlgorithm, KeyDir, domain_name};

/// The header fields signed when present, in this order (RFC 6376 §5.4.1's list of those to
/// sign, less the trace and resent fields that change in transit).
pub const SIGNED_HEADERS: [&str; 12] = [
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "Reply-To",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
];

/// Signs outgoing messages; cheap to clone (one shared key cache).
#[derive(Clone)]
pub struct DkimSigner {
    keys: KeyDir,
    cache: Arc<Mutex<Cache>>,
}

/// The keys as last read, and the directory's state when read.
#[derive(Default)]
struct Cache {
    /// `None`: the directory did not exist (or could not be read).
    seen: Option<SystemTime>,
    loaded: bool,
    by_domain: HashMap<String, Vec<Arc<Signer>>>,
}

/// A key ready to sign with: mail-auth's signer with d=, s=, the headers and relaxed/relaxed.
enum Signer {
    Rsa(mail_auth::dkim::DkimSigner<RsaKey<Sha256>, Done>),
    Ed25519(mail_auth::dkim::DkimSigner<Ed25519Key, Done>),
}

impl DkimSigner {
    /// A signer over DATA/dkim. Reads nothing yet; a missing directory means no keys.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            keys: KeyDir::new(data_dir),
            cache: Arc::new(Mutex::new(Cache::default())),
        }
    }

    /// The DKIM-Signature header fields to prepend to `message` for `domain`, one per key of
    /// the domain, each ending in CRLF; empty when the domain has no key (or the message has
    /// none of the signed header fields). `message` is the whole message with CRLF line ends,
    /// as it will be sent. Does a `stat` and, after a change, reads the key files: call it
    /// from a blocking-tolerant place (it is milliseconds, RSA signing included).
    pub fn sign(&self, domain: &str, message: &[u8]) -> Vec<u8> {
        let Ok(domain) = domain_name(domain) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for signer in self.signers(&domain) {
            let signed = match &*signer {
                Signer::Rsa(s) => s.sign(message),
                Signer::Ed25519(s) => s.sign(message),
            };
            match signed {
                Ok(signature) => out.extend_from_slice(signature.to_header().as_bytes()),
                // No signed header present (mail-auth's NoHeadersFound) or a key ring refuses:
                // the message goes out unsigned rather than not at all.
                Err(e) => tracing::warn!(%domain, "DKIM signing failed: {e}"),
            }
        }
        out
    }

    /// The domains that have at least one usable key, sorted.
    pub fn domains(&self) -> Vec<String> {
        self.refresh();
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let mut domains: Vec<String> = cache.by_domain.keys().cloned().collect();
        domains.sort();
        domains
    }

    fn signers(&self, domain: &str) -> Vec<Arc<Signer>> {
        self.refresh();
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.by_domain.get(domain).cloned().unwrap_or_default()
    }

    /// Re-reads the directory if its modification time is not the one last read.
    fn refresh(&self) {
        let now = std::fs::metadata(self.keys.path())
            .and_then(|m| m.modified())
            .ok();
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.loaded && cache.seen == now && !changed_lately(now) {
            return;
        }
        let mut by_domain: HashMap<String, Vec<Arc<Signer>>> = HashMap::new();
        match self.keys.list() {
            Ok(keys) => {
                for key in keys {
                    match Signer::new(&key) {
                        Ok(signer) => by_domain
                            .entry(key.domain().to_string())
                            .or_default()
                            .push(Arc::new(signer)),
                        Err(e) => tracing::warn!(
                            domain = key.domain(),
                            selector = key.selector(),
                            "unusable DKIM key: {e}"
                        ),
                    }
                }
            }
            Err(e) => tracing::warn!("reading the DKIM keys: {e}"),
        }
        *cache = Cache {
            seen: now,
            loaded: true,
            by_domain,
        };
    }
}

/// Whether the directory changed so recently that a second change could still share its
/// timestamp (timestamps advance in clock ticks): then an equal time proves nothing.
fn changed_lately(modified: Option<SystemTime>) -> bool {
    let Some(modified) = modified else {
        return false;
    };
    // A time ahead of the clock (stepped back) counts as recent.
    SystemTime::now()
        .duration_since(modified)
        .map_or(true, |age| age < std::time::Duration::from_secs(2))
}

impl Signer {
    fn new(key: &DkimKey) -> Result<Self, String> {
        Ok(match key.algorithm() {
            KeyAlgorithm::Rsa => Self::Rsa(
                mail_auth::dkim::DkimSigner::from_key(key.rsa_signing_key()?)
                    .domain(key.domain())
                    .selector(key.selector())
                    .headers(SIGNED_HEADERS)
                    .header_canonicalization(Canonicalization::Relaxed)
                    .body_canonicalization(Canonicalization::Relaxed),
            ),
            KeyAlgorithm::Ed25519 => Self::Ed25519(
                mail_auth::dkim::DkimSigner::from_key(key.ed25519_signing_key()?)
                    .domain(key.domain())
                    .selector(key.selector())
                    .headers(SIGNED_HEADERS)
                    .header_canonicalization(Canonicalization::Relaxed)
                    .body_canonicalization(Canonicalization::Relaxed),
            ),
        })
    }
}
