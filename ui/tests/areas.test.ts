import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { districtAfter, districtOptions, listsAreas, placeCheck, provinceOptions, type AreaBounds } from '../src/lib/areas';
import { parseCoord } from '../src/lib/form';

// As the e2e mission lists them; Ituri lists no districts (any district is taken there).
const areas = { 'North Kivu': ['Rutshuru', 'Masisi'], Ituri: [] as string[] };

describe('the province and district lists', () => {
  it('are offered only when the mission lists its areas', () => {
    expect(listsAreas(areas)).toBe(true);
    expect(listsAreas({})).toBe(false);
    expect(listsAreas(null)).toBe(false);
    expect(listsAreas(undefined)).toBe(false);
  });

  it("offer the mission's provinces, and a record's own province marked as not listed", () => {
    expect(provinceOptions(areas, '')).toEqual([
      { value: 'North Kivu', listed: true },
      { value: 'Ituri', listed: true },
    ]);
    expect(provinceOptions(areas, 'North Kivu')).toHaveLength(2);
    // An older record, or one from a laptop with an older configuration: kept as it is.
    expect(provinceOptions(areas, 'Nord Kivu')).toEqual([
      { value: 'North Kivu', listed: true },
      { value: 'Ituri', listed: true },
      { value: 'Nord Kivu', listed: false },
    ]);
    expect(provinceOptions(areas, '  ')).toHaveLength(2);
    // Another province chosen: the stored one is still offered, to go back to.
    expect(provinceOptions(areas, 'Ituri', 'Nord Kivu')).toEqual([
      { value: 'North Kivu', listed: true },
      { value: 'Ituri', listed: true },
      { value: 'Nord Kivu', listed: false },
    ]);
    expect(provinceOptions(areas, 'Nord Kivu', 'Nord Kivu')).toHaveLength(3);
  });

  it("offer the chosen province's districts, and a record's own district marked as not listed", () => {
    expect(districtOptions(areas, 'North Kivu', '')).toEqual([
      { value: 'Rutshuru', listed: true },
      { value: 'Masisi', listed: true },
    ]);
    expect(districtOptions(areas, 'North Kivu', 'Goma')).toEqual([
      { value: 'Rutshuru', listed: true },
      { value: 'Masisi', listed: true },
      { value: 'Goma', listed: false },
    ]);
  });

  it('offer the stored district while the stored province is chosen', () => {
    const stored = { province: 'North Kivu', district: 'Goma' };
    expect(districtOptions(areas, 'North Kivu', 'Masisi', stored)).toEqual([
      { value: 'Rutshuru', listed: true },
      { value: 'Masisi', listed: true },
      { value: 'Goma', listed: false },
    ]);
    expect(districtOptions(areas, 'Ituri', '', stored)).toBeNull();
  });

  it('leave the district to be typed where the province lists none, or is not the mission’s', () => {
    expect(districtOptions(areas, 'Ituri', 'Djugu')).toBeNull();
    expect(districtOptions(areas, 'Nord Kivu', 'Rutshuru')).toBeNull();
    // An inherited key is no province.
    expect(districtOptions(areas, 'constructor', '')).toBeNull();
  });

  it('offer no district before a province is chosen, bar one a draft already holds', () => {
    expect(districtOptions(areas, '', '')).toEqual([]);
    expect(districtOptions(areas, '', 'Masisi')).toEqual([{ value: 'Masisi', listed: false }]);
  });

  it('clear the district when the new province does not list it', () => {
    expect(districtAfter(areas, 'Ituri', 'Rutshuru')).toBe('');
    expect(districtAfter(areas, '', 'Rutshuru')).toBe('');
    expect(districtAfter(areas, 'North Kivu', 'Masisi')).toBe('Masisi');
    expect(districtAfter(areas, 'North Kivu', '')).toBe('');
    expect(districtAfter(areas, 'toString', 'Masisi')).toBe('');
  });

  it('bring the stored district back with the stored province', () => {
    const stored = { province: 'Nord Kivu', district: 'Rutshuru' };
    expect(districtAfter(areas, 'Ituri', 'Rutshuru', stored)).toBe('');
    expect(districtAfter(areas, 'Nord Kivu', '', stored)).toBe('Rutshuru');
    expect(districtAfter(areas, 'North Kivu', 'Masisi', { province: 'North Kivu', district: 'Goma' })).toBe('Masisi');
    expect(districtAfter(areas, 'North Kivu', '', { province: 'North Kivu', district: 'Goma' })).toBe('Goma');
  });
});

describe("the coordinates against the province's extent", () => {
  // One rule with the store's warning: the same cases as mrm_crdt::bounds's tests.
  const vectors = JSON.parse(readFileSync(new URL('../../crdt/testdata/area_bounds.json', import.meta.url), 'utf8')) as {
    bounds: Record<string, AreaBounds>;
    cases: { province: string; lat: number; lon: number; want: string; why: string }[];
  };

  it('say inside, outside, swapped or unknown as the store does', () => {
    expect(vectors.cases.length).toBeGreaterThan(10);
    for (const c of vectors.cases) {
      expect(placeCheck(vectors.bounds, c.province, c.lat, c.lon), c.why).toBe(c.want);
    }
  });

  it('say nothing without extents, or for a number not typed whole', () => {
    expect(placeCheck(undefined, 'North Kivu', -1.2, 29.4)).toBe('unknown');
    expect(placeCheck({}, 'North Kivu', -1.2, 29.4)).toBe('unknown');
    expect(placeCheck(vectors.bounds, 'North Kivu', Number.NaN, 29.4)).toBe('unknown');
    // A province named like an object's own property is no extent.
    expect(placeCheck(vectors.bounds, 'constructor', -1.2, 29.4)).toBe('unknown');
  });

  it('read coordinates typed with a decimal comma', () => {
    expect(parseCoord('-1,2')).toBe(-1.2);
    expect(parseCoord(' 29.4 ')).toBe(29.4);
    expect(parseCoord('29°4')).toBe(null);
  });
});
