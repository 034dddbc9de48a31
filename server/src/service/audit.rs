//! Refusals in the endpoint's audit log: written within a budget so that a flood of them costs
//! the log a bounded amount.

use super::{entry, lock, Service};
use crate::error::ServerError;
use crate::repository::{AuditAction, Repository};

/// Longest device id an audit entry keeps (ids are 36 characters; a refused one may be anything).
const AUDIT_ID_CHARS: usize = 64;
/// Longest refusal reason an audit entry keeps.
const AUDIT_REASON_CHARS: usize = 300;

/// A token bucket for refusal entries: bursts of [`RefusalBudget::BURST`], then
/// [`RefusalBudget::PER_SECOND`] a second.
pub(super) struct RefusalBudget {
    tokens: f64,
    at: std::time::Instant,
    suppressed: u64,
}

impl RefusalBudget {
    const BURST: f64 = 200.0;
    const PER_SECOND: f64 = 20.0;

    pub(super) fn new() -> Self {
        RefusalBudget {
            tokens: Self::BURST,
            at: std::time::Instant::now(),
            suppressed: 0,
        }
    }

    /// `Some(entries dropped since the last one written)` when an entry may be written now.
    fn take(&mut self) -> Option<u64> {
        let now = std::time::Instant::now();
        let refill = now.duration_since(self.at).as_secs_f64() * Self::PER_SECOND;
        self.tokens = (self.tokens + refill).min(Self::BURST);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Some(std::mem::take(&mut self.suppressed))
        } else {
            self.suppressed += 1;
            None
        }
    }
}

impl<R: Repository> Service<R> {
    /// Record a refused request in the audit log (its own step: the refused work wrote
    /// nothing). Fields are clipped ([`AUDIT_ID_CHARS`], [`AUDIT_REASON_CHARS`]) and entries
    /// limited by [`RefusalBudget`], so a flood of refusals costs the log a bounded amount; what
    /// the budget drops is counted in the next entry written (`suppressed_before`).
    pub(crate) async fn record_refusal(
        &self,
        action: AuditAction,
        device_id: Option<&str>,
        e: &ServerError,
    ) {
        if matches!(e, ServerError::Internal(_)) {
            return;
        }
        // Strangers' credentials, strangers' enrollments, and requests of someone the endpoint
        // knows (an enrolled device, the holder of a real token): three budgets.
        let budget = match (action, device_id) {
            (AuditAction::AuthRefused, _) => 0,
            (AuditAction::EnrollRefused, None) => 1,
            _ => 2,
        };
        let Some(suppressed) = lock(&self.refusals)[budget].take() else {
            return;
        };
        let reason: String = e.to_string().chars().take(AUDIT_REASON_CHARS).collect();
        let device_id: Option<String> = device_id.map(|d| d.chars().take(AUDIT_ID_CHARS).collect());
        let mut detail = serde_json::json!({ "reason": reason });
        if suppressed > 0 {
            detail["suppressed_before"] = suppressed.into();
        }
        if let Err(err) = self
            .repo
            .audit(entry(action, device_id.as_deref(), detail))
            .await
        {
            tracing::error!(error = %err, "cannot write the audit log");
        }
    }
}
