//! Encryption at rest: what a stolen laptop or a lost USB stick gives up is ciphertext. Real
//! store folders on disk, read back byte for byte.

mod common;

use std::path::Path;

use common::*;
use mrm_crdt::bundle::{self, BundleHeader};
use mrm_crdt::crypto::{PageHmac, Passphrase};
use mrm_crdt::input::IncidentPatch;
use mrm_crdt::Error;
use mrm_store::Store;

/// A string no generator produces, so finding it anywhere means it leaked.
const NARRATIVE: &str = "Fictional marker narrative qzxv-7731 seen near the river crossing";

fn every_file(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(every_file(&path));
        } else {
            out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

fn assert_absent(dir: &Path, needle: &str) {
    for (name, bytes) in every_file(dir) {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{name} holds `{needle}` in clear"
        );
    }
}

fn store_with_narrative(dir: &Path) -> (Store, String) {
    let mut s = new_store(dir, "Officer A");
    let id = s.add_incident(&patch(incident_json("Marker"))).unwrap();
    s.edit_incident(
        &id,
        &IncidentPatch {
            narrative: Some(NARRATIVE.into()),
            ..IncidentPatch::default()
        },
    )
    .unwrap();
    (s, id)
}

#[test]
fn nothing_readable_is_on_disk_while_open_or_after_close() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let (store, id) = store_with_narrative(&dir);
    assert_eq!(store.incident(&id).unwrap().narrative, NARRATIVE);
    // While open: the WAL holds the latest pages; they are encrypted too.
    assert_absent(&dir, NARRATIVE);
    assert_absent(&dir, "Officer A");
    drop(store);
    assert_absent(&dir, NARRATIVE);
    assert_absent(&dir, "SQLite format 3");
    assert_eq!(open_store(&dir).incident(&id).unwrap().narrative, NARRATIVE);
}

#[test]
fn the_database_does_not_open_without_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    drop(store_with_narrative(&dir));
    // Plain SQLite (no key) sees no database at all.
    let conn = rusqlite::Connection::open(dir.join(mrm_store::DB_FILE)).unwrap();
    let read = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    });
    assert!(read.is_err(), "the database opened without its key");
}

#[test]
fn a_wrong_passphrase_is_refused_and_touches_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    drop(store_with_narrative(&dir));
    let before = every_file(&dir);
    let e = Store::open(&dir, &Passphrase::new("not the passphrase"))
        .err()
        .expect("refused");
    assert!(matches!(e, Error::WrongPassphrase), "{e}");
    assert_eq!(e.to_string(), "wrong passphrase");
    assert_eq!(every_file(&dir), before);
}

#[test]
fn a_passphrase_change_keeps_the_data_and_retires_the_old_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let (store, id) = store_with_narrative(&dir);
    drop(store);
    let db_before = std::fs::read(dir.join(mrm_store::DB_FILE)).unwrap();
    let new = Passphrase::new("a brand new passphrase");

    let short = Store::change_passphrase(&dir, &pass(), &Passphrase::new("short"));
    assert!(short.is_err(), "a too short passphrase was accepted");
    let wrong = Store::change_passphrase(&dir, &Passphrase::new("wrong one!"), &new);
    assert!(matches!(wrong, Err(Error::WrongPassphrase)));
    Store::open(&dir, &pass()).expect("failed changes leave the old passphrase working");

    Store::change_passphrase(&dir, &pass(), &new).unwrap();
    let db_after = std::fs::read(dir.join(mrm_store::DB_FILE)).unwrap();
    assert_eq!(db_before, db_after, "the database was rewritten");
    assert!(matches!(
        Store::open(&dir, &pass()),
        Err(Error::WrongPassphrase)
    ));
    let s = Store::open(&dir, &new).unwrap();
    assert_eq!(s.incident(&id).unwrap().narrative, NARRATIVE);
    assert!(!dir.join("key.json.partial").exists());
}

