//! The MRM record vocabulary (docs/domain.md): incidents, violations, sources, verification events, patrols.
//!
//! These are the values the CLI and the app exchange as JSON. Inside a store each record lives in an
//! Automerge document (see [`crate::document`]); these types are what a document reads back as.

use serde::{Deserialize, Serialize};

macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in the order reports list them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name used in JSON, the CLI and the store.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(crate::Error::UnknownValue {
                        what: stringify!($name),
                        value: other.to_string(),
                        expected: [$($text),+].join(", "),
                    }),
                }
            }
        }
    };
}

vocabulary!(
    /// The six grave violations, with attacks and military use split by target as the MRM reports
    /// them, and deprivation of liberty (children detained for their alleged association with
    /// armed groups), which missions track beside the six.
    ViolationType {
        Killing = "killing",
        Maiming = "maiming",
        RecruitmentUse = "recruitment_use",
        SexualViolence = "sexual_violence",
        Abduction = "abduction",
        AttackSchool = "attack_school",
        AttackHospital = "attack_hospital",
        MilitaryUseSchool = "military_use_school",
        MilitaryUseHospital = "military_use_hospital",
        DenialHumanitarianAccess = "denial_humanitarian_access",
        DeprivationLiberty = "deprivation_liberty",
    }
);

impl ViolationType {
    /// One of the six grave violations (attacks and military use by target), as opposed to
    /// deprivation of liberty, which is tracked beside them: it has its own row in a report, and
    /// stays out of the grave violations' totals and of the children in several violations.
    pub fn is_grave(self) -> bool {
        self != ViolationType::DeprivationLiberty
    }

    /// Violations that are committed against children, so a record of one names at least one child.
    pub fn has_child_victims(self) -> bool {
        matches!(
            self,
            ViolationType::Killing
                | ViolationType::Maiming
                | ViolationType::RecruitmentUse
                | ViolationType::SexualViolence
                | ViolationType::Abduction
                | ViolationType::DeprivationLiberty
        )
    }
}

vocabulary!(
    /// Where a violation stands in verification. `reported` is the initial status.
    VerificationStatus {
        Reported = "reported",
        PendingVerification = "pending_verification",
        Verified = "verified",
        NotVerified = "not_verified",
        DidNotOccur = "did_not_occur",
        NotMrm = "not_mrm",
    }
);

impl VerificationStatus {
    /// A decision by a reviewer, as opposed to the field statuses `reported` and `pending_verification`.
    pub fn is_decision(self) -> bool {
        !matches!(
            self,
            VerificationStatus::Reported | VerificationStatus::PendingVerification
        )
    }
}

vocabulary!(
    /// The tier of a verification decision, in the order of the country task force's process
    /// (MRM Field Manual, "verification"; Primero's MRM module records the same steps): the
    /// focal point's decision on the ground, the task force's technical working group's review,
    /// then the task force's (CTFMR) decision. A violation's status is its highest tier's ruling.
    DecisionLevel {
        FocalPoint = "focal_point",
        TechnicalReview = "technical_review",
        TaskForce = "task_force",
    }
);

/// The sources a decision rests on: how many primary (victims, eyewitnesses, UN direct
/// observation) and secondary ones, and whether a UN staff member saw it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceCounts {
    #[serde(default)]
    pub primary: i64,
    #[serde(default)]
    pub secondary: i64,
    #[serde(default)]
    pub un_eyewitness: bool,
}

vocabulary!(
    /// How much of `occurred_on` is known.
    DatePrecision { Day = "day", Month = "month", Year = "year" }
);

vocabulary!(
    /// Who an information source is.
    SourceKind {
        Victim = "victim",
        Eyewitness = "eyewitness",
        UnDirectObservation = "un_direct_observation",
        Family = "family",
        Community = "community",
        Medical = "medical",
        Secondary = "secondary",
    }
);

vocabulary!(
    /// The kind of party a perpetrator belongs to.
    PerpetratorCategory {
        ArmedForce = "armed_force",
        ArmedGroup = "armed_group",
        Unknown = "unknown",
        Crossfire = "crossfire",
    }
);

