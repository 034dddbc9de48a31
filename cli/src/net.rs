//! `mrm serve`, `mrm admin`, `mrm enroll` and `mrm sync`: the network side of the CLI.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Subcommand;
use mrm_crdt::model::MissionConfig;
use mrm_crdt::protocol::Role;
use mrm_sync::{self as sync, HttpTransport, Progress, SyncOptions};

#[derive(Subcommand)]
pub enum AdminCmd {
    /// Devices and their credentials.
    #[command(subcommand)]
    Device(DeviceCmd),
    /// The mission configuration.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// What the endpoint holds.
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// Rewrite a database written in clear by an earlier version encrypted under the key given
    /// (created if its file does not exist yet).
    Encrypt,
    /// Copy the endpoint's SQLite database, while it serves, to a new file (encrypted under the
    /// same key: keep the key file apart from it). On PostgreSQL, use pg_dump
    /// (docs/operations.md).
    Backup {
        /// The backup file to write; never overwritten.
        #[arg(long)]
        to: PathBuf,
    },
    /// Mark the database as restored from a backup made otherwise than by `mrm admin backup`
    /// (pg_restore, a copied file): every device then sends what the database may lack and
    /// reads the log again. Run it once, before the endpoint serves again.
    Restored,
    /// The audit log: enrollments, revocations, syncs, configuration changes, refusals.
    Audit {
        #[arg(long)]
        json: bool,
        /// Only entries from this date (YYYY-MM-DD) or time on.
        #[arg(long)]
        since: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum DeviceCmd {
    /// Register a device and print its one-time enrollment token.
    Enroll {
        #[arg(long)]
        officer: String,
        #[arg(long)]
        team: String,
        #[arg(long, value_parser = ["officer", "reviewer", "task_force", "admin"])]
        role: String,
        /// Hours until the token expires.
        #[arg(long, default_value_t = 72)]
        ttl_hours: u64,
        /// The endpoint's TLS certificate (PEM): the token then carries its fingerprint, which
        /// the device pins.
        #[arg(long)]
        tls_cert: Option<std::path::PathBuf>,
        /// Let the token enroll a store made by a version before 0.1.1, which cannot prove its
        /// actor id (anyone who has seen its changes could claim that id: use it only for a
        /// store you have in hand).
        #[arg(long)]
        legacy_store: bool,
    },
    /// List devices.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a device: its next request is refused.
    Revoke { id: String },
}

#[derive(Subcommand)]
pub enum ConfigCmd {
    /// Set the mission configuration from JSON ({"mission", "teams", "parties", "admin_areas"}).
    Set {
        #[arg(long, value_name = "FILE|-")]
        json: String,
    },
    /// Show the mission configuration.
    Show,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// The endpoint database's key: `MRM_DB_KEY` (the secret itself), else the key file. A key file
/// that does not exist beside a database that does not exist either is created, and said so.
pub fn db_key(
    db: &Path,
    key_file: Option<&Path>,
    encrypting: bool,
) -> anyhow::Result<mrm_crdt::crypto::Key> {
    use mrm_server::sqlite::at_rest::{load_key, refuse_clear, KeySource};
    if !encrypting {
        // Said first: a database in clear needs `encrypt`, whatever key is given.
        refuse_clear(db)?;
    }
    let source = match (std::env::var("MRM_DB_KEY").ok(), key_file) {
        (Some(secret), _) => KeySource::Secret(secret),
        (None, Some(f)) => KeySource::File(f.to_path_buf()),
        (None, None) => anyhow::bail!(
            "the endpoint's database is encrypted at rest: give its key with --db-key-file FILE \
             (or MRM_DB_KEY_FILE, or the secret itself in MRM_DB_KEY). On a first start FILE is \
             created; keep it apart from the database's backups"
        ),
    };
    let (key, created) = load_key(&source, db, encrypting)?;
    if created {
        if let KeySource::File(f) = &source {
            eprintln!(
                "mrm: created the database key file {} (keep it apart from the database's backups: \
                 without it the database cannot be read)",
                f.display()
            );
        }
    }
    Ok(key)
}

pub fn serve(
    db: &Path,
    key: &mrm_crdt::crypto::Key,
    bind: &str,
    tls: Option<&mrm_server::TlsFiles>,
    limits: mrm_server::Limits,
) -> anyhow::Result<()> {
    serve_runtime()?.block_on(mrm_server::serve(db, key, bind, tls, limits))?;
    Ok(())
}

/// The endpoint's runtime. Storage work runs on blocking threads: a bounded pool keeps
/// hundreds of waiting requests from each growing a thread (and its allocator arena) of their
/// own.
fn serve_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(16)
        .build()
        .context("cannot start the async runtime")
}

/// `mrm serve --db postgres://…`: the endpoint over PostgreSQL (no key file: the database's
/// encryption at rest is the database server's).
pub fn serve_postgres(
    url: &str,
    bind: &str,
    tls: Option<&mrm_server::TlsFiles>,
    limits: mrm_server::Limits,
) -> anyhow::Result<()> {
    serve_runtime()?.block_on(mrm_server::serve_postgres(url, bind, tls, limits))?;
    Ok(())
}

pub fn admin(db: &Path, key_file: Option<&Path>, c: AdminCmd) -> anyhow::Result<()> {
    if let AdminCmd::Encrypt = c {
        anyhow::ensure!(db.exists(), "no database at {}", db.display());
        let key = db_key(db, key_file, true)?;
        let tables = mrm_server::sqlite::at_rest::encrypt_in_place(db, &key)?;
        println!(
            "{} is now encrypted ({tables} tables); start `mrm serve` with the same key",
            db.display()
        );
        return Ok(());
    }
    let url = db.to_string_lossy();
    if let AdminCmd::Backup { to } = &c {
        anyhow::ensure!(
            !mrm_server::postgres::is_postgres_url(&url),
            "back up a PostgreSQL endpoint with pg_dump (docs/operations.md, \"Backups\")"
        );
        anyhow::ensure!(db.exists(), "no database at {}", db.display());
        let key = db_key(db, key_file, false)?;
        let r = mrm_server::sqlite::backup::backup(db, &key, to)?;
        println!(
            "backed up {} to {} ({} pages, {} bytes); it opens only with the key file",
            db.display(),
            to.display(),
            r.pages,
            r.bytes
        );
        return Ok(());
    }
    let rt = runtime()?;
    if mrm_server::postgres::is_postgres_url(&url) {
        let storage = rt.block_on(mrm_server::open_postgres(&url))?;
        return admin_with(&rt, &storage, c);
    }
    let key = db_key(db, key_file, false)?;
    let storage = rt.block_on(mrm_server::open_sqlite(db, &key))?;
    admin_with(&rt, &storage, c)
}

/// The administrator's commands, over either repository.
fn admin_with<R: mrm_server::Repository>(
    rt: &tokio::runtime::Runtime,
    storage: &mrm_server::Service<R>,
    c: AdminCmd,
) -> anyhow::Result<()> {
    match c {
        AdminCmd::Encrypt => anyhow::bail!("`encrypt` is for an endpoint's SQLite database"),
        AdminCmd::Backup { .. } => anyhow::bail!("`backup` is for an endpoint's SQLite database"),
        AdminCmd::Restored => {
            let epoch = rt.block_on(storage.mark_restored())?;
            println!(
                "marked restored (log epoch {epoch}): on their next sync, devices send what the \
                 database lacks and read the log again"
            );
        }
        AdminCmd::Device(DeviceCmd::Enroll {
            officer,
            team,
            role,
            ttl_hours,
            tls_cert,
            legacy_store,
        }) => {
            let role = Role::parse(&role).context("unknown role")?;
            let pin = tls_cert
                .as_deref()
                .map(mrm_server::tls::fingerprint_of_pem)
                .transpose()?;
            let (device, token) = rt.block_on(storage.create_enrollment(
                &officer,
                &team,
                role,
                Duration::from_secs(ttl_hours * 3600),
                legacy_store,
            ))?;
            eprintln!(
                "device {} for {} ({} team {}); the token below works once, for {ttl_hours} hours:",
                device.id,
                device.officer,
                role.as_str(),
                device.team
            );
            match pin {
                Some(pin) => println!("{}", mrm_sync::pin::token_with_pin(&token, &pin)),
                None => println!("{token}"),
            }
        }
        AdminCmd::Device(DeviceCmd::List { json }) => {
            let list = rt.block_on(storage.list_devices())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
                return Ok(());
            }
            println!("{} device(s)", list.len());
            for d in list {
                let state = match (&d.revoked_at, &d.enrolled_at) {
                    (Some(_), _) => "revoked",
                    (None, Some(_)) => "enrolled",
                    (None, None) => "token issued",
                };
                println!(
                    "{}  {:<20} {:<8} {:<9} {:<12} last sync {}",
                    d.id,
                    d.officer,
                    d.team,
                    d.role.as_str(),
                    state,
                    d.last_sync_at.as_deref().unwrap_or("never")
                );
            }
        }
        AdminCmd::Device(DeviceCmd::Revoke { id }) => {
            let d = rt.block_on(storage.revoke(&id))?;
            println!("revoked device {} ({})", d.id, d.officer);
        }
        AdminCmd::Config(ConfigCmd::Set { json }) => {
            let text = crate::cmd::read_json(&json)?;
            let cfg: MissionConfig =
                serde_json::from_str(&text).context("malformed configuration JSON")?;
            if rt.block_on(storage.set_config(&cfg))? {
                println!("mission configuration set; devices receive it on their next sync");
            } else {
                println!("nothing changed");
            }
        }
        AdminCmd::Config(ConfigCmd::Show) => match rt.block_on(storage.config())? {
            Some(c) => println!("{}", serde_json::to_string_pretty(&c)?),
            None => bail!("no mission configuration is set"),
        },
        AdminCmd::Audit { json, since } => {
            // Entries are stamped in UTC, so a time with an offset is compared in UTC too.
            let since = match since.as_deref() {
                None => None,
                Some(s) => Some(if let Some(d) = mrm_crdt::validate::parse_date(s) {
                    d.to_string()
                } else if let Some(t) = mrm_crdt::validate::parse_time(s) {
                    t.with_timezone(&chrono::Utc)
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                } else {
                    bail!("--since `{s}` is not a date (YYYY-MM-DD) or an RFC 3339 time");
                }),
            };
            let entries = rt.block_on(storage.audit_log(since.as_deref()))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&entries)?);
                return Ok(());
            }
            for e in entries {
                println!(
                    "{}  {:<18} {}  {}",
                    e.at,
                    e.action,
                    e.device_id.as_deref().unwrap_or("-"),
                    e.detail
                );
            }
        }
        AdminCmd::Stats { json } => {
            let s = rt.block_on(storage.stats())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                println!(
                    "{} changes ({} distinct), {} records, {} devices",
                    s.changes, s.distinct_hashes, s.records, s.devices
                );
            }
        }
    }
    Ok(())
}

