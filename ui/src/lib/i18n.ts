// Translation lookup, kept pure for tests; the current language lives in i18n.svelte.ts.
import { en } from './locales/en';
import { fr } from './locales/fr';

export const LANGUAGES = ['en', 'fr'] as const;
export type Lang = (typeof LANGUAGES)[number];
export const DICTS: Record<Lang, Record<string, string>> = { en, fr };

/** The string for `key` in `lang` (English, then the key itself, when missing), with `{name}`s filled. */
export function translate(
  lang: Lang,
  key: string,
  params: Record<string, string | number> = {},
): string {
  const s = DICTS[lang]?.[key] ?? en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (m, name: string) =>
    name in params ? String(params[name]) : m,
  );
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