vocabulary!(
    /// Sex of a coded victim.
    Sex { Boy = "boy", Girl = "girl", Unknown = "unknown" }
);

vocabulary!(
    /// Review state of an incident.
    ReviewState {
        Draft = "draft",
        Submitted = "submitted",
        Returned = "returned",
        Accepted = "accepted",
    }
);

/// Where an incident happened.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    #[serde(default)]
    pub admin1: String,
    #[serde(default)]
    pub admin2: String,
    #[serde(default)]
    pub place: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
}

/// An information source for an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub id: String,
    pub kind: SourceKind,
    pub consent: bool,
    #[serde(default)]
    pub notes: String,
    /// Set when the source was withdrawn; decisions that cite it still show it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<Withdrawal>,
}

/// A child identified by a code, never by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodedVictim {
    pub id: String,
    pub code: String,
    pub sex: Sex,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<i64>,
}

/// Children affected by one violation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Victims {
    pub boys: i64,
    pub girls: i64,
    pub sex_unknown: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coded: Vec<CodedVictim>,
}

impl Victims {
    /// All children counted.
    pub fn total(&self) -> i64 {
        self.boys + self.girls + self.sex_unknown
    }
}

/// Who committed a violation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Perpetrator {
    /// As typed.
    #[serde(default)]
    pub party: String,
    pub category: PerpetratorCategory,
    /// The party registry's id the name was matched to ([`crate::parties`]), by the store
    /// that wrote it or by a reviewer; `None` while the registry does not know the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party_id: Option<String>,
}

/// One entry of a violation's append-only verification trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerificationEvent {
    /// The event's identity in its document (Automerge object id, `counter@actor`), the same on
    /// every replica. Empty for an event not read from a document.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    pub status: VerificationStatus,
    /// RFC 3339 time of the decision, with the writer's UTC offset.
    pub at: String,
    pub by: String,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub source_ids: Vec<String>,
    /// Of a ruling: its tier (`None`, from before tiers or not given: the focal point's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<DecisionLevel>,
    /// Of a decision: the sources it rests on, counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<SourceCounts>,
    /// The rulings this event replaces (ids of events of the same violation), as its writer saw
    /// them: a reviewer's event supersedes the decisions current when it was written, an
    /// officer's supersedes nothing. `None`: written before this field existed, when an event
    /// replaced every earlier ruling of its trail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<Vec<String>>,
    /// Of a decision: what it verified (type, children, perpetrator) as its writer saw them. A
    /// later or concurrent change to those facts is shown as needing a new decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<VerifiedFacts>,
    /// What the event said of its author (`by`) when the endpoint's registry names its writer
    /// otherwise; `by` is then the registry's name. Set when a store shows the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_by: Option<String>,
}

/// The facts of a violation a decision rules on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifiedFacts {
    #[serde(rename = "type")]
    pub kind: ViolationType,
    pub boys: i64,
    pub girls: i64,
    pub sex_unknown: i64,
    pub party: String,
    pub category: PerpetratorCategory,
    /// The incident's dates the decision saw: they decide the reporting period a verification
    /// counts in and whether it is late. `None` on decisions from before this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_on: Option<String>,
    /// The incident's end date the decision saw (`""`: none); read only with `occurred_on`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_on: Option<String>,
}

impl VerifiedFacts {
    /// The facts of `v`, a violation of `inc`, as they stand.
    pub fn of(inc: &Incident, v: &Violation) -> Self {
        VerifiedFacts {
            kind: v.kind,
            boys: v.victims.boys,
            girls: v.victims.girls,
            sex_unknown: v.victims.sex_unknown,
            party: v.perpetrator.party.clone(),
            category: v.perpetrator.category,
            occurred_on: Some(inc.occurred_on.clone()),
            ended_on: Some(inc.ended_on.clone().unwrap_or_default()),
        }
    }

