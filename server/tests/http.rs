//! The endpoint's HTTP layer in process (tower's `oneshot`, no socket): the credential
//! extractor, the mapping of every kind of refusal to a status and a typed code, and the limits
//! applied before a body is read.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use mrm_crdt::protocol::{actor_from_seed, EnrollRequest, EnrollResponse, Role, MAX_BODY};
use mrm_server::{api, SqliteRepository, SqliteService};
use tower::ServiceExt;

struct Endpoint {
    _dir: tempfile::TempDir,
    app: axum::Router,
}

async fn service(dir: &std::path::Path) -> SqliteService {
    let key = mrm_crdt::crypto::Key::random().unwrap();
    let repo = SqliteRepository::open(&dir.join("e.db"), &key).unwrap();
    mrm_server::Service::open(repo).await.unwrap()
}

/// A one-time token for an officer of team A (`legacy`: for a store that cannot prove its
/// actor).
async fn officer_token(svc: &SqliteService, legacy: bool) -> String {
    svc.create_enrollment(
        "Officer O.",
        "A",
        Role::Officer,
        std::time::Duration::from_secs(60),
        legacy,
    )
    .await
    .unwrap()
    .1
}

/// An endpoint with one enrolled officer of team A; returns it and the officer's credential.
async fn endpoint() -> (Endpoint, String) {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(dir.path()).await;
    let token = officer_token(&svc, false).await;
    let app = api::router(svc);
    let seed = "5e".repeat(32);
    let req = EnrollRequest {
        token,
        team: "A".into(),
        mission: "MONUSCO".into(),
        actor: actor_from_seed(&seed, 1_700_000_000_000).unwrap(),
        actor_proof: Some(seed),
    };
    let resp = app
        .clone()
        .oneshot(
            Request::post("/v1/enroll")
                .body(Body::from(serde_json::to_vec(&req).unwrap()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    let enrolled: EnrollResponse = serde_json::from_slice(&body).unwrap();
    let cred = format!("Bearer {}:{}", enrolled.device_id, enrolled.secret);
    (Endpoint { _dir: dir, app }, cred)
}

/// Send a request; the status and the answer's JSON (`null` for a body that is not JSON).
async fn send(e: &Endpoint, req: Request<Body>) -> (StatusCode, serde_json::Value) {
    let resp = e.app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let body = axum::body::to_bytes(resp.into_body(), 64 << 20)
        .await
        .unwrap();
    (status, serde_json::from_slice(&body).unwrap_or_default())
}

#[tokio::test]
async fn every_refusal_has_a_status_and_a_typed_code() {
    let (e, cred) = endpoint().await;
    let cases: Vec<(Request<Body>, StatusCode, &str)> = vec![
        (
            Request::get("/v1/me").body(Body::empty()).unwrap(),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
        (
            Request::get("/v1/me")
                .header(header::AUTHORIZATION, "Basic abc")
                .body(Body::empty())
                .unwrap(),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
        (
            Request::get("/v1/me")
                .header(header::AUTHORIZATION, "Bearer no-colon")
                .body(Body::empty())
                .unwrap(),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
        (
            Request::get("/v1/me")
                .header(header::AUTHORIZATION, format!("{cred}x"))
                .body(Body::empty())
                .unwrap(),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
        (
            Request::get("/v1/nowhere").body(Body::empty()).unwrap(),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Request::delete("/v1/push").body(Body::empty()).unwrap(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            Request::post("/v1/enroll")
                .body(Body::from("{not json"))
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            Request::get("/v1/pull?cursor=-1")
                .header(header::AUTHORIZATION, &cred)
                .body(Body::empty())
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            Request::get("/v1/pull?cursor=abc")
                .header(header::AUTHORIZATION, &cred)
                .body(Body::empty())
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            Request::post("/v1/push")
                .header(header::AUTHORIZATION, &cred)
                .body(Body::from("these are not frames"))
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
    ];
    for (req, status, code) in cases {
        let what = format!("{} {}", req.method(), req.uri());
        let (got, body) = send(&e, req).await;
        assert_eq!(got, status, "{what}: {body}");
        assert_eq!(body["code"], code, "{what}: {body}");
        assert!(
            body["error"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: a message in words"
        );
    }
}

#[tokio::test]
async fn a_body_declared_too_large_is_refused_before_it_is_read() {
    let (e, cred) = endpoint().await;
    // The declared length alone refuses it: the stream below would never end.
    let endless = futures_stream(MAX_BODY + 1);
    let req = Request::post("/v1/push")
        .header(header::AUTHORIZATION, &cred)
        .header(header::CONTENT_LENGTH, (MAX_BODY + 1).to_string())
        .body(endless)
        .unwrap();
    let (status, body) = send(&e, req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["code"], "too_large");
    // A stranger's body is never read: no credential, no 413.
    let req = Request::post("/v1/push")
        .header(header::CONTENT_LENGTH, (MAX_BODY + 1).to_string())
        .body(futures_stream(MAX_BODY + 1))
        .unwrap();
    let (status, _) = send(&e, req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_credential_extractor_names_the_device() {
    let (e, cred) = endpoint().await;
    let (status, me) = send(
        &e,
        Request::get("/v1/me")
            .header(header::AUTHORIZATION, &cred)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["officer"], "Officer O.");
    assert_eq!(me["team"], "A");
    assert_eq!(me["role"], "officer");
    // An empty pull is a page with a header and no change.
    let resp = e
        .app
        .clone()
        .oneshot(
            Request::get("/v1/pull?cursor=0")
                .header(header::AUTHORIZATION, &cred)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = axum::body::to_bytes(resp.into_body(), 64 << 20)
        .await
        .unwrap();
    let (header, changes) =
        mrm_crdt::bundle::decode_frames::<mrm_crdt::protocol::PullHeader>(&body).unwrap();
    assert!(!header.more);
    // The registry names the officer: the one document every device gets at first.
    assert!(changes.len() <= 2, "{}", changes.len());
}

/// A body of `n` bytes that arrives in 64 KiB chunks.
fn futures_stream(n: usize) -> Body {
    let chunks = (0..n.div_ceil(65536)).map(move |i| {
        let len = (n - i * 65536).min(65536);
        Ok::<_, std::io::Error>(axum::body::Bytes::from(vec![0u8; len]))
    });
    Body::from_stream(futures_util::stream::iter(chunks))
}

#[tokio::test]
async fn a_store_may_not_enroll_as_the_endpoint_itself() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(dir.path()).await;
    let own = mrm_server::Repository::meta(svc.repository(), "actor")
        .await
        .unwrap()
        .unwrap();
    // A token for a store made before actors had seeds: the only way to claim an actor unproven.
    let token = officer_token(&svc, true).await;
    let req = EnrollRequest {
        token,
        team: "A".into(),
        mission: "MONUSCO".into(),
        actor: own,
        actor_proof: None,
    };
    match svc.enroll(&req).await {
        Err(mrm_server::ServerError::Forbidden(m)) => assert!(m.contains("endpoint"), "{m}"),
        other => panic!("enrolled as the endpoint: {other:?}"),
    }
}

#[tokio::test]
async fn contention_is_a_retry_later_with_a_typed_code() {
    use axum::response::IntoResponse;
    let resp = mrm_server::ServerError::Busy("busy".into()).into_response();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(resp.headers().contains_key(header::RETRY_AFTER));
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["code"], "busy");
}
