//! Checks a careful officer expects before a record is saved. Every problem is reported at once,
//! each against the field it concerns, so the form can show them next to the fields.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate};

use crate::error::{Error, FieldError, FieldErrors};
use crate::model::{Incident, MissionConfig, Patrol, Sex};

/// Longest free text we accept in one field; a narrative is a few pages at most.
const MAX_TEXT: usize = 100_000;
/// Longest title or short field.
const MAX_SHORT: usize = 500;
/// Largest plausible number of children in one violation record.
const MAX_COUNT: i64 = 100_000;

struct Collector(Vec<FieldError>);

impl Collector {
    fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    fn finish(self, what: &'static str) -> crate::Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid {
                what,
                errors: FieldErrors(self.0),
            })
        }
    }
}

/// Parse a `YYYY-MM-DD` date.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// Parse an RFC 3339 time, keeping its date.
pub fn parse_time(s: &str) -> Option<DateTime<chrono::FixedOffset>> {
    DateTime::parse_from_rfc3339(s).ok()
}

/// Whether `s` is a UUID (records, violations, sources and coded victims all use them).
pub fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok()
}

fn check_text(c: &mut Collector, field: &str, value: &str, max: usize) {
    if value.chars().count() > max {
        c.push(field, format!("is too long (at most {max} characters)"));
    }
}

