// Translation lookup, kept pure for tests; the current language lives in i18n.svelte.ts.
import { en } from './locales/en';
import { fr } from './locales/fr';
import { ar } from './locales/ar';

export const LANGUAGES = ['en', 'fr', 'ar'] as const;
export type Lang = (typeof LANGUAGES)[number];
export const DICTS: Record<Lang, Record<string, string>> = { en, fr, ar };

/** Each language as its own speakers name it, for the language picker: someone who cannot read
 * the current language must still find theirs. */
export const LANGUAGE_NAMES: Record<Lang, string> = { en: 'English', fr: 'Français', ar: 'العربية' };

/** The writing direction of `lang`, for the page's `dir`. */
export function dirOf(lang: Lang): 'ltr' | 'rtl' {
  return lang === 'ar' ? 'rtl' : 'ltr';
}

/** The arrow of a "back" button: it points to where the reader came from, the start side of
 * the line, so it turns around in a right-to-left language (no font mirrors ← by itself). */
export function backArrow(lang: Lang): string {
  return dirOf(lang) === 'rtl' ? '→' : '←';
}

/** The string for `key` in `lang` (English, then the key itself, when missing), with `{name}`s filled. */
export function translate(
  lang: Lang,
  key: string,
  params: Record<string, string | number> = {},
): string {
  const s = DICTS[lang]?.[key] ?? en[key] ?? key;
  const rtl = dirOf(lang) === 'rtl';
  return s.replace(/\{(\w+)\}/g, (m, name: string) => {
    if (!(name in params)) return m;
    const v = params[name];
    // In a right-to-left sentence a name, title or place in Latin letters keeps its own order
    // and punctuation ("Awa D.", "Attack (edited)") inside a first-strong isolate, as <bdi>
    // does; numbers need none.
    return rtl && typeof v === 'string' ? `\u2068${v}\u2069` : String(v);
  });
}

/** A supported language from a setting or the system's locale, else English. */
export function pickLanguage(setting: string, system: string): Lang {
  for (const c of [setting, system]) {
    const two = (c || '').slice(0, 2).toLowerCase();
    if ((LANGUAGES as readonly string[]).includes(two)) return two as Lang;
  }
  return 'en';
}

/**
 * A failed command's message in `lang`: for a `denied` error, the sentence for its `code` when
 * there is one, else the store's own message (English).
 */
export function appErrorText(lang: Lang, e: unknown): string {
  if (typeof e !== 'object' || e === null || !('kind' in e) || !('message' in e)) return String(e);
  const err = e as { kind: unknown; message: unknown; code?: unknown };
  if (err.kind === 'denied' && typeof err.code === 'string' && err.code) {
    const key = `denied.${err.code}`;
    if (DICTS[lang]?.[key] ?? en[key]) return translate(lang, key);
  }
  return String(err.message);
}

/** The language to write a factsheet in: the PDF exporter has English and French only (an Arabic
 * PDF needs glyph shaping and right-to-left layout it lacks), so an Arabic screen gets the English
 * factsheet, as its button says, rather than an error. */
export function factsheetLang(lang: Lang): 'en' | 'fr' {
  return lang === 'fr' ? 'fr' : 'en';
}
