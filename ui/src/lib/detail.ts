// Helpers of the detail view, kept pure for tests.
import type { FieldError, Incident } from './api';
import { translate, type Lang } from './i18n';

const FIELD_KEYS: Record<string, string> = {
  title: 'form.title',
  occurred_on: 'form.occurred_on',
  reported_on: 'form.reported_on',
  ended_on: 'form.ended_on',
  date_precision: 'form.date_precision',
  narrative: 'form.narrative',
  patrol_id: 'form.patrol',
  admin1: 'form.admin1',
  admin2: 'form.admin2',
  place: 'form.place',
  lat: 'form.lat',
  lon: 'form.lon',
  boys: 'form.boys',
  girls: 'form.girls',
  sex_unknown: 'form.sex_unknown',
  party: 'form.party',
  category: 'form.category',
  type: 'form.type',
  kind: 'form.kind',
  consent: 'form.consent',
  notes: 'form.notes',
  code: 'form.code',
  sex: 'form.sex',
  age: 'form.age',
  state: 'detail.review',
  team: 'setup.team',
  status: 'case.status',
  note: 'detail.verify_note',
  level: 'verify.level',
};

const sortedIds = (items: { id: string }[]) => items.map((x) => x.id).sort();

/** A conflict path (`violations.<id>.victims.boys`) in words: "Violation 1 › Boys". */
export function conflictLabel(path: string, inc: Incident, lang: Lang): string {
  const parts = path.split('.');
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    const next = parts[i + 1];
    if (p === 'violations' && next) {
      const n = sortedIds(inc.violations).indexOf(next) + 1;
      out.push(translate(lang, 'form.violation_n', { n: n || '?' }));
      i++;
    } else if (p === 'sources' && next) {
      const n = sortedIds(inc.sources).indexOf(next) + 1;
      out.push(translate(lang, 'form.source_n', { n: n || '?' }));
      i++;
    } else if (p === 'coded' && next) {
      out.push(translate(lang, 'form.code'));
      i++;
    } else if (p === 'verification' && next !== undefined && /^\d+$/.test(next)) {
      out.push(translate(lang, 'detail.verification_n', { n: Number(next) + 1 }));
      i++;
    } else if (p === 'comments' && next !== undefined && /^\d+$/.test(next)) {
      out.push(translate(lang, 'detail.comment'));
      i += parts[i + 2] === 'text' ? 2 : 1;
    } else if (p === 'withdrawn') {
      out.push(translate(lang, 'detail.withdrawn'));
      if (next === 'reason') {
        out.push(translate(lang, 'detail.reason'));
        i++;
      }
    } else if (['victims', 'perpetrator', 'location', 'review', 'details'].includes(p)) {
      continue;
    } else if (!FIELD_KEYS[p] && translate(lang, `vd.${p}`) !== `vd.${p}`) {
      out.push(translate(lang, `vd.${p}`));
    } else {
      out.push(FIELD_KEYS[p] ? translate(lang, FIELD_KEYS[p]) : p);
    }
  }
  return out.join(' › ');
}

/** The vocabulary a field's values are words of, by the field's last key. */
const VALUE_KEYS: Record<string, string> = {
  type: 'type',
  status: 'status',
  category: 'category',
  state: 'review',
  level: 'level',
  sex: 'sex',
  date_precision: 'precision',
};

/**
 * A value a history line shows, in words: a violation type, a status, a category or a detail's
 * term by its label; yes or no; a number or a text as written; "—" for nothing.
 */
export function changeValue(path: string, v: unknown, lang: Lang): string {
  if (v === null || v === undefined || v === '') return '—';
  if (typeof v === 'boolean') return translate(lang, v ? 'form.yes' : 'form.no');
  const key = path.split('.').pop() ?? '';
  if (typeof v === 'string') {
    const vocab = VALUE_KEYS[key];
    const candidates = vocab
      ? [`${vocab}.${v}`]
      : path.includes('.details.')
        ? [`term.${v}`]
        : path.startsWith('sources.') && key === 'kind'
          ? [`source.${v}`]
          : [];
    for (const c of candidates) {
      const w = translate(lang, c);
      if (w !== c) return w;
    }
    return v;
  }
  return valueText(v);
}

const INDEXED_KEYS: Record<string, string> = {
  violations: 'form.violation_n',
  sources: 'form.source_n',
  coded: 'detail.coded_n',
  verification: 'detail.verification_n',
};

/**
 * A field path as the store reports problems (`violations[2].victims.boys`, `occurred_on`) in
 * words: "Violation 2 › Boys". Items are numbered over the whole record in id order, as the
 * detail view lists them (withdrawn ones included).
 */
export function fieldLabel(path: string, lang: Lang): string {
  if (!path) return '';
  const out: string[] = [];
  for (const part of path.split('.')) {
    const m = /^(\w+)\[(\d+)\]$/.exec(part);
    if (m) {
      const key = INDEXED_KEYS[m[1]];
      out.push(key ? translate(lang, key, { n: m[2] }) : `${m[1]} ${m[2]}`);
    } else if (['victims', 'perpetrator', 'location', 'review', 'details'].includes(part)) {
      continue;
    } else if (translate(lang, `vd.${part}`) !== `vd.${part}` && !FIELD_KEYS[part]) {
      out.push(translate(lang, `vd.${part}`));
    } else {
      out.push(FIELD_KEYS[part] ? translate(lang, FIELD_KEYS[part]) : part);
    }
  }
  return out.join(' › ') || path;
}

/** A conflicting value as text. */
export function valueText(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/** An RFC 3339 time as milliseconds since the epoch; unreadable times sort first. */
function instant(at: string): number {
  const t = Date.parse(at);
  return Number.isNaN(t) ? -Infinity : t;
}

/** The verification trail of a violation, oldest first (by time, then as listed). */
export function timeline<T extends { at: string }>(events: T[]): T[] {
  return events
    .map((e, i) => [e, i] as const)
    // Stamps carry their writer's offset, so they are compared as instants, not as text.
    .map(([e, i]) => [e, i, instant(e.at)] as const)
    .sort((a, b) => (a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : a[1] - b[1]))
    .map(([e]) => e);
}

/** A problem to settle, in the reader's language when the store named it (`code`), else as the
 * store wrote it. A verification status among its values is translated too. */
export function attentionText(a: FieldError, lang: Lang): string {
  const key = a.code ? `attention.${a.code}` : '';
  const text = key ? translate(lang, key, {}) : '';
  if (!key || text === key) return a.message;
  const params: Record<string, string> = { ...(a.params ?? {}) };
  if (params.status) params.status = translate(lang, `status.${params.status}`);
  if (params.type) params.type = translate(lang, `type.${params.type}`);
  if (params.key) params.key = translate(lang, `vd.${params.key}`);
  return translate(lang, key, params);
}
