// The mission's party registry (the configuration's `party_registry`, mrm_crdt::parties) as the
// incident form uses it: every name a party goes by to suggest, and the perpetrator category a
// known party implies. The store matches a typed name to its party's id when it saves
// (`link_parties`); this only spares the officer choosing what the registry already says.

/** A party as the configuration lists it. */
export interface RegistryParty {
  id: string;
  name: string;
  category: string;
  aliases?: string[];
}

/** Names compared as the registry compares them: trimmed, case and spacing aside. */
const key = (s: string) => s.trim().replace(/\s+/g, ' ').toLocaleLowerCase();

/** Every name to suggest: each party's current name, then its other names, then the mission's
 * plain list; each once. */
export function partyNames(registry: RegistryParty[] | undefined, listed: string[] | undefined): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (n: string) => {
    if (n.trim() && !seen.has(key(n))) {
      seen.add(key(n));
      out.push(n);
    }
  };
  for (const p of registry ?? []) add(p.name);
  for (const p of registry ?? []) for (const a of p.aliases ?? []) add(a);
  for (const n of listed ?? []) add(n);
  return out;
}

/** The perpetrator category (`armed_force`, `armed_group`) of the party `typed` names, by its
 * name or another name it went by; null for a name the registry does not know, or a party of
 * another kind. */
export function partyCategory(registry: RegistryParty[] | undefined, typed: string): string | null {
  const k = key(typed);
  if (!k) return null;
  const p = (registry ?? []).find((q) => key(q.name) === k || (q.aliases ?? []).some((a) => key(a) === k));
  if (p?.category === 'state_armed_force') return 'armed_force';
  if (p?.category === 'non_state_armed_group') return 'armed_group';
  return null;
}
