//! What a violation counts as in the MRM's figures, read from its record alone: whether its
//! verification is late, since when it stands at its status, and what a report must flag beside
//! it. Pure rules (docs/reporting.md); the store projects them into rows.

use crate::model::{Incident, Violation};
use crate::validate::{parse_date, parse_time, quarter_end};

/// Whether a violation is a late verification: it stands verified ([`Violation::verified_since`])
/// since a ruling made (on its writer's calendar) after the end of the quarter in which the
/// incident ended (its `ended_on`, else `occurred_on`). Only a verified violation is ever late; the MRM's rule, as
/// Primero's MRM module applies it (docs/reporting.md).
pub fn is_late(incident: &Incident, v: &Violation) -> bool {
    let ended = incident
        .ended_on
        .as_deref()
        .and_then(parse_date)
        .or_else(|| parse_date(&incident.occurred_on));
    let Some(ended) = ended else {
        return false;
    };
    match v.verified_since() {
        Some(e) => parse_time(&e.at)
            .map(|t| t.date_naive() > quarter_end(ended))
            .unwrap_or(false),
        None => false,
    }
}

/// When the violation's current status was reached: for a verified violation, the ruling it
/// has stood verified since ([`Violation::verified_since`]); else the current event.
pub fn status_at(v: &Violation) -> Option<String> {
    v.verified_since()
        .or_else(|| v.current_event())
        .map(|e| e.at.clone())
}

/// What a report must say of a violation of `inc` beside its figures
/// ([`crate::report::flags`]).
pub fn violation_flags(inc: &Incident, v: &Violation) -> i64 {
    let mut f = 0;
    if !v.contested().is_empty() {
        f |= crate::report::flags::CONTESTED;
    }
    if v.changed_since_decision(inc).is_some() {
        f |= crate::report::flags::CHANGED_SINCE_DECISION;
    }
    if v.withdrawal_contested() {
        f |= crate::report::flags::WITHDRAWAL_CONTESTED;
    }
    f
}
