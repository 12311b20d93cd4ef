//! MCPRegistry `v1beta1`: runs a ToolHive registry API server from a verbatim `config.yaml`.
//! The whole kind is deprecated but still served and reconciled.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::{Condition, LocalObjectReference, SecretKeySelector};

/// Desired state of an MCPRegistry: the registry server's configuration and how its pod is built.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "toolhive.stacklok.dev",
    version = "v1beta1",
    kind = "MCPRegistry",
    namespaced,
    status = "MCPRegistryStatus",
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
pub struct MCPRegistrySpec {
    /// The registry server's complete `config.yaml`. The operator stores it in a ConfigMap mounted at
    /// `/config/config.yaml` without interpreting it. ConfigMaps are not secret: reference credentials
    /// by file path and mount them from Secrets with `volumes`/`volumeMounts` (or `pgpassSecretRef`).
    #[serde(rename = "configYAML", skip_serializing_if = "Option::is_none")]
    #[schemars(required, length(min = 1))]
    pub config_yaml: Option<String>,
    /// Human-readable name of the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Pull secrets for the registry image, set on both the Deployment and the operator-managed
    /// ServiceAccount. An empty list leaves the ServiceAccount's existing pull secrets untouched;
    /// `podTemplateSpec.spec.imagePullSecrets`, when set, replaces the list on the Deployment only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub image_pull_secrets: Option<Vec<LocalObjectReference>>,
    /// Secret key holding a ready-made pgpass file for PostgreSQL. The operator copies it, through an
    /// init container, to a file owned by the server's user with mode 0600 (which libpq insists on
    /// and a Secret volume cannot provide) and points `PGPASSFILE` at it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pgpass_secret_ref: Option<SecretKeySelector>,
    /// A `PodTemplateSpec` merged onto the generated pod; name the container `registry-api` to
    /// change the server container itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::preserve_object")]
    pub pod_template_spec: Option<Value>,
    /// Extra `VolumeMount`s for the `registry-api` container, next to the config mount. Mount paths
    /// must match the file paths `configYAML` refers to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::preserve_list")]
    pub volume_mounts: Option<Vec<Value>>,
    /// Extra `Volume`s for the registry pod (Secrets, ConfigMaps, PersistentVolumeClaims, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::preserve_list")]
    pub volumes: Option<Vec<Value>>,
}

/// Observed state of an MCPRegistry, written by the operator.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MCPRegistryStatus {
    /// Results of the operator's checks; `Ready` follows the registry API Deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Option<Vec<Condition>>,
    /// Details about the current phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The `metadata.generation` the operator last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Pending`, `Ready`, `Failed` or `Terminating`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::string", extend("enum" = ["Pending", "Ready", "Failed", "Terminating"]))]
    pub phase: Option<String>,
    /// Number of registry API pods that are ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_replicas: Option<i32>,
    /// In-cluster URL of the registry API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}
