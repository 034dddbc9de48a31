// The review workflow as the UI offers it, kept pure for tests: which actions a record's review
// state allows (the record core's state machine, crdt/src/edit.rs `review`), the queue each
// device works from, and the checks of a verification before it is recorded.
import type { CaseloadPage, CaseloadQuery } from './api';
import { blankQuery } from './query';
import { isDecision } from './vocab';

export type ReviewAction = 'submit' | 'return' | 'accept' | 'comment';

/**
 * The review actions to offer on a record in `state`, in the order they are shown. As in the
 * core: submit from draft or returned; return from submitted or accepted, accept from submitted,
 * both only on a device that may decide; a comment always. An unknown state reads as draft (the
 * core's default).
 */
export function reviewActions(state: string, canDecide: boolean): ReviewAction[] {
  const s = ['draft', 'submitted', 'returned', 'accepted'].includes(state) ? state : 'draft';
  const out: ReviewAction[] = ['comment'];
  if (s === 'draft' || s === 'returned') out.push('submit');
  if (canDecide && (s === 'submitted' || s === 'accepted')) out.push('return');
  if (canDecide && s === 'submitted') out.push('accept');
  return out;
}

/** The review state of the records waiting on this device: submitted ones for a device that may
 * decide (a reviewer's queue), returned ones for a field officer. */
export function queueState(canDecide: boolean): 'submitted' | 'returned' {
  return canDecide ? 'submitted' : 'returned';
}

/** The query that counts the records in review state `state` (one row asked for; `total` counts). */
export function countQuery(state: string): CaseloadQuery {
  return { ...blankQuery(), review_state: state, limit: 1 };
}

/** How many records are in review state `state`, asked of `caseload` (the api's). */
export async function countInState(
  caseload: (q: CaseloadQuery) => Promise<CaseloadPage>,
  state: string,
): Promise<number> {
  return (await caseload(countQuery(state))).total;
}

/** What stops a verification from being recorded, by field: translation keys. */
export interface VerifyProblems {
  status?: string;
  note?: string;
}

/**
 * Checks a verification before it goes to the store: a status must be chosen (the form starts
 * with none, so no decision is ever recorded by default), and a decision (verified, not
 * verified, ...) must say why in its note.
 */
export function verifyProblems(status: string, note: string): VerifyProblems {
  const out: VerifyProblems = {};
  if (!status) out.status = 'verify.err_status';
  else if (isDecision(status) && !note.trim()) out.note = 'verify.err_note';
  return out;
}

/** The sources a decision rests on, counted (`mrm_crdt::model::SourceCounts`). */
export interface SourceCounts {
  primary: number;
  secondary: number;
  un_eyewitness: boolean;
}

/** What a decision adds to its event: its tier, and the sources it rests on, counted. */
export interface Ruling {
  level?: string;
  sources?: SourceCounts;
}

/** The verification event to record: the note trimmed, only sources the record still cites
 * (`live`: ids of its sources not withdrawn), in the record's order; a decision's tier and
 * counted sources when given (the store refuses them on a field event). */
export function verifyEvent(
  status: string,
  note: string,
  chosen: string[],
  live: string[],
  ruling: Ruling = {},
): { status: string; note: string; source_ids: string[]; level?: string; sources?: SourceCounts } {
  const picked = new Set(chosen);
  const out: { status: string; note: string; source_ids: string[]; level?: string; sources?: SourceCounts } = {
    status,
    note: note.trim(),
    source_ids: live.filter((id) => picked.has(id)),
  };
  if (isDecision(status)) {
    if (ruling.level) out.level = ruling.level;
    if (ruling.sources) out.sources = ruling.sources;
  }
  return out;
}

/** The sources ticked, counted as the MRM does: secondary sources apart, every other kind
 * (victim, eyewitness, family, community, medical, UN direct observation) primary; a UN
 * eyewitness when one of them is the UN's own observation. */
export function countSources(kinds: string[]): SourceCounts {
  return {
    primary: kinds.filter((k) => k !== 'secondary').length,
    secondary: kinds.filter((k) => k === 'secondary').length,
    un_eyewitness: kinds.includes('un_direct_observation'),
  };
}

/** The tier a decision form offers first: the task force's for its members, else the lowest. */
export function defaultLevel(levels: readonly string[]): string {
  return levels.includes('task_force') ? 'task_force' : (levels[0] ?? '');
}
