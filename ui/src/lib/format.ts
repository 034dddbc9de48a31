// Dates, times and numbers as people read them, in the current language.
import type { Lang } from './i18n';
import { translate } from './i18n';

/** The Intl locale of `lang`. Arabic keeps Western digits (`-u-nu-latn`): UN field offices and
 * the mission's own forms, codes and coordinates use them, and some engines default 'ar' to
 * Arabic-Indic digits, which would make the same figure look different across screens. */
export function intlLocale(lang: Lang): string {
  if (lang === 'fr') return 'fr-FR';
  if (lang === 'ar') return 'ar-u-nu-latn';
  return 'en-GB';
}
const locale = intlLocale;

/** A YYYY-MM-DD date, shown to its precision: "3 Nov 2026", "Nov 2026", "2026". */
export function fmtDate(d: string, lang: Lang, precision = 'day'): string {
  if (!/^\d{4}-\d{2}-\d{2}/.test(d)) return d;
  const date = new Date(`${d.slice(0, 10)}T12:00:00Z`);
  if (Number.isNaN(date.getTime())) return d;
  const opts: Intl.DateTimeFormatOptions =
    precision === 'year'
      ? { year: 'numeric', timeZone: 'UTC' }
      : precision === 'month'
        ? { year: 'numeric', month: 'short', timeZone: 'UTC' }
        : { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' };
  return new Intl.DateTimeFormat(locale(lang), opts).format(date);
}

/** An RFC 3339 time in local time: "3 Nov 2026, 14:05". */
export function fmtDateTime(iso: string, lang: Lang): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(locale(lang), {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  }).format(date);
}

/** How long ago: "just now", "5 min ago", "2 h ago", "3 day(s) ago". */
export function fmtAgo(iso: string, lang: Lang, now: number = Date.now()): string {
  const then = new Date(iso).getTime();
  if (Number.isNaN(then)) return iso;
  const min = Math.max(0, Math.floor((now - then) / 60000));
  if (min < 1) return translate(lang, 'time.just_now');
  // Arabic says one, two, three to ten and eleven or more minutes each in its own way ("قبل
  // دقيقتين", "قبل 5 دقائق"): Intl knows the forms, a template cannot hold them.
  const rel = lang === 'ar' ? new Intl.RelativeTimeFormat(intlLocale(lang), { numeric: 'always' }) : null;
  if (min < 60) return rel ? rel.format(-min, 'minute') : translate(lang, 'time.minutes', { n: min });
  const h = Math.floor(min / 60);
  if (h < 24) return rel ? rel.format(-h, 'hour') : translate(lang, 'time.hours', { n: h });
  const days = Math.floor(h / 24);
  return rel ? rel.format(-days, 'day') : translate(lang, 'time.days', { n: days });
}

/** A count with the language's grouping: 10,000 / 10 000. */
export function fmtNumber(n: number, lang: Lang): string {
  return new Intl.NumberFormat(locale(lang)).format(n);
}

/** "2026-11" as "Nov 2026". */
export function fmtMonth(ym: string, lang: Lang): string {
  return fmtDate(`${ym}-01`, lang, 'month');
}

/** Today on this device, YYYY-MM-DD. */
export function today(now: Date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}`;
}

/** A date as people type it: `2026-11-15`, or day first as in French and English outside the
 * US (`15/11/2026`, `15.11.2026`, `15-11-2026`, `5/1/2026`). Returns `YYYY-MM-DD`, or `null`
 * for anything that is not a real date (never a silent guess). */
export function parseUserDate(s: string): string | null {
  const t = s.trim();
  let y: number, m: number, d: number;
  let g = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(t);
  if (g) [y, m, d] = [Number(g[1]), Number(g[2]), Number(g[3])];
  else {
    g = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/.exec(t);
    if (!g) return null;
    [d, m, y] = [Number(g[1]), Number(g[2]), Number(g[3])];
  }
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return null;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${y}-${p(m)}-${p(d)}`;
}

/** Split a text area into trimmed, non-empty lines. */
export function lines(s: string): string[] {
  return s
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}
