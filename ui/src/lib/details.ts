// A violation's details by type (crdt/src/details.rs): which keys each type takes and their
// values. The table is the store's own, copied to generated/details.json and held equal by a
// Rust test (`make ui-details` rewrites it), so the form never offers what the store refuses.

import table from './generated/details.json';

export type DetailShape = 'term' | 'flag' | 'days';

export interface DetailSpec {
  key: string;
  types: string[];
  shape: DetailShape;
  /** For `term`: the values, in the order offered. */
  terms?: string[];
}

/** The longest duration a detail holds, in days (crdt `details::MAX_DAYS`). */
export const MAX_DAYS = 36_500;

export const DETAILS: DetailSpec[] = table.details as DetailSpec[];

/** The detail keys a violation of `type` takes, in table order ('' takes none). */
export function detailsOf(type: string): DetailSpec[] {
  return DETAILS.filter((d) => d.types.includes(type));
}

/** Every key and every term, for the translations' completeness test. */
export function allDetailKeys(): string[] {
  return [...new Set(DETAILS.map((d) => d.key))];
}

export function allTerms(): string[] {
  return [...new Set(DETAILS.flatMap((d) => d.terms ?? []))];
}

/** A stored detail value as the form holds it: a term, 'true'/'false', or digits. */
export function detailText(v: string | boolean | number | null | undefined): string {
  return v === null || v === undefined ? '' : String(v);
}

/** The form's text as the store takes it (`null` clears), or `undefined` when it is not one. */
export function detailValue(spec: DetailSpec, text: string): string | boolean | number | null | undefined {
  const t = text.trim();
  if (!t) return null;
  if (spec.shape === 'flag') return t === 'true' ? true : t === 'false' ? false : undefined;
  if (spec.shape === 'days') {
    if (!/^\d+$/.test(t)) return undefined;
    const n = Number(t);
    return n <= MAX_DAYS ? n : undefined;
  }
  return spec.terms?.includes(t) ? t : undefined;
}
