//! MRM Field, the desktop app: a thin Tauri shell over `mrm-store` and `mrm-sync`. Commands
//! translate between the UI and the store ([`commands`]), a background thread syncs with the
//! mission endpoint ([`sync`]), and the store is opened in exactly one place ([`open`]).

pub mod activities;
pub mod caseload;
pub mod commands;
pub mod drafts;
pub mod error;
pub mod open;
pub mod parties;
pub mod reports;
pub mod state;
pub mod sync;

use std::path::PathBuf;

use tauri::Manager;

/// Command-line options: `--data DIR` puts the store somewhere other than the app-data folder.
fn data_arg() -> Result<Option<PathBuf>, String> {
    let mut args = std::env::args().skip(1);
    let mut data = None;
    while let Some(a) = args.next() {
        if a == "--data" {
            data = Some(PathBuf::from(args.next().ok_or("--data needs a folder")?));
        } else if let Some(v) = a.strip_prefix("--data=") {
            data = Some(PathBuf::from(v));
        } else if a == "--help" || a == "-h" {
            println!("usage: mrm-field [--data DIR]");
            std::process::exit(0);
        }
        // Other arguments (e.g. from a test driver) are ignored.
    }
    Ok(data)
}

/// Start the app.
pub fn run() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MRM_LOG")
                .unwrap_or_else(|_| "warn,mrm_field=info".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let data = match data_arg() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("mrm-field: {e}");
            std::process::exit(2);
        }
    };
    let result = tauri::Builder::default()
        .setup(move |app| {
            let dir = match data {
                Some(d) => d,
                None => app.path().app_data_dir()?,
            };
            let st = state::AppState::new(&dir).map_err(|e| {
                format!("cannot open the store in {}: {}", dir.display(), e.message)
            })?;
            tracing::info!(dir = %dir.display(), "store folder");
            sync::start(app.handle().clone(), dir, st.clone());
            app.manage(st);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::setup_store,
            commands::unlock,
            commands::lock,
            commands::change_passphrase,
            commands::enroll,
            commands::set_settings,
            commands::list_patrols,
            commands::get_patrol,
            commands::add_patrol,
            commands::edit_patrol,
            commands::caseload,
            commands::get_incident,
            commands::add_incident,
            commands::edit_incident,
            commands::verify,
            commands::review,
            commands::resolve,
            commands::split_incident,
            commands::dashboard,
            parties::unmatched_parties,
            parties::match_party,
            reports::report,
            reports::report_records,
            reports::periods,
            reports::period_report,
            reports::close_period,
            reports::export_report_xlsx,
            reports::export_factsheet,
            reports::export_caseload,
            commands::sync_status,
            commands::sync_now,
            commands::recover_identity,
            commands::cancel_sync,
            drafts::save_draft,
            drafts::get_draft,
            drafts::discard_draft,
            activities::list_activities,
            activities::get_activity,
            activities::add_activity,
            activities::edit_activity,
            activities::activity_figures,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("mrm-field: {e}");
        std::process::exit(1);
    }
}
