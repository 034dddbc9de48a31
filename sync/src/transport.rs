//! The transport seam: how a device talks to the endpoint. [`HttpTransport`] is the real one; tests
//! can put anything behind [`Transport`].

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::pin::PinnedVerifier;
use mrm_crdt::error::{Error, Result};
use mrm_crdt::protocol::{
    revocation_proven, EnrollRequest, EnrollResponse, ErrorBody, MeResponse, PushResponse,
    NONCE_HEADER, PULL_LIMITS, UPLOAD_HEADER, UPLOAD_LENGTH_HEADER, UPLOAD_OFFSET_HEADER,
};
use mrm_store::PullPart;

/// What the sync client needs from the network.
pub trait Transport: Sync {
    /// Send a batch (frames, see [`mrm_crdt::bundle::encode_frames`]).
    fn push(&self, body: Vec<u8>) -> impl Future<Output = Result<PushResponse>> + Send;
    /// Send a batch as the resumable upload `name` (16 to 64 hex digits, one per batch): with
    /// `resume` (an earlier attempt of the same batch was cut), only what the endpoint lacks
    /// of it goes. A transport that cannot resume sends it whole.
    fn push_upload(
        &self,
        body: &[u8],
        name: &str,
        resume: bool,
    ) -> impl Future<Output = Result<PushResponse>> + Send {
        let _ = (name, resume);
        self.push(body.to_vec())
    }
    /// Fetch one page after `cursor` (frames with a [`mrm_crdt::protocol::PullHeader`]), at
    /// most `limit` changes. `part` is what arrived of a page before: when it was asked at
    /// `cursor`, only the rest is asked for (and `limit` is the part's). Bytes are added to
    /// `part` as they arrive, so that a cut keeps them; a new page replaces it. Returns the
    /// whole page.
    fn pull(
        &self,
        cursor: i64,
        limit: i64,
        part: &Mutex<PullPart>,
    ) -> impl Future<Output = Result<Vec<u8>>> + Send;
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

/// The part of a pull page, whoever held the lock last (a panic elsewhere leaves bytes that are
/// still bytes: the gzip check at the end catches a page that is not whole).
pub(crate) fn lock(part: &Mutex<PullPart>) -> std::sync::MutexGuard<'_, PullPart> {
    part.lock().unwrap_or_else(|e| e.into_inner())
}

/// The first byte and the whole length of a `Content-Range: bytes S-E/T` answer that runs to
/// the end of its page (`E` = `T` - 1), the only kind a device asks for.
fn content_range(value: &str) -> Option<(u64, u64)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (span, total) = rest.split_once('/')?;
    let (start, end) = span.split_once('-')?;
    let (start, end, total): (u64, u64, u64) =
        (start.parse().ok()?, end.parse().ok()?, total.parse().ok()?);
    (start <= end && end.checked_add(1)? == total).then_some((start, total))
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
    Err(refusal(status.as_u16(), &body, revocation))
}

