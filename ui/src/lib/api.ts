// Typed calls to the Tauri commands (src-tauri/src/commands.rs) and its events. The UI never
// talks to the network: every call goes to the local shell, which answers from the store.

import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import { track } from './writes';
import { i18n } from './i18n.svelte';
import { appErrorText } from './i18n';
import type { ActivityRecord } from './activities';
import type { AreaBounds } from './areas';

export interface FieldError {
  field: string;
  /** In English; `code` and `params`, when present, let the app say it in the reader's language. */
  message: string;
  code?: string;
  params?: Record<string, string>;
}

/**
 * What every failed command returns. `kind` is `invalid`, `not_found`, `no_store`, `locked`,
 * `wrong_passphrase`, `revoked`, `network`, `server`, `refused`, `denied` or `internal`; for
 * `denied`, `code` names the policy's reason (see `DENIED_CODES` in vocab.ts).
 */
export interface AppError {
  kind: string;
  message: string;
  fields: FieldError[];
  code?: string;
}

export function isAppError(e: unknown): e is AppError {
  return typeof e === 'object' && e !== null && 'kind' in e && 'message' in e;
}

/** A failed command in words, in the current language where the UI knows the reason. */
export function errorText(e: unknown): string {
  return appErrorText(i18n.lang, e);
}

/** The year's figures of releases, trainings and engagements (`mrm_crdt::activity_figures::ActivityFigures`). */
export interface ActivityFigures {
  releases: number;
  released_boys: number;
  released_girls: number;
  released_sex_unknown: number;
  released_by_instrument: Record<string, number>;
  trainings: number;
  trained_male: number;
  trained_female: number;
  trained_unknown: number;
  trainings_of_trainers: number;
  trained_by_audience?: Record<string, number>;
  engagements: number;
  advocacy: number;
  negotiations: number;
}

/** Who withdrew a violation or a source, when and why. */
export interface Withdrawal {
  at: string;
  by: string;
  reason: string;
}

export interface Device {
  device_id: string;
  officer: string;
  team: string;
  mission: string;
}

export interface MissionConfig {
  mission: string;
  teams: string[];
  parties: string[];
  admin_areas: Record<string, string[]>;
  /** The party registry (`mrm_crdt::parties::Party`): names the store matches to a party's id. */
  party_registry?: { id: string; name: string; category: string; aliases?: string[] }[];
  /** Each province's extent (`mrm_crdt::bounds`), for the coordinates' check. */
  area_bounds?: Record<string, AreaBounds>;
}

export interface Settings {
  language: string;
  /** Lock after this many seconds without input (0: never). */
  auto_lock_seconds: number;
}

export interface AppInfo {
  version: string;
  data_dir: string;
  device: Device | null;
  config: MissionConfig | null;
  settings: Settings;
  /** A store exists but is locked: only the unlock screen may show. */
  locked: boolean;
  /** The mission endpoint revoked this laptop and its store was wiped. */
  revoked: boolean;
  /** What this laptop's role may do, from the one policy in the Rust core (null while locked). */
  capabilities?: Capabilities | null;
}

/** A role's capabilities (crdt/src/policy.rs `Capabilities`). */
export interface Capabilities {
  record_incidents: boolean;
  record_patrols: boolean;
  edit_other_teams: boolean;
  statuses: string[];
  accept_and_return: boolean;
  move_team: boolean;
  close_periods: boolean;
  /** Match a party name the registry does not know to one of its parties. */
  match_parties?: boolean;
  /** Record releases, trainings and engagements. */
  record_activities?: boolean;
  /** The tiers the role decides at, lowest first (`mrm_crdt::policy::Capabilities`). */
  decision_levels?: string[];
}

export interface VerificationEvent {
  status: string;
  at: string;
  by: string;
  note: string;
  source_ids: string[];
  /** The event's identity. */
  id?: string;
  /** Ids of the rulings this event replaces. */
  supersedes?: string[] | null;
  /** What the event said of its author when the endpoint's registry names its writer otherwise. */
  declared_by?: string;
  /** Of a ruling: its tier (none: the focal point's). */
  level?: string | null;
  /** Of a decision: the sources it rests on, counted. */
  sources?: { primary: number; secondary: number; un_eyewitness: boolean } | null;
}

