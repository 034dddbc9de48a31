//! `mrm-server`: the mission sync endpoint. A stateless HTTP layer ([`api`]) over the
//! [`service`], which owns every rule, over a [`repository::Repository`] that only stores
//! (SQLite by default, [`sqlite`]; any backend passes the [`conformance`] suite). Every pushed
//! batch passes [`checks`] before anything of it is stored.

pub mod api;
pub mod checks;
pub mod conformance;
pub mod error;
pub mod listen;
pub mod model;
pub mod page_cache;
pub mod postgres;
pub mod repository;
pub mod secret;
pub mod service;
pub mod sqlite;
pub mod tls;
pub mod uploads;

use std::net::SocketAddr;
use std::path::Path;

pub use error::ServerError;
pub use listen::Limits;
pub use postgres::PgRepository;
pub use repository::Repository;
pub use service::Service;
pub use sqlite::SqliteRepository;
pub use tls::TlsFiles;

/// The endpoint as `mrm serve` runs it: the service over the embedded SQLite repository.
pub type SqliteService = Service<SqliteRepository>;

/// The endpoint over PostgreSQL (`mrm serve --db postgres://…`).
pub type PgService = Service<PgRepository>;

/// Open the endpoint's SQLite database at `db` under `key` and the service over it.
///
/// Errors: [`ServerError::Unusable`] for a database in clear, under another key or at a newer
/// schema; [`ServerError::Internal`] when it cannot be read.
pub async fn open_sqlite(
    db: &Path,
    key: &mrm_crdt::crypto::Key,
) -> Result<SqliteService, ServerError> {
    Service::open(SqliteRepository::open(db, key)?).await
}

/// Serve the endpoint on `bind` over the SQLite database at `db`, encrypted under `key`
/// ([`sqlite::at_rest`]), until Ctrl-C or SIGTERM; over HTTPS when `tls` is given; every
/// connection within `limits` ([`listen`]).
pub async fn serve(
    db: &Path,
    key: &mrm_crdt::crypto::Key,
    bind: &str,
    tls: Option<&TlsFiles>,
    limits: Limits,
) -> Result<(), ServeError> {
    serve_service(open_sqlite(db, key).await?, bind, tls, limits).await
}

/// Open the endpoint's PostgreSQL database at `url` ([`PgRepository::open`]) and the service
/// over it.
pub async fn open_postgres(url: &str) -> Result<PgService, ServerError> {
    Service::open(PgRepository::open(url).await?).await
}

/// [`serve`] over the PostgreSQL database at `url`: one of several instances over one database,
/// behind a reverse proxy ([`postgres`]).
pub async fn serve_postgres(
    url: &str,
    bind: &str,
    tls: Option<&TlsFiles>,
    limits: Limits,
) -> Result<(), ServeError> {
    serve_service(open_postgres(url).await?, bind, tls, limits).await
}

async fn serve_service<R: Repository>(
    service: Service<R>,
    bind: &str,
    tls: Option<&TlsFiles>,
    limits: Limits,
) -> Result<(), ServeError> {
    let bind_err = |e| ServeError::Bind(bind.to_string(), e);
    let listener = std::net::TcpListener::bind(bind).map_err(bind_err)?;
    listener.set_nonblocking(true).map_err(bind_err)?;
    let addr: SocketAddr = listener.local_addr().map_err(bind_err)?;
    let config = tls.map(tls::config).transpose()?;
    let app = api::router_with(service, &limits);
    let scheme = if config.is_some() { "https" } else { "http" };
    // The bound address on stdout lets scripts and tests use port 0.
    say(&format!("mrm serve: listening on {scheme}://{addr}"));
    if let Some(files) = tls {
        say(&format!(
            "mrm serve: certificate sha256 {}",
            tls::fingerprint_of_pem(&files.cert)?
        ));
    }
    tracing::info!(%addr, tls = config.is_some(), connections = limits.max_connections, "listening");
    let listener = tokio::net::TcpListener::from_std(listener).map_err(bind_err)?;
    listen::serve(listener, app, config, limits, shutdown()).await;
    Ok(())
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
