//! What a hostile client can make the endpoint spend, measured on a real `mrm serve` process:
//! compression bombs, floods of empty frames and oversized bodies from strangers leave its peak
//! memory (VmHWM) small while a health check keeps answering; idle and slow connections are
//! closed; refusals are audited with bounded fields.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use flate2::write::GzEncoder;
use flate2::Compression;
use mrm_e2e::{Device, Server};
use serde_json::Value;

const MIB: u64 = 1024 * 1024;

/// A kilobyte figure from /proc/PID/status (`VmHWM`, `VmRSS`).
fn status_kib(pid: u32, field: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// The framing of a push body (see mrm_crdt::bundle): magic, version, header, then frames.
fn frames_prefix(count: u64) -> Vec<u8> {
    let header = format!(
        r#"{{"mission":"MONUSCO","from_device":"x","created_at":"2026-11-30T00:00:00Z","count":{count}}}"#
    );
    let mut raw = b"MRMB\x01".to_vec();
    raw.extend_from_slice(&(header.len() as u32).to_le_bytes());
    raw.extend_from_slice(header.as_bytes());
    raw
}

/// One change frame claiming `len` bytes of zeros, then `extra` more zeros: a small gzip body
/// that inflates to `len + extra` bytes.
fn compression_bomb(len: u32, extra: u64) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    gz.write_all(&frames_prefix(1)).unwrap();
    gz.write_all(&[7u8; 16]).unwrap();
    gz.write_all(&len.to_le_bytes()).unwrap();
    let zeros = vec![0u8; MIB as usize];
    let mut left = u64::from(len) + extra;
    while left > 0 {
        let n = left.min(MIB);
        gz.write_all(&zeros[..n as usize]).unwrap();
        left -= n;
    }
    gz.finish().unwrap()
}

/// `count` empty frames (each: a record id and a zero length).
fn frame_flood(count: u64) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(&frames_prefix(count)).unwrap();
    let frame = [[1u8; 16].as_slice(), &0u32.to_le_bytes()].concat();
    let block: Vec<u8> = frame.repeat(4096);
    let mut left = count;
    while left > 0 {
        let n = left.min(4096);
        gz.write_all(&block[..(n as usize) * frame.len()]).unwrap();
        left -= n;
    }
    gz.finish().unwrap()
}

/// POST `body` to `path`; the status, or 0 when the endpoint closed the connection first (it may
/// answer a stranger before reading what they send).
fn post(url: &str, path: &str, cred: Option<&str>, body: Vec<u8>) -> (u16, Value) {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let mut req = client.post(format!("{url}{path}")).body(body);
    if let Some(c) = cred {
        req = req.header("Authorization", format!("Bearer {c}"));
    }
    match req.send() {
        Ok(r) => {
            let status = r.status().as_u16();
            (status, r.json().unwrap_or(Value::Null))
        }
        Err(_) => (0, Value::Null),
    }
}

