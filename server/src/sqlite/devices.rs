//! Devices, their credentials' hashes and enrollment tokens in SQLite.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{audit, log, unique_or};
use crate::model::Device;
use crate::repository::{
    Append, Conflict, DeviceRow, Enrollment, NewAudit, RepoError, RepoResult, TokenRow,
};
use mrm_crdt::protocol::Role;

const DEVICE_COLS: &str =
    "id, officer, team, role, actor, created_at, enrolled_at, revoked_at, last_sync_at";

fn device_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Device> {
    let role: String = r.get(3)?;
    Ok(Device {
        id: r.get(0)?,
        officer: r.get(1)?,
        team: r.get(2)?,
        // Only the service writes roles, from the enum; a row it cannot read gets the least.
        role: Role::parse(&role).unwrap_or(Role::Officer),
        actor: r.get(4)?,
        created_at: r.get(5)?,
        enrolled_at: r.get(6)?,
        revoked_at: r.get(7)?,
        last_sync_at: r.get(8)?,
    })
}

pub(super) fn row(conn: &Connection, id: &str) -> RepoResult<Option<DeviceRow>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {DEVICE_COLS}, secret_hash FROM devices WHERE id = ?1"
        ))?
        .query_row([id], |r| {
            Ok(DeviceRow {
                device: device_from_row(r)?,
                secret_hash: r.get(9)?,
            })
        })
        .optional()?)
}

pub(super) fn all(conn: &Connection) -> RepoResult<Vec<Device>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {DEVICE_COLS} FROM devices ORDER BY created_at, id"
    ))?;
    let rows = stmt.query_map([], device_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn token(conn: &Connection, hash: &str) -> RepoResult<Option<TokenRow>> {
    Ok(conn
        .query_row(
            "SELECT token_hash, device_id, expires_at, used_at, allow_unproven
             FROM enrollment_tokens WHERE token_hash = ?1",
            [hash],
            |r| {
                Ok(TokenRow {
                    token_hash: r.get(0)?,
                    device_id: r.get(1)?,
                    expires_at: r.get(2)?,
                    used_at: r.get(3)?,
                    allow_unproven: r.get(4)?,
                })
            },
        )
        .optional()?)
}

pub(super) fn create(
    conn: &mut Connection,
    d: &Device,
    t: &TokenRow,
    entry: &NewAudit,
) -> RepoResult<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "INSERT INTO devices (id, officer, team, role, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![d.id, d.officer, d.team, d.role.as_str(), d.created_at],
    )
    .map_err(|e| unique_or(e, Conflict::DeviceExists))?;
    tx.execute(
        "INSERT INTO enrollment_tokens (token_hash, device_id, expires_at, used_at, allow_unproven)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            t.token_hash,
            t.device_id,
            t.expires_at,
            t.used_at,
            t.allow_unproven
        ],
    )
    .map_err(|e| unique_or(e, Conflict::DeviceExists))?;
    audit(&tx, entry)?;
    tx.commit()?;
    Ok(())
}

pub(super) fn enroll(conn: &mut Connection, e: &Enrollment) -> RepoResult<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // The token is used once, whoever else is enrolling with it at this moment: the update
    // takes it only while it is unused, under the write lock.
    let took = tx.execute(
        "UPDATE enrollment_tokens SET used_at = ?1
         WHERE token_hash = ?2 AND device_id = ?3 AND used_at IS NULL",
        params![e.at, e.token_hash, e.device_id],
    )?;
    if took == 0 {
        return Err(RepoError::Conflict(Conflict::TokenUsed));
    }
    let taken: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM devices WHERE actor = ?1 AND id <> ?2)",
        params![e.actor, e.device_id],
        |r| r.get(0),
    )?;
    if taken {
        return Err(RepoError::Conflict(Conflict::ActorTaken));
    }
    // A device revoked meanwhile (by this or another instance) is not enrolled after all.
    let n = tx
        .execute(
            "UPDATE devices SET actor = ?1, secret_hash = ?2, enrolled_at = ?3
             WHERE id = ?4 AND revoked_at IS NULL",
            params![e.actor, e.secret_hash, e.at, e.device_id],
        )
        .map_err(|err| unique_or(err, Conflict::ActorTaken))?;
    if n == 0 {
        let exists = row(&tx, &e.device_id)?.is_some();
        return Err(if exists {
            RepoError::Conflict(Conflict::Revoked)
        } else {
            RepoError::NotFound
        });
    }
    log::append(&tx, &e.append)?;
    tx.commit()?;
    Ok(())
}

pub(super) fn revoke(
    conn: &mut Connection,
    id: &str,
    actor: Option<&str>,
    at: &str,
    a: &Append,
) -> RepoResult<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Only while the device is as the registry's change was computed from (`IS`: NULL-safe).
    let n = tx.execute(
        "UPDATE devices SET revoked_at = COALESCE(revoked_at, ?1) WHERE id = ?2 AND actor IS ?3",
        params![at, id, actor],
    )?;
    if n == 0 {
        return Err(if row(&tx, id)?.is_some() {
            RepoError::Stale(format!("device {id} changed"))
        } else {
            RepoError::NotFound
        });
    }
    log::append(&tx, a)?;
    tx.commit()?;
    Ok(())
}
