import { describe, expect, it } from 'vitest';
import {
  emptyForm,
  formFromIncident,
  isDate,
  normalDate,
  newCoded,
  newSource,
  newViolation,
  parseCount,
  storeErrors,
  toPatch,
  validate,
  type IncidentForm,
} from '../src/lib/form';
import type { Incident } from '../src/lib/api';

const TODAY = '2026-11-28';

function valid(): IncidentForm {
  const f = emptyForm(TODAY);
  f.title = 'Attack on a village';
  f.occurred_on = '2026-11-20';
  f.reported_on = '2026-11-21';
  f.admin1 = 'North Kivu';
  f.violations[0].type = 'killing';
  f.violations[0].boys = '1';
  return f;
}

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
    sources: [{ id: '01a221ae-9922-73b9-8373-000000000001', kind: 'eyewitness', consent: true, notes: '' }],
    violations: [
      {
        id: '01a221ae-9922-73b9-8373-002b55935f58',
        type: 'killing',
        victims: { boys: 1, girls: 0, sex_unknown: 0 },
        perpetrator: { party: 'Group Alpha', category: 'armed_group' },
        verification: [],
      },
      {
        id: '01a221ae-9922-73b9-8373-002b55935f59',
        type: 'abduction',
        victims: { boys: 2, girls: 1, sex_unknown: 0, coded: [{ id: '01a221ae-9922-73b9-8373-002b55935f60', code: 'V-001', sex: 'girl', age: 12 }] },
        perpetrator: { party: 'Group Alpha', category: 'armed_group' },
        verification: [],
      },
    ],
    review: { state: 'draft', comments: [] },
    created_by: 'Awa D.',
    team: 'Goma',
  };
}

describe('validation', () => {
  it('accepts a complete incident', () => {
    expect(validate(valid(), TODAY)).toEqual({});
  });

  it('puts each problem on its field', () => {
    const f = valid();
    f.title = '  ';
    f.occurred_on = '2026-12-01';
    f.reported_on = '2026-02-30';
    f.admin1 = '';
    f.violations[0].boys = '-1';
    f.violations[0].girls = 'two';
    const e = validate(f, TODAY);
    expect(e.title).toEqual({ key: 'err.required' });
    expect(e.occurred_on).toEqual({ key: 'err.future' });
    expect(e.reported_on).toEqual({ key: 'err.not_date' });
    expect(e['location.admin1']).toEqual({ key: 'err.required' });
    expect(e['violations[1].victims.boys']).toEqual({ key: 'err.negative' });
    expect(e['violations[1].victims.girls']).toEqual({ key: 'err.count' });
  });

  it('needs a child for violations against children, not for attacks', () => {
    const f = valid();
    f.violations[0].boys = '0';
    expect(validate(f, TODAY)['violations[1].victims']).toEqual({ key: 'err.needs_child' });
    f.violations[0].type = 'attack_school';
    expect(validate(f, TODAY)).toEqual({});
  });

  it('checks dates in order, coordinates in pairs, types and coded victims', () => {
    const f = valid();
    f.occurred_on = '2026-11-22';
    f.lat = '-1.5';
    f.violations.push(newViolation());
    f.violations[0].coded.push({ ...newCoded(), code: '', age: '19' });
    f.violations[0].coded.push({ ...newCoded(), code: 'V-2', sex: 'boy' });
    f.violations[0].coded.push({ ...newCoded(), code: 'V-3', sex: 'boy' });
    f.sources.push(newSource());
    const e = validate(f, TODAY);
    expect(e.occurred_on).toEqual({ key: 'err.after_reported' });
    expect(e['location.lon']).toEqual({ key: 'err.pair' });
    expect(e['violations[2].type']).toEqual({ key: 'err.required' });
    expect(e['violations[1].victims.coded[1].code']).toEqual({ key: 'err.required' });
    expect(e['violations[1].victims.coded[1].age']).toEqual({ key: 'err.age' });
    expect(e['violations[1].victims.boys']).toEqual({ key: 'err.fewer_than_coded', params: { n: 2 } });
    expect(e['sources[1].kind']).toEqual({ key: 'err.required' });
  });

  it('refuses a victim code that looks like a name, as the store does', () => {
    for (const name of ['Maria K.', 'Amani', 'Jean Paul 2', ' bob ']) {
      const f = valid();
      f.violations[0].coded.push({ ...newCoded(), code: name, sex: 'girl' });
      f.violations[0].girls = '1';
      expect(validate(f, TODAY)['violations[1].victims.coded[1].code'], name).toEqual({ key: 'err.code_like_name' });
    }
    for (const code of ['V-014', 'GOMA-2026-3', 'c7']) {
      const f = valid();
      f.violations[0].coded.push({ ...newCoded(), code, sex: 'girl' });
      f.violations[0].girls = '1';
      expect(validate(f, TODAY)['violations[1].victims.coded[1].code'], code).toBeUndefined();
    }
  });

  it('knows real dates and whole numbers', () => {
    expect(isDate('2024-02-29')).toBe(true);
    expect(isDate('2023-02-29')).toBe(false);
    expect(isDate('2026-1-01')).toBe(false);
    expect(parseCount(' 12 ')).toBe(12);
    expect(parseCount('-3')).toBe(-3);
    expect(parseCount('1.5')).toBeNull();
    expect(parseCount('')).toBeNull();
  });

  it('maps store errors onto fields', () => {
    expect(storeErrors([{ field: 'violations[1].victims.boys', message: 'must be 0 or more' }])).toEqual({
      'violations[1].victims.boys': { text: 'must be 0 or more' },
    });
  });
});

