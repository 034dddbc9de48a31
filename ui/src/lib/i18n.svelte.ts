// The current language, as reactive state: components call t() and re-render when it changes.
import { dirOf, translate, type Lang } from './i18n';
import type { Msg } from './form';

export const i18n = $state<{ lang: Lang }>({ lang: 'en' });

/** Switch the UI to `lang`: its words, and the page's language and direction, so that screen
 * readers pick the right voice and an Arabic page reads from right to left. */
export function useLanguage(lang: Lang): void {
  i18n.lang = lang;
  document.documentElement.lang = lang;
  document.documentElement.dir = dirOf(lang);
}

export function t(key: string, params?: Record<string, string | number>): string {
  return translate(i18n.lang, key, params);
}

/** A form message in the current language. */
export function msg(m: Msg | undefined): string {
  if (!m) return '';
  return 'text' in m ? m.text : t(m.key, m.params);
}