/// The typed error of a failed answer's `status` and `body` ([`check`]): an unproven `revoked`
/// becomes `revoked_unproven`, whatever the status it came with.
fn refusal(status: u16, body: &[u8], revocation: Option<(&str, &str, &str)>) -> Error {
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
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
                String::from_utf8_lossy(body)
                    .chars()
                    .take(200)
                    .collect::<String>()
            ),
        ),
    };
    Error::Server {
        status,
        code,
        message,
    }
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
        let (resp, nonce) = self.send_raw(req).await?;
        self.judge(resp, &nonce).await
    }

    /// Send an authenticated request with a fresh nonce; the answer, whatever its status, and
    /// the nonce.
    async fn send_raw(&self, req: reqwest::RequestBuilder) -> Result<(reqwest::Response, String)> {
        let nonce = nonce();
        let resp = req
            .header("Authorization", &self.credential)
            .header(NONCE_HEADER, &nonce)
            .send()
            .await
            .map_err(|e| self.client.error(e))?;
        Ok((resp, nonce))
    }

    /// Judge an answer to a request sent with `nonce` ([`check`]).
    async fn judge(&self, resp: reqwest::Response, nonce: &str) -> Result<reqwest::Response> {
        let revocation = self
            .revocation_key
            .as_deref()
            .map(|k| (self.device_id.as_str(), k, nonce));
        check(resp, revocation).await
    }

    /// Send the rest of an upload from `offset`; `Err(Ok(n))` when the endpoint holds `n` bytes
    /// of it instead (409 `upload_offset`).
    async fn upload_from(
        &self,
        body: &[u8],
        name: &str,
        offset: usize,
    ) -> std::result::Result<PushResponse, std::result::Result<usize, Error>> {
        let req = self
            .client
            .http
            .post(format!("{}/v1/push", self.base))
            .header("Content-Type", "application/x-mrm-frames")
            .header(UPLOAD_HEADER, name)
            .header(UPLOAD_LENGTH_HEADER, body.len())
            .header(UPLOAD_OFFSET_HEADER, offset)
            .body(body[offset.min(body.len())..].to_vec());
        let (resp, nonce) = self.send_raw(req).await.map_err(Err)?;
        if resp.status() == reqwest::StatusCode::CONFLICT {
            let raw = read_bounded(resp, MAX_ANSWER).await.map_err(Err)?;
            if let Ok(ErrorBody {
                code,
                offset: Some(n),
                ..
            }) = serde_json::from_slice::<ErrorBody>(&raw)
            {
                if code == "upload_offset" {
                    return Err(Ok(n.min(body.len() as u64) as usize));
                }
            }
            // Any other refusal is judged as every answer is (an unproven "revoked" wipes
            // nothing, whatever its status).
            let revocation = self
                .revocation_key
                .as_deref()
                .map(|k| (self.device_id.as_str(), k, nonce.as_str()));
            return Err(Err(refusal(409, &raw, revocation)));
        }
        let resp = self.judge(resp, &nonce).await.map_err(Err)?;
        json_of(resp).await.map_err(Err)
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

    async fn push_upload(&self, body: &[u8], name: &str, resume: bool) -> Result<PushResponse> {
        // After a cut, the first request carries nothing: the endpoint says how much it holds
        // (or, holding it all, applies the batch whose answer was lost).
        let mut offset = if resume { body.len() } else { 0 };
        for _ in 0..3 {
            match self.upload_from(body, name, offset).await {
                Ok(r) => return Ok(r),
                Err(Ok(held)) => offset = held,
                Err(Err(e)) => return Err(e),
            }
        }
        Err(Error::Network(
            "the endpoint kept asking for another part of the upload".into(),
        ))
    }

    async fn pull(&self, cursor: i64, limit: i64, part: &Mutex<PullPart>) -> Result<Vec<u8>> {
        let max = PULL_LIMITS.max_bytes as usize;
        let asked = limit;
        let (mut resume, mut limit) = {
            let p = lock(part);
            if p.resumable_at(cursor) {
                (Some((p.etag.clone(), p.bytes.len())), p.limit)
            } else {
                (None, limit)
            }
        };
        let mut resp = loop {
            let mut req = self.client.http.get(format!(
                "{}/v1/pull?cursor={cursor}&limit={limit}",
                self.base
            ));
            if let Some((etag, from)) = &resume {
                req = req
                    .header(reqwest::header::RANGE, format!("bytes={from}-"))
                    .header(reqwest::header::IF_RANGE, format!("\"{etag}\""));
            }
            let resp = self.send(req).await?;
            // The endpoint no longer keeps the page (another instance, a restart, half an hour
            // passed): a new page at the kept part's limit may be far larger than this link
            // now carries between drops, so it is asked again at the size the pace gives.
            if resume.is_some()
                && resp.status() != reqwest::StatusCode::PARTIAL_CONTENT
                && limit > asked
            {
                drop(resp);
                *lock(part) = PullPart::default();
                resume = None;
                limit = asked;
                continue;
            }
            break resp;
        };
        let etag = resp
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().trim_matches('"').to_string())
            .unwrap_or_default();
        let rest_of_part = match &resume {
            Some((kept, from)) if resp.status() == reqwest::StatusCode::PARTIAL_CONTENT => {
                // The rest of the part, exactly: the same page, from the first byte missing.
                let range = resp
                    .headers()
                    .get(reqwest::header::CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(content_range);
                match range {
                    Some((start, total))
                        if etag == *kept && start == *from as u64 && total <= max as u64 =>
                    {
                        true
                    }
                    _ => {
                        // Not the rest of what is kept (an impostor, a broken proxy): the part
                        // is worth nothing, and the page is asked whole next time.
                        *lock(part) = PullPart::default();
                        return Err(Error::Network(
                            "the endpoint's answer is not the rest of the page asked for".into(),
                        ));
                    }
                }
            }
            _ => false,
        };
        if !rest_of_part {
            *lock(part) = PullPart {
                cursor,
                limit,
                etag,
                bytes: Vec::new(),
            };
            if resp.content_length().is_some_and(|n| n > max as u64) {
                return Err(Error::TooLarge(format!(
                    "the endpoint's answer is larger than {max} bytes"
                )));
            }
        }
        while let Some(chunk) = resp.chunk().await.map_err(network)? {
            let mut p = lock(part);
            if p.bytes.len() + chunk.len() > max {
                *p = PullPart::default();
                return Err(Error::TooLarge(format!(
                    "the endpoint's answer is larger than {max} bytes"
                )));
            }
            p.bytes.extend_from_slice(&chunk);
        }
        Ok(lock(part).bytes.clone())
    }

    async fn me(&self) -> Result<Option<MeResponse>> {
        self.whoami().await.map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::{content_range, refusal};
    use mrm_crdt::error::Error;

    #[test]
    fn a_revocation_without_proof_is_unproven_whatever_its_status() {
        for status in [403, 409, 500] {
            let body = br#"{"error":"revoked","code":"revoked"}"#;
            match refusal(status, body, Some(("d1", "00", "nonce"))) {
                Error::Server { code, .. } => assert_eq!(code, "revoked_unproven", "{status}"),
                e => panic!("{e:?}"),
            }
        }
    }

    #[test]
    fn only_a_range_to_the_end_of_its_page_is_the_rest() {
        assert_eq!(content_range("bytes 100-199/200"), Some((100, 200)));
        assert_eq!(content_range("bytes 0-0/1"), Some((0, 1)));
        for bad in [
            "bytes 100-150/200",
            "bytes 100-199/*",
            "bytes 200-199/200",
            "items 0-1/2",
            "bytes 1-18446744073709551615/0",
            "bytes -1/2",
        ] {
            assert_eq!(content_range(bad), None, "{bad}");
        }
    }
}
