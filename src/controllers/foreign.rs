//! The Go operator's kinds: discovered, watched while their CRDs are served, read untyped.
//!
//! Discovery probes the API group periodically (and at once after a foreign watch fails, since
//! its CRD may have been deleted); a kind that appears starts a watch, one that disappears is
//! dropped from the caches, and references to it become "not found". Nothing here can crash or
//! loop hot: failures are logged and retried at the next probe.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kube::Client;
use kube::core::{ApiResource, DynamicObject};
use kube::discovery::{self, ApiGroup};
use serde_json::Value;
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;

use super::cache::{Cached, Caches, prune_toolhive_metadata};
use super::index::Target;
use super::informers;
use super::kinds::Kind;
use crate::api::crd::GROUP;

/// Shortest pause between two probes, however often watches fail.
const MIN_PROBE_GAP: Duration = Duration::from_secs(5);

/// `spec.groupRef.name` of a member (older versions wrote `spec.groupRef` as a plain string).
pub fn group_ref_name(data: &Value) -> Option<&str> {
    let group_ref = data.get("spec")?.get("groupRef")?;
    group_ref.get("name").and_then(Value::as_str).or_else(|| group_ref.as_str()).filter(|n| !n.is_empty())
}

impl Cached for DynamicObject {
    fn references(&self, kind: Kind) -> Vec<Target> {
        if !Kind::MEMBERS.contains(&kind) {
            return Vec::new();
        }
        group_ref_name(&self.data).map(|g| vec![Target::new(Kind::MCPGroup, g)]).unwrap_or_default()
    }

    /// Members keep only `spec.groupRef`, `spec.externalAuthConfigRef` and `status`: a cluster
    /// may hold thousands of them.
    fn prune(&mut self, kind: Kind) {
        prune_toolhive_metadata(self);
        if !Kind::MEMBERS.contains(&kind) {
            return;
        }
        let spec = self.data.get("spec");
        let mut kept_spec = serde_json::Map::new();
        for field in ["groupRef", "externalAuthConfigRef"] {
            if let Some(value) = spec.and_then(|s| s.get(field)) {
                kept_spec.insert(field.into(), value.clone());
            }
        }
        let status = self.data.get("status").cloned();
        let mut kept = serde_json::Map::new();
        if !kept_spec.is_empty() {
            kept.insert("spec".into(), Value::Object(kept_spec));
        }
        if let Some(status) = status {
            kept.insert("status".into(), status);
        }
        self.data = Value::Object(kept);
    }
}

/// The foreign kinds the API group serves, each at its preferred version (or the most stable
/// version that serves it).
pub fn served_kinds(group: &ApiGroup) -> HashMap<Kind, ApiResource> {
    let mut served = HashMap::new();
    let preferred = group.recommended_resources();
    for kind in Kind::FOREIGN {
        let found =
            preferred.iter().find(|(ar, _)| ar.plural == kind.plural()).map(|(ar, _)| ar.clone()).or_else(|| {
                group.versions().find_map(|v| {
                    group
                        .versioned_resources(v)
                        .into_iter()
                        .find(|(ar, _)| ar.plural == kind.plural())
                        .map(|(ar, _)| ar)
                })
            });
        if let Some(ar) = found {
            served.insert(kind, ar);
        }
    }
    served
}

/// One probe: which foreign kinds are served now. A missing API group means none.
pub async fn probe(client: &Client) -> Result<HashMap<Kind, ApiResource>, kube::Error> {
    match discovery::group(client, GROUP).await {
        Ok(group) => Ok(served_kinds(&group)),
        Err(kube::Error::Discovery(kube::error::DiscoveryError::MissingApiGroup(_))) => Ok(HashMap::new()),
        Err(err) => Err(err),
    }
}

/// Keeps the set of watched foreign kinds equal to the served ones, until `shutdown`.
pub async fn run(client: Client, caches: Arc<Caches>, interval: Duration, shutdown: CancellationToken) {
    let mut watches: HashMap<Kind, AbortHandle> = HashMap::new();
    loop {
        match probe(&client).await {
            Ok(served) => {
                align(&client, &caches, &served, &mut watches, &shutdown);
                caches.set_discovered();
            }
            Err(err) => tracing::warn!(error = %err, "cannot discover the optional kinds; retrying"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(interval) => {}
            _ = caches.reprobe.notified() => {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(MIN_PROBE_GAP) => {}
                }
            }
        }
    }
    for (_, watch) in watches {
        watch.abort();
    }
}

fn align(
    client: &Client,
    caches: &Arc<Caches>,
    served: &HashMap<Kind, ApiResource>,
    watches: &mut HashMap<Kind, AbortHandle>,
    shutdown: &CancellationToken,
) {
    for kind in Kind::FOREIGN {
        let current = caches.foreign(kind).map(|f| f.resource.clone());
        match (served.get(&kind), current) {
            (Some(ar), Some(have)) if have.version == ar.version => {}
            (Some(ar), have) => {
                if have.is_some() {
                    stop(caches, kind, watches);
                }
                tracing::info!(kind = kind.name(), version = %ar.version, "CRD served; watching it");
                let foreign = caches.add_foreign(kind, ar.clone());
                let watch = informers::spawn_foreign(client.clone(), caches.clone(), kind, foreign, shutdown.clone());
                watches.insert(kind, watch);
            }
            (None, Some(_)) => {
                tracing::info!(kind = kind.name(), "CRD no longer served; references to it are now not found");
                stop(caches, kind, watches);
            }
            (None, None) => {}
        }
    }
}

