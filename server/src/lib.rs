//! `mrm-server`: the mission sync endpoint. A stateless HTTP layer ([`api`]) over a storage
//! backend ([`storage::Storage`]; SQLite by default, [`sqlite`]). Every pushed batch passes
//! [`checks`] before anything of it is stored.

pub mod api;
pub mod checks;
pub mod model;
pub mod secret;
pub mod sqlite;
pub mod storage;

use std::net::SocketAddr;
use std::path::Path;

pub use sqlite::SqliteStorage;
pub use storage::{ServerError, Storage};

/// Serve the endpoint on `bind` over the SQLite database at `db` until Ctrl-C or SIGTERM.
pub async fn serve(db: &Path, bind: &str) -> Result<(), ServeError> {
    let storage = SqliteStorage::open(db)?;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| ServeError::Bind(bind.to_string(), e))?;
    let addr: SocketAddr = listener
        .local_addr()
        .map_err(|e| ServeError::Bind(bind.to_string(), e))?;
    // The bound address on stdout lets scripts and tests use port 0.
    println!("mrm serve: listening on http://{addr}");
    tracing::info!(%addr, "listening");
    axum::serve(listener, api::router(storage))
        .with_graceful_shutdown(shutdown())
        .await
        .map_err(|e| ServeError::Bind(bind.to_string(), e))
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
    #[error(transparent)]
    Storage(#[from] ServerError),
}
