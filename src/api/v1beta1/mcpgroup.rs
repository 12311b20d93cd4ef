//! MCPGroup `v1beta1`: a named pool of MCP backends in one namespace.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::Condition;

/// Desired state of an MCPGroup. Backends join a group by naming it in their `spec.groupRef`;
/// the group itself only carries a description.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "toolhive.stacklok.dev",
    version = "v1beta1",
    kind = "MCPGroup",
    namespaced,
    status = "MCPGroupStatus",
    schema = "disabled"
)]
pub struct MCPGroupSpec {
    /// Free-form text telling people what the group is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Observed state of an MCPGroup: its members, as found by the operator.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MCPGroupStatus {
    /// Results of the operator's checks; `MCPServersChecked` reports whether members could be listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Option<Vec<Condition>>,
    /// Names of the MCPServerEntries in the group, sorted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub entries: Option<Vec<String>>,
    /// Number of MCPServerEntries in the group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_count: Option<i32>,
    /// The `metadata.generation` the operator last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` once members were listed, `Failed` when they could not be, `Pending` before that.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::string", extend("default" = "Pending", "enum" = ["Ready", "Pending", "Failed"]))]
    pub phase: Option<String>,
    /// Names of the MCPRemoteProxies in the group, sorted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub remote_proxies: Option<Vec<String>>,
    /// Number of MCPRemoteProxies in the group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_proxy_count: Option<i32>,
    /// Number of MCPServers in the group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_count: Option<i32>,
    /// Names of the MCPServers in the group, sorted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub servers: Option<Vec<String>>,
}
