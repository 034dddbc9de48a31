import { describe, expect, it } from 'vitest';
import { en } from '../src/lib/locales/en';
import { fr } from '../src/lib/locales/fr';
import { pickLanguage, translate } from '../src/lib/i18n';
import {
  CATEGORIES,
  PRECISIONS,
  REVIEW_STATES,
  SEXES,
  SOURCE_KINDS,
  STATUSES,
  SYNC_FILTERS,
  VIOLATION_TYPES,
} from '../src/lib/vocab';

describe('translations', () => {
  it('have the same keys and placeholders in English and French', () => {
    expect(Object.keys(fr).sort()).toEqual(Object.keys(en).sort());
    const names = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort();
    for (const k of Object.keys(en)) expect(names(fr[k]), k).toEqual(names(en[k]));
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
    ];
    for (const k of keys) {
      expect(en[k], k).toBeTruthy();
      expect(fr[k], k).toBeTruthy();
    }
  });

  it('fills placeholders and falls back to English, then the key', () => {
    expect(translate('fr', 'sync.unsent', { n: 3 })).toBe('3 modification(s) non envoyée(s)');
    expect(translate('en', 'nav.dashboard')).toBe('Dashboard');
    expect(translate('fr', 'nav.dashboard')).toBe('Tableau de bord');
    expect(translate('fr', 'no.such.key')).toBe('no.such.key');
    expect(translate('en', 'sync.unsent')).toBe('{n} change(s) not sent');
  });

  it('picks the saved language, else the system one, else English', () => {
    expect(pickLanguage('fr', 'en-US')).toBe('fr');
    expect(pickLanguage('', 'fr-CD')).toBe('fr');
    expect(pickLanguage('', 'sw-KE')).toBe('en');
  });
});
