//! Checks a careful officer expects before a record is saved. Every problem is reported at once,
//! each against the field it concerns, so the form can show them next to the fields.
//!
//! **A write is judged by what it writes, not by the merged world** ([`incident_change`]): two
//! valid edits made apart can merge into a record that breaks a rule across fields (a date order,
//! a count below the coded victims two edits left). Such a record is shown as needing attention
//! ([`incident_attention`]) and every later edit that does not add a problem of its own goes
//! through, so a merged record always stays editable.
//!
//! **Dates.** An incident's calendar dates are the writer's local calendar. A date is "in the
//! future" only when it is after today in every time zone: after the UTC date of now plus the
//! largest zone offset ahead of UTC ([`MAX_ZONE_AHEAD_HOURS`]), so an officer at UTC+14 just after
//! midnight and a reviewer at UTC-12 can both edit the record. Times (`at`) are RFC 3339 with the
//! writer's offset and compared as instants.

use std::collections::HashSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::error::{Error, FieldError, FieldErrors};
use crate::model::{Incident, MissionConfig, Patrol, Sex};

/// Longest free text we accept in one field; a narrative is a few pages at most.
pub const MAX_TEXT: usize = 100_000;
/// Longest title or short field.
pub const MAX_SHORT: usize = 500;
/// Largest plausible number of children in one violation record.
pub const MAX_COUNT: i64 = 100_000;
/// The largest offset ahead of UTC of any time zone (Kiribati, UTC+14), in hours.
pub const MAX_ZONE_AHEAD_HOURS: i64 = 14;

/// The time a check is made at, how far ahead of it a writer's clock may be, and how far ahead
/// of UTC a writer's calendar may be.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub now: DateTime<Utc>,
    /// Accepted clock difference: zero on the device that writes (it stamps with its own clock),
    /// a day on the endpoint (docs/sync-protocol.md).
    pub skew: Duration,
    /// How far ahead of UTC a writer's calendar may run: the largest zone offset
    /// ([`MAX_ZONE_AHEAD_HOURS`]), or the device's own offset if it is further ahead (a date
    /// that is today on the writer's own calendar is never "in the future" for them).
    pub ahead: Duration,
    /// Judge a write that settles concurrent values (a resolve keeps one of the values already
    /// written, each judged when it was): refused only for problems at fields that had none
    /// before, whatever values those problems name.
    pub settling: bool,
}

impl Clock {
    /// A clock at `now`, with `skew` allowed, for writers in any time zone.
    pub fn at(now: DateTime<Utc>, skew: Duration) -> Self {
        Clock {
            now,
            skew,
            ahead: Duration::hours(MAX_ZONE_AHEAD_HOURS),
            settling: false,
        }
    }

    /// The device's own clock and calendar.
    pub fn local() -> Self {
        DeviceClock::default().judge()
    }

    /// A clock for checks that must not change as time passes (the caseload's "needs
    /// attention"): nothing is "in the future" for it, every other rule holds.
    pub fn timeless() -> Self {
        Clock::at(DateTime::<Utc>::MAX_UTC, Duration::zero())
    }

    /// The latest calendar date that is today somewhere.
    pub fn latest_day(&self) -> NaiveDate {
        self.now
            .checked_add_signed(self.skew + self.ahead)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
            .date_naive()
    }

    /// The latest instant a writer may stamp.
    pub fn latest_instant(&self) -> DateTime<Utc> {
        // A minute for a clock a little ahead of this one between two writes.
        self.now
            .checked_add_signed(self.skew + Duration::minutes(1))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// The first instant of `d` anywhere on Earth (its midnight in the zone furthest ahead),
    /// less the clock difference allowed.
    fn earliest_instant(&self, d: NaiveDate) -> DateTime<Utc> {
        // Checked: a date at the edge of the calendar must not overflow (a panic on reading).
        d.and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_utc().checked_sub_signed(self.ahead + self.skew))
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
}

/// How a device reads time: the system's clock and zone, or, for drills and tests, a clock that
/// runs `error` off the system's in a fixed zone. Every time a store stamps (`at` of events,
/// comments, withdrawals, `created_at`) and every "today" it defaults to comes from here.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeviceClock {
    /// How far this device's clock runs ahead of the system's (negative: behind).
    pub error: Duration,
    /// The device's zone; `None`: the system's (`TZ`, /etc/localtime).
    pub zone: Option<chrono::FixedOffset>,
}

