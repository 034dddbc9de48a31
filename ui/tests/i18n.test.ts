import { describe, expect, it } from 'vitest';
import { en } from '../src/lib/locales/en';
import { fr } from '../src/lib/locales/fr';
import { ar } from '../src/lib/locales/ar';
import {
  backArrow,
  dirOf,
  factsheetLang,
  LANGUAGE_NAMES,
  LANGUAGES,
  pickLanguage,
  translate,
} from '../src/lib/i18n';
import {
  CATEGORIES,
  DECISION_LEVELS,
  DENIED_CODES,
  ROLES,
  PRECISIONS,
  REVIEW_STATES,
  SEXES,
  SOURCE_KINDS,
  STATUSES,
  SYNC_FILTERS,
  VIOLATION_TYPES,
} from '../src/lib/vocab';
import { allDetailKeys, allTerms } from '../src/lib/details';
import { ACTIVITY_KINDS, allActivityFields, allActivityTerms } from '../src/lib/activities';

const others = { fr, ar };
const names = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort();

/**
 * The Arabic values that are rightly the English ones: the product's name, the date format
 * people type (digits stay Western in Arabic, see format.ts), a dash for "no value", and the
 * names printed on the keys themselves (Arabic keyboards label Esc, Enter, Tab and Shift in
 * Latin letters).
 */
const SAME_IN_ARABIC = ['app.name', 'case.date_hint', 'form.detail_none', 'keys.esc', 'keys.enter', 'keys.tab', 'keys.shift', 'detail.change_colon', 'form.iso_date_hint'];

/** Latin words an Arabic sentence may hold: product names, file formats, key caps, the GHN's and
 * the CTFMR's acronyms and the date format. */
const LATIN_IN_ARABIC = new Set([
  'MRM', 'Field', 'USB', 'XLSX', 'PDF', 'CSV', 'GHN', 'CTFMR', 'YYYY', 'MM', 'DD',
  'Ctrl', 'Alt', 'Esc', 'Enter', 'Tab', 'Shift', 'Cmd', 'Mac', 'V', 'S',
]);

describe('translations', () => {
  it('have the same keys and placeholders in English, French and Arabic', () => {
    for (const [lang, dict] of Object.entries(others)) {
      expect(Object.keys(dict).sort(), lang).toEqual(Object.keys(en).sort());
      for (const k of Object.keys(en)) expect(names(dict[k]), `${lang} ${k}`).toEqual(names(en[k]));
    }
  });

  it('cover every value of the vocabulary', () => {
    const keys = [
      ...VIOLATION_TYPES.map((v) => `type.${v}`),
      ...STATUSES.map((v) => `status.${v}`),
      ...SOURCE_KINDS.map((v) => `source.${v}`),
      ...CATEGORIES.map((v) => `category.${v}`),
      ...SEXES.map((v) => `sex.${v}`),
      ...REVIEW_STATES.map((v) => `review.${v}`),
      ...PRECISIONS.map((v) => `precision.${v}`),
      ...SYNC_FILTERS.map((v) => `case.sync.${v}`),
      ...['to_send', 'held', 'waiting', 'conflict'].map((v) => `recsync.${v}`),
      ...['synced', 'to_send', 'held', 'waiting'].map((v) => `detail.sync.${v}`),
      ...allDetailKeys().map((k) => `vd.${k}`),
      ...allActivityFields().map((k) => `af.${k}`),
      ...allActivityTerms().map((k) => `at.${k}`),
      ...ACTIVITY_KINDS.flatMap((k) => [`act.${k}s`, `act.new_${k}`, `act.edit_${k}`, `act.none_${k}`]),
      ...DECISION_LEVELS.map((v) => `level.${v}`),
      ...ROLES.map((v) => `role.${v}`),
      ...DENIED_CODES.map((v) => `denied.${v}`),
      ...allTerms().map((v) => `term.${v}`),
    ];
    for (const k of keys) {
      expect(en[k], k).toBeTruthy();
      expect(fr[k], k).toBeTruthy();
      expect(ar[k], k).toBeTruthy();
    }
  });

  it('leave no English sentence untranslated in Arabic', () => {
    const same = Object.keys(en).filter((k) => ar[k] === en[k]);
    expect(same.sort()).toEqual([...SAME_IN_ARABIC].sort());
    for (const k of Object.keys(en)) {
      const words = ar[k].replace(/\{\w+\}/g, '').match(/[A-Za-z]+/g) ?? [];
      expect(words.filter((w) => !LATIN_IN_ARABIC.has(w)), k).toEqual([]);
    }
  });

  it('fills placeholders and falls back to English, then the key', () => {
    expect(translate('fr', 'sync.unsent', { n: 3 })).toBe('3 modification(s) non envoyée(s)');
    expect(translate('en', 'nav.dashboard')).toBe('Dashboard');
    expect(translate('fr', 'nav.dashboard')).toBe('Tableau de bord');
    expect(translate('ar', 'nav.dashboard')).toBe('لوحة المعلومات');
    expect(translate('ar', 'case.page', { page: 2, pages: 5 })).toBe('الصفحة 2 من 5');
    expect(translate('fr', 'no.such.key')).toBe('no.such.key');
    expect(translate('ar', 'no.such.key')).toBe('no.such.key');
    expect(translate('en', 'sync.unsent')).toBe('{n} change(s) not sent');
  });

  it('picks the saved language, else the system one, else English', () => {
    expect(pickLanguage('fr', 'en-US')).toBe('fr');
    expect(pickLanguage('', 'fr-CD')).toBe('fr');
    expect(pickLanguage('', 'sw-KE')).toBe('en');
    expect(pickLanguage('', 'ar-SA')).toBe('ar');
    expect(pickLanguage('', 'ar')).toBe('ar');
    expect(pickLanguage('', 'AR-eg')).toBe('ar');
    expect(pickLanguage('ar', 'fr-FR')).toBe('ar');
    expect(pickLanguage('en', 'ar-SY')).toBe('en');
  });

  it('offer every language under its own name', () => {
    expect(LANGUAGES).toEqual(['en', 'fr', 'ar']);
    expect(LANGUAGE_NAMES).toEqual({ en: 'English', fr: 'Français', ar: 'العربية' });
  });
});

describe('writing direction', () => {
  it('is right to left for Arabic only', () => {
    expect(dirOf('ar')).toBe('rtl');
    expect(dirOf('en')).toBe('ltr');
    expect(dirOf('fr')).toBe('ltr');
  });

  it('isolates names, titles and places set in an Arabic sentence, not numbers', () => {
    expect(translate('ar', 'detail.recorded_by', { by: 'Awa D.', team: 'Goma' })).toBe(
      'سجّلها \u2068Awa D.\u2069، الفريق \u2068Goma\u2069',
    );
    expect(translate('ar', 'case.page', { page: 2, pages: 5 })).toBe('الصفحة 2 من 5');
    expect(translate('en', 'detail.recorded_by', { by: 'Awa D.', team: 'Goma' })).toBe('Recorded by Awa D., team Goma');
  });

  it('turns the back arrow around with it', () => {
    expect(backArrow('en')).toBe('←');
    expect(backArrow('fr')).toBe('←');
    expect(backArrow('ar')).toBe('→');
  });

  it('asks the PDF exporter only for a language it writes', () => {
    expect(factsheetLang('fr')).toBe('fr');
    expect(factsheetLang('en')).toBe('en');
    expect(factsheetLang('ar')).toBe('en');
  });
});
