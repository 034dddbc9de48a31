//! A generator of plausible, entirely fictional MRM data, for demos and benchmarks.
//! Deterministic for a given seed; uses coded victims only, never names.

use crate::Store;
use mrm_crdt::error::Result;
use mrm_crdt::input::*;
use mrm_crdt::model::*;

/// A tiny deterministic generator (SplitMix64): demo data needs no cryptographic randomness.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Provinces and territories used by the demo mission.
pub const AREAS: &[(&str, &[&str])] = &[
    ("North Kivu", &["Rutshuru", "Masisi", "Beni", "Lubero"]),
    ("South Kivu", &["Uvira", "Fizi", "Kalehe"]),
    ("Ituri", &["Djugu", "Irumu", "Mambasa"]),
];

/// Parties to conflict used by the demo mission (fictional names).
pub const PARTIES: &[&str] = &[
    "National Army",
    "Group Alpha",
    "Group Bravo",
    "Group Charlie",
];

const PLACES: &[&str] = &[
    "Kiwanja",
    "Nyanzale",
    "Kitchanga",
    "Oicha",
    "Bunia",
    "Baraka",
    "Minova",
];

/// A random incident patch dated within the last `days` days before `today`.
pub fn incident(rng: &mut Rng, today: chrono::NaiveDate, patrol: Option<&str>) -> IncidentPatch {
    let (admin1, admin2s) = *rng.pick(AREAS);
    let admin2 = *rng.pick(admin2s);
    let place = *rng.pick(PLACES);
    let occurred = today - chrono::Days::new(rng.below(700) + 2);
    let reported = occurred + chrono::Days::new(rng.below(2));
    let n_viol = 1 + rng.below(3) as usize;
    let violations = (0..n_viol)
        .map(|_| {
            let kind = *rng.pick(ViolationType::ALL);
            let children = kind.has_child_victims();
            let n = |rng: &mut Rng| if children { rng.below(3) as i64 } else { 0 };
            let mut boys = n(rng);
            let girls = n(rng);
            if children && boys + girls == 0 {
                boys = 1;
            }
            ViolationPatch {
                kind: Some(kind),
                victims: Some(VictimsPatch {
                    boys: Some(boys),
                    girls: Some(girls),
                    sex_unknown: Some(0),
                    coded: None,
                }),
                perpetrator: Some(PerpetratorPatch {
                    party: Some(rng.pick(PARTIES).to_string()),
                    category: Some(if rng.below(3) == 0 {
                        PerpetratorCategory::ArmedForce
                    } else {
                        PerpetratorCategory::ArmedGroup
                    }),
                    party_id: None,
                }),
                ..ViolationPatch::default()
            }
        })
        .collect();
    IncidentPatch {
        title: Some(format!(
            "{} reported near {place}",
            rng.pick(&["Attack", "Incident", "Abduction", "Recruitment"])
        )),
        occurred_on: Some(occurred.to_string()),
        reported_on: Some(reported.to_string()),
        location: Some(LocationPatch {
            admin1: Some(admin1.into()),
            admin2: Some(admin2.into()),
            place: Some(place.into()),
            ..LocationPatch::default()
        }),
        narrative: Some(format!(
            "Fictional demo narrative {}: community members described the events to the patrol.",
            rng.next_u64() % 100_000
        )),
        patrol_id: patrol.map(|p| Some(p.to_string())),
        sources: Some(vec![SourcePatch {
            kind: Some(*rng.pick(&[
                SourceKind::Eyewitness,
                SourceKind::Community,
                SourceKind::Victim,
            ])),
            consent: Some(true),
            ..SourcePatch::default()
        }]),
        violations: Some(violations),
        ..IncidentPatch::default()
    }
}

/// Reviewers' decisions on the demo incidents `ids`, so that the reports have figures: about
/// half the violations verified (some late), a few not verified, not MRM or did not occur, some
/// pending; each decided between the incident's date and yesterday. Nothing is written when the
/// store's role may not decide (an officer's). Returns how many decisions were recorded.
///
/// Errors: what [`Store::verify`] returns.
pub fn decide(store: &mut Store, ids: &[String], seed: u64) -> Result<usize> {
    use mrm_crdt::model::VerificationStatus as S;
    if !store.writer()?.decides() {
        return Ok(0);
    }
    let mut rng = Rng::new(seed ^ 0x5eed_dec1);
    let yesterday = crate::today() - chrono::Days::new(1);
    let mut n = 0;
    for id in ids {
        let inc = store.incident(id)?;
        let Some(occurred) = mrm_crdt::validate::parse_date(&inc.occurred_on) else {
            continue;
        };
        for v in &inc.violations {
            let status = match rng.below(100) {
                0..=44 => S::Verified,
                45..=49 => S::NotVerified,
                50..=52 => S::NotMrm,
                53..=54 => S::DidNotOccur,
                55..=64 => S::PendingVerification,
                _ => continue,
            };
            let day = (occurred + chrono::Days::new(rng.below(120))).min(yesterday);
            if day < occurred {
                continue;
            }
            let event = mrm_crdt::input::EventInput {
                status,
                at: Some(format!("{day}T10:00:00+02:00")),
                by: None,
                note: "Fictional demo decision.".into(),
                source_ids: Vec::new(),
                level: None,
                sources: None,
            };
            store.verify(id, &v.id, &event)?;
            n += 1;
        }
    }
    Ok(n)
}

/// Fill a store with `incidents` demo incidents across a few patrols; returns the incident ids.
pub fn populate(store: &mut Store, incidents: usize, seed: u64) -> Result<Vec<String>> {
    let mut rng = Rng::new(seed);
    let today = crate::today();
    let mut ids = Vec::new();
    let mut patrol = None;
    for i in 0..incidents {
        if i % 10 == 0 {
            let date = today - chrono::Days::new(rng.below(30) + 1);
            patrol = Some(store.add_patrol(&PatrolPatch {
                date: Some(date.to_string()),
                route: Some(vec![
                    rng.pick(PLACES).to_string(),
                    rng.pick(PLACES).to_string(),
                ]),
                participants: Some(vec!["CPA team".into()]),
                ..PatrolPatch::default()
            })?);
        }
        let id = store.add_incident(&incident(&mut rng, today, patrol.as_deref()))?;
        ids.push(id);
    }
    Ok(ids)
}
