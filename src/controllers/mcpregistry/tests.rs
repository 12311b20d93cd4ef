use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus};
use k8s_openapi::api::core::v1::{ConfigMap, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use pretty_assertions::assert_eq;
use serde_json::json;

use super::*;
use crate::api::v1beta1::{LocalObjectReference, MCPRegistrySpec, SecretKeySelector};
use crate::controllers::testing::{self, Call, World, echo_writes, meta, pretty, snapshot, writes};

fn registry(name: &str) -> MCPRegistry {
    let mut r = MCPRegistry::new(
        name,
        MCPRegistrySpec {
            config_yaml: Some("registryName: corp\nsources:\n  - name: upstream\n    format: toolhive\n".into()),
            ..MCPRegistrySpec::default()
        },
    );
    r.metadata = meta(name);
    r.metadata.finalizers = Some(vec![FINALIZER.to_string()]);
    r
}

fn with_pgpass(mut r: MCPRegistry) -> MCPRegistry {
    r.spec.pgpass_secret_ref =
        Some(SecretKeySelector { key: "pgpass".into(), name: Some("db-credentials".into()), optional: None });
    r.spec.volumes = Some(vec![json!({ "name": "sources", "configMap": { "name": "sources" } })]);
    r.spec.volume_mounts = Some(vec![json!({ "name": "sources", "mountPath": "/sources", "readOnly": true })]);
    r.spec.image_pull_secrets = Some(vec![LocalObjectReference { name: Some("regcred".into()) }]);
    r.spec.pod_template_spec = Some(json!({ "spec": {
        "containers": [{ "name": "registry-api", "resources": { "requests": { "cpu": "100m" } } }],
        "tolerations": [{ "key": "dedicated", "operator": "Exists" }]
    } }));
    r
}

#[tokio::test]
async fn a_new_registry_gets_its_children_and_waits_for_a_ready_pod() {
    let r = registry("corp");
    let (client, calls) = testing::mock_client(echo_writes());
    let ctx = testing::context(client, World { registries: vec![r.clone()], ..World::default() }.build());
    let action = reconcile(Arc::new(r.clone()), ctx).await.unwrap();
    assert_eq!(action, Action::requeue(PENDING_RECHECK));
    let calls = calls.take();
    let base = "/api/v1/namespaces/team";
    let rbac = "/apis/rbac.authorization.k8s.io/v1/namespaces/team";
    assert_eq!(
        writes(&calls),
        [
            ("PATCH", format!("{base}/configmaps/corp-registry-server-config")),
            ("PATCH", format!("{base}/serviceaccounts/corp-registry-api")),
            ("PATCH", format!("{rbac}/roles/corp-registry-api")),
            ("PATCH", format!("{rbac}/rolebindings/corp-registry-api")),
            ("PATCH", "/apis/apps/v1/namespaces/team/deployments/corp-api".to_string()),
            ("PATCH", format!("{base}/services/corp-api")),
            ("PATCH", "/apis/toolhive.stacklok.dev/v1beta1/namespaces/team/mcpregistries/corp/status".to_string()),
        ]
        .map(|(m, p)| (m.to_string(), p))
    );
    let events: Vec<&str> = calls.iter().filter_map(Call::event_reason).collect();
    assert_eq!(events, ["Deprecated", "Created"]);
    let body = |kind: &str| calls.iter().find(|c| !c.is_event() && c.body["kind"] == kind).unwrap().body.clone();
    let cm = body("ConfigMap");
    assert_eq!(cm["data"]["config.yaml"], r.spec.config_yaml.clone().unwrap(), "verbatim");
    assert_eq!(
        cm["metadata"]["annotations"][children::CONTENT_CHECKSUM],
        children::sha256_hex(r.spec.config_yaml.as_deref().unwrap().as_bytes())
    );
    let deployment = body("Deployment");
    assert_eq!(deployment["spec"]["replicas"], 1, "one replica on create");
    snapshot("registry-configmap.json", &pretty(&cm));
    snapshot("registry-deployment.json", &pretty(&deployment));
    snapshot("registry-service.json", &pretty(&body("Service")));
    snapshot("registry-role.json", &pretty(&body("Role")));
    let status = &calls.iter().find(|c| c.path.contains("/status")).unwrap().body["status"];
    assert_eq!(status["phase"], "Pending");
    assert_eq!(status["conditions"][0]["reason"], NOT_READY);
}

async fn settled(r: MCPRegistry) -> (MCPRegistry, World) {
    let mut r = r;
    let (client, calls) = testing::mock_client(echo_writes());
    let world = World { registries: vec![r.clone()], ..World::default() };
    reconcile(Arc::new(r.clone()), testing::context(client, world.clone().build())).await.unwrap();
    let calls = calls.take();
    let body = |kind: &str| {
        let mut body = calls.iter().find(|c| !c.is_event() && c.body["kind"] == kind).unwrap().body.clone();
        body["metadata"]["resourceVersion"] = json!("3");
        body
    };
    let mut deployment = body("Deployment");
    deployment["spec"]["template"]["spec"]["dnsPolicy"] = json!("ClusterFirst");
    let status = calls.iter().find(|c| c.path.contains("/status")).unwrap();
    r.status = Some(serde_json::from_value(status.body["status"].clone()).unwrap());
    let w = World {
        registries: vec![r.clone()],
        child_config_maps: vec![serde_json::from_value::<ConfigMap>(body("ConfigMap")).unwrap()],
        service_accounts: vec![serde_json::from_value::<ServiceAccount>(body("ServiceAccount")).unwrap()],
        roles: vec![serde_json::from_value::<Role>(body("Role")).unwrap()],
        role_bindings: vec![serde_json::from_value::<RoleBinding>(body("RoleBinding")).unwrap()],
        deployments: vec![serde_json::from_value::<Deployment>(deployment).unwrap()],
        services: vec![serde_json::from_value::<Service>(body("Service")).unwrap()],
        ..World::default()
    };
    (r, w)
}

#[tokio::test]
async fn a_second_reconcile_with_nothing_changed_writes_nothing() {
    let (r, w) = settled(with_pgpass(registry("corp"))).await;
    let (client, calls) = testing::mock_client(echo_writes());
    let action = reconcile(Arc::new(r), testing::context(client, w.build())).await.unwrap();
    assert_eq!(calls.take(), vec![], "no apply, no status, no second deprecation event");
    assert_eq!(action, Action::requeue(PENDING_RECHECK));
}

#[tokio::test]
async fn a_ready_replica_makes_the_registry_ready_with_its_url() {
    let (r, mut w) = settled(registry("corp")).await;
    w.deployments[0].status = Some(DeploymentStatus { ready_replicas: Some(1), ..Default::default() });
    w.deployments[0].spec.as_mut().unwrap().replicas = Some(3);
    let (client, calls) = testing::mock_client(echo_writes());
    let action = reconcile(Arc::new(r), testing::context(client, w.build())).await.unwrap();
    assert_eq!(action, Action::await_change());
    let calls = calls.take();
    assert_eq!(writes(&calls).len(), 1, "status only; replicas someone scaled are left alone: {calls:#?}");
    let status = &calls[0].body["status"];
    assert_eq!(
        (status["phase"].as_str(), status["url"].as_str(), status["readyReplicas"].as_i64()),
        (Some("Ready"), Some("http://corp-api.team:8080"), Some(1))
    );
}

#[tokio::test]
async fn an_invalid_spec_fails_with_validation_failed_and_applies_nothing() {
    let mut r = registry("corp");
    r.spec.config_yaml = None;
    let (client, calls) = testing::mock_client(echo_writes());
    reconcile(Arc::new(r.clone()), testing::context(client, World { registries: vec![r], ..World::default() }.build()))
        .await
        .unwrap();
    let calls = calls.take();
    assert_eq!(writes(&calls).len(), 1);
    let status = &calls.iter().find(|c| c.path.contains("/status")).unwrap().body["status"];
    assert_eq!(
        (status["phase"].as_str(), status["conditions"][0]["reason"].as_str()),
        (Some("Failed"), Some(VALIDATION_FAILED))
    );
}

#[tokio::test]
async fn deleting_a_registry_with_an_invalid_spec_reports_terminating_and_removes_the_finalizer() {
    let mut r = registry("corp");
    r.spec.config_yaml = None;
    r.spec.volume_mounts = Some(vec![json!({ "name": "nope", "mountPath": "relative" })]);
    r.metadata.deletion_timestamp = Some(Time("2025-06-01T11:59:00Z".parse().unwrap()));
    let (client, calls) = testing::mock_client(echo_writes());
    let ctx = testing::context(client, World { registries: vec![r.clone()], ..World::default() }.build());
    reconcile(Arc::new(r), ctx).await.unwrap();
    let calls = calls.take();
    let writes = writes(&calls);
    let path = "/apis/toolhive.stacklok.dev/v1beta1/namespaces/team/mcpregistries/corp";
    assert_eq!(writes, [("PATCH".to_string(), format!("{path}/status")), ("PATCH".to_string(), path.to_string())]);
    assert_eq!(calls[0].body["status"]["phase"], "Terminating");
    let removal = calls[1].body.to_string();
    assert!(removal.contains("remove") && removal.contains("/metadata/finalizers"), "{removal}");
}

#[tokio::test]
async fn the_first_reconcile_adds_the_finalizer() {
    let mut r = registry("corp");
    r.metadata.finalizers = None;
    let (client, calls) = testing::mock_client(echo_writes());
    let ctx = testing::context(client, World { registries: vec![r.clone()], ..World::default() }.build());
    reconcile(Arc::new(r), ctx).await.unwrap();
    let calls = calls.take();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert!(calls[0].body.to_string().contains(FINALIZER));
}

#[test]
fn the_pgpass_plumbing_and_the_users_volumes_are_rendered() {
    let r = with_pgpass(registry("corp"));
    let children = render_children(&r, &testing::config()).unwrap();
    let deployment = &children.iter().find(|(_, c)| c.kind == "Deployment").unwrap().1.body;
    snapshot("registry-deployment-pgpass.json", &pretty(deployment));
    let pod = &deployment["spec"]["template"]["spec"];
    let names = |list: &serde_json::Value| -> Vec<String> {
        list.as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(names(&pod["volumes"]), ["registry-server-config", "pgpass-secret", "pgpass", "sources"]);
    assert_eq!(names(&pod["initContainers"]), ["setup-pgpass"]);
    let init = &pod["initContainers"][0];
    assert_eq!(init["securityContext"]["runAsUser"], 65532);
    assert!(init["command"][2].as_str().unwrap().contains("chmod 0600"));
    let api = &pod["containers"][0];
    assert_eq!(api["env"], json!([{ "name": "PGPASSFILE", "value": "/home/appuser/.pgpass" }]));
    assert_eq!(api["resources"]["requests"]["cpu"], "100m", "the pod template is merged");
    assert_eq!(pod["tolerations"][0]["key"], "dedicated");
    assert_eq!(pod["imagePullSecrets"], json!([{ "name": "regcred" }]));
    let account = &children.iter().find(|(_, c)| c.kind == "ServiceAccount").unwrap().1.body;
    assert_eq!(account["imagePullSecrets"], json!([{ "name": "regcred" }]));
    assert_eq!(account["metadata"]["labels"]["app.kubernetes.io/component"], "registry-api");
}

#[test]
fn the_config_hash_follows_the_spec() {
    let a = registry("corp");
    let mut b = registry("corp");
    b.spec.display_name = Some("Corp".into());
    let hash = |r: &MCPRegistry| {
        let children = render_children(r, &testing::config()).unwrap();
        let deployment = children.into_iter().find(|(_, c)| c.kind == "Deployment").unwrap().1;
        deployment.body["spec"]["template"]["metadata"]["annotations"][render::CONFIG_HASH].clone()
    };
    assert_eq!(hash(&a), hash(&registry("corp")));
    assert_ne!(hash(&a), hash(&b));
}
