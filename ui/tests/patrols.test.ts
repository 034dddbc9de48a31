import { describe, expect, it } from 'vitest';
import { endStamp, mayManagePatrol, splitPatrols } from '../src/lib/patrols';
import type { PatrolRow } from '../src/lib/api';

const row = (id: string, date: string, ended_at: string | null, team = 'Goma-1'): PatrolRow => ({
  id,
  date,
  team,
  route: [],
  participants: [],
  ended_at,
  incidents: 0,
});

describe('the patrol log', () => {
  it('lists every open patrol, newest first, apart from past ones, last ended first', () => {
    const rows = [
      row('a', '2026-11-01', '2026-11-01T16:00:00Z'),
      row('b', '2026-11-20', null),
      row('c', '2026-11-10', '2026-11-12T09:00:00Z'),
      row('d', '2026-11-25', null, 'Goma-2'),
      row('e', '2026-11-05', '2026-11-05T17:00:00+01:00'),
    ];
    const { open, past } = splitPatrols(rows);
    expect(open.map((p) => p.id)).toEqual(['d', 'b']);
    expect(past.map((p) => p.id)).toEqual(['c', 'e', 'a']);
  });

  it('ends a patrol at the current second in UTC', () => {
    expect(endStamp(new Date('2026-11-28T14:03:07.654Z'))).toBe('2026-11-28T14:03:07Z');
  });

  it('lets an officer manage only the patrols of the team, and a reviewer none', () => {
    expect(mayManagePatrol({ team: 'Goma-1' }, 'Goma-1', 'officer')).toBe(true);
    expect(mayManagePatrol({ team: 'Goma-2' }, 'Goma-1', 'officer')).toBe(false);
    expect(mayManagePatrol({ team: 'Goma-1' }, 'Goma-1', 'reviewer')).toBe(false);
    const caps = {
      record_incidents: true,
      record_patrols: true,
      edit_other_teams: true,
      statuses: [],
      accept_and_return: false,
      move_team: false,
      close_periods: false,
    };
    expect(mayManagePatrol({ team: 'Goma-2' }, 'Goma-1', 'officer', caps)).toBe(true);
    expect(mayManagePatrol({ team: 'Goma-1' }, 'Goma-1', 'officer', { ...caps, record_patrols: false })).toBe(false);
  });
});
