//! The Deployment `<name>` running the `vmcp` container.

use k8s_openapi::api::core::v1::PodTemplateSpec;
use serde_json::{Map, Value, json};

use super::{Inputs, PORT, PORT_NAME, config_map_name, label_pairs, rbac_name, selector_labels};
use crate::admission::virtualmcpserver::CONTAINER;
use crate::controllers::children::{Child, REPLICAS_OWNED, bounded_name, metadata, strategic_merge};
use crate::controllers::virtualmcpserver::resolve::CA_BUNDLE_DIR;

pub const CONFIG_VOLUME: &str = "vmcp-config";
pub const CONFIG_DIR: &str = "/etc/vmcp-config";
pub const RUNCONFIG_CHECKSUM: &str = "toolhive.stacklok.dev/runconfig-checksum";

/// The Deployment, or why `spec.podTemplateSpec` cannot be applied to it.
pub fn render(inputs: &Inputs) -> Result<Child, String> {
    let name = inputs.name.to_string();
    let labels = selector_labels(inputs.name);
    let label_map: Map<String, Value> = labels.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    let template = pod_template(inputs, &label_map)?;
    let mut spec = json!({ "selector": { "matchLabels": label_map }, "template": template });
    let mut annotations: Vec<(&str, &str)> = Vec::new();
    if let Some(replicas) = inputs.vmcp.spec.replicas {
        spec["replicas"] = json!(replicas);
        annotations.push((REPLICAS_OWNED, "true"));
    }
    let body = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(&name, inputs.namespace, &label_pairs(&labels), &annotations, &inputs.owner),
        "spec": spec,
    });
    Ok(Child { kind: "Deployment", name, body })
}

fn pod_template(inputs: &Inputs, labels: &Map<String, Value>) -> Result<Value, String> {
    let spec = &inputs.vmcp.spec;
    let account = spec.service_account.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| rbac_name(inputs.name));
    let mut pod = json!({
        "serviceAccountName": account,
        "securityContext": { "runAsNonRoot": true, "seccompProfile": { "type": "RuntimeDefault" } },
        "containers": [container(inputs)],
        "volumes": volumes(inputs),
    });
    let pull_secrets: Vec<Value> = spec
        .image_pull_secrets
        .iter()
        .flatten()
        .filter_map(|s| s.name.as_deref().filter(|n| !n.is_empty()))
        .map(|n| json!({ "name": n }))
        .collect();
    if !pull_secrets.is_empty() {
        pod["imagePullSecrets"] = Value::Array(pull_secrets);
    }
    let mut template = json!({
        "metadata": { "labels": labels, "annotations": { RUNCONFIG_CHECKSUM: inputs.config_checksum } },
        "spec": pod,
    });
    if let Some(user) = spec.pod_template_spec.as_ref() {
        if !user.is_object() {
            return Err("spec.podTemplateSpec must be an object".into());
        }
        strategic_merge(&mut template, user);
        // The selector must keep matching the pods.
        if let Some(merged) = template["metadata"]["labels"].as_object_mut() {
            merged.extend(labels.clone());
        }
    }
    normalize(template)
}

/// Decodes the merged template as a `PodTemplateSpec` and encodes it again: it must be one, and
/// fields Kubernetes does not know are dropped instead of failing the apply.
pub fn normalize(template: Value) -> Result<Value, String> {
    let typed: PodTemplateSpec = serde_path_to_error::deserialize(&template)
        .map_err(|e| format!("the merged pod template is not a PodTemplateSpec at {}: {}", e.path(), e.inner()))?;
    serde_json::to_value(typed).map_err(|e| e.to_string())
}

fn container(inputs: &Inputs) -> Value {
    let probe = |path: &str| {
        json!({
            "httpGet": { "path": path, "port": PORT_NAME },
            "initialDelaySeconds": 5,
            "periodSeconds": 10,
            "timeoutSeconds": 5,
            "failureThreshold": 3,
        })
    };
    json!({
        "name": CONTAINER,
        "image": inputs.image,
        "args": [
            "serve",
            format!("--config={CONFIG_DIR}/{}", super::config::CONFIG_KEY),
            "--host=0.0.0.0",
            format!("--port={PORT}"),
        ],
        "ports": [{ "containerPort": PORT, "name": PORT_NAME, "protocol": "TCP" }],
        "env": env(inputs),
        "livenessProbe": probe("/health"),
        "readinessProbe": probe("/readyz"),
        "securityContext": {
            "allowPrivilegeEscalation": false,
            "capabilities": { "drop": ["ALL"] },
            "readOnlyRootFilesystem": true,
            "runAsNonRoot": true,
            "seccompProfile": { "type": "RuntimeDefault" },
        },
        "volumeMounts": mounts(inputs),
    })
}

/// The container's environment, sorted by name.
fn env(inputs: &Inputs) -> Vec<Value> {
    let mut env = vec![
        json!({ "name": "VMCP_NAME", "value": inputs.name }),
        json!({ "name": "VMCP_NAMESPACE", "valueFrom": { "fieldRef": { "fieldPath": "metadata.namespace" } } }),
    ];
    env.extend(
        inputs
            .secret_env
            .iter()
            .map(|s| json!({ "name": s.env, "valueFrom": { "secretKeyRef": { "name": s.secret, "key": s.key } } })),
    );
    env.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    env.dedup_by(|a, b| a["name"] == b["name"]);
    env
}

fn ca_volume(config_map: &str) -> String {
    bounded_name("ca-bundle-", config_map)
}

fn volumes(inputs: &Inputs) -> Vec<Value> {
    let mut volumes = vec![
        json!({ "name": CONFIG_VOLUME, "configMap": { "name": config_map_name(inputs.name) } }),
        json!({ "name": "tmp", "emptyDir": {} }),
    ];
    let mut bundles: Vec<Value> = inputs
        .ca_bundles
        .iter()
        .map(|b| {
            let mut source = json!({ "name": b.config_map });
            if b.optional {
                source["optional"] = json!(true);
            }
            json!({ "name": ca_volume(&b.config_map), "configMap": source })
        })
        .collect();
    bundles.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    volumes.extend(bundles);
    volumes
}

fn mounts(inputs: &Inputs) -> Vec<Value> {
    let mut mounts = vec![
        json!({ "name": CONFIG_VOLUME, "mountPath": CONFIG_DIR, "readOnly": true }),
        json!({ "name": "tmp", "mountPath": "/tmp" }),
    ];
    let mut bundles: Vec<Value> = inputs
        .ca_bundles
        .iter()
        .map(|b| {
            json!({
                "name": ca_volume(&b.config_map),
                "mountPath": format!("{CA_BUNDLE_DIR}/{}", b.config_map),
                "readOnly": true,
            })
        })
        .collect();
    bundles.sort_by(|a, b| a["mountPath"].as_str().cmp(&b["mountPath"].as_str()));
    mounts.extend(bundles);
    mounts
}
