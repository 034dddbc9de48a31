import { describe, expect, it } from 'vitest';
import { blockingErrors, formFromIncident, storeErrors, toPatch, withdrawnIds } from '../src/lib/form';
import { attentionText, fieldLabel } from '../src/lib/detail';
import { appErrorText } from '../src/lib/i18n';
import { en } from '../src/lib/locales/en';
import { fr } from '../src/lib/locales/fr';
import { allowedStatuses, DENIED_CODES, isDecision, STATUSES } from '../src/lib/vocab';
import type { Incident } from '../src/lib/api';

const WITHDRAWAL = { at: '2026-11-25T10:00:00Z', by: 'Reviewer R.', reason: 'recorded twice' };

/** A stored incident with a live and a withdrawn violation, and a live and a withdrawn source. */
function stored(): Incident {
  return {
    id: '01a221ae-9922-73b9-8373-00290670f053',
    title: 'Attack',
    occurred_on: '2026-11-20',
    date_precision: 'day',
    reported_on: '2026-11-21',
    location: { admin1: 'North Kivu', admin2: 'Rutshuru', place: 'Kiwanja' },
    narrative: 'Fictional.',
    patrol_id: null,
    sources: [
      { id: '01a221ae-9922-73b9-8373-000000000001', kind: 'eyewitness', consent: true, notes: '', withdrawn: WITHDRAWAL },
      { id: '01a221ae-9922-73b9-8373-000000000002', kind: 'victim', consent: true, notes: '', withdrawn: null },
    ],
    violations: [
      {
        id: '01a221ae-9922-73b9-8373-002b55935f58',
        type: 'killing',
        victims: { boys: 1, girls: 0, sex_unknown: 0 },
        perpetrator: { party: 'Group Alpha', category: 'armed_group' },
        verification: [
          {
            id: '01a221ae-9922-73b9-8373-00000000e001',
            status: 'verified',
            at: '2026-11-22T10:00:00Z',
            by: 'Reviewer R.',
            note: '',
            source_ids: ['01a221ae-9922-73b9-8373-000000000001'],
            supersedes: null,
          },
        ],
        withdrawn: WITHDRAWAL,
      },
      {
        id: '01a221ae-9922-73b9-8373-002b55935f59',
        type: 'abduction',
        victims: {
          boys: 2,
          girls: 1,
          sex_unknown: 0,
          coded: [{ id: '01a221ae-9922-73b9-8373-002b55935f60', code: 'V-001', sex: 'girl', age: 12 }],
        },
        perpetrator: { party: 'Group Alpha', category: 'armed_group' },
        verification: [],
      },
    ],
    review: { state: 'draft', comments: [] },
    created_by: 'Awa D.',
    team: 'Goma',
  };
}

describe('withdrawn violations and sources', () => {
  it('are left out of the form built from an incident', () => {
    const f = formFromIncident(stored());
    expect(f.violations.map((v) => v.id)).toEqual(['01a221ae-9922-73b9-8373-002b55935f59']);
    expect(f.sources.map((s) => s.id)).toEqual(['01a221ae-9922-73b9-8373-000000000002']);
    expect(withdrawnIds(stored())).toEqual({
      violations: ['01a221ae-9922-73b9-8373-002b55935f58'],
      sources: ['01a221ae-9922-73b9-8373-000000000001'],
    });
  });

  it('are never sent in remove again: an unchanged form yields no patch', () => {
    const base = formFromIncident(stored());
    expect(toPatch(base, structuredClone(base))).toBeNull();
  });

  it('removing a live violation yields remove: [id], and a reason when given', () => {
    const base = formFromIncident(stored());
    const cur = structuredClone(base);
    cur.violations.splice(0, 1);
    expect(toPatch(base, cur)).toEqual({ remove: ['01a221ae-9922-73b9-8373-002b55935f59'] });
    expect(toPatch(base, cur, ' duplicate ')).toEqual({
      remove: ['01a221ae-9922-73b9-8373-002b55935f59'],
      remove_reason: 'duplicate',
    });
  });

  it('removing a live source yields remove: [id]; coded victims are still removed by id', () => {
    const base = formFromIncident(stored());
    const cur = structuredClone(base);
    cur.sources = [];
    cur.violations[0].coded = [];
    expect((toPatch(base, cur) as { remove: string[] }).remove.sort()).toEqual(
      ['01a221ae-9922-73b9-8373-000000000002', '01a221ae-9922-73b9-8373-002b55935f60'].sort(),
    );
  });

  it('store errors numbered over the whole record land on the form item', () => {
    const inc = stored();
    const f = formFromIncident(inc);
    const e = storeErrors(
      [
        { field: 'violations[2].type', message: 'bad' },
        { field: 'sources[2].notes', message: 'long' },
        { field: 'title', message: 'required' },
      ],
      f,
      withdrawnIds(inc),
    );
    expect(e).toEqual({
      'violations[1].type': { text: 'bad' },
      'sources[1].notes': { text: 'long' },
      title: { text: 'required' },
    });
  });
});

