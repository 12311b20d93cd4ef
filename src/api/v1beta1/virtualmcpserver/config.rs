//! `spec.config`: the vMCP runtime configuration, passed on to the server's `config.yaml`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::DURATION_PATTERN;
use super::aggregation::Aggregation;
use super::composite::CompositeTool;
use super::operational::Operational;
use super::optimizer::Optimizer;
use super::rate_limit::RateLimiting;
use super::refs::CompositeToolRef;
use super::runtime_auth::{RuntimeIncomingAuth, RuntimeOutgoingAuth};

/// Runtime settings of the virtual MCP server. Fields this version does not know are kept as
/// written. The operator fills in name, group, incoming and outgoing auth and session storage
/// from the rest of the spec, so values given here for those are replaced.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct VmcpConfig {
    /// How backend tools are merged, filtered and renamed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregation: Option<Aggregation>,
    /// Audit logging of MCP operations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<Box<Audit>>,
    /// Fixed list of backends for `outgoingAuth.source: inline`, so the server needs no access to
    /// the Kubernetes API; empty when backends are discovered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backends: Option<Vec<StaticBackend>>,
    /// Code mode: the `execute_tool_script` tool runs Starlark scripts that call several backend
    /// tools in one request, each call authorized on its own. Off by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_mode: Option<CodeMode>,
    /// VirtualMCPCompositeToolDefinitions (same namespace) whose workflows become tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub composite_tool_refs: Option<Vec<CompositeToolRef>>,
    /// Workflows defined inline that become tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub composite_tools: Option<Vec<CompositeTool>>,
    /// Name of the MCPGroup. Set by the operator from `spec.groupRef`; older objects named the
    /// group only here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_ref: Option<String>,
    /// Runtime form of client authentication; the operator derives it from `spec.incomingAuth`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incoming_auth: Option<Box<RuntimeIncomingAuth>>,
    /// Free-form key/value metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Name of the virtual server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Timeouts, health checks and failure handling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operational: Option<Operational>,
    /// The optimizer: clients see only `find_tool` and `call_tool` and discover tools by search,
    /// which saves context on large tool sets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimizer: Option<Box<Optimizer>>,
    /// Runtime form of backend authentication; the operator derives it from `spec.outgoingAuth`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outgoing_auth: Option<Box<RuntimeOutgoingAuth>>,
    /// Client request headers forwarded unchanged to every backend; `spec.passthroughHeaders`
    /// takes precedence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub passthrough_headers: Option<Vec<String>>,
    /// Request rate limits; they need Redis session storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limiting: Option<RateLimiting>,
    /// Runtime form of session storage; the operator derives it from `spec.sessionStorage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_storage: Option<RuntimeSessionStorage>,
    /// OpenTelemetry tracing and metrics. With the operator, prefer `spec.telemetryConfigRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telemetry: Option<Box<Telemetry>>,
    /// Fields this version does not know, kept for lossless round trips.
    #[serde(flatten)]
    #[schemars(skip)]
    pub unknown_fields: BTreeMap<String, Value>,
}

/// Audit logging settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Audit {
    /// Component name written into audit events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// Looks into successful (2xx) responses for JSON-RPC errors, buffering the start of the body
    /// even when response data is not logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = true))]
    pub detect_application_errors: Option<bool>,
    /// Turns audit logging on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = false))]
    pub enabled: Option<bool>,
    /// Event types to record; all when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_types: Option<Vec<String>>,
    /// Event types never to record, even when listed in `eventTypes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_event_types: Option<Vec<String>>,
    /// Records request payloads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = false))]
    pub include_request_data: Option<bool>,
    /// Records response payloads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = false))]
    pub include_response_data: Option<bool>,
    /// File the audit log is written to; standard output when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_file: Option<String>,
    /// Largest payload size recorded, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::integer", extend("default" = 1024))]
    pub max_data_size: Option<i64>,
    /// Most nested delegation (`act`) entries recorded per event; deeper chains are marked truncated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::integer", range(min = 1), extend("default" = 10))]
    pub max_delegation_depth: Option<i64>,
}

/// A backend given explicitly instead of discovered from the group.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StaticBackend {
    /// Path of a CA bundle for the backend's TLS certificate; only for `type: entry`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle_path: Option<String>,
    /// Free-form key/value data about the backend; the `group` key is set by vMCP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Backend name, matching the member of the MCPGroup its auth settings come from.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub name: Option<String>,
    /// `sse` or `streamable-http`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required, schema_with = "crate::api::schema::string", extend("enum" = ["sse", "streamable-http"]))]
    pub transport: Option<String>,
    /// `entry` for an MCPServerEntry (a remote server reached directly), empty for workloads in
    /// the cluster.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::string", extend("enum" = ["entry", ""]))]
    pub type_: Option<String>,
    /// Base URL of the backend's MCP endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required, regex(pattern = r"^https?://"))]
    pub url: Option<String>,
}

/// Limits of code mode scripts.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CodeMode {
    /// Offers `execute_tool_script` to clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Most calls a script's `parallel()` runs at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::integer", range(min = 1), extend("default" = 10))]
    pub parallel_max_concurrency: Option<i64>,
    /// Most Starlark execution steps per script, which bounds runaway loops.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1), extend("default" = 100000))]
    pub step_limit: Option<i64>,
    /// Timeout of each tool call a script makes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN), extend("default" = "30s"))]
    pub tool_call_timeout: Option<String>,
}

/// Session storage as the runtime sees it; the password comes from the environment.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeSessionStorage {
    /// Redis `host:port`; needed with `provider: redis`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Redis database number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0), extend("default" = 0))]
    pub db: Option<i32>,
    /// Prefix of every Redis key the server writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_prefix: Option<String>,
    /// `memory` or `redis`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required, schema_with = "crate::api::schema::string", extend("enum" = ["memory", "redis"]))]
    pub provider: Option<String>,
}

/// OpenTelemetry settings of the runtime.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Telemetry {
    /// CA bundle that verifies the OTLP collector's certificate, in addition to the system roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert_path: Option<String>,
    /// Resource attributes added to every signal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_attributes: Option<BTreeMap<String, String>>,
    /// Serves Prometheus metrics at `/metrics` on the (unauthenticated) diagnostics port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = false))]
    pub enable_prometheus_metrics_path: Option<bool>,
    /// URL of the OTLP collector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Environment variables whose values are added to spans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_variables: Option<Vec<String>>,
    /// Headers (such as credentials) sent to the OTLP collector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// Talks to the collector over plain HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = false))]
    pub insecure: Option<bool>,
    /// Sends metrics over OTLP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = false))]
    pub metrics_enabled: Option<bool>,
    /// Also serves `/metrics` on the main port, while scrapers move to the diagnostics port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_on_transport_port: Option<bool>,
    /// Diagnostics port serving `/metrics`, kept apart from the MCP port so network policies can
    /// restrict scraping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::integer")]
    pub prometheus_port: Option<i64>,
    /// Fraction of traces sampled, as a decimal string such as `0.05`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "0.05"))]
    pub sampling_rate: Option<String>,
    /// Service name reported; the server's name when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// Service version reported; the ToolHive version when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_version: Option<String>,
    /// Turns on distributed tracing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = false))]
    pub tracing_enabled: Option<bool>,
    /// Also emits the attribute names used before the MCP semantic conventions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = true))]
    pub use_legacy_attributes: Option<bool>,
}
