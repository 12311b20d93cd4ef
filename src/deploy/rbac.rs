//! Least-privilege RBAC: exactly the verbs the webhooks, certificate management and controllers use.

use serde_json::{Value, json};

use super::{APP, LEADER_LEASE, MUTATING_CONFIG, SERVICE_ACCOUNT, TLS_SECRET, VALIDATING_CONFIG, labels};
use crate::api::crd::{self, GROUP};

const READ: [&str; 3] = ["get", "list", "watch"];
/// Children are created, server-side applied and read back; garbage collection deletes them.
const APPLY: [&str; 5] = ["get", "list", "watch", "create", "patch"];

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> Value {
    json!({ "apiGroups": groups, "resources": resources, "verbs": verbs })
}

/// Kinds of the Go operator this one reads when their CRDs exist.
pub const FOREIGN_KINDS: [&str; 9] = [
    "mcpservers",
    "mcpremoteproxies",
    "mcpexternalauthconfigs",
    "mcpoidcconfigs",
    "mcpauthzconfigs",
    "mcptelemetryconfigs",
    "mcptoolconfigs",
    "virtualmcpcompositetooldefinitions",
    "embeddingservers",
];

fn cluster_rules() -> Vec<Value> {
    let ours: Vec<&str> = crd::KINDS.iter().map(|k| k.plural).collect();
    let ours_status: Vec<String> = ours.iter().map(|p| format!("{p}/status")).collect();
    let ours_status: Vec<&str> = ours_status.iter().map(String::as_str).collect();
    let crd_names: Vec<String> = crd::KINDS.iter().map(|k| k.crd_name()).collect();
    let crd_names: Vec<&str> = crd_names.iter().map(String::as_str).collect();
    let mut crds = rule(&["apiextensions.k8s.io"], &["customresourcedefinitions"], &["get", "patch"]);
    crds["resourceNames"] = json!(crd_names);
    let mut hooks = rule(
        &["admissionregistration.k8s.io"],
        &["validatingwebhookconfigurations", "mutatingwebhookconfigurations"],
        &["get", "patch"],
    );
    hooks["resourceNames"] = json!([VALIDATING_CONFIG, MUTATING_CONFIG]);
    vec![
        // Reconcile our kinds: finalizers through patch, status through server-side apply.
        rule(&[GROUP], &ours, &["get", "list", "watch", "patch"]),
        // `update` only so the vMCP Role may grant it to the runtime (escalation prevention).
        rule(&[GROUP], &ours_status, &["get", "update", "patch"]),
        rule(&[GROUP], &FOREIGN_KINDS, &READ),
        // The MCPGroup finalizer reports GroupRefNotFound on members of the Go operator's kinds.
        rule(&[GROUP], &["mcpservers/status", "mcpremoteproxies/status"], &["get", "patch"]),
        rule(&[""], &["services", "serviceaccounts", "secrets"], &APPLY),
        // `update` and `delete` only so the registry API's Role may grant them.
        rule(&[""], &["configmaps"], &["get", "list", "watch", "create", "update", "patch", "delete"]),
        rule(&["apps"], &["deployments"], &APPLY),
        rule(&["rbac.authorization.k8s.io"], &["roles", "rolebindings"], &APPLY),
        // Held so the operator may grant them to the registry API's Role (no escalation needed).
        rule(&["gateway.networking.k8s.io"], &["httproutes", "gateways"], &READ),
        rule(&["coordination.k8s.io"], &["leases"], &["get", "list", "watch", "create", "update", "patch", "delete"]),
        rule(&["events.k8s.io"], &["events"], &["create", "patch"]),
        rule(&[""], &["events"], &["create", "patch"]),
        crds,
        hooks,
    ]
}

/// The ClusterRole, its binding, the namespaced Role for the TLS Secret and the leader Lease, and
/// the ServiceAccount they are bound to.
pub fn objects(namespace: &str) -> Vec<Value> {
    let subject = json!([{ "kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": namespace }]);
    let mut secret = rule(&[""], &["secrets"], &["get", "update"]);
    secret["resourceNames"] = json!([TLS_SECRET]);
    let mut lease = rule(&["coordination.k8s.io"], &["leases"], &["get", "update", "patch"]);
    lease["resourceNames"] = json!([LEADER_LEASE]);
    vec![
        json!({
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": { "name": SERVICE_ACCOUNT, "namespace": namespace, "labels": labels() },
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": { "name": APP, "labels": labels() },
            "rules": cluster_rules(),
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": { "name": APP, "labels": labels() },
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": APP },
            "subjects": subject,
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": { "name": APP, "namespace": namespace, "labels": labels() },
            "rules": [
                rule(&[""], &["secrets"], &["create"]),
                secret,
                rule(&["coordination.k8s.io"], &["leases"], &["create"]),
                lease,
            ],
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": { "name": APP, "namespace": namespace, "labels": labels() },
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": APP },
            "subjects": subject,
        }),
    ]
}