#[test]
fn a_weak_passphrase_is_refused_at_init() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let e = Store::init(&dir, &Passphrase::new("1234"), MISSION, "A", "Goma")
        .err()
        .expect("refused");
    assert!(e.to_string().contains("at least 8"), "{e}");
    assert!(!dir.join(mrm_store::DB_FILE).exists());
}

#[test]
fn bundles_are_sealed_to_a_passphrase() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, id) = store_with_narrative(&tmp.path().join("a"));
    let changes = store.changes_missing_from(None).unwrap();
    let header = BundleHeader {
        mission: MISSION.into(),
        from_device: store.device().device_id.clone(),
        created_at: "2026-11-28T00:00:00Z".into(),
        count: changes.len() as u64,
    };
    let plain = bundle::encode(&header, &changes).unwrap();
    let stick = Passphrase::new("shared bundle passphrase");
    let sealed = bundle::seal(&stick, &plain).unwrap();
    assert!(bundle::is_sealed(&sealed));
    for needle in [NARRATIVE, "Officer A", MISSION, id.as_str()] {
        assert!(
            !sealed.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "the sealed bundle shows `{needle}`"
        );
    }
    assert!(matches!(
        bundle::open_sealed(&Passphrase::new("another passphrase"), &sealed),
        Err(Error::BundleUnreadable)
    ));
    let mut damaged = sealed.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 0x40;
    assert!(matches!(
        bundle::open_sealed(&stick, &damaged),
        Err(Error::BundleUnreadable)
    ));
    assert!(bundle::open_sealed(&stick, &sealed[..7]).is_err());

    let opened = bundle::open_sealed(&stick, &sealed).unwrap();
    let mut other = new_store(&tmp.path().join("b"), "Officer B");
    other.import(opened.changes).unwrap();
    assert_eq!(other.incident(&id).unwrap().narrative, NARRATIVE);
}

/// A store made before HMAC-SHA256 became the page MAC (SQLCipher 4's default HMAC-SHA512, and a
/// key file that does not name its MAC) still opens, with its data, and keeps its format across a
/// passphrase change.
#[test]
fn a_store_with_sqlcipher_default_page_macs_still_opens() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let (store, id) = store_with_narrative(&dir);
    let key = store.key().unwrap().clone();
    assert_eq!(key.page_hmac(), PageHmac::Sha256);
    drop(store);
    // Rewrite the database with SQLCipher's defaults, as an older build made it.
    let db = dir.join(mrm_store::DB_FILE);
    let old = dir.join("old.sqlite");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.pragma_update(None, "key", &*key.sqlcipher_literal())
        .unwrap();
    conn.execute_batch(key.page_hmac().sqlcipher_pragmas())
        .unwrap();
    conn.execute(
        &format!(
            "ATTACH DATABASE '{}' AS old KEY \"{}\"",
            old.display(),
            &*key.sqlcipher_literal()
        ),
        [],
    )
    .unwrap();
    conn.execute_batch(
        &PageHmac::Sha512
            .sqlcipher_pragmas()
            .replace("PRAGMA ", "PRAGMA old."),
    )
    .unwrap();
    conn.query_row("SELECT sqlcipher_export('old')", [], |_| Ok(()))
        .unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    conn.pragma_update(Some("old"), "user_version", version)
        .unwrap();
    drop(conn);
    std::fs::rename(&old, &db).unwrap();
    let key_file = dir.join(mrm_store::KEY_FILE);
    let mut file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&key_file).unwrap()).unwrap();
    assert_eq!(file["page_hmac"], "sha256");
    file.as_object_mut().unwrap().remove("page_hmac");
    std::fs::write(&key_file, serde_json::to_vec(&file).unwrap()).unwrap();

    let s = Store::open(&dir, &pass()).unwrap();
    assert_eq!(s.key().unwrap().page_hmac(), PageHmac::Sha512);
    assert_eq!(s.incident(&id).unwrap().narrative, NARRATIVE);
    drop(s);
    let new = Passphrase::new("a new passphrase for the old store");
    Store::change_passphrase(&dir, &pass(), &new).unwrap();
    let s = Store::open(&dir, &new).unwrap();
    assert_eq!(s.key().unwrap().page_hmac(), PageHmac::Sha512);
    assert_eq!(s.incident(&id).unwrap().narrative, NARRATIVE);
    assert_absent(&dir, NARRATIVE);
}

