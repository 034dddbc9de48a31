//! Where the CLI gets passphrases: `--passphrase-file`, then `MRM_PASSPHRASE`, then a prompt on
//! the terminal (never echoed). Scripts and tests use the first two; an officer types it.
//! Bundles have their own passphrase, shared by the two officers who exchange the USB stick:
//! `--bundle-passphrase-file`, `MRM_BUNDLE_PASSPHRASE`, or a prompt.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{bail, Context};
use mrm_crdt::crypto::Passphrase;
use mrm_store::Store;

/// The global `--passphrase-file` and `--bundle-passphrase-file` options, set once by `main`.
static FILES: OnceLock<(Option<PathBuf>, Option<PathBuf>)> = OnceLock::new();

/// Remember the passphrase files given on the command line.
pub fn set_files(store: Option<PathBuf>, bundle: Option<PathBuf>) {
    let _ = FILES.set((store, bundle));
}

fn from_file(path: &Path) -> anyhow::Result<Passphrase> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the passphrase file {}", path.display()))?;
    Ok(Passphrase::new(text))
}

/// Ask on the terminal; with `confirm`, ask twice and insist they match.
fn prompt(what: &str, confirm: bool) -> anyhow::Result<Passphrase> {
    if !std::io::stdin().is_terminal() && !std::io::stderr().is_terminal() {
        bail!(
            "{what} is needed: give it with {} or on a terminal",
            if what.contains("bundle") {
                "--bundle-passphrase-file or MRM_BUNDLE_PASSPHRASE"
            } else {
                "--passphrase-file or MRM_PASSPHRASE"
            }
        );
    }
    let first = Passphrase::new(rpassword::prompt_password(format!("{what}: "))?);
    if confirm {
        first.check_new()?;
        let again = rpassword::prompt_password(format!("{what} again: "))?;
        if Passphrase::new(again) != first {
            bail!("the two passphrases differ; nothing was changed");
        }
    }
    Ok(first)
}

fn get(file: Option<&PathBuf>, env: &str, what: &str, confirm: bool) -> anyhow::Result<Passphrase> {
    if let Some(f) = file {
        return from_file(f);
    }
    if let Ok(p) = std::env::var(env) {
        return Ok(Passphrase::new(p));
    }
    prompt(what, confirm)
}

/// The store's passphrase (`confirm` when choosing a new one).
pub fn passphrase(confirm: bool) -> anyhow::Result<Passphrase> {
    let file = FILES.get().and_then(|f| f.0.as_ref());
    get(file, "MRM_PASSPHRASE", "store passphrase", confirm)
}

/// The passphrase of a bundle (`confirm` when sealing one).
pub fn bundle_passphrase(confirm: bool) -> anyhow::Result<Passphrase> {
    let file = FILES.get().and_then(|f| f.1.as_ref());
    get(file, "MRM_BUNDLE_PASSPHRASE", "bundle passphrase", confirm)
}

/// Open the store in `data` with its passphrase.
pub fn open(data: &Path) -> anyhow::Result<Store> {
    if !data.join(mrm_store::DB_FILE).is_file() {
        // Say there is no store before asking for a passphrase to open it.
        return Err(mrm_crdt::Error::NotInitialised(data.display().to_string()).into());
    }
    let mut store = Store::open(data, &passphrase(false)?)?;
    store.set_device_clock(device_clock()?);
    Ok(store)
}

/// The environment variable that makes this run act as a laptop whose clock is off by that many
/// seconds (negative: behind), for drills and tests of merges across wrong clocks. The zone is
/// the system's (`TZ`).
pub const CLOCK_ERROR_ENV: &str = "MRM_CLOCK_ERROR_SECS";

fn device_clock() -> anyhow::Result<mrm_crdt::validate::DeviceClock> {
    let error = match std::env::var(CLOCK_ERROR_ENV) {
        Ok(s) => s
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(chrono::Duration::try_seconds)
            .ok_or_else(|| anyhow::anyhow!("{CLOCK_ERROR_ENV}={s} is not a number of seconds"))?,
        Err(_) => chrono::Duration::zero(),
    };
    Ok(mrm_crdt::validate::DeviceClock { error, zone: None })
}

/// A new passphrase for `passphrase change`: from `--new-passphrase-file`, then
/// `MRM_NEW_PASSPHRASE`, then the terminal (asked twice).
pub fn new_passphrase(file: Option<&PathBuf>) -> anyhow::Result<Passphrase> {
    get(file, "MRM_NEW_PASSPHRASE", "new store passphrase", true)
}
