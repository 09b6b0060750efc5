//! DKIM private keys: generating them, the files they live in, and the DNS records that publish
//! their public halves.
//!
//! One file per domain and selector, `DATA/dkim/SELECTOR._domainkey.DOMAIN.pem`: a PKCS#8
//! "PRIVATE KEY" PEM, mode 0600, written to a temporary file and linked into place so that a
//! reader (the running server, while the admin CLI writes) never sees half a key. The name is
//! the DNS name of the key record plus `.pem`, so the directory listing is the list of records
//! to publish. Domains are stored as A-labels (RFC 5890), the form `d=` and DNS use.

use std::fmt::Write as _;
use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use mail_auth::common::crypto::{Ed25519Key, RsaKey, Sha256};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// The size of generated RSA keys: RFC 8301 §3.2 requires at least 1024 bits and recommends
/// 2048, the size every verifier accepts and a single TXT record still holds.
pub const RSA_BITS: usize = 2048;

/// Between the selector and the domain in a key record's name (RFC 6376 §3.6.2.1).
const DOMAINKEY: &str = "._domainkey.";

/// A DKIM signing algorithm, by the key type it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyAlgorithm {
    /// rsa-sha256 (RFC 6376, RFC 8301).
    Rsa,
    /// ed25519-sha256 (RFC 8463).
    Ed25519,
}

impl KeyAlgorithm {
    /// The `k=` tag value of the key record.
    pub fn tag(self) -> &'static str {
        match self {
            Self::Rsa => "rsa",
            Self::Ed25519 => "ed25519",
        }
    }

    /// The selector `dkim generate` uses when none is given: one per algorithm, so the dual
    /// signing RFC 8463 §1 suggests needs no choice.
    pub fn default_selector(self) -> &'static str {
        match self {
            Self::Rsa => "yubin-rsa",
            Self::Ed25519 => "yubin-ed25519",
        }
    }
}

impl FromStr for KeyAlgorithm {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "rsa" => Ok(Self::Rsa),
            "ed25519" => Ok(Self::Ed25519),
            _ => Err(format!(
                "unknown DKIM algorithm {s:?} (expected rsa or ed25519)"
            )),
        }
    }
}

/// A private key for one domain and selector.
pub struct DkimKey {
    domain: String,
    selector: String,
    algorithm: KeyAlgorithm,
    /// PKCS#8 DER.
    pkcs8: Vec<u8>,
}

