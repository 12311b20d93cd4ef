//! The in-cluster installation, rendered from code: namespace, ServiceAccount, RBAC, Deployment,
//! Service, PodDisruptionBudget, webhook configurations and CRDs. `mcp-operator manifests` prints
//! it and `manifests/` holds the same as a kustomization.

pub mod install;
pub mod rbac;
pub mod webhooks;
pub mod workload;

use serde_json::Value;

use crate::api::crd;

pub const APP: &str = "mcp-operator";
pub const SERVICE_ACCOUNT: &str = "mcp-operator";
pub const WEBHOOK_SERVICE: &str = crd::WEBHOOK_SERVICE;
pub const DEFAULT_NAMESPACE: &str = crd::DEFAULT_NAMESPACE;
pub const TLS_SECRET: &str = "mcp-operator-webhook-tls";
pub const LEADER_LEASE: &str = "mcp-operator-leader";
pub const VALIDATING_CONFIG: &str = "mcp-operator-validating";
pub const MUTATING_CONFIG: &str = "mcp-operator-mutating";
pub const WEBHOOK_PORT: u16 = 9443;
pub const ADMIN_PORT: u16 = 8080;

/// The image `manifests` uses unless `--image` says otherwise.
pub fn default_image() -> String {
    format!("ghcr.io/mcp-operator/mcp-operator:v{}", env!("CARGO_PKG_VERSION"))
}

/// Labels shared by every object of the installation.
pub fn labels() -> Value {
    serde_json::json!({ "app.kubernetes.io/name": APP, "app.kubernetes.io/part-of": APP })
}

/// Where the installation goes.
#[derive(Clone, Debug)]
pub struct Install {
    pub namespace: String,
    pub image: String,
}

impl Default for Install {
    fn default() -> Self {
        Install { namespace: DEFAULT_NAMESPACE.to_string(), image: default_image() }
    }
}

/// One file of the kustomization and the objects it holds, in apply order.
pub struct ManifestFile {
    pub name: String,
    pub objects: Vec<Value>,
}

/// The whole installation, file by file (CRDs first, so the webhook configurations' resources exist).
pub fn files(install: &Install) -> Vec<ManifestFile> {
    let ns = &install.namespace;
    let mut out: Vec<ManifestFile> = crd::KINDS
        .into_iter()
        .map(|k| ManifestFile { name: format!("crds/{}.yaml", k.plural), objects: vec![crd::crd_in_namespace(k, ns)] })
        .collect();
    out.push(ManifestFile { name: "namespace.yaml".into(), objects: vec![workload::namespace(ns)] });
    out.push(ManifestFile { name: "rbac.yaml".into(), objects: rbac::objects(ns) });
    out.push(ManifestFile {
        name: "deployment.yaml".into(),
        objects: vec![workload::deployment(install), workload::pod_disruption_budget(ns)],
    });
    out.push(ManifestFile { name: "service.yaml".into(), objects: vec![workload::service(ns)] });
    out.push(ManifestFile {
        name: "webhooks.yaml".into(),
        objects: vec![
            webhooks::validating(&webhooks::ClientTarget::Service { namespace: ns.clone() }, None),
            webhooks::mutating(&webhooks::ClientTarget::Service { namespace: ns.clone() }, None),
        ],
    });
    out
}

/// Every object of the installation, in apply order.
pub fn objects(install: &Install) -> Vec<Value> {
    files(install).into_iter().flat_map(|f| f.objects).collect()
}
