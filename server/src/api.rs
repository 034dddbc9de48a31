//! The HTTP layer: routes under `/v1`, authentication, and the mapping of the service's results
//! to status codes. Stateless: every rule is the service's, everything stored the repository's.
//!
//! Logs name devices, counts and durations, never record contents or secrets.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use mrm_crdt::bundle;
use mrm_crdt::protocol::{
    EnrollRequest, ErrorBody, MeResponse, PullHeader, MAX_BODY, MAX_ENROLL_BODY, PULL_PAGE,
    PUSH_LIMITS, UPLOAD_HEADER, UPLOAD_LENGTH_HEADER, UPLOAD_OFFSET_HEADER,
};
use serde::Deserialize;

use tokio::sync::Semaphore;

use crate::error::ServerError;
use crate::listen::Limits;
use crate::model::Device;
use crate::page_cache::{range_start, PageAddress, PageCache};
use crate::repository::Repository;
use crate::service::Service;
use crate::uploads::{valid_name, Appended, Offset, Uploads};

/// Shared state of the handlers.
pub struct AppState<R> {
    pub service: Service<R>,
    /// Longest time a request body may take to arrive ([`Limits::body_timeout`]).
    body_timeout: Duration,
    /// Longest time an enrollment body (sent before any credential) may take: the idle timeout,
    /// since a stranger's trickle must not hold a connection longer than an idle one.
    enroll_timeout: Duration,
    /// Pull pages being built at once (each holds its changes until it is compressed). Others
    /// wait their turn (within the body timeout).
    pull_slots: Arc<Semaphore>,
    /// Pushes decoded and applied at once (a body is read first, in its device's turn): each may
    /// hold [`MAX_PUSH_BYTES`] twice over (body and decoded frames) plus the documents it
    /// touches. Others wait their turn (within the body timeout).
    push_slots: Semaphore,
    /// One pull and one push at a time per device: a device never needs more, and one holding
    /// a credential cannot take every slot (or the memory of many pages) for itself. A second
    /// request waits for the first to finish (within the body timeout).
    turns: DeviceTurns,
    /// Pages kept so that a device cut in the middle of one gets only the rest.
    pages: PageCache,
    /// Push bodies received in part, continued after a cut.
    uploads: Uploads,
}

/// Per-device turns ([`AppState::turns`]): a one-permit semaphore per device and kind of request.
#[derive(Default)]
struct DeviceTurns {
    map: std::sync::Mutex<std::collections::HashMap<(String, &'static str), Arc<Semaphore>>>,
}

impl DeviceTurns {
    /// Wait (at most `within`) for `device`'s turn at `what`.
    async fn take(
        &self,
        device: &str,
        what: &'static str,
        within: Duration,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, ServerError> {
        let sem = {
            let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            map.entry((device.to_string(), what))
                .or_insert_with(|| Arc::new(Semaphore::new(1)))
                .clone()
        };
        tokio::time::timeout(within, sem.acquire_owned())
            .await
            .map_err(|_| busy(within))?
            .map_err(|e| ServerError::Internal(e.to_string()))
    }
}

/// See [`AppState::push_slots`]: storage applies one push at a time anyway; two lets the next
/// one's body arrive and decode meanwhile.
const CONCURRENT_PUSHES: usize = 2;
/// See [`AppState::pull_slots`]: a page holds up to 16 MiB of changes while it is built; four
/// built at once keep the endpoint's memory bounded whatever the devices do.
const CONCURRENT_PULLS: usize = 4;

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            ServerError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ServerError::Revoked | ServerError::RevokedProven(_) => {
                (StatusCode::FORBIDDEN, "revoked")
            }
            ServerError::Forbidden(_) | ServerError::Denied { .. } => {
                (StatusCode::FORBIDDEN, "forbidden")
            }
            ServerError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ServerError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ServerError::Timeout(_) => (StatusCode::REQUEST_TIMEOUT, "timeout"),
            ServerError::Busy(_) => {
                let body = ErrorBody {
                    error: self.to_string(),
                    code: "busy".into(),
                    reason: None,
                    proof: None,
                    offset: None,
                };
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::RETRY_AFTER, "5")],
                    Json(body),
                )
                    .into_response();
            }
            ServerError::MissingDependencies(_) => (StatusCode::CONFLICT, "missing_dependencies"),
            ServerError::IdentityReused { .. } => (StatusCode::CONFLICT, "identity_reused"),
            ServerError::Unvouched(_) => (StatusCode::FORBIDDEN, "unvouched"),
            ServerError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ServerError::UploadOffset(_) => (StatusCode::CONFLICT, "upload_offset"),
            ServerError::Internal(msg) | ServerError::Unusable(msg) => {
                tracing::error!(error = %msg, "internal error");
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(ErrorBody {
                        error: "internal error; see the endpoint's log".into(),
                        code: "internal".into(),
                        reason: None,
                        proof: None,
                        offset: None,
                    }),
                )
                    .into_response();
            }
        };
        let body = ErrorBody {
            error: self.to_string(),
            code: code.into(),
            reason: match &self {
                ServerError::Denied { denial, .. } => Some(denial.code().into()),
                _ => None,
            },
            proof: match &self {
                ServerError::RevokedProven(p) => Some(p.clone()),
                _ => None,
            },
            offset: match &self {
                ServerError::UploadOffset(o) => Some(*o),
                _ => None,
            },
        };
        (status, Json(body)).into_response()
    }
}