    /// Whether `now` (the facts as they stand) differ from these: the dates are compared only
    /// when the decision recorded them.
    pub fn differ(&self, now: &VerifiedFacts) -> bool {
        let facts = |f: &VerifiedFacts| {
            (
                f.kind,
                f.boys,
                f.girls,
                f.sex_unknown,
                f.party.clone(),
                f.category,
            )
        };
        facts(self) != facts(now)
            || (self.occurred_on.is_some()
                && (self.occurred_on != now.occurred_on || self.ended_on != now.ended_on))
    }
}

impl VerificationEvent {
    /// The event's tier: its `level`, or the focal point's when it has none.
    pub fn tier(&self) -> DecisionLevel {
        self.level.unwrap_or(DecisionLevel::FocalPoint)
    }

    /// Whether the event rules on the violation's status: a decision, or an event that
    /// explicitly replaces earlier rulings (a reviewer reopening a decided violation). A field
    /// event (`reported`, `pending_verification` superseding nothing) never undoes a ruling.
    pub fn is_ruling(&self) -> bool {
        self.status.is_decision() || self.supersedes.as_ref().is_some_and(|s| !s.is_empty())
    }
}

/// Why a violation or a source is no longer counted: removal keeps the record and its history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Withdrawal {
    /// RFC 3339 time, with the writer's UTC offset.
    pub at: String,
    pub by: String,
    #[serde(default)]
    pub reason: String,
    /// Of a violation: the ids of the decisions in effect when it was withdrawn, the ones its
    /// writer saw and set aside. A decision recorded apart (concurrently) is not among them, and
    /// contests the withdrawal ([`Violation::withdrawal_contested`]). `None` on withdrawals
    /// written before the field existed, and on sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overrides: Option<Vec<String>>,
}

/// One violation of an incident, verified on its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: ViolationType,
    pub victims: Victims,
    pub perpetrator: Perpetrator,
    /// What the MRM asks beyond a type and a count, by type ([`crate::details`]): the weapon,
    /// the facility and what became of it, the child's role. Empty when none was recorded.
    #[serde(default)]
    pub details: crate::details::ViolationDetails,
    pub verification: Vec<VerificationEvent>,
    /// Set when the violation was withdrawn: it stays in the record with its verification
    /// trail, and is left out of lists and figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<Withdrawal>,
}

impl Violation {
    /// Indexes (into `verification`) of the rulings no later ruling replaces, in trail order.
    /// Several when reviewers decided concurrently, without seeing each other's decision.
    ///
    /// The order is causal, not by clock: an event supersedes what its writer saw (`supersedes`);
    /// an event from before that field replaces every earlier ruling of the trail (the merged list
    /// order puts an event after every event its writer had seen).
    pub fn ruling_heads(&self) -> Vec<usize> {
        let ev = &self.verification;
        let mut replaced = vec![false; ev.len()];
        for (i, e) in ev.iter().enumerate() {
            if !e.is_ruling() {
                continue;
            }
            match &e.supersedes {
                Some(ids) => {
                    for (j, f) in ev.iter().enumerate() {
                        if j != i && !f.id.is_empty() && ids.contains(&f.id) {
                            replaced[j] = true;
                        }
                    }
                }
                None => {
                    for (j, f) in ev.iter().enumerate().take(i) {
                        if f.is_ruling() {
                            replaced[j] = true;
                        }
                    }
                }
            }
        }
        (0..ev.len())
            .filter(|&i| ev[i].is_ruling() && !replaced[i])
            .collect()
    }

    /// The current rulings of the highest tier among them ([`DecisionLevel`]): a task force's
    /// decision stands over a focal point's made apart or later, until a ruling of its own
    /// tier or above replaces it. In trail order.
    pub fn deciding_heads(&self) -> Vec<usize> {
        let heads = self.ruling_heads();
        let Some(top) = heads.iter().map(|&i| self.verification[i].tier()).max() else {
            return heads;
        };
        heads
            .into_iter()
            .filter(|&i| self.verification[i].tier() == top)
            .collect()
    }

    /// The tier of the decision in effect (`None`: nothing decided): who may withdraw the
    /// violation or change the facts it verified is whoever may decide at that tier.
    pub fn deciding_tier(&self) -> Option<DecisionLevel> {
        self.deciding_heads()
            .into_iter()
            .map(|i| &self.verification[i])
            .filter(|e| e.status.is_decision())
            .map(VerificationEvent::tier)
            .max()
    }

