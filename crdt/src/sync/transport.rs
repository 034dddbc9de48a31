//! The transport seam: how a device talks to the endpoint. [`HttpTransport`] is the real one; tests
//! can put anything behind [`Transport`].

use std::future::Future;
use std::time::Duration;

use crate::error::{Error, Result};
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
    client: reqwest::Client,
    base: String,
    credential: String,
}

fn install_crypto() {
    // reqwest is built without a bundled TLS provider; ring is ours. Installing twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn client() -> Result<reqwest::Client> {
    install_crypto();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        // Generous: a page over a slow satellite link takes a while; a dead link is caught by
        // the read timeout.
        .timeout(Duration::from_secs(300))
        .read_timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| Error::Network(format!("cannot set up HTTP: {e}")))
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
    /// A transport to `base` (e.g. `http://127.0.0.1:8080`) with a device credential.
    pub fn new(base: &str, device_id: &str, secret: &str) -> Result<Self> {
        Ok(HttpTransport {
            client: client()?,
            base: base.trim_end_matches('/').to_string(),
            credential: format!("Bearer {device_id}:{secret}"),
        })
    }

    /// Who the endpoint thinks this device is (also how a device learns it was revoked).
    pub async fn whoami(&self) -> Result<MeResponse> {
        let resp = self
            .client
            .get(format!("{}/v1/me", self.base))
            .header("Authorization", &self.credential)
            .send()
            .await
            .map_err(network)?;
        check(resp).await?.json().await.map_err(network)
    }
}

/// Exchange an enrollment token for a credential.
pub async fn enroll_request(base: &str, req: &EnrollRequest) -> Result<EnrollResponse> {
    let base = base.trim_end_matches('/');
    let resp = client()?
        .post(format!("{base}/v1/enroll"))
        .json(req)
        .send()
        .await
        .map_err(network)?;
    check(resp).await?.json().await.map_err(network)
}

impl Transport for HttpTransport {
    async fn push(&self, body: Vec<u8>) -> Result<PushResponse> {
        let resp = self
            .client
            .post(format!("{}/v1/push", self.base))
            .header("Authorization", &self.credential)
            .header("Content-Type", "application/x-mrm-frames")
            .body(body)
            .send()
            .await
            .map_err(network)?;
        check(resp).await?.json().await.map_err(network)
    }

    async fn pull(&self, cursor: i64, limit: i64) -> Result<Vec<u8>> {
        let resp = self
            .client
            .get(format!(
                "{}/v1/pull?cursor={cursor}&limit={limit}",
                self.base
            ))
            .header("Authorization", &self.credential)
            .send()
            .await
            .map_err(network)?;
        let bytes = check(resp).await?.bytes().await.map_err(network)?;
        Ok(bytes.to_vec())
    }

    async fn me(&self) -> Result<Option<MeResponse>> {
        self.whoami().await.map(Some)
    }
}
