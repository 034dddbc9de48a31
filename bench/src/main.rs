//! `mrm-bench`: the figures of MRM Field on this machine (the store, sync over loopback, the
//! MRM's reports). A developer's tool, built beside `mrm` and never shipped with it: performance
//! goals are figures printed here, never timed assertions in tests.

#![forbid(unsafe_code)]

use std::path::PathBuf;

use clap::{Parser, Subcommand};

mod caseload;
mod field;
mod import;
mod reports;
mod scale;
mod store;
mod sync;

#[derive(Parser)]
#[command(
    name = "mrm-bench",
    version,
    about = "Figures of MRM Field on this machine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Measure the store (durable edit, filtered list, open) and print figures.
    Store {
        /// Incidents in the measured store.
        #[arg(long, default_value_t = 2000)]
        incidents: usize,
        #[arg(long)]
        json: bool,
    },
    /// Measure sync over loopback (first pull, incremental sync, many devices at once, push size)
    /// against an endpoint started here, and print figures. Needs `mrm` beside this program.
    Sync {
        /// Incidents in the mission the reviewer pulls.
        #[arg(long, default_value_t = 10_000)]
        incidents: usize,
        /// Devices syncing at once.
        #[arg(long, default_value_t = 100)]
        devices: usize,
        /// New incidents each of those devices pushes.
        #[arg(long, default_value_t = 20)]
        per_device: usize,
        #[arg(long)]
        json: bool,
    },
    /// Sync over an emulated satellite link that keeps dropping (issue 16): a fresh reviewer's
    /// pull of the mission and a day's push, at each rate, and print figures.
    Field {
        /// Incidents in the mission (the demo generator's).
        #[arg(long, default_value_t = 10_000)]
        incidents: usize,
        /// Link rates to measure, in kbit/s each way.
        #[arg(long, value_delimiter = ',', default_value = "256,64")]
        kbps: Vec<u64>,
        /// Round trip, in milliseconds.
        #[arg(long, default_value_t = 1000)]
        rtt_ms: u64,
        /// Every connection is cut at this interval, in seconds.
        #[arg(long, default_value_t = 30.0)]
        drop_secs: f64,
        /// Incidents in the day's push.
        #[arg(long, default_value_t = 50)]
        day: usize,
        #[arg(long)]
        json: bool,
    },
    /// A thousand devices at once against one SQLite endpoint and against three PostgreSQL
    /// instances behind nginx (started here from Debian's packages), and print figures. Needs
    /// `mrm` beside this program.
    Scale {
        #[arg(long, default_value_t = 1000)]
        devices: usize,
        /// New incidents each device pushes.
        #[arg(long, default_value_t = 20)]
        per_device: usize,
        /// Incidents of the mission a fresh reviewer pulls from each backend.
        #[arg(long, default_value_t = 10_000)]
        mission_incidents: usize,
        #[arg(long)]
        json: bool,
    },
    /// How long a local edit waits while a large import goes in (in chunks, and in one
    /// transaction as before), and print figures.
    Import {
        /// Incidents in the imported mission.
        #[arg(long, default_value_t = 10_000)]
        incidents: usize,
        #[arg(long)]
        json: bool,
    },
    /// Measure each caseload filter (a page of 50 with the whole match's counts) over a large
    /// caseload made here, p50 and p99 (the same caseload as `reports`, with `--keep`).
    Caseload {
        #[arg(long, default_value_t = 100_000)]
        incidents: usize,
        /// Make the caseload in this folder once, and measure it again on later runs.
        #[arg(long)]
        keep: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Measure the MRM's reports over a large caseload made here (GHN, annual, workbook,
    /// factsheet) and print figures.
    Reports {
        #[arg(long, default_value_t = 100_000)]
        incidents: usize,
        /// Make the caseload in this folder once, and measure it again on later runs.
        #[arg(long)]
        keep: Option<PathBuf>,
        #[arg(long)]
        json: bool,
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
    let result = match Cli::parse().command {
        Command::Store { incidents, json } => store::run(incidents, json),
        Command::Sync {
            incidents,
            devices,
            per_device,
            json,
        } => sync::run(incidents, devices, per_device, json),
        Command::Import { incidents, json } => import::run(incidents, json),
        Command::Field {
            incidents,
            kbps,
            rtt_ms,
            drop_secs,
            day,
            json,
        } => field::run(incidents, &kbps, rtt_ms, drop_secs, day, json),
        Command::Scale {
            devices,
            per_device,
            mission_incidents,
            json,
        } => scale::run(devices, per_device, mission_incidents, json),
        Command::Reports {
            incidents,
            keep,
            json,
        } => reports::run(incidents, keep, json, false),
        Command::Caseload {
            incidents,
            keep,
            json,
        } => reports::run(incidents, keep, json, true),
    };
    if let Err(e) = result {
        eprintln!("mrm-bench: error: {}", format!("{e:#}").replace('\n', " "));
        std::process::exit(1);
    }
}