pub fn enroll(
    data: &Path,
    server: &str,
    token: &str,
    fingerprint: Option<&str>,
) -> anyhow::Result<()> {
    let mut store = crate::unlock::open(data)?;
    let resp = runtime()?.block_on(sync::enroll(&mut store, server, token, fingerprint))?;
    println!(
        "enrolled with {} as {} {} of team {}; the endpoint's id of this device is {} (this store's own is {}: `mrm status` shows both)",
        server,
        resp.role.as_str(),
        resp.officer,
        resp.team,
        resp.device_id,
        store.device().device_id
    );
    Ok(())
}

/// Draws a one-line progress bar on a terminal; silent otherwise.
struct Bar {
    tty: bool,
}

impl Bar {
    fn draw(&self, p: &Progress) {
        if !self.tty {
            return;
        }
        let line = match p {
            Progress::Pushing {
                done,
                total,
                rate,
                secs_left,
                ..
            } => {
                let frac = if *total == 0 {
                    1.0
                } else {
                    *done as f64 / *total as f64
                };
                format!(
                    "pushing  {} {done}/{total}{}",
                    bar(frac),
                    pace(*rate, *secs_left)
                )
            }
            Progress::Pulling {
                done,
                remaining,
                rate,
                secs_left,
                ..
            } => {
                let total = *done as i64 + remaining;
                let frac = if total == 0 {
                    1.0
                } else {
                    *done as f64 / total as f64
                };
                format!(
                    "pulling  {} {done}/{total}{}",
                    bar(frac),
                    pace(*rate, *secs_left)
                )
            }
            Progress::Retrying {
                attempt,
                wait_ms,
                error,
            } => {
                format!("retrying (attempt {attempt}) in {wait_ms} ms: {error}")
            }
        };
        let mut err = std::io::stderr();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
    }
}

