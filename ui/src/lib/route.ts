// Where the UI is. `nonce` makes "New incident" start a fresh form even from a new form.
export type Route =
  | { name: 'patrols' }
  | { name: 'patrol'; id: string }
  | { name: 'caseload' }
  | { name: 'dashboard' }
  | { name: 'reports' }
  | { name: 'activities' }
  | { name: 'settings' }
  | { name: 'form'; id?: string; patrolId?: string; nonce?: number }
  | { name: 'detail'; id: string }
  | { name: 'print'; id: string };

export type Go = (r: Route) => void;

/** What a sync changed, for screens to reload. */
export interface Changes {
  n: number;
  ids: string[];
}
