//! The children of an MCPRegistry as server-side apply bodies (pure functions).

use k8s_openapi::api::rbac::v1::PolicyRule;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use serde_json::{Map, Value, json};

use crate::admission::mcpregistry::{
    CONFIG_MOUNT, CONFIG_VOLUME, CONTAINER, PGPASS_INIT_CONTAINER, PGPASS_MOUNT, PGPASS_SECRET_VOLUME, PGPASS_VOLUME,
};
use crate::api::crd::GROUP;
use crate::api::v1beta1::MCPRegistry;
use crate::controllers::children::{CONTENT_CHECKSUM, Child, json_hash, metadata, sha256_hex, strategic_merge};
use crate::controllers::virtualmcpserver::render::deployment::normalize;

pub const PORT: i32 = 8080;
pub const HEALTH_PORT: i32 = 8081;
pub const CONFIG_KEY: &str = "config.yaml";
pub const CONFIG_HASH: &str = "toolhive.stacklok.dev/config-hash";
/// The user the server and the pgpass init container run as, so the copied file is readable.
pub const USER: i64 = 65532;
pub const PGPASSFILE: &str = "PGPASSFILE";

pub fn config_map_name(name: &str) -> String {
    format!("{name}-registry-server-config")
}

pub fn rbac_name(name: &str) -> String {
    format!("{name}-registry-api")
}

/// The Deployment and the Service.
pub fn api_name(name: &str) -> String {
    format!("{name}-api")
}

/// What every rendering of one MCPRegistry shares.
pub struct Inputs<'a> {
    pub registry: &'a MCPRegistry,
    pub namespace: &'a str,
    pub name: &'a str,
    pub owner: OwnerReference,
    pub image: &'a str,
    pub pgpass_image: &'a str,
}

fn rbac_labels(name: &str) -> Vec<(&'static str, String)> {
    vec![
        ("app.kubernetes.io/component", "registry-api".into()),
        ("app.kubernetes.io/name", rbac_name(name)),
        ("toolhive.stacklok.io/registry-name", name.into()),
    ]
}

/// Labels of the pods, the Deployment's and the Service's selector.
pub fn selector_labels(name: &str) -> Vec<(&'static str, String)> {
    vec![
        ("app.kubernetes.io/component", "registry-api".into()),
        ("app.kubernetes.io/name", api_name(name)),
        ("toolhive.stacklok.io/registry-name", name.into()),
    ]
}

fn pairs<'a>(labels: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    labels.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn label_map(labels: &[(&'static str, String)]) -> Map<String, Value> {
    labels.iter().map(|(k, v)| (k.to_string(), json!(v))).collect()
}

pub fn config_map(inputs: &Inputs) -> Child {
    let name = config_map_name(inputs.name);
    let text = inputs.registry.spec.config_yaml.clone().unwrap_or_default();
    let checksum = sha256_hex(text.as_bytes());
    let labels = selector_labels(inputs.name);
    let body = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(&name, inputs.namespace, &pairs(&labels), &[(CONTENT_CHECKSUM, &checksum)], &inputs.owner),
        "data": { CONFIG_KEY: text },
    });
    Child { kind: "ConfigMap", name, body }
}

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(groups.iter().map(|g| g.to_string()).collect()),
        resources: Some(resources.iter().map(|r| r.to_string()).collect()),
        verbs: verbs.iter().map(|v| v.to_string()).collect(),
        ..PolicyRule::default()
    }
}

/// Read the workloads it catalogs, manage its ConfigMaps and leader Lease, create events.
pub fn role_rules() -> Vec<PolicyRule> {
    const READ: [&str; 3] = ["get", "list", "watch"];
    const MANAGE: [&str; 7] = ["get", "list", "watch", "create", "update", "patch", "delete"];
    vec![
        rule(&[GROUP], &["mcpremoteproxies", "mcpservers", "virtualmcpservers"], &READ),
        rule(&[""], &["services"], &READ),
        rule(&["gateway.networking.k8s.io"], &["gateways", "httproutes"], &READ),
        rule(&[""], &["configmaps"], &MANAGE),
        rule(&["coordination.k8s.io"], &["leases"], &MANAGE),
        rule(&[""], &["events"], &["create"]),
    ]
}

fn pull_secrets(registry: &MCPRegistry) -> Vec<Value> {
    let names = registry.spec.image_pull_secrets.iter().flatten().filter_map(|s| s.name.as_deref());
    names.filter(|n| !n.is_empty()).map(|n| json!({ "name": n })).collect()
}

pub fn rbac(inputs: &Inputs) -> [Child; 3] {
    let name = rbac_name(inputs.name);
    let labels = rbac_labels(inputs.name);
    let meta = || metadata(&name, inputs.namespace, &pairs(&labels), &[], &inputs.owner);
    let mut account = json!({ "apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta() });
    let secrets = pull_secrets(inputs.registry);
    if !secrets.is_empty() {
        account["imagePullSecrets"] = Value::Array(secrets);
    }
    let role = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": meta(),
        "rules": role_rules(),
    });
    let binding = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": meta(),
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name },
        "subjects": [{ "kind": "ServiceAccount", "name": name, "namespace": inputs.namespace }],
    });
    [
        Child { kind: "ServiceAccount", name: name.clone(), body: account },
        Child { kind: "Role", name: name.clone(), body: role },
        Child { kind: "RoleBinding", name, body: binding },
    ]
}