describe('attention and denied errors', () => {
  it('names store field paths in words', () => {
    expect(fieldLabel('violations[2].victims.boys', 'en')).toBe('Violation 2 › Boys');
    expect(fieldLabel('sources[1].notes', 'fr')).toBe('Source 1 › Notes');
    expect(fieldLabel('occurred_on', 'en')).toBe('Occurred on');
    expect(fieldLabel('location.admin1', 'en')).toBe('Province / region');
  });

  it('says a denial in the user language, falling back to the store message', () => {
    const denied = { kind: 'denied', code: 'decision_by_non_reviewer', message: 'only a reviewer may record a `verified` verification', fields: [] };
    expect(appErrorText('en', denied)).toBe('Only a reviewer may record this decision.');
    expect(appErrorText('fr', denied)).toBe('Seul un réviseur peut enregistrer cette décision.');
    expect(appErrorText('en', { ...denied, code: 'something_new' })).toBe(denied.message);
    expect(appErrorText('en', { kind: 'invalid', message: 'bad', fields: [] })).toBe('bad');
    expect(appErrorText('en', 'boom')).toBe('boom');
  });

  it('translates every denial code in both languages', () => {
    for (const c of DENIED_CODES) {
      expect(en[`denied.${c}`], c).toBeTruthy();
      expect(fr[`denied.${c}`], c).toBeTruthy();
    }
  });

  it('offers field officers only the statuses that are not decisions', () => {
    expect(allowedStatuses('officer').every((s) => !isDecision(s))).toBe(true);
    expect(allowedStatuses('reviewer')).toEqual(STATUSES);
    expect(isDecision('not_verified')).toBe(true);
  });
});

describe('a merged record that breaks a rule', () => {
  it('stays editable: only problems the edit adds stop a save', () => {
    const base = formFromIncident(stored());
    // Two laptops moved the dates apart: the record as loaded already breaks the date order.
    base.occurred_on = '2026-11-22';
    base.reported_on = '2026-11-21';
    const cur = structuredClone(base);
    cur.narrative = 'Seen after the merge.';
    expect(blockingErrors(base, cur, '2026-11-28')).toEqual({});
    // A new problem of the edit's own still stops it.
    cur.title = '';
    expect(Object.keys(blockingErrors(base, cur, '2026-11-28'))).toEqual(['title']);
    // A new incident must be valid whole.
    expect(Object.keys(blockingErrors(null, base, '2026-11-28')).length).toBeGreaterThan(0);
  });
});

describe('what a merge left to settle', () => {
  it('is said in the reader\'s language when the store named it, else as the store wrote it', () => {
    const contested = {
      field: 'violations[1].withdrawn',
      message: 'withdrawn by Omar while Rose recorded "verified" apart: ...',
      code: 'withdrawal_contested',
      params: { by: 'Omar', decided_by: 'Rose', status: 'verified' },
    };
    expect(attentionText(contested, 'en')).toContain('withdrawn by Omar while Rose recorded "Verified"');
    expect(attentionText(contested, 'fr')).toMatch(/^retirée par Omar pendant que Rose enregistrait « Vérifié/);
    const twice = { field: 'id', message: 'recorded twice', code: 'recorded_twice', params: { who: 'A, B' } };
    expect(attentionText(twice, 'fr')).toContain('(A, B)');
    expect(attentionText({ field: 'title', message: 'is required' }, 'fr')).toBe('is required');
    expect(attentionText({ field: 'x', message: 'as written', code: 'not_a_known_code' }, 'fr')).toBe('as written');
    for (const code of ['in_future', 'date_order', 'before_occurred', 'unknown_source', 'fewer_than_coded', 'withdrawal_contested', 'changed_since_decision', 'cites_withdrawn_source', 'split_late_changes', 'recorded_twice']) {
      expect(en[`attention.${code}`], code).toBeTruthy();
      expect(fr[`attention.${code}`], code).toBeTruthy();
    }
  });
});
