//! The figures of the section's work beside the violations (releases, trainings, engagements
//! with parties), counted from [`Activity`] records: the dashboard's, the reports' and the
//! factsheet's, by one rule.
//!
//! An activity counts in a period when its `date` (`YYYY-MM-DD`) is in it, both ends included.
//! Figures are sums of what each record says; counts are bounded when written, and summed
//! saturating so a figure never panics.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::activity::{Activity, ActivityKind};

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
                let [b, g, u] = ["boys", "girls", "sex_unknown"].map(|k| a.count(k).max(0));
                f.releases += 1;
                add(&mut f.released_boys, b);
                add(&mut f.released_girls, g);
                add(&mut f.released_sex_unknown, u);
                let by = f
                    .released_by_instrument
                    .entry(a.text("instrument").to_string())
                    .or_default();
                add(by, b.saturating_add(g).saturating_add(u));
            }
            ActivityKind::Training => {
                let [m, w, u] = a.by_sex("participants").map(|n| n.max(0));
                f.trainings += 1;
                add(&mut f.trained_male, m);
                add(&mut f.trained_female, w);
                add(&mut f.trained_unknown, u);
                let by = f
                    .trained_by_audience
                    .entry(a.text("audience").to_string())
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
