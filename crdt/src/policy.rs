//! The one policy: who may write what. Pure functions, no IO.
//!
//! The device store calls them before every local commit and the endpoint calls them on the
//! effect of every pushed batch ([`crate::effect`]), so a device never records what the endpoint
//! would refuse, and the two can never disagree. The app shows a role's [`Capabilities`] instead
//! of re-deriving them.
//!
//! The rules come from the MRM's division of labour (docs/domain.md, "Who uses it"): field officers
//! record incidents and patrols of their own team and report what they saw; reviewers (Child
//! Protection Advisers) verify, accept and return records for the whole mission and may move a
//! record to another team; the mission's administrators keep the mission configuration.

use serde::{Deserialize, Serialize};

use crate::document::RecordKind;
use crate::model::{DecisionLevel, ReviewState, VerificationStatus};

/// What a device may do, as its endpoint enrolled it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Writes incidents and patrols of its own team; reads its team's records.
    Officer,
    /// Writes every incident (verification, review); reads the whole mission.
    Reviewer,
    /// Writes the mission configuration; reads the whole mission.
    Admin,
    /// A member of the country task force (CTFMR) who records its decisions: everything a
    /// reviewer does, and decisions at the task force's tier ([`DecisionLevel::TaskForce`]).
    TaskForce,
}

impl Role {
    /// The name used in the protocol, the CLI and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::Reviewer => "reviewer",
            Role::Admin => "admin",
            Role::TaskForce => "task_force",
        }
    }

    /// Parse a role name.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "officer" => Some(Role::Officer),
            "reviewer" => Some(Role::Reviewer),
            "admin" => Some(Role::Admin),
            "task_force" => Some(Role::TaskForce),
            _ => None,
        }
    }

    /// Whether the device reads every team's records.
    pub fn sees_whole_mission(self) -> bool {
        !matches!(self, Role::Officer)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who writes: a role and a team. A store that is not enrolled yet writes as
/// [`Writer::unenrolled`]: everything a person with the store in hand may record before the
/// mission gives it a role (the endpoint judges it again at the first push).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Writer {
    /// `None`: not enrolled.
    pub role: Option<Role>,
    pub team: String,
}

impl Writer {
    /// An enrolled device.
    pub fn enrolled(role: Role, team: impl Into<String>) -> Self {
        Writer {
            role: Some(role),
            team: team.into(),
        }
    }

    /// A store not enrolled yet, of this team.
    pub fn unenrolled(team: impl Into<String>) -> Self {
        Writer {
            role: None,
            team: team.into(),
        }
    }

    /// Whether this writer takes reviewers' decisions (at some tier: [`may_decide_at`]).
    pub fn decides(&self) -> bool {
        matches!(self.role, None | Some(Role::Reviewer | Role::TaskForce))
    }
}

/// Why the policy refuses a write. Each has a stable [`Denial::code`] that the endpoint sends and
/// the app translates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Denial {
    #[error("a device with role {role} may not write {kind} records")]
    KindNotAllowed { role: Role, kind: &'static str },
    #[error("this {kind} belongs to team {team}; a device of team {own} may not change it")]
    OtherTeam {
        kind: &'static str,
        team: String,
        own: String,
    },
    #[error("only a reviewer may give a record to another team ({from} to {to})")]
    TeamMove { from: String, to: String },
    #[error("only a reviewer may record a `{status}` verification")]
    DecisionByNonReviewer { status: VerificationStatus },
    #[error("only a reviewer's event may replace a verification decision")]
    SupersedeByNonReviewer,
    #[error("a device with role {role} may not decide at the {level} tier")]
    LevelNotAllowed { role: Role, level: DecisionLevel },
    #[error("a {level} ruling may not replace a ruling of a higher tier")]
    SupersedesHigherLevel { level: DecisionLevel },
    #[error("an event may only replace earlier events of the same violation")]
    SupersedesUnknown,
    #[error("a new verification event must list the rulings it replaces")]
    SupersedesMissing,
    #[error("verification events are append-only: this changes or removes an existing one")]
    EventChanged,
    #[error("comments are append-only: this changes or removes an existing one")]
    CommentChanged,
    #[error("only a reviewer may mark a record {state}")]
    ReviewDecision { state: ReviewState },
    #[error("this record was accepted by a reviewer; only a reviewer may reopen it")]
    AcceptedReopened,
    #[error("a violation that carries a verification decision is never deleted; a reviewer may withdraw it")]
    DecidedViolationDeleted,
    #[error("a source cited by a verification decision is never deleted; it may be withdrawn")]
    CitedSourceDeleted,
    #[error(
        "only a reviewer may withdraw or restore a violation that carries a verification decision"
    )]
    DecidedViolationWithdrawn,
    #[error("a withdrawal, once recorded, keeps who made it and why")]
    WithdrawalChanged,
    #[error("only a reviewer may change the type, children or perpetrator of a violation a reviewer decided")]
    DecidedViolationChanged,
    #[error("the record's {field} never changes once it is recorded")]
    Immutable { field: &'static str },
    #[error("only a reviewer may split a record created twice under one id")]
    SplitByNonReviewer,
    #[error("only a reviewer may match a party name to the mission's registry")]
    PartyMatchByNonReviewer,
    #[error("`{path}` is deleted or replaced: parts of a record are never removed (violations and sources are withdrawn)")]
    StructureReplaced { path: String },
}

