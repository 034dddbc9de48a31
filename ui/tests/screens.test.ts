// The screens rendered as HTML (Svelte's server renderer): what they show before any data comes
// back from the store, and in which order the keyboard meets their fields.
import { describe, expect, it, vi } from 'vitest';

// The store is out of reach here: every command fails, as when it is locked.
vi.mock('@tauri-apps/api/core', () => ({
  invoke: vi.fn(async () => {
    throw { kind: 'locked', message: 'locked', fields: [] };
  }),
}));
vi.mock('@tauri-apps/api/event', () => ({ listen: vi.fn(async () => () => {}) }));

const { render } = await import('svelte/server');
const { default: IncidentForm } = await import('../src/screens/IncidentForm.svelte');
const { default: VerifyForm } = await import('../src/screens/VerifyForm.svelte');
const { default: Patrols } = await import('../src/screens/Patrols.svelte');
const { default: Shortcuts } = await import('../src/screens/Shortcuts.svelte');
const { default: Caseload } = await import('../src/screens/Caseload.svelte');
const { default: PrintView } = await import('../src/screens/PrintView.svelte');
const { caseloadQuery } = await import('../src/lib/caseload.svelte');
const { blankQuery } = await import('../src/lib/query');
const { SHORTCUTS } = await import('../src/lib/shortcuts');
import type { AppInfo } from '../src/lib/api';

const info: AppInfo = {
  version: '0.1.0',
  data_dir: '/tmp',
  device: { device_id: 'd1', officer: 'Awa D.', team: 'Goma-1', mission: 'MONUSCO' },
  config: null,
  settings: { language: 'en', auto_lock_seconds: 0 },
  locked: false,
  revoked: false,
  capabilities: null,
};
const changes = { n: 0, ids: [] };
const go = () => {};
const testids = (html: string) => [...html.matchAll(/data-testid="([^"]+)"/g)].map((m) => m[1]);

describe('the incident form', () => {
  const html = render(IncidentForm, { props: { info, go, changes } }).body;

  it('starts with the title and meets a violation row in the order it is filled in, Remove last', () => {
    const ids = testids(html);
    const fields = ids.filter((x) => x.startsWith('f-') || x.startsWith('v1-'));
    expect(fields[0]).toBe('f-title');
    const row = ids.filter((x) => x.startsWith('v1-'));
    expect(row[0]).toBe('v1-type');
    expect(row.at(-1)).toBe('v1-remove');
    expect(row.indexOf('v1-remove')).toBeGreaterThan(row.indexOf('v1-sex_unknown'));
  });

  it('closes with explicit buttons and shows no message before anything was typed', () => {
    expect(html).toContain('data-testid="form-done"');
    expect(html).toContain('data-testid="form-close"');
    expect(html).not.toContain('data-testid="form-errors"');
    expect(html).not.toContain('aria-invalid="true"');
  });
});

describe("the incident form's province and district", () => {
  const withAreas: AppInfo = {
    ...info,
    config: { mission: 'MONUSCO', teams: ['Goma'], parties: [], admin_areas: { 'North Kivu': ['Rutshuru', 'Masisi'], Ituri: [] } },
  };
  const controls = (html: string, id: string) => html.match(new RegExp(`<(\\w+)[^>]*data-testid="${id}"[^>]*>`))!;

  it("are lists when the mission lists its areas, in the same place in the keyboard's order", () => {
    const html = render(IncidentForm, { props: { info: withAreas, go, changes } }).body;
    const [province, tag1] = controls(html, 'f-admin1');
    expect(tag1).toBe('select');
    expect(province).toContain('aria-required="true"');
    const [district, tag2] = controls(html, 'f-admin2');
    expect(tag2).toBe('select');
    // Nothing to choose from before the province.
    expect(district).toMatch(/disabled/);
    const options = html.slice(html.indexOf('data-testid="f-admin1"'), html.indexOf('data-testid="f-admin2"'));
    expect([...options.matchAll(/<option[^>]*>([^<]*)</g)].map((m) => m[1])).toEqual(['Choose a province…', 'North Kivu', 'Ituri']);
    const fields = testids(html).filter((x) => x.startsWith('f-'));
    expect(fields.slice(fields.indexOf('f-admin1'), fields.indexOf('f-admin1') + 3)).toEqual(['f-admin1', 'f-admin2', 'f-place']);
  });

  it('are typed in when the mission lists none', () => {
    const html = render(IncidentForm, { props: { info, go, changes } }).body;
    expect(controls(html, 'f-admin1')[1]).toBe('input');
    expect(controls(html, 'f-admin2')[1]).toBe('input');
    const empty = render(IncidentForm, { props: { info: { ...withAreas, config: { ...withAreas.config!, admin_areas: {} } }, go, changes } }).body;
    expect(controls(empty, 'f-admin1')[1]).toBe('input');
  });
});

