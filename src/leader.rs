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
    /// Follows the channel for the leader metric and log; holds a receiver of its own, so it is
    /// stopped before the release waits for every receiver to go.
    follower: Option<JoinHandle<()>>,
    /// Keeps a constant channel open when there is no election.
    _fixed: Option<watch::Sender<bool>>,
}

impl Leadership {
    /// A replica that is never leader (no cluster to elect in).
    pub fn never() -> Self {
        let (sender, receiver) = watch::channel(false);
        Leadership { receiver, manager: None, follower: None, _fixed: Some(sender) }
    }

    pub fn receiver(&self) -> watch::Receiver<bool> {
        self.receiver.clone()
    }

    /// Gives the Lease up so another replica takes over at once instead of after it expires.
    pub async fn release(self) {
        let Leadership { receiver, manager, follower, _fixed } = self;
        drop(receiver);
        if let Some(follower) = follower {
            follower.abort();
            // Cancelled, its receiver is dropped (an aborted task's result is only the cancellation).
            let _ = follower.await;
        }
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
    let follower = tokio::spawn(async move {
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
    Ok(Leadership { receiver, manager: Some(handle), follower: Some(follower), _fixed: None })
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use serde_json::{Value, json};

    use super::*;
    use crate::controllers::testing::{Call, mock_client};

    /// A Lease API that keeps the one Lease it is given: created by POST, changed by PATCH (a
    /// merge is enough for what the lease manager sends), read by GET.
    fn lease_api() -> Box<crate::controllers::testing::Responder> {
        let stored: Mutex<Option<Value>> = Mutex::new(None);
        Box::new(move |call: &Call| {
            let mut stored = stored.lock().unwrap();
            match (call.method.as_str(), stored.as_mut()) {
                ("GET", None) => (
                    404,
                    json!({ "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404 }),
                ),
                ("GET", Some(lease)) => (200, lease.clone()),
                ("POST", _) => {
                    let mut lease = call.body.clone();
                    lease["metadata"]["resourceVersion"] = json!("1");
                    *stored = Some(lease.clone());
                    (201, lease)
                }
                ("PATCH" | "PUT", Some(lease)) => {
                    json_patch::merge(lease, &call.body);
                    lease["metadata"]["resourceVersion"] = json!("2");
                    (200, lease.clone())
                }
                _ => (404, json!({ "kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404 })),
            }
        })
    }

    #[tokio::test]
    async fn release_gives_the_lease_up() {
        let (client, calls) = mock_client(lease_api());
        let leadership = elect(client, "ops", "replica-a", Arc::new(Metrics::new())).await.expect("joins");
        let mut leading = leadership.receiver();
        tokio::time::timeout(std::time::Duration::from_secs(10), leading.wait_for(|l| *l))
            .await
            .expect("becomes leader")
            .expect("the election runs");
        drop(leading);
        calls.take();
        leadership.release().await;
        // Without it, the next replica waits for the Lease to expire.
        let gave_up = calls.take().into_iter().any(|call| {
            call.method == "PATCH"
                && call.path.contains("/leases/mcp-operator-leader")
                && call.body["spec"]["holderIdentity"].is_null()
        });
        assert!(gave_up, "no call cleared the Lease's holder");
    }
}
