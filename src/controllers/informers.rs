//! The watch tasks that fill the caches: one per core kind, one per served foreign kind, and the
//! discovery loop. Watches retry with the watcher's default backoff and never end on errors.

use std::hash::Hash;
use std::sync::Arc;

use futures::StreamExt;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;

use super::Config;
use super::cache::{Cached, Caches, ForeignCache, KindCache};
use super::foreign;
use super::kinds::Kind;

/// The label every child of the workload controllers carries; their watches select on it.
pub const MANAGED_BY_SELECTOR: &str = "app.kubernetes.io/managed-by=toolhive-operator";

/// Starts every watch of the core kinds and the discovery of the foreign ones.
pub fn spawn(client: Client, caches: Arc<Caches>, config: &Config, shutdown: CancellationToken) {
    let all = || None;
    let ours = || Some(MANAGED_BY_SELECTOR);
    let c = || (client.clone(), caches.clone(), shutdown.clone());
    spawn_core(c(), Kind::MCPGroup, |c| &c.groups, all());
    spawn_core(c(), Kind::MCPServerEntry, |c| &c.entries, all());
    spawn_core(c(), Kind::ConfigMap, |c| &c.config_maps, all());
    spawn_core(c(), Kind::Secret, |c| &c.secrets, all());
    spawn_core(c(), Kind::VirtualMCPServer, |c| &c.vmcps, all());
    spawn_core(c(), Kind::MCPRegistry, |c| &c.registries, all());
    spawn_core(c(), Kind::Deployment, |c| &c.deployments, ours());
    spawn_core(c(), Kind::Service, |c| &c.services, ours());
    spawn_core(c(), Kind::ServiceAccount, |c| &c.service_accounts, ours());
    spawn_core(c(), Kind::Role, |c| &c.roles, ours());
    spawn_core(c(), Kind::RoleBinding, |c| &c.role_bindings, ours());
    spawn_core(c(), Kind::ChildConfigMap, |c| &c.child_config_maps, ours());
    tokio::spawn(foreign::run(client, caches, config.discovery_interval, shutdown));
}

fn spawn_core<K>(
    (client, caches, shutdown): (Client, Arc<Caches>, CancellationToken),
    kind: Kind,
    cache: fn(&Caches) -> &KindCache<K>,
    selector: Option<&'static str>,
) where
    K: Cached<DynamicType = ()>,
{
    let api: Api<K> = Api::all(client);
    tokio::spawn(async move {
        let watch = feed(api, kind, &caches, cache(&caches), selector);
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = watch => {}
        }
    });
}

/// Starts the watch of a foreign kind; aborted when its CRD goes away.
pub fn spawn_foreign(
    client: Client,
    caches: Arc<Caches>,
    kind: Kind,
    foreign: Arc<ForeignCache>,
    shutdown: CancellationToken,
) -> AbortHandle {
    let api = Api::all_with(client, &foreign.resource);
    tokio::spawn(async move {
        let watch = feed(api, kind, &caches, &foreign.cache, None);
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = watch => {}
        }
    })
    .abort_handle()
}