    /// The event that decides the current status: the last current ruling of the highest tier
    /// in trail order, or, when nothing was ruled, the last field event.
    pub fn current_event(&self) -> Option<&VerificationEvent> {
        match self.deciding_heads().last() {
            Some(&i) => self.verification.get(i),
            None => self.verification.last(),
        }
    }

    /// The ruling since which the violation has stood verified: when the current ruling is
    /// `verified`, the earliest of the unbroken run of `verified` rulings it replaced (a
    /// reviewer confirming a verification later does not make it a late one). `None` when the
    /// current ruling is not `verified`.
    pub fn verified_since(&self) -> Option<&VerificationEvent> {
        let ev = &self.verification;
        let &head = self.deciding_heads().last()?;
        if ev[head].status != VerificationStatus::Verified {
            return None;
        }
        let mut at = head;
        // Each step moves to an earlier event of the trail; the bound guards a malformed trail.
        for _ in 0..ev.len() {
            let e = &ev[at];
            let replaced: Vec<usize> = match &e.supersedes {
                Some(ids) => (0..ev.len())
                    .filter(|&j| j != at && !ev[j].id.is_empty() && ids.contains(&ev[j].id))
                    .collect(),
                // Written before `supersedes`: it replaced the ruling before it in the trail.
                None => (0..at)
                    .rev()
                    .find(|&j| ev[j].is_ruling())
                    .into_iter()
                    .collect(),
            };
            let earlier = replaced
                .into_iter()
                .filter(|&j| ev[j].status == VerificationStatus::Verified && j < at)
                .min_by(|&a, &b| ev[a].at.cmp(&ev[b].at));
            match earlier {
                Some(j) => at = j,
                None => break,
            }
        }
        Some(&ev[at])
    }

    /// The derived verification status.
    pub fn status(&self) -> VerificationStatus {
        self.current_event()
            .map(|e| e.status)
            .unwrap_or(VerificationStatus::Reported)
    }

    /// Statuses of concurrent rulings of the highest tier that disagree (empty when there is
    /// one current ruling, or several that agree): a conflict for a reviewer to settle; [`Violation::status`] is the
    /// one the figures count until then.
    pub fn contested(&self) -> Vec<VerificationStatus> {
        let mut s: Vec<VerificationStatus> = self
            .deciding_heads()
            .into_iter()
            .map(|i| self.verification[i].status)
            .collect();
        s.sort();
        s.dedup();
        if s.len() > 1 {
            s
        } else {
            Vec::new()
        }
    }

    /// The decisions in effect (current rulings that decide) its withdrawal did not see: made
    /// apart from the withdrawal, on another laptop. Empty when it is not withdrawn.
    pub fn decisions_unseen_by_withdrawal(&self) -> Vec<&VerificationEvent> {
        let Some(Some(seen)) = self.withdrawn.as_ref().map(|w| w.overrides.as_ref()) else {
            return Vec::new();
        };
        self.ruling_heads()
            .into_iter()
            .map(|i| &self.verification[i])
            .filter(|e| e.status.is_decision() && !seen.contains(&e.id))
            .collect()
    }

    /// A withdrawal made apart from a decision it never saw: the decision is kept, the
    /// violation keeps counting, and a reviewer settles it (withdraw it again, or restore it).
    pub fn withdrawal_contested(&self) -> bool {
        !self.decisions_unseen_by_withdrawal().is_empty()
    }

    /// The decision in effect and the facts it verified, when they are no longer those of this
    /// violation of `inc` (changed after it, or apart from it: its type, children, perpetrator,
    /// or the incident's dates): the figures count facts nobody verified, or in another period.
    pub fn changed_since_decision(
        &self,
        inc: &Incident,
    ) -> Option<(&VerificationEvent, &VerifiedFacts)> {
        let e = self.current_event()?;
        let facts = e.verified.as_ref()?;
        (e.status.is_decision() && facts.differ(&VerifiedFacts::of(inc, self)))
            .then_some((e, facts))
    }

