// A sync's progress on the link as the bar says it: bytes, rate and time left, in both
// languages, and nothing at all (never "Infinity" or "NaN") while a figure is unknown.
import { describe, expect, it, vi } from 'vitest';
import { fmtBytes, fmtRate, fmtSecsLeft } from '../src/lib/transfer';
import type { Progress, SyncStatus } from '../src/lib/api';

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn(async () => null) }));
vi.mock('@tauri-apps/api/event', () => ({ listen: vi.fn(async () => () => {}) }));

/** French separates thousands and units with (narrow) no-break spaces: compare with plain ones. */
const plain = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');

describe('bytes', () => {
  it('go up in decimal units, one decimal below ten', () => {
    expect(fmtBytes(0, 'en')).toBe('0 B');
    expect(fmtBytes(999, 'en')).toBe('999 B');
    expect(fmtBytes(1000, 'en')).toBe('1 kB');
    expect(fmtBytes(1530, 'en')).toBe('1.5 kB');
    expect(fmtBytes(12_345, 'en')).toBe('12 kB');
    expect(fmtBytes(1_400_000, 'en')).toBe('1.4 MB');
    expect(fmtBytes(250_000_000, 'en')).toBe('250 MB');
    expect(fmtBytes(3_100_000_000, 'en')).toBe('3.1 GB');
  });

  it('never say 1000 of a unit', () => {
    expect(fmtBytes(999_600, 'en')).toBe('1 MB');
    expect(fmtBytes(999_499, 'en')).toBe('999 kB');
  });

  it('are octets in French, with a decimal comma', () => {
    expect(plain(fmtBytes(1_400_000, 'fr'))).toBe('1,4 Mo');
    expect(plain(fmtBytes(12_345, 'fr'))).toBe('12 ko');
    expect(plain(fmtBytes(10, 'fr'))).toBe('10 o');
  });

  it('are nothing when not a count', () => {
    for (const n of [null, undefined, NaN, Infinity, -1]) expect(fmtBytes(n, 'en')).toBe('');
  });
});

describe('the rate', () => {
  it('is in bits per second, as links are spoken of', () => {
    expect(fmtRate(1200, 'en')).toBe('9.6 kbit/s');
    expect(fmtRate(8000, 'en')).toBe('64 kbit/s');
    expect(fmtRate(32_000, 'en')).toBe('256 kbit/s');
    expect(fmtRate(300_000, 'en')).toBe('2.4 Mbit/s');
    expect(fmtRate(2_500_000, 'en')).toBe('20 Mbit/s');
    expect(fmtRate(10, 'en')).toBe('0.1 kbit/s');
    expect(plain(fmtRate(300_000, 'fr'))).toBe('2,4 Mbit/s');
  });

  it('is nothing while unknown or nil, never Infinity', () => {
    for (const n of [null, undefined, 0, NaN, Infinity, -5]) expect(fmtRate(n, 'en')).toBe('');
  });
});

describe('the time left', () => {
  it('is said in rounded minutes, then hours', () => {
    expect(fmtSecsLeft(0, 'en')).toBe('less than a minute left');
    expect(fmtSecsLeft(59, 'en')).toBe('less than a minute left');
    expect(fmtSecsLeft(60, 'en')).toBe('about 1 min left');
    // Rounded up under an hour: 1 min 50 s is "about 2 min", not a broken promise of 1.
    expect(fmtSecsLeft(110, 'en')).toBe('about 2 min left');
    expect(fmtSecsLeft(180, 'en')).toBe('about 3 min left');
    expect(fmtSecsLeft(59 * 60, 'en')).toBe('about 59 min left');
    expect(fmtSecsLeft(3600, 'en')).toBe('about 1 h left');
    expect(fmtSecsLeft(2 * 3600 + 9 * 60, 'en')).toBe('about 2 h 10 min left');
    expect(fmtSecsLeft(3 * 3600 + 57 * 60, 'en')).toBe('about 4 h left');
    expect(fmtSecsLeft(3 * 86400, 'en')).toBe('about 3 days left');
    expect(fmtSecsLeft(180, 'fr')).toBe('environ 3 min restantes');
    expect(fmtSecsLeft(30, 'fr')).toBe("moins d'une minute restante");
  });

  it('is nothing while unknown', () => {
    for (const n of [null, undefined, NaN, Infinity, -1]) expect(fmtSecsLeft(n, 'en')).toBe('');
  });
});

describe('the sync bar', async () => {
  const { render } = await import('svelte/server');
  const { default: SyncBar } = await import('../src/screens/SyncBar.svelte');
  const status = (progress: Progress): SyncStatus => ({
    seq: 1,
    enrolled: true,
    server_url: 'https://endpoint.example',
    role: 'officer',
    online: true,
    running: true,
    unpushed: 12,
    drafts: 0,
    last_sync_at: null,
    last_error: null,
    progress,
    last_report: null,
  });
  const bar = (p: Progress) =>
    render(SyncBar, {
      props: { status: status(p), onOpenSettings: () => {}, onShowConflicts: () => {} },
    }).body;
  const text = (html: string, id: string) =>
    new RegExp(`data-testid="${id}"[^>]*>([^<]*)<`).exec(html)?.[1] ?? null;

  it('shows what went, how fast and how long is left while sending', () => {
    const html = bar({
      phase: 'pushing',
      done: 3,
      total: 12,
      bytes_done: 120_000,
      bytes_total: 1_400_000,
      rate: 1200,
      secs_left: 1067,
    });
    expect(text(html, 'sync-bytes')).toBe('120 kB of 1.4 MB');
    expect(text(html, 'sync-rate')).toBe('9.6 kbit/s');
    expect(text(html, 'sync-eta')).toBe('about 18 min left');
  });

  it('shows only what it knows before the first answer', () => {
    const html = bar({ phase: 'pulling', done: 0, remaining: 500, bytes_done: 0, rate: null, secs_left: null });
    expect(text(html, 'sync-bytes')).toBe('0 B received');
    expect(html).not.toContain('sync-rate');
    expect(html).not.toContain('sync-eta');
    expect(html).not.toMatch(/Infinity|NaN|undefined/);
  });
});
