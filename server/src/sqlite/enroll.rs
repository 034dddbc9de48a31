//! Enrollment: a one-time token exchanged for a device credential, the actor proven and bound,
//! the device registered for everyone to see who wrote what.

use mrm_crdt::sync::protocol::{actor_proven, revocation_key, EnrollRequest, EnrollResponse};
use rusqlite::{params, OptionalExtension, TransactionBehavior};

use super::{audit, device_from_row, lock, now, registry, SqliteStorage, DEVICE_COLS};
use crate::secret::{hash_secret, new_secret};
use crate::storage::{Result, ServerError, Storage};

impl SqliteStorage {
    pub(super) fn enroll_inner(&self, req: &EnrollRequest) -> Result<EnrollResponse> {
        let (token, team, mission) = (req.token.as_str(), req.team.as_str(), req.mission.as_str());
        let actor = req.actor.to_ascii_lowercase();
        let actor = actor.as_str();
        if actor.len() != 32 || !actor.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ServerError::BadRequest(
                "actor must be 32 hex digits".into(),
            ));
        }
        // Anyone who has seen a colleague's changes knows their actor id; only the store that
        // made it knows the seed it derives from.
        let proven = match req.actor_proof.as_deref() {
            Some(seed) => {
                if !actor_proven(actor, seed) {
                    return Err(ServerError::Forbidden(
                        "the store could not prove it holds the actor id it claims".into(),
                    ));
                }
                true
            }
            None => false,
        };
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row: Option<(String, String, Option<String>, bool)> = tx
            .query_row(
                "SELECT device_id, expires_at, used_at, allow_unproven FROM enrollment_tokens
                 WHERE token_hash = ?1",
                [hash_secret(token)],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let Some((device_id, expires, used, allow_unproven)) = row else {
            return Err(ServerError::Unauthorized("unknown enrollment token".into()));
        };
        if !proven && !allow_unproven {
            return Err(ServerError::Forbidden(
                "this store cannot prove its actor id (it was made by an earlier version): the \
                 admin must issue a token with `device enroll --legacy-store`"
                    .into(),
            ));
        }
        if used.is_some() {
            return Err(ServerError::Unauthorized(
                "this enrollment token has already been used".into(),
            ));
        }
        let expired = chrono::DateTime::parse_from_rfc3339(&expires)
            .map(|e| e < chrono::Utc::now())
            .unwrap_or(true);
        if expired {
            return Err(ServerError::Unauthorized(
                "this enrollment token has expired".into(),
            ));
        }
        let device = tx.query_row(
            &format!("SELECT {DEVICE_COLS} FROM devices WHERE id = ?1"),
            [&device_id],
            device_from_row,
        )?;
        if device.revoked_at.is_some() {
            return Err(ServerError::Revoked);
        }
        if device.team != team {
            return Err(ServerError::Forbidden(format!(
                "this token is for team {}, but the store belongs to team {team}",
                device.team
            )));
        }
        let served = self.config()?.map(|c| c.mission).unwrap_or_default();
        if !served.is_empty() && served != mission {
            return Err(ServerError::Forbidden(format!(
                "this endpoint serves mission {served}, but the store belongs to mission {mission}"
            )));
        }
        let taken: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM devices WHERE actor = ?1 AND id <> ?2)",
            params![actor, device_id],
            |r| r.get(0),
        )?;
        if taken {
            return Err(ServerError::Forbidden(
                "this store is already enrolled as another device".into(),
            ));
        }
        let secret = new_secret();
        tx.execute(
            "UPDATE devices SET actor = ?1, secret_hash = ?2, enrolled_at = ?3 WHERE id = ?4",
            params![actor, hash_secret(&secret), now(), device_id],
        )?;
        tx.execute(
            "UPDATE enrollment_tokens SET used_at = ?1 WHERE token_hash = ?2",
            params![now(), hash_secret(token)],
        )?;
        let enrolled = tx.query_row(
            &format!("SELECT {DEVICE_COLS} FROM devices WHERE id = ?1"),
            [&device_id],
            device_from_row,
        )?;
        registry::register(&tx, &self.actor, &enrolled)?;
        audit(
            &tx,
            "enrolled",
            Some(&device_id),
            serde_json::json!({"officer": device.officer, "team": device.team, "actor": actor,
                               "actor_proven": proven}),
        )?;
        tx.commit()?;
        Ok(EnrollResponse {
            secret,
            officer: device.officer,
            team: device.team,
            role: device.role,
            revocation_key: revocation_key(&self.revocation_master, &device_id),
            device_id,
            mission: served,
        })
    }
}
