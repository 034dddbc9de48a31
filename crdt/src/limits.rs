//! One set of size limits for every layer: what an edit may add, how large a record may grow,
//! and therefore what bundles, pushes and pull pages must carry. Checked when the work is made
//! (`Store::write`, the app's form through it, imports), so nothing is ever recorded that a
//! layer further on would refuse: before these, an incident of 80 long source notes was accepted
//! at `incident add` and then stopped every later sync and bundle of the laptop.

/// Most bytes one change (one edit, as Automerge encodes it) may hold: 4 MiB, room for a
/// narrative and dozens of long source notes written at once (text compresses well inside a
/// change), and one push batch's worth ([`crate::protocol::PUSH_BATCH_BYTES`]).
pub const MAX_CHANGE_BYTES: usize = 4 * 1024 * 1024;

/// Most bytes a record's saved document may reach: 8 MiB, so that any record loads, syncs and
/// shows in well under a second on a field laptop.
pub const MAX_RECORD_BYTES: usize = 8 * 1024 * 1024;

/// The error for an edit whose change or resulting record is over a limit: a field error on
/// `record` with the code `too_large` and the sizes in MiB, for the form to say in the user's
/// language; nothing was written.
pub fn too_large(
    what: &'static str,
    part: &'static str,
    bytes: usize,
    limit: usize,
) -> crate::Error {
    let mib = |b: usize| format!("{:.1}", b as f64 / (1024.0 * 1024.0));
    let message = match part {
        "change" => format!(
            "this edit adds {} MiB; one edit may add at most {} MiB: save long notes over several edits",
            mib(bytes),
            mib(limit)
        ),
        _ => format!(
            "this record would reach {} MiB; a record may hold at most {} MiB: record further sources or notes as a separate incident",
            mib(bytes),
            mib(limit)
        ),
    };
    crate::Error::Invalid {
        what,
        errors: crate::error::FieldErrors(vec![crate::error::FieldError {
            field: "record".into(),
            message,
            code: Some(if part == "change" {
                "edit_too_large"
            } else {
                "record_too_large"
            }),
            params: [("size_mib", mib(bytes)), ("limit_mib", mib(limit))]
                .into_iter()
                .collect(),
        }]),
    }
}
