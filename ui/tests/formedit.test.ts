import { describe, expect, it } from 'vitest';
import { emptyForm, newCoded, newSource, newViolation, toPatch, type IncidentForm } from '../src/lib/form';
import {
  describedBy,
  errorId,
  fieldAria,
  focusPath,
  formKeyAction,
  hasUnsavedWork,
  hiddenWithHeld,
  holdRemoval,
  removeRow,
  undoRemoval,
  undoSlot,
} from '../src/lib/formedit';

const TODAY = '2026-11-28';

/** A valid form with three violations (the second with two coded victims) and two sources. */
function filled(): IncidentForm {
  const f = emptyForm(TODAY);
  f.title = 'Attack on a village';
  f.admin1 = 'North Kivu';
  f.violations = [newViolation(), newViolation(), newViolation()];
  f.violations.forEach((v, i) => {
    v.type = 'killing';
    v.boys = String(i + 2);
  });
  f.violations[1].coded = [newCoded(), newCoded()];
  f.violations[1].coded.forEach((c, i) => {
    c.code = `V-00${i + 1}`;
    c.sex = 'boy';
  });
  f.sources = [newSource(), newSource()];
  f.sources.forEach((s) => (s.kind = 'eyewitness'));
  return f;
}

const ids = (xs: { id: string }[]) => xs.map((x) => x.id);

describe('removing a row and undoing it', () => {
  it('puts a violation back at its place', () => {
    const f = filled();
    const before = ids(f.violations);
    const r = removeRow(f, 'violation', 1);
    expect(r?.item.id).toBe(before[1]);
    expect(ids(f.violations)).toEqual([before[0], before[2]]);
    expect(undoRemoval(f, r!)).toBe(true);
    expect(ids(f.violations)).toEqual(before);
    // The same row cannot come back twice.
    expect(undoRemoval(f, r!)).toBe(false);
    expect(ids(f.violations)).toEqual(before);
  });

  it('puts a source back at its place, and at the end when the list got shorter', () => {
    const f = filled();
    const before = ids(f.sources);
    const r = removeRow(f, 'source', 1)!;
    expect(ids(f.sources)).toEqual([before[0]]);
    f.sources.splice(0, 1);
    expect(undoRemoval(f, r)).toBe(true);
    expect(ids(f.sources)).toEqual([before[1]]);
  });

  it('puts a coded victim back in its violation, unless that violation is gone', () => {
    const f = filled();
    const v = f.violations[1];
    const before = ids(v.coded);
    const r = removeRow(f, 'coded', 0, v.id)!;
    expect(ids(v.coded)).toEqual([before[1]]);
    expect(undoRemoval(f, r)).toBe(true);
    expect(ids(v.coded)).toEqual(before);

    const again = removeRow(f, 'coded', 1, v.id)!;
    f.violations.splice(1, 1);
    expect(undoRemoval(f, again)).toBe(false);
  });

  it('removes nothing that is not there', () => {
    const f = filled();
    expect(removeRow(f, 'violation', 7)).toBeNull();
    expect(removeRow(f, 'source', -1)).toBeNull();
    expect(removeRow(f, 'coded', 0, 'no-such-violation')).toBeNull();
    expect(f.violations).toHaveLength(3);
  });

  it('shows the undo notice where the row was', () => {
    const f = filled();
    const r = removeRow(f, 'violation', 1)!;
    expect(undoSlot(r, 'violation', f.violations.length)).toBe(1);
    expect(undoSlot(r, 'source', f.sources.length)).toBeNull();
    expect(undoSlot(null, 'violation', 3)).toBeNull();
    expect(undoSlot({ ...r, index: 5 }, 'violation', 2)).toBe(2);
    const g = filled();
    expect(removeRow(g, 'coded', 0, g.violations[0].id)).toBeNull();
    const coded = removeRow(g, 'coded', 1, g.violations[1].id)!;
    expect(undoSlot(coded, 'coded', 1, g.violations[1].id)).toBe(1);
    expect(undoSlot(coded, 'coded', 0, g.violations[0].id)).toBeNull();
    expect(undoSlot(coded, 'violation', 3)).toBeNull();
  });
});

