// The incident form's logic, kept out of the component so it can be tested: the form state,
// validation with messages per field (paths as the store names them, so store errors land on the
// same fields), and the patch that carries only what the user changed.

import type { FieldError, Incident } from './api';
import { attentionText } from './detail';
import type { Lang } from './i18n';
import { CHILD_VICTIM_TYPES } from './vocab';
import { MAX_DAYS, detailText, detailValue, detailsOf } from './details';
import { uuidv7 } from './uuid';
import { parseUserDate } from './format';

export interface CodedForm {
  id: string;
  code: string;
  sex: string;
  age: string;
}

export interface ViolationForm {
  id: string;
  type: string;
  boys: string;
  girls: string;
  sex_unknown: string;
  party: string;
  category: string;
  coded: CodedForm[];
  /** Details by key (crdt/src/details.rs), as text: a term, 'true'/'false', digits, '' for none.
   * Keys the current type does not take are kept but neither shown nor sent. */
  details: Record<string, string>;
}

export interface SourceForm {
  id: string;
  kind: string;
  consent: boolean;
  notes: string;
}

export interface IncidentForm {
  id: string;
  title: string;
  occurred_on: string;
  date_precision: string;
  /** The last day of an incident over a period; '' for an incident of one day. */
  ended_on: string;
  reported_on: string;
  admin1: string;
  admin2: string;
  place: string;
  lat: string;
  lon: string;
  narrative: string;
  patrol_id: string;
  sources: SourceForm[];
  violations: ViolationForm[];
}

/** A message to show next to a field: a translation key with values, or text from the store. */
export type Msg = { key: string; params?: Record<string, string | number> } | { text: string };
export type Errors = Record<string, Msg>;

export const MAX_SHORT = 500;
export const MAX_TEXT = 100_000;
export const MAX_COUNT = 100_000;

export function newViolation(): ViolationForm {
  return {
    id: uuidv7(),
    type: '',
    boys: '0',
    girls: '0',
    sex_unknown: '0',
    party: '',
    category: 'unknown',
    coded: [],
    details: {},
  };
}

export function newSource(): SourceForm {
  return { id: uuidv7(), kind: '', consent: false, notes: '' };
}

/** A victim code that looks like a person's name (a space, or no digit): the MRM records children
 * by code only, never by name. The store refuses the same (validate::looks_like_a_name). */
export function looksLikeAName(code: string): boolean {
  const c = code.trim();
  return /\s/.test(c) || !/[0-9]/.test(c);
}

export function newCoded(): CodedForm {
  return { id: uuidv7(), code: '', sex: 'unknown', age: '' };
}

/** Whether the user typed nothing worth keeping. */
export function isBlank(f: IncidentForm): boolean {
  return (
    !f.title.trim() &&
    !f.narrative.trim() &&
    !f.admin1.trim() &&
    !f.place.trim() &&
    f.sources.length === 0 &&
    f.violations.every(
      (v) => !v.type && !v.party.trim() && v.coded.length === 0 && !Object.values(v.details ?? {}).some((d) => d.trim()),
    )
  );
}

/** A blank incident dated today, optionally recorded during a patrol. */
export function emptyForm(today: string, patrolId = ''): IncidentForm {
  return {
    id: uuidv7(),
    title: '',
    occurred_on: today,
    date_precision: 'day',
    ended_on: '',
    reported_on: today,
    admin1: '',
    admin2: '',
    place: '',
    lat: '',
    lon: '',
    narrative: '',
    patrol_id: patrolId,
    sources: [],
    violations: [newViolation()],
  };
}

const byId = <T extends { id: string }>(a: T, b: T) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const num = (n: number | null | undefined) => (n === null || n === undefined ? '' : String(n));

/**
 * The form for a stored incident (items in id order, as the store numbers them). Withdrawn
 * violations and sources stay in the record but are not editable, so the form leaves them out
 * (and so never removes them again).
 */
export function formFromIncident(inc: Incident): IncidentForm {
  return {
    id: inc.id,
    title: inc.title,
    occurred_on: inc.occurred_on,
    date_precision: inc.date_precision,
    ended_on: inc.ended_on ?? '',
    reported_on: inc.reported_on,
    admin1: inc.location.admin1,
    admin2: inc.location.admin2,
    place: inc.location.place,
    lat: num(inc.location.lat),
    lon: num(inc.location.lon),
    narrative: inc.narrative,
    patrol_id: inc.patrol_id ?? '',
    sources: inc.sources
      .filter((s) => !s.withdrawn)
      .map((s) => ({ id: s.id, kind: s.kind, consent: s.consent, notes: s.notes }))
      .sort(byId),
    violations: inc.violations
      .filter((v) => !v.withdrawn)
      .map((v) => ({
        id: v.id,
        type: v.type,
        boys: String(v.victims.boys),
        girls: String(v.victims.girls),
        sex_unknown: String(v.victims.sex_unknown),
        party: v.perpetrator.party,
        category: v.perpetrator.category,
        coded: (v.victims.coded ?? [])
          .map((c) => ({ id: c.id, code: c.code, sex: c.sex, age: num(c.age) }))
          .sort(byId),
        details: Object.fromEntries(Object.entries(v.details ?? {}).map(([k, d]) => [k, detailText(d)])),
      }))
      .sort(byId),
  };
}

