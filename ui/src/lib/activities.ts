// Releases, trainings and engagements (crdt/src/activity.rs): the fields of each kind come from
// the store's own table, copied to generated/activities.json and held equal by a Rust test, so
// the form never offers what the store refuses. The form holds every value as text.

import table from './generated/activities.json';
import { isDate } from './form';

export type ActivityKind = 'release' | 'training' | 'engagement';
export const ACTIVITY_KINDS: ActivityKind[] = ['release', 'training', 'engagement'];

export type FieldShape = 'date' | 'line' | 'text' | 'count' | 'flag' | 'term' | 'by_sex';

export interface FieldSpec {
  key: string;
  shape: FieldShape;
  required: boolean;
  terms?: string[];
}

/** The keys of a `by_sex` field. */
export const SEXES: string[] = table.sexes;
export const MAX_COUNT = 100_000;

export function fieldsOf(kind: ActivityKind): FieldSpec[] {
  return (table.kinds as Record<string, FieldSpec[]>)[kind] ?? [];
}

/** Every term of every kind, for the translations' completeness test. */
export function allActivityTerms(): string[] {
  return [...new Set(ACTIVITY_KINDS.flatMap((k) => fieldsOf(k).flatMap((f) => f.terms ?? [])))];
}

export function allActivityFields(): string[] {
  return [...new Set(ACTIVITY_KINDS.flatMap((k) => fieldsOf(k).map((f) => f.key)))];
}

/** A record as the store sends it (`Activity::to_json`). */
export type ActivityRecord = Record<string, unknown> & { id: string; record: ActivityKind; team: string; created_by: string };

/** The form: every field as text; a `by_sex` field as `key.male` and so on. */
export type ActivityForm = Record<string, string>;

const text = (v: unknown) => (v === null || v === undefined ? '' : String(v));

export function emptyActivity(kind: ActivityKind, today: string): ActivityForm {
  const f: ActivityForm = {};
  for (const s of fieldsOf(kind)) {
    if (s.shape === 'by_sex') for (const x of SEXES) f[`${s.key}.${x}`] = '';
    else f[s.key] = s.shape === 'date' ? today : '';
  }
  return f;
}

export function activityForm(kind: ActivityKind, r: ActivityRecord): ActivityForm {
  const f = emptyActivity(kind, '');
  for (const s of fieldsOf(kind)) {
    if (s.shape === 'by_sex') {
      const m = (r[s.key] ?? {}) as Record<string, unknown>;
      for (const x of SEXES) f[`${s.key}.${x}`] = text(m[x]);
    } else f[s.key] = text(r[s.key]);
  }
  return f;
}

const whole = (t: string): number | null => (/^\d+$/.test(t.trim()) ? Number(t.trim()) : null);

/** Problems by field (a translation key each), as the store would find them. */
export function activityProblems(kind: ActivityKind, f: ActivityForm, today: string): Record<string, string> {
  const e: Record<string, string> = {};
  for (const s of fieldsOf(kind)) {
    if (s.shape === 'by_sex') {
      for (const x of SEXES) {
        const t = f[`${s.key}.${x}`] ?? '';
        if (t.trim() && (whole(t) === null || whole(t)! > MAX_COUNT)) e[`${s.key}.${x}`] = 'err.count';
      }
      continue;
    }
    const t = (f[s.key] ?? '').trim();
    if (!t) {
      if (s.required) e[s.key] = 'err.required';
      continue;
    }
    if (s.shape === 'date') {
      if (!isDate(t)) e[s.key] = 'err.not_date';
      else if (t > today) e[s.key] = 'err.future';
    }
    if (s.shape === 'count' && (whole(t) === null || whole(t)! > MAX_COUNT)) e[s.key] = 'err.count';
  }
  if (kind === 'release' && !e.boys && ['boys', 'girls', 'sex_unknown'].every((k) => !whole(f[k] ?? ''))) {
    e.boys = 'act.err_no_child';
  }
  return e;
}

function value(s: FieldSpec, t: string): unknown {
  const v = t.trim();
  if (!v) return null;
  if (s.shape === 'count') return whole(v);
  if (s.shape === 'flag') return v === 'true';
  return s.shape === 'text' ? t : v;
}

/** The patch that turns `base` (null: a new record) into `cur`: only what changed, `null`
 * clearing a field; `null` when nothing changed. */
export function activityPatch(kind: ActivityKind, base: ActivityForm | null, cur: ActivityForm): Record<string, unknown> | null {
  const out: Record<string, unknown> = {};
  for (const s of fieldsOf(kind)) {
    if (s.shape === 'by_sex') {
      const m: Record<string, unknown> = {};
      for (const x of SEXES) {
        const k = `${s.key}.${x}`;
        const now = whole(cur[k] ?? '');
        if (base ? whole(base[k] ?? '') !== now : now !== null) m[x] = now;
      }
      if (Object.keys(m).length) out[s.key] = m;
      continue;
    }
    const now = value(s, cur[s.key] ?? '');
    const was = base ? value(s, base[s.key] ?? '') : null;
    if (now !== was) out[s.key] = now;
  }
  return Object.keys(out).length ? out : null;
}
