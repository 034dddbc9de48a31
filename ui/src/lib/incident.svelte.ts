// One incident as the store holds it now, for a screen that shows it (Detail, PrintView): read
// when the screen opens, and again whenever a sync or another screen changed it. Reads answer out
// of order when a sync ends while one is in flight: only the last one asked shows, so an earlier
// answer never puts back a state ("not sent yet") the sync just changed.
import { api, errorText, type IncidentDetail } from './api';
import type { Changes } from './route';

export class LiveIncident {
  /** The record, once read. */
  d = $state<IncidentDetail | null>(null);
  /** Why the last read failed, in words; empty once a read succeeds. */
  error = $state('');
  #asked = 0;
  #id: () => string;

  /** Made while a component starts (its `$effect` lives as long as the component): `id` and
   * `changes` are read through functions, so that they stay the component's current props. */
  constructor(id: () => string, changes: () => Changes) {
    this.#id = id;
    void this.load();
    let seen = changes().n;
    $effect(() => {
      const c = changes();
      if (c.n !== seen) {
        seen = c.n;
        if (c.ids.includes(this.#id())) void this.load();
      }
    });
  }

  /** Read the record again. */
  async load(): Promise<void> {
    const mine = ++this.#asked;
    try {
      const got = await api.getIncident(this.#id());
      if (mine !== this.#asked) return;
      this.d = got;
      this.error = '';
    } catch (e) {
      if (mine === this.#asked) this.error = errorText(e);
    }
  }
}
