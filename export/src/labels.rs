//! The words of the exported files, in English and French (the app's two languages).

use mrm_crdt::model::ViolationType;
use mrm_crdt::report::Section;

/// The language of a factsheet or a workbook's headings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Fr,
}

impl std::str::FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "en" => Ok(Lang::En),
            "fr" => Ok(Lang::Fr),
            other => Err(format!("`{other}` is not a language of MRM Field (en, fr)")),
        }
    }
}

impl Lang {
    /// A violation type as reports name it.
    pub fn violation(self, k: ViolationType) -> &'static str {
        use ViolationType::*;
        match (self, k) {
            (Lang::En, Killing) => "Killing",
            (Lang::En, Maiming) => "Maiming",
            (Lang::En, RecruitmentUse) => "Recruitment and use",
            (Lang::En, SexualViolence) => "Rape and other sexual violence",
            (Lang::En, Abduction) => "Abduction",
            (Lang::En, AttackSchool) => "Attacks on schools",
            (Lang::En, AttackHospital) => "Attacks on hospitals",
            (Lang::En, MilitaryUseSchool) => "Military use of schools",
            (Lang::En, MilitaryUseHospital) => "Military use of hospitals",
            (Lang::En, DenialHumanitarianAccess) => "Denial of humanitarian access",
            (Lang::En, DeprivationLiberty) => "Deprivation of liberty",
            (Lang::Fr, Killing) => "Meurtre",
            (Lang::Fr, Maiming) => "Mutilation",
            (Lang::Fr, RecruitmentUse) => "Recrutement et utilisation",
            (Lang::Fr, SexualViolence) => "Viol et autres violences sexuelles",
            (Lang::Fr, Abduction) => "Enlèvement",
            (Lang::Fr, AttackSchool) => "Attaques contre des écoles",
            (Lang::Fr, AttackHospital) => "Attaques contre des hôpitaux",
            (Lang::Fr, MilitaryUseSchool) => "Utilisation militaire d’écoles",
            (Lang::Fr, MilitaryUseHospital) => "Utilisation militaire d’hôpitaux",
            (Lang::Fr, DenialHumanitarianAccess) => "Refus d’accès humanitaire",
            (Lang::Fr, DeprivationLiberty) => "Privation de liberté",
        }
    }

    /// A report table's name.
    pub fn section(self, s: Section) -> &'static str {
        match (self, s) {
            (Lang::En, Section::Verified) => "Verified",
            (Lang::En, Section::LateVerified) => "Late verification",
            (Lang::En, Section::Unverified) => "Unverified",
            (Lang::En, Section::NotVerified) => "Not verified",
            (Lang::Fr, Section::Verified) => "Vérifiées",
            (Lang::Fr, Section::LateVerified) => "Vérification tardive",
            (Lang::Fr, Section::Unverified) => "Non vérifiées",
            (Lang::Fr, Section::NotVerified) => "Pas pu être vérifiées",
        }
    }

    /// A fixed phrase by key (English when a key has no translation).
    pub fn t(self, key: &str) -> &'static str {
        let (en, fr) = match key {
            "title" => ("Children and armed conflict", "Enfants et conflits armés"),
            "grave" => (
                "Grave violations against children",
                "Violations graves contre des enfants",
            ),
            "verified_total" => ("grave violations verified", "violations graves vérifiées"),
            "children_total" => (
                "children affected by verified violations",
                "enfants victimes de violations vérifiées",
            ),
            "patrols" => ("patrols carried out", "patrouilles effectuées"),
            "unverified_total" => (
                "violations reported, pending verification",
                "violations signalées, en attente de vérification",
            ),
            "by_type" => (
                "Violations by type: verified and reported",
                "Violations par type : vérifiées et signalées",
            ),
            "verified" => ("verified", "vérifiées"),
            "reported" => ("reported", "signalées"),
            "by_sex" => (
                "Children affected by verified violations, by sex",
                "Enfants victimes de violations vérifiées, par sexe",
            ),
            "boys" => ("Boys", "Garçons"),
            "girls" => ("Girls", "Filles"),
            "unknown" => ("Sex unknown", "Sexe inconnu"),
            "multiple" => (
                "children affected by two or more verified violations",
                "enfants victimes de plusieurs violations vérifiées",
            ),
            "rules" => (
                "Counted by the MRM rules: verified includes late verifications made in the period; children are counted for killing, maiming, recruitment and use, sexual violence and abduction; attacks, military use and denial of access in incidents. Withdrawn violations and 'did not occur' or 'not MRM' decisions are left out.",
                "Décompte selon les règles du MRM : les vérifiées comprennent les vérifications tardives faites pendant la période ; les enfants sont comptés pour les meurtres, mutilations, recrutement et utilisation, violences sexuelles et enlèvements ; les attaques, l'utilisation militaire et le refus d'accès en incidents. Les violations retirées et les décisions « ne s'est pas produit » ou « hors MRM » sont exclues.",
            ),
            "made" => (
                "Made offline with MRM Field on",
                "Produit hors ligne avec MRM Field le",
            ),
            "flagged" => (
                "records counted here hold unsettled values; see the report.",
                "dossiers comptés ici contiennent des valeurs non tranchées ; voir le rapport.",
            ),
            "work" => ("The section's work", "Le travail de la section"),
            "released" => ("children released", "enfants libérés"),
            "releases" => ("release(s)", "libération(s)"),
            "trained" => ("people trained", "personnes formées"),
            "trainings" => ("training(s)", "formation(s)"),
            "of_trainers" => ("of trainers", "de formateurs"),
            "engagements" => (
                "engagements with parties",
                "échanges avec les parties",
            ),
            "advocacy" => ("advocacy", "plaidoyer"),
            "negotiation" => ("negotiation", "négociation"),
            _ => ("", ""),
        };
        match self {
            Lang::En => en,
            Lang::Fr => fr,
        }
    }
}
