//! `mrm-server`: the mission sync endpoint. A stateless HTTP layer ([`api`]) over a storage
//! backend ([`storage::Storage`]; SQLite by default, [`sqlite`]). Every pushed batch passes
//! [`checks`] before anything of it is stored.

pub mod api;
pub mod checks;
pub mod model;
pub mod secret;
pub mod sqlite;
pub mod storage;
pub mod tls;

use std::net::SocketAddr;
use std::path::Path;

pub use sqlite::SqliteStorage;
pub use storage::{ServerError, Storage};
pub use tls::TlsFiles;

/// Serve the endpoint on `bind` over the SQLite database at `db` until Ctrl-C or SIGTERM; over
/// HTTPS when `tls` is given.
pub async fn serve(db: &Path, bind: &str, tls: Option<&TlsFiles>) -> Result<(), ServeError> {
    let storage = SqliteStorage::open(db)?;
    let bind_err = |e| ServeError::Bind(bind.to_string(), e);
    let listener = std::net::TcpListener::bind(bind).map_err(bind_err)?;
    listener.set_nonblocking(true).map_err(bind_err)?;
    let addr: SocketAddr = listener.local_addr().map_err(bind_err)?;
    let app = api::router(storage);
    match tls {
        None => {
            // The bound address on stdout lets scripts and tests use port 0.
            say(&format!("mrm serve: listening on http://{addr}"));
            tracing::info!(%addr, "listening");
            let listener = tokio::net::TcpListener::from_std(listener).map_err(bind_err)?;
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown())
                .await
                .map_err(bind_err)
        }
        Some(files) => {
            let config = tls::config(files).await?;
            let fingerprint = tls::fingerprint_of_pem(&files.cert)?;
            say(&format!("mrm serve: listening on https://{addr}"));
            say(&format!("mrm serve: certificate sha256 {fingerprint}"));
            tracing::info!(%addr, "listening with TLS");
            let handle = axum_server::Handle::new();
            let h = handle.clone();
            tokio::spawn(async move {
                shutdown().await;
                h.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
            });
            axum_server::from_tcp_rustls(listener, config)
                .handle(handle)
                .serve(app.into_make_service())
                .await
                .map_err(bind_err)
        }
    }
}

/// A line on stdout for the operator; a closed stdout (a script that read what it needed) must
/// not stop the endpoint.
fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|_| out.flush());
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// Why the endpoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {0}: {1}")]
    Bind(String, std::io::Error),
    #[error("TLS: {0}")]
    Tls(String),
    #[error(transparent)]
    Storage(#[from] ServerError),
}
