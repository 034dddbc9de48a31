//! The figures of the section's work beside the violations (releases, trainings, engagements
//! with parties), counted from [`Activity`] records: the dashboard's, the reports' and the
//! factsheet's, by one rule.
//!
//! An activity counts in a period when its `date` (`YYYY-MM-DD`) is in it, both ends included.
//! Figures are sums of what each record says. A record is hostile until proven otherwise (one
//! carried by USB is not judged like a push): each count is taken within what a record may
//! hold, a term that is none of its field's is grouped as `other`, and sums saturate, so a
//! figure never panics and never shows a forged row.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::activity::{spec, Activity, ActivityKind, FieldShape};

/// The figures of the activities dated in a period: children released (by sex, and by the
/// instrument they were released under), people trained (by sex, and how many trainings of
/// trainers), engagements with parties (advocacy and negotiation). All are counts (≥ 0).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityFigures {
    /// Release records.
    pub releases: i64,
    pub released_boys: i64,
    pub released_girls: i64,
    pub released_sex_unknown: i64,
    /// Children released, by instrument (`action_plan`, `unilateral_declaration`,
    /// `command_order`, `other`; `""` when not recorded).
    pub released_by_instrument: BTreeMap<String, i64>,
    /// Training records.
    pub trainings: i64,
    pub trained_male: i64,
    pub trained_female: i64,
    pub trained_unknown: i64,
    /// Trainings marked `training_of_trainers`.
    pub trainings_of_trainers: i64,
    /// People trained, by audience (`national_army`, `police`, ...).
    #[serde(default)]
    pub trained_by_audience: BTreeMap<String, i64>,
    /// Engagement records, and of them advocacy and negotiation.
    pub engagements: i64,
    pub advocacy: i64,
    pub negotiations: i64,
}

impl ActivityFigures {
    /// Children released, all sexes.
    pub fn children_released(&self) -> i64 {
        self.released_boys
            .saturating_add(self.released_girls)
            .saturating_add(self.released_sex_unknown)
    }

    /// People trained, all sexes.
    pub fn people_trained(&self) -> i64 {
        self.trained_male
            .saturating_add(self.trained_female)
            .saturating_add(self.trained_unknown)
    }

    /// Whether nothing was recorded in the period.
    pub fn is_empty(&self) -> bool {
        self.releases == 0 && self.trainings == 0 && self.engagements == 0
    }
}

fn add(to: &mut i64, n: i64) {
    *to = to.saturating_add(n);
}

/// A count as a figure takes it: within what a record may hold (a record forged past the
/// checks, or carried by USB, never makes a figure absurd).
fn count(n: i64) -> i64 {
    n.clamp(0, crate::validate::MAX_COUNT)
}

/// A term of `kind`'s field `key` as a figure groups it: one of the field's terms, else
/// `other` (`""` when not recorded): a forged value never becomes a row of its own.
fn term(a: &Activity, key: &str) -> String {
    let v = a.text(key);
    let known = spec(a.kind)
        .iter()
        .any(|f| f.key == key && matches!(f.shape, FieldShape::Term(terms) if terms.contains(&v)));
    match (v, known) {
        ("", _) => String::new(),
        (v, true) => v.to_string(),
        (_, false) => "other".to_string(),
    }
}

/// The figures of `activities` (any kinds, in any order) dated from `from` to `to`
/// (`YYYY-MM-DD`, inclusive).
pub fn tally<'a>(
    activities: impl IntoIterator<Item = &'a Activity>,
    from: &str,
    to: &str,
) -> ActivityFigures {
    let mut f = ActivityFigures::default();
    for a in activities {
        if !(from..=to).contains(&a.text("date")) {
            continue;
        }
        match a.kind {
            ActivityKind::Release => {
                let [b, g, u] = ["boys", "girls", "sex_unknown"].map(|k| count(a.count(k)));
                f.releases += 1;
                add(&mut f.released_boys, b);
                add(&mut f.released_girls, g);
                add(&mut f.released_sex_unknown, u);
                let by = f
                    .released_by_instrument
                    .entry(term(a, "instrument"))
                    .or_default();
                add(by, b.saturating_add(g).saturating_add(u));
            }
            ActivityKind::Training => {
                let [m, w, u] = a.by_sex("participants").map(count);
                f.trainings += 1;
                add(&mut f.trained_male, m);
                add(&mut f.trained_female, w);
                add(&mut f.trained_unknown, u);
                let by = f
                    .trained_by_audience
                    .entry(term(a, "audience"))
                    .or_default();
                add(by, m.saturating_add(w).saturating_add(u));
                if a.fields.get("training_of_trainers") == Some(&serde_json::Value::Bool(true)) {
                    f.trainings_of_trainers += 1;
                }
            }
            ActivityKind::Engagement => {
                f.engagements += 1;
                match a.text("kind") {
                    "advocacy" => f.advocacy += 1,
                    "negotiation" => f.negotiations += 1,
                    _ => {}
                }
            }
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activity::from_json;
    use serde_json::json;

    #[test]
    fn a_forged_record_never_makes_a_figure_absurd() {
        let forged = json!({"record": "release", "kind": "release", "id": "x", "team": "Goma",
            "created_by": "a", "date": "2025-06-01", "place": "Bunia", "boys": i64::MAX,
            "girls": -5, "party": "P", "instrument": "\u{1b}[2J=HYPERLINK(1)"});
        let honest = json!({"record": "release", "kind": "release", "id": "y", "team": "Goma",
            "created_by": "a", "date": "2025-06-02", "place": "Bunia", "boys": 3,
            "party": "P", "instrument": "action_plan"});
        let list: Vec<Activity> = [forged, honest]
            .into_iter()
            .filter_map(|j| from_json(&j, ActivityKind::Release).ok())
            .collect();
        assert_eq!(
            list.len(),
            2,
            "the strict read takes both (as the store would)"
        );
        let f = tally(&list, "2025-01-01", "2025-12-31");
        assert!(f.released_boys <= crate::validate::MAX_COUNT + 3, "{f:?}");
        assert!(f.released_girls >= 0);
        assert!(
            f.released_by_instrument
                .keys()
                .all(|k| ["action_plan", "other"].contains(&k.as_str())),
            "{f:?}"
        );
    }
}