/// Build the router over the service with the default [`Limits`].
pub fn router<R: Repository>(service: Service<R>) -> Router {
    router_with(service, &Limits::default())
}

/// Build the router over the service; bodies must arrive within `limits.body_timeout`.
pub fn router_with<R: Repository>(service: Service<R>, limits: &Limits) -> Router {
    let state = Arc::new(AppState {
        service,
        body_timeout: limits.body_timeout,
        enroll_timeout: limits.idle_timeout.min(limits.body_timeout),
        push_slots: Semaphore::new(CONCURRENT_PUSHES),
        pull_slots: Arc::new(Semaphore::new(CONCURRENT_PULLS)),
        turns: DeviceTurns::default(),
        pages: PageCache::default(),
        uploads: Uploads::default(),
    });
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/enroll", post(enroll::<R>))
        .route("/v1/me", get(me::<R>))
        .route("/v1/push", post(push::<R>))
        .route("/v1/pull", get(pull::<R>))
        // Every answer is JSON with a code, also for a path or method that does not exist.
        .fallback(|| async { ServerError::NotFound("no such path under /v1".into()) })
        .method_not_allowed_fallback(|| async {
            ServerError::BadRequest("this path does not take that method".into())
        })
        // Bodies are read by the handlers themselves, after the credential (see `read_body`).
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

/// The endpoint was too busy to take a request within `waited`: the device retries later.
fn busy(waited: Duration) -> ServerError {
    ServerError::Timeout(format!(
        "the endpoint was busy with other devices for {} s; try again",
        waited.as_secs()
    ))
}

/// Read a request body of at most `max` bytes `within` a time. A declared length over `max` is
/// refused before a byte is read; a body that grows past it is dropped as it arrives.
async fn read_body(body: Body, max: usize, within: Duration) -> Result<Bytes, ServerError> {
    let too_large =
        || ServerError::TooLarge(format!("the request body is larger than {max} bytes"));
    if body.size_hint().lower() > max as u64 {
        return Err(too_large());
    }
    match tokio::time::timeout(within, axum::body::to_bytes(body, max)).await {
        Err(_) => Err(ServerError::Timeout(format!(
            "the request body did not arrive within {} s",
            within.as_secs()
        ))),
        Ok(Ok(b)) => Ok(b),
        Ok(Err(e)) => {
            let length_limit = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if length_limit {
                Err(too_large())
            } else {
                Err(ServerError::BadRequest(format!(
                    "the request body was cut: {e}"
                )))
            }
        }
    }
}

/// A push's upload headers ([`UPLOAD_HEADER`]): its name, length and this body's offset; `None`
/// for a plain push.
fn upload_of(headers: &HeaderMap) -> Result<Option<(String, usize, usize)>, ServerError> {
    let Some(name) = headers.get(UPLOAD_HEADER) else {
        return Ok(None);
    };
    let bad = |what: &str| ServerError::BadRequest(format!("upload: {what}"));
    let name = name
        .to_str()
        .ok()
        .filter(|n| valid_name(n))
        .ok_or_else(|| bad("the name must be 32 lowercase hex digits"))?;
    let number = |h: &str| -> Result<usize, ServerError> {
        headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 12 && v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| bad(&format!("{h} must be a number of bytes")))
    };
    let (total, offset) = (number(UPLOAD_LENGTH_HEADER)?, number(UPLOAD_OFFSET_HEADER)?);
    if total == 0 || total > MAX_BODY {
        return Err(ServerError::TooLarge(format!(
            "an upload is 1 to {MAX_BODY} bytes"
        )));
    }
    if offset > total {
        return Err(bad("the offset is past the upload's length"));
    }
    Ok(Some((name.to_string(), total, offset)))
}

