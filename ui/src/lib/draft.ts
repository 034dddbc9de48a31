// What an officer typed that cannot be saved as a record yet (a required field missing, a date
// still wrong) is kept as a draft, sealed in the store (crdt/src/store/drafts.rs), so that leaving
// the form, a lock, the auto-lock, a crash or a restart never loses it. A draft never syncs.
import { api } from './api';
import { isBlank, type IncidentForm } from './form';

export { isBlank };

/** The draft's name: one per incident being edited, one per patrol for a new incident. */
export function draftKey(id: string | null | undefined, patrolId: string | null | undefined): string {
  return id ? `edit:${id}` : `new:${patrolId ?? ''}`;
}

/** Keep `f` as the draft `key` (a blank form keeps nothing and forgets what was kept). */
export async function keepDraft(key: string, f: IncidentForm): Promise<void> {
  if (isBlank(f)) return dropDraft(key);
  await api.saveDraft(key, f);
}

/** The draft kept under `key`, if any and if it looks like a form. */
export async function loadDraft(key: string): Promise<IncidentForm | null> {
  const d = await api.getDraft(key);
  const form = d?.form as IncidentForm | undefined;
  if (!form || typeof form !== 'object' || !Array.isArray(form.violations) || !Array.isArray(form.sources)) return null;
  return isBlank(form) ? null : form;
}

/** Forget the draft `key` (saved as a record, or discarded). */
export async function dropDraft(key: string): Promise<void> {
  await api.discardDraft(key);
}
