//! `status`: what the operator and the vMCP runtime observed.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::v1beta1::common::Condition;

/// Observed state of a VirtualMCPServer, written by the operator and the vMCP runtime.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VirtualMCPServerStatus {
    /// Hash of the referenced MCPAuthzConfig's spec, to notice changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authz_config_hash: Option<String>,
    /// Number of backends that can be routed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_count: Option<i32>,
    /// Results of the operator's checks (`Valid`, `GroupRefValidated`, `AuthConfigured`,
    /// `BackendsDiscovered`, `Ready`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Option<Vec<Condition>>,
    /// The group's backends and their health.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub discovered_backends: Option<Vec<DiscoveredBackend>>,
    /// Details about the current phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The `metadata.generation` the operator last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Hash of the referenced MCPOIDCConfig's spec, to notice changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc_config_hash: Option<String>,
    /// `Pending`, `Ready`, `Degraded` (some backends unavailable) or `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        schema_with = "crate::api::schema::string",
        extend("default" = "Pending", "enum" = ["Pending", "Ready", "Degraded", "Failed"])
    )]
    pub phase: Option<String>,
    /// Hash of the referenced MCPTelemetryConfig's spec, to notice changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telemetry_config_hash: Option<String>,
    /// URL clients connect to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// One backend of the group as last seen.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DiscoveredBackend {
    /// Name of the MCPExternalAuthConfig the backend uses, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_config_ref: Option<String>,
    /// Kind of authentication used towards the backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_type: Option<String>,
    /// `closed`, `open` or `half-open`; empty without a circuit breaker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        schema_with = "crate::api::schema::string",
        extend("enum" = ["closed", "open", "half-open"])
    )]
    pub circuit_breaker_state: Option<String>,
    /// When the circuit breaker state last changed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub circuit_last_changed: Option<String>,
    /// Failed health checks in a row; reset when the backend recovers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::integer")]
    pub consecutive_failures: Option<i64>,
    /// When the backend was last checked (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub last_health_check: Option<String>,
    /// MCP protocol revision negotiated with the backend; empty until probed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_revision: Option<String>,
    /// Details about the backend's status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Name of the backend.
    pub name: String,
    /// `ready`, `degraded`, `unavailable`, `unauthenticated` or `unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// URL of the backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}
