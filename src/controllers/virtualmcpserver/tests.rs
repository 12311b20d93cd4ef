use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry, OwnerReference};
use pretty_assertions::assert_eq;
use serde_json::json;

use super::*;
use crate::api::v1beta1::virtualmcpserver::{IncomingAuth, SessionStorage};
use crate::api::v1beta1::{
    CABundleConfigMapRef, CABundleRef, HeaderForward, HeaderFromSecret, LocalObjectReference, MCPGroupRef,
    MCPServerEntry, MCPServerEntryStatus, SecretKeyRef, VirtualMCPServerSpec,
};
use crate::controllers::testing::{
    self, Call, NS, World, echo_writes, entry, group_with_phase, meta, pretty, snapshot, writes,
};

const DEMO: &str = "demo";

fn vmcp(name: &str) -> VirtualMCPServer {
    let mut v = VirtualMCPServer::new(
        name,
        VirtualMCPServerSpec {
            group_ref: Some(MCPGroupRef { name: "g".into(), namespace: None }),
            incoming_auth: Some(IncomingAuth { type_: Some("anonymous".into()), ..IncomingAuth::default() }),
            ..VirtualMCPServerSpec::default()
        },
    );
    v.metadata = meta(name);
    v
}

/// A Valid entry with a CA bundle and a secret-backed header, and a Failed one.
fn entries() -> Vec<MCPServerEntry> {
    let mut github = entry("github", "g");
    github.spec.ca_bundle_ref = Some(CABundleRef {
        config_map_ref: Some(CABundleConfigMapRef { name: Some("corp-ca".into()), key: None, optional: None }),
    });
    github.spec.header_forward = Some(HeaderForward {
        add_headers_from_secret: Some(vec![HeaderFromSecret {
            header_name: "X-Api-Key".into(),
            value_secret_ref: Some(SecretKeyRef { name: "github-token".into(), key: "token".into(), namespace: None }),
        }]),
        add_plaintext_headers: None,
    });
    github.status = Some(MCPServerEntryStatus { phase: Some("Valid".into()), ..Default::default() });
    let mut broken = entry("broken", "g");
    broken.status = Some(MCPServerEntryStatus { phase: Some("Failed".into()), ..Default::default() });
    vec![github, broken]
}

fn world(v: &VirtualMCPServer) -> World {
    World {
        groups: vec![group_with_phase("g", "Ready")],
        entries: entries(),
        vmcps: vec![v.clone()],
        ..World::default()
    }
}

fn render_all(v: &VirtualMCPServer, caches: &Caches) -> Children {
    let plan = plan(v, caches, &testing::config(), &AuthzConfigMap::NotNeeded, &HmacSecret::Valid);
    plan.children.expect("children")
}