describe('patches', () => {
  it('sends every field of a new incident, with ids', () => {
    const f = valid();
    f.sources.push({ ...newSource(), kind: 'eyewitness', consent: true });
    const p = toPatch(null, f) as Record<string, any>;
    expect(p.id).toBe(f.id);
    expect(p.title).toBe('Attack on a village');
    expect(p.location).toEqual({ admin1: 'North Kivu', admin2: '', place: '' });
    expect(p.patrol_id).toBeUndefined();
    expect(p.violations[0]).toEqual({
      id: f.violations[0].id,
      type: 'killing',
      victims: { boys: 1, girls: 0, sex_unknown: 0 },
      perpetrator: { party: '', category: 'unknown' },
    });
    expect(p.sources[0]).toMatchObject({ kind: 'eyewitness', consent: true });
    expect(p.remove).toBeUndefined();
  });

  it('sends only what changed, so values from a sync are never overwritten', () => {
    const base = formFromIncident(stored());
    const cur = structuredClone(base);
    expect(toPatch(base, cur)).toBeNull();
    cur.narrative = 'Fictional, more detail.';
    cur.violations[1].girls = '2';
    expect(toPatch(base, cur)).toEqual({
      narrative: 'Fictional, more detail.',
      violations: [{ id: base.violations[1].id, victims: { girls: 2 } }],
    });
  });

  it('sets, checks and clears the end date of an incident over a period', () => {
    const f = valid();
    expect((toPatch(null, f) as Record<string, unknown>).ended_on).toBeUndefined();
    f.ended_on = '2026-11-25';
    expect(validate(f, TODAY).ended_on).toBeUndefined();
    expect((toPatch(null, f) as Record<string, unknown>).ended_on).toBe('2026-11-25');
    f.ended_on = '2026-11-19';
    expect(validate(f, TODAY).ended_on).toEqual({ key: 'err.ended_before' });
    f.ended_on = '2026-12-01';
    expect(validate(f, TODAY).ended_on).toEqual({ key: 'err.future' });
    f.ended_on = '25/11';
    expect(validate(f, TODAY).ended_on).toEqual({ key: 'err.not_date' });
    const base = formFromIncident({ ...stored(), ended_on: '2026-11-25' });
    const cur = structuredClone(base);
    cur.ended_on = '';
    expect(toPatch(base, cur)).toEqual({ ended_on: null });
  });

  it('removes deleted items by id and adds new ones whole', () => {
    const base = formFromIncident(stored());
    const cur = structuredClone(base);
    cur.violations[1].coded = [];
    cur.violations.splice(0, 1);
    const v = { ...newViolation(), type: 'maiming', girls: '1' };
    cur.violations.push(v);
    cur.lat = '-1.2';
    cur.lon = '29.4';
    const p = toPatch(base, cur) as Record<string, any>;
    expect(p.remove.sort()).toEqual([base.violations[0].id, base.violations[1].coded[0].id].sort());
    expect(p.violations).toEqual([
      {
        id: v.id,
        type: 'maiming',
        victims: { boys: 0, girls: 1, sex_unknown: 0 },
        perpetrator: { party: '', category: 'unknown' },
      },
    ]);
    expect(p.location).toEqual({ lat: -1.2, lon: 29.4 });
  });

  it('clears a patrol link and coordinates with null', () => {
    const inc = stored();
    inc.patrol_id = '01a221ae-9922-73b9-8373-00290670f000';
    inc.location.lat = 1;
    inc.location.lon = 2;
    const base = formFromIncident(inc);
    const cur = structuredClone(base);
    cur.patrol_id = '';
    cur.lat = '';
    cur.lon = '';
    expect(toPatch(base, cur)).toEqual({ patrol_id: null, location: { lat: null, lon: null } });
  });

  it('reads a stored incident into the form in the store order', () => {
    const inc = stored();
    inc.violations.reverse();
    const f = formFromIncident(inc);
    expect(f.violations.map((v) => v.type)).toEqual(['killing', 'abduction']);
    expect(f.violations[1].coded[0]).toMatchObject({ code: 'V-001', sex: 'girl', age: '12' });
    expect(f.lat).toBe('');
  });
});

