//! Typed errors of the core library.

use std::fmt;

/// One problem with one field of a record, as shown next to that field.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    /// A path into the record as in JSON, e.g. `violations[2].victims.boys`.
    pub field: String,
    /// In English, for the CLI and logs.
    pub message: String,
    /// A stable name of the problem, for the app to say it in the reader's language (`None`
    /// where only the English message exists): `date_order`, `ended_before_began`, `in_future`, `before_occurred`,
    /// `unknown_source`, `fewer_than_coded`, `withdrawal_contested`, `changed_since_decision`,
    /// `cites_withdrawn_source`, `split_late_changes`,
    /// `recorded_twice`, for violation details (`crate::details::problem`)
    /// `detail_not_of_type`, `detail_unknown`, `detail_term`, `detail_flag`, `detail_days`, and
    /// for what a form may send wrong `required`, `not_a_date`, `implausible_date`, `too_long`,
    /// `control_character`, `name_not_code`, `negative`, `province_not_listed`,
    /// `district_not_listed`, `party_not_listed`, `team_not_listed`, and for coordinates against
    /// their province's extent (`crate::bounds`) `coordinates_outside_province`,
    /// `coordinates_swapped`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    /// The values the message names, by name, for the translated text.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub params: std::collections::BTreeMap<&'static str, String>,
}

/// Every problem found in a record, so a form can show them all at once.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldErrors(pub Vec<FieldError>);

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", e.field, e.message)?;
        }
        Ok(())
    }
}

/// What can go wrong in the core library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid {what}: {errors}")]
    Invalid {
        what: &'static str,
        errors: FieldErrors,
    },
    #[error("unknown {what} `{value}` (expected one of: {expected})")]
    UnknownValue {
        what: &'static str,
        value: String,
        expected: String,
    },
    #[error("no {kind} with id {id} in this store")]
    NotFound { kind: &'static str, id: String },
    #[error("no store at {0}: run `mrm --data DIR init` first")]
    NotInitialised(String),
    #[error("a store already exists at {0}; refusing to overwrite it")]
    AlreadyInitialised(String),
    #[error("malformed JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("invalid bundle: {0}")]
    Bundle(String),
    /// A message or file is larger than this program takes ([`crate::bundle::FrameLimits`]).
    #[error("too large: {0}")]
    TooLarge(String),
    #[error("this bundle belongs to mission {found}, this store to mission {expected}")]
    WrongMission { expected: String, found: String },
    #[error("{0} change(s) depend on changes that are not in this store or bundle")]
    MissingDependencies(usize),
    /// A received change reuses the number (Automerge's sequence number) of a different change
    /// by the same author in the same record: one of the two came from a copy of a store, or a
    /// store restored from a backup, that went on recording under the same identity.
    #[error("record {record}: change number {seq} of author {actor} differs from the change by that number this store already holds (a copied or restored store reused its identity)")]
    IdentityReused {
        record: String,
        seq: u64,
        actor: String,
    },
    #[error("{0}")]
    Refused(String),
    /// The one policy refuses the write ([`crate::policy`]); nothing was written. (Not a
    /// `#[from]` source: the sentence is said once, not again as its cause.)
    #[error("refused: {0}")]
    Denied(crate::policy::Denial),
    #[error("the store's schema version {found} is newer than this program supports ({supported}); update mrm")]
    SchemaTooNew { found: i64, supported: i64 },
    #[error("cannot reach the sync endpoint: {0}")]
    Network(String),
    #[error("the sync endpoint refused the request: {message}")]
    Server {
        status: u16,
        /// The endpoint's machine-readable reason (`revoked`, `forbidden`, ...).
        code: String,
        message: String,
    },
    #[error("this device has been revoked by the mission: its local store has been wiped")]
    Revoked,
    #[error("the sync endpoint's certificate has changed (pinned sha256 {expected}, got {found}); nothing was sent. If the mission replaced it, re-enroll this device")]
    CertificateChanged { expected: String, found: String },
    #[error("wrong passphrase")]
    WrongPassphrase,
    #[error("invalid bundle: wrong passphrase, or the file is damaged or cut short; nothing was imported")]
    BundleUnreadable,
    #[error("encryption: {0}")]
    Crypto(String),
    #[error("sync cancelled")]
    Cancelled,
    #[error("this store is not enrolled with a sync endpoint: run `mrm enroll` first")]
    NotEnrolled,
    /// The device's database failed (the store's only error that is not about the record).
    #[error("database error: {0}")]
    Database(String),
    #[error("document error: {0}")]
    Automerge(#[from] automerge::AutomergeError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl From<crate::policy::Denial> for Error {
    fn from(d: crate::policy::Denial) -> Self {
        Error::Denied(d)
    }
}

impl Error {
    /// A single-field validation error.
    pub fn invalid(
        what: &'static str,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Error::Invalid {
            what,
            errors: FieldErrors(vec![FieldError {
                field: field.into(),
                message: message.into(),
                ..Default::default()
            }]),
        }
    }

    /// A single-field validation error with its [`FieldError::code`] and the values it names,
    /// so the app says it in the reader's language.
    pub fn invalid_coded(
        what: &'static str,
        field: impl Into<String>,
        message: impl Into<String>,
        code: &'static str,
        params: &[(&'static str, String)],
    ) -> Self {
        Error::Invalid {
            what,
            errors: FieldErrors(vec![FieldError {
                field: field.into(),
                message: message.into(),
                code: Some(code),
                params: params.iter().cloned().collect(),
            }]),
        }
    }

    /// Wrap an IO error with what was being done.
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| Error::Io { context, source }
    }
}

/// Result with the library's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The store (`mrm-store`, which turns on the `sqlite` feature) reports its database's failures
/// in the one error type. The conversion is all this crate knows of SQLite: built alone it links
/// none, and nothing here ever opens a database.
#[cfg(feature = "sqlite")]
impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Database(e.to_string())
    }
}
