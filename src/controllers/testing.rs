//! Test support: a mocked API server (tower-test) that records every call, and small builders for
//! objects, caches and contexts.

use std::sync::{Arc, Mutex};

use http::{Request, Response};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::client::Body;
use kube::core::{ApiResource, DynamicObject};
use kube::runtime::watcher::Event;
use serde_json::{Value, json};

use super::Config;
use super::cache::{Cached, Caches, KindCache};
use super::conditions::FixedClock;
use super::context::Context;
use super::keys::{ConfigMapKeys, SecretKeys};
use super::kinds::Kind;
use super::live::Live;
use super::metrics::ControllerMetrics;
use crate::api::v1beta1::{
    MCPGroup, MCPGroupRef, MCPGroupSpec, MCPGroupStatus, MCPRegistry, MCPServerEntry, MCPServerEntrySpec,
    VirtualMCPServer,
};

pub const NS: &str = "team";
pub const NOW: &str = "2025-06-01T12:00:00Z";
pub const EARLIER: &str = "2025-05-01T08:00:00Z";

/// One request the mocked API server received.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub method: String,
    /// Path and query, e.g. `/apis/toolhive.stacklok.dev/v1beta1/namespaces/team/mcpgroups/g/status?&force=true&fieldManager=mcp-operator`.
    pub path: String,
    pub body: Value,
}

impl Call {
    pub fn is_event(&self) -> bool {
        self.path.starts_with("/apis/events.k8s.io/")
    }

    /// The `reason` of an event call.
    pub fn event_reason(&self) -> Option<&str> {
        self.is_event().then(|| self.body["reason"].as_str()).flatten()
    }
}

/// What the mocked API server answers: status code and JSON body. Status 0 never answers (a
/// watch that stays quiet).
pub type Responder = dyn Fn(&Call) -> (u16, Value) + Send + Sync;

/// The calls a mocked API server received, in order.
#[derive(Clone, Default)]
pub struct Calls(Arc<Mutex<Vec<Call>>>);

