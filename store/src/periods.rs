//! Closing reporting periods and comparing them with today's caseload ([`mrm_crdt::period`]).

use std::collections::BTreeMap;

use rusqlite::OptionalExtension;

use mrm_crdt::document::RecordKind;
use mrm_crdt::error::{Error, Result};
use mrm_crdt::model::VerificationStatus;
use mrm_crdt::period::{self, Changed, FrozenPeriod, Member, Now};
use mrm_crdt::report::{self, Counted, Period};
use mrm_crdt::validate::parse_time;

use super::Store;

/// The violations `rows` the report of `p` counts, each in its table.
fn members(rows: &[Counted], p: &Period) -> Vec<Member> {
    let mut out: Vec<Member> = rows
        .iter()
        .filter_map(|v| {
            report::section(v, p).map(|section| Member {
                incident_id: v.incident_id.clone(),
                violation_id: v.violation_id.clone(),
                section,
                kind: v.kind,
                boys: v.boys,
                girls: v.girls,
                sex_unknown: v.sex_unknown,
            })
        })
        .collect();
    out.sort_by(|a, b| (&a.incident_id, &a.violation_id).cmp(&(&b.incident_id, &b.violation_id)));
    out
}

/// `annual` for a calendar year, else `ghn`.
fn kind_of(p: &Period) -> &'static str {
    use chrono::Datelike;
    if Period::year(p.from.year()).is_ok_and(|y| y == *p) {
        "annual"
    } else {
        "ghn"
    }
}

impl Store {
    /// Close the period `p` under `name`: its figures, and the violations they count, frozen in
    /// a record synced with the mission (who closed it, when). Returns the record's id.
    ///
    /// Errors: [`Error::Invalid`] on a bad name or a period that has not begun;
    /// [`Error::Refused`] when a period of that name is already closed on this device;
    /// [`Error::Denied`] when this device's role may not close periods (only reviewers may).
    pub fn close_period(&mut self, name: &str, p: &Period) -> Result<String> {
        period::check_name(name)?;
        let name = name.trim();
        if self
            .periods()?
            .iter()
            .any(|f| period::name_key(&f.name) == period::name_key(name))
        {
            return Err(Error::Refused(format!(
                "a period named `{name}` is already closed; its figures never change (`mrm report ghn --period \"{name}\" --diff` shows what changed since)"
            )));
        }
        let report = self.report(kind_of(p), p)?;
        let members = members(&self.counted_in(p)?, p);
        // A closed period is one change: it must fit the one size limit. Said up front, with
        // what to do, rather than as an edit too large.
        if period::encoded_len(&report, &members)? > mrm_crdt::limits::MAX_CHANGE_BYTES * 9 / 10 {
            return Err(Error::Refused(format!(
                "this period counts {} violations, more than one closed period can hold; close it as shorter periods (quarters)",
                members.len()
            )));
        }
        let id = uuid::Uuid::now_v7().to_string();
        self.write(&id, RecordKind::Period, true, |t, who| {
            period::init(t, &id, name, &report, &members, who)
        })?;
        Ok(id)
    }

    /// Every closed period this device believes, oldest period first, each named by the device
    /// that closed it. A period is believed when this store closed it, or when the endpoint's
    /// registry (pulled over the pinned connection, never taken from a USB bundle) names its
    /// writer as a reviewer: a period made on any other laptop and carried in by USB is not the
    /// mission's. A record that cannot be read is left out, never stops the list.
    ///
    /// Errors: [`mrm_crdt::Error::Database`] when the store cannot be read.
    pub fn periods(&self) -> Result<Vec<FrozenPeriod>> {
        Ok(self.periods_closed()?.into_iter().map(|(_, p)| p).collect())
    }

