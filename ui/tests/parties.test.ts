import { describe, expect, it } from 'vitest';
import { partyCategory, partyNames, type RegistryParty } from '../src/lib/parties';

// As `make run`'s demo mission lists them.
const registry: RegistryParty[] = [
  { id: 'national-army', name: 'National Army', category: 'state_armed_force' },
  { id: 'group-alpha', name: 'Group Alpha', category: 'non_state_armed_group', aliases: ['Alpha Front'] },
  { id: 'other', name: 'Crossfire of unknown groups', category: 'other' },
];

describe("the mission's party registry in the form", () => {
  it('suggests every name a party goes by, each once, then the plain list', () => {
    expect(partyNames(registry, ['Group Alpha', 'group  alpha', 'Group Bravo'])).toEqual([
      'National Army',
      'Group Alpha',
      'Crossfire of unknown groups',
      'Alpha Front',
      'Group Bravo',
    ]);
    expect(partyNames(undefined, undefined)).toEqual([]);
  });

  it("gives a known party's category, by its name or another name, whatever the case", () => {
    expect(partyCategory(registry, 'National Army')).toBe('armed_force');
    expect(partyCategory(registry, ' alpha  FRONT ')).toBe('armed_group');
    expect(partyCategory(registry, 'Group Zulu')).toBe(null);
    expect(partyCategory(registry, 'Crossfire of unknown groups')).toBe(null);
    expect(partyCategory(registry, '')).toBe(null);
    expect(partyCategory(undefined, 'Group Alpha')).toBe(null);
  });
});