fn ours(name: &str) -> OwnerReference {
    OwnerReference {
        api_version: "toolhive.stacklok.dev/v1beta1".into(),
        kind: "VirtualMCPServer".into(),
        name: name.into(),
        uid: format!("uid-{name}"),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// The HMAC Secret as the cache holds it once created.
fn hmac_secret(name: &str) -> crate::controllers::keys::SecretKeys {
    let mut secret = testing::secret(&hmac_secret_name(name), &[HMAC_KEY]);
    secret.metadata.owner_references = Some(vec![ours(name)]);
    secret
}

const APPLY: &str = "?&force=true&fieldManager=mcp-operator";

#[tokio::test]
async fn a_new_server_gets_every_child_applied_then_its_status() {
    let v = vmcp(DEMO);
    let (client, calls) = testing::mock_client(echo_writes());
    let ctx = testing::context(client, world(&v).build());
    let action = reconcile(Arc::new(v), ctx).await.unwrap();
    assert_eq!(action, Action::await_change());
    let calls = calls.take();
    let base = "/api/v1/namespaces/team";
    let rbac = "/apis/rbac.authorization.k8s.io/v1/namespaces/team";
    assert_eq!(
        writes(&calls),
        [
            ("POST", format!("{base}/secrets")),
            ("PATCH", format!("{base}/serviceaccounts/demo-vmcp")),
            ("PATCH", format!("{rbac}/roles/demo-vmcp")),
            ("PATCH", format!("{rbac}/rolebindings/demo-vmcp")),
            ("PATCH", format!("{base}/configmaps/demo-vmcp-config")),
            ("PATCH", "/apis/apps/v1/namespaces/team/deployments/demo".to_string()),
            ("PATCH", format!("{base}/services/vmcp-demo")),
            ("PATCH", "/apis/toolhive.stacklok.dev/v1beta1/namespaces/team/virtualmcpservers/demo/status".to_string()),
        ]
        .map(|(m, p)| (m.to_string(), p))
    );
    let applies: Vec<&Call> = calls.iter().filter(|c| c.method == "PATCH" && !c.is_event()).collect();
    assert!(
        applies.iter().all(|c| c.path.ends_with(APPLY)),
        "every write is a forced apply by mcp-operator: {applies:#?}"
    );
    let secret = &calls[0].body;
    assert_eq!(secret["metadata"]["ownerReferences"], json!([ours(DEMO)]));
    let key = secret["data"][HMAC_KEY].as_str().unwrap();
    use base64::Engine;
    assert_eq!(base64::engine::general_purpose::STANDARD.decode(key).unwrap().len(), HMAC_BYTES);
    for call in &applies[..6] {
        let labels = &call.body["metadata"]["labels"];
        assert_eq!(labels["app.kubernetes.io/managed-by"], "toolhive-operator", "{}", call.path);
        assert_eq!(call.body["metadata"]["ownerReferences"], json!([ours(DEMO)]), "{}", call.path);
        assert!(call.body["metadata"]["annotations"][children::INPUT_HASH].is_string(), "{}", call.path);
    }
    snapshot("vmcp-serviceaccount.json", &pretty(&applies[0].body));
    snapshot("vmcp-role.json", &pretty(&applies[1].body));
    snapshot("vmcp-rolebinding.json", &pretty(&applies[2].body));
    snapshot("vmcp-configmap.json", &pretty(&applies[3].body));
    snapshot("vmcp-config.yaml", applies[3].body["data"]["config.yaml"].as_str().unwrap());
    snapshot("vmcp-deployment.json", &pretty(&applies[4].body));
    snapshot("vmcp-service.json", &pretty(&applies[5].body));
    let status = &applies[6].body["status"];
    assert_eq!(status["phase"], "Pending");
    assert_eq!(status["url"], "http://vmcp-demo.team.svc.cluster.local:4483");
    assert_eq!(status["backendCount"], 1);
    let backends: Vec<(&str, &str)> = status["discoveredBackends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["name"].as_str().unwrap(), b["status"].as_str().unwrap()))
        .collect();
    assert_eq!(backends, [("broken", "unavailable"), ("github", "ready")]);
    let conditions: Vec<(&str, &str, &str)> = status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["type"].as_str().unwrap(), c["status"].as_str().unwrap(), c["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        conditions,
        [
            (VALID, "True", CONFIG_VALID),
            (GROUP_REF_VALIDATED, "True", GROUP_REF_VALID),
            (AUTH_CONFIGURED, "True", AUTH_VALID),
            (HMAC_SECRET_VALIDATED, "True", HMAC_SECRET_VALID),
            (POD_TEMPLATE_SPEC_VALID, "True", POD_TEMPLATE_VALID),
            (BACKENDS_DISCOVERED, "True", DISCOVERED),
            (READY, "False", DEPLOYMENT_NOT_READY),
        ]
    );
    let events: Vec<&Call> = calls.iter().filter(|c| c.is_event()).collect();
    assert_eq!(events.len(), 1, "one event for everything created: {events:#?}");
    assert_eq!(events[0].event_reason(), Some("Created"));
    assert_eq!(
        events[0].body["note"],
        "created Secret demo-hmac-secret, ServiceAccount demo-vmcp, Role demo-vmcp, RoleBinding demo-vmcp, ConfigMap demo-vmcp-config, Deployment demo, Service vmcp-demo"
    );
}

/// The world after the first reconcile: the children as the API server stores them (with some
/// defaults filled in), the HMAC Secret, and the status written.
async fn settled() -> (VirtualMCPServer, World) {
    settled_from(vmcp(DEMO)).await
}

/// [`settled`] for a given server.
async fn settled_from(mut v: VirtualMCPServer) -> (VirtualMCPServer, World) {
    let (client, calls) = testing::mock_client(echo_writes());
    reconcile(Arc::new(v.clone()), testing::context(client, world(&v).build())).await.unwrap();
    let calls = calls.take();
    let body = |kind: &str| {
        let call = calls.iter().find(|c| c.method == "PATCH" && c.body["kind"] == kind).unwrap();
        let mut body = call.body.clone();
        body["metadata"]["uid"] = json!(format!("uid-{kind}"));
        body["metadata"]["resourceVersion"] = json!("5");
        body
    };
    let mut deployment = body("Deployment");
    let container = &mut deployment["spec"]["template"]["spec"]["containers"][0];
    container["imagePullPolicy"] = json!("Always");
    container["terminationMessagePath"] = json!("/dev/termination-log");
    if deployment["spec"].get("replicas").is_none() {
        deployment["spec"]["replicas"] = json!(1);
    }
    deployment["spec"]["strategy"] = json!({ "type": "RollingUpdate" });
    let mut service = body("Service");
    service["spec"]["clusterIP"] = json!("10.0.0.7");
    let status = calls.iter().find(|c| c.path.contains("/status")).unwrap();
    v.status = Some(serde_json::from_value(status.body["status"].clone()).unwrap());
    let mut w = world(&v);
    w.secrets = vec![hmac_secret(DEMO)];
    w.service_accounts = vec![serde_json::from_value::<ServiceAccount>(body("ServiceAccount")).unwrap()];
    w.roles = vec![serde_json::from_value::<Role>(body("Role")).unwrap()];
    w.role_bindings = vec![serde_json::from_value::<RoleBinding>(body("RoleBinding")).unwrap()];
    w.child_config_maps = vec![serde_json::from_value::<ConfigMap>(body("ConfigMap")).unwrap()];
    w.deployments = vec![serde_json::from_value::<Deployment>(deployment).unwrap()];
    w.services = vec![serde_json::from_value::<Service>(service).unwrap()];
    (v, w)
}

#[tokio::test]
async fn a_second_reconcile_with_nothing_changed_writes_nothing() {
    let (v, w) = settled().await;
    let (client, calls) = testing::mock_client(echo_writes());
    reconcile(Arc::new(v), testing::context(client, w.build())).await.unwrap();
    assert_eq!(calls.take(), vec![], "no apply, no status patch, no event");
}

#[tokio::test]
async fn a_child_changed_by_someone_else_is_applied_again_and_foreign_fields_stay() {
    let (v, mut w) = settled().await;
    let original = w.deployments[0].clone();
    let pod = w.deployments[0].spec.as_mut().unwrap().template.spec.as_mut().unwrap();
    pod.containers[0].image = Some("evil/vmcp:latest".into());
    // Foreign fields: a cloud annotation on the Service, a rollout restart, an autoscaler's replicas.
    w.services[0].metadata.annotations.get_or_insert_default().insert("cloud.example.com/lb".into(), "internal".into());
    let template = &mut w.deployments[0].spec.as_mut().unwrap().template;
    template
        .metadata
        .get_or_insert_default()
        .annotations
        .get_or_insert_default()
        .insert("kubectl.kubernetes.io/restartedAt".into(), "2025-06-01T10:00:00Z".into());
    w.deployments[0].spec.as_mut().unwrap().replicas = Some(7);
    let (client, calls) = testing::mock_client(echo_writes());
    reconcile(Arc::new(v), testing::context(client, w.build())).await.unwrap();
    let calls = calls.take();
    assert_eq!(
        writes(&calls),
        [("PATCH".to_string(), "/apis/apps/v1/namespaces/team/deployments/demo".to_string())],
        "only the drifted Deployment is applied"
    );
    let body = &calls[0].body;
    let image = &body["spec"]["template"]["spec"]["containers"][0]["image"];
    assert_eq!(image, "ghcr.io/stacklok/toolhive/vmcp:test");
    assert!(body["spec"].get("replicas").is_none(), "replicas are not owned when the spec leaves them unset");
    assert!(body["spec"]["template"]["metadata"]["annotations"].get("kubectl.kubernetes.io/restartedAt").is_none());
    let original_image = &original.spec.unwrap().template.spec.unwrap().containers[0].image;
    assert_eq!(image.as_str(), original_image.as_deref());
}

#[tokio::test]
async fn replicas_the_spec_stops_setting_are_handed_over_before_they_are_dropped() {
    let mut owning = vmcp(DEMO);
    owning.spec.replicas = Some(3);
    let (mut v, mut w) = settled_from(owning).await;
    let live = &w.deployments[0];
    assert_eq!(live.spec.as_ref().unwrap().replicas, Some(3));
    assert_eq!(live.metadata.annotations.as_ref().unwrap()[children::REPLICAS_OWNED], "true");

    v.spec.replicas = None;
    let (client, calls) = testing::mock_client(echo_writes());
    reconcile(Arc::new(v.clone()), testing::context(client, w.clone().build())).await.unwrap();
    let calls = calls.take();
    let patches: Vec<&testing::Call> = calls.iter().filter(|c| c.path.contains("/deployments/demo")).collect();
    assert_eq!(patches.len(), 2, "{patches:#?}");
    let (handover, apply) = (patches[0], patches[1]);
    assert!(handover.path.contains("fieldManager=mcp-operator-replicas-handover"), "{}", handover.path);
    assert!(!handover.path.contains("force=true"), "the handover never takes a count from another manager");
    assert_eq!(handover.body["spec"], json!({ "replicas": 3 }), "only the live count");
    assert!(apply.path.contains("fieldManager=mcp-operator"));
    assert!(apply.body["spec"].get("replicas").is_none());
    assert!(apply.body["metadata"]["annotations"].get(children::REPLICAS_OWNED).is_none());

    // Once the annotation is gone (the apply dropped it), later changes hand nothing over.
    w.deployments[0].metadata.annotations.as_mut().unwrap().remove(children::REPLICAS_OWNED);
    w.deployments[0].spec.as_mut().unwrap().template.spec.as_mut().unwrap().containers[0].image = Some("x".into());
    let (client, calls) = testing::mock_client(echo_writes());
    reconcile(Arc::new(v), testing::context(client, w.build())).await.unwrap();
    let calls = calls.take();
    let handovers = calls.iter().filter(|c| c.path.contains("replicas-handover")).count();
    assert_eq!(handovers, 0);
}

#[tokio::test]
async fn a_spec_error_moves_a_ready_server_to_failed_and_applies_nothing() {
    let (mut v, mut w) = settled().await;
    w.deployments[0].status =
        Some(k8s_openapi::api::apps::v1::DeploymentStatus { ready_replicas: Some(1), ..Default::default() });
    v.status.as_mut().unwrap().phase = Some("Ready".into());
    v.spec.passthrough_headers = Some(vec!["Authorization".into()]);
    v.metadata.generation = Some(2);
    let (client, calls) = testing::mock_client(echo_writes());
    reconcile(Arc::new(v), testing::context(client, w.build())).await.unwrap();
    let calls = calls.take();
    assert_eq!(writes(&calls).len(), 1, "only the status: {calls:#?}");
    let status = &calls[0].body["status"];
    assert_eq!(status["phase"], "Failed");
    let valid = status["conditions"].as_array().unwrap().iter().find(|c| c["type"] == VALID).unwrap();
    assert_eq!((valid["status"].as_str(), valid["reason"].as_str()), (Some("False"), Some(CONFIG_INVALID)));
    assert!(valid["message"].as_str().unwrap().contains("[vmcp.headers]"), "{valid}");
    let ready = status["conditions"].as_array().unwrap().iter().find(|c| c["type"] == READY).unwrap();
    assert_eq!(ready["reason"], DEPLOYMENT_FAILED);
    assert_eq!(calls.iter().filter_map(Call::event_reason).collect::<Vec<_>>(), ["ReconcileFailed"]);
}

#[tokio::test]
async fn a_ready_pod_with_every_backend_ready_is_ready_and_some_unavailable_is_degraded() {
    let (mut v, mut w) = settled().await;
    w.deployments[0].status =
        Some(k8s_openapi::api::apps::v1::DeploymentStatus { ready_replicas: Some(1), ..Default::default() });
    let (client, calls) = testing::mock_client(echo_writes());
    reconcile(Arc::new(v.clone()), testing::context(client, w.clone().build())).await.unwrap();
    let calls = calls.take();
    assert_eq!(calls[0].body["status"]["phase"], "Degraded");
    let ready = calls[0].body["status"]["conditions"].as_array().unwrap().iter().find(|c| c["type"] == READY).cloned();
    assert_eq!(ready.unwrap()["reason"], BACKENDS_DEGRADED);
    w.entries.retain(|e| e.metadata.name.as_deref() == Some("github"));
    v.status = Some(serde_json::from_value(calls[0].body["status"].clone()).unwrap());
    let (client, calls) = testing::mock_client(echo_writes());
    reconcile(Arc::new(v), testing::context(client, w.build())).await.unwrap();
    let calls = calls.take();
    let status = &calls.iter().find(|c| c.path.contains("/status")).unwrap().body["status"];
    assert_eq!((status["phase"].as_str(), status["backendCount"].as_i64()), (Some("Ready"), Some(1)));
}

#[tokio::test]
async fn fields_the_runtime_reports_are_left_to_it() {
    let (mut v, w) = settled().await;
    v.metadata.managed_fields = Some(vec![ManagedFieldsEntry {
        manager: Some("vmcp".into()),
        operation: Some("Update".into()),
        subresource: Some("status".into()),
        fields_v1: Some(FieldsV1(json!({ "f:status": {
            "f:discoveredBackends": {}, "f:backendCount": {},
            "f:conditions": { "k:{\"type\":\"BackendsDiscovered\"}": {} }
        } }))),
        ..Default::default()
    }]);
    let status = v.status.as_mut().unwrap();
    status.backend_count = Some(2);
    status.phase = Some("Ready".into());
    let mut pruned = v.clone();
    pruned.prune(Kind::VirtualMCPServer);
    assert_eq!(pruned.metadata.managed_fields, v.metadata.managed_fields, "the cache keeps other writers' entries");
    assert_eq!(
        RuntimeOwned::of(&pruned),
        RuntimeOwned { backends: true, backend_count: true, discovered_condition: true }
    );
    let (client, calls) = testing::mock_client(echo_writes());
    reconcile(Arc::new(pruned), testing::context(client, w.build())).await.unwrap();
    let calls = calls.take();
    let status =
        &calls.iter().find(|c| c.path.contains("/status")).unwrap_or_else(|| panic!("{calls:#?}")).body["status"];
    assert!(status.get("discoveredBackends").is_none() && status.get("backendCount").is_none(), "{status}");
    let types: Vec<&str> =
        status["conditions"].as_array().unwrap().iter().map(|c| c["type"].as_str().unwrap()).collect();
    assert!(!types.contains(&BACKENDS_DISCOVERED), "{types:?}");
    assert_eq!(status["phase"], "Pending", "the phase stays the operator's");
}

#[tokio::test]
async fn an_hmac_secret_that_is_not_ours_is_reported_and_nothing_is_applied() {
    let v = vmcp(DEMO);
    let mut w = world(&v);
    w.secrets = vec![testing::secret(&hmac_secret_name(DEMO), &[HMAC_KEY])];
    let (client, calls) = testing::mock_client(echo_writes());
    reconcile(Arc::new(v), testing::context(client, w.build())).await.unwrap();
    let calls = calls.take();
    assert_eq!(writes(&calls).len(), 1, "status only: {calls:#?}");
    let status = &calls[0].body["status"];
    assert_eq!(status["phase"], "Failed");
    let hmac = status["conditions"].as_array().unwrap().iter().find(|c| c["type"] == HMAC_SECRET_VALIDATED).unwrap();
    assert_eq!(hmac["reason"], HMAC_SECRET_NOT_OWNED);
}

#[tokio::test]
async fn a_short_hmac_key_is_malformed() {
    let v = vmcp(DEMO);
    let mut secret = hmac_secret(DEMO);
    secret.sizes.insert(HMAC_KEY.into(), 8);
    let caches = World { secrets: vec![secret], ..world(&v) }.build();
    assert_eq!(hmac_state(&caches, &v, NS), HmacSecret::Malformed);
}

#[test]
fn rendering_is_deterministic_whatever_the_order_of_inputs() {
    let v = vmcp(DEMO);
    let forward = world(&v).build();
    let mut reversed = world(&v);
    reversed.entries.reverse();
    let reversed = reversed.build();
    let a = render_all(&v, &forward);
    let b = render_all(&v, &reversed);
    assert_eq!(a.deployment.stamped(), b.deployment.stamped());
    assert_eq!(a.config_map.stamped(), b.config_map.stamped());
    let env: Vec<String> = a.deployment.body["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect();
    let mut sorted = env.clone();
    sorted.sort();
    assert_eq!(env, sorted);
    assert_eq!(
        secret_names(&a),
        BTreeMap::from([
            ("TOOLHIVE_HEADER_FORWARD_GITHUB_X_API_KEY".to_string(), "github-token".to_string()),
            (HMAC_ENV.to_string(), "demo-hmac-secret".to_string()),
        ])
    );
    let checksum = config_checksum(&a).unwrap();
    assert_eq!(
        a.deployment.body["spec"]["template"]["metadata"]["annotations"][render::deployment::RUNCONFIG_CHECKSUM],
        checksum
    );
}

#[test]
fn the_pod_template_merges_into_the_vmcp_container_and_an_invalid_one_fails() {
    let mut v = vmcp(DEMO);
    v.spec.pod_template_spec = Some(json!({ "spec": {
        "containers": [{ "name": "vmcp", "resources": { "limits": { "memory": "512Mi" } } }],
        "nodeSelector": { "pool": "mcp" }
    } }));
    let caches = world(&v).build();
    let children = render_all(&v, &caches);
    let pod = &children.deployment.body["spec"]["template"]["spec"];
    assert_eq!(pod["containers"][0]["resources"]["limits"]["memory"], "512Mi");
    assert_eq!(pod["containers"][0]["image"], "ghcr.io/stacklok/toolhive/vmcp:test");
    assert_eq!(pod["nodeSelector"]["pool"], "mcp");
    v.spec.pod_template_spec = Some(json!({ "spec": { "containers": "not a list" } }));
    let plan = plan(&v, &caches, &testing::config(), &AuthzConfigMap::NotNeeded, &HmacSecret::Valid);
    assert!(plan.children.is_none());
    let template = plan.conditions.iter().find(|c| c.type_ == POD_TEMPLATE_SPEC_VALID).unwrap();
    assert_eq!((template.status, template.reason), (false, POD_TEMPLATE_INVALID));
}

#[test]
fn replicas_are_sent_only_when_the_spec_sets_them() {
    let mut v = vmcp(DEMO);
    let caches = world(&v).build();
    assert!(render_all(&v, &caches).deployment.body["spec"].get("replicas").is_none());
    v.spec.replicas = Some(3);
    assert_eq!(render_all(&v, &caches).deployment.body["spec"]["replicas"], 3);
}

#[test]
fn kubernetes_incoming_auth_renders_the_clusters_service_account_tokens() {
    let mut v = vmcp(DEMO);
    v.spec.incoming_auth = Some(IncomingAuth {
        type_: Some("kubernetes".into()),
        kubernetes: Some(crate::api::v1beta1::virtualmcpserver::KubernetesAuth {
            audience: Some("vmcp".into()),
            issuer: None,
        }),
        ..IncomingAuth::default()
    });
    let rendered =
        render::config::render(&v, &resolve::resolve(&v, NS, &world(&v).build(), &AuthzConfigMap::NotNeeded));
    assert_eq!(
        rendered["incomingAuth"],
        json!({ "type": "oidc", "oidc": {
            "audience": "vmcp", "caBundlePath": resolve::SERVICE_ACCOUNT_CA, "clientId": "vmcp",
            "issuer": "https://kubernetes.default.svc", "jwksAllowPrivateIp": true,
            "jwksAuthTokenPath": resolve::SERVICE_ACCOUNT_TOKEN
        } })
    );
    assert_eq!(
        rendered["aggregation"],
        json!({ "conflictResolution": "prefix", "conflictResolutionConfig": { "prefixFormat": "{workload}_" } })
    );
}

#[test]
fn secrets_appear_in_the_config_only_as_environment_variable_names() {
    let mut v = vmcp(DEMO);
    v.spec.session_storage = Some(SessionStorage {
        provider: Some("redis".into()),
        address: Some("redis:6379".into()),
        password_ref: Some(SecretKeyRef { name: "redis".into(), key: "password".into(), namespace: None }),
        ..SessionStorage::default()
    });
    v.spec.image_pull_secrets = Some(vec![LocalObjectReference { name: Some("regcred".into()) }]);
    let caches = world(&v).build();
    let children = render_all(&v, &caches);
    let yaml = children.config_map.body["data"]["config.yaml"].as_str().unwrap();
    assert!(yaml.contains("address: redis:6379") && !yaml.contains("password"), "{yaml}");
    assert_eq!(secret_names(&children).get(REDIS_PASSWORD_ENV).map(String::as_str), Some("redis"));
    let account = &children.rbac.as_ref().unwrap()[0].body;
    assert_eq!(account["imagePullSecrets"], json!([{ "name": "regcred" }]));
}

#[tokio::test]
async fn an_empty_pull_secret_list_keeps_the_service_accounts_existing_ones() {
    let (v, mut w) = settled().await;
    w.service_accounts[0].image_pull_secrets =
        Some(vec![k8s_openapi::api::core::v1::LocalObjectReference { name: "added-by-admin".into() }]);
    let caches = w.build();
    let mut children = render_all(&v, &caches);
    carry_pull_secrets(&mut children, &caches, NS);
    let account = &children.rbac.as_ref().unwrap()[0].body;
    assert_eq!(account["imagePullSecrets"], json!([{ "name": "added-by-admin" }]));
}

/// Incoming OIDC auth through the MCPOIDCConfig `name`, audience `vmcp`.
fn oidc_auth(name: &str) -> IncomingAuth {
    IncomingAuth {
        type_: Some("oidc".into()),
        oidc_config_ref: Some(crate::api::v1beta1::virtualmcpserver::OIDCConfigRef {
            name: Some(name.into()),
            audience: Some("vmcp".into()),
            ..Default::default()
        }),
        ..IncomingAuth::default()
    }
}

#[test]
fn missing_references_are_reported_not_retried() {
    let mut v = vmcp(DEMO);
    v.spec.incoming_auth = Some(oidc_auth("corp"));
    v.spec.telemetry_config_ref = Some(crate::api::v1beta1::virtualmcpserver::TelemetryConfigRef {
        name: Some("otel".into()),
        ..Default::default()
    });
    let caches = world(&v).build();
    let plan = plan(&v, &caches, &testing::config(), &AuthzConfigMap::NotNeeded, &HmacSecret::Valid);
    assert!(plan.children.is_none());
    let auth = plan.conditions.iter().find(|c| c.type_ == AUTH_CONFIGURED).unwrap();
    assert_eq!(auth.reason, AUTH_INVALID);
    assert!(auth.message.contains("MCPOIDCConfig \"corp\" not found"), "{}", auth.message);
    let refs = plan.conditions.iter().find(|c| c.type_ == CONFIG_REFS_VALIDATED).unwrap();
    assert_eq!(refs.reason, CONFIG_REF_NOT_FOUND);
}

#[test]
fn an_oidc_config_resolves_with_its_client_secret_as_an_environment_variable() {
    let mut v = vmcp(DEMO);
    v.spec.incoming_auth = Some(oidc_auth("corp"));
    let mut oidc = kube::core::DynamicObject::new("corp", &testing::resource(Kind::MCPOIDCConfig));
    oidc.metadata = meta("corp");
    oidc.data = json!({ "spec": { "type": "inline", "inline": {
        "issuer": "https://idp.example.com", "clientId": "vmcp-client",
        "clientSecretRef": { "name": "idp", "key": "secret" }
    } } });
    let caches = World { foreign: vec![(Kind::MCPOIDCConfig, vec![oidc])], ..world(&v) }.build();
    let children = render_all(&v, &caches);
    let yaml = children.config_map.body["data"]["config.yaml"].as_str().unwrap();
    assert!(yaml.contains("clientSecretEnv: VMCP_OIDC_CLIENT_SECRET"), "{yaml}");
    assert_eq!(secret_names(&children).get(resolve::OIDC_CLIENT_SECRET_ENV).map(String::as_str), Some("idp"));
}

#[test]
fn a_server_references_its_children_group_and_configs() {
    let mut v = vmcp(DEMO);
    v.spec.telemetry_config_ref = Some(crate::api::v1beta1::virtualmcpserver::TelemetryConfigRef {
        name: Some("otel".into()),
        ..Default::default()
    });
    let mut refs: Vec<(Kind, String)> =
        v.references(Kind::VirtualMCPServer).into_iter().map(|t| (t.kind, t.name)).collect();
    refs.sort();
    assert_eq!(
        refs,
        [
            (Kind::MCPGroup, "g"),
            (Kind::MCPTelemetryConfig, "otel"),
            (Kind::Secret, "demo-hmac-secret"),
            (Kind::Deployment, "demo"),
            (Kind::Service, "vmcp-demo"),
            (Kind::ServiceAccount, "demo-vmcp"),
            (Kind::Role, "demo-vmcp"),
            (Kind::RoleBinding, "demo-vmcp"),
            (Kind::ChildConfigMap, "demo-vmcp-config"),
        ]
        .map(|(k, n)| (k, n.to_string()))
    );
}

#[tokio::test]
async fn changes_to_children_members_and_the_group_requeue_the_server() {
    use kube::runtime::watcher::Event;
    let (v, w) = settled().await;
    let caches = w.build();
    let mut queued = caches.queues.vmcps.open();
    let mut drain = || {
        let mut names = Vec::new();
        while let Ok(r) = queued.try_recv() {
            names.push(r.name);
        }
        names
    };
    let mut deployment = caches.deployments.get(NS, DEMO).unwrap().as_ref().clone();
    deployment.metadata.resource_version = Some("6".into());
    caches.apply(Kind::Deployment, &caches.deployments, &Event::Apply(deployment));
    assert_eq!(drain(), [DEMO], "a child changed");
    let mut member = entries().remove(1);
    member.metadata.resource_version = Some("9".into());
    member.status = Some(MCPServerEntryStatus { phase: Some("Valid".into()), ..Default::default() });
    caches.apply(Kind::MCPServerEntry, &caches.entries, &Event::Apply(member));
    assert_eq!(drain(), [DEMO], "a member changed");
    caches.apply(Kind::MCPGroup, &caches.groups, &Event::Apply(group_with_phase("g", "Pending")));
    assert_eq!(drain(), [DEMO], "the group changed");
    let _ = (v, Duration::ZERO);
}
