//! The one way a report file reaches the disk.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Write `bytes` to `path` so that a crash leaves either the old file or the whole new one,
/// readable by this user only (exports are not encrypted). The target must be a regular file
/// or new: a folder, a device or a symbolic link is refused, never written through. The
/// temporary file beside it is created new (never an existing file or a link someone planted)
/// and removed on any failure, so no partial copy of the data stays behind.
///
/// Errors: an [`std::io::Error`] saying what the target is, or why it could not be written.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::{Error, ErrorKind};
    if let Ok(m) = std::fs::symlink_metadata(path) {
        if !m.file_type().is_file() {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                "it exists and is not a regular file (a folder, a device or a link): choose another name",
            ));
        }
    }
    let name = path
        .file_name()
        .ok_or_else(|| Error::new(ErrorKind::InvalidInput, "it names no file"))?;
    let tmp = path.with_file_name(format!(
        ".{}.{}-{}.partial",
        name.to_string_lossy(),
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    let written = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::write_private;

    #[test]
    fn a_link_a_folder_or_a_device_is_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere.txt");
        std::fs::write(&target, "keep").unwrap();
        let link = dir.path().join("report.xlsx");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(write_private(&link, b"data").is_err());
        assert!(write_private(dir.path(), b"data").is_err());
        assert!(write_private(std::path::Path::new("/dev/null"), b"data").is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        // Nothing partial left beside them.
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".partial")), "{names:?}");
        // A regular file is replaced whole, readable by its owner only.
        let out = dir.path().join("out.csv");
        write_private(&out, b"one").unwrap();
        write_private(&out, b"two").unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"two");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