/// Validate a whole incident as it would be saved. `today` is the device's date.
pub fn incident(inc: &Incident, today: NaiveDate) -> crate::Result<()> {
    let mut c = Collector(Vec::new());
    if inc.title.trim().is_empty() {
        c.push("title", "is required");
    }
    check_text(&mut c, "title", &inc.title, MAX_SHORT);
    check_text(&mut c, "narrative", &inc.narrative, MAX_TEXT);

    let occurred = match parse_date(&inc.occurred_on) {
        Some(d) => Some(d),
        None if inc.occurred_on.is_empty() => {
            c.push("occurred_on", "is required (YYYY-MM-DD)");
            None
        }
        None => {
            c.push(
                "occurred_on",
                format!("`{}` is not a date (YYYY-MM-DD)", inc.occurred_on),
            );
            None
        }
    };
    let reported = match parse_date(&inc.reported_on) {
        Some(d) => Some(d),
        None if inc.reported_on.is_empty() => {
            c.push("reported_on", "is required (YYYY-MM-DD)");
            None
        }
        None => {
            c.push(
                "reported_on",
                format!("`{}` is not a date (YYYY-MM-DD)", inc.reported_on),
            );
            None
        }
    };
    if let Some(d) = occurred {
        if d > today {
            c.push("occurred_on", format!("{d} is in the future"));
        }
    }
    if let Some(d) = reported {
        if d > today {
            c.push("reported_on", format!("{d} is in the future"));
        }
    }
    if let (Some(o), Some(r)) = (occurred, reported) {
        if o > r {
            c.push(
                "occurred_on",
                format!("{o} is after the date it was reported ({r})"),
            );
        }
    }

    let loc = &inc.location;
    if loc.admin1.trim().is_empty() {
        c.push("location.admin1", "is required");
    }
    for (f, v) in [
        ("location.admin1", &loc.admin1),
        ("location.admin2", &loc.admin2),
        ("location.place", &loc.place),
    ] {
        check_text(&mut c, f, v, MAX_SHORT);
    }
    match (loc.lat, loc.lon) {
        (Some(lat), Some(lon)) => {
            if !(-90.0..=90.0).contains(&lat) {
                c.push(
                    "location.lat",
                    format!("{lat} is not a latitude (-90 to 90)"),
                );
            }
            if !(-180.0..=180.0).contains(&lon) {
                c.push(
                    "location.lon",
                    format!("{lon} is not a longitude (-180 to 180)"),
                );
            }
        }
        (None, None) => {}
        (Some(_), None) => c.push("location.lon", "is required when lat is given"),
        (None, Some(_)) => c.push("location.lat", "is required when lon is given"),
    }
    if let Some(p) = &inc.patrol_id {
        if !is_uuid(p) {
            c.push("patrol_id", format!("`{p}` is not a patrol id"));
        }
    }
    if inc.team.trim().is_empty() {
        c.push("team", "is required");
    }

    let mut ids = HashSet::new();
    let mut source_ids = HashSet::new();
    for (i, s) in inc.sources.iter().enumerate() {
        let f = format!("sources[{}]", i + 1);
        if !is_uuid(&s.id) {
            c.push(format!("{f}.id"), format!("`{}` is not a UUID", s.id));
        }
        if !ids.insert(s.id.as_str()) {
            c.push(format!("{f}.id"), format!("{} is used twice", s.id));
        }
        source_ids.insert(s.id.as_str());
        check_text(&mut c, &format!("{f}.notes"), &s.notes, MAX_TEXT);
    }

    for (i, v) in inc.violations.iter().enumerate() {
        let f = format!("violations[{}]", i + 1);
        if !is_uuid(&v.id) {
            c.push(format!("{f}.id"), format!("`{}` is not a UUID", v.id));
        }
        if !ids.insert(v.id.as_str()) {
            c.push(format!("{f}.id"), format!("{} is used twice", v.id));
        }
        let vic = &v.victims;
        for (name, n) in [
            ("boys", vic.boys),
            ("girls", vic.girls),
            ("sex_unknown", vic.sex_unknown),
        ] {
            if n < 0 {
                c.push(
                    format!("{f}.victims.{name}"),
                    format!("must be 0 or more (got {n})"),
                );
            } else if n > MAX_COUNT {
                c.push(
                    format!("{f}.victims.{name}"),
                    format!("{n} is not a plausible count (at most {MAX_COUNT})"),
                );
            }
        }
        let counts_valid = vic.boys >= 0 && vic.girls >= 0 && vic.sex_unknown >= 0;
        if v.kind.has_child_victims() && counts_valid && vic.total() == 0 {
            c.push(
                format!("{f}.victims"),
                format!("a {} violation needs at least one child", v.kind),
            );
        }
        let mut coded_by_sex = [0i64; 3];
        for (j, cv) in vic.coded.iter().enumerate() {
            let g = format!("{f}.victims.coded[{}]", j + 1);
            if !is_uuid(&cv.id) {
                c.push(format!("{g}.id"), format!("`{}` is not a UUID", cv.id));
            }
            if !ids.insert(cv.id.as_str()) {
                c.push(format!("{g}.id"), format!("{} is used twice", cv.id));
            }
            if cv.code.trim().is_empty() {
                c.push(format!("{g}.code"), "is required");
            }
            check_text(&mut c, &format!("{g}.code"), &cv.code, 64);
            if let Some(age) = cv.age {
                if !(0..18).contains(&age) {
                    c.push(
                        format!("{g}.age"),
                        format!("{age} is not the age of a child (0 to 17)"),
                    );
                }
            }
            coded_by_sex[match cv.sex {
                Sex::Boy => 0,
                Sex::Girl => 1,
                Sex::Unknown => 2,
            }] += 1;
        }
        for (k, (name, n)) in [
            ("boys", vic.boys),
            ("girls", vic.girls),
            ("sex_unknown", vic.sex_unknown),
        ]
        .into_iter()
        .enumerate()
        {
            if n >= 0 && coded_by_sex[k] > n {
                c.push(
                    format!("{f}.victims.{name}"),
                    format!(
                        "{n} is fewer than the {} coded victim(s) of that sex",
                        coded_by_sex[k]
                    ),
                );
            }
        }
        check_text(
            &mut c,
            &format!("{f}.perpetrator.party"),
            &v.perpetrator.party,
            MAX_SHORT,
        );
        for (j, e) in v.verification.iter().enumerate() {
            let g = format!("{f}.verification[{}]", j + 1);
            match parse_time(&e.at) {
                None => c.push(format!("{g}.at"), format!("`{}` is not a time", e.at)),
                Some(t) => {
                    // On the device's calendar, like `today` and the dates an officer types: an
                    // instant stored in UTC falls on another day there (a reviewer in New York in
                    // the evening, an officer in Juba just after midnight).
                    let d = t.with_timezone(&chrono::Local).date_naive();
                    if d > today {
                        c.push(format!("{g}.at"), format!("{d} is in the future"));
                    }
                    if let Some(o) = occurred {
                        if d < o {
                            c.push(
                                format!("{g}.at"),
                                format!("{d} is before the incident occurred ({o})"),
                            );
                        }
                    }
                }
            }
            for s in &e.source_ids {
                if !source_ids.contains(s.as_str()) {
                    c.push(
                        format!("{g}.source_ids"),
                        format!("this incident has no source {s}"),
                    );
                }
            }
            check_text(&mut c, &format!("{g}.note"), &e.note, MAX_TEXT);
        }
    }
    c.finish("incident")
}

