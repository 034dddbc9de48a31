//! `mrm`: the MRM Field command line. A thin layer over `mrm-store`: it parses arguments, reads
//! JSON input, calls the store and prints. Errors print as one line and exit non-zero.

#![forbid(unsafe_code)]

// Printing never panics: a reader that closed the pipe (`mrm incident list | head -1`) or a closed
// terminal must not turn a command that stored its work into a crash (a script would retry it and
// record the incident twice). These shadow the standard macros in every module below; what cannot
// be written is dropped, and the command exits as it would have.
macro_rules! println {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}
macro_rules! print {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($t)*);
    }};
}
macro_rules! eprintln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

mod activity;
mod cmd;
mod list;
mod net;
mod parties;
mod period;
mod print;
mod report;
mod unlock;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// MRM Field: record and review grave violations against children, offline first.
#[derive(Parser)]
#[command(name = "mrm", version, about, propagate_version = true)]
struct Cli {
    /// The store's folder.
    #[arg(long, global = true, env = "MRM_DATA", default_value = "mrm-data")]
    data: PathBuf,
    /// Read the store's passphrase from this file (else `MRM_PASSPHRASE`, else a prompt).
    #[arg(long, global = true, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    /// Read the passphrase of USB bundles from this file (else `MRM_BUNDLE_PASSPHRASE`, else a
    /// prompt).
    #[arg(long, global = true, value_name = "FILE")]
    bundle_passphrase_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a new store for this device (refuses to overwrite one).
    Init {
        #[arg(long)]
        mission: String,
        #[arg(long)]
        officer: String,
        #[arg(long)]
        team: String,
    },
    /// Change the store's passphrase (the database is not rewritten).
    #[command(subcommand)]
    Passphrase(PassphraseCmd),
    /// Show this device's identity and what the store holds.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// After `mrm sync` said this store is a copy of another laptop's, or was restored from a
    /// backup: write its unsent work again under a new identity (the records read the same,
    /// nothing is retyped); then enroll with a new token and sync.
    Recover {
        #[arg(long)]
        json: bool,
    },
    /// The mission's party registry, and party names it does not know.
    #[command(subcommand)]
    Party(parties::PartyCmd),
    /// Releases of children from armed forces and groups.
    #[command(subcommand)]
    Release(activity::ActivityCmd),
    /// Trainings (national army, police, UN military, civilians, community).
    #[command(subcommand)]
    Training(activity::ActivityCmd),
    /// Engagements with parties to conflict: advocacy and negotiation.
    #[command(subcommand)]
    Engagement(activity::ActivityCmd),
    /// Patrols.
    #[command(subcommand)]
    Patrol(cmd::PatrolCmd),
    /// Incidents and their violations.
    #[command(subcommand)]
    Incident(cmd::IncidentCmd),
    /// Add a verification event to a violation.
    Verify {
        incident_id: String,
        violation_id: String,
        #[arg(long)]
        status: String,
        #[arg(long, default_value = "")]
        note: String,
        /// A source of the incident that supports this decision (repeatable).
        #[arg(long = "source")]
        sources: Vec<String>,
        /// The decision's tier: focal_point (the default), technical_review or task_force.
        #[arg(long, value_parser = ["focal_point", "technical_review", "task_force"])]
        level: Option<String>,
        /// How many primary sources the decision rests on (victims, eyewitnesses, UN direct
        /// observation). With --secondary and --un-eyewitness.
        #[arg(long)]
        primary: Option<i64>,
        /// How many secondary sources the decision rests on.
        #[arg(long)]
        secondary: Option<i64>,
        /// A UN staff member saw it.
        #[arg(long)]
        un_eyewitness: bool,
    },
    /// Exchange changes with another store through a file.
    #[command(subcommand)]
    Bundle(cmd::BundleCmd),
    /// Export data.
    #[command(subcommand)]
    Export(cmd::ExportCmd),
    /// The MRM's tables: the Global Horizontal Note and the annual report (docs/reporting.md).
    #[command(subcommand)]
    Report(report::ReportCmd),
    /// Reporting periods: close one to freeze its figures for the mission.
    #[command(subcommand)]
    Period(period::PeriodCmd),
    /// The headline figures.
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// Fill the store with fictional demo incidents.
    Demo {
        #[arg(long, default_value_t = 50)]
        incidents: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Run the mission sync endpoint.
    Serve {
        /// The endpoint's database: a SQLite file (created if missing), or a PostgreSQL
        /// database as `postgres://user@host/db` (`?host=/run/postgresql` for a unix socket),
        /// for several instances over one database.
        #[arg(long)]
        db: PathBuf,
        /// The file holding the database's key (a random secret; created with the database on a
        /// first start). `MRM_DB_KEY` may hold the secret itself instead.
        #[arg(long, env = "MRM_DB_KEY_FILE")]
        db_key_file: Option<PathBuf>,
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: String,
        /// Serve HTTPS with this certificate (PEM); needs --tls-key.
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM); needs --tls-cert.
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Connections open at once; more are closed on arrival [default: the descriptor limit
        /// less 64, at most 8192].
        #[arg(long)]
        max_connections: Option<usize>,
        /// Seconds a connection may wait before sending a request's headers (also between
        /// requests) before it is closed.
        #[arg(long, default_value_t = 30)]
        idle_timeout_secs: u64,
        /// Seconds a request body may take to arrive.
        #[arg(long, default_value_t = 300)]
        body_timeout_secs: u64,
    },
    /// Administer the sync endpoint's database.
    Admin {
        #[arg(long)]
        db: PathBuf,
        /// The file holding the database's key (see `mrm serve --help`).
        #[arg(long, env = "MRM_DB_KEY_FILE")]
        db_key_file: Option<PathBuf>,
        #[command(subcommand)]
        command: net::AdminCmd,
    },
    /// Enroll this store with the mission endpoint, using a one-time token from an admin.
    Enroll {
        #[arg(long)]
        server: String,
        /// The one-time token (for HTTPS it carries the endpoint's certificate fingerprint).
        #[arg(long)]
        token: String,
        /// The endpoint's certificate SHA-256 fingerprint, if the token does not carry it.
        #[arg(long)]
        fingerprint: Option<String>,
        /// Allow plain http to an endpoint on another machine (only on a network you trust:
        /// anyone on it could read the records and answer in the endpoint's place).
        #[arg(long)]
        allow_plain_http: bool,
    },
    /// Sync with the endpoint this store is enrolled with.
    Sync {
        #[arg(long)]
        json: bool,
        /// Attempts per step before giving up (transient failures are retried with backoff).
        #[arg(long, default_value_t = 5)]
        attempts: u32,
        /// Changes per pulled page.
        #[arg(long, default_value_t = mrm_crdt::protocol::PULL_PAGE)]
        page: i64,
    },
}

#[derive(Subcommand)]
enum PassphraseCmd {
    /// Replace the passphrase: the old one stops working at once.
    Change {
        /// Read the new passphrase from this file (else `MRM_NEW_PASSPHRASE`, else a prompt).
        #[arg(long, value_name = "FILE")]
        new_passphrase_file: Option<PathBuf>,
    },
}

fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MRM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        let msg = format!("{e:#}").replace('\n', " ");
        eprintln!("mrm: error: {msg}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let data = cli.data;
    unlock::set_files(cli.passphrase_file, cli.bundle_passphrase_file);
    match cli.command {
        Command::Init {
            mission,
            officer,
            team,
        } => {
            if data.join(mrm_store::DB_FILE).exists() {
                return Err(mrm_crdt::Error::AlreadyInitialised(data.display().to_string()).into());
            }
            let pass = unlock::passphrase(true)?;
            let store = mrm_store::Store::init(&data, &pass, &mission, &officer, &team)?;
            let d = store.device();
            println!(
                "initialised store at {} for {} ({} team {}), device {}",
                data.display(),
                d.officer,
                d.mission,
                d.team,
                d.device_id
            );
            Ok(())
        }
        Command::Passphrase(PassphraseCmd::Change {
            new_passphrase_file,
        }) => {
            let old = unlock::passphrase(false)?;
            // Check the old one before asking for a new one.
            mrm_store::unlock(&data, &old)?;
            let new = unlock::new_passphrase(new_passphrase_file.as_ref())?;
            mrm_store::Store::change_passphrase(&data, &old, &new)?;
            println!(
                "the passphrase of the store at {} is changed",
                data.display()
            );
            Ok(())
        }
        Command::Status { json } => cmd::status(&data, json),
        Command::Recover { json } => cmd::recover(&data, json),
        Command::Patrol(c) => cmd::patrol(&data, c),
        Command::Party(c) => parties::run(&data, c),
        Command::Release(c) => activity::run(&data, mrm_crdt::activity::ActivityKind::Release, c),
        Command::Training(c) => activity::run(&data, mrm_crdt::activity::ActivityKind::Training, c),
        Command::Engagement(c) => {
            activity::run(&data, mrm_crdt::activity::ActivityKind::Engagement, c)
        }
        Command::Incident(c) => cmd::incident(&data, c),
        Command::Verify {
            incident_id,
            violation_id,
            status,
            note,
            sources,
            level,
            primary,
            secondary,
            un_eyewitness,
        } => cmd::verify(
            &data,
            &incident_id,
            &violation_id,
            &status,
            note,
            sources,
            cmd::Ruling {
                level,
                counts: (primary.is_some() || secondary.is_some() || un_eyewitness).then(|| {
                    mrm_crdt::model::SourceCounts {
                        primary: primary.unwrap_or(0),
                        secondary: secondary.unwrap_or(0),
                        un_eyewitness,
                    }
                }),
            },
        ),
        Command::Bundle(c) => cmd::bundle(&data, c),
        Command::Export(c) => cmd::export(&data, c),
        Command::Report(c) => report::run(&data, c),
        Command::Period(c) => period::run(&data, c),
        Command::Stats { json } => cmd::stats(&data, json),
        Command::Demo { incidents, seed } => {
            let mut store = unlock::open(&data)?;
            let ids = mrm_store::demo::populate(&mut store, incidents, seed)?;
            let decided = mrm_store::demo::decide(&mut store, &ids, seed)?;
            println!("added {} demo incidents ({decided} decision(s))", ids.len());
            Ok(())
        }
        Command::Serve {
            db,
            db_key_file,
            bind,
            tls_cert,
            tls_key,
            max_connections,
            idle_timeout_secs,
            body_timeout_secs,
        } => {
            let tls = tls_cert
                .zip(tls_key)
                .map(|(cert, key)| mrm_server::TlsFiles { cert, key });
            let mut limits = mrm_server::Limits::for_this_process();
            if let Some(n) = max_connections {
                limits.max_connections = n.max(1);
            }
            limits.idle_timeout = std::time::Duration::from_secs(idle_timeout_secs.max(1));
            limits.body_timeout = std::time::Duration::from_secs(body_timeout_secs.max(1));
            if let Some(files) = &tls {
                mrm_server::tls::check(files)?;
            }
            let url = db.to_string_lossy();
            if mrm_server::postgres::is_postgres_url(&url) {
                return net::serve_postgres(&url, &bind, tls.as_ref(), limits);
            }
            let key = net::db_key(&db, db_key_file.as_deref(), false)?;
            net::serve(&db, &key, &bind, tls.as_ref(), limits)
        }
        Command::Admin {
            db,
            db_key_file,
            command,
        } => net::admin(&db, db_key_file.as_deref(), command),
        Command::Enroll {
            server,
            token,
            fingerprint,
            allow_plain_http,
        } => {
            if allow_plain_http {
                // Read by the sync client's check; this process does nothing else concurrently.
                std::env::set_var(mrm_sync::client::ALLOW_PLAIN_HTTP, "1");
            }
            net::enroll(&data, &server, &token, fingerprint.as_deref())
        }
        Command::Sync {
            json,
            attempts,
            page,
        } => net::sync(&data, json, attempts, page),
    }
}