export interface Violation {
  id: string;
  type: string;
  victims: {
    boys: number;
    girls: number;
    sex_unknown: number;
    coded?: { id: string; code: string; sex: string; age?: number | null }[];
  };
  perpetrator: { party: string; category: string };
  /** Details by key (crdt/src/details.rs): a term, a flag or a number of days. */
  details?: Record<string, string | boolean | number>;
  verification: VerificationEvent[];
  /** Set when the violation was withdrawn: kept with its trail, left out of figures. */
  withdrawn?: Withdrawal | null;
}

export interface Source {
  id: string;
  kind: string;
  consent: boolean;
  notes: string;
  /** Set when the source was withdrawn; decisions that cite it still show it. */
  withdrawn?: Withdrawal | null;
}

export interface Incident {
  id: string;
  title: string;
  occurred_on: string;
  date_precision: string;
  /** The last day of an incident over a period. */
  ended_on?: string | null;
  reported_on: string;
  location: { admin1: string; admin2: string; place: string; lat?: number | null; lon?: number | null };
  narrative: string;
  patrol_id: string | null;
  sources: Source[];
  violations: Violation[];
  review: { state: string; comments: { at: string; by: string; text: string; declared_by?: string }[] };
  created_by: string;
  team: string;
}

export interface ConflictValue {
  value: unknown;
  by: string;
  at: string;
  change: string;
}

export interface Conflict {
  path: string;
  values: ConflictValue[];
}

export interface HistoryEntry {
  hash: string;
  at: string;
  /** The author as the endpoint registered the change's writer (else as the change says). */
  by: string;
  device: string;
  message: string;
  /** What the change said of its author when that differs from the registry. */
  declared_by?: string;
  /** The changes it was made on top of (none: the record's creation). */
  deps?: string[];
  /** What it changed, from what to what (`mrm_crdt::history_diff::FieldChange`). */
  changes?: { path: string; before?: unknown; after?: unknown }[];
}

export interface ViolationStatus {
  violation_id: string;
  /** The status counted (while `contested`, until a reviewer records a new decision). */
  status: string;
  late: boolean;
  /** Statuses of concurrent reviewer decisions that disagree; absent when none. */
  contested?: string[];
  withdrawn: boolean;
}

export interface IncidentDetail extends Incident {
  status: ViolationStatus[];
  conflicts: Conflict[];
  /** Problems a merge left in the record (a date order, a decision citing a withdrawn source):
   *  for a person to settle, never a reason to refuse an edit. */
  attention: FieldError[];
  heads: string[];
  /** What the creation said of its author when the endpoint's registry names its writer otherwise. */
  created_by_declared?: string;
  history: HistoryEntry[];
  warnings: FieldError[];
  /** Where the record stands with the endpoint. */
  sync: RowSync;
}

/** A record's state with the endpoint (`mrm_store::RecordSync`), as `mrm status` says it. */
export type SyncState = 'synced' | 'to_send' | 'held' | 'waiting';

/** Where one record stands with the endpoint (`mrm_store::RowSync`). */
export interface RowSync {
  state: SyncState;
  /** Why it is held (the endpoint's refusal) or waiting (what its received changes wait for). */
  reason: string | null;
  /** Whether two edits left values for a person to choose between. */
  conflict: boolean;
}

export interface ViolationRow {
  id: string;
  type: string;
  boys: number;
  girls: number;
  sex_unknown: number;
  party: string;
  category: string;
  status: string;
  late: boolean;
}

export interface IncidentRow {
  id: string;
  title: string;
  occurred_on: string;
  reported_on: string;
  admin1: string;
  admin2: string;
  place: string;
  patrol_id: string | null;
  team: string;
  created_by: string;
  review_state: string;
  conflicts: number;
  /** Problems a merge left to settle (rules across fields, concurrent decisions). */
  attention: number;
  violations: ViolationRow[];
  sync: RowSync;
}

