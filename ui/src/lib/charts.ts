// The dashboard's chart.js options, a pure function of the language (tested). Right to left a
// chart mirrors: categories run from right to left, bars grow from the right, the axes stand on
// the right, the doughnut's legend on the left, and legends and tooltips are written right to
// left. (The canvas's size is app.css's: `.chart canvas`.)
import type { ChartOptions } from 'chart.js';
import { intlLocale } from './format';
import { dirOf, type Lang } from './i18n';

export interface DashboardChartOptions {
  /** Violations by type: horizontal bars, the types on the category axis. */
  byType: ChartOptions<'bar'>;
  byStatus: ChartOptions<'doughnut'>;
  /** Children by sex: columns. */
  children: ChartOptions<'bar'>;
  byMonth: ChartOptions<'line'>;
}

export function chartOptions(lang: Lang): DashboardChartOptions {
  const rtl = dirOf(lang) === 'rtl';
  const common = {
    animation: false as const,
    responsive: true,
    maintainAspectRatio: false,
    // The axes' numbers in the language's own way, Western digits in Arabic too (format.ts).
    locale: intlLocale(lang),
    // Room for what a glyph draws beyond its advance (an Arabic letter's marks, an italic end):
    // chart.js places labels by their measured width and the canvas cuts off the rest.
    layout: { padding: 4 },
  };
  const text = { rtl, textDirection: dirOf(lang) };
  const start = rtl ? ('right' as const) : ('left' as const);
  // Columns and lines keep their category axis as it is: the data comes in reading order
  // (`inReadingOrder`). Only the horizontal bars' value axis is reversed, so that they grow from
  // the right.
  const columns = { y: { position: start } };
  return {
    byType: {
      ...common,
      indexAxis: 'y',
      scales: { x: { reverse: rtl }, y: { position: start } },
      plugins: { legend: { display: false }, tooltip: text },
    },
    byStatus: { ...common, plugins: { legend: { position: rtl ? 'left' : 'right', ...text }, tooltip: text } },
    children: { ...common, scales: columns, plugins: { legend: text, tooltip: text } },
    byMonth: { ...common, scales: columns, plugins: { legend: { display: false }, tooltip: text } },
  };
}

/**
 * The categories of a horizontal axis (and their values) in reading order: right to left in
 * Arabic. The data is turned around rather than the axis: chart.js leaves room for the end labels
 * of a horizontal axis as if its first tick were on the left, so a reversed category axis has its
 * leftmost label (the last month, rotated on a narrow screen) cut off at the canvas's edge.
 */
export function inReadingOrder<T>(lang: Lang, xs: readonly T[]): T[] {
  return dirOf(lang) === 'rtl' ? [...xs].reverse() : [...xs];
}
