// The mission's provinces and districts (the configuration's `admin_areas`) as lists to pick
// from in the incident form, kept pure for tests. The store refuses a province the mission does
// not list, and a district its province does not list when the province lists any
// (`mrm_crdt::validate::admin_areas_written`); a list offers only what it accepts.

/** Province -> its districts, as the mission configuration holds them. */
export type AdminAreas = Record<string, string[]>;

/** A value a list offers: one the mission lists, or the record's own value that it does not. */
export interface AreaOption {
  value: string;
  listed: boolean;
}

/** Whether the mission lists its provinces: the form then offers lists, else free text. */
export function listsAreas(areas: AdminAreas | null | undefined): boolean {
  return !!areas && Object.keys(areas).length > 0;
}

/** `listed`, then each of `held` the list lacks: a record written before the mission listed its
 * areas, or on a laptop with an older configuration, keeps its value, shown as unlisted, so that
 * opening and saving it never changes it without anyone choosing to, and choosing another value
 * can be taken back. */
function withHeld(listed: string[], held: string[]): AreaOption[] {
  const out = listed.map((value) => ({ value, listed: true }));
  for (const value of held) {
    if (value.trim() && !out.some((o) => o.value === value)) out.push({ value, listed: false });
  }
  return out;
}

const districtsOf = (areas: AdminAreas, province: string): string[] =>
  Object.hasOwn(areas, province) ? areas[province] : [];

/** The provinces to offer while the form holds `current` and the store holds `stored`. */
export function provinceOptions(areas: AdminAreas, current: string, stored = ''): AreaOption[] {
  return withHeld(Object.keys(areas), [current, stored]);
}

/** Where a stored record is: its province and district as the store holds them. */
export interface StoredArea {
  province: string;
  district: string;
}

/**
 * The districts to offer under `province` while the form holds `current`, with the stored
 * district while the province is the stored one; null when the province lists none (or is not the
 * mission's): the store then takes any district, so it is typed in. With no province chosen yet,
 * only what the form holds (a restored draft may hold a district).
 */
export function districtOptions(
  areas: AdminAreas,
  province: string,
  current: string,
  stored?: StoredArea | null,
): AreaOption[] | null {
  const held = [current, stored && stored.province === province ? stored.district : ''];
  if (!province) return withHeld([], held);
  const listed = districtsOf(areas, province);
  return listed.length ? withHeld(listed, held) : null;
}

/** The district once the province changes to `province`: kept when that province lists it, the
 * stored one again when the province goes back to the stored one, else cleared: never left under
 * a province it is not in. */
export function districtAfter(areas: AdminAreas, province: string, district: string, stored?: StoredArea | null): string {
  if (districtsOf(areas, province).includes(district)) return district;
  return stored && stored.province === province ? stored.district : '';
}

/** A province's extent as the mission configuration gives it (`area_bounds`): degrees of
 * latitude and longitude (WGS 84, as a GPS shows them); `west` greater than `east` when the
 * province crosses the 180th meridian. */
export interface AreaBounds {
  south: number;
  west: number;
  north: number;
  east: number;
}

/** How a point stands against its province: `inside` its extent, `outside` it, `swapped` (outside,
 * but inside with latitude and longitude exchanged: the usual slip when copying from a GPS), or
 * `unknown` when the mission gives no extent for the province. */
export type PlaceCheck = 'inside' | 'outside' | 'swapped' | 'unknown';

function within(b: AreaBounds, lat: number, lon: number): boolean {
  if (lat < b.south || lat > b.north) return false;
  return b.west <= b.east ? lon >= b.west && lon <= b.east : lon >= b.west || lon <= b.east;
}

/** Where `lat`, `lon` fall against `province`'s extent: the same rule as the store's warning
 * (mrm_crdt::bounds::check; both are tested against crdt/testdata/area_bounds.json). A warning, never
 * a refusal: an extent is a rectangle around a province, not its border. */
export function placeCheck(
  bounds: Record<string, AreaBounds> | null | undefined,
  province: string,
  lat: number,
  lon: number,
): PlaceCheck {
  const b = bounds && Object.hasOwn(bounds, province) ? bounds[province] : undefined;
  if (!b || !Number.isFinite(lat) || !Number.isFinite(lon)) return 'unknown';
  if (within(b, lat, lon)) return 'inside';
  return within(b, lon, lat) ? 'swapped' : 'outside';
}