export interface CaseloadQuery {
  type: string;
  status: string;
  party: string;
  from: string;
  to: string;
  admin1: string;
  text: string;
  patrol_id: string;
  /** Only incidents in this review state (`REVIEW_STATES`), or any when empty. */
  review_state: string;
  conflicts: boolean;
  needs_attention: boolean;
  sort: string;
  asc: boolean;
  limit: number;
  offset: number;
  /** Only these incidents: the records behind a figure of a report (`figure` says which). */
  ids?: string[];
  /** Only incidents in this sync state (`SYNC_FILTERS`), or any when empty. */
  sync: string;
}

/** Children by sex. */
export interface ChildCounts {
  boys: number;
  girls: number;
  sex_unknown: number;
  total: number;
}

/** One cell of a report (`mrm_crdt::report::Figures`): children is null for the types counted in incidents. */
export interface Figures {
  violations: number;
  incidents: number;
  children: ChildCounts | null;
}

export interface ReportTable {
  by_type: (Figures & { type: string; counted_in: 'children' | 'incidents' })[];
  total: Figures;
  by_perpetrator: (Figures & { party: string; category: string; type: string })[];
  by_area: (Figures & { admin1: string; type: string })[];
  /** Violations by a detail's value (`mrm_crdt::report::DetailRow`); absent in periods closed before details. */
  by_detail?: (Figures & { type: string; key: string; value: string })[];
}

export type ReportSection = 'verified' | 'late_verified' | 'unverified' | 'not_verified';

/** The MRM's tables for a period (`mrm_crdt::report::Report`, docs/reporting.md). */
export interface Report {
  kind: 'ghn' | 'annual';
  from: string;
  to: string;
  verified: ReportTable;
  late_verified: ReportTable;
  unverified: ReportTable;
  not_verified: ReportTable;
  multiple_violations: { children: ChildCounts };
  flagged: { incident_id: string; title: string; conflicts: string[]; decisions: string[] }[];
  quarters?: { quarter: string; from: string; to: string; verified: Figures; late_verified: Figures }[];
  patrols?: number;
  /** The section's work dated in the period (absent from periods closed before it was counted). */
  activities?: ActivityFigures;
}

/** A party name typed in violations that the mission's registry does not know (`mrm_store::UnmatchedParty`). */
export interface UnmatchedParty {
  name: string;
  violations: number;
  incidents: number;
}

/** What matching a name to a registry party did (`mrm_store::PartyMatch`). */
export interface PartyMatch {
  party_id: string;
  violations: number;
  incidents: string[];
  refused: { incident_id: string; code: string; message: string }[];
}

/** A closed reporting period (`mrm_crdt::period::FrozenPeriod`): its figures as they were sent. */
export interface ClosedPeriod {
  id: string;
  name: string;
  from: string;
  to: string;
  closed_by: string;
  closed_at: string;
  report: Report;
}

/** One violation whose counting changed since a period was closed. */
export interface PeriodChange {
  incident_id: string;
  violation_id: string;
  type: string;
  change: 'added' | 'removed' | 'moved' | 'children';
  was: [ReportSection, ChildCounts] | null;
  now: [ReportSection, ChildCounts] | null;
  status_now: string | null;
  verified_late_on: string | null;
}

/** Which violations of a section one figure holds. */
export interface ReportCell {
  type?: string;
  party?: string;
  category?: string;
  admin1?: string;
  /** A row by detail: the detail's key and value. */
  detail?: string;
  value?: string;
}

export interface CaseloadPage {
  total: number;
  violations: number;
  children: { boys: number; girls: number; sex_unknown: number };
  items: IncidentRow[];
}

export interface PatrolRow {
  id: string;
  date: string;
  team: string;
  route: string[];
  participants: string[];
  ended_at: string | null;
  incidents: number;
}

export interface Patrol {
  id: string;
  date: string;
  team: string;
  route: string[];
  participants: string[];
  notes: string;
  ended_at: string | null;
  created_by: string;
}

export interface Children {
  boys: number;
  girls: number;
  sex_unknown: number;
  total: number;
}

