import { describe, expect, it } from 'vitest';
import { printDoc, type PrintDoc, type PrintItem } from '../src/lib/print';
import { LANGUAGES, translate, type Lang } from '../src/lib/i18n';
import type { IncidentDetail } from '../src/lib/api';

const S1 = '01a221ae-9922-73b9-8373-000000000001';
const S2 = '01a221ae-9922-73b9-8373-000000000002';
const V1 = '01a221ae-9922-73b9-8373-00000000aa01';
const V2 = '01a221ae-9922-73b9-8373-00000000aa02';

/** An incident with two violations (the first verified on two sources, the second withdrawn),
 * two sources, a comment and three history entries. */
function record(): IncidentDetail {
  return {
    id: '01a221ae-9922-73b9-8373-00290670f053',
    title: 'Attack on Kiwanja village',
    occurred_on: '2026-11-20',
    date_precision: 'day',
    ended_on: null,
    reported_on: '2026-11-21',
    location: { admin1: 'North Kivu', admin2: 'Rutshuru', place: 'Kiwanja', lat: -1.2345, lon: 29.4567 },
    narrative: 'Fictional: armed men attacked the village at dawn.',
    patrol_id: null,
    sources: [
      { id: S2, kind: 'medical', consent: false, notes: 'Clinic register', withdrawn: null },
      { id: S1, kind: 'eyewitness', consent: true, notes: '' },
    ],
    violations: [
      {
        id: V2,
        type: 'abduction',
        victims: { boys: 1, girls: 1, sex_unknown: 0 },
        perpetrator: { party: '', category: 'unknown' },
        details: { purpose: 'recruitment_use' },
        verification: [],
        withdrawn: { at: '2026-11-23T09:00:00Z', by: 'Reviewer R.', reason: 'recorded twice' },
      },
      {
        id: V1,
        type: 'killing',
        victims: { boys: 2, girls: 0, sex_unknown: 1, coded: [{ id: 'c1', code: 'V-014', sex: 'boy', age: 12 }] },
        perpetrator: { party: 'Group Alpha', category: 'armed_group' },
        details: { weapon: 'small_arms' },
        verification: [
          {
            id: 'e1',
            status: 'verified',
            at: '2026-11-22T10:00:00Z',
            by: 'Reviewer R.',
            note: 'Two eyewitnesses and the clinic register agree.',
            source_ids: [S1, S2],
            level: 'technical_review',
            sources: { primary: 1, secondary: 1, un_eyewitness: false },
          },
        ],
      },
    ],
    review: { state: 'submitted', comments: [{ at: '2026-11-22T11:00:00Z', by: 'Awa D.', text: 'Please check the date.' }] },
    created_by: 'Awa D.',
    team: 'Goma',
    status: [
      { violation_id: V1, status: 'verified', late: false, withdrawn: false },
      { violation_id: V2, status: 'reported', late: false, withdrawn: true },
    ],
    conflicts: [],
    attention: [],
    heads: ['h3'],
    history: [
      { hash: 'h1', at: '2026-11-21T08:00:00Z', by: 'Awa D.', device: 'd1', message: 'incident recorded', deps: [] },
      {
        hash: 'h2',
        at: '2026-11-21T09:00:00Z',
        by: 'Awa D.',
        device: 'd1',
        message: 'edited',
        deps: ['h1'],
        changes: [{ path: 'location.place', before: 'Kiwanj', after: 'Kiwanja' }],
      },
      { hash: 'h3', at: '2026-11-22T10:00:00Z', by: 'Reviewer R.', device: 'd2', message: 'verification recorded', deps: ['h2'] },
    ],
    warnings: [],
    sync: { state: 'synced', reason: null, conflict: false },
  };
}

const printing = { now: '2026-11-25T14:05:00Z', officer: 'Awa D.' };
const section = (doc: PrintDoc, id: string) => doc.sections.find((s) => s.id === id)!;
const blocks = (items: PrintItem[]) => items.filter((i) => i.kind === 'block');
const fields = (items: PrintItem[]) =>
  Object.fromEntries(items.flatMap((i) => (i.kind === 'field' ? [[i.label, i.value]] : [])));
/** Every word the page holds, in order. */
function text(items: PrintItem[]): string {
  return items
    .map((i) =>
      i.kind === 'field'
        ? `${i.label} ${i.value}`
        : i.kind === 'text'
          ? i.text
          : i.kind === 'list'
            ? i.lines.map((l) => [l.text, ...l.sub].join(' ')).join(' ')
            : `${i.heading} ${text(i.items)}`,
    )
    .join(' ');
}
const all = (doc: PrintDoc) => [doc.header, doc.confidential, doc.printed, doc.title, ...doc.sections.map((s) => `${s.heading} ${text(s.items)}`)].join(' ');

