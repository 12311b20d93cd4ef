//! The reconcile controllers and the informer caches they share with the webhooks.
//!
//! ```text
//!  watch per kind ──► Caches (reflector stores + reference index + watch health)
//!                        │  ClusterView ─► webhooks (every replica)
//!                        │  queues (open only while leading)
//!                        ▼
//!              applier: mcpgroup, mcpserverentry, virtualmcpserver, mcpregistry
//!                        ─► SSA children (workload kinds), SSA status, events
//! ```
//!
//! Every replica runs the caches ([`start`]); only the leader runs the controllers
//! ([`Operator::run`] follows a leadership signal). A reconcile reads nothing but the caches and
//! writes status with server-side apply under the field manager `mcp-operator`, only when it
//! changed. A failed reconcile retries after 1 s, doubling up to 5 min per object.
//!
//! Use from `serve`:
//!
//! ```no_run
//! # async fn serve(client: kube::Client, metrics: std::sync::Arc<mcp_operator::metrics::Metrics>,
//! #     leadership: tokio::sync::watch::Receiver<bool>, shutdown: tokio_util::sync::CancellationToken) {
//! use mcp_operator::controllers::{self, Config};
//! let operator = controllers::start(client, Config::default(), metrics.controllers.clone(), shutdown);
//! let cluster_view = operator.cluster_view(); // ServerOptions.cluster
//! let mut synced = operator.caches_synced(); // readiness: wait_for(|s| *s), then set_caches_synced(true)
//! tokio::spawn(operator.run(leadership));
//! # }
//! ```

pub mod cache;
pub mod children;
pub mod conditions;
pub mod context;
pub mod error;
pub mod events;
pub mod foreign;
pub mod index;
pub mod informers;
pub mod keys;
pub mod kinds;
pub mod live;
pub mod mcpgroup;
pub mod mcpregistry;
pub mod mcpserverentry;
pub mod metrics;
pub mod permissions;
pub mod queue;
pub mod runner;
pub mod status;
pub mod virtualmcpserver;

#[cfg(test)]
pub(crate) mod testing;

use std::sync::Arc;
use std::time::Duration;

use kube::Client;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub use cache::Caches;
pub use context::Context;
pub use error::Error;
pub use metrics::ControllerMetrics;
pub use status::FIELD_MANAGER;

use crate::admission::{ClusterView, RemoteUrlPolicy};

/// How the controllers behave.
#[derive(Clone, Debug)]
pub struct Config {
    /// The remote-URL policy of the admission rules; `RemoteURLValidated` uses the same one.
    pub policy: RemoteUrlPolicy,
    /// The cluster's DNS domain (`cluster.local`), for URLs the controllers report.
    pub cluster_domain: String,
    /// `reportingController` of events.
    pub reporter: String,
    /// `reportingInstance` of events (the pod name); the host name when `None`.
    pub instance: Option<String>,
    /// How often to look for the optional kinds' CRDs appearing or disappearing.
    pub discovery_interval: Duration,
    /// Reconciles of one controller running at once.
    pub concurrency: u16,
    /// How long running reconciles may finish after leadership is lost or shutdown starts.
    pub drain: Duration,
    /// Image of the `vmcp` container of VirtualMCPServers (`--vmcp-image`, env `VMCP_IMAGE`).
    pub vmcp_image: String,
    /// Image of the MCPRegistry API server (`--registry-api-image`, env
    /// `TOOLHIVE_REGISTRY_API_IMAGE`).
    pub registry_api_image: String,
    /// Small image with `sh`, `cp` and `chmod` for the registry's pgpass init container.
    pub pgpass_init_image: String,
}

pub const DEFAULT_VMCP_IMAGE: &str = "ghcr.io/stacklok/toolhive/vmcp:latest";
pub const DEFAULT_REGISTRY_API_IMAGE: &str = "ghcr.io/stacklok/thv-registry-api:latest";
pub const DEFAULT_PGPASS_INIT_IMAGE: &str = "cgr.dev/chainguard/busybox:latest";

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_string())
}

impl Default for Config {
    fn default() -> Self {
        Config {
            policy: RemoteUrlPolicy::default(),
            cluster_domain: "cluster.local".to_string(),
            reporter: FIELD_MANAGER.to_string(),
            instance: std::env::var("POD_NAME").ok().filter(|n| !n.is_empty()),
            discovery_interval: Duration::from_secs(30),
            concurrency: 8,
            drain: Duration::from_secs(10),
            vmcp_image: env_or("VMCP_IMAGE", DEFAULT_VMCP_IMAGE),
            registry_api_image: env_or("TOOLHIVE_REGISTRY_API_IMAGE", DEFAULT_REGISTRY_API_IMAGE),
            pgpass_init_image: DEFAULT_PGPASS_INIT_IMAGE.to_string(),
        }
    }
}

/// The running caches, and the controllers waiting for leadership.
pub struct Operator {
    context: Arc<Context>,
    shutdown: CancellationToken,
}

/// Starts the informer caches (call on every replica, inside a Tokio runtime). They stop when
/// `shutdown` is cancelled.
pub fn start(client: Client, config: Config, metrics: ControllerMetrics, shutdown: CancellationToken) -> Operator {
    let caches = Caches::new(metrics.clone());
    informers::spawn(client.clone(), caches.clone(), &config, shutdown.clone());
    let context = Arc::new(Context::new(client, caches, Arc::new(config), metrics));
    Operator { context, shutdown }
}

impl Operator {
    /// What the webhooks' referential warnings read; answers `None` until the caches synced.
    pub fn cluster_view(&self) -> Arc<dyn ClusterView> {
        self.context.caches.clone()
    }

    /// Becomes `true` once every cache has listed, and stays so: gate readiness on it.
    pub fn caches_synced(&self) -> watch::Receiver<bool> {
        self.context.caches.synced()
    }

    pub fn caches(&self) -> &Arc<Caches> {
        &self.context.caches
    }

    /// Runs the controllers whenever `leadership` is `true` (after the caches synced), stops them
    /// when it turns `false`, and returns once shutdown is cancelled.
    pub async fn run(self, leadership: watch::Receiver<bool>) {
        runner::lead(self.context, leadership, self.shutdown).await;
    }
}

/// [`start`] and [`Operator::run`] in one call, for callers that need no cluster view.
pub async fn run(
    client: Client,
    config: Config,
    metrics: ControllerMetrics,
    leadership: watch::Receiver<bool>,
    shutdown: CancellationToken,
) {
    start(client, config, metrics, shutdown).run(leadership).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `serve` spawns the controllers: the future must be `Send`.
    #[allow(dead_code)]
    fn spawnable(operator: Operator, leadership: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(operator.run(leadership))
    }

    #[test]
    fn the_default_config_follows_the_spec() {
        let config = Config::default();
        assert_eq!((config.reporter.as_str(), config.cluster_domain.as_str()), ("mcp-operator", "cluster.local"));
        assert!(config.concurrency > 0);
        assert!(!config.vmcp_image.is_empty() && !config.registry_api_image.is_empty());
        assert_eq!(config.pgpass_init_image, DEFAULT_PGPASS_INIT_IMAGE);
    }
}
