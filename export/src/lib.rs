//! MRM Field's report files, made offline from a report the store computed
//! (`mrm_crdt::report`, docs/reporting.md):
//!
//! - [`xlsx::workbook`]: every table of a GHN or annual report, one sheet each, and the list of
//!   the violations they count, as an XLSX workbook (text is always written as text, so nothing
//!   typed into a record runs as a formula);
//! - [`factsheet::pdf`]: a one-page printable factsheet of a year (or any period), in the
//!   spirit of DPO's mission factsheets: grave violations by type, verified against reported,
//!   children by sex, patrols.
//!
//! The files are made as bytes; [`files::write_private`] is the one way the CLI and the app put
//! them on disk (new, owner-only, never through a link).

#![forbid(unsafe_code)]

pub mod factsheet;
pub mod files;
mod labels;
pub mod xlsx;

pub use labels::Lang;

/// Why a file could not be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The XLSX writer refused the workbook (a sheet over Excel's limits).
    #[error("cannot write the workbook: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    /// The store could not give the report's violations.
    #[error(transparent)]
    Store(#[from] mrm_crdt::Error),
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
