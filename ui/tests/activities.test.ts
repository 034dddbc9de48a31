import { describe, expect, it } from 'vitest';
import { activityForm, activityPatch, activityProblems, emptyActivity, fieldsOf, type ActivityRecord } from '../src/lib/activities';

const TODAY = '2026-11-28';

describe('activities', () => {
  it('builds each kind’s form from the store’s table', () => {
    expect(fieldsOf('release').map((f) => f.key)).toContain('instrument');
    expect(fieldsOf('training').find((f) => f.key === 'participants')?.shape).toBe('by_sex');
    const f = emptyActivity('training', TODAY);
    expect(f.date).toBe(TODAY);
    expect(f['participants.female']).toBe('');
  });

  it('checks required fields, dates, counts and a release’s children as the store does', () => {
    const f = emptyActivity('release', TODAY);
    const e = activityProblems('release', f, TODAY);
    expect(e.place).toBe('err.required');
    expect(e.party).toBe('err.required');
    expect(e.boys).toBe('act.err_no_child');
    f.date = '2027-01-01';
    f.boys = 'three';
    expect(activityProblems('release', f, TODAY).date).toBe('err.future');
    expect(activityProblems('release', f, TODAY).boys).toBe('err.count');
    const t = emptyActivity('training', TODAY);
    t['participants.male'] = '-2';
    expect(activityProblems('training', t, TODAY)['participants.male']).toBe('err.count');
  });

  it('sends a new record’s values typed, then only what changed, null clearing', () => {
    const f = emptyActivity('training', TODAY);
    Object.assign(f, { place: 'Goma', audience: 'police', topic: 'CP', training_of_trainers: 'true', 'participants.male': '12' });
    expect(activityPatch('training', null, f)).toEqual({
      date: TODAY,
      place: 'Goma',
      audience: 'police',
      topic: 'CP',
      training_of_trainers: true,
      participants: { male: 12 },
    });
    const stored: ActivityRecord = {
      id: 'x', record: 'training', team: 'Goma', created_by: 'A',
      date: TODAY, place: 'Goma', audience: 'police', topic: 'CP', participants: { male: 12 },
    };
    const base = activityForm('training', stored);
    const cur = activityForm('training', stored);
    expect(activityPatch('training', base, cur)).toBeNull();
    cur.place = '';
    cur['participants.female'] = '3';
    expect(activityPatch('training', base, cur)).toEqual({ place: null, participants: { female: 3 } });
  });
});
