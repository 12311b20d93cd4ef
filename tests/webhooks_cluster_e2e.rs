//! The webhooks against a real Kubernetes API server. Runs only when `MCP_OPERATOR_E2E_KUBECONFIG`
//! names a kubeconfig; otherwise each test prints why it skipped and passes.
//!
//! The server runs in-process on `MCP_OPERATOR_E2E_LISTEN` (default `0.0.0.0:9443`) and the API
//! server calls it at `MCP_OPERATOR_E2E_WEBHOOK_URL` (default `https://127.0.0.1:9443`; for kind
//! or k3d in containers use e.g. `https://host.docker.internal:9443` or the docker bridge IP).
//! `install` registers the CRDs and webhooks with the test CA; `--uninstall` runs at the end.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{ApiResource, DeleteParams, DynamicObject, GroupVersionKind, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client};
use mcp_operator::admission::{NoCluster, RemoteUrlPolicy};
use mcp_operator::api::crd;
use mcp_operator::certs::generate::{CA_LIFETIME, SERVING_LIFETIME};
use mcp_operator::certs::{SwappableResolver, generate_ca, issue_serving};
use mcp_operator::deploy::install;
use mcp_operator::metrics::Metrics;
use mcp_operator::server::{self, Limits, Readiness, ServerOptions, tls};
use serde_json::{Value, json};

const ENV: &str = "MCP_OPERATOR_E2E_KUBECONFIG";

async fn cluster() -> Option<Client> {
    let Some(path) = std::env::var_os(ENV).filter(|p| !p.is_empty()) else {
        eprintln!("skipped: set {ENV} to a kubeconfig to run the webhook tests against a cluster");
        return None;
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kubeconfig = Kubeconfig::read_from(&path).expect("readable kubeconfig");
    let config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.expect("kubeconfig");
    Some(Client::try_from(config).expect("client"))
}

fn api(client: &Client, namespace: &str, kind: &str, plural: &str, version: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk(crd::GROUP, version, kind);
    Api::namespaced_with(client.clone(), namespace, &ApiResource::from_gvk_with_plural(&gvk, plural))
}

fn object(value: Value) -> DynamicObject {
    serde_json::from_value(value).expect("object")
}

/// Starts the server, installs the CRDs and webhooks, creates a namespace; returns its name.
async fn setup(client: &Client) -> (String, server::RunningServer) {
    let url = std::env::var("MCP_OPERATOR_E2E_WEBHOOK_URL").unwrap_or_else(|_| "https://127.0.0.1:9443".into());
    let listen = std::env::var("MCP_OPERATOR_E2E_LISTEN").unwrap_or_else(|_| "0.0.0.0:9443".into());
    let host = url::Url::parse(&url).expect("url").host_str().expect("host").trim_matches(['[', ']']).to_string();
    let now = SystemTime::now();
    let ca = generate_ca("e2e CA", now, CA_LIFETIME).expect("ca");
    let serving = issue_serving(&ca, &[host, "localhost".into()], now, SERVING_LIFETIME).expect("cert");
    let readiness = Arc::new(Readiness::default());
    readiness.set_cert_loaded();
    let running = server::start(ServerOptions {
        webhook_addr: listen.parse().expect("listen address"),
        admin_addr: "127.0.0.1:0".parse().expect("addr"),
        tls: tls::server_config(Arc::new(SwappableResolver::new(&serving).expect("resolver"))),
        policy: RemoteUrlPolicy::default(),
        cluster: Arc::new(NoCluster),
        metrics: Arc::new(Metrics::new()),
        readiness,
        limits: Limits::default(),
        shutdown: Default::default(),
        bench_ceiling: false,
        workers: 2,
    })
    .await
    .expect("server");
    install::install(client.clone(), &url, &ca.cert_pem).await.expect("install");
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for kind in crd::KINDS {
        let name = kind.crd_name();
        let cond = kube::runtime::conditions::is_crd_established();
        let wait = kube::runtime::wait::await_condition(crds.clone(), &name, cond);
        tokio::time::timeout(Duration::from_secs(60), wait).await.expect("established in time").expect("established");
    }
    let namespace = format!("mcp-e2e-{}", now.duration_since(SystemTime::UNIX_EPOCH).expect("clock").as_secs());
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({ "metadata": { "name": namespace } })).expect("ns"),
        )
        .await
        .expect("namespace");
    // Give the API server a moment to pick up the new webhook configuration.
    tokio::time::sleep(Duration::from_secs(2)).await;
    (namespace, running)
}