    /// Whether the violation still counts: not withdrawn, or withdrawn apart from a decision
    /// that stands (no decision is lost to a concurrent removal).
    pub fn is_live(&self) -> bool {
        self.withdrawn.is_none() || self.withdrawal_contested()
    }
}

/// A comment on the review thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comment {
    pub at: String,
    pub by: String,
    pub text: String,
    /// As [`VerificationEvent::declared_by`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_by: Option<String>,
}

/// Review state and its comment thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    pub state: ReviewState,
    #[serde(default)]
    pub comments: Vec<Comment>,
}

impl Default for Review {
    fn default() -> Self {
        Review {
            state: ReviewState::Draft,
            comments: Vec::new(),
        }
    }
}

/// An incident: one time, one place, one or more violations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: String,
    pub title: String,
    pub occurred_on: String,
    pub date_precision: DatePrecision,
    /// The last day of an incident that lasted over a period (a school occupied for weeks, a
    /// child held from one date to another), YYYY-MM-DD, on or after `occurred_on`; `None` for
    /// an incident of one day. A verification is late against the end of this date's quarter
    /// (docs/reporting.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_on: Option<String>,
    pub reported_on: String,
    pub location: Location,
    pub narrative: String,
    pub patrol_id: Option<String>,
    pub sources: Vec<Source>,
    pub violations: Vec<Violation>,
    pub review: Review,
    pub created_by: String,
    pub team: String,
    /// Set on a record split out of another ([`crate::split`]): the record it was recorded in
    /// under the same id, and the creation it carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_from: Option<SplitLink>,
    /// The records split out of this one, each with the creation it took.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub split_off: Vec<SplitLink>,
}

/// One side of a split: the other record and the creation (change hash, hex) that moved. Who
/// split it, and when, is in the record's history: two reviewers who split the same record apart
/// write equal links, which merge without a conflict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitLink {
    pub record: String,
    pub root: String,
}

impl Incident {
    /// The violation with this id.
    pub fn violation(&self, id: &str) -> Option<&Violation> {
        self.violations.iter().find(|v| v.id == id)
    }
}

/// A patrol and what it recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Patrol {
    pub id: String,
    pub date: String,
    pub team: String,
    pub route: Vec<String>,
    pub participants: Vec<String>,
    pub notes: String,
    /// Set when the patrol is over (RFC 3339).
    pub ended_at: Option<String>,
    pub created_by: String,
}

/// One enrolled device as the endpoint registered it: the author every change under its actor id
/// is shown with, whatever the change says of itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredDevice {
    /// The endpoint's id of the device.
    pub device_id: String,
    /// The officer the admin registered it for.
    pub officer: String,
    pub team: String,
    /// `officer`, `reviewer` or `admin`.
    pub role: String,
    /// RFC 3339, when the admin revoked it.
    pub revoked_at: Option<String>,
}

/// The endpoint's device registry, synced to every device (`document::REGISTRY_ID`): actor id
/// (32 hex digits) to device.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Registry {
    pub devices: std::collections::BTreeMap<String, RegisteredDevice>,
}

impl Registry {
    /// Who wrote under `actor` (hex), if the endpoint registered it.
    pub fn author(&self, actor: &str) -> Option<&RegisteredDevice> {
        self.devices.get(actor)
    }
}

/// The mission configuration, distributed to every device: set by an admin on the sync endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MissionConfig {
    pub mission: String,
    #[serde(default)]
    pub teams: Vec<String>,
    /// Parties to conflict, as the mission names them.
    #[serde(default)]
    pub parties: Vec<String>,
    /// Admin areas: each first-level area with its second-level areas.
    #[serde(default)]
    pub admin_areas: std::collections::BTreeMap<String, Vec<String>>,
    /// The party registry ([`crate::parties`]): parties by id, with the names they went by.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub party_registry: Vec<crate::parties::Party>,
    /// Each province's extent ([`crate::bounds`]): coordinates outside their province's get a
    /// warning. Keys are provinces of `admin_areas`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub area_bounds: std::collections::BTreeMap<String, crate::bounds::AreaBounds>,
}
