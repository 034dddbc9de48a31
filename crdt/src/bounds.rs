//! A province's extent and where a record's coordinates fall against it: the mission
//! configuration may give each first-level admin area (`admin_areas`) a rectangle of latitude
//! and longitude (`area_bounds`), and coordinates outside their province's get a warning, in the
//! form as they are typed and wherever the store lists a record's warnings
//! ([`crate::validate::against_config`]). A warning, never a refusal: a rectangle is not a
//! border, and a patrol near one may rightly record a point just beyond it.
//!
//! The rule is also the app's (`ui/src/lib/areas.ts`, `placeCheck`); both are tested against
//! `crdt/testdata/area_bounds.json`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// At most this many extents in a configuration (a mission lists tens of provinces).
pub const MAX_BOUNDS: usize = 1_000;

/// A rectangle of latitude and longitude, in decimal degrees (WGS 84, as a GPS shows them).
/// `west` greater than `east` means the area crosses the 180th meridian.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AreaBounds {
    pub south: f64,
    pub west: f64,
    pub north: f64,
    pub east: f64,
}

/// How a point stands against its province's extent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlaceCheck {
    /// Within the extent (its edges included).
    Inside,
    /// Outside it.
    Outside,
    /// Outside it, but inside with latitude and longitude exchanged: the usual slip when a
    /// position is copied from a GPS.
    Swapped,
    /// The mission gives no extent for the province (or no province, or no number).
    Unknown,
}

impl AreaBounds {
    /// Whether (`lat`, `lon`) is within the rectangle, its edges included.
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        if !(self.south..=self.north).contains(&lat) {
            return false;
        }
        if self.west <= self.east {
            (self.west..=self.east).contains(&lon)
        } else {
            lon >= self.west || lon <= self.east
        }
    }

    /// Why these cannot be an extent: every number finite, latitudes within ±90 with the south
    /// not beyond the north, longitudes within ±180, and no wider than half the globe (a west
    /// and an east typed the wrong way round would otherwise read as a band around the world
    /// that leaves the province out, and warn of every right position in it).
    fn problem(&self) -> Option<&'static str> {
        let all = [self.south, self.west, self.north, self.east];
        if all.iter().any(|x| !x.is_finite()) {
            Some("holds a number that is not finite")
        } else if [self.south, self.north].iter().any(|x| x.abs() > 90.0) {
            Some("has a latitude beyond ±90")
        } else if [self.west, self.east].iter().any(|x| x.abs() > 180.0) {
            Some("has a longitude beyond ±180")
        } else if self.south > self.north {
            Some("has its south beyond its north")
        } else if (self.east - self.west).rem_euclid(360.0) > 180.0 {
            Some("is wider than half the globe: are its west and east the wrong way round?")
        } else {
            None
        }
    }
}

/// The extents a configuration document holds (`text`, JSON), read leniently: each that is an
/// extent of a listed province (when `provinces` lists any), whatever becomes of the others (not
/// an object, a number missing or out of range, fields this version does not know), at most
/// [`MAX_BOUNDS`]. Extents only warn, and a merge of two administrators' edits (one removing a
/// province, the other giving it an extent) must leave the configuration readable.
pub fn read_lenient(
    text: &str,
    provinces: &BTreeMap<String, Vec<String>>,
) -> BTreeMap<String, AreaBounds> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str(text) else {
        return BTreeMap::new();
    };
    map.into_iter()
        .filter_map(|(province, v)| {
            let at = |k: &str| v.get(k).and_then(serde_json::Value::as_f64);
            let b = AreaBounds {
                south: at("south")?,
                west: at("west")?,
                north: at("north")?,
                east: at("east")?,
            };
            let listed = provinces.is_empty() || provinces.contains_key(&province);
            (listed && b.problem().is_none()).then_some((province, b))
        })
        .take(MAX_BOUNDS)
        .collect()
}

/// Where (`lat`, `lon`) falls against `province`'s extent in `bounds`.
pub fn check(
    bounds: &BTreeMap<String, AreaBounds>,
    province: &str,
    lat: f64,
    lon: f64,
) -> PlaceCheck {
    let Some(b) = bounds.get(province) else {
        return PlaceCheck::Unknown;
    };
    if !lat.is_finite() || !lon.is_finite() {
        PlaceCheck::Unknown
    } else if b.contains(lat, lon) {
        PlaceCheck::Inside
    } else if b.contains(lon, lat) {
        PlaceCheck::Swapped
    } else {
        PlaceCheck::Outside
    }
}

