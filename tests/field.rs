//! Field conditions through the link emulator (`mrm_e2e::Link`): a satellite-like link of a few
//! hundred kbit/s that drops every few seconds. A cold pull and a day's push complete, store
//! every change once, and send little twice: requests are sized to the link (sync/src/pace.rs),
//! and what arrived of a page is kept, through a cut and a killed process, and only its rest
//! asked for (sync/src/pull.rs).

use std::time::Duration;

use mrm_e2e::{Device, Link, LinkSpec, Server};

/// The share of bytes sent twice these scenarios accept (issue 16: under a tenth). Measured
/// before pages were resumed by byte range: a quarter for the pull; before pages were sized to
/// the link, the pull never completed.
const MOST_SENT_TWICE: f64 = 0.10;

/// How often the link drops in these scenarios.
const DROP_EVERY: Duration = Duration::from_secs(6);

/// The link of these scenarios: 256 kbit/s each way, 300 ms round trip.
fn satellite(server: &Server) -> Link {
    Link::start(&server.addr, LinkSpec::new(256, 300))
}

fn incidents(d: &Device) -> usize {
    d.store().stats().unwrap().incidents as usize
}

#[test]
fn a_cold_pull_over_a_link_that_keeps_dropping_completes_and_sends_little_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("endpoint.db"));
    let officer = Device::enrolled(tmp.path(), "a1", "A", "officer", &server, &server.url());
    officer.mrm_ok(&["demo", "--incidents", "1000"], None);
    officer.sync();

    // The bytes a pull takes, over the same link without drops.
    let clean = satellite(&server);
    let rv1 = Device::enrolled(tmp.path(), "rv1", "HQ", "reviewer", &server, &clean.url());
    let before = clean.down_bytes();
    rv1.sync();
    let needed = clean.down_bytes() - before;

    let flaky = satellite(&server);
    let rv2 = Device::enrolled(tmp.path(), "rv2", "HQ", "reviewer", &server, &flaky.url());
    let before = flaky.down_bytes();
    flaky.drop_every(Some(DROP_EVERY));
    let out = rv2.mrm(&["sync", "--json"], None);
    flaky.drop_every(None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = flaky.down_bytes() - before;
    let resent = got.saturating_sub(needed) as f64 / needed as f64;
    eprintln!(
        "cold pull: {needed} bytes needed, {got} came over a link cut {} times: {:.1} % sent twice",
        flaky.cuts(),
        resent * 100.0
    );
    assert!(
        flaky.cuts() >= 1,
        "the link must have dropped during the pull"
    );
    // Every record once, everything the endpoint holds.
    assert_eq!(incidents(&rv2), 1000);
    let stats: serde_json::Value =
        serde_json::from_str(&server.admin(&["stats", "--json"], None)).unwrap();
    assert_eq!(
        rv2.store().change_count().unwrap(),
        stats["changes"].as_i64().unwrap()
    );
    assert_eq!(incidents(&rv1), 1000);
    // What a drop costs is what was in flight: the rest of a cut page is asked for by range.
    assert!(
        resent < MOST_SENT_TWICE,
        "{:.1} % sent twice",
        resent * 100.0
    );
}

