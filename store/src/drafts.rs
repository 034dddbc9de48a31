//! Drafts: what an officer typed that cannot be a record yet (a required field missing, a date
//! still wrong), kept so that nothing typed is lost when the app locks, crashes or restarts.
//!
//! A draft is the form as the app holds it (JSON the store does not interpret), sealed with the
//! store's database key (XChaCha20-Poly1305) in its own file under the store's folder, named by a
//! digest of its key and written atomically; a file moved under another draft's name is ignored
//! (the key sealed inside must match). Drafts never sync: they are not records,
//! and an incomplete report must not reach the mission; the app counts them apart from what waits
//! to be sent. A wipe removes them with the store.

use std::io::Write;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Store;
use mrm_crdt::crypto;
use mrm_crdt::error::{Error, Result};

/// The drafts' folder inside a store's folder.
pub const DRAFTS_DIR: &str = "drafts";
/// Largest draft kept, sealed (a form is a few KiB; notes at most a few hundred).
pub const MAX_DRAFT_BYTES: usize = 2 * 1024 * 1024;
const CONTEXT: &[u8] = b"mrm-field draft v1\0";

/// One kept draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    /// The caller's name for it (the app: `new:<patrol id>` or `edit:<incident id>`).
    pub key: String,
    /// RFC 3339, when it was last kept.
    pub saved_at: String,
    /// The form, as the app sent it.
    pub form: serde_json::Value,
}

impl Store {
    fn draft_path(&self, key: &str) -> PathBuf {
        let name = hex::encode(&Sha256::digest(key.as_bytes())[..16]);
        self.dir.join(DRAFTS_DIR).join(format!("{name}.draft"))
    }

    fn draft_key(&self) -> Result<&crypto::Key> {
        self.key
            .as_ref()
            .ok_or_else(|| Error::Refused("drafts are kept only in an encrypted store".into()))
    }

    /// Keep `form` as the draft `key`, replacing the one before: sealed, written to a new file,
    /// synced, then renamed over the old one (a crash leaves the old draft or the new, whole).
    ///
    /// Errors: [`Error::TooLarge`] past [`MAX_DRAFT_BYTES`]; [`Error::Io`] when the disk refuses.
    pub fn save_draft(&self, key: &str, form: &serde_json::Value) -> Result<()> {
        let draft = Draft {
            key: key.to_string(),
            saved_at: super::now_str(),
            form: form.clone(),
        };
        let plain = zeroize::Zeroizing::new(serde_json::to_vec(&draft)?);
        let (nonce, sealed) = crypto::seal_with(self.draft_key()?, CONTEXT, &plain)?;
        if sealed.len() > MAX_DRAFT_BYTES {
            return Err(Error::TooLarge(format!(
                "a draft may hold at most {MAX_DRAFT_BYTES} bytes"
            )));
        }
        let path = self.draft_path(key);
        let dir = self.dir.join(DRAFTS_DIR);
        std::fs::create_dir_all(&dir).map_err(Error::io("cannot keep the draft"))?;
        let tmp = path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp).map_err(Error::io("cannot keep the draft"))?;
        f.write_all(nonce.as_bytes())
            .and_then(|_| f.write_all(&sealed))
            .and_then(|_| f.sync_all())
            .map_err(Error::io("cannot keep the draft"))?;
        std::fs::rename(&tmp, &path).map_err(Error::io("cannot keep the draft"))?;
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// The draft kept under `key`, if any. A draft that does not open (damaged, or another
    /// store's) is ignored rather than refusing the form.
    pub fn draft(&self, key: &str) -> Result<Option<Draft>> {
        let bytes = match std::fs::read(self.draft_path(key)) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("cannot read the draft")(e)),
        };
        Ok(self.open_draft(&bytes).filter(|d| d.key == key))
    }

    fn open_draft(&self, bytes: &[u8]) -> Option<Draft> {
        if bytes.len() < 48 || bytes.len() > MAX_DRAFT_BYTES + 48 {
            return None;
        }
        let (nonce, sealed) = bytes.split_at(48);
        let nonce = std::str::from_utf8(nonce).ok()?;
        let plain = crypto::open_with(self.draft_key().ok()?, nonce, CONTEXT, sealed).ok()?;
        serde_json::from_slice::<Draft>(&plain).ok()
    }

    /// Every draft kept, newest first (the app counts them, apart from what waits to be sent).
    pub fn drafts(&self) -> Result<Vec<Draft>> {
        let dir = self.dir.join(DRAFTS_DIR);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("cannot list the drafts")(e)),
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("draft") {
                continue;
            }
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            // Only a draft filed under its own key's name counts.
            if let Some(d) = self.open_draft(&bytes) {
                if self.draft_path(&d.key) == path {
                    out.push(d);
                }
            }
        }
        out.sort_by(|a, b| b.saved_at.cmp(&a.saved_at));
        Ok(out)
    }

    /// Forget the draft `key` (saved as a record, or discarded by the officer).
    pub fn discard_draft(&self, key: &str) -> Result<()> {
        match std::fs::remove_file(self.draft_path(key)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("cannot discard the draft")(e)),
        }
    }
}