describe('the printable record', () => {
  it('offers its buttons at once, and nothing to print before the record is read', () => {
    const html = render(PrintView, { props: { info, id: 'x', go, changes } }).body;
    expect(html).toContain('data-testid="print-back"');
    expect(html).toContain('data-testid="print-now"');
    // Nothing to print until the record is read.
    expect(html).toMatch(/<button[^>]*disabled[^>]*data-testid="print-now"|<button[^>]*data-testid="print-now"[^>]*disabled/);
    expect(html).not.toContain('data-testid="print-view"');
  });
});

describe('the verification form', () => {
  it('starts on an empty, disabled status: no decision by default', () => {
    const html = render(VerifyForm, {
      props: { n: 1, statuses: ['reported', 'verified'], sources: [], busy: false, onSave() {}, onCancel() {} },
    }).body;
    const options = [...html.matchAll(/<option([^>]*)>/g)].map((m) => m[1]);
    expect(options[0]).toMatch(/value=""/);
    expect(options[0]).toMatch(/disabled/);
    expect(options[0]).toMatch(/selected/);
    expect(options.slice(1).some((o) => /selected/.test(o))).toBe(false);
    expect(html).toContain('data-testid="verify-no-sources"');
  });

  it('offers the record sources that are not withdrawn, numbered as the record lists them', () => {
    const sources = [
      { id: 's1', kind: 'eyewitness', consent: true, notes: '' },
      { id: 's2', kind: 'medical', consent: false, notes: '', withdrawn: { at: '', by: '', reason: '' } },
      { id: 's3', kind: 'victim', consent: true, notes: 'Met at the clinic' },
    ];
    const html = render(VerifyForm, {
      props: { n: 2, statuses: ['verified'], sources, busy: false, onSave() {}, onCancel() {} },
    }).body;
    const ids = testids(html).filter((x) => x.startsWith('verify-source-'));
    expect(ids).toEqual(['verify-source-1', 'verify-source-3']);
    expect(html).toContain('Met at the clinic');
  });
});

describe('the patrols screen', () => {
  it('offers a start to an officer and explains to a reviewer', () => {
    const officer = render(Patrols, { props: { info, go, changes, role: 'officer' } }).body;
    expect(officer).toContain('data-testid="patrol-start"');
    expect(officer).not.toContain('data-testid="patrol-not-allowed"');
    const reviewer = render(Patrols, { props: { info, go, changes, role: 'reviewer' } }).body;
    expect(reviewer).toContain('data-testid="patrol-not-allowed"');
    expect(reviewer).not.toContain('data-testid="patrol-start"');
  });
});

describe('the shortcuts panel', () => {
  it('lists every shortcut', () => {
    const html = render(Shortcuts, { props: { open: true } }).body;
    expect(testids(html).filter((x) => x === 'shortcut')).toHaveLength(SHORTCUTS.length);
  });
});

describe('the caseload', () => {
  it('filters by review state, and is titled as the queue when it shows it', () => {
    Object.assign(caseloadQuery, blankQuery(), { review_state: 'returned' });
    const queue = render(Caseload, { props: { info, go, changes, queue: 'returned' } }).body;
    expect(queue).toMatch(/data-testid="caseload-title"[^>]*>Returned to me</);
    expect(queue).toContain('data-testid="filter-review"');
    Object.assign(caseloadQuery, blankQuery());
    const all = render(Caseload, { props: { info, go, changes, queue: 'returned' } }).body;
    expect(all).toMatch(/data-testid="caseload-title"[^>]*>Caseload</);
  });
});