impl std::fmt::Debug for DkimKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private key itself stays out of logs.
        f.debug_struct("DkimKey")
            .field("domain", &self.domain)
            .field("selector", &self.selector)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl DkimKey {
    /// A new random key. `domain` is lowercased and turned into an A-label; the selector must
    /// be one DNS label of letters, digits and hyphens.
    pub fn generate(domain: &str, selector: &str, algorithm: KeyAlgorithm) -> Result<Self, String> {
        let domain = domain_name(domain)?;
        let selector = selector_name(selector)?;
        let pkcs8 = match algorithm {
            KeyAlgorithm::Ed25519 => Ed25519Key::generate_pkcs8()
                .map_err(|e| format!("generating an Ed25519 key: {e}"))?,
            KeyAlgorithm::Rsa => {
                let key = rsa::PrivateKey::new(&mut OsRandom, RSA_BITS)
                    .map_err(|e| format!("generating an RSA key: {e}"))?;
                key.to_pkcs8_der()
                    .map_err(|e| format!("encoding the RSA key: {e}"))?
                    .as_bytes()
                    .to_vec()
            }
        };
        Ok(Self {
            domain,
            selector,
            algorithm,
            pkcs8,
        })
    }

    /// A key read from a PEM file; the algorithm is the one the key holds.
    pub fn from_pem(domain: &str, selector: &str, pem: &[u8]) -> Result<Self, String> {
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem)
            .map_err(|e| format!("not a PKCS#8 PEM private key: {e}"))?;
        let pkcs8 = der.secret_pkcs8_der().to_vec();
        let algorithm = if Ed25519Key::from_pkcs8_maybe_unchecked_der(&pkcs8).is_ok() {
            KeyAlgorithm::Ed25519
        } else if rsa::PrivateKey::from_pkcs8_der(&pkcs8).is_ok() {
            KeyAlgorithm::Rsa
        } else {
            return Err("neither an Ed25519 nor an RSA private key".into());
        };
        Ok(Self {
            domain: domain_name(domain)?,
            selector: selector_name(selector)?,
            algorithm,
            pkcs8,
        })
    }

    /// The signing domain (`d=`), an A-label.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The selector (`s=`).
    pub fn selector(&self) -> &str {
        &self.selector
    }

    /// The algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The key as a PKCS#8 PEM document.
    pub fn to_pem(&self) -> String {
        let body = BASE64.encode(&self.pkcs8);
        let mut pem = String::with_capacity(body.len() + body.len() / 64 + 64);
        pem.push_str("-----BEGIN PRIVATE KEY-----\n");
        // RFC 7468 §2: lines of exactly 64 characters but the last.
        for line in body.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END PRIVATE KEY-----\n");
        pem
    }

    /// The public key as the `p=` tag carries it: for RSA a DER SubjectPublicKeyInfo (what
    /// RFC 6376 §3.6.1 and every published key use), for Ed25519 the raw 32 bytes (RFC 8463
    /// §4.2).
    pub fn public_key(&self) -> Result<Vec<u8>, String> {
        match self.algorithm {
            KeyAlgorithm::Ed25519 => Ok(Ed25519Key::from_pkcs8_maybe_unchecked_der(&self.pkcs8)
                .map_err(|e| format!("reading the Ed25519 key: {e}"))?
                .public_key()),
            KeyAlgorithm::Rsa => Ok(rsa::PrivateKey::from_pkcs8_der(&self.pkcs8)
                .map_err(|e| format!("reading the RSA key: {e}"))?
                .to_public_key()
                .to_public_key_der()
                .map_err(|e| format!("encoding the RSA public key: {e}"))?
                .as_bytes()
                .to_vec()),
        }
    }

    /// The DNS name of the key record, `SELECTOR._domainkey.DOMAIN`, without the final dot.
    pub fn record_name(&self) -> String {
        format!("{}{DOMAINKEY}{}", self.selector, self.domain)
    }

    /// The TXT record value, `v=DKIM1; k=...; p=...`.
    pub fn record_value(&self) -> Result<String, String> {
        Ok(format!(
            "v=DKIM1; k={}; p={}",
            self.algorithm.tag(),
            BASE64.encode(self.public_key()?)
        ))
    }

    /// The record in zone-file form, one line ending in a newline.
    pub fn zone_line(&self) -> Result<String, String> {
        Ok(zone_txt_line(&self.record_name(), &self.record_value()?))
    }

    /// A key mail-auth signs rsa-sha256 with.
    pub(crate) fn rsa_signing_key(&self) -> Result<RsaKey<Sha256>, String> {
        RsaKey::<Sha256>::from_key_der(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            self.pkcs8.as_slice(),
        )))
        .map_err(|e| format!("loading the RSA key: {e}"))
    }

    /// A key mail-auth signs ed25519-sha256 with.
    pub(crate) fn ed25519_signing_key(&self) -> Result<Ed25519Key, String> {
        Ed25519Key::from_pkcs8_maybe_unchecked_der(&self.pkcs8)
            .map_err(|e| format!("loading the Ed25519 key: {e}"))
    }
}

/// A TXT record as a zone-file line, `NAME. IN TXT "..." "..."`: the value is cut into
/// character-strings of at most 255 octets (RFC 1035 §3.3.14), which verifiers join without
/// separators (RFC 6376 §3.6.2.2). The value holds no `"` or `\`, so nothing needs escaping.
pub fn zone_txt_line(name: &str, value: &str) -> String {
    let mut line = format!("{}. IN TXT", name.trim_end_matches('.'));
    for chunk in value.as_bytes().chunks(255) {
        let _ = write!(line, " \"{}\"", String::from_utf8_lossy(chunk));
    }
    line.push('\n');
    line
}

/// The directory of key files, DATA/dkim.
#[derive(Debug, Clone)]
pub struct KeyDir {
    dir: PathBuf,
}