/// The measured rate (kbit/s, as a link is rated) and the time left, once known.
fn pace(rate: Option<u64>, secs_left: Option<u64>) -> String {
    match (rate, secs_left) {
        (Some(r), Some(s)) => format!(
            "  {:.0} kbit/s, {}:{:02} left",
            r as f64 * 8.0 / 1000.0,
            s / 60,
            s % 60
        ),
        _ => String::new(),
    }
}

fn bar(frac: f64) -> String {
    let w = 30;
    let filled = ((frac.clamp(0.0, 1.0)) * w as f64).round() as usize;
    format!("[{}{}]", "#".repeat(filled), ".".repeat(w - filled))
}

pub fn sync(data: &Path, json: bool, attempts: u32, page: i64) -> anyhow::Result<()> {
    if attempts == 0 || page <= 0 {
        bail!("--attempts and --page must be at least 1");
    }
    let mut store = crate::unlock::open(data)?;
    let state = store.sync_state()?.ok_or(mrm_crdt::Error::NotEnrolled)?;
    let transport = HttpTransport::new(
        &state.server_url,
        &state.device_id,
        &state.secret,
        state.tls_pin.as_deref(),
    )?
    .with_revocation_key(state.revocation_key.clone());
    let bar = Bar {
        tty: std::io::stderr().is_terminal() && !json,
    };
    let mut progress = |p: Progress| bar.draw(&p);
    let cancel = AtomicBool::new(false);
    let report = runtime()?.block_on(sync::sync(
        &mut store,
        &transport,
        &SyncOptions {
            attempts,
            pull_page: page,
            ..SyncOptions::default()
        },
        &mut progress,
        &cancel,
    ));
    if bar.tty {
        eprintln!();
    }
    let report = report?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        if report.identity_reused {
            bail!("this store reuses another store's identity; run `mrm recover`");
        }
        return Ok(());
    }
    // A change the endpoint already had was sent by an earlier sync whose answer was lost: it is
    // on the endpoint all the same, and "pushed 0" would say otherwise.
    let already = match report.push_duplicates {
        0 => String::new(),
        n => format!(" ({n} of them already on the endpoint: an earlier answer was lost)"),
    };
    println!(
        "synced with {}: sent {}{already}, pulled {}, {} record(s) changed, {} new conflict(s), {:.1} s",
        state.server_url,
        report.pushed + report.push_duplicates,
        report.pulled,
        report.records_changed.len(),
        report.new_conflicts,
        report.duration_ms as f64 / 1000.0
    );
    if report.resumed_bytes > 0 {
        println!(
            "resumed a page cut before: {} bytes that had arrived were not asked for again",
            report.resumed_bytes
        );
    }
    if report.relayed > 0 {
        println!(
            "relayed {} change(s) of colleagues that came by USB (each checked by the endpoint \
             as its author's)",
            report.relayed
        );
    }
    for w in &report.warnings {
        println!("warning: {w}");
    }
    // Named at every sync, not only the first refusal: held work is easy to forget.
    for h in &report.held {
        println!(
            "held on this laptop: record {} (since {}): {}",
            h.doc_id, h.held_at, h.reason
        );
    }
    for h in &report.held_inbound {
        println!(
            "waiting on this laptop: record {} (since {}): received changes cannot be applied yet: {}",
            h.doc_id, h.held_at, h.reason
        );
    }
    if report.identity_reused {
        // Everything else went through, but this store's work on those records cannot until
        // `mrm recover`: a script must notice.
        bail!("this store reuses another store's identity; run `mrm recover`");
    }
    Ok(())
}
