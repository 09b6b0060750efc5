//! `yubin admin dkim`: DKIM keys of hosted domains.
//!
//! Keys are files in DATA/dkim (see `yubin_server::mailauth::keys`), which the running server
//! re-reads when they change, so a key generated here signs the next message. The output of
//! `generate` and `show` is a zone-file fragment: `;` comments and the TXT records to publish.

use std::fmt::Write as _;
use std::path::Path;

use clap::{Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};
use yubin_server::mailauth::{DkimKey, KeyAlgorithm, KeyDir};
use yubin_store::MailStore;

/// `yubin admin dkim ...`
#[derive(Debug, Clone, Subcommand, Serialize, Deserialize)]
pub enum DkimCommand {
    /// Create signing keys for a hosted domain and print the DNS records to publish.
    ///
    /// Without --algorithm: an RSA-2048 key (selector yubin-rsa) and an Ed25519 key (selector
    /// yubin-ed25519); mail is then signed with both (RFC 8463). Mail is signed with every key
    /// of its domain from the next message on: publish the records first.
    Generate {
        /// Domain name (must be hosted here).
        domain: String,
        /// Only this algorithm.
        #[arg(long, value_enum)]
        algorithm: Option<Algorithm>,
        /// Selector (one DNS label); default yubin-rsa or yubin-ed25519. Needs --algorithm.
        #[arg(long, requires = "algorithm")]
        selector: Option<String>,
    },
    /// List every key: domain, selector, algorithm.
    List,
    /// Print the DNS records of a domain's keys again.
    Show {
        /// Domain name.
        domain: String,
    },
    /// Remove a key: mail is no longer signed with it.
    ///
    /// Keep its DNS record a few days longer, until mail signed with it has been delivered.
    Remove {
        /// Domain name.
        domain: String,
        /// Selector.
        selector: String,
    },
}

/// A DKIM key algorithm on the command line.
#[derive(Debug, Clone, Copy, ValueEnum, Serialize, Deserialize)]
pub enum Algorithm {
    /// RSA-2048, rsa-sha256: what every verifier accepts.
    Rsa,
    /// Ed25519, ed25519-sha256 (RFC 8463): short keys, not yet verified everywhere.
    Ed25519,
}

impl From<Algorithm> for KeyAlgorithm {
    fn from(a: Algorithm) -> Self {
        match a {
            Algorithm::Rsa => Self::Rsa,
            Algorithm::Ed25519 => Self::Ed25519,
        }
    }
}

/// Runs a dkim command; output and errors as [`super::execute`].
pub async fn execute(
    store: &MailStore,
    data_dir: &Path,
    command: &DkimCommand,
) -> Result<Vec<u8>, String> {
    let keys = KeyDir::new(data_dir);
    match command {
        DkimCommand::Generate {
            domain,
            algorithm,
            selector,
        } => {
            let domain = store.domain(domain).map_err(|e| e.to_string())?.name;
            let wanted: Vec<(KeyAlgorithm, String)> = match algorithm {
                Some(a) => {
                    let a = KeyAlgorithm::from(*a);
                    let selector = selector.as_deref().unwrap_or(a.default_selector());
                    vec![(a, selector.to_string())]
                }
                None => [KeyAlgorithm::Rsa, KeyAlgorithm::Ed25519]
                    .into_iter()
                    .map(|a| (a, a.default_selector().to_string()))
                    .collect(),
            };
            // Checked before anything is generated, so a refusal leaves no half-made pair.
            let existing = keys.for_domain(&domain)?;
            for (_, selector) in &wanted {
                if existing
                    .iter()
                    .any(|k| k.selector() == selector.to_ascii_lowercase())
                {
                    return Err(format!(
                        "{domain} has a key with selector {selector} already; \
                         pass --algorithm and --selector for another"
                    ));
                }
            }
            let generated = tokio::task::spawn_blocking(move || {
                wanted
                    .iter()
                    .map(|(a, s)| DkimKey::generate(&domain, s, *a))
                    .collect::<Result<Vec<_>, _>>()
            })
            .await
            .map_err(|e| format!("key generation stopped: {e}"))??;
            let mut out = String::new();
            for key in &generated {
                let path = keys.save(key)?;
                out.push_str(&record(key, &path)?);
            }
            Ok(out.into_bytes())
        }
        DkimCommand::List => {
            let mut out = String::new();
            for key in keys.list()? {
                let _ = writeln!(
                    out,
                    "{}\t{}\t{}",
                    key.domain(),
                    key.selector(),
                    key.algorithm().tag()
                );
            }
            Ok(out.into_bytes())
        }
        DkimCommand::Show { domain } => {
            let found = keys.for_domain(domain)?;
            if found.is_empty() {
                return Err(format!("no DKIM keys for {domain}"));
            }
            let mut out = String::new();
            for key in &found {
                out.push_str(&record(key, &keys.key_file(key))?);
            }
            Ok(out.into_bytes())
        }
        DkimCommand::Remove { domain, selector } => {
            keys.remove(domain, selector)?;
            Ok(format!("removed DKIM key {selector} of {domain}\n").into_bytes())
        }
    }
}

/// A comment naming the key and its file, then its TXT record.
fn record(key: &DkimKey, path: &Path) -> Result<String, String> {
    Ok(format!(
        "; {} {} key, selector {} ({})\n{}",
        key.domain(),
        key.algorithm().tag(),
        key.selector(),
        path.display(),
        key.zone_line()?
    ))
}
