import { describe, expect, it } from 'vitest';
import { chartOptions, inReadingOrder } from '../src/lib/charts';

describe('the dashboard charts', () => {
  it('mirror in Arabic: bars grow from the right, axes and legends on the right side of reading', () => {
    const o = chartOptions('ar');
    expect(o.byType.indexAxis).toBe('y');
    expect(o.byType.scales).toEqual({ x: { reverse: true }, y: { position: 'right' } });
    expect(o.children.scales).toEqual({ y: { position: 'right' } });
    expect(o.byMonth.scales).toEqual({ y: { position: 'right' } });
    expect(o.byStatus.plugins?.legend).toMatchObject({ position: 'left', rtl: true, textDirection: 'rtl' });
    expect(o.children.plugins?.legend).toMatchObject({ rtl: true, textDirection: 'rtl' });
    for (const c of [o.byType, o.byStatus, o.children, o.byMonth]) {
      expect(c.plugins?.tooltip).toMatchObject({ rtl: true, textDirection: 'rtl' });
      expect(c.locale).toBe('ar-u-nu-latn');
    }
  });

  it('never reverse a category axis along the width: chart.js would cut its leftmost label off', () => {
    for (const lang of ['en', 'fr', 'ar'] as const) {
      const o = chartOptions(lang);
      const x = (s: unknown) => (s as { x?: { reverse?: boolean } } | undefined)?.x?.reverse;
      expect(x(o.children.scales)).toBeUndefined();
      expect(x(o.byMonth.scales)).toBeUndefined();
    }
  });

  it('read left to right in English and French', () => {
    for (const lang of ['en', 'fr'] as const) {
      const o = chartOptions(lang);
      expect(o.byType.scales).toEqual({ x: { reverse: false }, y: { position: 'left' } });
      expect(o.children.scales).toEqual({ y: { position: 'left' } });
      expect(o.byMonth.scales).toEqual({ y: { position: 'left' } });
      expect(o.byStatus.plugins?.legend).toMatchObject({ position: 'right', rtl: false, textDirection: 'ltr' });
      for (const c of [o.byType, o.byStatus, o.children, o.byMonth]) {
        expect(c.plugins?.tooltip).toMatchObject({ rtl: false, textDirection: 'ltr' });
      }
    }
    expect(chartOptions('fr').byType.locale).toBe('fr-FR');
  });

  it('leave room for glyphs drawn past their measured width, in every language', () => {
    for (const lang of ['en', 'fr', 'ar'] as const) {
      const o = chartOptions(lang);
      for (const c of [o.byType, o.byStatus, o.children, o.byMonth]) {
        expect(c.layout?.padding).toBe(4);
        expect(c.maintainAspectRatio).toBe(false);
      }
    }
  });

  it('put categories in reading order, without touching the data given', () => {
    const months = ['2026-01', '2026-02', '2026-03'];
    expect(inReadingOrder('ar', months)).toEqual(['2026-03', '2026-02', '2026-01']);
    expect(inReadingOrder('en', months)).toEqual(months);
    expect(inReadingOrder('fr', months)).toEqual(months);
    expect(months).toEqual(['2026-01', '2026-02', '2026-03']);
  });
});