export interface Dashboard {
  incidents: number;
  patrols: number;
  violations: number;
  violations_by_type: Record<string, number>;
  violations_by_status: Record<string, number>;
  children: Children;
  verified_violations: number;
  verified_children: Children;
  late_verifications: number;
  incidents_with_conflicts: number;
  incidents_by_month: [string, number][];
}

/**
 * Where a sync is (`mrm_sync::Progress`). `rate` is the measured rate in bytes per second and
 * `secs_left` the time the rest would take at it: both null until a request has gone through.
 */
export type Progress =
  | {
      phase: 'pushing';
      done: number;
      total: number;
      bytes_done: number;
      /** About: the changes' bytes before compression and framing. */
      bytes_total: number;
      rate: number | null;
      secs_left: number | null;
    }
  | {
      phase: 'pulling';
      done: number;
      remaining: number;
      bytes_done: number;
      rate: number | null;
      secs_left: number | null;
    }
  | { phase: 'retrying'; attempt: number; wait_ms: number; error: string };

export interface SyncStatus {
  seq: number;
  enrolled: boolean;
  server_url: string | null;
  role: string | null;
  online: boolean | null;
  running: boolean;
  unpushed: number;
  /** Drafts kept on this laptop: typed, not records yet, never sent. */
  drafts: number;
  last_sync_at: string | null;
  last_error: string | null;
  progress: Progress | null;
  last_report: {
    /** Changes the endpoint stored in this sync. */
    pushed: number;
    /** Changes sent that the endpoint already had (an earlier answer was lost): on the endpoint too. */
    push_duplicates: number;
    /** Colleagues' changes that came by USB, relayed to the endpoint by this sync. */
    relayed?: number;
    /** Records the endpoint refused, kept on this laptop. */
    held: { doc_id: string; reason: string; held_at: string }[];
    /** Records whose received changes wait on this laptop (every other record was applied). */
    held_inbound?: { doc_id: string; reason: string; held_at: string }[];
    /** The endpoint found this store reusing another store's identity (a copy, a restored backup). */
    identity_reused?: boolean;
    /** The endpoint was restored from a backup: this sync sent all work again and read the mission again. */
    endpoint_restored?: boolean;
    pulled: number;
    records_changed: number;
    new_conflicts: number;
    warnings: string[];
    /** This laptop's clock ahead of the endpoint's (s; negative: behind), past a day either way. */
    clock_ahead_secs: number | null;
  } | null;
}

type Json = Record<string, unknown>;

