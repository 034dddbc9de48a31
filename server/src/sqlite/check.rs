//! Reading what a push check needs from the endpoint's database, and telling whether what a check
//! read is still so (the push checks on a reader, then stores under the write lock).

use automerge::{Automerge, ChangeHash};
use rusqlite::{Connection, OptionalExtension};

use crate::checks::{check_batch, Checked};
use crate::model::Device;
use crate::storage::{Result, ServerError};

pub(super) fn load_snapshot(conn: &Connection, doc_id: &str) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .prepare_cached("SELECT snapshot FROM docs WHERE doc_id = ?1")?
        .query_row([doc_id], |r| r.get(0))
        .optional()?)
}

fn decode_doc(doc_id: &str, snap: Option<&[u8]>) -> Result<Option<Automerge>> {
    snap.map(|s| {
        Automerge::load(s).map_err(|e| ServerError::Internal(format!("record {doc_id}: {e}")))
    })
    .transpose()
}

pub(super) fn load_doc(conn: &Connection, doc_id: &str) -> Result<Option<Automerge>> {
    decode_doc(doc_id, load_snapshot(conn, doc_id)?.as_deref())
}

fn has_change(conn: &Connection, h: &ChangeHash) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM changes WHERE hash = ?1")?
        .query_row([h.to_string()], |_| Ok(()))
        .optional()?
        .is_some())
}

/// What a check read from the database: each record's snapshot and the hashes found new. If all
/// of it is still so under the write lock, the check's result still holds.
#[derive(Default)]
pub(super) struct Read {
    docs: Vec<(String, Option<Vec<u8>>)>,
    new_hashes: Vec<ChangeHash>,
}

impl Read {
    pub(super) fn still_holds(&self, conn: &Connection) -> Result<bool> {
        for (id, snap) in &self.docs {
            if load_snapshot(conn, id)? != *snap {
                return Ok(false);
            }
        }
        for h in &self.new_hashes {
            if has_change(conn, h)? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// Check a batch against what `conn` sees, remembering what was read.
pub(super) fn check_reading(
    conn: &Connection,
    device: &Device,
    changes: Vec<(String, Vec<u8>)>,
) -> Result<(Checked, Read)> {
    let read = std::cell::RefCell::new(Read::default());
    let checked = check_batch(
        device,
        changes,
        |id| {
            let snap = load_snapshot(conn, id)?;
            let doc = decode_doc(id, snap.as_deref());
            read.borrow_mut().docs.push((id.to_string(), snap));
            doc
        },
        |h: &ChangeHash| {
            let known = has_change(conn, h)?;
            if !known {
                read.borrow_mut().new_hashes.push(*h);
            }
            Ok(known)
        },
    )?;
    Ok((checked, read.into_inner()))
}

#[cfg(test)]
mod tests {
    use rusqlite::params;

    use super::Read;

    #[test]
    fn a_check_holds_only_while_what_it_read_is_unchanged() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("e.db");
        let key = mrm_crdt::crypto::Key::random().unwrap();
        crate::SqliteStorage::open(&path, &key).unwrap();
        let conn = super::super::at_rest::open_keyed(&path, &key).unwrap();
        let hash = automerge::ChangeHash([7; 32]);
        let read = Read {
            docs: vec![("r1".into(), None)],
            new_hashes: vec![hash],
        };
        assert!(read.still_holds(&conn).unwrap());
        // Another push stored the record meanwhile.
        conn.execute(
            "INSERT INTO docs (doc_id, kind, team, snapshot) VALUES ('r1', 'incident', 'A', x'00')",
            [],
        )
        .unwrap();
        assert!(!read.still_holds(&conn).unwrap());
        let read = Read {
            docs: vec![("r1".into(), Some(vec![0]))],
            new_hashes: vec![hash],
        };
        assert!(read.still_holds(&conn).unwrap());
        // ... or one of the changes.
        conn.execute(
            "INSERT INTO changes (doc_id, hash, actor, device_id, bytes, received_at)
             VALUES ('r2', ?1, 'a', 'd', x'00', 'now')",
            params![hash.to_string()],
        )
        .unwrap();
        assert!(!read.still_holds(&conn).unwrap());
    }
}
