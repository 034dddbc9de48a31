import { describe, expect, it } from 'vitest';
import { fmtAgo, fmtDate, fmtMonth, fmtNumber, lines, parseUserDate, today } from '../src/lib/format';
import { changeValue, conflictLabel, timeline, valueText } from '../src/lib/detail';
import { uuidv7, UUID_RE } from '../src/lib/uuid';
import type { Incident } from '../src/lib/api';

describe('formatting', () => {
  it('shows dates to their precision, in both languages', () => {
    expect(fmtDate('2026-11-03', 'en')).toBe('3 Nov 2026');
    expect(fmtDate('2026-11-03', 'fr')).toMatch(/^3 nov\.? 2026$/);
    expect(fmtDate('2026-11-03', 'en', 'month')).toBe('Nov 2026');
    expect(fmtDate('2026-11-03', 'en', 'year')).toBe('2026');
    expect(fmtDate('not a date', 'en')).toBe('not a date');
    expect(fmtMonth('2026-02', 'en')).toBe('Feb 2026');
  });

  it('groups numbers the way each language does', () => {
    expect(fmtNumber(10000, 'en')).toBe('10,000');
    expect(fmtNumber(10000, 'fr').replace(/\s/g, ' ')).toBe('10 000');
  });

  it('writes Arabic dates and numbers with Western digits', () => {
    const arabicIndic = /[\u0660-\u0669\u06F0-\u06F9]/;
    const date = fmtDate('2026-11-03', 'ar');
    expect(date).not.toMatch(arabicIndic);
    expect(date).toMatch(/^3 \p{Script=Arabic}+ 2026$/u);
    expect(fmtDate('2026-11-03', 'ar', 'year')).toBe('2026');
    expect(fmtNumber(10000, 'ar')).not.toMatch(arabicIndic);
    expect(fmtNumber(10000, 'ar').replace(/\D/g, '')).toBe('10000');
    const now = Date.parse('2026-11-28T12:00:00Z');
    expect(fmtAgo('2026-11-28T11:55:00Z', 'ar', now)).toBe('قبل 5 دقائق');
    expect(fmtAgo('2026-11-28T11:58:00Z', 'ar', now)).toBe('قبل دقيقتين');
    expect(fmtAgo('2026-11-25T12:00:00Z', 'ar', now)).toBe('قبل 3 أيام');
    expect(fmtAgo('2026-11-28T11:59:40Z', 'ar', now)).toBe('قبل لحظات');
  });

  it('says how long ago', () => {
    const now = Date.parse('2026-11-28T12:00:00Z');
    expect(fmtAgo('2026-11-28T11:59:40Z', 'en', now)).toBe('just now');
    expect(fmtAgo('2026-11-28T11:55:00Z', 'en', now)).toBe('5 min ago');
    expect(fmtAgo('2026-11-28T09:00:00Z', 'fr', now)).toBe('il y a 3 h');
    expect(fmtAgo('2026-11-25T12:00:00Z', 'en', now)).toBe('3 day(s) ago');
  });

  it('gives today as YYYY-MM-DD and splits lines', () => {
    expect(today(new Date(2026, 0, 5))).toBe('2026-01-05');
    expect(lines(' Kiwanja \n\n Rutshuru')).toEqual(['Kiwanja', 'Rutshuru']);
  });
});

describe('detail helpers', () => {
  const inc = {
    violations: [{ id: 'b' }, { id: 'a' }],
    sources: [{ id: 's' }],
  } as unknown as Incident;

  it('names conflict paths in words', () => {
    expect(conflictLabel('violations.b.victims.boys', inc, 'en')).toBe('Violation 2 › Boys');
    expect(conflictLabel('violations.a.perpetrator.party', inc, 'fr')).toBe('Violation 1 › Partie responsable');
    expect(conflictLabel('title', inc, 'en')).toBe('Title');
    expect(conflictLabel('sources.s.notes', inc, 'en')).toBe('Source 1 › Notes');
  });

  it('says what a change changed in words, in each language', () => {
    expect(conflictLabel('violations.a.details.weapon', inc, 'en')).toBe('Violation 1 › Weapon or cause');
    expect(conflictLabel('violations.b.verification.1.status', inc, 'en')).toBe('Violation 2 › Verification 2 › Status');
    expect(conflictLabel('violations.a.withdrawn.reason', inc, 'en')).toBe('Violation 1 › Withdrawn › Reason');
    expect(conflictLabel('review.comments.3.text', inc, 'en')).toBe('Comment');
    expect(changeValue('sources.s.kind', 'eyewitness', 'en')).toBe('Eyewitness');
    expect(changeValue('date_precision', 'month', 'fr')).not.toBe('month');
    expect(changeValue('violations.a.type', 'killing', 'fr')).toBe('Meurtre');
    expect(changeValue('violations.a.verification.0.status', 'verified', 'en')).toBe('Verified');
    expect(changeValue('violations.a.details.weapon', 'landmine', 'en')).toBe('Landmine');
    expect(changeValue('violations.a.details.operational_before', true, 'fr')).toBe('Oui');
    expect(changeValue('violations.a.victims.boys', 3, 'en')).toBe('3');
    expect(changeValue('title', undefined, 'en')).toBe('—');
    // A text that happens to be a term stays as written outside the vocabulary's fields.
    expect(changeValue('title', 'killing', 'en')).toBe('killing');
  });

  it('shows values and orders the verification trail by time', () => {
    expect(valueText(3)).toBe('3');
    expect(valueText('x')).toBe('x');
    expect(valueText(null)).toBe('—');
    const t = timeline([
      { at: '2026-11-02T00:00:00Z', s: 2 },
      { at: '2026-11-01T00:00:00Z', s: 1 },
      { at: '2026-11-02T00:00:00Z', s: 3 },
    ]);
    expect(t.map((e) => e.s)).toEqual([1, 2, 3]);
    // Goma just after midnight is still the evening before in New York: as text the Goma stamp
    // sorts first, as an instant it came 4 h later.
    const zones = timeline([
      { at: '2026-11-30T00:30:00.000+02:00', s: 'goma' },
      { at: '2026-11-29T14:30:00.000-05:00', s: 'new york' },
    ]);
    expect(zones.map((e) => e.s)).toEqual(['new york', 'goma']);
  });
});

describe('uuidv7', () => {
  it('makes valid version-7 ids that sort in the order they were made', () => {
    const ids = Array.from({ length: 50 }, () => uuidv7(() => 1_700_000_000_000));
    for (const id of ids) {
      expect(id).toMatch(UUID_RE);
      expect(id[14]).toBe('7');
      expect('89ab').toContain(id[19]);
    }
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    const later = uuidv7(() => 1_700_000_000_001 + 10);
    expect(later > ids[ids.length - 1]).toBe(true);
  });
});

describe('dates as people type them', () => {
  it('understands ISO and day-first dates, and refuses anything else out loud', () => {
    expect(parseUserDate('2026-11-15')).toBe('2026-11-15');
    expect(parseUserDate('15/11/2026')).toBe('2026-11-15');
    expect(parseUserDate(' 5/1/2026 ')).toBe('2026-01-05');
    expect(parseUserDate('15.11.2026')).toBe('2026-11-15');
    expect(parseUserDate('15-11-2026')).toBe('2026-11-15');
    for (const bad of ['11/15/2026', '31/02/2026', '2026-13-01', '15/11/26', 'yesterday', '', '2026/11/15']) {
      expect(parseUserDate(bad), bad).toBeNull();
    }
  });
});
