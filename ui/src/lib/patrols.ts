// The patrol log, kept pure for tests: open patrols apart from past ones, and the stamp that
// ends one.
import type { Capabilities, PatrolRow } from './api';
import { mayRecordPatrols } from './vocab';

/** Open patrols (not ended), newest first, and past ones, the last ended first. */
export function splitPatrols(rows: PatrolRow[]): { open: PatrolRow[]; past: PatrolRow[] } {
  const newest = (a: PatrolRow, b: PatrolRow) => (a.date < b.date ? 1 : a.date > b.date ? -1 : a.id < b.id ? 1 : -1);
  const open = rows.filter((p) => !p.ended_at).sort(newest);
  const past = rows
    .filter((p) => !!p.ended_at)
    .sort((a, b) => {
      const x = Date.parse(a.ended_at!);
      const y = Date.parse(b.ended_at!);
      return x === y || Number.isNaN(x) || Number.isNaN(y) ? newest(a, b) : y - x;
    });
  return { open, past };
}

/** When a patrol ends: `now` in UTC to the second, as the store writes times. */
export function endStamp(now: Date): string {
  return now.toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Whether this device may record on, edit and end patrol `p`: it records patrols, and the
 * patrol is its team's (or its role edits other teams' records). */
export function mayManagePatrol(
  p: { team: string },
  team: string | null | undefined,
  role: string | null | undefined,
  caps?: Capabilities | null,
): boolean {
  if (!mayRecordPatrols(role, caps)) return false;
  return p.team === team || !!caps?.edit_other_teams;
}