describe('the printed record', () => {
  it('says what it is, that it is confidential, when and by whom it was printed, in each language', () => {
    for (const lang of LANGUAGES) {
      const doc = printDoc(record(), lang, printing);
      expect(doc.header).toBe(translate(lang, 'print.header'));
      expect(doc.confidential).toBe(translate(lang, 'print.confidential'));
      expect(doc.printed).toContain('Awa D.');
      expect(doc.printed).toContain('2026');
      expect(doc.title).toBe('Attack on Kiwanja village');
      expect(doc.lang).toBe(lang);
    }
    expect(printDoc(record(), 'en', printing).header).toBe('MRM Field — incident record');
    expect(printDoc(record(), 'en', printing).confidential).toMatch(/^CONFIDENTIAL .*child protection data.*information-sharing protocol/);
    expect(printDoc(record(), 'fr', printing).confidential).toMatch(/^CONFIDENTIEL .*protection de l’enfance.*protocole de partage d’informations/);
    expect(printDoc(record(), 'ar', printing).confidential).toMatch(/^سرّي .*حماية الطفل.*بروتوكول تبادل المعلومات/);
  });

  it('reads right to left in Arabic only', () => {
    expect(printDoc(record(), 'ar', printing).dir).toBe('rtl');
    expect(printDoc(record(), 'en', printing).dir).toBe('ltr');
    expect(printDoc(record(), 'fr', printing).dir).toBe('ltr');
  });

  it('holds the record in sections, in the order the detail view shows it', () => {
    const doc = printDoc(record(), 'en', printing);
    expect(doc.sections.map((s) => s.id)).toEqual(['record', 'location', 'narrative', 'review', 'violations', 'sources', 'history']);
    expect(doc.sections.map((s) => s.heading)).toEqual([
      'Incident',
      'Location',
      'Narrative',
      'Review',
      'Violations and verification',
      'Sources',
      'History',
    ]);
    expect(fields(section(doc, 'record').items)).toMatchObject({
      'Occurred on': '20 Nov 2026',
      'Date known to the': 'day',
      'Reported on': '21 Nov 2026',
      'Recorded by': 'Awa D.',
      Team: 'Goma',
      'Record id': '01a221ae-9922-73b9-8373-00290670f053',
    });
    expect(fields(section(doc, 'location').items)).toEqual({
      'Province / region': 'North Kivu',
      'Territory / district': 'Rutshuru',
      Place: 'Kiwanja',
      Coordinates: '-1.2345, 29.4567',
    });
    expect(text(section(doc, 'narrative').items)).toBe('Fictional: armed men attacked the village at dawn.');
    expect(fields(section(doc, 'review').items)).toEqual({ 'Review state': 'Submitted' });
    expect(text(section(doc, 'review').items)).toContain('Awa D.: Please check the date.');
  });

  it('gives each violation its block, numbered in id order as the detail view numbers them, with its verification', () => {
    const doc = printDoc(record(), 'en', printing);
    const [killing, abduction] = blocks(section(doc, 'violations').items) as Extract<PrintItem, { kind: 'block' }>[];
    expect(killing.heading).toBe('1. Killing');
    expect(killing.withdrawn).toBe(false);
    expect(fields(killing.items)).toEqual({
      Type: 'Killing',
      Status: 'Verified',
      Children: 'Boys 2, girls 0, sex unknown 1',
      'Coded victims': 'V-014 · Boy · age 12',
      'Perpetrator party': 'Group Alpha',
      'Perpetrator category': 'Armed group',
      'Weapon or cause': 'Small arms (rifles, pistols)',
    });
    const [verification] = blocks(killing.items) as Extract<PrintItem, { kind: 'block' }>[];
    expect(verification.heading).toBe('Verification 1');
    expect(fields(verification.items)).toMatchObject({
      Status: 'Verified',
      'Tier of the decision': 'Technical review',
      By: 'Reviewer R.',
      Note: 'Two eyewitnesses and the clinic register agree.',
      'Sources counted': '1 primary, 1 secondary source(s)',
      'Sources cited': '1. Eyewitness, 2. Medical',
    });
    // In the laptop's own time zone, which may be a day off UTC.
    expect(fields(verification.items).Date).toMatch(/^2[123] Nov 2026, \d\d:\d\d$/);

    expect(abduction.heading).toBe('2. Abduction');
    expect(abduction.withdrawn).toBe(true);
    expect(fields(abduction.items)).toMatchObject({
      Type: 'Abduction',
      'Perpetrator party': '—',
      'Perpetrator category': 'Unknown',
      'Purpose of the abduction': 'Recruitment and use',
    });
    expect(fields(abduction.items).Withdrawn).toMatch(/^Withdrawn by Reviewer R\., .* · reason: recorded twice$/);
    expect(text(abduction.items)).toContain('not counted in the figures');
  });

  it('lists the sources and the history in words', () => {
    const doc = printDoc(record(), 'en', printing);
    expect(text(section(doc, 'sources').items)).toBe('1. Eyewitness · consent given 2. Medical · no consent · Clinic register');
    const history = section(doc, 'history').items[0] as Extract<PrintItem, { kind: 'list' }>;
    expect(history.lines).toHaveLength(3);
    expect(history.lines[0].text).toMatch(/Awa D\. · incident recorded$/);
    expect(history.lines[1].sub).toEqual(['Place: Kiwanj → Kiwanja']);
    expect(history.lines[2].text).toMatch(/Reviewer R\. · verification recorded$/);
  });

  it('says conflicts and what needs attention when the record has them', () => {
    const d = record();
    d.conflicts = [
      {
        path: 'title',
        values: [
          { value: 'Attack', by: 'Awa D.', at: '2026-11-22T10:00:00Z', change: 'c1' },
          { value: 'Raid', by: 'Reviewer R.', at: '2026-11-22T10:05:00Z', change: 'c2' },
        ],
      },
    ];
    d.attention = [{ field: 'occurred_on', message: '', code: 'in_future', params: { date: '2099-01-01' } }];
    const doc = printDoc(d, 'en', printing);
    expect(doc.sections.map((s) => s.id)).toEqual([
      'record',
      'location',
      'narrative',
      'attention',
      'conflicts',
      'review',
      'violations',
      'sources',
      'history',
    ]);
    expect(text(section(doc, 'attention').items)).toBe('Occurred on: 2099-01-01 is in the future');
    expect(text(section(doc, 'conflicts').items)).toMatch(/^Title Attack \(by Awa D\., .*\) Raid \(by Reviewer R\., .*\)$/);
  });

  it('labels everything in French and Arabic', () => {
    const want: Record<Lang, string[]> = {
      en: ['Killing', 'Abduction', 'Verification 1', 'Province / region', 'Small arms (rifles, pistols)'],
      fr: ['Meurtre', 'Enlèvement', 'Vérification 1', 'Province / région', 'Armes légères individuelles (fusils, pistolets)'],
      ar: ['القتل', 'الاختطاف', 'التحقق 1', 'المقاطعة / الإقليم', 'أسلحة صغيرة (بنادق، مسدسات)'],
    };
    for (const lang of LANGUAGES) {
      const doc = printDoc(record(), lang, printing);
      const page = all(doc);
      for (const w of want[lang]) expect(page, `${lang}: ${w}`).toContain(w);
      const [killing, abduction] = blocks(section(doc, 'violations').items) as Extract<PrintItem, { kind: 'block' }>[];
      expect(killing.heading).toBe(`1. ${translate(lang, 'type.killing')}`);
      expect(abduction.heading).toBe(`2. ${translate(lang, 'type.abduction')}`);
      expect(section(doc, 'violations').heading).toBe(translate(lang, 'detail.violations'));
      expect(section(doc, 'history').heading).toBe(translate(lang, 'detail.history'));
      const keys = ['form.type', 'case.status', 'print.children', 'form.party', 'vd.weapon'];
      for (const k of keys) expect(Object.keys(fields(killing.items)), `${lang} ${k}`).toContain(translate(lang, k));
    }
  });

  it('keeps names and values in their own order inside an Arabic line', () => {
    const doc = printDoc(record(), 'ar', printing);
    const history = section(doc, 'history').items[0] as Extract<PrintItem, { kind: 'list' }>;
    expect(history.lines[1].sub[0]).toBe(`${translate('ar', 'form.place')}: \u2068Kiwanj\u2069 ← \u2068Kiwanja\u2069`);
    expect(doc.printed).toContain('\u2068Awa D.\u2069');
    const [killing] = blocks(section(doc, 'violations').items) as Extract<PrintItem, { kind: 'block' }>[];
    expect(fields(killing.items)[translate('ar', 'form.party')]).toBe('\u2068Group Alpha\u2069');
    expect(fields(killing.items)[translate('ar', 'print.coded')]).toBe('\u2068V-014\u2069 · فتى · العمر 12');
    expect(fields(section(doc, 'location').items)[translate('ar', 'form.place')]).toBe('\u2068Kiwanja\u2069');
    // Nothing typed, nothing isolated: the dash stays a dash.
    const abduction = (blocks(section(doc, 'violations').items) as Extract<PrintItem, { kind: 'block' }>[])[1];
    expect(fields(abduction.items)[translate('ar', 'form.party')]).toBe('—');
  });
});
