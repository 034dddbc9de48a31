import { describe, expect, it } from 'vitest';
import { KEY_NAMES, SCOPES, SHORTCUTS, isPrintKey, isTextEntry, navTarget, opensHelp } from '../src/lib/shortcuts';
import { en } from '../src/lib/locales/en';
import { fr } from '../src/lib/locales/fr';

const key = (k: string, mods: Partial<{ ctrlKey: boolean; metaKey: boolean; altKey: boolean }> = {}) => ({
  key: k,
  ctrlKey: false,
  metaKey: false,
  altKey: false,
  ...mods,
});

describe('the shortcuts list', () => {
  it('says every shortcut and key name in English and French', () => {
    const keys = [
      ...SHORTCUTS.map((s) => s.does),
      ...SCOPES.map((s) => `keys.scope.${s}`),
      ...Object.values(KEY_NAMES),
      'keys.title',
    ];
    for (const k of keys) {
      expect(en[k], k).toBeTruthy();
      expect(fr[k], k).toBeTruthy();
    }
  });

  it('lists the form and navigation shortcuts, none twice in one place', () => {
    const combos = SHORTCUTS.map((s) => `${s.scope}:${s.keys.join('+')}`);
    expect(new Set(combos).size).toBe(combos.length);
    for (const c of ['form:Ctrl+S', 'form:Ctrl+Enter', 'form:Alt+V', 'form:Esc', 'app:?', 'app:Alt+N', 'app:Alt+Q', 'detail:Ctrl+P', 'print:Ctrl+P', 'print:Esc']) {
      expect(combos).toContain(c);
    }
  });
});

describe('navigation keys', () => {
  it('go where the list says, with Alt only', () => {
    expect(navTarget(key('p', { altKey: true }))).toBe('patrols');
    expect(navTarget(key('N', { altKey: true }))).toBe('form');
    expect(navTarget(key('c', { altKey: true }))).toBe('caseload');
    expect(navTarget(key('q', { altKey: true }))).toBe('queue');
    expect(navTarget(key('d', { altKey: true }))).toBe('dashboard');
    expect(navTarget(key('r', { altKey: true }))).toBe('reports');
    expect(navTarget(key('v', { altKey: true }))).toBeNull();
    expect(navTarget(key('p'))).toBeNull();
    expect(navTarget(key('p', { altKey: true, ctrlKey: true }))).toBeNull();
  });
});

describe('the ? key', () => {
  it('opens the shortcuts outside text fields only', () => {
    expect(opensHelp(key('?'), { tagName: 'BODY' })).toBe(true);
    expect(opensHelp(key('?'), { tagName: 'BUTTON' })).toBe(true);
    expect(opensHelp(key('?'), { tagName: 'INPUT', type: 'checkbox' })).toBe(true);
    expect(opensHelp(key('?'), { tagName: 'INPUT', type: 'text' })).toBe(false);
    expect(opensHelp(key('?'), { tagName: 'INPUT' })).toBe(false);
    expect(opensHelp(key('?'), { tagName: 'INPUT', type: 'search' })).toBe(false);
    expect(opensHelp(key('?'), { tagName: 'TEXTAREA' })).toBe(false);
    expect(opensHelp(key('?'), { tagName: 'SELECT' })).toBe(false);
    expect(opensHelp(key('?'), { tagName: 'DIV', isContentEditable: true })).toBe(false);
    expect(opensHelp(key('?', { ctrlKey: true }), null)).toBe(false);
    expect(opensHelp(key('/'), null)).toBe(false);
  });

  it('knows text entry from other elements', () => {
    expect(isTextEntry(null)).toBe(false);
    expect(isTextEntry({ tagName: 'input', type: 'NUMBER' })).toBe(true);
    expect(isTextEntry({ tagName: 'INPUT', type: 'radio' })).toBe(false);
  });
});

describe('Ctrl+P', () => {
  it('is Ctrl or Cmd with P, and nothing else', () => {
    expect(isPrintKey(key('p', { ctrlKey: true }))).toBe(true);
    expect(isPrintKey(key('P', { ctrlKey: true }))).toBe(true);
    expect(isPrintKey(key('p', { metaKey: true }))).toBe(true);
    expect(isPrintKey(key('p'))).toBe(false);
    expect(isPrintKey(key('p', { altKey: true }))).toBe(false);
    expect(isPrintKey(key('p', { ctrlKey: true, altKey: true }))).toBe(false);
    expect(isPrintKey({ ...key('P', { ctrlKey: true }), shiftKey: true })).toBe(false);
    expect(isPrintKey(key('s', { ctrlKey: true }))).toBe(false);
    // An Arabic layout: the key is its own letter, the place is P's.
    expect(isPrintKey({ ...key('ح', { ctrlKey: true }), code: 'KeyP' })).toBe(true);
    expect(isPrintKey({ ...key('ح', { ctrlKey: true }), code: 'KeyH' })).toBe(false);
  });
});