describe('a removal offered for undo is not saved yet', () => {
  it('keeps a stored violation in the record until the removal is final', () => {
    const base = structuredClone(filled());
    const cur = structuredClone(base);
    // The officer changed the violation before removing it: the stored version is held.
    cur.violations[1].boys = '99';
    const r = removeRow(cur, 'violation', 1)!;
    const held = holdRemoval(base, cur, r);
    expect(held).not.toBe(cur);
    expect(cur.violations).toHaveLength(2);
    expect(toPatch(base, held)).toBeNull();
    expect(held.violations[1]).toEqual(base.violations[1]);
    // Final (next removal, explicit save): the violation is withdrawn.
    expect(toPatch(base, cur)?.remove).toEqual([base.violations[1].id]);
  });

  it('holds a stored coded victim and a stored source the same way', () => {
    const base = structuredClone(filled());
    const cur = structuredClone(base);
    const c = removeRow(cur, 'coded', 0, cur.violations[1].id)!;
    expect(toPatch(base, holdRemoval(base, cur, c))).toBeNull();
    const cur2 = structuredClone(base);
    const s = removeRow(cur2, 'source', 0)!;
    expect(toPatch(base, holdRemoval(base, cur2, s))).toBeNull();
    expect(toPatch(base, cur2)?.remove).toEqual([base.sources[0].id]);
  });

  it('numbers store messages over the record with the held row', () => {
    const base = structuredClone(filled());
    const cur = structuredClone(base);
    const r = removeRow(cur, 'violation', 0)!;
    const held = holdRemoval(base, cur, r);
    const hidden = { violations: ['w1'], sources: [] };
    expect(hiddenWithHeld(hidden, r, held, cur)).toEqual({ violations: ['w1', r.item.id], sources: [] });
    expect(hiddenWithHeld(hidden, r, cur, cur)).toBe(hidden);
    expect(hiddenWithHeld(hidden, null, held, cur)).toBe(hidden);
    const s = removeRow(cur, 'source', 0)!;
    expect(hiddenWithHeld(hidden, s, holdRemoval(base, cur, s), cur).sources).toEqual([s.item.id]);
  });

  it('holds nothing the store never had', () => {
    const base = structuredClone(filled());
    const cur = structuredClone(base);
    cur.violations.push(newViolation());
    const r = removeRow(cur, 'violation', 3)!;
    expect(holdRemoval(base, cur, r)).toBe(cur);
    expect(holdRemoval(null, cur, r)).toBe(cur);
    expect(holdRemoval(base, cur, null)).toBe(cur);
  });
});

describe('unsaved work (Esc never closes the form over it)', () => {
  it('is anything typed in a new incident', () => {
    const f = emptyForm(TODAY);
    expect(hasUnsavedWork(null, f, null)).toBe(false);
    f.narrative = 'Armed men came at dawn.';
    expect(hasUnsavedWork(null, f, null)).toBe(true);
  });

  it('is a change since the last save, or a stored row removed and not yet final', () => {
    const base = structuredClone(filled());
    const cur = structuredClone(base);
    expect(hasUnsavedWork(base, cur, null)).toBe(false);
    cur.place = 'Kiwanja';
    expect(hasUnsavedWork(base, cur, null)).toBe(true);
    const cur2 = structuredClone(base);
    const r = removeRow(cur2, 'source', 1)!;
    expect(hasUnsavedWork(base, cur2, r)).toBe(true);
    undoRemoval(cur2, r);
    expect(hasUnsavedWork(base, cur2, null)).toBe(false);
  });
});

describe('form keys', () => {
  const k = (key: string, m: Partial<{ ctrlKey: boolean; metaKey: boolean; altKey: boolean }> = {}) => ({
    key,
    ctrlKey: false,
    metaKey: false,
    altKey: false,
    ...m,
  });
  it('save with Ctrl+S, Cmd+S, Ctrl+Enter and Cmd+Enter', () => {
    expect(formKeyAction(k('s', { ctrlKey: true }))).toBe('save');
    expect(formKeyAction(k('S', { metaKey: true }))).toBe('save');
    expect(formKeyAction(k('Enter', { ctrlKey: true }))).toBe('save');
    expect(formKeyAction(k('Enter', { metaKey: true }))).toBe('save');
    expect(formKeyAction(k('Enter'))).toBeNull();
    expect(formKeyAction(k('s'))).toBeNull();
  });
  it('add a violation with Alt+V and ask to close with Esc', () => {
    expect(formKeyAction(k('v', { altKey: true }))).toBe('add_violation');
    expect(formKeyAction(k('Escape'))).toBe('escape');
    expect(formKeyAction(k('Escape', { ctrlKey: true }))).toBeNull();
  });
});

describe('messages tied to their fields', () => {
  it('give each message an id the field points at only while it shows', () => {
    expect(errorId('title')).toBe('err-title');
    expect(errorId('violations[2].victims.boys')).toBe('err-violations_2_.victims.boys');
    expect(fieldAria('title', true)).toEqual({ 'aria-invalid': true, 'aria-describedby': 'err-title' });
    expect(fieldAria('title', false)).toEqual({ 'aria-invalid': false, 'aria-describedby': undefined });
    expect(describedBy('a', false, null, 'b')).toBe('a b');
    expect(describedBy(false)).toBeUndefined();
  });
  it('focus the boys count for a message on a violation as a whole', () => {
    expect(focusPath('violations[1].victims')).toBe('violations[1].victims.boys');
    expect(focusPath('violations[1].type')).toBe('violations[1].type');
  });
});