/// Validate a whole patrol as it would be saved.
pub fn patrol(p: &Patrol, today: NaiveDate) -> crate::Result<()> {
    let mut c = Collector(Vec::new());
    match parse_date(&p.date) {
        None if p.date.is_empty() => c.push("date", "is required (YYYY-MM-DD)"),
        None => c.push("date", format!("`{}` is not a date (YYYY-MM-DD)", p.date)),
        Some(d) if d > today => c.push("date", format!("{d} is in the future")),
        Some(_) => {}
    }
    if p.team.trim().is_empty() {
        c.push("team", "is required");
    }
    for (i, place) in p.route.iter().enumerate() {
        if place.trim().is_empty() {
            c.push(format!("route[{}]", i + 1), "is empty");
        }
        check_text(&mut c, &format!("route[{}]", i + 1), place, MAX_SHORT);
    }
    for (i, who) in p.participants.iter().enumerate() {
        check_text(&mut c, &format!("participants[{}]", i + 1), who, MAX_SHORT);
    }
    check_text(&mut c, "notes", &p.notes, MAX_TEXT);
    if let Some(t) = &p.ended_at {
        if parse_time(t).is_none() {
            c.push("ended_at", format!("`{t}` is not a time"));
        }
    }
    c.finish("patrol")
}

/// End of the calendar quarter that contains `d`.
pub fn quarter_end(d: NaiveDate) -> NaiveDate {
    use chrono::Datelike;
    let q_last_month = ((d.month() - 1) / 3) * 3 + 3;
    let (y, m) = if q_last_month == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), q_last_month + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|n| n.pred_opt())
        .unwrap_or(d)
}

/// Values the mission configuration does not list. Empty lists in the configuration mean "not
/// configured" and produce no warnings.
pub fn against_config(inc: &Incident, cfg: &MissionConfig) -> Vec<FieldError> {
    let mut w = Vec::new();
    let loc = &inc.location;
    if !cfg.admin_areas.is_empty() && !loc.admin1.is_empty() {
        match cfg.admin_areas.get(&loc.admin1) {
            None => w.push(FieldError {
                field: "location.admin1".into(),
                message: format!("`{}` is not an admin area of the mission", loc.admin1),
            }),
            Some(subs)
                if !subs.is_empty() && !loc.admin2.is_empty() && !subs.contains(&loc.admin2) =>
            {
                w.push(FieldError {
                    field: "location.admin2".into(),
                    message: format!("`{}` is not listed under {}", loc.admin2, loc.admin1),
                })
            }
            Some(_) => {}
        }
    }
    if !cfg.parties.is_empty() {
        for (i, v) in inc.violations.iter().enumerate() {
            let party = &v.perpetrator.party;
            if !party.is_empty() && !cfg.parties.contains(party) {
                w.push(FieldError {
                    field: format!("violations[{}].perpetrator.party", i + 1),
                    message: format!("`{party}` is not on the mission's list of parties"),
                });
            }
        }
    }
    if !cfg.teams.is_empty() && !cfg.teams.contains(&inc.team) {
        w.push(FieldError {
            field: "team".into(),
            message: format!("`{}` is not a team of the mission", inc.team),
        });
    }
    w
}