impl DeviceClock {
    /// Now, as this device reads it (UTC).
    pub fn now(&self) -> DateTime<Utc> {
        let now = Utc::now();
        now.checked_add_signed(self.error).unwrap_or(now)
    }

    /// The device's offset from UTC at `at`. A zone no clock on Earth shows (outside UTC-12:00
    /// to UTC+14:00, which `TZ` allows: `XST+13`) is a misconfigured machine: its stamps would be
    /// refused by every store, so the device writes in UTC instead.
    pub fn offset(&self, at: DateTime<Utc>) -> chrono::FixedOffset {
        let offset = self
            .zone
            .unwrap_or_else(|| *at.with_timezone(&chrono::Local).offset());
        if zone_on_earth(offset.local_minus_utc()) {
            offset
        } else {
            chrono::FixedOffset::east_opt(0).expect("UTC is a valid offset")
        }
    }

    /// A time stamp as stored: RFC 3339 in the writer's offset, to the millisecond
    /// (`2026-11-30T00:30:00.000+14:00`), so it is one instant everywhere and still says what the
    /// writer's clock read.
    pub fn stamp(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.offset(at))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }

    /// Today on this device's calendar.
    pub fn today(&self) -> NaiveDate {
        let now = self.now();
        now.with_timezone(&self.offset(now)).date_naive()
    }

    /// The clock a write made on this device is judged with: its own now, no difference allowed
    /// (it stamps with this very clock), and its own calendar never "in the future".
    pub fn judge(&self) -> Clock {
        let now = self.now();
        let offset = Duration::seconds(i64::from(self.offset(now).local_minus_utc()));
        Clock {
            ahead: offset.max(Duration::hours(MAX_ZONE_AHEAD_HOURS)),
            ..Clock::at(now, Duration::zero())
        }
    }
}

/// One problem: the field as shown (`violations[2].victims.boys`), a key that names the same
/// field whatever other items were added or removed, and the message.
pub(crate) struct Finding {
    key: String,
    error: FieldError,
    /// Whether a write that adds this problem is refused. A device's own time stamps are taken
    /// as its clock reads them: one before the incident's date says the clock or the date is
    /// wrong, which is shown to settle, never a reason to refuse a decision.
    blocks: bool,
}

pub(crate) struct Collector(pub(crate) Vec<Finding>);

impl Collector {
    /// A problem whose shown field is also its key (top-level fields).
    pub(crate) fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        let field = field.into();
        self.push_keyed(field.clone(), field, message);
    }

    fn push_keyed(
        &mut self,
        key: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) {
        let message = message.into();
        // Every "is required" says the same to a reader: one code for all of them.
        let code = (message == "is required" || message.starts_with("is required ("))
            .then_some("required");
        self.0.push(Finding {
            key: key.into(),
            error: FieldError {
                field: field.into(),
                message,
                code,
                ..Default::default()
            },
            blocks: true,
        });
    }

    /// Name the last problem pushed, with the values its message names, for translation.
    pub(crate) fn code(&mut self, code: &'static str, params: &[(&'static str, String)]) {
        if let Some(f) = self.0.last_mut() {
            f.error.code = Some(code);
            f.error.params = params.iter().cloned().collect();
        }
    }

    /// A problem shown on the record that never refuses a write (see [`Finding::blocks`]).
    fn note(&mut self, key: String, field: String, message: String) {
        self.push_keyed(key, field, message);
        if let Some(f) = self.0.last_mut() {
            f.blocks = false;
        }
    }

    fn finish(self, what: &'static str) -> crate::Result<()> {
        into_result(what, self.0.into_iter().map(|f| f.error).collect())
    }
}

fn into_result(what: &'static str, errors: Vec<FieldError>) -> crate::Result<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid {
            what,
            errors: FieldErrors(errors),
        })
    }
}

/// The earliest date a record may carry: MRM reporting concerns living children, and the edges
/// of the calendar are where date arithmetic overflows.
pub fn earliest_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN)
}

/// Parse a `YYYY-MM-DD` date, written exactly so (ten characters: `2025-1-1`, `+2025-01-01`
/// or ` 2025-01-01` are not dates here): dates are compared as text in the store, where only
/// this form orders as the calendar does.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let canonical = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !canonical {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// Whether an offset from UTC (seconds east) is one a clock on Earth shows: UTC-12:00 to
/// UTC+14:00 (Baker Island to Kiribati's Line Islands, IANA tz database).
pub fn zone_on_earth(offset_seconds: i32) -> bool {
    (-12 * 3600..=MAX_ZONE_AHEAD_HOURS as i32 * 3600).contains(&offset_seconds)
}

