//! An incident's violations summed up on its projection row (schema 16), so that the caseload's
//! counts, sorts and violation filters read one narrow index instead of every violation row: the
//! live violations and their children, and `vmask`, one integer saying which violation types,
//! verification statuses and parties the incident's live violations have.
//!
//! `vmask` bits: 0–15 a violation type (its place in [`ViolationType::ALL`]), 16–31 a
//! verification status (in [`VerificationStatus::ALL`]), 32–61 a party, by a hash of its NFC
//! name. Type and status bits are exact; a party bit is shared by the names hashing to it, so a
//! party filter (or two filters that must hold for one and the same violation) also checks the
//! violation rows, but only of the incidents whose mask allows it.
//!
//! And `local_seq` (schema 17): the log position of this device's latest own change to the
//! incident, so that "waiting to be sent" is one comparison with the endpoint's acknowledged
//! position (`sync_state.push_seq`) on the same index.

use mrm_crdt::model::{VerificationStatus, ViolationType};
use rusqlite::Transaction;

use mrm_crdt::error::Result;

/// The bits a party name may take: 32 to 61, keeping the mask positive.
const PARTY_BITS: u64 = 30;

/// The bit of violation type `t` (a store name, [`ViolationType::as_str`]); 0 for a name the
/// vocabulary does not have.
pub(crate) fn type_bit(t: &str) -> i64 {
    ViolationType::ALL
        .iter()
        .position(|k| k.as_str() == t)
        .map_or(0, |i| 1 << i)
}

/// The bit of verification status `s` ([`VerificationStatus::as_str`]); 0 for an unknown name.
pub(crate) fn status_bit(s: &str) -> i64 {
    VerificationStatus::ALL
        .iter()
        .position(|k| k.as_str() == s)
        .map_or(0, |i| 1 << (16 + i))
}

/// The bit of party `p` (an NFC name, as the projection keeps it); 0 for no party. FNV-1a, so
/// that the bit is the same on every device and in every version.
pub(crate) fn party_bit(p: &str) -> i64 {
    if p.is_empty() {
        return 0;
    }
    let hash = p.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    1 << (32 + hash % PARTY_BITS)
}

/// The mask of one violation.
pub(crate) fn violation_mask(kind: &str, status: &str, party: &str) -> i64 {
    type_bit(kind) | status_bit(status) | party_bit(party)
}

/// Whether party `p`'s bit is its own among every party name violation rows have held
/// (`party_names`), so that an incident's mask alone says whether one of its violations names it.
///
/// Errors: `Error::Database` when the store cannot be read.
pub(crate) fn party_bit_is_exact(conn: &rusqlite::Connection, p: &str) -> Result<bool> {
    let bit = party_bit(p);
    let mut stmt = conn.prepare_cached("SELECT name FROM party_names")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let name = r.get_ref(0)?;
        let name = name.as_str().unwrap_or_default();
        if name != p && party_bit(name) == bit {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Keep party `p` (an NFC name) in `party_names`, the names [`party_bit_is_exact`] compares.
pub(crate) fn note_party(conn: &rusqlite::Connection, p: &str) -> Result<()> {
    if !p.is_empty() {
        conn.prepare_cached("INSERT OR IGNORE INTO party_names (name) VALUES (?1)")?
            .execute([p])?;
    }
    Ok(())
}

/// Fill the sums and masks of every incident row from its violation rows (schema 16's
/// migration: the rows are there, so no document is read).
pub(crate) fn fill(tx: &Transaction<'_>) -> Result<()> {
    // In Rust, adding as the projection does (saturating): SQL's SUM would fail the migration,
    // and so every open of the store, on one hostile record's counts.
    #[derive(Default)]
    struct Facts {
        nv: i64,
        boys: i64,
        girls: i64,
        unknown: i64,
        mask: i64,
    }
    let mut facts: std::collections::HashMap<String, Facts> = Default::default();
    {
        let mut stmt = tx.prepare(
            "SELECT incident_id, type, status, party, boys, girls, sex_unknown FROM violations",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let (kind, status, party): (String, String, String) = (r.get(1)?, r.get(2)?, r.get(3)?);
            let f = facts.entry(r.get(0)?).or_default();
            f.nv = f.nv.saturating_add(1);
            f.boys = f.boys.saturating_add(r.get(4)?);
            f.girls = f.girls.saturating_add(r.get(5)?);
            f.unknown = f.unknown.saturating_add(r.get(6)?);
            f.mask |= violation_mask(&kind, &status, &party);
        }
    }
    tx.execute_batch(
        "INSERT OR IGNORE INTO party_names (name) SELECT DISTINCT party FROM violations
         WHERE party != ''",
    )?;
    let mut update = tx.prepare(
        "UPDATE incidents SET nv = ?2, boys = ?3, girls = ?4, unk = ?5, vmask = ?6 WHERE id = ?1",
    )?;
    for (id, f) in facts {
        update.execute(rusqlite::params![
            id, f.nv, f.boys, f.girls, f.unknown, f.mask
        ])?;
    }
    Ok(())
}

/// Sets every incident's `local_seq` (schema 17) from the change log: the sequence number of
/// this device's latest own change to it, 0 when it has none. The projection writes it with each
/// record; this is for when the log changes under the rows (`mrm recover` handing the former
/// identity's changes over; schema 17's fill does the same in its SQL). Rows already right are
/// not written.
pub(crate) const REFRESH_LOCAL_SEQ: &str = "UPDATE incidents SET local_seq = COALESCE(
        (SELECT MAX(c.seq) FROM changes c INDEXED BY changes_local
         WHERE c.doc_id = incidents.id AND c.local = 1), 0)
    WHERE local_seq IS NOT COALESCE(
        (SELECT MAX(c.seq) FROM changes c INDEXED BY changes_local
         WHERE c.doc_id = incidents.id AND c.local = 1), 0)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_apart_and_stable() {
        let mut seen = 0i64;
        for t in ViolationType::ALL {
            let b = type_bit(t.as_str());
            assert_eq!(b.count_ones(), 1);
            assert_eq!(seen & b, 0);
            seen |= b;
        }
        for s in VerificationStatus::ALL {
            let b = status_bit(s.as_str());
            assert_eq!(b.count_ones(), 1);
            assert_eq!(seen & b, 0);
            seen |= b;
        }
        assert_eq!(
            seen >> 32,
            0,
            "types and statuses leave the party bits free"
        );
        for p in ["Alpha Front", "Grp Alfa", "Forces armées", "x"] {
            let b = party_bit(p);
            assert_eq!(b.count_ones(), 1);
            assert!(b >= 1 << 32, "{p}: {b:#x}");
        }
        assert_eq!(party_bit(""), 0);
        assert_eq!(type_bit("no such type"), 0);
        // The same name, the same bit, on every device and in every version.
        assert_eq!(party_bit("Alpha Front"), party_bit("Alpha Front"));
        assert_eq!(party_bit("Alpha Front"), 1 << (32 + 24));
    }
}