/// Add a push body to its upload as it arrives (what arrived stays if the connection is cut),
/// within `within`.
async fn receive(
    mut body: Body,
    uploads: &Uploads,
    device: &str,
    name: &str,
    within: Duration,
) -> Result<(), ServerError> {
    use http_body_util::BodyExt;
    let work = async {
        while let Some(frame) = body.frame().await {
            let frame = frame
                .map_err(|e| ServerError::BadRequest(format!("the request body was cut: {e}")))?;
            if let Ok(data) = frame.into_data() {
                match uploads.append(device, name, &data) {
                    Appended::Kept => {}
                    // Made room for others while it arrived: the device starts it again.
                    Appended::Gone => return Err(ServerError::UploadOffset(0)),
                    Appended::TooLong => {
                        return Err(ServerError::TooLarge(
                            "the body is longer than its upload".into(),
                        ))
                    }
                }
            }
        }
        Ok(())
    };
    tokio::time::timeout(within, work).await.map_err(|_| {
        ServerError::Timeout(format!(
            "the request body did not arrive within {} s",
            within.as_secs()
        ))
    })?
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

async fn authenticate<R: Repository>(
    state: &Arc<AppState<R>>,
    headers: &HeaderMap,
) -> Result<Device, ServerError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ServerError::Unauthorized("no device credential (Authorization header)".into())
        })?;
    let cred = value
        .strip_prefix("Bearer ")
        .ok_or_else(|| ServerError::Unauthorized("the credential must be a Bearer token".into()))?;
    let (id, secret) = cred
        .split_once(':')
        .ok_or_else(|| ServerError::Unauthorized("malformed device credential".into()))?;
    let nonce = headers
        .get(mrm_crdt::protocol::NONCE_HEADER)
        .and_then(|v| v.to_str().ok());
    let device = state.service.authenticate(id, secret, nonce).await;
    if let Err(e) = &device {
        tracing::warn!(reason = %e, "refused credential");
    }
    device
}

async fn enroll<R: Repository>(
    State(state): State<Arc<AppState<R>>>,
    body: Body,
) -> Result<Response, ServerError> {
    let body = read_body(body, MAX_ENROLL_BODY, state.enroll_timeout).await?;
    let req: EnrollRequest = serde_json::from_slice(&body)
        .map_err(|e| ServerError::BadRequest(format!("malformed enrollment request: {e}")))?;
    let resp = state.service.enroll(&req).await?;
    tracing::info!(device = %resp.device_id, role = resp.role.as_str(), "device enrolled");
    Ok(Json(resp).into_response())
}

