//! The real `mrm` binary on a store folder, for the CLI's end-to-end tests.

use std::path::Path;
use std::process::{Command, Output, Stdio};

pub const PASSPHRASE: &str = "test store passphrase";

/// Run `mrm --data DIR ARGS` with `stdin` on its standard input, whatever its exit status.
pub fn mrm(dir: &Path, args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_mrm"))
        .env_remove("MRM_DATA")
        .env("MRM_PASSPHRASE", PASSPHRASE)
        .env("MRM_BUNDLE_PASSPHRASE", "test bundle passphrase")
        .arg("--data")
        .arg(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mrm");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// [`mrm`] that must succeed; its standard output.
pub fn ok(dir: &Path, args: &[&str], stdin: &str) -> String {
    let out = mrm(dir, args, stdin);
    assert!(
        out.status.success(),
        "mrm {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// [`mrm`] that must be refused; its standard error.
#[allow(dead_code)]
pub fn refused(dir: &Path, args: &[&str], stdin: &str) -> String {
    let out = mrm(dir, args, stdin);
    assert!(
        !out.status.success(),
        "mrm {args:?} should have been refused"
    );
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// A new store of `officer`, team Goma of mission M, in `dir`.
pub fn init_as(dir: &Path, officer: &str) {
    ok(
        dir,
        &[
            "init",
            "--mission",
            "M",
            "--officer",
            officer,
            "--team",
            "Goma",
        ],
        "",
    );
}

/// A new store of officer Rose R., team Goma, in `dir`.
pub fn init(dir: &Path) {
    init_as(dir, "Rose R.");
}
