//! TLS settings: the configured certificate, or a self-signed one generated on first start.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};
use tokio_rustls::TlsAcceptor;

/// `[tls]` settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain; empty = a self-signed certificate under DATA/tls/.
    pub cert: String,
    /// PEM private key for `cert`.
    pub key: String,
}

/// Builds the TLS acceptor. With no configured certificate, uses DATA/tls/{cert,key}.pem,
/// generating a self-signed pair for `hostname` there on first start.
pub fn acceptor(
    config: &TlsConfig,
    data_dir: &Path,
    hostname: &str,
) -> Result<TlsAcceptor, String> {
    let (cert, key) = if config.cert.is_empty() {
        self_signed(data_dir, hostname)?
    } else {
        (PathBuf::from(&config.cert), PathBuf::from(&config.key))
    };
    let certs = CertificateDer::pem_file_iter(&cert)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("reading certificate {}: {e}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(&key)
        .map_err(|e| format!("reading key {}: {e}", key.display()))?;
    let server = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("TLS certificate/key: {e}"))?;
    Ok(TlsAcceptor::from(Arc::new(server)))
}

fn self_signed(data_dir: &Path, hostname: &str) -> Result<(PathBuf, PathBuf), String> {
    let dir = data_dir.join("tls");
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let generated = rcgen::generate_simple_self_signed(vec![hostname.to_string()])
        .map_err(|e| format!("generating a self-signed certificate: {e}"))?;
    std::fs::write(&key, generated.signing_key.serialize_pem())
        .and_then(|()| std::fs::write(&cert, generated.cert.pem()))
        .map_err(|e| {
            format!(
                "writing the self-signed certificate to {}: {e}",
                dir.display()
            )
        })?;
    tracing::info!(path = %cert.display(), "generated a self-signed TLS certificate");
    Ok((cert, key))
}
