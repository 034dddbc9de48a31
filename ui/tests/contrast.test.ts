import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { contrastRatio } from '../src/lib/contrast';

// The stylesheet as shipped (vitest does not load CSS through imports).
const css = readFileSync(new URL('../src/app.css', import.meta.url), 'utf8');

/** The value of custom property `name` in app.css. */
function cssVar(name: string): string {
  const m = new RegExp(`${name}:\\s*(#[0-9a-fA-F]{3,6})\\b`).exec(css);
  if (!m) throw new Error(`${name} not in app.css`);
  return m[1];
}

describe('contrast ratio', () => {
  it('follows WCAG 2.1', () => {
    expect(contrastRatio('#000', '#fff')).toBeCloseTo(21, 5);
    expect(contrastRatio('#fff', '#ffffff')).toBeCloseTo(1, 5);
    expect(contrastRatio('#777777', '#ffffff')).toBeCloseTo(4.48, 2);
    expect(contrastRatio('#ffffff', '#777777')).toBeCloseTo(contrastRatio('#777777', '#ffffff'), 10);
    expect(() => contrastRatio('blue', '#fff')).toThrow();
  });
});

describe('the focus ring (WCAG 2.1 AA: at least 3:1 against what surrounds it)', () => {
  it('is a 3px outline set apart by 2px on every focusable element', () => {
    expect(css).toMatch(/(^|\n):focus-visible\s*\{\s*outline:\s*3px solid var\(--focus\);\s*outline-offset:\s*2px;?\s*\}/);
    expect(css).toMatch(/\.top :focus-visible\s*\{\s*outline-color:\s*var\(--focus-on-dark\)/);
  });

  it('stands out on every light background of the app', () => {
    const focus = cssVar('--focus');
    const light = [
      '#ffffff', // panels, the sync bar, dialogs, inputs
      cssVar('--bg'),
      cssVar('--blue-light'), // a caseload row under the pointer
      '#fbfcfe', // cards
      '#fff7e0', // notices, the undo notice, inline confirmations
      '#fff8f7', // conflicts, needs attention
      '#f3f4f6', // a withdrawn violation
      '#fafbfc', // the narrative
    ];
    for (const bg of light) expect(contrastRatio(focus, bg), `${focus} on ${bg}`).toBeGreaterThanOrEqual(3);
  });

  it('stands out on the blue header', () => {
    const ring = cssVar('--focus-on-dark');
    const header = cssVar('--blue');
    expect(contrastRatio(ring, header)).toBeGreaterThanOrEqual(3);
    // The light ring would not do on the light screens, nor the dark one on the header.
    expect(contrastRatio(cssVar('--focus'), header)).toBeLessThan(3);
  });
});

describe('the sync badges of caseload rows (WCAG 2.1 AA text: at least 4.5:1)', () => {
  it('keep their white words legible, routine grey and amber alike', () => {
    expect(css).toMatch(/\.badge \{[^}]*color: #fff/);
    expect(css).toMatch(/\.badge\.sync \{[^}]*background: var\(--grey\)/);
    expect(css).toMatch(/\.badge\.sync\[data-state='held'\][^{]*\{[^}]*background: var\(--amber\)/);
    for (const bg of [cssVar('--grey'), cssVar('--amber')]) {
      expect(contrastRatio('#ffffff', bg), bg).toBeGreaterThanOrEqual(4.5);
    }
  });
});
