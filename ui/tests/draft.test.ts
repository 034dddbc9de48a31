import { describe, expect, it } from 'vitest';
import { emptyForm } from '../src/lib/form';
import { isBlank, keepDraft, takeDraft } from '../src/lib/draft';

describe('unsaved drafts', () => {
  it('keeps a started incident once, for the same patrol, and forgets a blank one', () => {
    const blank = emptyForm('2026-11-28');
    expect(isBlank(blank)).toBe(true);
    keepDraft(blank);
    expect(takeDraft('')).toBeNull();

    const started = emptyForm('2026-11-28', 'p1');
    started.narrative = 'Armed men came at dawn';
    expect(isBlank(started)).toBe(false);
    keepDraft(started);
    expect(takeDraft('')).toBeNull();
    expect(takeDraft('p1')).toBe(started);
    expect(takeDraft('p1')).toBeNull();
  });
});