/// Why `bounds` cannot be a mission's extents: more than [`MAX_BOUNDS`], one that is no
/// rectangle ([`AreaBounds`]), or one for a province the mission does not list (when it lists
/// any: `provinces`). Errors: [`Error::Invalid`] on `area_bounds`, naming the province.
pub fn check_all(
    bounds: &BTreeMap<String, AreaBounds>,
    provinces: &BTreeMap<String, Vec<String>>,
) -> Result<()> {
    let bad = |why: String| Err(Error::invalid("mission configuration", "area_bounds", why));
    if bounds.len() > MAX_BOUNDS {
        return bad(format!(
            "holds {} extents (at most {MAX_BOUNDS})",
            bounds.len()
        ));
    }
    for (province, b) in bounds {
        let name = crate::validate::cut(province);
        if let Some(why) = b.problem() {
            return bad(format!("the extent of `{name}` {why}"));
        }
        if !provinces.is_empty() && !provinces.contains_key(province) {
            return bad(format!("`{name}` is not one of the mission's provinces"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Vectors {
        bounds: BTreeMap<String, AreaBounds>,
        cases: Vec<Case>,
    }

    #[derive(Deserialize)]
    struct Case {
        province: String,
        lat: f64,
        lon: f64,
        want: PlaceCheckName,
        why: String,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum PlaceCheckName {
        Inside,
        Outside,
        Swapped,
        Unknown,
    }

    /// The cases the app's check is tested against, too.
    #[test]
    fn points_fall_as_the_shared_cases_say() {
        let v: Vectors =
            serde_json::from_str(include_str!("../testdata/area_bounds.json")).unwrap();
        assert!(v.cases.len() > 10);
        for c in &v.cases {
            let got = match check(&v.bounds, &c.province, c.lat, c.lon) {
                PlaceCheck::Inside => PlaceCheckName::Inside,
                PlaceCheck::Outside => PlaceCheckName::Outside,
                PlaceCheck::Swapped => PlaceCheckName::Swapped,
                PlaceCheck::Unknown => PlaceCheckName::Unknown,
            };
            assert_eq!(got, c.want, "{}", c.why);
        }
        check_all(&v.bounds, &BTreeMap::new()).unwrap();
    }

    /// A configuration document's extents: each good one kept, whatever the others hold.
    #[test]
    fn extents_are_read_one_by_one() {
        let listed: BTreeMap<String, Vec<String>> = [
            ("Ituri".to_string(), vec![]),
            ("North Kivu".to_string(), vec![]),
        ]
        .into();
        let text = r#"{
            "Ituri": {"south": 0.4, "west": 27.2, "north": 3.6, "east": 31.3, "later": 1},
            "North Kivu": {"south": "-2.1", "west": 27.2, "north": 0.95, "east": 29.98},
            "Nord Kivu": {"south": -2.1, "west": 27.2, "north": 0.95, "east": 29.98},
            "Tanganyika": 7
        }"#;
        let read = read_lenient(text, &listed);
        assert_eq!(read.keys().collect::<Vec<_>>(), ["Ituri"]);
        assert!(read_lenient("[1, 2]", &listed).is_empty());
        assert!(read_lenient("not json", &listed).is_empty());
        assert_eq!(read_lenient(text, &BTreeMap::new()).len(), 2);
    }

    #[test]
    fn a_point_that_is_no_number_is_unknown() {
        let v: Vectors =
            serde_json::from_str(include_str!("../testdata/area_bounds.json")).unwrap();
        for (lat, lon) in [(f64::NAN, 29.0), (-1.0, f64::INFINITY)] {
            assert_eq!(
                check(&v.bounds, "North Kivu", lat, lon),
                PlaceCheck::Unknown
            );
        }
    }

    /// Extents that are no rectangle, or name an unlisted province, are refused, naming it.
    #[test]
    fn extents_that_cannot_be_are_refused() {
        let listed: BTreeMap<String, Vec<String>> = [("Ituri".to_string(), vec![])].into();
        let one = |b: AreaBounds| BTreeMap::from([("Ituri".to_string(), b)]);
        let ok = AreaBounds {
            south: 0.4,
            west: 27.2,
            north: 3.6,
            east: 31.3,
        };
        check_all(&one(ok), &listed).unwrap();
        for b in [
            AreaBounds {
                south: f64::NAN,
                ..ok
            },
            AreaBounds { north: 91.0, ..ok },
            AreaBounds { east: -181.0, ..ok },
            AreaBounds { south: 4.0, ..ok },
            // West and east the wrong way round: a band around the world, the province left out.
            AreaBounds {
                west: 31.3,
                east: 27.2,
                ..ok
            },
        ] {
            let e = check_all(&one(b), &listed).unwrap_err().to_string();
            assert!(e.contains("Ituri"), "{e}");
        }
        let other = BTreeMap::from([("Nord Kivu".to_string(), ok)]);
        let e = check_all(&other, &listed).unwrap_err().to_string();
        assert!(e.contains("not one of the mission's provinces"), "{e}");
        let many: BTreeMap<String, AreaBounds> =
            (0..=MAX_BOUNDS).map(|i| (i.to_string(), ok)).collect();
        assert!(check_all(&many, &BTreeMap::new()).is_err());
    }
}