impl Calls {
    pub fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// A client whose API server is a task answering with `respond` and recording every call.
pub fn mock_client(respond: Box<Responder>) -> (Client, Calls) {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let calls = Calls::default();
    let recorded = calls.clone();
    tokio::spawn(async move {
        let mut quiet = Vec::new();
        while let Some((request, send)) = handle.next_request().await {
            let (parts, body) = request.into_parts();
            let bytes = body.collect_bytes().await.unwrap_or_default();
            let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let path = parts.uri.path_and_query().map(ToString::to_string).unwrap_or_default();
            let call = Call { method: parts.method.to_string(), path, body };
            let (status, answer) = respond(&call);
            recorded.0.lock().unwrap().push(call);
            if status == 0 {
                quiet.push(send);
                continue;
            }
            let response =
                Response::builder().status(status).body(Body::from(serde_json::to_vec(&answer).unwrap())).unwrap();
            send.send_response(response);
        }
    });
    (Client::new(service, "default"), calls)
}

/// Answers every write with a minimal object of the addressed kind, and echoes events.
pub fn accept_all() -> Box<Responder> {
    Box::new(|call: &Call| (200, accepted(call)))
}

/// Answers status writes with 500 Internal Server Error; everything else as [`accept_all`].
pub fn fail_status_writes() -> Box<Responder> {
    Box::new(|call: &Call| {
        if call.path.contains("/status") {
            (
                500,
                json!({ "kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "etcd is sad", "reason": "InternalError", "code": 500 }),
            )
        } else {
            (200, accepted(call))
        }
    })
}

fn accepted(call: &Call) -> Value {
    if call.is_event() {
        return call.body.clone();
    }
    let name = call.path.split('?').next().unwrap_or_default().trim_end_matches("/status").rsplit('/').next();
    json!({ "metadata": { "name": name, "namespace": NS }, "spec": {} })
}

pub fn config() -> Arc<Config> {
    Arc::new(Config {
        instance: Some("mcp-operator-0".into()),
        vmcp_image: "ghcr.io/stacklok/toolhive/vmcp:test".into(),
        registry_api_image: "ghcr.io/stacklok/thv-registry-api:test".into(),
        pgpass_init_image: "cgr.dev/chainguard/busybox:test".into(),
        ..Config::default()
    })
}

pub fn context(client: Client, caches: Arc<Caches>) -> Arc<Context> {
    let clock = FixedClock(NOW.parse().unwrap());
    Arc::new(Context::with_clock(client, caches, config(), ControllerMetrics::default(), Arc::new(clock)))
}

pub fn meta(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some(NS.into()),
        uid: Some(format!("uid-{name}")),
        generation: Some(1),
        resource_version: Some("1".into()),
        ..ObjectMeta::default()
    }
}

pub fn group(name: &str) -> MCPGroup {
    let mut g = MCPGroup::new(name, MCPGroupSpec::default());
    g.metadata = meta(name);
    g
}

pub fn group_with_phase(name: &str, phase: &str) -> MCPGroup {
    let mut g = group(name);
    g.status = Some(MCPGroupStatus { phase: Some(phase.into()), ..MCPGroupStatus::default() });
    g
}

pub fn with_finalizer(mut group: MCPGroup) -> MCPGroup {
    group.metadata.finalizers = Some(vec![super::mcpgroup::FINALIZER.to_string()]);
    group
}

/// A valid entry of group `group`.
pub fn entry(name: &str, group: &str) -> MCPServerEntry {
    let mut e = MCPServerEntry::new(
        name,
        MCPServerEntrySpec {
            remote_url: Some("https://mcp.example.com/mcp".into()),
            transport: Some("streamable-http".into()),
            group_ref: Some(MCPGroupRef { name: group.into(), namespace: None }),
            ..MCPServerEntrySpec::default()
        },
    );
    e.metadata = meta(name);
    e
}

pub fn resource(kind: Kind) -> ApiResource {
    ApiResource {
        group: kind.api_group().into(),
        version: "v1beta1".into(),
        api_version: format!("{}/v1beta1", kind.api_group()),
        kind: kind.name().into(),
        plural: kind.plural().into(),
    }
}

/// An MCPServer or MCPRemoteProxy in `group` (`None`: in no group).
pub fn member(kind: Kind, name: &str, group: Option<&str>) -> DynamicObject {
    let mut obj = DynamicObject::new(name, &resource(kind));
    obj.metadata = meta(name);
    obj.data = match group {
        Some(g) => json!({ "spec": { "groupRef": { "name": g } }, "status": { "phase": "Running" } }),
        None => json!({ "spec": {} }),
    };
    obj
}

pub fn auth_config(name: &str) -> DynamicObject {
    let mut obj = DynamicObject::new(name, &resource(Kind::MCPExternalAuthConfig));
    obj.metadata = meta(name);
    obj.data = json!({ "spec": { "type": "tokenExchange" } });
    obj
}

pub fn config_map(name: &str, keys: &[&str]) -> ConfigMapKeys {
    let keys: std::collections::BTreeSet<String> = keys.iter().map(|k| k.to_string()).collect();
    ConfigMapKeys { metadata: meta(name), content: crate::controllers::cache::digest(&keys), keys }
}

pub fn secret(name: &str, keys: &[&str]) -> SecretKeys {
    let sizes = keys.iter().map(|k| (k.to_string(), 32)).collect();
    SecretKeys { metadata: meta(name), keys: keys.iter().map(|k| k.to_string()).collect(), sizes }
}

/// Feeds a complete initial list of `objects` into one cache.
pub fn list<K: Cached>(caches: &Caches, kind: Kind, cache: &KindCache<K>, objects: impl IntoIterator<Item = K>)
where
    K::DynamicType: Eq + std::hash::Hash + Clone + Send + Sync,
{
    caches.apply(kind, cache, &Event::Init);
    for obj in objects {
        caches.apply(kind, cache, &Event::InitApply(obj));
    }
    caches.apply(kind, cache, &Event::InitDone);
}

/// Children as the cache keeps them.
fn live<K: kube::Resource + serde::Serialize>(objects: Vec<K>) -> impl Iterator<Item = Live<K>> {
    objects.into_iter().map(Live::from)
}

/// Empty lists of the workload kinds and their children.
pub fn list_workload_kinds(caches: &Caches) {
    list(caches, Kind::VirtualMCPServer, &caches.vmcps, []);
    list(caches, Kind::MCPRegistry, &caches.registries, []);
    list(caches, Kind::Deployment, &caches.deployments, []);
    list(caches, Kind::Service, &caches.services, []);
    list(caches, Kind::ServiceAccount, &caches.service_accounts, []);
    list(caches, Kind::Role, &caches.roles, []);
    list(caches, Kind::RoleBinding, &caches.role_bindings, []);
    list(caches, Kind::ChildConfigMap, &caches.child_config_maps, []);
}

/// Caches that have listed the given objects; the optional kinds are absent unless added.
#[derive(Clone, Default)]
pub struct World {
    pub groups: Vec<MCPGroup>,
    pub entries: Vec<MCPServerEntry>,
    pub config_maps: Vec<ConfigMapKeys>,
    pub secrets: Vec<SecretKeys>,
    pub vmcps: Vec<VirtualMCPServer>,
    pub registries: Vec<MCPRegistry>,
    pub deployments: Vec<Deployment>,
    pub services: Vec<Service>,
    pub service_accounts: Vec<ServiceAccount>,
    pub roles: Vec<Role>,
    pub role_bindings: Vec<RoleBinding>,
    pub child_config_maps: Vec<ConfigMap>,
    pub foreign: Vec<(Kind, Vec<DynamicObject>)>,
}

impl World {
    pub fn build(self) -> Arc<Caches> {
        let caches = Caches::new(ControllerMetrics::default());
        list(&caches, Kind::MCPGroup, &caches.groups, self.groups);
        list(&caches, Kind::MCPServerEntry, &caches.entries, self.entries);
        list(&caches, Kind::ConfigMap, &caches.config_maps, self.config_maps);
        list(&caches, Kind::Secret, &caches.secrets, self.secrets);
        list(&caches, Kind::VirtualMCPServer, &caches.vmcps, self.vmcps);
        list(&caches, Kind::MCPRegistry, &caches.registries, self.registries);
        list(&caches, Kind::Deployment, &caches.deployments, live(self.deployments));
        list(&caches, Kind::Service, &caches.services, live(self.services));
        list(&caches, Kind::ServiceAccount, &caches.service_accounts, live(self.service_accounts));
        list(&caches, Kind::Role, &caches.roles, live(self.roles));
        list(&caches, Kind::RoleBinding, &caches.role_bindings, live(self.role_bindings));
        list(&caches, Kind::ChildConfigMap, &caches.child_config_maps, live(self.child_config_maps));
        for (kind, objects) in self.foreign {
            let foreign = caches.add_foreign(kind, resource(kind));
            list(&caches, kind, &foreign.cache, objects);
        }
        caches.set_discovered();
        assert!(caches.is_synced());
        caches
    }
}

/// Answers server-side applies and creates with the object sent (what the API server stores,
/// without defaults), `get`s with 404, and everything else as [`accept_all`].
pub fn echo_writes() -> Box<Responder> {
    Box::new(|call: &Call| {
        let is_status = call.path.contains("/status");
        match call.method.as_str() {
            "GET" => (
                404,
                json!({ "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404 }),
            ),
            "POST" | "PATCH" if !is_status && call.body.get("kind").is_some() && !call.is_event() => {
                (200, call.body.clone())
            }
            _ => (200, accepted(call)),
        }
    })
}

/// The writes among `calls` (everything but events), as `(method, path without query)`.
pub fn writes(calls: &[Call]) -> Vec<(String, String)> {
    calls
        .iter()
        .filter(|c| !c.is_event() && c.method != "GET")
        .map(|c| (c.method.clone(), c.path.split('?').next().unwrap_or_default().to_string()))
        .collect()
}

/// Compares `actual` with the committed file `tests/data/snapshots/<name>`; with
/// `UPDATE_SNAPSHOTS=1` in the environment, writes it instead.
pub fn snapshot(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/snapshots").join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("no snapshot {}; run with UPDATE_SNAPSHOTS=1 to create it", path.display()));
    pretty_assertions::assert_eq!(expected, actual, "snapshot {name} differs; UPDATE_SNAPSHOTS=1 rewrites it");
}

/// `value` as the pretty JSON of a snapshot file.
pub fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap();
    text.push('\n');
    text
}
