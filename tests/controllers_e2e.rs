//! Controller tests against a real cluster. They run only when `MCP_OPERATOR_E2E_KUBECONFIG` names
//! a kubeconfig; otherwise each test prints why it skipped and passes.
//!
//! They install the CRDs if missing (with no conversion webhook, since no `serve` runs here),
//! start the caches and controllers in-process as the leader, and work in a fresh namespace that
//! is deleted afterwards.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, Service};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client};
use mcp_operator::api::crd;
use mcp_operator::api::v1beta1::virtualmcpserver::IncomingAuth;
use mcp_operator::api::v1beta1::{
    CABundleConfigMapRef, CABundleRef, MCPGroup, MCPGroupRef, MCPGroupSpec, MCPRegistry, MCPRegistrySpec,
    MCPServerEntry, MCPServerEntrySpec, VirtualMCPServer, VirtualMCPServerSpec,
};
use mcp_operator::controllers::{self, Config, ControllerMetrics};
use serde_json::json;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

const ENV: &str = "MCP_OPERATOR_E2E_KUBECONFIG";
const TIMEOUT: Duration = Duration::from_secs(60);

async fn cluster() -> Option<Client> {
    let Some(path) = std::env::var_os(ENV).filter(|p| !p.is_empty()) else {
        eprintln!("skipped: set {ENV} to a kubeconfig to run the controller tests against a cluster");
        return None;
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kubeconfig = Kubeconfig::read_from(&path).expect("readable kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("usable kubeconfig");
    Some(Client::try_from(config).expect("client"))
}

/// Installs the CRDs this project owns unless they exist (then they are left as they are).
async fn ensure_crds(client: &Client) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for kind in crd::KINDS {
        if api.get_opt(&kind.crd_name()).await.expect("read CRDs").is_some() {
            continue;
        }
        let body = crd::crd_with_conversion(kind, json!({ "strategy": "None" }));
        api.patch(&kind.crd_name(), &PatchParams::apply("mcp-operator-e2e").force(), &Patch::Apply(&body))
            .await
            .expect("apply CRD");
    }
    for kind in crd::KINDS {
        eventually("the CRD is established", || async {
            let crd = api.get(&kind.crd_name()).await.ok()?;
            let established = crd.status?.conditions?.iter().any(|c| c.type_ == "Established" && c.status == "True");
            established.then_some(())
        })
        .await;
    }
}

async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A namespace for one test, the controllers leading, and the shutdown that stops them.
struct Running {
    client: Client,
    namespace: String,
    shutdown: CancellationToken,
}

impl Running {
    async fn start(client: Client, prefix: &str) -> Self {
        ensure_crds(&client).await;
        let suffix = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() % 1_000_000_000;
        let namespace = format!("{prefix}-{suffix}");
        let namespaces: Api<Namespace> = Api::all(client.clone());
        let ns: Namespace = serde_json::from_value(json!({ "metadata": { "name": namespace } })).unwrap();
        namespaces.create(&PostParams::default(), &ns).await.expect("create namespace");
        let shutdown = CancellationToken::new();
        let operator =
            controllers::start(client.clone(), Config::default(), ControllerMetrics::default(), shutdown.clone());
        let mut synced = operator.caches_synced();
        tokio::time::timeout(TIMEOUT, synced.wait_for(|s| *s)).await.expect("caches synced").unwrap();
        let (leader, leadership) = watch::channel(true);
        tokio::spawn(async move {
            operator.run(leadership).await;
            drop(leader);
        });
        Running { client, namespace, shutdown }
    }

    fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// Deletes the groups and registries while the controllers still run (their finalizers
    /// would otherwise hold the namespace), then stops the controllers and deletes the namespace.
    async fn stop(self) {
        let registries: Api<MCPRegistry> = self.api();
        let _ = registries.delete_collection(&DeleteParams::default(), &Default::default()).await;
        eventually("every registry is finalized", || async {
            registries.list(&Default::default()).await.ok()?.items.is_empty().then_some(())
        })
        .await;
        let groups: Api<MCPGroup> = self.api();
        let _ = groups.delete_collection(&DeleteParams::default(), &Default::default()).await;
        eventually("every group is finalized", || async {
            groups.list(&Default::default()).await.ok()?.items.is_empty().then_some(())
        })
        .await;
        self.shutdown.cancel();
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let _ = namespaces.delete(&self.namespace, &DeleteParams::default()).await;
    }
}

fn entry(name: &str, group: &str) -> MCPServerEntry {
    MCPServerEntry::new(
        name,
        MCPServerEntrySpec {
            remote_url: Some("https://mcp.example.com/mcp".into()),
            transport: Some("streamable-http".into()),
            group_ref: Some(MCPGroupRef { name: group.into(), namespace: None }),
            ..MCPServerEntrySpec::default()
        },
    )
}

async fn entry_phase(api: &Api<MCPServerEntry>, name: &str, phase: &str) -> Option<MCPServerEntry> {
    let e = api.get(name).await.ok()?;
    (e.status.as_ref()?.phase.as_deref() == Some(phase)).then_some(e)
}

#[tokio::test]
async fn a_group_lists_its_entries_and_entries_become_valid() {
    let Some(client) = cluster().await else { return };
    let run = Running::start(client, "mcp-e2e-group").await;
    let groups: Api<MCPGroup> = run.api();
    let entries: Api<MCPServerEntry> = run.api();
    groups.create(&PostParams::default(), &MCPGroup::new("g", MCPGroupSpec::default())).await.unwrap();
    entries.create(&PostParams::default(), &entry("b", "g")).await.unwrap();
    entries.create(&PostParams::default(), &entry("a", "g")).await.unwrap();

    let group = eventually("the group lists both entries", || async {
        let g = groups.get("g").await.ok()?;
        let status = g.status.as_ref()?;
        (status.entries.as_deref() == Some(&["a".to_string(), "b".to_string()][..])).then_some(g.clone())
    })
    .await;
    let status = group.status.unwrap();
    assert_eq!((status.phase.as_deref(), status.entry_count), (Some("Ready"), Some(2)));
    assert!(group.metadata.finalizers.unwrap_or_default().contains(&"toolhive.stacklok.dev/mcpgroup-finalizer".into()));
    let valid = eventually("entry a is Valid", || entry_phase(&entries, "a", "Valid")).await;
    let conditions = valid.status.unwrap().conditions.unwrap();
    assert!(conditions.iter().all(|c| c.status == "True" && c.observed_generation == Some(1)), "{conditions:?}");

    groups.delete("g", &DeleteParams::default()).await.unwrap();
    let failed = eventually("entry a reports its group gone", || entry_phase(&entries, "a", "Failed")).await;
    let group_ref = failed.status.unwrap().conditions.unwrap().into_iter().find(|c| c.type_ == "GroupRefValidated");
    assert_eq!(group_ref.map(|c| (c.status, c.reason)), Some(("False".into(), "GroupRefNotFound".into())));
    eventually("the group is gone", || async { groups.get_opt("g").await.ok()?.is_none().then_some(()) }).await;
    run.stop().await;
}

#[tokio::test]
async fn an_entry_turns_valid_when_its_ca_bundle_appears() {
    let Some(client) = cluster().await else { return };
    let run = Running::start(client, "mcp-e2e-ca").await;
    let groups: Api<MCPGroup> = run.api();
    let entries: Api<MCPServerEntry> = run.api();
    let config_maps: Api<ConfigMap> = run.api();
    groups.create(&PostParams::default(), &MCPGroup::new("g", MCPGroupSpec::default())).await.unwrap();
    let mut e = entry("e", "g");
    e.spec.ca_bundle_ref = Some(CABundleRef {
        config_map_ref: Some(CABundleConfigMapRef { name: Some("ca".into()), key: None, optional: None }),
    });
    entries.create(&PostParams::default(), &e).await.unwrap();
    let failed = eventually("the entry fails for the missing ConfigMap", || entry_phase(&entries, "e", "Failed")).await;
    let ca = failed.status.unwrap().conditions.unwrap().into_iter().find(|c| c.type_ == "CABundleRefValidated");
    assert_eq!(ca.map(|c| c.reason), Some("CABundleRefNotFound".into()));

    let cm: ConfigMap = serde_json::from_value(
        json!({ "metadata": { "name": "ca" }, "data": { "ca.crt": "-----BEGIN CERTIFICATE-----" } }),
    )
    .unwrap();
    config_maps.create(&PostParams::default(), &cm).await.unwrap();
    eventually("the entry turns Valid", || entry_phase(&entries, "e", "Valid")).await;
    run.stop().await;
}

#[tokio::test]
async fn a_virtual_mcp_server_gets_its_children_and_a_url_and_a_second_pass_changes_nothing() {
    let Some(client) = cluster().await else { return };
    let run = Running::start(client, "mcp-e2e-vmcp").await;
    let groups: Api<MCPGroup> = run.api();
    let servers: Api<VirtualMCPServer> = run.api();
    groups.create(&PostParams::default(), &MCPGroup::new("g", MCPGroupSpec::default())).await.unwrap();
    let spec = VirtualMCPServerSpec {
        group_ref: Some(MCPGroupRef { name: "g".into(), namespace: None }),
        incoming_auth: Some(IncomingAuth { type_: Some("anonymous".into()), ..IncomingAuth::default() }),
        ..VirtualMCPServerSpec::default()
    };
    servers.create(&PostParams::default(), &VirtualMCPServer::new("demo", spec)).await.unwrap();
    let deployments: Api<Deployment> = run.api();
    let deployment = eventually("the Deployment exists", || async { deployments.get_opt("demo").await.ok()? }).await;
    let owner = deployment.metadata.owner_references.unwrap_or_default();
    assert_eq!(owner.first().map(|o| o.kind.as_str()), Some("VirtualMCPServer"));
    let services: Api<Service> = run.api();
    eventually("the Service exists", || async { services.get_opt("vmcp-demo").await.ok()? }).await;
    let secrets: Api<Secret> = run.api();
    let secret =
        eventually("the HMAC Secret exists", || async { secrets.get_opt("demo-hmac-secret").await.ok()? }).await;
    assert_eq!(secret.data.unwrap_or_default().get("hmac-secret").map(|v| v.0.len()), Some(32));
    let server = eventually("the status has the URL", || async {
        let s = servers.get("demo").await.ok()?;
        s.status.as_ref()?.url.is_some().then_some(s)
    })
    .await;
    let status = server.status.unwrap();
    assert_eq!(status.url.as_deref(), Some(&*format!("http://vmcp-demo.{}.svc.cluster.local:4483", run.namespace)));
    // Settled: the spec of the Deployment is not rewritten any more (no update loop).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = deployments.get("demo").await.unwrap().metadata.generation;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = deployments.get("demo").await.unwrap().metadata.generation;
    assert_eq!(before, after, "the Deployment keeps being rewritten");
    run.stop().await;
}

#[tokio::test]
async fn a_registry_runs_and_its_deletion_is_not_blocked_by_an_invalid_spec() {
    let Some(client) = cluster().await else { return };
    let run = Running::start(client, "mcp-e2e-registry").await;
    let registries: Api<MCPRegistry> = run.api();
    let spec = MCPRegistrySpec { config_yaml: Some("registryName: corp\n".into()), ..MCPRegistrySpec::default() };
    registries.create(&PostParams::default(), &MCPRegistry::new("corp", spec)).await.unwrap();
    let deployments: Api<Deployment> = run.api();
    eventually("the Deployment exists", || async { deployments.get_opt("corp-api").await.ok()? }).await;
    let config_maps: Api<ConfigMap> = run.api();
    let cm =
        eventually("the ConfigMap exists", || async { config_maps.get_opt("corp-registry-server-config").await.ok()? })
            .await;
    assert_eq!(cm.data.unwrap_or_default().get("config.yaml").map(String::as_str), Some("registryName: corp\n"));
    // Without the webhooks in this test, an invalid mount reaches the controller.
    let patch = json!({ "spec": { "volumeMounts": [{ "name": "missing", "mountPath": "relative" }] } });
    registries.patch("corp", &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    eventually("the registry reports the invalid spec", || async {
        let r = registries.get("corp").await.ok()?;
        (r.status?.phase.as_deref() == Some("Failed")).then_some(())
    })
    .await;
    registries.delete("corp", &DeleteParams::default()).await.unwrap();
    eventually("the registry is gone", || async { registries.get_opt("corp").await.ok()?.is_none().then_some(()) })
        .await;
    run.stop().await;
}