impl Denial {
    /// The machine-readable reason.
    pub fn code(&self) -> &'static str {
        match self {
            Denial::KindNotAllowed { .. } => "kind_not_allowed",
            Denial::OtherTeam { .. } => "other_team",
            Denial::TeamMove { .. } => "team_move",
            Denial::DecisionByNonReviewer { .. } => "decision_by_non_reviewer",
            Denial::SupersedeByNonReviewer => "supersede_by_non_reviewer",
            Denial::LevelNotAllowed { .. } => "level_not_allowed",
            Denial::SupersedesHigherLevel { .. } => "supersedes_higher_level",
            Denial::SupersedesUnknown => "supersedes_unknown",
            Denial::SupersedesMissing => "supersedes_missing",
            Denial::EventChanged => "event_changed",
            Denial::CommentChanged => "comment_changed",
            Denial::ReviewDecision { .. } => "review_decision",
            Denial::AcceptedReopened => "accepted_reopened",
            Denial::DecidedViolationDeleted => "decided_violation_deleted",
            Denial::CitedSourceDeleted => "cited_source_deleted",
            Denial::DecidedViolationWithdrawn => "decided_violation_withdrawn",
            Denial::WithdrawalChanged => "withdrawal_changed",
            Denial::DecidedViolationChanged => "decided_violation_changed",
            Denial::Immutable { .. } => "immutable",
            Denial::SplitByNonReviewer => "split_by_non_reviewer",
            Denial::PartyMatchByNonReviewer => "party_match_by_non_reviewer",
            Denial::StructureReplaced { .. } => "structure_replaced",
        }
    }
}

/// Whether `writer` may write a record of `kind` that belongs to `team_before` (`None`: the
/// record is new) and belongs to `team_after` once written.
pub fn may_write(
    writer: &Writer,
    kind: RecordKind,
    team_before: Option<&str>,
    team_after: &str,
) -> Result<(), Denial> {
    let kind_name = kind.as_str();
    match (writer.role, kind) {
        // A store that is not enrolled writes what its officer records; the configuration comes
        // only from the endpoint.
        (None, RecordKind::Incident | RecordKind::Patrol | RecordKind::Activity(_)) => Ok(()),
        // Releases, trainings and engagements: recorded by the team that did them, like
        // incidents, and by the mission's advisers for any team.
        (
            Some(Role::Officer),
            RecordKind::Incident | RecordKind::Patrol | RecordKind::Activity(_),
        ) => {
            if let Some(t) = team_before.filter(|t| *t != writer.team) {
                return Err(Denial::OtherTeam {
                    kind: kind_name,
                    team: t.to_string(),
                    own: writer.team.clone(),
                });
            }
            if team_after != writer.team {
                return Err(Denial::TeamMove {
                    from: team_before.unwrap_or(&writer.team).to_string(),
                    to: team_after.to_string(),
                });
            }
            Ok(())
        }
        (
            Some(Role::Reviewer | Role::TaskForce),
            RecordKind::Incident | RecordKind::Activity(_),
        ) => Ok(()),
        // Closing a reporting period freezes the mission's figures: a reviewer's decision (an
        // unenrolled store keeps its own figures).
        (None | Some(Role::Reviewer | Role::TaskForce), RecordKind::Period) => Ok(()),
        (Some(Role::Admin), RecordKind::Config) => Ok(()),
        (role, _) => Err(Denial::KindNotAllowed {
            role: role.unwrap_or(Role::Officer),
            kind: kind_name,
        }),
    }
}

