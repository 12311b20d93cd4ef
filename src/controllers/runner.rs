//! Runs the controllers while this replica leads, on kube-runtime's `applier` fed by the
//! caches' queues (one watch per kind, shared with the webhooks, instead of a second watch per
//! controller).

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::channel::mpsc::UnboundedReceiver;
use kube::ResourceExt;
use kube::runtime::controller::{self, Action, applier};
use kube::runtime::reflector::{ObjectRef, Store};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::cache::Caches;
use super::context::Context;
use super::error::Error;
use super::kinds::Controlled;
use super::queue::Queue;
use super::{mcpgroup, mcpregistry, mcpserverentry, virtualmcpserver};

/// Runs the controllers during every leadership term, until `shutdown`.
pub async fn lead(ctx: Arc<Context>, mut leadership: watch::Receiver<bool>, shutdown: CancellationToken) {
    let mut synced = ctx.caches.synced();
    loop {
        // `wait_for` hands out a borrow that must not live across an await: reduce it to a bool.
        let leading = async { leadership.wait_for(|leader| *leader).await.is_ok() };
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => return,
            led = leading => if !led {
                tracing::warn!("the leadership signal is gone; controllers stay stopped");
                shutdown.cancelled().await;
                return;
            }
        }
        let listed = async { synced.wait_for(|s| *s).await.is_ok() };
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => return,
            _ = listed => {}
        }
        let still_leading = *leadership.borrow();
        if !still_leading {
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

/// One leadership term: every controller until `lost` or shutdown, then a bounded drain.
async fn term(ctx: &Arc<Context>, lost: impl Future<Output = ()>, shutdown: &CancellationToken) {
    // Open every queue before anything can close them, then start with everything.
    let queues = &ctx.caches.queues;
    let (group_requests, entry_requests) = (queues.groups.open(), queues.entries.open());
    let (vmcp_requests, registry_requests) = (queues.vmcps.open(), queues.registries.open());
    queues.reconcile_all(&Controlled::ALL);
    let groups = drive(ctx.clone(), Controlled::MCPGroup, group_requests, |c| &c.queues.groups, mcpgroup::reconcile);
    let entries = drive(
        ctx.clone(),
        Controlled::MCPServerEntry,
        entry_requests,
        |c| &c.queues.entries,
        mcpserverentry::reconcile,
    );
    let vmcps = drive(
        ctx.clone(),
        Controlled::VirtualMCPServer,
        vmcp_requests,
        |c| &c.queues.vmcps,
        virtualmcpserver::reconcile,
    );
    let registries = drive(
        ctx.clone(),
        Controlled::MCPRegistry,
        registry_requests,
        |c| &c.queues.registries,
        mcpregistry::reconcile,
    );
    let mut all = pin!(futures::future::join4(groups, entries, vmcps, registries));
    tokio::select! {
        biased;
        _ = shutdown.cancelled() => {}
        _ = lost => {}
        _ = &mut all => return,
    }
    // Closing the queues ends the appliers' input; they finish what is running and stop.
    ctx.caches.queues.close_all();
    if tokio::time::timeout(ctx.config.drain, all).await.is_err() {
        tracing::warn!("reconciles still running after the drain period; abandoning them");
    }
}

type QueueOf<K> = fn(&Caches) -> &Queue<K>;

/// A VirtualMCPServer is reconciled this long after the last change that asks for it, not at each:
/// every change of a member entry's status asks, and when a group's entries become ready one by
/// one (a fresh cluster, a restart of their servers) each would rewrite its status. With 10,000
/// objects (800 VirtualMCPServers of ten entries each), 5,950 status writes became 3,400 and the
/// controllers' CPU fell by a third (`bench/controller-memory.sh`). kube's debounce restarts the
/// wait at each new request, so this must stay well below how often an object can keep changing.
const VIRTUAL_MCP_SERVER_DEBOUNCE: Duration = Duration::from_secs(1);

/// Runs one controller on `requests` until its queue is closed; requests not yet started then
/// are dropped (the next leader starts with everything).
async fn drive<K, F, Fut>(
    ctx: Arc<Context>,
    controller: Controlled,
    requests: UnboundedReceiver<ObjectRef<K>>,
    queue: QueueOf<K>,
    reconcile: F,
) where
    K: kube::Resource<DynamicType = ()> + Clone + Send + Sync + std::fmt::Debug + 'static,
    F: Fn(Arc<K>, Arc<Context>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Action, Error>> + Send + 'static,
{
    let caches = ctx.caches.clone();
    let store: Store<K> = queue(&caches).store().clone();
    let mut config = controller::Config::default().concurrency(ctx.config.concurrency);
    if controller == Controlled::VirtualMCPServer {
        config = config.debounce(VIRTUAL_MCP_SERVER_DEBOUNCE);
    }
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
                // Deleted: forget its queue entry and failure count (a retry found it gone).
                let namespace = gone.namespace.as_deref().unwrap_or_default();
                queue(&caches).taken(namespace, &gone.name);
                ctx.record_success(controller, namespace, &gone.name);
            } else if let Err(controller::Error::RunnerError(err)) = &result {
                tracing::warn!(controller = controller.name(), error = %err, "controller runner error");
            }
            std::future::ready(())
        })
        .await;
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use kube::runtime::watcher::Event;

    use super::*;
    use crate::controllers::kinds::Kind;
    use crate::controllers::metrics::{ErrorLabels, ReconcileLabels};
    use crate::controllers::testing::{self, Calls, World, accept_all, group, with_finalizer};

    async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
        for _ in 0..500 {
            if done() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("timed out waiting until {what}");
    }

    fn patched(calls: &[testing::Call], group: &str) -> bool {
        calls.iter().any(|c| c.method == "PATCH" && c.path.contains(&format!("/mcpgroups/{group}")))
    }

    fn seen(calls: &Calls, log: &mut Vec<testing::Call>) -> Vec<testing::Call> {
        log.extend(calls.take());
        log.clone()
    }

    #[tokio::test]
    async fn controllers_run_only_while_this_replica_leads() {
        let caches = World { groups: vec![group("g")], ..World::default() }.build();
        let (client, calls) = testing::mock_client(accept_all());
        let ctx = testing::context(client, caches.clone());
        let (leader, leadership) = watch::channel(false);
        let shutdown = CancellationToken::new();
        let running = tokio::spawn(lead(ctx, leadership, shutdown.clone()));

        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(calls.take(), vec![], "a follower writes nothing");
        assert!(!caches.queues.groups.is_open());

        leader.send_replace(true);
        let mut log = Vec::new();
        eventually("the leader reconciled g", || patched(&seen(&calls, &mut log), "g")).await;

        leader.send_replace(false);
        eventually("the controllers stopped", || !caches.queues.groups.is_open()).await;
        calls.take();
        caches.apply(Kind::MCPGroup, &caches.groups, &Event::Apply(group("h")));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(calls.take(), vec![], "changes are not reconciled while following");

        leader.send_replace(true);
        let mut log = Vec::new();
        eventually("the new term reconciled everything", || {
            let all = seen(&calls, &mut log);
            patched(&all, "g") && patched(&all, "h")
        })
        .await;

        shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(5), running).await.unwrap().unwrap();
        assert!(!caches.queues.groups.is_open());
    }

    #[tokio::test(start_paused = true)]
    async fn a_term_lost_at_once_stops_without_waiting_for_the_drain() {
        let caches = World { groups: vec![group("g")], ..World::default() }.build();
        let (client, _calls) = testing::mock_client(accept_all());
        let ctx = testing::context(client, caches.clone());
        let started = tokio::time::Instant::now();
        term(&ctx, std::future::ready(()), &CancellationToken::new()).await;
        assert!(started.elapsed() < ctx.config.drain, "took {:?}", started.elapsed());
        assert!(!caches.queues.groups.is_open() && !caches.queues.entries.is_open());
    }

    #[tokio::test(start_paused = true)]
    async fn failures_back_off_per_object_and_are_counted() {
        let caches = World { groups: vec![with_finalizer(group("g"))], ..World::default() }.build();
        let (client, calls) = testing::mock_client(testing::fail_status_writes());
        let ctx = testing::context(client, caches);
        let (_leader, leadership) = watch::channel(true);
        let shutdown = CancellationToken::new();
        let running = tokio::spawn(lead(ctx.clone(), leadership, shutdown.clone()));
        eventually("three failed attempts", || ctx.failures(Controlled::MCPGroup, "team", "g") >= 3).await;
        let attempts = calls.take().into_iter().filter(|c| c.path.contains("/status")).count();
        assert!(attempts >= 3, "{attempts}");
        let errors = ctx.metrics.reconcile_errors.get_or_create(&ErrorLabels { controller: "mcpgroup", error: "api" });
        assert!(errors.get() >= 3);
        let failed = ctx.metrics.reconciles.get_or_create(&ReconcileLabels { controller: "mcpgroup", result: "error" });
        assert!(failed.get() >= 3);
        shutdown.cancel();
        running.await.unwrap();
    }
}
