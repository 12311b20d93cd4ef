//! Namespace, Deployment, Service and PodDisruptionBudget of the operator itself.

use serde_json::{Value, json};

use super::{ADMIN_PORT, APP, Install, SERVICE_ACCOUNT, WEBHOOK_PORT, WEBHOOK_SERVICE, labels};

fn selector() -> Value {
    json!({ "app.kubernetes.io/name": APP })
}

pub fn namespace(namespace: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": namespace,
            "labels": {
                "app.kubernetes.io/name": APP,
                "app.kubernetes.io/part-of": APP,
                "pod-security.kubernetes.io/enforce": "restricted",
            },
        },
    })
}

fn field_env(name: &str, path: &str) -> Value {
    json!({ "name": name, "valueFrom": { "fieldRef": { "fieldPath": path } } })
}

/// Two replicas spread over nodes; every replica serves webhooks, one also reconciles.
pub fn deployment(install: &Install) -> Value {
    let probe =
        |path: &str| json!({ "httpGet": { "path": path, "port": "admin" }, "periodSeconds": 5, "failureThreshold": 3 });
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": APP, "namespace": install.namespace, "labels": labels() },
        "spec": {
            "replicas": 2,
            "selector": { "matchLabels": selector() },
            "strategy": { "type": "RollingUpdate", "rollingUpdate": { "maxUnavailable": 0, "maxSurge": 1 } },
            "template": {
                "metadata": { "labels": labels() },
                "spec": {
                    "serviceAccountName": SERVICE_ACCOUNT,
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": {
                        "runAsNonRoot": true,
                        "runAsUser": 65532,
                        "runAsGroup": 65532,
                        "seccompProfile": { "type": "RuntimeDefault" },
                    },
                    "affinity": {
                        "podAntiAffinity": {
                            "preferredDuringSchedulingIgnoredDuringExecution": [{
                                "weight": 100,
                                "podAffinityTerm": {
                                    "labelSelector": { "matchLabels": selector() },
                                    "topologyKey": "kubernetes.io/hostname",
                                },
                            }],
                        },
                    },
                    "topologySpreadConstraints": [{
                        "maxSkew": 1,
                        "topologyKey": "topology.kubernetes.io/zone",
                        "whenUnsatisfiable": "ScheduleAnyway",
                        "labelSelector": { "matchLabels": selector() },
                    }],
                    "containers": [{
                        "name": APP,
                        "image": install.image,
                        "args": ["serve", "--log-format=json"],
                        "env": [
                            field_env("POD_NAMESPACE", "metadata.namespace"),
                            field_env("POD_NAME", "metadata.name"),
                        ],
                        "ports": [
                            { "name": "webhook", "containerPort": WEBHOOK_PORT, "protocol": "TCP" },
                            { "name": "admin", "containerPort": ADMIN_PORT, "protocol": "TCP" },
                        ],
                        "readinessProbe": probe("/readyz"),
                        "livenessProbe": probe("/livez"),
                        "resources": {
                            "requests": { "cpu": "50m", "memory": "64Mi" },
                            "limits": { "memory": "256Mi" },
                        },
                        "securityContext": {
                            "allowPrivilegeEscalation": false,
                            "readOnlyRootFilesystem": true,
                            "runAsNonRoot": true,
                            "capabilities": { "drop": ["ALL"] },
                            "seccompProfile": { "type": "RuntimeDefault" },
                        },
                    }],
                },
            },
        },
    })
}

pub fn pod_disruption_budget(namespace: &str) -> Value {
    json!({
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": { "name": APP, "namespace": namespace, "labels": labels() },
        "spec": { "minAvailable": 1, "selector": { "matchLabels": selector() } },
    })
}

pub fn service(namespace: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": { "name": WEBHOOK_SERVICE, "namespace": namespace, "labels": labels() },
        "spec": {
            "selector": selector(),
            "ports": [
                { "name": "webhook", "port": 443, "targetPort": "webhook", "protocol": "TCP" },
                { "name": "admin", "port": ADMIN_PORT, "targetPort": "admin", "protocol": "TCP" },
            ],
        },
    })
}
