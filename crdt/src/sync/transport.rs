//! The transport seam: how a device talks to the endpoint. [`HttpTransport`] is the real one; tests
//! can put anything behind [`Transport`].

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::sync::pin::PinnedVerifier;
use crate::sync::protocol::{EnrollRequest, EnrollResponse, ErrorBody, MeResponse, PushResponse};

/// What the sync client needs from the network.
pub trait Transport: Sync {
    /// Send a batch (frames, see [`crate::bundle::encode_frames`]).
    fn push(&self, body: Vec<u8>) -> impl Future<Output = Result<PushResponse>> + Send;
    /// Fetch one page after `cursor` (frames with a [`crate::sync::protocol::PullHeader`]).
    fn pull(&self, cursor: i64, limit: i64) -> impl Future<Output = Result<Vec<u8>>> + Send;
    /// Who the endpoint thinks this device is; `None` when the transport cannot tell. Called
    /// first, so that a revoked device learns it before it sends anything.
    fn me(&self) -> impl Future<Output = Result<Option<MeResponse>>> + Send {
        async { Ok(None) }
    }
}

/// HTTP(S) to the mission endpoint.
pub struct HttpTransport {
    client: Client,
    base: String,
    credential: String,
}

/// A reqwest client, and for a pinned endpoint what its verifier saw on a mismatch.
struct Client {
    http: reqwest::Client,
    pin: Option<(String, Arc<Mutex<Option<String>>>)>,
}

impl Client {
    /// A network error, or the certificate change that caused it.
    fn error(&self, e: reqwest::Error) -> Error {
        if let Some((expected, seen)) = &self.pin {
            if let Some(found) = seen.lock().ok().and_then(|s| s.clone()) {
                return Error::CertificateChanged {
                    expected: expected.clone(),
                    found,
                };
            }
        }
        network(e)
    }
}

fn install_crypto() {
    // reqwest is built without a bundled TLS provider; ring is ours. Installing twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A client; with a pin, it trusts exactly the endpoint certificate with that fingerprint.
fn client(pin: Option<&str>) -> Result<Client> {
    install_crypto();
    let mut builder = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        // Generous: a page over a slow satellite link takes a while; a dead link is caught by
        // the read timeout.
        .timeout(Duration::from_secs(300))
        .read_timeout(Duration::from_secs(60));
    let mut pinned = None;
    if let Some(pin) = pin {
        let verifier = PinnedVerifier::new(pin)?;
        pinned = Some((verifier.expected().to_string(), verifier.mismatch.clone()));
        let tls = rustls::ClientConfig::builder()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        builder = builder.use_preconfigured_tls(tls);
    }
    let http = builder
        .build()
        .map_err(|e| Error::Network(format!("cannot set up HTTP: {e}")))?;
    Ok(Client { http, pin: pinned })
}

fn network(e: reqwest::Error) -> Error {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    Error::Network(msg)
}

async fn check(resp: reqwest::Response) -> Result<reqwest::Response> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let body = resp.bytes().await.unwrap_or_default();
    let parsed: Option<ErrorBody> = serde_json::from_slice(&body).ok();
    let (code, message) = match parsed {
        Some(b) => (b.code, b.error),
        None => (
            String::new(),
            format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(200)
                    .collect::<String>()
            ),
        ),
    };
    Err(Error::Server {
        status: status.as_u16(),
        code,
        message,
    })
}

impl HttpTransport {
    /// A transport to `base` (e.g. `http://127.0.0.1:8080`) with a device credential; an
    /// `https` endpoint is trusted by the certificate fingerprint `pin` only.
    pub fn new(base: &str, device_id: &str, secret: &str, pin: Option<&str>) -> Result<Self> {
        if base.trim().starts_with("https://") && pin.is_none() {
            return Err(Error::Refused(
                "this store has no certificate fingerprint for its https endpoint: re-enroll it"
                    .into(),
            ));
        }
        Ok(HttpTransport {
            client: client(pin)?,
            base: base.trim_end_matches('/').to_string(),
            credential: format!("Bearer {device_id}:{secret}"),
        })
    }

    /// Who the endpoint thinks this device is (also how a device learns it was revoked).
    pub async fn whoami(&self) -> Result<MeResponse> {
        let resp = self
            .client
            .http
            .get(format!("{}/v1/me", self.base))
            .header("Authorization", &self.credential)
            .send()
            .await
            .map_err(|e| self.client.error(e))?;
        check(resp).await?.json().await.map_err(network)
    }
}

/// Exchange an enrollment token for a credential (over the pinned certificate, if any).
pub async fn enroll_request(
    base: &str,
    req: &EnrollRequest,
    pin: Option<&str>,
) -> Result<EnrollResponse> {
    let base = base.trim_end_matches('/');
    let client = client(pin)?;
    let resp = client
        .http
        .post(format!("{base}/v1/enroll"))
        .json(req)
        .send()
        .await
        .map_err(|e| client.error(e))?;
    check(resp).await?.json().await.map_err(network)
}

impl Transport for HttpTransport {
    async fn push(&self, body: Vec<u8>) -> Result<PushResponse> {
        let resp = self
            .client
            .http
            .post(format!("{}/v1/push", self.base))
            .header("Authorization", &self.credential)
            .header("Content-Type", "application/x-mrm-frames")
            .body(body)
            .send()
            .await
            .map_err(|e| self.client.error(e))?;
        check(resp).await?.json().await.map_err(network)
    }

    async fn pull(&self, cursor: i64, limit: i64) -> Result<Vec<u8>> {
        let resp = self
            .client
            .http
            .get(format!(
                "{}/v1/pull?cursor={cursor}&limit={limit}",
                self.base
            ))
            .header("Authorization", &self.credential)
            .send()
            .await
            .map_err(|e| self.client.error(e))?;
        let bytes = check(resp).await?.bytes().await.map_err(network)?;
        Ok(bytes.to_vec())
    }

    async fn me(&self) -> Result<Option<MeResponse>> {
        self.whoami().await.map(Some)
    }
}
