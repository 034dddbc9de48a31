//! The transport seam: how a device talks to the endpoint. [`HttpTransport`] is the real one; tests
//! can put anything behind [`Transport`].

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::pin::PinnedVerifier;
use mrm_crdt::error::{Error, Result};
use mrm_crdt::protocol::{
    revocation_proven, EnrollRequest, EnrollResponse, ErrorBody, MeResponse, PushResponse,
    NONCE_HEADER, PULL_LIMITS,
};

/// What the sync client needs from the network.
pub trait Transport: Sync {
    /// Send a batch (frames, see [`mrm_crdt::bundle::encode_frames`]).
    fn push(&self, body: Vec<u8>) -> impl Future<Output = Result<PushResponse>> + Send;
    /// Fetch one page after `cursor` (frames with a [`mrm_crdt::protocol::PullHeader`]).
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
    device_id: String,
    /// The key the endpoint proves a revocation with (from enrollment).
    revocation_key: Option<String>,
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

/// Largest answer other than a pull page (an error, `me`, an enrollment, a push result).
const MAX_ANSWER: usize = 1024 * 1024;

/// Read an answer's body, refusing one longer than `max` bytes as it arrives: an impostor (or a
/// broken proxy) cannot make the device hold more than that.
async fn read_bounded(mut resp: reqwest::Response, max: usize) -> Result<Vec<u8>> {
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(Error::TooLarge(format!(
            "the endpoint's answer is larger than {max} bytes"
        )));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(network)? {
        if body.len() + chunk.len() > max {
            return Err(Error::TooLarge(format!(
                "the endpoint's answer is larger than {max} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A JSON answer, read within [`MAX_ANSWER`].
async fn json_of<T: serde::de::DeserializeOwned>(resp: reqwest::Response) -> Result<T> {
    let body = read_bounded(resp, MAX_ANSWER).await?;
    serde_json::from_slice(&body)
        .map_err(|e| Error::Network(format!("the endpoint's answer is not understood: {e}")))
}

/// A fresh random nonce for [`NONCE_HEADER`], as hex.
fn nonce() -> String {
    let mut b = [0u8; 16];
    // Without randomness the answer cannot be bound to this request; an all-zero nonce only
    // weakens replay protection, never lets an unproven answer wipe anything.
    let _ = getrandom::fill(&mut b);
    hex::encode(b)
}

/// The outcome of a request whose answer is not a success, as a typed error. A `revoked` answer
/// stays `revoked` only when it proves itself for this device and this request's `nonce`
/// (`revocation`: the device id and its key); otherwise it becomes `revoked_unproven`, which
/// wipes nothing: anyone on the network path can answer "revoked".
async fn check(
    resp: reqwest::Response,
    revocation: Option<(&str, &str, &str)>,
) -> Result<reqwest::Response> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let body = read_bounded(resp, MAX_ANSWER).await.unwrap_or_default();
    let parsed: Option<ErrorBody> = serde_json::from_slice(&body).ok();
    let (code, message) = match parsed {
        Some(b) if b.code == "revoked" => {
            let proven = match (revocation, b.proof.as_deref()) {
                (Some((device, key, nonce)), Some(proof)) => {
                    revocation_proven(key, device, nonce, proof)
                }
                _ => false,
            };
            if proven {
                (b.code, b.error)
            } else {
                (
                    "revoked_unproven".to_string(),
                    "the endpoint answered that this device is revoked, but could not prove it \
                     was the mission's endpoint; nothing was wiped and nothing was sent. Check the \
                     endpoint address, or ask the mission whether this laptop was revoked"
                        .to_string(),
                )
            }
        }
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
            device_id: device_id.to_string(),
            revocation_key: None,
        })
    }

    /// The key with which this device's endpoint proves a revocation ([`SyncState`]'s
    /// `revocation_key`); without it, a `revoked` answer never wipes the store.
    ///
    /// [`SyncState`]: mrm_store::SyncState
    pub fn with_revocation_key(mut self, key: Option<String>) -> Self {
        self.revocation_key = key;
        self
    }

    /// Send an authenticated request with a fresh nonce and judge its answer.
    async fn send(&self, req: reqwest::RequestBuilder) -> Result<reqwest::Response> {
        let nonce = nonce();
        let resp = req
            .header("Authorization", &self.credential)
            .header(NONCE_HEADER, &nonce)
            .send()
            .await
            .map_err(|e| self.client.error(e))?;
        let revocation = self
            .revocation_key
            .as_deref()
            .map(|k| (self.device_id.as_str(), k, nonce.as_str()));
        check(resp, revocation).await
    }

    /// Who the endpoint thinks this device is (also how a device learns it was revoked).
    pub async fn whoami(&self) -> Result<MeResponse> {
        let req = self.client.http.get(format!("{}/v1/me", self.base));
        json_of(self.send(req).await?).await
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
    json_of(check(resp, None).await?).await
}

impl Transport for HttpTransport {
    async fn push(&self, body: Vec<u8>) -> Result<PushResponse> {
        let req = self
            .client
            .http
            .post(format!("{}/v1/push", self.base))
            .header("Content-Type", "application/x-mrm-frames")
            .body(body);
        json_of(self.send(req).await?).await
    }

    async fn pull(&self, cursor: i64, limit: i64) -> Result<Vec<u8>> {
        let req = self.client.http.get(format!(
            "{}/v1/pull?cursor={cursor}&limit={limit}",
            self.base
        ));
        read_bounded(self.send(req).await?, PULL_LIMITS.max_bytes as usize).await
    }

    async fn me(&self) -> Result<Option<MeResponse>> {
        self.whoami().await.map(Some)
    }
}
