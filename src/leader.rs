//! Leader election on the coordination Lease `mcp-operator-leader`. Only the leader reconciles
//! and maintains certificates and caBundles; every replica serves webhooks regardless.

use std::sync::Arc;

use kube::Client;
use kube_lease_manager::LeaseManagerBuilder;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::deploy::LEADER_LEASE;
use crate::metrics::Metrics;

/// Leadership of this replica, as a watch channel.
pub struct Leadership {
    receiver: watch::Receiver<bool>,
    manager: Option<JoinHandle<kube_lease_manager::Result<kube_lease_manager::LeaseManager>>>,
    /// Keeps a constant channel open when there is no election.
    _fixed: Option<watch::Sender<bool>>,
}

impl Leadership {
    /// A replica that is never leader (no cluster to elect in).
    pub fn never() -> Self {
        let (sender, receiver) = watch::channel(false);
        Leadership { receiver, manager: None, _fixed: Some(sender) }
    }

    pub fn receiver(&self) -> watch::Receiver<bool> {
        self.receiver.clone()
    }

    /// Gives the Lease up so another replica takes over at once instead of after it expires.
    pub async fn release(self) {
        let Leadership { receiver, manager, _fixed } = self;
        drop(receiver);
        if let Some(manager) = manager {
            // The manager releases the Lease once every receiver is gone.
            match tokio::time::timeout(std::time::Duration::from_secs(5), manager).await {
                Ok(Ok(Ok(_))) => tracing::info!("released the leader lease"),
                Ok(Ok(Err(err))) => tracing::warn!(error = %err, "could not release the leader lease"),
                _ => tracing::warn!("leader lease release did not finish in time"),
            }
        }
    }
}

/// Joins the election for the Lease in `namespace` as `identity`.
pub async fn elect(
    client: Client,
    namespace: &str,
    identity: &str,
    metrics: Arc<Metrics>,
) -> kube_lease_manager::Result<Leadership> {
    let manager = LeaseManagerBuilder::new(client, LEADER_LEASE)
        .with_namespace(namespace)
        .with_identity(identity)
        .with_field_manager("mcp-operator")
        .build()
        .await?;
    let (receiver, handle) = manager.watch().await;
    let mut watched = receiver.clone();
    let identity = identity.to_string();
    tokio::spawn(async move {
        loop {
            let leading = *watched.borrow_and_update();
            metrics.leader.set(i64::from(leading));
            tracing::info!(identity = %identity, leader = leading, "leadership changed");
            if watched.changed().await.is_err() {
                metrics.leader.set(0);
                return;
            }
        }
    });
    Ok(Leadership { receiver, manager: Some(handle), _fixed: None })
}
