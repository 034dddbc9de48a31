// Every keyboard shortcut of the app, in one list: the handlers read it and the "Keyboard
// shortcuts" panel shows it, so the panel cannot forget one. Kept pure for tests.

/** Where a shortcut works. */
export type Scope = 'app' | 'form' | 'caseload' | 'detail' | 'print' | 'dialog';

export interface Shortcut {
  /** Keys pressed together; names in `KEY_NAMES` are translated, others shown as written. */
  keys: string[];
  /** Translation key of what it does. */
  does: string;
  scope: Scope;
  /** For Alt+letter navigation: where it goes. */
  go?: NavTarget;
}

export type NavTarget = 'patrols' | 'form' | 'caseload' | 'queue' | 'dashboard' | 'reports';

/** Key names said in the reader's language (translation keys). */
export const KEY_NAMES: Record<string, string> = {
  Esc: 'keys.esc',
  Enter: 'keys.enter',
  Tab: 'keys.tab',
  Shift: 'keys.shift',
};

export const SHORTCUTS: Shortcut[] = [
  { keys: ['Alt', 'P'], does: 'keys.go_patrols', scope: 'app', go: 'patrols' },
  { keys: ['Alt', 'N'], does: 'keys.go_form', scope: 'app', go: 'form' },
  { keys: ['Alt', 'C'], does: 'keys.go_caseload', scope: 'app', go: 'caseload' },
  { keys: ['Alt', 'Q'], does: 'keys.go_queue', scope: 'app', go: 'queue' },
  { keys: ['Alt', 'D'], does: 'keys.go_dashboard', scope: 'app', go: 'dashboard' },
  { keys: ['Alt', 'R'], does: 'keys.go_reports', scope: 'app', go: 'reports' },
  { keys: ['?'], does: 'keys.help', scope: 'app' },
  { keys: ['Tab'], does: 'keys.next_field', scope: 'app' },
  { keys: ['Shift', 'Tab'], does: 'keys.prev_field', scope: 'app' },
  { keys: ['Ctrl', 'S'], does: 'keys.save', scope: 'form' },
  { keys: ['Ctrl', 'Enter'], does: 'keys.save', scope: 'form' },
  { keys: ['Alt', 'V'], does: 'keys.add_violation', scope: 'form' },
  { keys: ['Esc'], does: 'keys.form_esc', scope: 'form' },
  { keys: ['Enter'], does: 'keys.open_row', scope: 'caseload' },
  { keys: ['Ctrl', 'P'], does: 'keys.print_view', scope: 'detail' },
  { keys: ['Ctrl', 'P'], does: 'keys.print', scope: 'print' },
  { keys: ['Esc'], does: 'keys.print_back', scope: 'print' },
  { keys: ['Esc'], does: 'keys.close_dialog', scope: 'dialog' },
];

export const SCOPES: Scope[] = ['app', 'form', 'caseload', 'detail', 'print', 'dialog'];

interface KeyLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
}

/** Where an Alt+letter shortcut goes, or null for any other key. */
export function navTarget(e: KeyLike): NavTarget | null {
  if (!e.altKey || e.ctrlKey || e.metaKey) return null;
  const letter = e.key.toUpperCase();
  const s = SHORTCUTS.find((x) => x.go && x.keys.length === 2 && x.keys[1] === letter);
  return s?.go ?? null;
}

/** Whether `el` takes typed text (where `?` is a character, not a shortcut). */
export function isTextEntry(el: unknown): boolean {
  if (!el || typeof el !== 'object') return false;
  const e = el as { tagName?: string; type?: string; isContentEditable?: boolean };
  if (e.isContentEditable) return true;
  const tag = (e.tagName ?? '').toUpperCase();
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag !== 'INPUT') return false;
  const nonText = ['checkbox', 'radio', 'button', 'submit', 'reset', 'range', 'color', 'file', 'image'];
  return !nonText.includes((e.type ?? 'text').toLowerCase());
}

/** Whether a key press opens the shortcuts panel: `?` with no Ctrl, Cmd or Alt, outside text. */
export function opensHelp(e: KeyLike, target: unknown): boolean {
  return e.key === '?' && !e.ctrlKey && !e.metaKey && !e.altKey && !isTextEntry(target);
}

/** Whether a key press is Ctrl+P (Cmd+P on a Mac), where people look for printing: on an
 * incident's record it opens the printable record, and there it prints. By the key's place too
 * (`code`), so that it works on an Arabic or other non-Latin layout, whose `key` is a letter of
 * its own script. */
export function isPrintKey(e: KeyLike & { shiftKey?: boolean; code?: string }): boolean {
  return (
    (e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && (e.key.toLowerCase() === 'p' || e.code === 'KeyP')
  );
}