impl KeyDir {
    /// The key directory of a data directory (nothing is created yet).
    pub fn new(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join("dkim"),
        }
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Every readable key, sorted by domain, then selector. A directory that does not exist
    /// holds no keys; files that are not named like keys are ignored, and so (with a warning)
    /// is a key file that cannot be read, so one bad file does not stop signing for the rest.
    pub fn list(&self) -> Result<Vec<DkimKey>, String> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(format!("reading {}: {e}", self.dir.display())),
        };
        let mut keys = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| format!("reading {}: {e}", self.dir.display()))?;
            let name = entry.file_name();
            let Some((selector, domain)) = name.to_str().and_then(parse_file_name) else {
                continue;
            };
            let path = entry.path();
            match fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|pem| DkimKey::from_pem(domain, selector, &pem))
            {
                Ok(key) => keys.push(key),
                Err(e) => tracing::warn!(path = %path.display(), "skipping DKIM key: {e}"),
            }
        }
        keys.sort_by(|a, b| (&a.domain, &a.selector).cmp(&(&b.domain, &b.selector)));
        Ok(keys)
    }

    /// The keys of one domain, sorted by selector.
    pub fn for_domain(&self, domain: &str) -> Result<Vec<DkimKey>, String> {
        let domain = domain_name(domain)?;
        Ok(self
            .list()?
            .into_iter()
            .filter(|k| k.domain == domain)
            .collect())
    }

    /// Writes a new key file (mode 0600) and returns its path; refuses to replace an existing
    /// key, whose record may be published.
    pub fn save(&self, key: &DkimKey) -> Result<PathBuf, String> {
        let fail = |what: &str, e: std::io::Error| format!("{what}: {e}");
        fs::create_dir_all(&self.dir)
            .map_err(|e| fail(&format!("creating {}", self.dir.display()), e))?;
        fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| fail(&format!("restricting {}", self.dir.display()), e))?;
        let path = self.file(&key.domain, &key.selector);
        if path.exists() {
            return Err(format!(
                "a key for selector {} of {} exists already ({}); choose another selector",
                key.selector,
                key.domain,
                path.display()
            ));
        }
        let temp = self
            .dir
            .join(format!(".{}.{}.tmp", key.record_name(), std::process::id()));
        let written = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&temp)?;
            file.write_all(key.to_pem().as_bytes())?;
            file.sync_all()?;
            // A link fails if the name exists: a key written meanwhile by another process is
            // not replaced.
            fs::hard_link(&temp, &path)
        })();
        let _ = fs::remove_file(&temp);
        written.map_err(|e| fail(&format!("writing {}", path.display()), e))?;
        sync_dir(&self.dir);
        Ok(path)
    }

    /// Removes the key of `domain` and `selector`.
    pub fn remove(&self, domain: &str, selector: &str) -> Result<(), String> {
        let path = self.file(&domain_name(domain)?, &selector_name(selector)?);
        match fs::remove_file(&path) {
            Ok(()) => {
                sync_dir(&self.dir);
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(format!("no DKIM key with selector {selector} for {domain}"))
            }
            Err(e) => Err(format!("removing {}: {e}", path.display())),
        }
    }

    /// The file `key` is (or would be) stored in.
    pub fn key_file(&self, key: &DkimKey) -> PathBuf {
        self.file(&key.domain, &key.selector)
    }

    fn file(&self, domain: &str, selector: &str) -> PathBuf {
        self.dir.join(format!("{selector}{DOMAINKEY}{domain}.pem"))
    }
}

/// `SELECTOR._domainkey.DOMAIN.pem` -> (selector, domain).
fn parse_file_name(name: &str) -> Option<(&str, &str)> {
    let (selector, domain) = name.strip_suffix(".pem")?.split_once(DOMAINKEY)?;
    (!selector.is_empty() && !selector.starts_with('.') && !domain.is_empty())
        .then_some((selector, domain))
}

/// Durability of a rename or unlink needs the directory synced; failing to is not an error
/// for the caller (the file itself is synced).
fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// A domain as `d=` and DNS use it: lowercase A-label without the final dot, made of LDH labels
/// (which also keeps it a safe file name).
pub(crate) fn domain_name(domain: &str) -> Result<String, String> {
    let lower = domain.trim_end_matches('.').to_lowercase();
    let ascii = mail_auth::common::to_a_label(&lower).into_owned();
    let valid = !ascii.is_empty()
        && ascii.len() <= 253
        && ascii.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    if valid {
        Ok(ascii)
    } else {
        Err(format!("'{domain}' is not a valid domain name"))
    }
}

/// A selector: one DNS label of letters, digits and hyphens, lowercased. (RFC 6376 allows
/// dotted selectors; one label keeps the file name unambiguous.)
fn selector_name(selector: &str) -> Result<String, String> {
    let lower = selector.to_ascii_lowercase();
    let valid = !lower.is_empty()
        && lower.len() <= 63
        && !lower.starts_with('-')
        && !lower.ends_with('-')
        && lower
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(lower)
    } else {
        Err(format!(
            "'{selector}' is not a valid selector (one label of letters, digits and hyphens)"
        ))
    }
}