/// Parse an RFC 3339 time, keeping its date.
pub fn parse_time(s: &str) -> Option<DateTime<chrono::FixedOffset>> {
    DateTime::parse_from_rfc3339(s).ok()
}

/// Whether a victim code looks like a person's name rather than a code: it has a space, or no
/// digit at all ("Maria K.", "Amani"). The MRM records children by code only (docs/domain.md: "codes
/// only, never names"); a code such as `V-014` or `GOMA-2026-3` has digits and no spaces.
pub fn looks_like_a_name(code: &str) -> bool {
    let code = code.trim();
    code.chars().any(char::is_whitespace) || !code.chars().any(|c| c.is_ascii_digit())
}

/// A value named in a message, cut to 40 characters (a hostile value never fills a screen).
pub(crate) fn cut(s: &str) -> String {
    if s.chars().count() > 40 {
        s.chars().take(40).chain(std::iter::once('…')).collect()
    } else {
        s.to_string()
    }
}

/// Whether `s` is a UUID (records, violations, sources and coded victims all use them).
pub fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok()
}

pub(crate) fn check_text(c: &mut Collector, key: &str, field: &str, value: &str, max: usize) {
    if value.chars().count() > max {
        c.push_keyed(
            key,
            field,
            format!("is too long (at most {max} characters)"),
        );
        c.code("too_long", &[("max", max.to_string())]);
    }
    // A control character is no part of what a person types (NUL, escape, ...): it hides text
    // in lists and exports and cannot be typed back into a filter. Long texts keep line breaks
    // and tabs.
    let long = max > MAX_SHORT;
    if value
        .chars()
        .any(|ch| ch.is_control() && !(long && matches!(ch, '\n' | '\r' | '\t')))
    {
        c.push_keyed(
            key,
            field,
            if long {
                "holds a control character (only line breaks and tabs are kept)"
            } else {
                "holds a control character (a line break, a tab, NUL...)"
            },
        );
        c.code("control_character", &[]);
    }
}

/// Validate a whole incident as it would be saved (a new record, or a form's whole content).
pub fn incident(inc: &Incident, clock: &Clock) -> crate::Result<()> {
    let mut c = Collector(Vec::new());
    incident_findings(&mut c, inc, clock);
    c.finish("incident")
}

/// Judge a write by what it writes: refused only for problems the record did not have before
/// (`before`: `None` for a new record). Problems a merge left behind do not block it.
pub fn incident_change(
    before: Option<&Incident>,
    after: &Incident,
    clock: &Clock,
) -> crate::Result<()> {
    change("incident", before, after, clock.settling, |c, r| {
        incident_findings(c, r, clock)
    })
}

/// [`incident_change`] for a patrol.
pub fn patrol_change(before: Option<&Patrol>, after: &Patrol, clock: &Clock) -> crate::Result<()> {
    change("patrol", before, after, clock.settling, |c, p| {
        patrol_findings(c, p, clock)
    })
}

/// The problems `findings` reports for `after` and not for `before`, as an error; `by_field`:
/// a problem counts as there before when its field had any ([`Clock::settling`]).
pub(crate) fn change<T>(
    what: &'static str,
    before: Option<&T>,
    after: &T,
    by_field: bool,
    findings: impl Fn(&mut Collector, &T),
) -> crate::Result<()> {
    let mut old = Collector(Vec::new());
    if let Some(b) = before {
        findings(&mut old, b);
    }
    let had: HashSet<(String, String)> = old
        .0
        .into_iter()
        .map(|f| {
            (
                f.key,
                if by_field {
                    String::new()
                } else {
                    f.error.message
                },
            )
        })
        .collect();
    let mut new = Collector(Vec::new());
    findings(&mut new, after);
    let added: Vec<FieldError> = new
        .0
        .into_iter()
        .filter(|f| {
            let message = if by_field {
                String::new()
            } else {
                f.error.message.clone()
            };
            f.blocks && !had.contains(&(f.key.clone(), message))
        })
        .map(|f| f.error)
        .collect();
    into_result(what, added)
}

/// What a merged record breaks, for a person to settle: every problem the checks find in it as
/// it stands. Empty for a record that needs no attention.
pub fn incident_attention(inc: &Incident, clock: &Clock) -> Vec<FieldError> {
    let mut c = Collector(Vec::new());
    incident_findings(&mut c, inc, clock);
    c.0.into_iter().map(|f| f.error).collect()
}

