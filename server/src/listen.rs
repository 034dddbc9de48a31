//! Accepting connections with bounds, so that no client, idle, slow or many, holds the endpoint.
//!
//! `axum::serve` sets no timer, so a connection that never sends a request, or sends its headers
//! a byte at a time, stays open forever; with a few hundred of them the process runs out of file
//! descriptors and nobody syncs. Here every connection:
//! - counts against [`Limits::max_connections`] (derived from the descriptor limit); one over the
//!   limit is closed at once rather than left in the kernel's queue;
//! - must finish its TLS handshake within [`Limits::handshake_timeout`];
//! - must send a request's headers within [`Limits::idle_timeout`] of opening or of the previous
//!   response (hyper's header-read timer), else it is closed;
//! - must take what it is sent: a write that makes no progress for [`Limits::idle_timeout`] closes
//!   the connection (a client that asks and never reads would otherwise hold it forever, since
//!   the header timer only runs once the answer is out);
//! - and a request body must arrive within [`Limits::body_timeout`] (checked in the handlers,
//!   which read a body only after the credential is checked: see `api::read_body`).
//!
//! HTTP/1.1 only: the sync client needs nothing more, and one protocol is one set of limits.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

/// What one client may hold of the endpoint. Documented in docs/sync-protocol.md ("Limits").
#[derive(Debug, Clone)]
pub struct Limits {
    /// Connections open at once; the next is closed on accept. Default: from the process's
    /// descriptor limit, leaving room for the database (see [`Limits::for_this_process`]).
    pub max_connections: usize,
    /// Longest wait for a request's headers, from a connection's opening or its previous response.
    pub idle_timeout: Duration,
    /// Longest time a request body may take to arrive once the endpoint reads it.
    pub body_timeout: Duration,
    /// Longest time a TLS handshake may take.
    pub handshake_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1024,
            idle_timeout: Duration::from_secs(30),
            // A 4 MiB push batch takes about two minutes at 256 kbit/s; five leaves room for a
            // shared satellite link.
            body_timeout: Duration::from_secs(300),
            handshake_timeout: Duration::from_secs(15),
        }
    }
}

/// Largest request head (request line and headers) taken.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Descriptors kept for the database, its WAL, logs and the listener.
const RESERVED_DESCRIPTORS: u64 = 64;
/// Most connections whatever the descriptor limit.
const MOST_CONNECTIONS: u64 = 8192;

impl Limits {
    /// The defaults, with `max_connections` fitted to this process's descriptor limit (raised to
    /// its hard limit first): the limit less [`RESERVED_DESCRIPTORS`], at least 8, at most
    /// [`MOST_CONNECTIONS`].
    pub fn for_this_process() -> Limits {
        let available = raise_descriptor_limit().unwrap_or(1024);
        Limits {
            max_connections: available
                .saturating_sub(RESERVED_DESCRIPTORS)
                .clamp(8, MOST_CONNECTIONS) as usize,
            ..Limits::default()
        }
    }
}

/// Raise the soft descriptor limit to the hard one; returns the soft limit in force.
fn raise_descriptor_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return None;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max.min(65_536),
                rlim_max: lim.rlim_max,
            };
            if raised.rlim_cur > lim.rlim_cur && libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0
            {
                lim = raised;
            }
        }
    }
    Some(lim.rlim_cur)
}

/// Serve `app` on `listener` (TLS when `tls` is given) within `limits` until `shutdown`
/// completes; then stop accepting, let open requests finish for up to 10 s, and return.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (closing_tx, closing_rx) = watch::channel(false);
    let tls = tls.map(tokio_rustls::TlsAcceptor::from);
    let limits = Arc::new(limits);
    let mut refused_since_log = 0u64;
    let mut last_log = std::time::Instant::now() - Duration::from_secs(60);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors or memory: wait rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(stream);
            refused_since_log += 1;
            if last_log.elapsed() >= Duration::from_secs(10) {
                tracing::warn!(
                    refused = refused_since_log,
                    limit = limits.max_connections,
                    "connection limit reached; closing new connections"
                );
                refused_since_log = 0;
                last_log = std::time::Instant::now();
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let limits = limits.clone();
        let closing = closing_rx.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _slot = slot;
            match tls {
                None => connection(stream, app, &limits, closing).await,
                Some(acceptor) => {
                    match tokio::time::timeout(limits.handshake_timeout, acceptor.accept(stream))
                        .await
                    {
                        Ok(Ok(s)) => connection(s, app, &limits, closing).await,
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
    drop(listener);
    let _ = closing_tx.send(true);
    // Every connection holds a slot: all slots back means all connections closed.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(Duration::from_secs(10), slots.acquire_many(all)).await;
}

/// Serve HTTP/1.1 on one connection until it closes, times out or the endpoint shuts down.
async fn connection<IO>(io: IO, app: Router, limits: &Limits, mut closing: watch::Receiver<bool>)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.idle_timeout)
        // Headers beyond 16 KiB are refused (431): a device sends a few hundred bytes.
        .max_header_size(MAX_HEADER_BYTES);
    let mut io = tokio_io_timeout::TimeoutStream::new(io);
    io.set_write_timeout(Some(limits.idle_timeout));
    let conn = builder.serve_connection(TokioIo::new(Box::pin(io)), TowerToHyperService::new(app));
    tokio::pin!(conn);
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended");
                }
                return;
            }
            changed = closing.changed() => {
                conn.as_mut().graceful_shutdown();
                if changed.is_err() {
                    // The sender is gone; finish this connection without listening further.
                    let _ = conn.as_mut().await;
                    return;
                }
            }
        }
    }
}