fn stop(caches: &Caches, kind: Kind, watches: &mut HashMap<Kind, AbortHandle>) {
    if let Some(watch) = watches.remove(&kind) {
        watch.abort();
    }
    caches.remove_foreign(kind);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::controllers::testing::{self, Call};

    fn resources(group_version: &str, plurals: &[(&str, &str)]) -> Value {
        let mut list: Vec<Value> = Vec::new();
        for (plural, kind) in plurals {
            let verbs = json!(["get", "list", "watch", "patch"]);
            list.push(json!({ "name": plural, "singularName": "", "namespaced": true, "kind": kind, "verbs": verbs }));
            list.push(json!({ "name": format!("{plural}/status"), "singularName": "", "namespaced": true, "kind": kind, "verbs": ["get", "patch"] }));
        }
        json!({ "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": list })
    }

    fn api_server(call: &Call) -> (u16, Value) {
        let version = |v: &str| json!({ "groupVersion": format!("{GROUP}/{v}"), "version": v });
        match call.path.split('?').next().unwrap_or_default() {
            "/apis" => (
                200,
                json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": [
                    { "name": "apps", "versions": [{ "groupVersion": "apps/v1", "version": "v1" }] },
                    { "name": GROUP, "versions": [version("v1beta1"), version("v1alpha1")], "preferredVersion": version("v1beta1") }
                ] }),
            ),
            "/apis/toolhive.stacklok.dev/v1beta1" => (
                200,
                resources(
                    "toolhive.stacklok.dev/v1beta1",
                    &[
                        ("mcpservers", "MCPServer"),
                        ("mcpgroups", "MCPGroup"),
                        ("mcpexternalauthconfigs", "MCPExternalAuthConfig"),
                    ],
                ),
            ),
            "/apis/toolhive.stacklok.dev/v1alpha1" => (
                200,
                resources(
                    "toolhive.stacklok.dev/v1alpha1",
                    &[("mcpservers", "MCPServer"), ("mcpremoteproxies", "MCPRemoteProxy")],
                ),
            ),
            _ => (
                404,
                json!({ "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404 }),
            ),
        }
    }

    #[tokio::test]
    async fn discovery_finds_each_foreign_kind_at_its_best_version() {
        let (client, _) = testing::mock_client(Box::new(api_server));
        let served = probe(&client).await.unwrap();
        let mut found: Vec<(Kind, String)> = served.iter().map(|(k, ar)| (*k, ar.api_version.clone())).collect();
        found.sort();
        assert_eq!(
            found,
            vec![
                (Kind::MCPServer, "toolhive.stacklok.dev/v1beta1".to_string()),
                (Kind::MCPRemoteProxy, "toolhive.stacklok.dev/v1alpha1".to_string()),
                (Kind::MCPExternalAuthConfig, "toolhive.stacklok.dev/v1beta1".to_string()),
            ]
        );
        assert_eq!(served[&Kind::MCPServer].plural, "mcpservers");
    }

    #[tokio::test]
    async fn a_cluster_without_the_api_group_serves_no_foreign_kind() {
        let (client, _) = testing::mock_client(Box::new(|_: &Call| {
            (200, json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": [] }))
        }));
        assert!(probe(&client).await.unwrap().is_empty());
    }

    fn server(data: Value) -> DynamicObject {
        let ar = ApiResource::erase::<crate::api::v1beta1::MCPGroup>(&());
        let mut obj = DynamicObject::new("srv", &ar).within("ns");
        obj.data = data;
        obj
    }

    #[test]
    fn the_group_of_a_member_is_read_from_either_shape() {
        assert_eq!(group_ref_name(&json!({ "spec": { "groupRef": { "name": "g" } } })), Some("g"));
        assert_eq!(group_ref_name(&json!({ "spec": { "groupRef": "legacy" } })), Some("legacy"));
        assert_eq!(group_ref_name(&json!({ "spec": { "groupRef": { "name": "" } } })), None);
        assert_eq!(group_ref_name(&json!({ "spec": {} })), None);
    }

    #[test]
    fn members_are_pruned_to_their_group_and_status() {
        let mut obj = server(json!({
            "spec": { "image": "x", "groupRef": { "name": "g" }, "env": [{ "name": "A", "value": "b" }] },
            "status": { "phase": "Running" }
        }));
        obj.metadata.annotations =
            Some([("kubectl.kubernetes.io/last-applied-configuration".to_string(), "{}".to_string())].into());
        obj.prune(Kind::MCPServer);
        assert_eq!(obj.data, json!({ "spec": { "groupRef": { "name": "g" } }, "status": { "phase": "Running" } }));
        assert_eq!(obj.metadata.annotations, None);
        assert_eq!(obj.references(Kind::MCPServer), vec![Target::new(Kind::MCPGroup, "g")]);
    }

    #[test]
    fn auth_configs_are_kept_whole_and_reference_nothing() {
        let data = json!({ "spec": { "type": "tokenExchange", "groupRef": { "name": "g" } } });
        let mut obj = server(data.clone());
        obj.prune(Kind::MCPExternalAuthConfig);
        assert_eq!(obj.data, data);
        assert!(obj.references(Kind::MCPExternalAuthConfig).is_empty());
    }
}
