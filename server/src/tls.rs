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

/// The rustls configuration for `files`, refusing unreadable or mismatched files clearly.
pub(crate) async fn config(
    files: &TlsFiles,
) -> Result<axum_server::tls_rustls::RustlsConfig, ServeError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    read_certs(&files.cert)?;
    axum_server::tls_rustls::RustlsConfig::from_pem_file(&files.cert, &files.key)
        .await
        .map_err(|e| {
            ServeError::Tls(format!(
                "cannot use {} with {}: {e}",
                files.cert.display(),
                files.key.display()
            ))
        })
}