/** Whether `s` is a real calendar date written YYYY-MM-DD. */
export function isDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

/** A whole number, or `null` when the text is not one. */
export function parseCount(s: string): number | null {
  const t = s.trim();
  if (!/^-?\d+$/.test(t)) return null;
  return Number(t);
}

/** A date typed as people write it (day first, `15/11/2026`) in the store's form, as the
 * caseload's filters read it, once the field is left; anything else stays as typed, to be
 * refused out loud (`err.not_date`). */
export function normalDate(v: string): string {
  return (v.trim() && parseUserDate(v)) || v;
}

/** A latitude or longitude as typed (a decimal comma taken as a point); null when it is not a
 * decimal number. */
export function parseCoord(s: string): number | null {
  const t = s.trim().replace(',', '.');
  if (!/^-?\d+(\.\d+)?$/.test(t)) return null;
  return Number(t);
}

/** Every problem in the form, keyed by field path. `today` is YYYY-MM-DD on this device. */
export function validate(f: IncidentForm, today: string): Errors {
  const e: Errors = {};
  const req = (path: string, v: string) => {
    if (!v.trim()) e[path] = { key: 'err.required' };
  };
  const long = (path: string, v: string, max: number) => {
    if (!e[path] && [...v].length > max) e[path] = { key: 'err.too_long', params: { max } };
  };
  req('title', f.title);
  long('title', f.title, MAX_SHORT);
  long('narrative', f.narrative, MAX_TEXT);
  for (const path of ['occurred_on', 'reported_on'] as const) {
    const v = f[path].trim();
    if (!v) e[path] = { key: 'err.date_required' };
    else if (!isDate(v)) e[path] = { key: 'err.not_date' };
    else if (v > today) e[path] = { key: 'err.future' };
  }
  if (!e.occurred_on && !e.reported_on && f.occurred_on > f.reported_on) {
    e.occurred_on = { key: 'err.after_reported' };
  }
  const ended = (f.ended_on ?? '').trim();
  if (ended) {
    if (!isDate(ended)) e.ended_on = { key: 'err.not_date' };
    else if (ended > today) e.ended_on = { key: 'err.future' };
    else if (!e.occurred_on && ended < f.occurred_on.trim()) e.ended_on = { key: 'err.ended_before' };
  }
  req('location.admin1', f.admin1);
  long('location.admin1', f.admin1, MAX_SHORT);
  long('location.admin2', f.admin2, MAX_SHORT);
  long('location.place', f.place, MAX_SHORT);
  const lat = f.lat.trim() ? parseCoord(f.lat) : undefined;
  const lon = f.lon.trim() ? parseCoord(f.lon) : undefined;
  if (lat === null || (lat !== undefined && Math.abs(lat) > 90)) e['location.lat'] = { key: 'err.lat' };
  if (lon === null || (lon !== undefined && Math.abs(lon) > 180)) e['location.lon'] = { key: 'err.lon' };
  if (lat !== undefined && lon === undefined) e['location.lon'] = { key: 'err.pair' };
  if (lon !== undefined && lat === undefined) e['location.lat'] = { key: 'err.pair' };

  f.sources.forEach((s, i) => {
    const p = `sources[${i + 1}]`;
    if (!s.kind) e[`${p}.kind`] = { key: 'err.required' };
    long(`${p}.notes`, s.notes, MAX_TEXT);
  });

  f.violations.forEach((v, i) => {
    const p = `violations[${i + 1}]`;
    if (!v.type) e[`${p}.type`] = { key: 'err.required' };
    if (!v.category) e[`${p}.perpetrator.category`] = { key: 'err.required' };
    long(`${p}.perpetrator.party`, v.party, MAX_SHORT);
    const counts: Record<string, number | null> = {};
    for (const k of ['boys', 'girls', 'sex_unknown'] as const) {
      const n = parseCount(v[k]);
      counts[k] = n;
      const path = `${p}.victims.${k}`;
      if (n === null) e[path] = { key: 'err.count' };
      else if (n < 0) e[path] = { key: 'err.negative' };
      else if (n > MAX_COUNT) e[path] = { key: 'err.too_many', params: { max: MAX_COUNT } };
    }
    const valid = Object.values(counts).every((n) => n !== null && n >= 0);
    const total = (counts.boys ?? 0) + (counts.girls ?? 0) + (counts.sex_unknown ?? 0);
    if (valid && CHILD_VICTIM_TYPES.has(v.type) && total === 0) {
      e[`${p}.victims`] = { key: 'err.needs_child' };
    }
    for (const spec of detailsOf(v.type)) {
      const text = v.details?.[spec.key] ?? '';
      // Terms and flags come from lists; only a typed number of days can be wrong.
      if (spec.shape === 'days' && text.trim() && detailValue(spec, text) === undefined) {
        e[`${p}.details.${spec.key}`] = { key: 'err.detail_days', params: { max: MAX_DAYS } };
      }
    }
    const bySex: Record<string, number> = { boy: 0, girl: 0, unknown: 0 };
    v.coded.forEach((c, j) => {
      const q = `${p}.victims.coded[${j + 1}]`;
      if (!c.code.trim()) e[`${q}.code`] = { key: 'err.required' };
      else if (looksLikeAName(c.code)) e[`${q}.code`] = { key: 'err.code_like_name' };
      else long(`${q}.code`, c.code, 64);
      if (c.age.trim()) {
        const age = parseCount(c.age);
        if (age === null || age < 0 || age > 17) e[`${q}.age`] = { key: 'err.age' };
      }
      bySex[c.sex] = (bySex[c.sex] ?? 0) + 1;
    });
    const sexCount: [string, string][] = [
      ['boy', 'boys'],
      ['girl', 'girls'],
      ['unknown', 'sex_unknown'],
    ];
    for (const [sex, k] of sexCount) {
      const n = counts[k];
      const path = `${p}.victims.${k}`;
      if (!e[path] && n !== null && n >= 0 && bySex[sex] > n) {
        e[path] = { key: 'err.fewer_than_coded', params: { n: bySex[sex] } };
      }
    }
  });
  return e;
}

