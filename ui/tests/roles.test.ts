import { describe, expect, it } from 'vitest';
import { allowedStatuses, mayDecide, mayRecordPatrols } from '../src/lib/vocab';

describe('what each role is offered', () => {
  it('keeps deciding statuses and decisions for reviewers, patrols for officers', () => {
    expect(allowedStatuses('officer')).toEqual(['reported', 'pending_verification']);
    expect(allowedStatuses('reviewer')).toContain('verified');
    expect(allowedStatuses(null)).toContain('did_not_occur');
    expect(mayDecide('officer')).toBe(false);
    expect(mayDecide('reviewer')).toBe(true);
    expect(mayRecordPatrols('officer')).toBe(true);
    expect(mayRecordPatrols(null)).toBe(true);
    expect(mayRecordPatrols('reviewer')).toBe(false);
  });
});
