// The docs/domain.md vocabulary, as the store spells it.
import type { Capabilities } from './api';

export const VIOLATION_TYPES = [
  'killing',
  'maiming',
  'recruitment_use',
  'sexual_violence',
  'abduction',
  'attack_school',
  'attack_hospital',
  'military_use_school',
  'military_use_hospital',
  'denial_humanitarian_access',
  'deprivation_liberty',
] as const;

/** Violations committed against children: a record of one counts at least one child. */
export const CHILD_VICTIM_TYPES = new Set<string>([
  'killing',
  'maiming',
  'recruitment_use',
  'sexual_violence',
  'abduction',
  'deprivation_liberty',
]);

/** The caseload's sync-state filters (`mrm_store::SyncFilter`): `unsynced` is any of the others. */
export const SYNC_FILTERS = ['unsynced', 'to_send', 'held', 'waiting', 'conflict'] as const;

export const STATUSES = [
  'reported',
  'pending_verification',
  'verified',
  'not_verified',
  'did_not_occur',
  'not_mrm',
] as const;

export const SOURCE_KINDS = [
  'victim',
  'eyewitness',
  'un_direct_observation',
  'family',
  'community',
  'medical',
  'secondary',
] as const;

export const CATEGORIES = ['armed_force', 'armed_group', 'unknown', 'crossfire'] as const;
export const SEXES = ['boy', 'girl', 'unknown'] as const;
export const PRECISIONS = ['day', 'month', 'year'] as const;
export const REVIEW_STATES = ['draft', 'submitted', 'returned', 'accepted'] as const;
/** The tiers of a verification decision, lowest first (`mrm_crdt::model::DecisionLevel`). */
export const DECISION_LEVELS = ['focal_point', 'technical_review', 'task_force'] as const;
/** The roles a device is enrolled with (`mrm_crdt::policy::Role`). */
export const ROLES = ['officer', 'reviewer', 'task_force', 'admin'] as const;

/** Statuses that are a reviewer's decision (the store refuses them from field officers). */
export function isDecision(status: string): boolean {
  return status !== 'reported' && status !== 'pending_verification';
}

/** Why the store refuses a change (`AppError.code` when `kind` is `denied`). */
export const DENIED_CODES = [
  'kind_not_allowed',
  'other_team',
  'team_move',
  'decision_by_non_reviewer',
  'supersede_by_non_reviewer',
  'supersedes_unknown',
  'supersedes_missing',
  'level_not_allowed',
  'supersedes_higher_level',
  'event_changed',
  'comment_changed',
  'review_decision',
  'accepted_reopened',
  'decided_violation_deleted',
  'cited_source_deleted',
  'decided_violation_withdrawn',
  'withdrawal_changed',
  'decided_violation_changed',
  'immutable',
  'split_by_non_reviewer',
  'party_match_by_non_reviewer',
  'structure_replaced',
] as const;

/**
 * Statuses a device may record: deciding ones (verified, not verified, ...) are for reviewers.
 * `caps` (from the Rust core's one policy, in `AppInfo`) decides whenever the app has it; the
 * role alone is a fallback for a store the app could not read.
 */
export function allowedStatuses(
  role: string | null | undefined,
  caps?: Capabilities | null,
): readonly string[] {
  if (caps) return caps.statuses;
  return role === 'officer' ? STATUSES.filter((s) => !isDecision(s)) : STATUSES;
}

/** Whether this device may start patrols (the endpoint takes patrols from field officers only). */
export function mayRecordPatrols(
  role: string | null | undefined,
  caps?: Capabilities | null,
): boolean {
  if (caps) return caps.record_patrols;
  return !role || role === 'officer';
}

/** Whether this device may return or accept records (the endpoint takes that from reviewers). */
export function mayDecide(role: string | null | undefined, caps?: Capabilities | null): boolean {
  if (caps) return caps.accept_and_return;
  return role !== 'officer';
}