type Json = Record<string, unknown>;

const coord = (s: string) => (s.trim() ? parseCoord(s) : null);

function violationPatch(v: ViolationForm, base?: ViolationForm): Json | null {
  const out: Json = { id: v.id };
  const victims: Json = {};
  const perp: Json = {};
  if (!base || base.type !== v.type) out.type = v.type;
  for (const k of ['boys', 'girls', 'sex_unknown'] as const) {
    if (!base || parseCount(base[k]) !== parseCount(v[k])) victims[k] = parseCount(v[k]) ?? 0;
  }
  const coded: Json[] = [];
  for (const c of v.coded) {
    const b = base?.coded.find((x) => x.id === c.id);
    const cp: Json = { id: c.id };
    if (!b || b.code !== c.code) cp.code = c.code.trim();
    if (!b || b.sex !== c.sex) cp.sex = c.sex;
    if (!b || b.age !== c.age) cp.age = c.age.trim() ? parseCount(c.age) : null;
    if (Object.keys(cp).length > 1) coded.push(cp);
  }
  if (coded.length) victims.coded = coded;
  if (Object.keys(victims).length) out.victims = victims;
  if (!base || base.party !== v.party) perp.party = v.party.trim();
  if (!base || base.category !== v.category) perp.category = v.category;
  if (Object.keys(perp).length) out.perpetrator = perp;
  // Only the keys the type takes; the store clears the others when the type changes.
  const details: Json = {};
  for (const spec of detailsOf(v.type)) {
    const now = detailValue(spec, v.details?.[spec.key] ?? '');
    const was = base ? detailValue(spec, base.details?.[spec.key] ?? '') : null;
    if (now !== undefined && now !== was && (base || now !== null)) details[spec.key] = now;
  }
  if (Object.keys(details).length) out.details = details;
  return Object.keys(out).length > 1 ? out : null;
}

/**
 * The patch that turns `base` into `cur`: every field of a new incident (`base` null), or only
 * what changed, so a save never overwrites values a sync brought in for fields nobody touched
 * here. `null` when nothing changed. Items of `base` missing from `cur` go in `remove`: the store
 * withdraws a violation or a source (kept with its history, left out of figures; `removeReason`
 * says why) and deletes a coded victim.
 */
