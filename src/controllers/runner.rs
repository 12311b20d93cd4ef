//! Runs the controllers while this replica leads, on kube-runtime's `applier` fed by the
//! caches' queues (one watch per kind, shared with the webhooks, instead of a second watch per
//! controller).

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;

use futures::StreamExt;
use kube::ResourceExt;
use kube::runtime::controller::{self, Action, applier};
use kube::runtime::reflector::Store;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::cache::Caches;
use super::context::Context;
use super::error::Error;
use super::kinds::Controlled;
use super::queue::Queue;
use super::{mcpgroup, mcpserverentry};

/// Runs the controllers during every leadership term, until `shutdown`.
pub async fn lead(ctx: Arc<Context>, mut leadership: watch::Receiver<bool>, shutdown: CancellationToken) {
    let mut synced = ctx.caches.synced();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            led = leadership.wait_for(|leader| *leader) => if led.is_err() {
                tracing::warn!("the leadership signal is gone; controllers stay stopped");
                shutdown.cancelled().await;
                return;
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = synced.wait_for(|s| *s) => {}
        }
        if !*leadership.borrow() {
            continue;
        }
        tracing::info!("leading: controllers started");
        let mut follower = leadership.clone();
        let lost = async move {
            // A dropped sender counts as lost leadership.
            let _ = follower.wait_for(|leader| !*leader).await;
        };
        term(&ctx, lost, &shutdown).await;
        tracing::info!("controllers stopped");
    }
}

/// One leadership term: both controllers until `lost` or shutdown, then a bounded drain.
async fn term(ctx: &Arc<Context>, lost: impl Future<Output = ()>, shutdown: &CancellationToken) {
    let groups = drive(ctx.clone(), Controlled::MCPGroup, |c| &c.queues.groups, mcpgroup::reconcile);
    let entries = drive(ctx.clone(), Controlled::MCPServerEntry, |c| &c.queues.entries, mcpserverentry::reconcile);
    let mut both = pin!(futures::future::join(groups, entries));
    tokio::select! {
        _ = &mut both => return,
        _ = lost => {}
        _ = shutdown.cancelled() => {}
    }
    // Closing the queues ends the appliers' input; they finish what is running and stop.
    ctx.caches.queues.groups.close();
    ctx.caches.queues.entries.close();
    if tokio::time::timeout(ctx.config.drain, both).await.is_err() {
        tracing::warn!("reconciles still running after the drain period; abandoning them");
    }
}

type QueueOf<K> = fn(&Caches) -> &Queue<K>;

/// Runs one controller until its queue is closed.
async fn drive<K, F, Fut>(ctx: Arc<Context>, controller: Controlled, queue: QueueOf<K>, reconcile: F)
where
    K: kube::Resource<DynamicType = ()> + Clone + Send + Sync + std::fmt::Debug + 'static,
    F: Fn(Arc<K>, Arc<Context>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Action, Error>> + Send + 'static,
{
    let caches = ctx.caches.clone();
    let requests = queue(&caches).open();
    queue(&caches).push_all();
    let store: Store<K> = queue(&caches).store().clone();
    let config = controller::Config::default().concurrency(ctx.config.concurrency);
    let reconciler = move |obj: Arc<K>, ctx: Arc<Context>| {
        let namespace = obj.namespace().unwrap_or_default();
        let name = obj.name_any();
        queue(&ctx.caches).taken(&namespace, &name);
        let pending = reconcile(obj, ctx.clone());
        Box::pin(async move {
            let started = Instant::now();
            let result = pending.await;
            let class = result.as_ref().err().map(Error::class);
            ctx.metrics.record(controller.name(), started.elapsed().as_secs_f64(), class);
            if result.is_ok() {
                ctx.record_success(controller, &namespace, &name);
            }
            result
        })
    };
    let error_policy = move |obj: Arc<K>, err: &Error, ctx: Arc<Context>| {
        let namespace = obj.namespace().unwrap_or_default();
        let name = obj.name_any();
        let wait = ctx.record_failure(controller, &namespace, &name);
        tracing::warn!(controller = controller.name(), namespace, name, error = %err, retry_in_s = wait.as_secs(), "reconcile failed");
        Action::requeue(wait)
    };
    let results = applier(reconciler, error_policy, ctx.clone(), store, requests.map(Ok::<_, Infallible>), config);
    results
        .for_each(|result| {
            if let Err(controller::Error::ObjectNotFound(gone)) = &result {
                queue(&caches).taken(gone.namespace.as_deref().unwrap_or_default(), &gone.name);
            } else if let Err(controller::Error::RunnerError(err)) = &result {
                tracing::warn!(controller = controller.name(), error = %err, "controller runner error");
            }
            std::future::ready(())
        })
        .await;
}
