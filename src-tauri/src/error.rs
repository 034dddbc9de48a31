//! Errors as the UI receives them: a kind to branch on, a sentence to show, and per-field
//! messages for the form.

use mrm_crdt::{Error, FieldError};
use serde::Serialize;

/// An error returned by a command.
#[derive(Debug, Clone, Serialize)]
pub struct AppError {
    /// `invalid`, `not_found`, `no_store`, `locked`, `wrong_passphrase`, `revoked`, `network`,
    /// `server`, `refused`, `denied`, `internal`.
    pub kind: &'static str,
    /// For `denied`: the policy's reason ([`mrm_crdt::policy::Denial::code`]), for the UI to
    /// say in the user's language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    pub message: String,
    /// Problems per field (paths as in the record JSON, e.g. `violations[1].victims.boys`).
    pub fields: Vec<FieldError>,
}

impl AppError {
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        AppError {
            kind,
            message: message.into(),
            fields: Vec::new(),
            code: None,
        }
    }

    /// The store is locked: the passphrase is needed.
    pub fn locked() -> Self {
        AppError::new("locked", "the store is locked: enter the passphrase")
    }

    /// The store has not been set up yet (first run).
    pub fn no_store() -> Self {
        AppError::new("no_store", "this laptop has no store yet: set it up first")
    }

    pub fn internal(message: impl Into<String>) -> Self {
        AppError::new("internal", message)
    }
}

impl From<Error> for AppError {
    fn from(e: Error) -> Self {
        let message = e.to_string();
        match e {
            Error::Invalid { errors, .. } => AppError {
                kind: "invalid",
                message,
                fields: errors.0,
                code: None,
            },
            Error::Denied(d) => AppError {
                code: Some(d.code()),
                ..AppError::new("denied", message)
            },
            Error::Json(_) | Error::UnknownValue { .. } => AppError::new("invalid", message),
            Error::NotFound { .. } => AppError::new("not_found", message),
            Error::NotInitialised(_) => AppError::no_store(),
            Error::WrongPassphrase => AppError::new("wrong_passphrase", message),
            Error::Revoked => AppError::new("revoked", message),
            Error::Network(_) => AppError::new("network", message),
            Error::Server { .. } | Error::NotEnrolled => AppError::new("server", message),
            Error::Refused(_)
            | Error::AlreadyInitialised(_)
            | Error::WrongMission { .. }
            | Error::MissingDependencies(_)
            | Error::IdentityReused { .. }
            | Error::CertificateChanged { .. }
            | Error::Cancelled => AppError::new("refused", message),
            _ => AppError::internal(message),
        }
    }
}

impl From<rusqlite::Error> for AppError {
    fn from(e: rusqlite::Error) -> Self {
        AppError::from(Error::from(e))
    }
}

impl From<serde_json::Error> for AppError {
    fn from(e: serde_json::Error) -> Self {
        AppError::from(Error::from(e))
    }
}

/// What every command returns.
pub type CmdResult<T> = Result<T, AppError>;