/// A store written by the build before the store computed SQLCipher's pages itself (SQLCipher's
/// OpenSSL provider, schema 6, HMAC-SHA256), kept as it was on disk: it opens, reads and takes new
/// edits with today's page functions, and reopens after them.
#[test]
fn a_store_written_with_the_openssl_provider_opens_and_takes_edits() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/openssl-store");
    for name in [mrm_store::DB_FILE, mrm_store::KEY_FILE] {
        std::fs::copy(fixture.join(name), tmp.path().join(name)).unwrap();
    }
    let pass = Passphrase::new("fixture passphrase");
    let id = "01a22606-77b9-719b-9d48-00cce9114b39";
    let written = "Fixture narrative written through the OpenSSL provider.";
    let mut s = Store::open(tmp.path(), &pass).unwrap();
    assert_eq!(s.incident(id).unwrap().narrative, written);
    let page = s
        .list_incidents(&mrm_store::IncidentFilter::default())
        .unwrap();
    assert_eq!(page.total, 3);
    assert_eq!(page.items.len(), 3);
    // Schema 8's column, computed from the documents at the first open.
    for row in &page.items {
        let inc = s.incident(&row.id).unwrap();
        assert_eq!(row.attention, mrm_store::attention(&inc), "{}", row.id);
    }
    s.edit_incident(
        id,
        &IncidentPatch {
            narrative: Some(NARRATIVE.into()),
            ..IncidentPatch::default()
        },
    )
    .unwrap();
    drop(s);
    let s = Store::open(tmp.path(), &pass).unwrap();
    assert_eq!(s.incident(id).unwrap().narrative, NARRATIVE);
    assert!(matches!(
        Store::open(tmp.path(), &Passphrase::new("not the fixture one")),
        Err(Error::WrongPassphrase)
    ));
}

#[test]
fn drafts_are_sealed_survive_a_reopen_and_go_with_a_wipe() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let store = new_store(&dir, "Awa D.");
    let form = serde_json::json!({"title": "", "narrative": "Typed before the lock at Kiwanja"});
    store.save_draft("new:", &form).unwrap();
    store
        .save_draft("edit:abc", &serde_json::json!({"narrative": "second"}))
        .unwrap();
    assert_absent(&dir, "Kiwanja");
    drop(store);

    // A restart: the draft is there, as typed; the others are listed; drafts never sync.
    let store = Store::open(&dir, &pass()).unwrap();
    let d = store.draft("new:").unwrap().unwrap();
    assert_eq!(d.form, form);
    assert_eq!(store.drafts().unwrap().len(), 2);
    assert_eq!(store.unpushed_count().unwrap(), 0);
    assert!(store.changes_missing_from(None).unwrap().is_empty());
    // A draft file put under another draft's name is not taken for it.
    let drafts = dir.join(mrm_store::DRAFTS_DIR);
    let names: Vec<_> = std::fs::read_dir(&drafts)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let (a, b) = (&names[0], &names[1]);
    let a_bytes = std::fs::read(a).unwrap();
    std::fs::write(b, &a_bytes).unwrap();
    assert_eq!(store.drafts().unwrap().len(), 1);
    // Another store's key opens none of them.
    let other = new_store(&tmp.path().join("other"), "Omar O.");
    std::fs::create_dir_all(tmp.path().join("other").join(mrm_store::DRAFTS_DIR)).unwrap();
    std::fs::copy(
        a,
        tmp.path()
            .join("other")
            .join(mrm_store::DRAFTS_DIR)
            .join(a.file_name().unwrap()),
    )
    .unwrap();
    assert!(other.drafts().unwrap().is_empty());
    // Discarded, it is gone; a wipe takes the rest.
    store.discard_draft("new:").unwrap();
    assert!(store.draft("new:").unwrap().is_none());
    let mut store = store;
    store.wipe().unwrap();
    assert!(!drafts.exists());
}