#[test]
fn hostile_bodies_cost_the_endpoint_little_and_health_keeps_answering() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(&root.path().join("server.db"));
    let url = server.url();
    let officer = Device::enrolled(root.path(), "Awa D.", "Goma", "officer", &server, &url);
    let cred = officer.credential();

    // Made before the attack so that making them does not slow the health checks.
    // One largest change, then zeros: inflating stops at the push's bound.
    let bomb = compression_bomb(mrm_crdt::bundle::MAX_CHANGE, 480 * MIB);
    let flood = frame_flood(5_000_000);
    let small_flood = frame_flood(200_000);
    assert!(bomb.len() < 2 * MIB as usize && flood.len() < 4 * MIB as usize);
    let oversized = vec![b'x'; 31 * MIB as usize];
    let rss_before = status_kib(server.pid(), "VmRSS");
    let stats_before: Value =
        serde_json::from_str(&server.admin(&["stats", "--json"], None)).unwrap();

    // Health every 50 ms throughout; the slowest answer is kept.
    let done = Arc::new(AtomicBool::new(false));
    let health = {
        let (done, url) = (done.clone(), url.clone());
        thread::spawn(move || {
            let client = reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            let (mut slowest, mut n) = (Duration::ZERO, 0);
            while !done.load(Ordering::Relaxed) {
                let t = Instant::now();
                let ok = client
                    .get(format!("{url}/v1/health"))
                    .send()
                    .map(|r| r.status().is_success())
                    .unwrap_or(false);
                assert!(ok, "health failed during the attack");
                slowest = slowest.max(t.elapsed());
                n += 1;
                thread::sleep(Duration::from_millis(50));
            }
            (slowest, n)
        })
    };

    let mut attacks = Vec::new();
    for _ in 0..4 {
        let (url, cred, body) = (url.clone(), cred.clone(), bomb.clone());
        attacks.push(thread::spawn(move || {
            ("bomb", post(&url, "/v1/push", Some(&cred), body))
        }));
    }
    for body in [flood.clone(), flood, small_flood] {
        let (url, cred) = (url.clone(), cred.clone());
        attacks.push(thread::spawn(move || {
            ("flood", post(&url, "/v1/push", Some(&cred), body))
        }));
    }
    for i in 0..20 {
        let (url, body) = (url.clone(), oversized.clone());
        // Half with no credential, half with a wrong one of absurd length.
        let cred = (i % 2 == 1).then(|| format!("{}:{}", "z".repeat(10_000), "y"));
        attacks.push(thread::spawn(move || {
            ("stranger", post(&url, "/v1/push", cred.as_deref(), body))
        }));
    }
    for _ in 0..4 {
        let (url, body) = (url.clone(), oversized.clone());
        attacks.push(thread::spawn(move || {
            ("enroll", post(&url, "/v1/enroll", None, body))
        }));
    }
    for a in attacks {
        let (kind, (status, body)) = a.join().unwrap();
        match kind {
            "bomb" | "flood" => {
                assert_eq!(status, 413, "{kind}: {body}");
                assert_eq!(body["code"], "too_large", "{kind}: {body}");
            }
            "stranger" => assert!(status == 401 || status == 0, "{kind}: {status} {body}"),
            _ => assert!(status == 413 || status == 0, "{kind}: {status} {body}"),
        }
    }
    done.store(true, Ordering::Relaxed);
    let (slowest, checks) = health.join().unwrap();

    let peak = status_kib(server.pid(), "VmHWM");
    eprintln!(
        "endpoint memory: {} MiB before the attack, peak {} MiB; slowest health answer {:?} over {checks} checks",
        rss_before / 1024,
        peak / 1024,
        slowest
    );
    assert!(
        peak < 200 * 1024,
        "the endpoint's peak memory was {peak} KiB"
    );
    assert!(slowest < Duration::from_secs(1), "health took {slowest:?}");
    assert!(checks > 0);

    // Refusals are audited, with bounded fields, and nothing was stored.
    let audit: Value = serde_json::from_str(&server.admin(&["audit", "--json"], None)).unwrap();
    let entries = audit.as_array().unwrap();
    let too_large = entries
        .iter()
        .filter(|e| e["action"] == "push_refused")
        .filter(|e| {
            e["detail"]["reason"]
                .as_str()
                .unwrap_or("")
                .starts_with("too large")
        })
        .count();
    assert_eq!(too_large, 7, "{audit:#}");
    for e in entries {
        let id = e["device_id"].as_str().unwrap_or("");
        assert!(
            id.chars().count() <= 64,
            "an audit entry keeps a {}-character id",
            id.len()
        );
    }
    let stats: Value = serde_json::from_str(&server.admin(&["stats", "--json"], None)).unwrap();
    assert_eq!(stats, stats_before, "nothing was stored");
    // And the endpoint still serves its devices.
    officer.add_incident("After the attack", "abduction");
    let report = officer.sync();
    assert_eq!(report["held"].as_array().map_or(0, Vec::len), 0, "{report}");
    assert!(report["pushed"].as_u64().unwrap() > 0, "{report}");
}

/// Whether the endpoint closed `s` within `within` (a read returns end of file or an error).
fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            // A 408 or similar before closing is fine; keep reading to the close.
            Ok(_) => continue,
            Err(e) => {
                return !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                )
            }
        }
    }
}

