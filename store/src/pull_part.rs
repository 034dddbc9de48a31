//! A pull page received in part. A page is named by the endpoint (its `ETag`) and addressed by
//! the cursor and limit it was asked with; what arrived of it is kept here, in the encrypted
//! store, so that after a cut, or after the device's process was killed, the device asks for
//! the rest of the same page (`Range`, `If-Range`) instead of all of it again
//! (docs/sync-protocol.md, "Pages resumed by byte range").

use rusqlite::OptionalExtension;

use mrm_crdt::error::Result;

use crate::Store;

/// What arrived of one pull page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullPart {
    /// The pull cursor the page was asked after.
    pub cursor: i64,
    /// The page's limit, in changes, as it was asked (the rest must be asked the same way).
    pub limit: i64,
    /// The endpoint's name for the page (its `ETag`, without quotes); empty when it gave none,
    /// and then the page cannot be resumed.
    pub etag: String,
    /// The page's bytes received so far, from its first.
    pub bytes: Vec<u8>,
}

impl PullPart {
    /// Whether the rest of this part can be asked for at `cursor`.
    pub fn resumable_at(&self, cursor: i64) -> bool {
        self.cursor == cursor && !self.etag.is_empty() && !self.bytes.is_empty()
    }
}

impl Store {
    /// The page received in part, if the last pull was cut in the middle of one. Not enrolled,
    /// or nothing kept: `None`. A part kept by another version in another form reads as `None`
    /// (the page is then asked whole).
    pub fn pull_part(&self) -> Result<Option<PullPart>> {
        let row: Option<(Option<String>, Option<Vec<u8>>)> = self
            .conn()
            .query_row("SELECT part_at, part FROM sync_state", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        let Some((Some(at), Some(bytes))) = row else {
            return Ok(None);
        };
        let mut fields = at.splitn(3, ' ');
        let (Some(cursor), Some(limit), Some(etag)) = (fields.next(), fields.next(), fields.next())
        else {
            return Ok(None);
        };
        let (Ok(cursor), Ok(limit)) = (cursor.parse(), limit.parse()) else {
            return Ok(None);
        };
        Ok(Some(PullPart {
            cursor,
            limit,
            etag: etag.to_string(),
            bytes,
        }))
    }

    /// Keep what arrived of a page, replacing what was kept (a part without a name or bytes is
    /// not worth keeping, and clears it).
    pub fn save_pull_part(&mut self, part: &PullPart) -> Result<()> {
        if part.etag.is_empty() || part.bytes.is_empty() || part.etag.contains(' ') {
            return self.clear_pull_part();
        }
        let at = format!("{} {} {}", part.cursor, part.limit, part.etag);
        self.conn.execute(
            "UPDATE sync_state SET part_at = ?1, part = ?2",
            rusqlite::params![at, part.bytes],
        )?;
        Ok(())
    }

    /// Forget the page received in part.
    pub fn clear_pull_part(&mut self) -> Result<()> {
        self.conn
            .execute("UPDATE sync_state SET part_at = NULL, part = NULL", [])?;
        Ok(())
    }
}
