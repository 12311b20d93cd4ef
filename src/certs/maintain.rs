//! The certificate loop of `serve`: every replica reloads the serving certificate when the Secret
//! changes; the leader also rotates certificates and keeps the caBundles in step.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kube::Client;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::generate::inspect;
use super::rotation::{Plan, apply, plan};
use super::secret::{SecretError, SecretStore, Stored};
use super::{CertBundle, SwappableResolver, cabundle};
use crate::metrics::Metrics;

/// Settings of the loop.
#[derive(Clone, Debug)]
pub struct Maintenance {
    pub hosts: Vec<String>,
    pub interval: Duration,
    /// Time between CA rotation steps (bundle injection and replica reloads must fit in it).
    pub settle: Duration,
    pub manage_ca_bundle: bool,
}

/// Shared state of the loop.
pub struct CertKeeper {
    pub store: SecretStore,
    pub client: Client,
    pub resolver: Arc<SwappableResolver>,
    pub metrics: Arc<Metrics>,
    pub settings: Maintenance,
    served: std::sync::Mutex<CertBundle>,
}

/// What one pass did, for logs and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TickReport {
    pub reloaded: bool,
    pub step: Option<String>,
    pub injected: Vec<String>,
}

impl CertKeeper {
    pub fn new(
        store: SecretStore,
        client: Client,
        resolver: Arc<SwappableResolver>,
        metrics: Arc<Metrics>,
        settings: Maintenance,
        served: CertBundle,
    ) -> Self {
        record_expiry(&metrics, &served);
        CertKeeper { store, client, resolver, metrics, settings, served: std::sync::Mutex::new(served) }
    }

    fn serve(&self, bundle: &CertBundle) -> Result<bool, super::CertError> {
        let mut served = self.served.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if *served == *bundle {
            return Ok(false);
        }
        self.resolver.swap(bundle)?;
        record_expiry(&self.metrics, bundle);
        *served = bundle.clone();
        Ok(true)
    }

    /// One pass at `now`.
    pub async fn tick(&self, leader: bool, now: SystemTime) -> Result<TickReport, SecretError> {
        let mut report = TickReport::default();
        let stored = match self.store.read().await? {
            Some(stored) => stored,
            None if leader => self.store.read_or_create(&self.settings.hosts, now).await?,
            None => return Ok(report),
        };
        let stored = if leader { self.advance(stored, now, &mut report).await? } else { stored };
        report.reloaded = self.serve(&stored.material.serving)?;
        if leader && self.settings.manage_ca_bundle {
            report.injected =
                cabundle::ensure(&self.client, &stored.material.trust_bundle).await.map_err(|source| {
                    SecretError::Api {
                        action: "injecting the caBundle from",
                        namespace: self.store.namespace.clone(),
                        name: self.store.name.clone(),
                        source: Box::new(source),
                    }
                })?;
        }
        Ok(report)
    }

    async fn advance(&self, stored: Stored, now: SystemTime, report: &mut TickReport) -> Result<Stored, SecretError> {
        let step = plan(&stored.material, &self.settings.hosts, now, self.settings.settle)?;
        if step == Plan::Nothing {
            return Ok(stored);
        }
        let next = apply(&stored.material, &step, &self.settings.hosts, now)?;
        let written = self.store.update(&next, stored.resource_version).await?;
        tracing::info!(step = ?step, secret = %self.store.name, "certificate rotation step");
        report.step = Some(format!("{step:?}"));
        Ok(written)
    }

    /// Runs passes every `interval` until `shutdown`; errors are logged and retried next pass.
    pub async fn run(self: Arc<Self>, mut leader: watch::Receiver<bool>, shutdown: CancellationToken) {
        loop {
            let is_leader = *leader.borrow();
            match self.tick(is_leader, SystemTime::now()).await {
                Ok(report) if report.reloaded || !report.injected.is_empty() => {
                    tracing::info!(reloaded = report.reloaded, injected = ?report.injected, "certificates updated");
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "certificate maintenance failed; retrying"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(self.settings.interval) => {}
                // Becoming leader is worth a pass at once: bundles may be stale.
                changed = leader.changed() => if changed.is_err() { tokio::time::sleep(self.settings.interval).await },
            }
        }
    }
}

/// Exports the serving certificate's expiry.
pub fn record_expiry(metrics: &Metrics, bundle: &CertBundle) {
    if let Ok(info) = inspect(&bundle.cert_pem) {
        let secs = info.not_after.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        metrics.certificate_not_after.set(i64::try_from(secs).unwrap_or(i64::MAX));
    }
}
