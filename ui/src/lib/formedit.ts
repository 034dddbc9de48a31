// Editing the incident form from the keyboard, kept pure for tests: removing a row with an undo,
// whether the form holds work not saved yet (Esc never closes it then), the form's shortcuts,
// and the ids that tie a field to its message for screen readers.
import {
  isBlank,
  toPatch,
  type CodedForm,
  type Hidden,
  type IncidentForm,
  type SourceForm,
  type ViolationForm,
} from './form';

/** A row removed from the form, with where it was: enough to put it back at its place. */
export type Removal =
  | { kind: 'violation'; index: number; item: ViolationForm }
  | { kind: 'source'; index: number; item: SourceForm }
  | { kind: 'coded'; parent: string; index: number; item: CodedForm };

/** Remove row `index` of a list of `f` (a coded victim: of violation `parent`); what was removed,
 * or null when there is no such row. Mutates `f`. */
export function removeRow(
  f: IncidentForm,
  kind: Removal['kind'],
  index: number,
  parent?: string,
): Removal | null {
  if (kind === 'violation') {
    const [item] = index >= 0 ? f.violations.splice(index, 1) : [];
    return item ? { kind, index, item } : null;
  }
  if (kind === 'source') {
    const [item] = index >= 0 ? f.sources.splice(index, 1) : [];
    return item ? { kind, index, item } : null;
  }
  const v = f.violations.find((x) => x.id === parent);
  const [item] = v && index >= 0 ? v.coded.splice(index, 1) : [];
  return v && item ? { kind, parent: v.id, index, item } : null;
}

/** The list of `f` a removal belongs to (null when its violation is gone). */
function listOf(f: IncidentForm, r: Removal): { id: string }[] | null {
  if (r.kind === 'violation') return f.violations;
  if (r.kind === 'source') return f.sources;
  return f.violations.find((v) => v.id === r.parent)?.coded ?? null;
}

/** Put a removed row back at its place (at the end when the list has become shorter). False when
 * it cannot go back: its violation is gone, or the row is already there. Mutates `f`. */
export function undoRemoval(f: IncidentForm, r: Removal): boolean {
  const list = listOf(f, r);
  if (!list || list.some((x) => x.id === r.item.id)) return false;
  list.splice(Math.min(Math.max(0, r.index), list.length), 0, r.item);
  return true;
}

/** Where the undo notice of `r` goes in a list of `kind` now `length` long (for coded victims:
 * of violation `parent`): the place the row had (the end when the list is now shorter), or null
 * when `r` is not of that list. */
export function undoSlot(
  r: Removal | null,
  kind: Removal['kind'],
  length: number,
  parent?: string,
): number | null {
  if (!r || r.kind !== kind) return null;
  if (r.kind === 'coded' && r.parent !== parent) return null;
  return Math.min(Math.max(0, r.index), length);
}

/**
 * What to save while a removal can still be undone: `cur` with the stored version of the removed
 * row (as `base` holds it) back at its place, so an autosave does not withdraw it from the record
 * before the officer moved on. A row the store never had (`base` lacks it) is simply left out.
 * Returns `cur` itself when nothing is held; never mutates it.
 */
export function holdRemoval(base: IncidentForm | null, cur: IncidentForm, r: Removal | null): IncidentForm {
  if (!base || !r) return cur;
  let stored: { id: string } | undefined;
  if (r.kind === 'violation') stored = base.violations.find((v) => v.id === r.item.id);
  else if (r.kind === 'source') stored = base.sources.find((s) => s.id === r.item.id);
  else stored = base.violations.find((v) => v.id === r.parent)?.coded.find((c) => c.id === r.item.id);
  if (!stored) return cur;
  const out = structuredClone(cur);
  const list = listOf(out, r);
  if (!list || list.some((x) => x.id === r.item.id)) return cur;
  list.splice(Math.min(Math.max(0, r.index), list.length), 0, structuredClone(stored));
  return out;
}

/** The rows left out of the form as the store counts them, with a held violation or source
 * (`holdRemoval` returned `held` other than `cur`), so a store message numbered over the record
 * still lands on the right row of the form. */
export function hiddenWithHeld(hidden: Hidden, r: Removal | null, held: IncidentForm, cur: IncidentForm): Hidden {
  if (!r || held === cur || r.kind === 'coded') return hidden;
  if (r.kind === 'violation') return { ...hidden, violations: [...hidden.violations, r.item.id] };
  return { ...hidden, sources: [...hidden.sources, r.item.id] };
}

/**
 * Whether the form holds work the store does not: a new incident with anything typed and not
 * saved yet, a change since the last save, or a removal still offered for undo. Esc closes the
 * form only when this is false.
 */
export function hasUnsavedWork(base: IncidentForm | null, cur: IncidentForm, pending: Removal | null): boolean {
  if (!base) return !isBlank(cur);
  if (pending && holdRemoval(base, cur, pending) !== cur) return true;
  return toPatch(base, cur) !== null;
}

export type FormKey = 'save' | 'add_violation' | 'escape' | null;

/** What a key pressed in the form does: Ctrl+S (Cmd+S) and Ctrl+Enter (Cmd+Enter) save, Alt+V
 * adds a violation, Esc asks to close. */
export function formKeyAction(e: {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  shiftKey?: boolean;
}): FormKey {
  const mod = e.ctrlKey || e.metaKey;
  if (mod && !e.altKey && (e.key.toLowerCase() === 's' || e.key === 'Enter')) return 'save';
  if (e.altKey && !mod && e.key.toLowerCase() === 'v') return 'add_violation';
  if (e.key === 'Escape' && !mod && !e.altKey) return 'escape';
  return null;
}

/** The id of the message of field `path` (`violations[2].type` → `err-violations_2_.type`). */
export function errorId(path: string): string {
  return `err-${path.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
}

/** An `aria-describedby` value of the ids given (false ones left out), or none. */
export function describedBy(...ids: (string | false | null | undefined)[]): string | undefined {
  return ids.filter(Boolean).join(' ') || undefined;
}

/** The attributes that tie field `path` to its message when `shown`. */
export function fieldAria(path: string, shown: boolean): { 'aria-invalid': boolean; 'aria-describedby': string | undefined } {
  return { 'aria-invalid': shown, 'aria-describedby': shown ? errorId(path) : undefined };
}

/**
 * The field to focus for a message on `path`: a message on a violation's victims as a whole sits
 * under its boys count.
 */
export function focusPath(path: string): string {
  return /^violations\[\d+\]\.victims$/.test(path) ? `${path}.boys` : path;
}
