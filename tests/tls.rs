//! TLS with certificate pinning, over real `mrm serve` processes on loopback: a device enrolled
//! with the endpoint's fingerprint syncs; a different certificate later is refused clearly and
//! nothing is sent; enrollment without a fingerprint, or with a wrong one, is refused.

use std::path::{Path, PathBuf};
use std::process::Command;

use mrm_e2e::{Device, Server};
use serde_json::Value;

/// A self-signed certificate for 127.0.0.1, made with the openssl command.
fn self_signed(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let cert = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "30", "-subj", "/CN=mrm-test"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

fn stats(server: &Server) -> Value {
    serde_json::from_str(&server.admin(&["stats", "--json"], None)).unwrap()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn a_pinned_device_syncs_and_refuses_a_changed_certificate() {
    let tmp = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(tmp.path(), "first");
    let mut server = Server::start_tls(&tmp.path().join("endpoint.db"), "127.0.0.1:0", &cert, &key);
    let url = server.url();
    assert!(url.starts_with("https://"));

    // The token printed with --tls-cert carries the fingerprint: enrollment and sync work.
    let token = server.admin(
        &[
            "device",
            "enroll",
            "--officer",
            "a1",
            "--team",
            "A",
            "--role",
            "officer",
        ]
        .iter()
        .copied()
        .chain(["--tls-cert", cert.to_str().unwrap()])
        .collect::<Vec<_>>(),
        None,
    );
    let token = token.trim();
    assert!(token.contains("#sha256:"), "{token}");
    let a1 = Device::new(tmp.path(), "a1", "A");
    a1.mrm_ok(&["enroll", "--server", &url, "--token", token], None);
    a1.add_incident("Over TLS", "abduction");
    let report = a1.sync();
    assert!(report["pushed"].as_u64().unwrap() >= 1, "{report}");

    // Without a fingerprint, or with a wrong one, an https enrollment is refused.
    let plain = server.token("b1", "A", "officer");
    let b1 = Device::new(tmp.path(), "b1", "A");
    let out = b1.mrm(&["enroll", "--server", &url, "--token", &plain], None);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("fingerprint"), "{}", stderr(&out));
    let wrong = "ab".repeat(32);
    let out = b1.mrm(
        &[
            "enroll",
            "--server",
            &url,
            "--token",
            &plain,
            "--fingerprint",
            &wrong,
        ],
        None,
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("certificate has changed"),
        "{}",
        stderr(&out)
    );
    // The fingerprint given by hand (as mrm serve prints it) works.
    let pin = token.split("#sha256:").nth(1).unwrap();
    b1.mrm_ok(
        &[
            "enroll",
            "--server",
            &url,
            "--token",
            &plain,
            "--fingerprint",
            pin,
        ],
        None,
    );

    // The endpoint comes back with another certificate: the device refuses it, sends nothing.
    a1.add_incident("Must not leave the laptop", "maiming");
    let before = stats(&server);
    let (cert2, key2) = self_signed(tmp.path(), "second");
    server.kill();
    let server = Server::start_tls(&server.db, &server.addr, &cert2, &key2);
    let out = a1.mrm(&["sync", "--attempts", "1"], None);
    assert!(!out.status.success());
    let msg = stderr(&out);
    assert!(
        msg.contains("certificate has changed") && msg.contains(pin),
        "{msg}"
    );
    assert_eq!(
        stats(&server),
        before,
        "something was sent to the changed endpoint"
    );
}

#[test]
fn serve_refuses_unusable_tls_files_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let (cert, _key) = self_signed(tmp.path(), "c");
    let garbage = tmp.path().join("garbage.pem");
    std::fs::write(&garbage, "not a key").unwrap();
    let db = tmp.path().join("endpoint.db");
    let run = |args: &[&str]| {
        let mut all = mrm_e2e::serve_args(&db, "127.0.0.1:0");
        all.extend(args.iter().map(|a| a.to_string()));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        mrm_e2e::mrm(&all, None)
    };
    let out = run(&["--tls-cert", cert.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--tls-key"), "{}", stderr(&out));
    let out = run(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        garbage.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let msg = stderr(&out);
    assert!(
        msg.starts_with("mrm: error: TLS:") && msg.lines().count() == 1,
        "{msg}"
    );
}