/// The operating system's random source for RSA key generation (rsa's own needs getrandom 0.4;
/// the workspace already has 0.3).
struct OsRandom;

impl rsa::rand_core::TryRng for OsRandom {
    type Error = std::io::Error;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        getrandom::u32().map_err(random_error)
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        getrandom::u64().map_err(random_error)
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        getrandom::fill(dst).map_err(random_error)
    }
}

impl rsa::rand_core::TryCryptoRng for OsRandom {}

/// getrandom 0.3's error is a `std::error::Error` only with its `std` feature.
fn random_error(e: getrandom::Error) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txt_line_splits_long_values_into_255_octet_strings() {
        let value = format!("v=DKIM1; k=rsa; p={}", "A".repeat(600));
        let line = zone_txt_line("s._domainkey.example.com", &value);
        assert!(line.starts_with("s._domainkey.example.com. IN TXT \""));
        assert!(line.ends_with("\"\n"));
        // The quoted strings are the odd pieces between quotes.
        let strings: Vec<&str> = line.split('"').skip(1).step_by(2).collect();
        assert_eq!(
            strings.iter().map(|s| s.len()).collect::<Vec<_>>(),
            [255, 255, value.len() - 510]
        );
        assert_eq!(strings.concat(), value);
        let short = zone_txt_line("s._domainkey.example.com.", "v=DKIM1; k=ed25519; p=AAAA");
        assert_eq!(
            short,
            "s._domainkey.example.com. IN TXT \"v=DKIM1; k=ed25519; p=AAAA\"\n"
        );
    }

    #[test]
    fn ed25519_key_round_trips_through_its_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let keys = KeyDir::new(dir.path());
        assert!(keys.list().expect("no dir yet").is_empty());
        let key = DkimKey::generate("Example.COM.", "Sel1", KeyAlgorithm::Ed25519).expect("key");
        assert_eq!((key.domain(), key.selector()), ("example.com", "sel1"));
        let path = keys.save(&key).expect("saved");
        assert_eq!(
            path,
            dir.path().join("dkim/sel1._domainkey.example.com.pem")
        );
        let mode = fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let loaded = keys.for_domain("example.com").expect("list");
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].algorithm(), KeyAlgorithm::Ed25519);
        assert_eq!(loaded[0].public_key(), key.public_key());
        assert_eq!(key.public_key().expect("public").len(), 32);
        let refused = keys.save(&key).expect_err("exists");
        assert!(refused.contains("exists already"), "{refused}");
        keys.remove("example.com", "sel1").expect("removed");
        assert!(keys.list().expect("list").is_empty());
        assert!(keys.remove("example.com", "sel1").is_err());
    }

    #[test]
    fn rsa_key_is_2048_bits_and_publishes_its_spki() {
        let key = DkimKey::generate("example.org", "r", KeyAlgorithm::Rsa).expect("key");
        let pem = key.to_pem();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(pem.lines().all(|l| l.len() <= 64));
        let again = DkimKey::from_pem("example.org", "r", pem.as_bytes()).expect("parsed");
        assert_eq!(again.algorithm(), KeyAlgorithm::Rsa);
        let spki = again.public_key().expect("public");
        // SEQUENCE { rsaEncryption, BIT STRING { RSAPublicKey } } of a 2048-bit modulus.
        assert_eq!(spki.len(), 294);
        assert!(again.rsa_signing_key().is_ok());
        let value = again.record_value().expect("record");
        assert!(
            value.starts_with("v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA")
        );
    }

    #[test]
    fn names_are_checked_before_they_become_file_names() {
        for bad in ["../x", "a/b", "", "-x", "x_y", "a.b"] {
            assert!(selector_name(bad).is_err(), "{bad}");
        }
        for bad in ["..", "a/b.com", "", "a..b", "_x.com"] {
            assert!(domain_name(bad).is_err(), "{bad}");
        }
        assert_eq!(
            domain_name("Bücher.Example").expect("idn"),
            "xn--bcher-kva.example"
        );
        assert_eq!(
            parse_file_name("s._domainkey.example.com.pem"),
            Some(("s", "example.com"))
        );
        assert_eq!(parse_file_name(".s._domainkey.example.com.1.tmp"), None);
        assert_eq!(parse_file_name("README"), None);
    }
}
