//! What a request to the endpoint can end in, besides success. The HTTP layer maps each kind to
//! a status and a typed code (`crate::api`); nothing but [`ServerError::Internal`] hides its
//! message from the device.

use crate::repository::{Conflict, RepoError};

/// Why a request was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("{0}")]
    Unauthorized(String),
    #[error("this device has been revoked; it may not sync")]
    Revoked,
    /// [`ServerError::Revoked`] with the proof for the request's nonce.
    #[error("this device has been revoked; it may not sync")]
    RevokedProven(String),
    #[error("{0}")]
    Forbidden(String),
    /// The one policy refuses the effect of a batch on a record.
    #[error("record {record}: {denial}")]
    Denied {
        record: String,
        denial: mrm_crdt::policy::Denial,
    },
    #[error("{0}")]
    BadRequest(String),
    /// A body or message larger than the endpoint takes (HTTP 413, code `too_large`).
    #[error("too large: {0}")]
    TooLarge(String),
    /// A body that did not arrive in time, or a turn that did not come (HTTP 408, code
    /// `timeout`).
    #[error("{0}")]
    Timeout(String),
    /// Other writers kept changing what a write was computed from (other instances over the
    /// same database): nothing was written; the device retries later (HTTP 503, code `busy`,
    /// with `Retry-After`).
    #[error("{0}")]
    Busy(String),
    /// A change reuses the number of a different change by the same device in the same record
    /// (HTTP 409, code `identity_reused`): the device's store is a copy of another, or was
    /// restored from a backup, and both went on recording under one identity. Nothing of the
    /// batch is stored; the device holds the record and re-records its work under a new
    /// identity (`mrm recover`).
    #[error("record {record}: this device's change number {seq} differs from the one the endpoint already holds under that number; this store is a copy of another laptop's store, or was restored from a backup")]
    IdentityReused { record: String, seq: u64 },
    /// A relayed change the endpoint can never take from anyone: its authorship tag does not
    /// check out, its actor is no device of the mission, or its author was revoked (HTTP 403,
    /// code `unvouched`). The relaying device drops it for good; other refusals it tries again.
    #[error("{0}")]
    Unvouched(String),
    /// The batch depends on changes the endpoint does not have yet.
    #[error("{0}")]
    MissingDependencies(String),
    #[error("{0}")]
    NotFound(String),
    /// A push continues an upload from another offset than the endpoint holds (HTTP 409, code
    /// `upload_offset`, with the offset to continue from; see [`crate::uploads`]).
    #[error("the endpoint holds {0} bytes of this upload: continue from there")]
    UploadOffset(u64),
    #[error("internal error: {0}")]
    Internal(String),
    /// The endpoint's database cannot be used as given (in clear, another key, no key): said at
    /// start, never to a device.
    #[error("the endpoint's database: {0}")]
    Unusable(String),
}

impl From<RepoError> for ServerError {
    fn from(e: RepoError) -> Self {
        match e {
            RepoError::NotFound => ServerError::NotFound("no such device".into()),
            RepoError::Conflict(Conflict::TokenUsed) => {
                ServerError::Unauthorized("this enrollment token has already been used".into())
            }
            RepoError::Conflict(Conflict::ActorTaken) => ServerError::Forbidden(
                "this store is already enrolled as another device (if it is a copy of \
                     another laptop's store, run `mrm recover` first, then enroll)"
                    .into(),
            ),
            RepoError::Conflict(Conflict::Revoked) => ServerError::Revoked,
            RepoError::Stale(_) => ServerError::Busy(
                "the endpoint is busy with other writes to the same records; try again".into(),
            ),
            other => ServerError::Internal(format!("database: {other}")),
        }
    }
}

impl From<mrm_crdt::Error> for ServerError {
    fn from(e: mrm_crdt::Error) -> Self {
        match e {
            mrm_crdt::Error::Database(e) => ServerError::Internal(format!("database: {e}")),
            other => ServerError::BadRequest(other.to_string()),
        }
    }
}

/// Result of the endpoint's service.
pub type Result<T, E = ServerError> = std::result::Result<T, E>;
