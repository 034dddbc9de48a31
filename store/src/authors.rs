//! Who wrote what, as the endpoint's device registry says (`document::REGISTRY_ID`): the names a
//! store shows are the registry's, never what a change said of itself; where that differs, the
//! record's own words are kept beside (`declared_by`).

use super::Store;
use mrm_crdt::document::{self, RecordKind};
use mrm_crdt::error::Result;
use mrm_crdt::model::Incident;

impl Store {
    /// Name the writer of the record, of every verification event and of every comment as the
    /// endpoint's registry does, keeping what the record said in `declared_by` where it differs
    /// (a store initialised under another name, a forgery). Writers the registry does not know
    /// keep their own words. Returns what the creation said of its author where it differs.
    pub(super) fn name_authors(
        &self,
        incident: &mut Incident,
        doc: &automerge::Automerge,
    ) -> Result<Option<String>> {
        use automerge::ReadDoc;
        let registry = self.registry()?;
        if registry.devices.is_empty() {
            return Ok(None);
        }
        let rename = |by: &mut String, declared: &mut Option<String>, actor: &str| {
            if let Some(d) = registry.author(actor) {
                if d.officer != *by {
                    *declared = Some(std::mem::replace(by, d.officer.clone()));
                }
            }
        };
        for v in &mut incident.violations {
            for e in &mut v.verification {
                if let Some((_, actor)) = e.id.split_once('@') {
                    let actor = actor.to_string();
                    rename(&mut e.by, &mut e.declared_by, &actor);
                }
            }
        }
        let authors = document::comment_authors(doc);
        for (c, actor) in incident.review.comments.iter_mut().zip(authors) {
            rename(&mut c.by, &mut c.declared_by, &actor);
        }
        let mut created = None;
        if let Ok(Some((_, automerge::ObjId::Id(_, actor, _)))) =
            doc.get(automerge::ROOT, "created_by")
        {
            rename(
                &mut incident.created_by,
                &mut created,
                &actor.to_hex_string(),
            );
        }
        Ok(created)
    }

    /// The endpoint's device registry, once it has arrived from the sync endpoint (empty before).
    pub fn registry(&self) -> Result<mrm_crdt::model::Registry> {
        match Store::load(&self.conn, document::REGISTRY_ID)? {
            Some((RecordKind::Registry, doc)) => document::read_registry(&doc),
            _ => Ok(mrm_crdt::model::Registry::default()),
        }
    }
}