#[test]
fn idle_and_slow_connections_are_closed_and_the_limit_holds() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        &root.path().join("server.db"),
        &["--idle-timeout-secs", "2", "--max-connections", "16"],
    );
    let addr = server.addr.clone();

    // Connections that never send, and one that sends its headers a byte every 300 ms.
    let mut idle: Vec<TcpStream> = (0..16)
        .map(|_| TcpStream::connect(&addr).unwrap())
        .collect();
    let slow = {
        let addr = addr.clone();
        thread::spawn(move || {
            let mut s = TcpStream::connect(&addr).unwrap();
            let started = Instant::now();
            for b in b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: "
                .iter()
                .cycle()
            {
                if s.write_all(&[*b]).is_err() || started.elapsed() > Duration::from_secs(20) {
                    break;
                }
                thread::sleep(Duration::from_millis(300));
            }
            started.elapsed()
        })
    };
    // While the slots are held, a new connection is closed at once rather than queued.
    thread::sleep(Duration::from_millis(300));
    let mut extra = TcpStream::connect(&addr).unwrap();
    assert!(
        closed_within(&mut extra, Duration::from_secs(1)),
        "the 17th connection was kept"
    );

    for (i, s) in idle.iter_mut().enumerate() {
        assert!(
            closed_within(s, Duration::from_secs(6)),
            "idle connection {i} is still open"
        );
    }
    let slow_for = slow.join().unwrap();
    assert!(
        slow_for < Duration::from_secs(6),
        "a slow client held its connection {slow_for:?}"
    );

    // A keep-alive connection is closed once it idles after an answer.
    let mut kept = TcpStream::connect(&addr).unwrap();
    kept.write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = [0u8; 12];
    kept.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200");
    assert!(
        closed_within(&mut kept, Duration::from_secs(6)),
        "an idle keep-alive connection stayed open"
    );

    // A client that asks and never reads its answers: once the endpoint cannot write, the
    // connection is closed after the idle timeout (the header timer does not run meanwhile).
    let pid = server.pid();
    let sockets = || {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .filter_map(|e| std::fs::read_link(e.unwrap().path()).ok())
            .filter(|l| l.to_string_lossy().starts_with("socket:"))
            .count()
    };
    let baseline = sockets();
    // Enough requests that their answers fill every buffer between the two ends (several MiB on
    // loopback): the client writes until it can write no more.
    let requests = b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n".repeat(10_000);
    let mut stalled = Vec::new();
    for _ in 0..3 {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.set_write_timeout(Some(Duration::from_millis(1500)))
            .unwrap();
        while s.write_all(&requests).is_ok() {}
        stalled.push(s);
    }
    let started = Instant::now();
    while sockets() > baseline && started.elapsed() < Duration::from_secs(10) {
        thread::sleep(Duration::from_millis(100));
    }
    assert!(
        sockets() <= baseline,
        "clients that never read held their connections {:?}",
        started.elapsed()
    );
    drop(stalled);

    // An enrollment body trickled a byte at a time is cut after the idle timeout, not the body
    // timeout: a stranger holds a connection no longer than an idle one.
    let mut trickle = TcpStream::connect(&addr).unwrap();
    trickle
        .write_all(b"POST /v1/enroll HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 16000\r\n\r\n{")
        .unwrap();
    let t = Instant::now();
    let mut answer = Vec::new();
    trickle
        .set_read_timeout(Some(Duration::from_millis(400)))
        .unwrap();
    while t.elapsed() < Duration::from_secs(8) {
        if trickle.write_all(b" ").is_err() {
            break;
        }
        let mut buf = [0u8; 512];
        match trickle.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
        if !answer.is_empty() {
            break;
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        t.elapsed() < Duration::from_secs(6),
        "a trickled body held on {:?}",
        t.elapsed()
    );

    // And after all that the endpoint serves.
    let mut fresh = TcpStream::connect(&addr).unwrap();
    fresh
        .write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut all = String::new();
    fresh.read_to_string(&mut all).unwrap();
    assert!(all.starts_with("HTTP/1.1 200"), "{all}");
}

#[test]
fn a_device_trickling_pushes_never_blocks_another_devices_push() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(&root.path().join("server.db"));
    let url = server.url();
    let slow = Device::enrolled(root.path(), "Slow S.", "Goma", "officer", &server, &url);
    let officer = Device::enrolled(root.path(), "Awa D.", "Goma", "officer", &server, &url);
    // Two push bodies announced at a megabyte each, sent a byte a second, by one device.
    let cred = slow.credential();
    let mut trickles = Vec::new();
    for _ in 0..3 {
        let mut s = TcpStream::connect(&server.addr).unwrap();
        s.write_all(
            format!(
                "POST /v1/push HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {cred}\r\nContent-Length: 1000000\r\n\r\n\x1f"
            )
            .as_bytes(),
        )
        .unwrap();
        trickles.push(s);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let dripper = {
        let stop = stop.clone();
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for s in trickles.iter_mut() {
                    let _ = s.write_all(b"\x8b");
                }
                thread::sleep(Duration::from_millis(500));
            }
        })
    };
    thread::sleep(Duration::from_millis(500));
    // Another officer's sync goes through meanwhile.
    officer.add_incident("Attack on Kiwanja", "killing");
    let t = Instant::now();
    let report = officer.sync();
    let took = t.elapsed();
    stop.store(true, Ordering::Relaxed);
    dripper.join().unwrap();
    assert!(report["pushed"].as_u64().unwrap() > 0, "{report}");
    eprintln!("another device's sync during the trickle took {took:?}");
    assert!(took < Duration::from_secs(20), "blocked for {took:?}");
}
