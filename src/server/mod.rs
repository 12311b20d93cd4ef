//! The network edge: the TLS webhook listener, its routes, and the plain-HTTP admin listener.

pub mod admin;
pub mod tls;
pub mod webhooks;
pub mod workers;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Whether this replica should receive traffic: certificate loaded, caches synced, not draining.
#[derive(Debug)]
pub struct Readiness {
    cert_loaded: AtomicBool,
    caches_synced: AtomicBool,
    draining: AtomicBool,
}

impl Default for Readiness {
    fn default() -> Self {
        Readiness {
            cert_loaded: AtomicBool::new(false),
            // Without controllers there is no cache to wait for.
            caches_synced: AtomicBool::new(true),
            draining: AtomicBool::new(false),
        }
    }
}

impl Readiness {
    pub fn set_cert_loaded(&self) {
        self.cert_loaded.store(true, Ordering::SeqCst);
    }
    pub fn set_caches_synced(&self, synced: bool) {
        self.caches_synced.store(synced, Ordering::SeqCst);
    }
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
    pub fn is_ready(&self) -> bool {
        self.cert_loaded.load(Ordering::SeqCst) && self.caches_synced.load(Ordering::SeqCst) && !self.is_draining()
    }
}

/// Protections of the webhook listener against slow or abusive clients.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub handshake_timeout: Duration,
    pub header_read_timeout: Duration,
    pub request_timeout: Duration,
    pub max_connections: usize,
    /// How long open connections may finish after the listener closes.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 8 * 1024 * 1024,
            handshake_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 4096,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::admission::{ClusterView, RemoteUrlPolicy};
use crate::metrics::Metrics;

/// Everything needed to start both listeners.
pub struct ServerOptions {
    pub webhook_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    pub tls: Arc<rustls::ServerConfig>,
    pub policy: RemoteUrlPolicy,
    pub cluster: Arc<dyn ClusterView>,
    pub metrics: Arc<Metrics>,
    pub readiness: Arc<Readiness>,
    pub limits: Limits,
    /// Cancelling it stops both listeners.
    pub shutdown: CancellationToken,
    /// Also serve `POST /ceiling`, the fixed-response handler the load test compares against.
    pub bench_ceiling: bool,
    /// Serving threads of the webhook listener (one per core is right for a dedicated pod).
    pub workers: usize,
}

/// Both listeners, bound and serving.
pub struct RunningServer {
    pub webhook_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    pub readiness: Arc<Readiness>,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningServer {
    /// A token that stops both listeners when cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops accepting, lets open connections finish, and waits for both listeners.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.wait().await;
    }

    /// Waits until both listeners have stopped (after the token is cancelled).
    pub async fn wait(self) {
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Binds the webhook and admin listeners and serves them in the background.
pub async fn start(options: ServerOptions) -> std::io::Result<RunningServer> {
    let webhook_listener = TcpListener::bind(options.webhook_addr).await?;
    let admin_listener = TcpListener::bind(options.admin_addr).await?;
    let webhook_addr = webhook_listener.local_addr()?;
    let admin_addr = admin_listener.local_addr()?;
    let shutdown = options.shutdown;
    let state = webhooks::WebhookState::new(options.policy, options.cluster, options.metrics.clone());
    let (limits, ceiling) = (options.limits, options.bench_ceiling);
    let make_router = move || webhooks::router(state.clone(), limits, ceiling);
    let workers = workers::Workers::start("webhook", options.workers)?;
    let webhook_task =
        tokio::spawn(tls::serve(webhook_listener, options.tls, make_router, options.limits, workers, shutdown.clone()));
    let admin_router = admin::router(options.readiness.clone(), options.metrics);
    let admin_shutdown = shutdown.clone();
    let admin_task = tokio::spawn(async move {
        let served = axum::serve(admin_listener, admin_router).with_graceful_shutdown(admin_shutdown.cancelled_owned());
        if let Err(err) = served.await {
            tracing::error!(error = %err, "admin listener failed");
        }
    });
    Ok(RunningServer {
        webhook_addr,
        admin_addr,
        readiness: options.readiness,
        shutdown,
        tasks: vec![webhook_task, admin_task],
    })
}