    /// [`Store::periods`], each with when its record was written (ms since the epoch, as its
    /// change says: a time the endpoint bounds by its own clock).
    fn periods_closed(&self) -> Result<Vec<(i64, FrozenPeriod)>> {
        let ids: Vec<String> = self
            .conn()
            .prepare_cached("SELECT doc_id FROM docs WHERE kind = 'period'")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let registry = self.registry()?;
        let own = self.device().actor.clone();
        let mut out = Vec::new();
        for id in ids {
            let Some((RecordKind::Period, doc)) = Store::load(self.conn(), &id)? else {
                continue;
            };
            let Ok(mut p) = period::read(&doc) else {
                continue;
            };
            let Some(first) = doc.get_changes(&[]).into_iter().next() else {
                continue;
            };
            let actor = first.actor_id().to_hex_string();
            if actor != own {
                match registry.author(&actor) {
                    // Whoever may close a period: a reviewer or the task force.
                    Some(d) if d.role == "reviewer" || d.role == "task_force" => {
                        if d.officer != p.closed_by {
                            p.closed_by_declared = Some(std::mem::take(&mut p.closed_by));
                            p.closed_by = d.officer.clone();
                        }
                    }
                    _ => continue,
                }
            }
            out.push((first.timestamp(), p));
        }
        out.sort_by(|a, b| (a.1.from, a.1.to, a.0, &a.1.id).cmp(&(b.1.from, b.1.to, b.0, &b.1.id)));
        Ok(out)
    }

    /// The closed period named `name` (names compared as [`period::name_key`]): the first
    /// closed, by the time its record was written, if two laptops closed one name apart.
    ///
    /// Errors: [`Error::NotFound`] when no period has that name.
    pub fn period_named(&self, name: &str) -> Result<FrozenPeriod> {
        let key = period::name_key(name);
        let mut all: Vec<(i64, FrozenPeriod)> = self
            .periods_closed()?
            .into_iter()
            .filter(|(_, p)| period::name_key(&p.name) == key)
            .collect();
        all.sort_by(|a, b| (a.0, &a.1.id).cmp(&(b.0, &b.1.id)));
        all.into_iter()
            .next()
            .map(|(_, p)| p)
            .ok_or_else(|| Error::NotFound {
                kind: "period",
                id: name.to_string(),
            })
    }

    /// What changed in `frozen`'s figures since it was closed, violation by violation: added
    /// to a table, removed (withdrawn, or ruled not MRM or did not occur), moved to another
    /// table (an unverified violation verified since: late, so counted with the period it was
    /// verified in), or counted with other children.
    ///
    /// Only records this device holds are compared: a period closed by a reviewer counts the
    /// whole mission, and an officer's laptop holds its team's records; the others are counted
    /// in [`PeriodChanges::records_not_held`], never shown as removed.
    ///
    /// Errors: [`mrm_crdt::Error::Database`] when the store cannot be read.
    pub fn period_changes(&self, frozen: &FrozenPeriod) -> Result<PeriodChanges> {
        let p = frozen.period();
        let current = members(&self.counted_in(&p)?, &p);
        let mut held = self
            .conn()
            .prepare_cached("SELECT 1 FROM incidents WHERE id = ?1")?;
        let mut not_held = std::collections::BTreeSet::new();
        let mut compared = Vec::new();
        for m in &frozen.members {
            if held.exists([&m.incident_id])? {
                compared.push(m.clone());
            } else {
                not_held.insert(m.incident_id.clone());
            }
        }
        let mut now = BTreeMap::new();
        let mut stmt = self.conn().prepare_cached(
            "SELECT status, status_at, late FROM violations WHERE incident_id = ?1 AND id = ?2",
        )?;
        for m in compared.iter().chain(&current) {
            let key = (m.incident_id.clone(), m.violation_id.clone());
            if now.contains_key(&key) {
                continue;
            }
            let row: Option<(String, Option<String>, bool)> = stmt
                .query_row([&m.incident_id, &m.violation_id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()?;
            if let Some((status, at, late)) = row {
                let late_on = (late && status == VerificationStatus::Verified.as_str())
                    .then(|| at.as_deref().and_then(parse_time).map(|t| t.date_naive()))
                    .flatten();
                now.insert(key, Now { status, late_on });
            }
        }
        Ok(PeriodChanges {
            changes: period::diff(&compared, &current, &now),
            records_not_held: not_held.len(),
        })
    }
}

/// What changed in a closed period's figures, as far as this device can tell.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PeriodChanges {
    /// Violation by violation, sorted by incident.
    pub changes: Vec<Changed>,
    /// Incidents the period counted that this device does not hold (another team's): not
    /// compared.
    pub records_not_held: usize,
}
