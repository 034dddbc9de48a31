// A new incident that could not be saved yet (a required field missing) is kept in memory when
// the user leaves the form, and offered again next time: switching screens never loses typing.
// It is never written to disk: only valid records are stored, in the store.
import type { IncidentForm } from './form';

let draft: IncidentForm | null = null;

/** Whether the user typed nothing worth keeping. */
export function isBlank(f: IncidentForm): boolean {
  return (
    !f.title.trim() &&
    !f.narrative.trim() &&
    !f.admin1.trim() &&
    !f.place.trim() &&
    f.sources.length === 0 &&
    f.violations.every((v) => !v.type && !v.party.trim() && v.coded.length === 0)
  );
}

export function keepDraft(f: IncidentForm): void {
  draft = isBlank(f) ? null : f;
}

/** The kept draft (once), if it belongs to the same patrol (or none). */
export function takeDraft(patrolId: string): IncidentForm | null {
  const d = draft;
  if (!d || d.patrol_id !== patrolId) return null;
  draft = null;
  return d;
}

/** Forget the kept draft (the app locked: nothing typed may stay in memory). */
export function clearDraft(): void {
  draft = null;
}