async fn teardown(client: &Client, namespace: &str, running: server::RunningServer) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let _ = namespaces.delete(namespace, &DeleteParams::default()).await;
    let _ = install::uninstall(client.clone(), false).await;
    running.stop().await;
}

#[tokio::test]
async fn invalid_objects_are_denied_with_our_messages_and_defaults_applied() {
    let Some(client) = cluster().await else { return };
    let (namespace, running) = setup(&client).await;
    let entries = api(&client, &namespace, "MCPServerEntry", "mcpserverentries", "v1beta1");
    let bad = object(json!({
        "apiVersion": "toolhive.stacklok.dev/v1beta1", "kind": "MCPServerEntry",
        "metadata": { "name": "probe", "namespace": namespace },
        "spec": { "remoteUrl": "http://169.254.169.254/latest", "transport": "sse", "groupRef": { "name": "tools" } },
    }));
    let err = entries.create(&PostParams::default(), &bad).await.expect_err("denied");
    let text = err.to_string();
    assert!(text.contains("[entry.url.blocked-host]"), "{text}");
    let good = object(json!({
        "apiVersion": "toolhive.stacklok.dev/v1beta1", "kind": "MCPServerEntry",
        "metadata": { "name": "ok", "namespace": namespace },
        "spec": { "remoteUrl": "https://mcp.example.com/sse", "transport": "sse", "groupRef": { "name": "tools" },
                  "caBundleRef": { "configMapRef": { "name": "corp-ca", "key": "" } } },
    }));
    let created = entries.create(&PostParams::default(), &good).await.expect("created");
    assert_eq!(created.data["spec"]["caBundleRef"]["configMapRef"]["key"], "ca.crt", "mutating default applied");
    teardown(&client, &namespace, running).await;
}

#[tokio::test]
async fn legacy_v1alpha1_objects_read_back_normalised_and_exactly_as_written() {
    let Some(client) = cluster().await else { return };
    let (namespace, running) = setup(&client).await;
    let alpha = api(&client, &namespace, "MCPServerEntry", "mcpserverentries", "v1alpha1");
    let beta = api(&client, &namespace, "MCPServerEntry", "mcpserverentries", "v1beta1");
    let legacy = json!({
        "apiVersion": "toolhive.stacklok.dev/v1alpha1", "kind": "MCPServerEntry",
        "metadata": { "name": "legacy", "namespace": namespace },
        "spec": { "remoteURL": "https://mcp.example.com/sse", "transport": "sse", "groupRef": "tools" },
    });
    alpha.create(&PostParams::default(), &object(legacy.clone())).await.expect("created at v1alpha1");
    let as_beta = beta.get("legacy").await.expect("read at v1beta1");
    assert_eq!(as_beta.data["spec"]["remoteUrl"], "https://mcp.example.com/sse");
    assert_eq!(as_beta.data["spec"]["groupRef"], json!({ "name": "tools" }));
    let as_alpha = alpha.get("legacy").await.expect("read at v1alpha1");
    assert_eq!(as_alpha.data["spec"], legacy["spec"], "v1alpha1 reads back exactly as written");
    for i in 0..20 {
        let mut copy = legacy.clone();
        copy["metadata"]["name"] = json!(format!("legacy-{i}"));
        alpha.create(&PostParams::default(), &object(copy)).await.expect("created");
    }
    let listed = alpha.list(&Default::default()).await.expect("list at v1alpha1 converts in bulk");
    assert_eq!(listed.items.len(), 21);
    teardown(&client, &namespace, running).await;
}