async fn me<R: Repository>(
    State(state): State<Arc<AppState<R>>>,
    headers: HeaderMap,
) -> Result<Json<MeResponse>, ServerError> {
    let d = authenticate(&state, &headers).await?;
    let mission = state
        .service
        .config()
        .await?
        .map(|c| c.mission)
        .unwrap_or_default();
    Ok(Json(MeResponse {
        device_id: d.id,
        officer: d.officer,
        team: d.team,
        role: d.role,
        mission,
        now: Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        log_epoch: Some(state.service.log_epoch().await?),
        relays: true,
        uploads: true,
    }))
}

async fn push<R: Repository>(
    State(state): State<Arc<AppState<R>>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ServerError> {
    // The credential first: a stranger's body is never read.
    let device = authenticate(&state, &headers).await?;
    let started = Instant::now();
    let _turn = state
        .turns
        .take(&device.id, "push", state.body_timeout)
        .await?;
    let upload = upload_of(&headers)?;
    let body = match &upload {
        None => read_body(body, MAX_BODY, state.body_timeout).await,
        Some((name, total, offset)) => {
            // Not the endpoint's offset: said, never audited (a device after a cut asks so).
            state
                .uploads
                .begin(&device.id, name, *total, *offset)
                .map_err(|Offset(at)| ServerError::UploadOffset(at as u64))?;
            receive(body, &state.uploads, &device.id, name, state.body_timeout)
                .await
                .and_then(|()| {
                    state
                        .uploads
                        .whole(&device.id, name)
                        .map(Bytes::from)
                        .ok_or_else(|| {
                            ServerError::UploadOffset(
                                state.uploads.continue_at(&device.id, name) as u64
                            )
                        })
                })
        }
    };
    if let Err(ServerError::UploadOffset(at)) = body {
        return Err(ServerError::UploadOffset(at));
    }
    let result = match body {
        Ok(body) => {
            // The body has arrived: only now a global slot, for decoding and applying.
            let _slot = tokio::time::timeout(state.body_timeout, state.push_slots.acquire())
                .await
                .map_err(|_| busy(state.body_timeout))?
                .map_err(|e| ServerError::Internal(e.to_string()))?;
            let decoded = tokio::task::spawn_blocking(move || {
                bundle::decode_frames_tagged::<serde_json::Value>(&body, PUSH_LIMITS).map_err(|e| {
                    match e {
                        mrm_crdt::Error::TooLarge(m) => ServerError::TooLarge(m),
                        e => ServerError::BadRequest(e.to_string()),
                    }
                })
            })
            .await
            .map_err(|e| ServerError::Internal(format!("worker failed: {e}")))?;
            match decoded {
                Ok((_header, changes, tags)) => {
                    state.service.push_relayed(&device, changes, tags).await
                }
                Err(e) => {
                    state.service.push_refused(&device, &e).await;
                    Err(e)
                }
            }
        }
        Err(e) => {
            state
                .service
                .push_refused(&device, &ServerError::BadRequest(e.to_string()))
                .await;
            Err(e)
        }
    };
    match &result {
        Ok(r) => tracing::info!(device = %device.id, accepted = r.accepted,
            duplicates = r.duplicates, ms = started.elapsed().as_millis() as u64, "push"),
        Err(e) => tracing::warn!(device = %device.id, reason = %e, "push refused"),
    }
    Ok(Json(result?).into_response())
}

#[derive(Deserialize)]
struct PullQuery {
    #[serde(default)]
    cursor: i64,
    limit: Option<i64>,
}

async fn pull<R: Repository>(
    State(state): State<Arc<AppState<R>>>,
    headers: HeaderMap,
    query: Result<Query<PullQuery>, QueryRejection>,
) -> Result<Response, ServerError> {
    let device = authenticate(&state, &headers).await?;
    let Query(q) = query.map_err(|e| ServerError::BadRequest(format!("pull: {e}")))?;
    if q.cursor < 0 {
        return Err(ServerError::BadRequest("cursor must be 0 or more".into()));
    }
    let turn = state
        .turns
        .take(&device.id, "pull", state.body_timeout)
        .await?;
    let limit = q.limit.unwrap_or(PULL_PAGE);
    let address = PageAddress {
        cursor: q.cursor,
        limit,
        scope: format!("{} {}", device.team, device.role.as_str()),
    };
    // The rest of a page this device was sent and did not get whole: the same bytes, from
    // where it stopped, without building the page again.
    let kept = headers
        .get(header::IF_RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().trim_matches('"'))
        .zip(
            headers
                .get(header::RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(range_start),
        )
        .and_then(|(etag, start)| {
            let page = state.pages.get(&device.id, &address, etag)?;
            (start < page.len()).then(|| (etag.to_string(), start, page))
        });
    if let Some((etag, start, page)) = kept {
        let total = page.len();
        tracing::info!(device = %device.id, cursor = q.cursor, from = start, bytes = total,
            "pull resumed");
        let body = Body::new(Held {
            page: page.slice(start..),
            _turn: turn,
        });
        return Ok((
            StatusCode::PARTIAL_CONTENT,
            [
                (header::CONTENT_TYPE, PAGE_TYPE.to_string()),
                (header::ETAG, format!("\"{etag}\"")),
                (
                    header::CONTENT_RANGE,
                    format!("bytes {start}-{}/{total}", total - 1),
                ),
            ],
            body,
        )
            .into_response());
    }
    let slot = tokio::time::timeout(state.body_timeout, state.pull_slots.clone().acquire_owned())
        .await
        .map_err(|_| busy(state.body_timeout))?
        .map_err(|e| ServerError::Internal(e.to_string()))?;
    let started = Instant::now();
    let (header, changes): (PullHeader, _) = state.service.pull(&device, q.cursor, limit).await?;
    let body = bundle::encode_frames(&header, &changes)
        .map_err(|e| ServerError::Internal(e.to_string()))?;
    tracing::info!(device = %device.id, cursor = q.cursor, sent = changes.len(), bytes = body.len(),
        ms = started.elapsed().as_millis() as u64, "pull");
    drop(changes);
    // The page is built: the build slot goes back; the device's turn stays with the page until
    // it is written out, sent in chunks so that "written" means taken by the connection.
    drop(slot);
    let page = Bytes::from(body);
    // An empty page is cheap to build again: only pages with changes are kept.
    let etag = (header.count > 0).then(|| state.pages.keep(&device.id, address, page.clone()));
    let body = Body::new(Held { page, _turn: turn });
    let mut response = ([(header::CONTENT_TYPE, PAGE_TYPE)], body).into_response();
    if let Some(etag) = etag {
        if let Ok(v) = format!("\"{etag}\"").parse() {
            response.headers_mut().insert(header::ETAG, v);
        }
    }
    Ok(response)
}

/// The media type of framed messages (pull pages, push batches).
const PAGE_TYPE: &str = "application/x-mrm-frames";

/// A pull page sent in [`CHUNK`]-byte frames, keeping its device's pull turn until the last frame
/// has been taken or the connection dropped: hyper asks for the next frame only once the previous
/// one is written, so a device that does not read holds one page, not one per request.
struct Held {
    page: Bytes,
    _turn: tokio::sync::OwnedSemaphorePermit,
}

/// Bytes of a pull page handed to the connection at a time.
const CHUNK: usize = 64 * 1024;

impl HttpBody for Held {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        if self.page.is_empty() {
            return std::task::Poll::Ready(None);
        }
        let n = self.page.len().min(CHUNK);
        let chunk = self.page.split_to(n);
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.page.is_empty()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.page.len() as u64)
    }
}
