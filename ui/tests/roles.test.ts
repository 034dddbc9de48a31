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

describe('capabilities from the one policy', () => {
  it('decide over the role when the app has them', () => {
    const caps = {
      record_incidents: true,
      record_patrols: false,
      edit_other_teams: true,
      statuses: ['reported', 'verified'],
      accept_and_return: true,
      move_team: true,
      close_periods: true,
    };
    // A role name the UI would read as an officer's, with a reviewer's capabilities.
    expect(allowedStatuses('officer', caps)).toEqual(['reported', 'verified']);
    expect(mayDecide('officer', caps)).toBe(true);
    expect(mayRecordPatrols('officer', caps)).toBe(false);
    expect(mayRecordPatrols('officer', null)).toBe(true);
  });
});
