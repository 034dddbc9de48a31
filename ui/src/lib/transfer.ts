// A sync's progress as people on a slow link read it: bytes in kB and MB, the rate in kbit/s
// (how links are sold and spoken of: "a 64k satellite link"), and the time left in rounded
// minutes. Kept pure for tests; the words come from the locales.
import type { Lang } from './i18n';
import { translate } from './i18n';
import { intlLocale as locale } from './format';

/** A number with at most `digits` decimals, in the language's way (1.5 / 1,5). */
function num(n: number, lang: Lang, digits: number): string {
  return new Intl.NumberFormat(locale(lang), { maximumFractionDigits: digits }).format(n);
}

/** Whether `n` is a count we can show: a finite number, not negative. */
const known = (n: number | null | undefined): n is number =>
  typeof n === 'number' && Number.isFinite(n) && n >= 0;

/**
 * Bytes in decimal units, as file sizes are shown to people: "850 B", "12 kB", "1.4 MB",
 * "2.1 GB". One decimal below ten units, none above (a sync bar needs no more); `''` for
 * anything that is not a count.
 */
export function fmtBytes(bytes: number | null | undefined, lang: Lang): string {
  if (!known(bytes)) return '';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  // 999.95 kB would round to "1000 kB": say 1 MB instead.
  if (u > 0 && u < units.length - 1 && Math.round(v) >= 1000) {
    v /= 1000;
    u++;
  }
  const digits = u === 0 || v >= 10 ? 0 : 1;
  return `${num(v, lang, digits)} ${translate(lang, `unit.${units[u]}`)}`;
}

/**
 * A rate in bytes per second as link speed: "9.6 kbit/s", "256 kbit/s", "2.4 Mbit/s"; `''`
 * when the rate is unknown (no request has gone through yet) or zero, never "Infinity" or
 * "NaN".
 */
export function fmtRate(bytesPerSec: number | null | undefined, lang: Lang): string {
  if (!known(bytesPerSec) || bytesPerSec === 0) return '';
  const kbit = (bytesPerSec * 8) / 1000;
  if (kbit >= 1000) {
    const mbit = kbit / 1000;
    return translate(lang, 'rate.mbit', { n: num(mbit, lang, mbit >= 10 ? 0 : 1) });
  }
  return translate(lang, 'rate.kbit', { n: num(kbit, lang, kbit >= 10 ? 0 : 1) });
}

/**
 * The time left, as a person would say it: "less than a minute left", "about 3 min left",
 * "about 2 h 10 min left"; `''` when unknown. Minutes are rounded up under an hour (a promise
 * of "1 min" that takes 1:50 reads as broken), and to the nearest ten above.
 */
export function fmtSecsLeft(secs: number | null | undefined, lang: Lang): string {
  if (!known(secs)) return '';
  if (secs < 60) return translate(lang, 'eta.under_minute');
  const min = Math.ceil(secs / 60);
  if (min < 60) return translate(lang, 'eta.minutes', { n: min });
  let h = Math.floor(min / 60);
  let m = Math.round((min % 60) / 10) * 10;
  if (m === 60) {
    h += 1;
    m = 0;
  }
  if (h >= 48) return translate(lang, 'eta.days', { n: Math.round(h / 24) });
  return m
    ? translate(lang, 'eta.hours_minutes', { h, m })
    : translate(lang, 'eta.hours', { n: h });
}