fn restricted(user: bool) -> Value {
    let mut context = json!({
        "allowPrivilegeEscalation": false,
        "capabilities": { "drop": ["ALL"] },
        "readOnlyRootFilesystem": true,
        "runAsNonRoot": true,
        "seccompProfile": { "type": "RuntimeDefault" },
    });
    if user {
        context["runAsUser"] = json!(USER);
        context["runAsGroup"] = json!(USER);
    }
    context
}

/// The Deployment, or why the pod template cannot be merged. `create` adds `replicas: 1`, which
/// is sent only when the Deployment does not exist yet (and kept out of the input hash).
pub fn deployment(inputs: &Inputs) -> Result<Child, String> {
    let spec = &inputs.registry.spec;
    let name = api_name(inputs.name);
    let labels = selector_labels(inputs.name);
    let pgpass = spec.pgpass_secret_ref.as_ref();
    let probe = |path: &str| json!({ "httpGet": { "path": path, "port": HEALTH_PORT }, "periodSeconds": 10 });
    let mut mounts = vec![json!({ "name": CONFIG_VOLUME, "mountPath": CONFIG_MOUNT, "readOnly": true })];
    let mut volumes = vec![json!({ "name": CONFIG_VOLUME, "configMap": { "name": config_map_name(inputs.name) } })];
    let mut container = json!({
        "name": CONTAINER,
        "image": inputs.image,
        "args": ["serve", format!("--config={CONFIG_MOUNT}/{CONFIG_KEY}")],
        "ports": [
            { "containerPort": PORT, "name": "http", "protocol": "TCP" },
            { "containerPort": HEALTH_PORT, "name": "health", "protocol": "TCP" },
        ],
        "livenessProbe": probe("/health"),
        "readinessProbe": probe("/readiness"),
        "securityContext": restricted(true),
    });
    let mut pod = json!({
        "serviceAccountName": rbac_name(inputs.name),
        "securityContext": {
            "fsGroup": USER,
            "runAsGroup": USER,
            "runAsNonRoot": true,
            "runAsUser": USER,
            "seccompProfile": { "type": "RuntimeDefault" },
        },
    });
    if let Some(secret) = pgpass {
        volumes.push(json!({ "name": PGPASS_SECRET_VOLUME, "secret": {
            "secretName": secret.name.as_deref().unwrap_or_default(),
            "items": [{ "key": secret.key, "path": ".pgpass" }],
        } }));
        volumes.push(json!({ "name": PGPASS_VOLUME, "emptyDir": {} }));
        mounts.push(json!({ "name": PGPASS_VOLUME, "mountPath": PGPASS_MOUNT, "subPath": ".pgpass" }));
        container["env"] = json!([{ "name": PGPASSFILE, "value": PGPASS_MOUNT }]);
        pod["initContainers"] = json!([{
            "name": PGPASS_INIT_CONTAINER,
            "image": inputs.pgpass_image,
            "command": ["sh", "-c", "cp /secret/.pgpass /pgpass/.pgpass && chmod 0600 /pgpass/.pgpass"],
            "securityContext": restricted(true),
            "volumeMounts": [
                { "name": PGPASS_SECRET_VOLUME, "mountPath": "/secret", "readOnly": true },
                { "name": PGPASS_VOLUME, "mountPath": "/pgpass" },
            ],
        }]);
    }
    mounts.extend(spec.volume_mounts.iter().flatten().cloned());
    volumes.extend(spec.volumes.iter().flatten().cloned());
    container["volumeMounts"] = Value::Array(mounts);
    pod["containers"] = json!([container]);
    pod["volumes"] = Value::Array(volumes);
    let secrets = pull_secrets(inputs.registry);
    if !secrets.is_empty() {
        pod["imagePullSecrets"] = Value::Array(secrets);
    }
    let spec_hash = json_hash(&serde_json::to_value(spec).unwrap_or_default());
    let mut template = json!({
        "metadata": { "labels": label_map(&labels), "annotations": { CONFIG_HASH: spec_hash } },
        "spec": pod,
    });
    if let Some(user) = spec.pod_template_spec.as_ref() {
        if !user.is_object() {
            return Err("spec.podTemplateSpec must be an object".into());
        }
        strategic_merge(&mut template, user);
        if let Some(l) = template["metadata"]["labels"].as_object_mut() {
            l.extend(label_map(&labels));
        }
    }
    let template = normalize(template)?;
    let body = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(&name, inputs.namespace, &pairs(&labels), &[], &inputs.owner),
        "spec": { "selector": { "matchLabels": label_map(&labels) }, "template": template },
    });
    Ok(Child { kind: "Deployment", name, body })
}

pub fn service(inputs: &Inputs) -> Child {
    let name = api_name(inputs.name);
    let labels = selector_labels(inputs.name);
    let body = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(&name, inputs.namespace, &pairs(&labels), &[], &inputs.owner),
        "spec": {
            "type": "ClusterIP",
            "selector": label_map(&labels),
            "ports": [{ "name": "http", "port": PORT, "protocol": "TCP", "targetPort": PORT }],
        },
    });
    Child { kind: "Service", name, body }
}