/// Whether `writer` may record a new verification event of `status`.
pub fn may_record_status(writer: &Writer, status: VerificationStatus) -> Result<(), Denial> {
    if status.is_decision() && !writer.decides() {
        return Err(Denial::DecisionByNonReviewer { status });
    }
    Ok(())
}

/// Whether `writer` may rule at `level` (a decision, or a reopening that replaces rulings).
/// The MRM's tiers: a reviewer (a Child Protection Adviser) decides as focal point and in the
/// technical working group's review; only the task force records its own decision. A store
/// not enrolled may record any tier; the endpoint judges it again at its first push.
pub fn may_decide_at(writer: &Writer, level: DecisionLevel) -> Result<(), Denial> {
    let allowed = match writer.role {
        None | Some(Role::TaskForce) => true,
        Some(Role::Reviewer) => level != DecisionLevel::TaskForce,
        Some(Role::Officer | Role::Admin) => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(Denial::LevelNotAllowed {
            role: writer.role.unwrap_or(Role::Officer),
            level,
        })
    }
}

/// Whether a ruling of `level` may replace one of `replaced`: only of its own tier or below,
/// so a violation's status stays its highest tier's ruling.
pub fn may_supersede(level: DecisionLevel, replaced: DecisionLevel) -> Result<(), Denial> {
    if replaced > level {
        return Err(Denial::SupersedesHigherLevel { level });
    }
    Ok(())
}

/// Whether `writer` may move an incident's review state from `from` to `to`.
pub fn may_set_review_state(
    writer: &Writer,
    from: ReviewState,
    to: ReviewState,
) -> Result<(), Denial> {
    if writer.decides() || from == to {
        return Ok(());
    }
    if matches!(to, ReviewState::Accepted | ReviewState::Returned) {
        return Err(Denial::ReviewDecision { state: to });
    }
    if from == ReviewState::Accepted {
        return Err(Denial::AcceptedReopened);
    }
    Ok(())
}

/// What a role may do, for the app to offer only that.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    pub record_incidents: bool,
    pub record_patrols: bool,
    /// Record releases, trainings and engagements (of its own team at least).
    pub record_activities: bool,
    pub edit_other_teams: bool,
    /// Verification statuses the role may record.
    pub statuses: Vec<VerificationStatus>,
    /// The tiers the role decides at, lowest first (empty: it records field events only).
    pub decision_levels: Vec<DecisionLevel>,
    pub accept_and_return: bool,
    pub move_team: bool,
    /// Close a reporting period (freeze its figures for the mission).
    pub close_periods: bool,
    /// Match a party name the registry does not know to one of its parties.
    pub match_parties: bool,
}

/// Whether `writer` may match a party name the mission's registry does not know to one of its
/// parties, in every record naming it: a reviewer's task (issue 19 §3: unknown names are held
/// for a reviewer), as deciding which armed group did it is.
pub fn may_match_parties(writer: &Writer) -> Result<(), Denial> {
    if writer.decides() {
        Ok(())
    } else {
        Err(Denial::PartyMatchByNonReviewer)
    }
}

/// The capabilities of `writer`, derived from the rules above.
pub fn capabilities(writer: &Writer) -> Capabilities {
    let own = writer.team.as_str();
    let other = format!("{own}\u{0}other");
    Capabilities {
        record_incidents: may_write(writer, RecordKind::Incident, None, own).is_ok(),
        record_patrols: may_write(writer, RecordKind::Patrol, None, own).is_ok(),
        record_activities: may_write(
            writer,
            RecordKind::Activity(crate::activity::ActivityKind::Release),
            None,
            own,
        )
        .is_ok(),
        edit_other_teams: may_write(writer, RecordKind::Incident, Some(&other), &other).is_ok(),
        statuses: VerificationStatus::ALL
            .iter()
            .copied()
            .filter(|s| may_record_status(writer, *s).is_ok())
            .collect(),
        decision_levels: DecisionLevel::ALL
            .iter()
            .copied()
            .filter(|l| writer.decides() && may_decide_at(writer, *l).is_ok())
            .collect(),
        accept_and_return: may_set_review_state(
            writer,
            ReviewState::Submitted,
            ReviewState::Accepted,
        )
        .is_ok(),
        move_team: may_write(writer, RecordKind::Incident, Some(own), &other).is_ok(),
        close_periods: may_write(writer, RecordKind::Period, None, "").is_ok(),
        match_parties: may_match_parties(writer).is_ok(),
    }
}