fn incident_findings(c: &mut Collector, inc: &Incident, clock: &Clock) {
    let latest_day = clock.latest_day();
    if inc.title.trim().is_empty() {
        c.push("title", "is required");
    }
    check_text(c, "title", "title", &inc.title, MAX_SHORT);
    check_text(c, "narrative", "narrative", &inc.narrative, MAX_TEXT);

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
            c.code("not_a_date", &[("value", cut(&inc.occurred_on))]);
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
            c.code("not_a_date", &[("value", cut(&inc.reported_on))]);
            None
        }
    };
    for (field, date) in [("occurred_on", occurred), ("reported_on", reported)] {
        match date {
            Some(d) if d > latest_day => {
                c.push(field, format!("{d} is in the future"));
                c.code("in_future", &[("date", d.to_string())]);
            }
            Some(d) if d < earliest_day() => {
                c.push(field, format!("{d} is not a plausible date (before 1900)"));
                c.code("implausible_date", &[("date", d.to_string())]);
            }
            _ => {}
        }
    }
    if let Some(end) = &inc.ended_on {
        match parse_date(end) {
            None => {
                c.push("ended_on", format!("`{end}` is not a date (YYYY-MM-DD)"));
                c.code("not_a_date", &[("value", cut(end))]);
            }
            Some(e) if e > latest_day => {
                c.push("ended_on", format!("{e} is in the future"));
                c.code("in_future", &[("date", e.to_string())]);
            }
            Some(e) if occurred.is_some_and(|o| e < o) => {
                let o = occurred.unwrap_or(e);
                c.push(
                    "ended_on",
                    format!("{e} is before the incident began ({o})"),
                );
                c.code(
                    "ended_before_began",
                    &[("occurred", o.to_string()), ("ended", e.to_string())],
                );
            }
            _ => {}
        }
    }
    if let (Some(o), Some(r)) = (occurred, reported) {
        if o > r {
            c.push(
                "occurred_on",
                format!("{o} is after the date it was reported ({r})"),
            );
            c.code(
                "date_order",
                &[("occurred", o.to_string()), ("reported", r.to_string())],
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
        check_text(c, f, f, v, MAX_SHORT);
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
        let k = format!("sources.{}", s.id);
        if !is_uuid(&s.id) {
            c.push_keyed(
                format!("{k}.id"),
                format!("{f}.id"),
                format!("`{}` is not a UUID", s.id),
            );
        }
        if !ids.insert(s.id.as_str()) {
            c.push_keyed(
                format!("{k}.id"),
                format!("{f}.id"),
                format!("{} is used twice", s.id),
            );
        }
        source_ids.insert(s.id.as_str());
        check_text(
            c,
            &format!("{k}.notes"),
            &format!("{f}.notes"),
            &s.notes,
            MAX_TEXT,
        );
    }

    for (i, v) in inc.violations.iter().enumerate() {
        violation_findings(c, inc, i, v, &mut ids, &source_ids, clock);
        if let Some((e, facts)) = v.changed_since_decision(inc).filter(|_| v.is_live()) {
            let mut was = format!(
                "{} of {} boys, {} girls, {} of unknown sex by {} ({})",
                facts.kind, facts.boys, facts.girls, facts.sex_unknown, facts.party, facts.category
            );
            if let Some(o) = facts
                .occurred_on
                .as_deref()
                .filter(|o| *o != inc.occurred_on)
            {
                was.push_str(&format!(", occurred {o}"));
            }
            c.note(
                format!("violations.{}.verified", v.id),
                format!("violations[{}]", i + 1),
                format!(
                    "changed since {} recorded \"{}\", which verified {was}: a reviewer should \
                     decide again",
                    e.by, e.status
                ),
            );
            c.code(
                "changed_since_decision",
                &[
                    ("by", e.by.clone()),
                    ("status", e.status.to_string()),
                    ("was", was),
                ],
            );
        }
        if let Some(w) = &v.withdrawn {
            let k = format!("violations.{}.withdrawn", v.id);
            for e in v.decisions_unseen_by_withdrawal() {
                c.note(
                    k.clone(),
                    format!("violations[{}].withdrawn", i + 1),
                    format!(
                        "withdrawn by {} while {} recorded \"{}\" apart: the decision stands and \
                         the violation counts until a reviewer withdraws it again or restores it",
                        w.by, e.by, e.status
                    ),
                );
                c.code(
                    "withdrawal_contested",
                    &[
                        ("by", w.by.clone()),
                        ("decided_by", e.by.clone()),
                        ("status", e.status.to_string()),
                    ],
                );
            }
            stamp_findings(
                c,
                &k,
                &format!("violations[{}].withdrawn", i + 1),
                &w.at,
                clock,
            );
            check_text(
                c,
                &format!("{k}.reason"),
                &format!("violations[{}].withdrawn.reason", i + 1),
                &w.reason,
                MAX_TEXT,
            );
        }
    }
    for (i, s) in inc.sources.iter().enumerate() {
        if let Some(w) = &s.withdrawn {
            let k = format!("sources.{}.withdrawn", s.id);
            stamp_findings(
                c,
                &k,
                &format!("sources[{}].withdrawn", i + 1),
                &w.at,
                clock,
            );
            check_text(
                c,
                &format!("{k}.reason"),
                &format!("sources[{}].withdrawn.reason", i + 1),
                &w.reason,
                MAX_TEXT,
            );
        }
    }
    // Comments are append-only, so a comment's place in the thread names it.
    for (i, cm) in inc.review.comments.iter().enumerate() {
        let f = format!("review.comments[{}]", i + 1);
        stamp_findings(c, &f, &f, &cm.at, clock);
        check_text(
            c,
            &format!("{f}.text"),
            &format!("{f}.text"),
            &cm.text,
            MAX_TEXT,
        );
        check_text(c, &format!("{f}.by"), &format!("{f}.by"), &cm.by, MAX_SHORT);
    }
}

/// A time stamped by a writer (`at` of a comment or a withdrawal): a time, and not ahead of the
/// clock.
fn stamp_findings(c: &mut Collector, key: &str, field: &str, at: &str, clock: &Clock) {
    match parse_time(at) {
        None => c.push_keyed(
            format!("{key}.at"),
            format!("{field}.at"),
            format!("`{at}` is not a time"),
        ),
        Some(t) if t.with_timezone(&Utc) > clock.latest_instant() => {
            c.push_keyed(
                format!("{key}.at"),
                format!("{field}.at"),
                format!("{at} is in the future"),
            );
            c.code("in_future", &[("date", at.to_string())]);
        }
        Some(_) => {}
    }
}

fn violation_findings<'a>(
    c: &mut Collector,
    inc: &Incident,
    i: usize,
    v: &'a crate::model::Violation,
    ids: &mut HashSet<&'a str>,
    source_ids: &HashSet<&str>,
    clock: &Clock,
) {
    let withdrawn_sources: HashSet<&str> = inc
        .sources
        .iter()
        .filter(|s| s.withdrawn.is_some())
        .map(|s| s.id.as_str())
        .collect();
    let f = format!("violations[{}]", i + 1);
    let k = format!("violations.{}", v.id);
    if !is_uuid(&v.id) {
        c.push_keyed(
            format!("{k}.id"),
            format!("{f}.id"),
            format!("`{}` is not a UUID", v.id),
        );
    }
    if !ids.insert(v.id.as_str()) {
        c.push_keyed(
            format!("{k}.id"),
            format!("{f}.id"),
            format!("{} is used twice", v.id),
        );
    }
    let vic = &v.victims;
    let counts = [
        ("boys", vic.boys),
        ("girls", vic.girls),
        ("sex_unknown", vic.sex_unknown),
    ];
    for (name, n) in counts {
        if n < 0 {
            c.push_keyed(
                format!("{k}.victims.{name}"),
                format!("{f}.victims.{name}"),
                format!("must be 0 or more (got {n})"),
            );
            c.code("negative", &[("n", n.to_string())]);
        } else if n > MAX_COUNT {
            c.push_keyed(
                format!("{k}.victims.{name}"),
                format!("{f}.victims.{name}"),
                format!("{n} is not a plausible count (at most {MAX_COUNT})"),
            );
        }
    }
    let counts_valid = vic.boys >= 0 && vic.girls >= 0 && vic.sex_unknown >= 0;
    if v.kind.has_child_victims() && counts_valid && vic.total() == 0 && v.is_live() {
        c.push_keyed(
            format!("{k}.victims"),
            format!("{f}.victims"),
            format!("a {} violation needs at least one child", v.kind),
        );
    }
    let mut coded_by_sex = [0i64; 3];
    for (j, cv) in vic.coded.iter().enumerate() {
        let g = format!("{f}.victims.coded[{}]", j + 1);
        let gk = format!("{k}.victims.coded.{}", cv.id);
        if !is_uuid(&cv.id) {
            c.push_keyed(
                format!("{gk}.id"),
                format!("{g}.id"),
                format!("`{}` is not a UUID", cv.id),
            );
        }
        if !ids.insert(cv.id.as_str()) {
            c.push_keyed(
                format!("{gk}.id"),
                format!("{g}.id"),
                format!("{} is used twice", cv.id),
            );
        }
        if cv.code.trim().is_empty() {
            c.push_keyed(format!("{gk}.code"), format!("{g}.code"), "is required");
        } else if looks_like_a_name(&cv.code) {
            c.push_keyed(
                format!("{gk}.code"),
                format!("{g}.code"),
                "looks like a name: a victim is recorded by a code (letters and digits without \
                 spaces, such as V-014), never by name",
            );
            c.code("name_not_code", &[]);
        }
        check_text(c, &format!("{gk}.code"), &format!("{g}.code"), &cv.code, 64);
        if let Some(age) = cv.age {
            if !(0..18).contains(&age) {
                c.push_keyed(
                    format!("{gk}.age"),
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
    for (n_sex, (name, n)) in counts.into_iter().enumerate() {
        if n >= 0 && coded_by_sex[n_sex] > n {
            c.push_keyed(
                format!("{k}.victims.{name}"),
                format!("{f}.victims.{name}"),
                format!(
                    "{n} is fewer than the {} coded victim(s) of that sex",
                    coded_by_sex[n_sex]
                ),
            );
            c.code(
                "fewer_than_coded",
                &[
                    ("n", n.to_string()),
                    ("coded", coded_by_sex[n_sex].to_string()),
                ],
            );
        }
    }
    check_text(
        c,
        &format!("{k}.perpetrator.party"),
        &format!("{f}.perpetrator.party"),
        &v.perpetrator.party,
        MAX_SHORT,
    );
    if let Some(pid) = &v.perpetrator.party_id {
        if !crate::parties::is_party_id(pid) {
            c.push_keyed(
                format!("{k}.perpetrator.party_id"),
                format!("{f}.perpetrator.party_id"),
                "is not a party id (letters, digits, - and _, at most 64)",
            );
        }
    }
    for (key, value) in &v.details {
        if let Some((code, message)) = crate::details::problem(v.kind, key, value) {
            c.push_keyed(
                format!("{k}.details.{key}"),
                format!("{f}.details.{key}"),
                message,
            );
            c.code(
                code,
                &[
                    ("key", key.clone()),
                    ("type", v.kind.to_string()),
                    ("value", value.to_string()),
                ],
            );
        }
    }
    let occurred = parse_date(&inc.occurred_on);
    for (j, e) in v.verification.iter().enumerate() {
        let g = format!("{f}.verification[{}]", j + 1);
        // Events are never edited, so an event's place in its trail names it.
        let gk = format!(
            "{k}.verification.{}",
            if e.id.is_empty() {
                j.to_string()
            } else {
                e.id.clone()
            }
        );
        match parse_time(&e.at) {
            None => c.push_keyed(
                format!("{gk}.at"),
                format!("{g}.at"),
                format!("`{}` is not a time", e.at),
            ),
            Some(t) => {
                // Its day decides whether a verification is late: a zone no clock on Earth
                // shows (RFC 3339 allows up to ±23:59) would move it.
                if !zone_on_earth(t.offset().local_minus_utc()) {
                    c.push_keyed(
                        format!("{gk}.at"),
                        format!("{g}.at"),
                        format!(
                            "`{}` is in no time zone used on Earth (UTC-12:00 to UTC+14:00)",
                            e.at
                        ),
                    );
                }
                let t = t.with_timezone(&Utc);
                if t > clock.latest_instant() {
                    c.push_keyed(
                        format!("{gk}.at"),
                        format!("{g}.at"),
                        format!("{} is in the future", e.at),
                    );
                    c.code("in_future", &[("date", e.at.clone())]);
                }
                if let Some(o) = occurred {
                    if t < clock.earliest_instant(o) {
                        c.note(
                            format!("{gk}.at"),
                            format!("{g}.at"),
                            format!("{} is before the incident occurred ({o})", e.at),
                        );
                        c.code(
                            "before_occurred",
                            &[("at", e.at.clone()), ("occurred", o.to_string())],
                        );
                    }
                }
            }
        }
        let ruling = v.current_event().is_some_and(|c| c.id == e.id) && e.status.is_decision();
        for s in &e.source_ids {
            if ruling && v.is_live() && withdrawn_sources.contains(s.as_str()) {
                c.note(
                    format!("{gk}.source_ids.withdrawn"),
                    format!("{g}.source_ids"),
                    format!("the decision rests on source {s}, since withdrawn"),
                );
                c.code("cites_withdrawn_source", &[("source", s.clone())]);
            }
            if !source_ids.contains(s.as_str()) {
                c.push_keyed(
                    format!("{gk}.source_ids"),
                    format!("{g}.source_ids"),
                    format!("this incident has no source {s}"),
                );
                c.code("unknown_source", &[("source", s.clone())]);
            }
        }
        check_text(
            c,
            &format!("{gk}.note"),
            &format!("{g}.note"),
            &e.note,
            MAX_TEXT,
        );
        if e.level.is_some() && !e.is_ruling() {
            c.push_keyed(
                format!("{gk}.level"),
                format!("{g}.level"),
                format!(
                    "a tier is given to a decision, not to a `{}` event",
                    e.status
                ),
            );
        }
        if let Some(counts) = &e.sources {
            if !e.status.is_decision() {
                c.push_keyed(
                    format!("{gk}.sources"),
                    format!("{g}.sources"),
                    "the sources a decision rests on are counted on a decision only",
                );
            }
            for (name, n) in [("primary", counts.primary), ("secondary", counts.secondary)] {
                if !(0..=MAX_COUNT).contains(&n) {
                    c.push_keyed(
                        format!("{gk}.sources.{name}"),
                        format!("{g}.sources.{name}"),
                        format!("{n} is not a count of sources (0 to {MAX_COUNT})"),
                    );
                }
            }
        }
    }
}

/// A decision time typed by the writer (not stamped by their clock): refused before the
/// incident occurred. A stamped time before it is only shown ([`Finding::blocks`]).
///
/// Errors: [`Error::Invalid`] on `verification.at`.
pub fn typed_event_time(inc: &Incident, at: &str, clock: &Clock) -> crate::Result<()> {
    match (parse_time(at), parse_date(&inc.occurred_on)) {
        (Some(t), Some(o)) if t.with_timezone(&Utc) < clock.earliest_instant(o) => {
            Err(Error::invalid(
                "verification",
                "at",
                format!("{at} is before the incident occurred ({o})"),
            ))
        }
        _ => Ok(()),
    }
}

/// Validate a whole patrol as it would be saved.
pub fn patrol(p: &Patrol, clock: &Clock) -> crate::Result<()> {
    let mut c = Collector(Vec::new());
    patrol_findings(&mut c, p, clock);
    c.finish("patrol")
}

fn patrol_findings(c: &mut Collector, p: &Patrol, clock: &Clock) {
    let latest_day = clock.latest_day();
    match parse_date(&p.date) {
        None if p.date.is_empty() => c.push("date", "is required (YYYY-MM-DD)"),
        None => c.push("date", format!("`{}` is not a date (YYYY-MM-DD)", p.date)),
        Some(d) if d > latest_day => c.push("date", format!("{d} is in the future")),
        Some(d) if d < earliest_day() => {
            c.push("date", format!("{d} is not a plausible date (before 1900)"))
        }
        Some(_) => {}
    }
    if p.team.trim().is_empty() {
        c.push("team", "is required");
    }
    for (i, place) in p.route.iter().enumerate() {
        if place.trim().is_empty() {
            c.push(format!("route[{}]", i + 1), "is empty");
        }
        let f = format!("route[{}]", i + 1);
        check_text(c, &f, &f, place, MAX_SHORT);
    }
    for (i, who) in p.participants.iter().enumerate() {
        let f = format!("participants[{}]", i + 1);
        check_text(c, &f, &f, who, MAX_SHORT);
    }
    check_text(c, "notes", "notes", &p.notes, MAX_TEXT);
    if let Some(t) = &p.ended_at {
        if parse_time(t).is_none() {
            c.push("ended_at", format!("`{t}` is not a time"));
        }
    }
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

/// The names in `list`, for a message: at most twelve, then how many more.
fn some_of<'a>(list: impl ExactSizeIterator<Item = &'a String>) -> String {
    let n = list.len();
    let mut names: Vec<&str> = list.take(12).map(String::as_str).collect();
    if n > names.len() {
        names.push("…");
    }
    names.join(", ")
}

/// The admin areas an edit writes (`loc`, only the fields it sets), against the mission's list:
/// once the configuration lists first-level areas, a province must be one of them, and a
/// district one of its province's when that province lists any (`admin1` is the province the
/// record will have: the patch's, else `current`). A misspelt province ("Nord Kivu") would
/// otherwise count apart in every report. Parties are not refused (a patrol may meet a new
/// armed group before the list is updated): [`against_config`] warns of them.
///
/// Errors: [`Error::Invalid`] on `location.admin1` or `location.admin2`, naming the mission's
/// areas.
pub fn admin_areas_written(
    loc: &crate::input::LocationPatch,
    current: &str,
    cfg: &MissionConfig,
) -> crate::Result<()> {
    if cfg.admin_areas.is_empty() {
        return Ok(());
    }
    let admin1 = loc.admin1.as_deref().map(str::trim).unwrap_or(current);
    if let Some(a) = loc
        .admin1
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        if !cfg.admin_areas.contains_key(a) {
            let list = some_of(cfg.admin_areas.keys());
            return Err(Error::invalid_coded(
                "incident",
                "location.admin1",
                format!("`{a}` is not one of the mission's provinces ({list})"),
                "province_not_listed",
                &[("value", cut(a)), ("list", list)],
            ));
        }
    }
    if let Some(d) = loc
        .admin2
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        if let Some(districts) = cfg.admin_areas.get(admin1).filter(|l| !l.is_empty()) {
            if !districts.iter().any(|x| x == d) {
                let list = some_of(districts.iter());
                return Err(Error::invalid_coded(
                    "incident",
                    "location.admin2",
                    format!("`{d}` is not one of {admin1}'s districts ({list})"),
                    "district_not_listed",
                    &[("value", cut(d)), ("province", cut(admin1)), ("list", list)],
                ));
            }
        }
    }
    Ok(())
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
                code: Some("province_not_listed"),
                params: [
                    ("value", cut(&loc.admin1)),
                    ("list", some_of(cfg.admin_areas.keys())),
                ]
                .into(),
            }),
            Some(subs)
                if !subs.is_empty() && !loc.admin2.is_empty() && !subs.contains(&loc.admin2) =>
            {
                w.push(FieldError {
                    field: "location.admin2".into(),
                    message: format!("`{}` is not listed under {}", loc.admin2, loc.admin1),
                    code: Some("district_not_listed"),
                    params: [
                        ("value", cut(&loc.admin2)),
                        ("province", cut(&loc.admin1)),
                        ("list", some_of(subs.iter())),
                    ]
                    .into(),
                })
            }
            Some(_) => {}
        }
    }
    if let (Some(lat), Some(lon)) = (loc.lat, loc.lon) {
        let code = match crate::bounds::check(&cfg.area_bounds, &loc.admin1, lat, lon) {
            crate::bounds::PlaceCheck::Outside => Some((
                "coordinates_outside_province",
                "fall outside the province's extent: check them, or the province",
            )),
            crate::bounds::PlaceCheck::Swapped => Some((
                "coordinates_swapped",
                "fall outside the province's extent, but inside it with latitude and \
                 longitude exchanged: were they swapped?",
            )),
            crate::bounds::PlaceCheck::Inside | crate::bounds::PlaceCheck::Unknown => None,
        };
        if let Some((code, why)) = code {
            w.push(FieldError {
                field: "location.lat".into(),
                // Not the numbers: a message may be logged, and a place can name a child.
                message: format!("the coordinates {why} ({})", loc.admin1),
                code: Some(code),
                params: [("province", cut(&loc.admin1))].into(),
            });
        }
    }
    if !cfg.parties.is_empty() || !cfg.party_registry.is_empty() {
        for (i, v) in inc.violations.iter().enumerate() {
            let party = &v.perpetrator.party;
            let known = cfg.parties.contains(party)
                || crate::parties::resolve(
                    &cfg.party_registry,
                    v.perpetrator.party_id.as_deref(),
                    party,
                )
                .is_some();
            if !party.is_empty() && !known {
                w.push(FieldError {
                    field: format!("violations[{}].perpetrator.party", i + 1),
                    message: format!("`{party}` is not on the mission's list of parties"),
                    code: Some("party_not_listed"),
                    params: [("value", cut(party))].into(),
                });
            }
        }
    }
    if !cfg.teams.is_empty() && !cfg.teams.contains(&inc.team) {
        w.push(FieldError {
            field: "team".into(),
            message: format!("`{}` is not a team of the mission", inc.team),
            code: Some("team_not_listed"),
            params: [("value", cut(&inc.team))].into(),
        });
    }
    w
}