export const api = {
  appInfo: () => invoke<AppInfo>('app_info'),
  setupStore: (mission: string, officer: string, team: string, passphrase: string) =>
    invoke<AppInfo>('setup_store', { mission, officer, team, passphrase }),
  unlock: (passphrase: string) => invoke<AppInfo>('unlock', { passphrase }),
  lock: () => invoke<AppInfo>('lock'),
  changePassphrase: (old: string, next: string) =>
    invoke<void>('change_passphrase', { old, new: next }),
  enroll: (serverUrl: string, token: string) => invoke<SyncStatus>('enroll', { serverUrl, token }),
  setSettings: (settings: Settings) => invoke<Settings>('set_settings', { settings }),
  listActivities: (kind: string) => invoke<ActivityRecord[]>('list_activities', { kind }),
  getActivity: (id: string) => invoke<ActivityRecord & { conflicts: Conflict[] }>('get_activity', { id }),
  addActivity: (kind: string, patch: Json) => track(invoke<string>('add_activity', { kind, patch })),
  editActivity: (id: string, patch: Json) => track(invoke<string | null>('edit_activity', { id, patch })),
  activityFigures: (from: string, to: string) => invoke<ActivityFigures>('activity_figures', { from, to }),
  listPatrols: () => invoke<PatrolRow[]>('list_patrols'),
  getPatrol: (id: string) => invoke<Patrol>('get_patrol', { id }),
  addPatrol: (patch: Json) => track(invoke<string>('add_patrol', { patch })),
  editPatrol: (id: string, patch: Json) => track(invoke<string | null>('edit_patrol', { id, patch })),
  caseload: (query: CaseloadQuery) => invoke<CaseloadPage>('caseload', { query }),
  /** Every incident the query's filters match, one row per violation, as CSV or a workbook
   * (XLSX) in the Downloads folder; its path. */
  exportCaseload: (query: CaseloadQuery, format: 'csv' | 'xlsx') => invoke<string>('export_caseload', { query, format }),
  getIncident: (id: string) => invoke<IncidentDetail>('get_incident', { id }),
  addIncident: (patch: Json) => track(invoke<string>('add_incident', { patch })),
  editIncident: (id: string, patch: Json) =>
    track(invoke<string | null>('edit_incident', { id, patch })),
  verify: (incidentId: string, violationId: string, event: Json) =>
    track(invoke<string>('verify', { incidentId, violationId, event })),
  review: (incidentId: string, action: string, comment: string | null) =>
    track(invoke<string>('review', { incidentId, action, comment })),
  resolve: (id: string, path: string, value: unknown) =>
    track(invoke<Conflict[]>('resolve', { id, path, value })),
  /** Split an incident recorded twice under one id (reviewers); the new record's id. */
  splitIncident: (id: string) => track(invoke<string>('split_incident', { id })),
  /** Keep a form that cannot be saved yet, sealed in the store (tracked: a lock waits for it). */
  saveDraft: (key: string, form: unknown) => track(invoke<void>('save_draft', { key, form })),
  getDraft: (key: string) => invoke<{ key: string; saved_at: string; form: unknown } | null>('get_draft', { key }),
  discardDraft: (key: string) => track(invoke<void>('discard_draft', { key })),
  dashboard: () => invoke<Dashboard>('dashboard'),
  /** The GHN tables of `from`–`to`, or the annual tables of `year`. */
  report: (year: number | null, from: string, to: string) => invoke<Report>('report', { year, from, to }),
  unmatchedParties: () => invoke<UnmatchedParty[]>('unmatched_parties'),
  matchParty: (name: string, partyId: string) => invoke<PartyMatch>('match_party', { name, partyId }),
  reportRecords: (year: number | null, from: string, to: string, section: ReportSection, cell: ReportCell) =>
    invoke<string[]>('report_records', { year, from, to, section, cell }),
  periods: () => invoke<ClosedPeriod[]>('periods'),
  /** The closed period `name` and what changed since it was closed. */
  periodReport: (name: string) =>
    invoke<{ period: ClosedPeriod; changes: PeriodChange[]; records_not_held: number }>('period_report', { name }),
  /** Write the report's workbook (XLSX) to the Downloads folder; its path. */
  exportReportXlsx: (year: number | null, from: string, to: string) =>
    invoke<string>('export_report_xlsx', { year, from, to }),
  /** Write the period's factsheet (PDF) to the Downloads folder; its path. */
  exportFactsheet: (year: number | null, from: string, to: string, lang: string) =>
    invoke<string>('export_factsheet', { year, from, to, lang }),
  closePeriod: (name: string, from: string, to: string) =>
    track(invoke<string>('close_period', { name, from, to })),
  syncStatus: () => invoke<SyncStatus>('sync_status'),
  syncNow: () => invoke<void>('sync_now'),
  /** Re-record this store's unsent work under a new identity; then a new enrollment is needed. */
  recoverIdentity: () => invoke<number>('recover_identity'),
  cancelSync: () => invoke<void>('cancel_sync'),
};

export const events = {
  onSyncStatus: (f: (s: SyncStatus) => void): Promise<UnlistenFn> =>
    listen<SyncStatus>('sync-status', (e) => f(e.payload)),
  onSyncProgress: (f: (p: Progress) => void): Promise<UnlistenFn> =>
    listen<Progress>('sync-progress', (e) => f(e.payload)),
  onRecordsChanged: (f: (ids: string[]) => void): Promise<UnlistenFn> =>
    listen<string[]>('records-changed', (e) => f(e.payload)),
  onRevoked: (f: () => void): Promise<UnlistenFn> => listen('revoked', () => f()),
};