async fn feed<K>(api: Api<K>, kind: Kind, caches: &Caches, target: &KindCache<K>, selector: Option<&str>)
where
    K: Cached,
    K::DynamicType: Eq + Hash + Clone + Send + Sync,
{
    // Lists are paginated (the watcher's 500 objects a page), which keeps the initial list of a
    // large cluster from arriving as one body; kube sends no `resourceVersion=0` with a page
    // limit, so they are consistent reads (which recent API servers can serve from their watch
    // cache too). `any_semantic()` would change nothing here.
    let mut config = watcher::Config::default();
    if let Some(selector) = selector {
        config = config.labels(selector);
    }
    let events = watcher(api, config).default_backoff().modify(move |obj: &mut K| obj.prune(kind));
    let mut events = std::pin::pin!(events);
    while let Some(event) = events.next().await {
        match event {
            Ok(event) => caches.apply(kind, target, &event),
            Err(error) => {
                tracing::debug!(kind = kind.name(), error = %error, "watch error");
                caches.watch_error(kind, &error);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::{Value, json};
    use tokio_util::sync::CancellationToken;

    use crate::controllers::testing::{self, Call};
    use crate::controllers::{self, Config, ControllerMetrics};

    fn list(items: Vec<Value>) -> Value {
        json!({ "apiVersion": "v1", "kind": "List", "metadata": { "resourceVersion": "100" }, "items": items })
    }

    fn object(kind: &str, name: &str, extra: Value) -> Value {
        let mut obj = json!({ "apiVersion": "toolhive.stacklok.dev/v1beta1", "kind": kind,
                              "metadata": { "name": name, "namespace": "team", "resourceVersion": "7" } });
        if let (Value::Object(o), Value::Object(e)) = (&mut obj, extra) {
            o.extend(e);
        }
        obj
    }

    /// A cluster with a group, an entry, a Secret, and the MCPServer CRD served at v1beta1.
    fn cluster(call: &Call) -> (u16, Value) {
        if call.path.contains("watch=true") {
            return (0, Value::Null);
        }
        let path = call.path.split('?').next().unwrap_or_default();
        let group = "toolhive.stacklok.dev";
        match path {
            "/apis" => (
                200,
                json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": [{ "name": group,
                "versions": [{ "groupVersion": format!("{group}/v1beta1"), "version": "v1beta1" }] }] }),
            ),
            "/apis/toolhive.stacklok.dev/v1beta1" => (
                200,
                json!({ "kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": format!("{group}/v1beta1"), "resources": [
                    { "name": "mcpservers", "singularName": "mcpserver", "namespaced": true, "kind": "MCPServer", "verbs": ["list", "watch"] }
                ] }),
            ),
            "/apis/toolhive.stacklok.dev/v1beta1/mcpgroups" => {
                (200, list(vec![object("MCPGroup", "g", json!({ "spec": {} }))]))
            }
            "/apis/toolhive.stacklok.dev/v1beta1/mcpserverentries" => (
                200,
                list(vec![object(
                    "MCPServerEntry",
                    "e",
                    json!({ "spec": { "groupRef": { "name": "g" }, "remoteUrl": "https://x.example.com", "transport": "sse" } }),
                )]),
            ),
            "/apis/toolhive.stacklok.dev/v1beta1/mcpservers" => (
                200,
                list(vec![object(
                    "MCPServer",
                    "s",
                    json!({ "spec": { "groupRef": { "name": "g" }, "image": "ghcr.io/x" } }),
                )]),
            ),
            "/api/v1/secrets" => (
                200,
                list(vec![json!({ "metadata": { "name": "api", "namespace": "team" },
                "data": { "token": "c2VjcmV0LXZhbHVl" } })]),
            ),
            "/api/v1/configmaps"
            | "/apis/toolhive.stacklok.dev/v1beta1/virtualmcpservers"
            | "/apis/toolhive.stacklok.dev/v1beta1/mcpregistries"
            | "/apis/apps/v1/deployments"
            | "/api/v1/services"
            | "/api/v1/serviceaccounts"
            | "/apis/rbac.authorization.k8s.io/v1/roles"
            | "/apis/rbac.authorization.k8s.io/v1/rolebindings" => (200, list(vec![])),
            _ => (
                404,
                json!({ "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404 }),
            ),
        }
    }

    #[tokio::test]
    async fn the_caches_list_every_kind_then_answer_the_webhooks() {
        let (client, calls) = testing::mock_client(Box::new(cluster));
        let shutdown = CancellationToken::new();
        let operator = controllers::start(client, Config::default(), ControllerMetrics::default(), shutdown.clone());
        let view = operator.cluster_view();
        let mut synced = operator.caches_synced();
        tokio::time::timeout(Duration::from_secs(10), synced.wait_for(|s| *s)).await.unwrap().unwrap();
        assert_eq!(view.group_exists("team", "g"), Some(true));
        assert_eq!(view.group_members("team", "g"), Some(vec!["MCPServer/s".into(), "MCPServerEntry/e".into()]));
        let caches = operator.caches();
        let secret = caches.secrets.get("team", "api").unwrap();
        assert!(secret.has_key("token"));
        assert!(!format!("{secret:?}").contains("c2VjcmV0LXZhbHVl"), "no Secret value is cached");
        let server = caches.foreign_object(crate::controllers::kinds::Kind::MCPServer, "team", "s").unwrap();
        assert_eq!(server.data, json!({ "spec": { "groupRef": { "name": "g" } } }), "members are pruned");
        let paths: Vec<String> = calls.take().into_iter().map(|c| c.path).collect();
        assert!(paths.iter().all(|p| !p.contains("/status")), "a follower only reads: {paths:#?}");
        let selector = "labelSelector=app.kubernetes.io%2Fmanaged-by%3Dtoolhive-operator";
        let deployments = paths.iter().filter(|p| p.starts_with("/apis/apps/v1/deployments")).collect::<Vec<_>>();
        assert!(!deployments.is_empty() && deployments.iter().all(|p| p.contains(selector)), "{deployments:#?}");
        shutdown.cancel();
    }
}
