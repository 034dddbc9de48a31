//! Certificate pinning: a device trusts the endpoint whose certificate has the SHA-256
//! fingerprint it learnt at enrollment, and no other. Field missions run self-signed
//! certificates, so there is no certificate authority to trust; a changed certificate (a
//! man-in-the-middle, or a replaced server) is refused with a clear message.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

use mrm_crdt::error::{Error, Result};

/// What separates a token from the fingerprint it carries.
const TOKEN_PIN: &str = "#sha256:";

/// The SHA-256 fingerprint of a DER certificate: 64 lowercase hex digits.
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

/// A fingerprint as people write it (`AB:CD:…`, `sha256:abcd…`, any case) in canonical form.
pub fn normalize(pin: &str) -> Result<String> {
    let s = pin.trim();
    let s = s.strip_prefix("sha256:").unwrap_or(s);
    let hex: String = s
        .chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::Refused(format!(
            "`{pin}` is not a SHA-256 certificate fingerprint (64 hex digits)"
        )));
    }
    Ok(hex)
}

/// An enrollment token that carries the endpoint's fingerprint.
pub fn token_with_pin(token: &str, pin: &str) -> String {
    format!("{token}{TOKEN_PIN}{pin}")
}

/// Split a token into the secret part and the fingerprint it carries, if any.
pub fn split_token(token: &str) -> Result<(String, Option<String>)> {
    match token.trim().split_once(TOKEN_PIN) {
        Some((t, pin)) => Ok((t.to_string(), Some(normalize(pin)?))),
        None => Ok((token.trim().to_string(), None)),
    }
}

/// Verifies that the endpoint's certificate is the pinned one (and that it signed the
/// handshake); remembers what it saw on a mismatch, so the error can say so.
#[derive(Debug)]
pub(crate) struct PinnedVerifier {
    pin: String,
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
    pub(crate) mismatch: Arc<Mutex<Option<String>>>,
}

impl PinnedVerifier {
    pub(crate) fn new(pin: &str) -> Result<PinnedVerifier> {
        Ok(PinnedVerifier {
            pin: normalize(pin)?,
            algorithms: rustls::crypto::ring::default_provider().signature_verification_algorithms,
            mismatch: Arc::new(Mutex::new(None)),
        })
    }

    pub(crate) fn expected(&self) -> &str {
        &self.pin
    }
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let seen = fingerprint(end_entity.as_ref());
        if seen == self.pin {
            return Ok(ServerCertVerified::assertion());
        }
        if let Ok(mut m) = self.mismatch.lock() {
            *m = Some(seen);
        }
        Err(rustls::Error::General(
            "the endpoint's certificate is not the pinned one".into(),
        ))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_read_as_people_write_them() {
        let hex = "ab".repeat(32);
        let colons = hex
            .as_bytes()
            .chunks(2)
            .map(|c| std::str::from_utf8(c).unwrap().to_uppercase())
            .collect::<Vec<_>>()
            .join(":");
        assert_eq!(normalize(&colons).unwrap(), hex);
        assert_eq!(normalize(&format!("sha256:{hex}")).unwrap(), hex);
        assert!(normalize("abcd").is_err());
        assert!(normalize(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn tokens_carry_the_fingerprint_or_not() {
        let pin = "0f".repeat(32);
        let t = token_with_pin("s3cret", &pin);
        assert_eq!(split_token(&t).unwrap(), ("s3cret".into(), Some(pin)));
        assert_eq!(split_token(" plain \n").unwrap(), ("plain".into(), None));
        assert!(split_token("s3cret#sha256:nothex").is_err());
    }
}
