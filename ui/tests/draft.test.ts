import { beforeEach, describe, expect, it, vi } from 'vitest';
import { emptyForm } from '../src/lib/form';

// The store's draft commands, as a map: what the backend keeps sealed on disk.
const kept = new Map<string, unknown>();
vi.mock('../src/lib/api', () => ({
  api: {
    saveDraft: vi.fn(async (key: string, form: unknown) => {
      kept.set(key, JSON.parse(JSON.stringify(form)));
    }),
    getDraft: vi.fn(async (key: string) =>
      kept.has(key) ? { key, saved_at: '2026-11-30T07:00:00Z', form: kept.get(key) } : null,
    ),
    discardDraft: vi.fn(async (key: string) => {
      kept.delete(key);
    }),
  },
}));

const { draftKey, dropDraft, isBlank, keepDraft, loadDraft } = await import('../src/lib/draft');

describe('drafts kept in the store', () => {
  beforeEach(() => kept.clear());

  it('names one draft per incident being edited and one per patrol for a new incident', () => {
    expect(draftKey('i1', 'p1')).toBe('edit:i1');
    expect(draftKey(null, 'p1')).toBe('new:p1');
    expect(draftKey(undefined, undefined)).toBe('new:');
  });

  it('keeps a started incident, gives it back as typed, and forgets it when dropped', async () => {
    const started = emptyForm('2026-11-28', 'p1');
    started.narrative = 'Armed men came at dawn';
    expect(isBlank(started)).toBe(false);
    await keepDraft('new:p1', started);
    expect(await loadDraft('new:p2')).toBeNull();
    expect(await loadDraft('new:p1')).toEqual(started);
    await dropDraft('new:p1');
    expect(await loadDraft('new:p1')).toBeNull();
  });

  it('keeps nothing of a blank form, and a blank form forgets what was kept', async () => {
    const started = emptyForm('2026-11-28');
    started.title = 'Attack';
    await keepDraft('new:', started);
    await keepDraft('new:', emptyForm('2026-11-28'));
    expect(kept.has('new:')).toBe(false);
  });

  it('keeps a province and district chosen from the lists, and one the lists have since lost', async () => {
    const { districtOptions, provinceOptions } = await import('../src/lib/areas');
    const started = emptyForm('2026-11-28');
    started.admin1 = 'North Kivu';
    started.admin2 = 'Masisi';
    expect(isBlank(started)).toBe(false);
    await keepDraft('new:', started);
    const back = (await loadDraft('new:'))!;
    expect([back.admin1, back.admin2]).toEqual(['North Kivu', 'Masisi']);
    // The mission's lists changed before the draft came back: its values are still offered.
    const areas = { 'Nord-Kivu': ['Rutshuru'] };
    expect(provinceOptions(areas, back.admin1)).toContainEqual({ value: 'North Kivu', listed: false });
    expect(districtOptions(areas, back.admin1, back.admin2)).toBeNull();
  });

  it('ignores a kept value that is not a form', async () => {
    kept.set('new:', { title: 'no lists' });
    expect(await loadDraft('new:')).toBeNull();
  });
});
