//! HTTPS for the endpoint: a certificate and key in PEM files (rustls with the ring provider).
//! Field missions use self-signed certificates, so devices pin the certificate's SHA-256
//! fingerprint at enrollment instead of trusting a certificate authority.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::ServeError;

/// The endpoint's certificate and private key (PEM).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn read_certs(path: &Path) -> Result<Vec<Vec<u8>>, ServeError> {
    let pem = std::fs::read(path)
        .map_err(|e| ServeError::Tls(format!("cannot read {}: {e}", path.display())))?;
    let certs: Vec<Vec<u8>> = rustls_pemfile::certs(&mut pem.as_slice())
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<Result<_, _>>()
        .map_err(|e| {
            ServeError::Tls(format!("{} is not a PEM certificate: {e}", path.display()))
        })?;
    if certs.is_empty() {
        return Err(ServeError::Tls(format!(
            "{} holds no certificate",
            path.display()
        )));
    }
    Ok(certs)
}

/// The SHA-256 fingerprint (64 lowercase hex digits) of the first certificate in a PEM file:
/// what devices pin.
pub fn fingerprint_of_pem(path: &Path) -> Result<String, ServeError> {
    let certs = read_certs(path)?;
    Ok(hex_sha256(&certs[0]))
}

fn hex_sha256(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `files` make a usable TLS configuration: checked before anything else is touched, so
/// that a start refused for its certificate creates no database and no key file.
pub fn check(files: &TlsFiles) -> Result<(), ServeError> {
    config(files).map(drop)
}

/// The rustls configuration for `files` (HTTP/1.1 by ALPN), refusing unreadable or mismatched
/// files clearly.
pub(crate) fn config(files: &TlsFiles) -> Result<std::sync::Arc<rustls::ServerConfig>, ServeError> {
    let certs = read_certs(&files.cert)?
        .into_iter()
        .map(rustls::pki_types::CertificateDer::from)
        .collect();
    let pem = std::fs::read(&files.key)
        .map_err(|e| ServeError::Tls(format!("cannot read {}: {e}", files.key.display())))?;
    let key = rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|e| ServeError::Tls(format!("{} is not a PEM key: {e}", files.key.display())))?
        .ok_or_else(|| ServeError::Tls(format!("{} holds no private key", files.key.display())))?;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| {
            ServeError::Tls(format!(
                "cannot use {} with {}: {e}",
                files.cert.display(),
                files.key.display()
            ))
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(std::sync::Arc::new(config))
}