export function toPatch(
  base: IncidentForm | null,
  cur: IncidentForm,
  removeReason = '',
): Json | null {
  const out: Json = {};
  if (!base) out.id = cur.id;
  for (const k of ['title', 'occurred_on', 'date_precision', 'reported_on', 'narrative'] as const) {
    if (!base || base[k] !== cur[k]) out[k] = k === 'narrative' ? cur[k] : cur[k].trim();
  }
  const ended = (x: IncidentForm) => (x.ended_on ?? '').trim();
  if (base ? ended(base) !== ended(cur) : ended(cur) !== '') out.ended_on = ended(cur) || null;
  if (!base || base.patrol_id !== cur.patrol_id) {
    if (base || cur.patrol_id) out.patrol_id = cur.patrol_id || null;
  }
  const loc: Json = {};
  for (const k of ['admin1', 'admin2', 'place'] as const) {
    if (!base || base[k] !== cur[k]) loc[k] = cur[k].trim();
  }
  for (const k of ['lat', 'lon'] as const) {
    if (base ? coord(base[k]) !== coord(cur[k]) : cur[k].trim() !== '') loc[k] = coord(cur[k]);
  }
  if (Object.keys(loc).length) out.location = loc;

  const sources: Json[] = [];
  for (const s of cur.sources) {
    const b = base?.sources.find((x) => x.id === s.id);
    const sp: Json = { id: s.id };
    if (!b || b.kind !== s.kind) sp.kind = s.kind;
    if (!b || b.consent !== s.consent) sp.consent = s.consent;
    if (!b || b.notes !== s.notes) sp.notes = s.notes;
    if (Object.keys(sp).length > 1) sources.push(sp);
  }
  if (sources.length) out.sources = sources;

  const violations: Json[] = [];
  for (const v of cur.violations) {
    const vp = violationPatch(
      v,
      base?.violations.find((x) => x.id === v.id),
    );
    if (vp) violations.push(vp);
  }
  if (violations.length) out.violations = violations;

  if (base) {
    const remove: string[] = [];
    const curIds = new Set<string>();
    for (const s of cur.sources) curIds.add(s.id);
    for (const v of cur.violations) {
      curIds.add(v.id);
      for (const c of v.coded) curIds.add(c.id);
    }
    for (const s of base.sources) if (!curIds.has(s.id)) remove.push(s.id);
    for (const v of base.violations) {
      if (!curIds.has(v.id)) remove.push(v.id);
      else for (const c of v.coded) if (!curIds.has(c.id)) remove.push(c.id);
    }
    if (remove.length) {
      out.remove = remove;
      if (removeReason.trim()) out.remove_reason = removeReason.trim();
    }
  }
  return Object.keys(out).length ? out : null;
}

/** Ids of the withdrawn violations and sources of a stored incident (left out of its form). */
export interface Hidden {
  violations: string[];
  sources: string[];
}

export function withdrawnIds(inc: Incident): Hidden {
  return {
    violations: inc.violations.filter((v) => v.withdrawn).map((v) => v.id),
    sources: inc.sources.filter((s) => s.withdrawn).map((s) => s.id),
  };
}

/**
 * The errors that stop a save: those of `cur` that `base` (the record as loaded or last saved)
 * did not already have. A record merged from two laptops can break a rule neither broke (dates
 * moved apart on each); it stays editable, as the store judges a write by what it adds
 * (crdt/src/validate.rs `incident_change`). A new incident (`base` null) must be valid whole.
 */
export function blockingErrors(base: IncidentForm | null, cur: IncidentForm, today: string): Errors {
  const now = validate(cur, today);
  if (!base) return now;
  const had = validate(base, today);
  const out: Errors = {};
  for (const [path, msg] of Object.entries(now)) {
    if (JSON.stringify(had[path]) !== JSON.stringify(msg)) out[path] = msg;
  }
  return out;
}

/**
 * Store errors (per field path) as form messages. The store numbers items over the whole record
 * in id order, withdrawn ones included; given the form and the withdrawn ids left out of it, a
 * path such as `violations[3].type` is renumbered to the same item's place in the form.
 */
export function storeErrors(
  fields: FieldError[],
  form?: IncidentForm,
  hidden?: Hidden,
  lang?: Lang,
): Errors {
  const e: Errors = {};
  for (const f of fields) {
    // Said in the reader's language from its code when the store gave one; its English else.
    e[form ? formPath(f.field, form, hidden) : f.field] = { text: lang ? attentionText(f, lang) : f.message };
  }
  return e;
}

function formPath(path: string, form: IncidentForm, hidden?: Hidden): string {
  const m = /^(violations|sources)\[(\d+)\](.*)$/.exec(path);
  if (!m) return path;
  const list = m[1] as 'violations' | 'sources';
  const shown = form[list].map((x) => x.id);
  const all = [...new Set([...shown, ...(hidden?.[list] ?? [])])].sort();
  const at = shown.indexOf(all[Number(m[2]) - 1]);
  return at < 0 ? path : `${list}[${at + 1}]${m[3]}`;
}

/** Children counted in a violation of the form (invalid counts count as 0). */
export function childTotal(v: ViolationForm): number {
  return ['boys', 'girls', 'sex_unknown']
    .map((k) => parseCount(v[k as 'boys']) ?? 0)
    .reduce((a, b) => a + Math.max(0, b), 0);
}
