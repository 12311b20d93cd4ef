//! The TLS accept loop: rustls with ALPN (h2, http/1.1), hyper's automatic HTTP/1.1 + HTTP/2
//! connections, per-connection timeouts, a connection limit and graceful shutdown. Accepted
//! connections are served on the webhook workers ([`super::workers`]).

use std::sync::Arc;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use rustls::server::ResolvesServerCert;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use super::Limits;
use super::workers::Workers;

/// A rustls server configuration (TLS 1.2+) that serves what `resolver` holds.
pub fn server_config(resolver: Arc<dyn ResolvesServerCert>) -> Arc<ServerConfig> {
    let mut config = ServerConfig::builder_with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(config)
}

/// Serves the routes `make_router` makes over TLS on `listener`, each connection on one of
/// `workers`, until `shutdown` fires; then lets open connections finish (bounded by
/// `limits.shutdown_grace`) and stops the workers.
///
/// Each worker gets a router of its own, and so its own copy of the handlers' state: the
/// reference count every request takes on that state is then written by one core only.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    make_router: impl Fn() -> Router,
    limits: Limits,
    workers: Workers,
    shutdown: CancellationToken,
) {
    let routers: Vec<Router> = (0..workers.count()).map(|_| make_router()).collect();
    let acceptor = TlsAcceptor::from(tls);
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    // Typically EMFILE; back off briefly instead of spinning.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::warn!(limit = limits.max_connections, "connection limit reached; closing new connection");
            continue;
        };
        let _ = stream.set_nodelay(true);
        // Leave this runtime's I/O driver; the worker registers the socket with its own.
        let stream = match stream.into_std() {
            Ok(stream) => stream,
            Err(err) => {
                tracing::debug!(error = %err, "cannot hand the connection to a worker");
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let watcher = graceful.watcher();
        let executor = workers.executor();
        let routers = &routers;
        workers.spawn_connection(move |worker| {
            // Every worker number has its router (made above from the same count).
            let service = routers.get(worker).cloned().map(TowerToHyperService::new);
            async move {
                let _permit = permit;
                let Some(service) = service else { return };
                let stream = match TcpStream::from_std(stream) {
                    Ok(stream) => stream,
                    Err(err) => {
                        tracing::debug!(error = %err, "cannot register the connection");
                        return;
                    }
                };
                let tls_stream = match tokio::time::timeout(limits.handshake_timeout, acceptor.accept(stream)).await {
                    Ok(Ok(s)) => s,
                    Ok(Err(err)) => {
                        tracing::debug!(error = %err, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!("TLS handshake timed out");
                        return;
                    }
                };
                let mut builder = auto::Builder::new(executor);
                builder
                    .http1()
                    .timer(TokioTimer::new())
                    .header_read_timeout(limits.header_read_timeout)
                    .keep_alive(true);
                builder.http2().timer(TokioTimer::new()).keep_alive_interval(Some(std::time::Duration::from_secs(30)));
                let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls_stream), service);
                if let Err(err) = watcher.watch(conn.into_owned()).await {
                    tracing::debug!(error = %err, "connection ended with an error");
                }
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.shutdown_grace) => tracing::warn!("connections still open after the shutdown grace period"),
    }
    // Joining the threads blocks; the connections left after the grace period end with them.
    let _ = tokio::task::spawn_blocking(move || workers.stop()).await;
}