describe('violation details', () => {
  it('offers each type its own details, from the store’s table', async () => {
    const { detailsOf } = await import('../src/lib/details');
    expect(detailsOf('killing').map((d) => d.key)).toEqual(['weapon']);
    expect(detailsOf('attack_school').map((d) => d.key)).toEqual([
      'facility_type',
      'attack_type',
      'operational_before',
      'closed_after',
      'damage',
    ]);
    expect(detailsOf('attack_school')[0].terms).toContain('primary_school');
    expect(detailsOf('attack_hospital')[0].terms).not.toContain('primary_school');
    expect(detailsOf('deprivation_liberty').map((d) => d.key)).toEqual(['child_status', 'reason']);
    expect(detailsOf('')).toEqual([]);
  });

  it('sends the details a new violation has, typed as the store takes them', () => {
    const f = valid();
    f.violations[0].type = 'military_use_school';
    f.violations[0].boys = '0';
    f.violations[0].details = { use_type: 'base_barracks', duration_days: '40', weapon: 'landmine' };
    const v = (toPatch(null, f)!.violations as Record<string, unknown>[])[0];
    // The weapon was chosen under another type: not a detail of military use, so not sent.
    expect(v.details).toEqual({ use_type: 'base_barracks', duration_days: 40 });
  });

  it('sends only changed details, and null for one cleared', () => {
    const inc = stored();
    inc.violations[0].details = { weapon: 'landmine' };
    const base = formFromIncident(inc);
    expect(base.violations[0].details).toEqual({ weapon: 'landmine' });
    const cur = formFromIncident(inc);
    expect(toPatch(base, cur)).toBeNull();
    cur.violations[0].details.weapon = '';
    expect((toPatch(base, cur)!.violations as Record<string, unknown>[])[0].details).toEqual({ weapon: null });
  });

  it('checks a typed number of days', () => {
    const f = valid();
    f.violations[0].type = 'military_use_hospital';
    f.violations[0].details = { duration_days: 'ten' };
    expect(validate(f, TODAY)['violations[1].details.duration_days']).toEqual({
      key: 'err.detail_days',
      params: { max: 36500 },
    });
    f.violations[0].details = { duration_days: '10' };
    expect(validate(f, TODAY)['violations[1].details.duration_days']).toBeUndefined();
  });
});

describe("the store's refusals in the reader's language", () => {
  it('says a coded refusal in French and Arabic, and an uncoded one as the store wrote it', () => {
    const fields = [
      {
        field: 'location.admin1',
        message: "`Nord Kivu` is not one of the mission's provinces (Ituri, North Kivu)",
        code: 'province_not_listed',
        params: { value: 'Nord Kivu', list: 'Ituri, North Kivu' },
      },
      { field: 'title', message: 'is required', code: 'required' },
      { field: 'narrative', message: 'something only the store checks' },
    ];
    const fr = storeErrors(fields, undefined, undefined, 'fr');
    expect(fr['location.admin1']).toEqual({ text: "« Nord Kivu » n'est pas une des provinces de la mission (Ituri, North Kivu)" });
    expect(fr['title']).toEqual({ text: 'est obligatoire' });
    expect(fr['narrative']).toEqual({ text: 'something only the store checks' });
    const ar = storeErrors(fields, undefined, undefined, 'ar');
    expect(ar['title']).toEqual({ text: 'مطلوب' });
    expect(storeErrors(fields)['title']).toEqual({ text: 'is required' });
  });
});