#[test]
fn a_days_push_over_a_link_that_keeps_dropping_completes_and_sends_little_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("endpoint.db"));
    let clean = satellite(&server);
    let flaky = satellite(&server);
    let a1 = Device::enrolled(tmp.path(), "a1", "A", "officer", &server, &clean.url());
    let a2 = Device::enrolled(tmp.path(), "a2", "A", "officer", &server, &flaky.url());
    // The same 500 incidents on both (the same seed), each under its own identity.
    for d in [&a1, &a2] {
        d.mrm_ok(&["demo", "--incidents", "500", "--seed", "5"], None);
    }
    let before = clean.up_bytes();
    a1.sync();
    let needed = clean.up_bytes() - before;

    let before = flaky.up_bytes();
    flaky.drop_every(Some(DROP_EVERY));
    let out = a2.mrm(&["sync", "--json"], None);
    flaky.drop_every(None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sent = flaky.up_bytes() - before;
    let resent = sent.saturating_sub(needed) as f64 / needed as f64;
    eprintln!(
        "push: {needed} bytes needed, {sent} went over a link cut {} times: {:.1} % sent twice",
        flaky.cuts(),
        resent * 100.0
    );
    assert!(
        flaky.cuts() >= 1,
        "the link must have dropped during the push"
    );
    let stats: serde_json::Value =
        serde_json::from_str(&server.admin(&["stats", "--json"], None)).unwrap();
    assert_eq!(stats["changes"], stats["distinct_hashes"], "stored once");
    assert_eq!(a2.store().unpushed_count().unwrap(), 0);
    let rv = Device::enrolled(tmp.path(), "rv", "HQ", "reviewer", &server, &server.url());
    rv.sync();
    assert_eq!(incidents(&rv), 1000);
    assert!(
        resent < MOST_SENT_TWICE,
        "{:.1} % sent twice",
        resent * 100.0
    );
}

#[test]
fn a_device_killed_in_the_middle_of_a_page_resumes_from_the_bytes_it_had() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("endpoint.db"));
    let officer = Device::enrolled(tmp.path(), "a1", "A", "officer", &server, &server.url());
    officer.mrm_ok(&["demo", "--incidents", "300"], None);
    officer.sync();

    // A thin link (64 kbit/s), so that the first page (250 changes, about 75 kB) takes about
    // nine seconds.
    let thin = |server: &Server| Link::start(&server.addr, LinkSpec::new(64, 300));
    let link = thin(&server);
    let rv = Device::enrolled(tmp.path(), "rv", "HQ", "reviewer", &server, &link.url());
    let before = link.down_bytes();
    let mut sync = rv.spawn(&["sync", "--json"]);
    // The process is killed (SIGKILL, as a power cut or a crash would end it) about five
    // seconds into the first page.
    let started = std::time::Instant::now();
    while link.down_bytes() - before < 40_000 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the pull never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    sync.kill().unwrap();
    sync.wait().unwrap();
    let first_run = link.down_bytes() - before;
    let kept = rv
        .store()
        .pull_part()
        .unwrap()
        .expect("the bytes that arrived of the page are kept in the store");
    assert!(
        kept.bytes.len() > 20_000 && kept.bytes.len() as u64 <= first_run,
        "{} bytes kept of about {first_run} received",
        kept.bytes.len()
    );
    assert!(
        incidents(&rv) < 300,
        "the process must have been killed before the pull ended"
    );

    // Restarted, the sync asks for the rest of that page only, and completes.
    let before = link.down_bytes();
    let report = rv.sync();
    let second_run = link.down_bytes() - before;
    assert_eq!(
        report["resumed_bytes"].as_u64().unwrap(),
        kept.bytes.len() as u64,
        "{report}"
    );
    assert_eq!(incidents(&rv), 300);
    let stats: serde_json::Value =
        serde_json::from_str(&server.admin(&["stats", "--json"], None)).unwrap();
    assert_eq!(
        rv.store().change_count().unwrap(),
        stats["changes"].as_i64().unwrap()
    );
    assert!(
        rv.store().pull_part().unwrap().is_none(),
        "nothing left kept"
    );

    // What a fresh device takes for the same pull, without a kill.
    let clean = thin(&server);
    let rv2 = Device::enrolled(tmp.path(), "rv2", "HQ", "reviewer", &server, &clean.url());
    let before = clean.down_bytes();
    rv2.sync();
    let needed = clean.down_bytes() - before;
    let got = first_run + second_run;
    let resent = got.saturating_sub(needed) as f64 / needed as f64;
    eprintln!(
        "killed mid-page: {needed} bytes needed, {got} came ({first_run} before the kill, \
         {} of them kept): {:.1} % sent twice",
        kept.bytes.len(),
        resent * 100.0
    );
    // What is lost at a kill is what came after the part was last written (at most half a
    // second of the link) and what was in flight.
    assert!(resent < 0.10, "{:.1} % sent twice", resent * 100.0);
}
