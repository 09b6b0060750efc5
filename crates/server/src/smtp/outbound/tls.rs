//! Client TLS for STARTTLS: a connector that checks nothing but the handshake's signatures
//! (opportunistic and required TLS, RFC 7435 §3: unauthenticated encryption beats clear
//! text), and one that checks the certificate chain and name against the built-in roots or a
//! CA file.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use tokio_rustls::TlsConnector;

use crate::smtp::outbound::TlsPolicy;

/// The connector for `policy` (`None` for [`TlsPolicy::None`]). Connectors without a CA file
/// are built once per process.
pub(crate) fn connector(policy: TlsPolicy, ca_file: &str) -> Result<Option<TlsConnector>, String> {
    static UNVERIFIED: OnceLock<TlsConnector> = OnceLock::new();
    static WEBPKI: OnceLock<TlsConnector> = OnceLock::new();
    match policy {
        TlsPolicy::None => Ok(None),
        TlsPolicy::Opportunistic | TlsPolicy::Required => {
            Ok(Some(UNVERIFIED.get_or_init(unverified).clone()))
        }
        TlsPolicy::Verify if ca_file.is_empty() => Ok(Some(
            WEBPKI
                .get_or_init(|| {
                    let roots = RootCertStore {
                        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                    };
                    verified(roots)
                })
                .clone(),
        )),
        TlsPolicy::Verify => {
            let mut roots = RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(ca_file)
                .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("reading outbound ca_file {ca_file}: {e}"))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(format!("outbound ca_file {ca_file}: no usable certificate"));
            }
            Ok(Some(verified(roots)))
        }
    }
}

/// The name to check the certificate against (and send as SNI): the host name, or the address
/// of an address literal.
pub(crate) fn server_name(host: &str, ip: std::net::IpAddr) -> ServerName<'static> {
    if host.starts_with('[') {
        return ServerName::IpAddress(ip.into());
    }
    ServerName::try_from(host.to_string()).unwrap_or(ServerName::IpAddress(ip.into()))
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn verified(roots: RootCertStore) -> TlsConnector {
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

fn unverified() -> TlsConnector {
    let provider = provider();
    let verifier = AnyCertificate {
        algorithms: provider.signature_verification_algorithms,
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

/// Accepts any certificate, but still checks that the server holds its key, so the session
/// keys are not given to whoever merely replays a certificate.
#[derive(Debug)]
struct AnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
