//! Enrollment: a one-time token exchanged for a device credential, the actor proven and bound,
//! the device registered for everyone to see who wrote what.

use mrm_crdt::protocol::{actor_proven, revocation_key, EnrollRequest, EnrollResponse};

use super::{entry, now, Service, ATTEMPTS};
use crate::error::{Result, ServerError};
use crate::repository::{AuditAction, Enrollment, RepoError, Repository};
use crate::secret::{hash_secret, new_secret};

impl<R: Repository> Service<R> {
    /// Exchange an enrollment token for a device credential, binding `req.actor` to the device
    /// once its proof holds (`mrm_crdt::protocol::actor_from_seed`). A token enrolls one
    /// store, once, whatever instances it is sent to at the same time.
    ///
    /// Errors: [`ServerError::BadRequest`] for a malformed actor; [`ServerError::Unauthorized`]
    /// for an unknown, used or expired token; [`ServerError::Forbidden`] for a proof that fails,
    /// an unproven store, another team or mission, an actor bound to another device;
    /// [`ServerError::Revoked`].
    pub async fn enroll(&self, req: &EnrollRequest) -> Result<EnrollResponse> {
        let result = self.enroll_inner(req).await;
        if let Err(e) = &result {
            // A refusal of someone holding a real token (a forged proof, another team) names the
            // device the token was issued for, and is logged apart from strangers' guesses.
            let holder = match self.repo.token(&hash_secret(&req.token)).await {
                Ok(t) => t.map(|t| t.device_id),
                Err(_) => None,
            };
            self.record_refusal(AuditAction::EnrollRefused, holder.as_deref(), e)
                .await;
        }
        result
    }

    async fn enroll_inner(&self, req: &EnrollRequest) -> Result<EnrollResponse> {
        let (team, mission) = (req.team.as_str(), req.mission.as_str());
        let actor = req.actor.to_ascii_lowercase();
        if actor.len() != 32 || !actor.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ServerError::BadRequest(
                "actor must be 32 hex digits".into(),
            ));
        }
        // Anyone who has seen a colleague's changes knows their actor id; only the store that
        // made it knows the seed it derives from.
        let proven = match req.actor_proof.as_deref() {
            Some(seed) => {
                if !actor_proven(&actor, seed) {
                    return Err(ServerError::Forbidden(
                        "the store could not prove it holds the actor id it claims".into(),
                    ));
                }
                true
            }
            None => false,
        };
        // The endpoint writes the configuration and the registry under its own actor: a store
        // bound to it would be shown as their author (and the registry's entries as its own).
        if actor == self.endpoint_actor().await?.to_hex_string()
            || actor == self.actor.to_hex_string()
        {
            return Err(ServerError::Forbidden(
                "this actor id is the endpoint's own".into(),
            ));
        }
        let token_hash = hash_secret(&req.token);
        let mut attempt = 0;
        let mut held = None;
        loop {
            let Some(token) = self.repo.token(&token_hash).await? else {
                return Err(ServerError::Unauthorized("unknown enrollment token".into()));
            };
            if !proven && !token.allow_unproven {
                return Err(ServerError::Forbidden(
                    "this store cannot prove its actor id (it was made by an earlier version): \
                     the admin must issue a token with `device enroll --legacy-store`"
                        .into(),
                ));
            }
            if token.used_at.is_some() {
                return Err(ServerError::Unauthorized(
                    "this enrollment token has already been used".into(),
                ));
            }
            let expired = chrono::DateTime::parse_from_rfc3339(&token.expires_at)
                .map(|e| e < chrono::Utc::now())
                .unwrap_or(true);
            if expired {
                return Err(ServerError::Unauthorized(
                    "this enrollment token has expired".into(),
                ));
            }
            let Some(row) = self.repo.device(&token.device_id).await? else {
                return Err(ServerError::Internal(format!(
                    "token of a device that does not exist ({})",
                    token.device_id
                )));
            };
            let device = row.device;
            if device.revoked_at.is_some() {
                return Err(ServerError::Revoked);
            }
            if device.team != team {
                return Err(ServerError::Forbidden(format!(
                    "this token is for team {}, but the store belongs to team {team}",
                    device.team
                )));
            }
            let served = self.config().await?.map(|c| c.mission).unwrap_or_default();
            if !served.is_empty() && served != mission {
                return Err(ServerError::Forbidden(format!(
                    "this endpoint serves mission {served}, but the store belongs to mission \
                     {mission}"
                )));
            }
            let at = now();
            let mut enrolled = device.clone();
            enrolled.actor = Some(actor.clone());
            enrolled.enrolled_at = Some(at.clone());
            let mut append = self
                .register(&enrolled)
                .await?
                .unwrap_or_else(super::endpoint_append);
            append.audit.push(entry(
                AuditAction::Enrolled,
                Some(&device.id),
                serde_json::json!({"officer": device.officer, "team": device.team,
                                   "actor": actor, "actor_proven": proven}),
            ));
            let secret = new_secret();
            let enrollment = Enrollment {
                token_hash: token_hash.clone(),
                device_id: device.id.clone(),
                actor: actor.clone(),
                secret_hash: hash_secret(&secret),
                at,
                append,
            };
            let stored = self
                .in_turn(held.is_some(), self.repo.enroll(enrollment))
                .await?;
            match stored {
                Ok(()) => {
                    return Ok(EnrollResponse {
                        secret,
                        officer: device.officer,
                        team: device.team,
                        role: device.role,
                        revocation_key: revocation_key(&self.revocation_master, &device.id),
                        device_id: device.id,
                        mission: served,
                    })
                }
                Err(RepoError::Stale(_)) if attempt + 1 < ATTEMPTS => {
                    attempt += 1;
                    if held.is_none() {
                        held = Some(self.write_turn().await?);
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}
