//! `spec.config.aggregation`: how the tools of the group's backends are merged into one list.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::refs::ToolConfigRef;

/// How backend tools are combined, filtered and renamed, and how name clashes are settled.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Aggregation {
    /// What happens when two backends offer a tool of the same name: `prefix` (names get the
    /// backend's prefix), `priority` (the first backend in `priorityOrder` wins) or `manual`
    /// (every clash must be resolved with overrides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        schema_with = "crate::api::schema::string",
        extend("default" = "prefix", "enum" = ["prefix", "priority", "manual"])
    )]
    pub conflict_resolution: Option<String>,
    /// Settings of the chosen conflict strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict_resolution_config: Option<ConflictResolutionConfig>,
    /// Whether backends without an entry in `tools` expose their tools: `allow` (the default) or
    /// `deny`, which exposes only backends listed in `tools`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::string", extend("enum" = ["allow", "deny"]))]
    pub default_tool_visibility: Option<String>,
    /// Hides every backend tool from clients while keeping it callable from composite tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_all_tools: Option<bool>,
    /// Filtering and overrides per backend workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<WorkloadTools>>,
}

/// Parameters of the conflict resolution strategy.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConflictResolutionConfig {
    /// Prefix put before tool names under `prefix` (and before prompt names); `{workload}` stands
    /// for the backend name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "{workload}_"))]
    pub prefix_format: Option<String>,
    /// Backends in order of precedence for `priority`; listed backends also keep their own prompt
    /// names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_order: Option<Vec<String>>,
}

/// Which tools of one backend are exposed, and under what names.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadTools {
    /// Hides all of this backend's tools from clients; composite tools can still call them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_all: Option<bool>,
    /// Tool names to expose; the others stay hidden but callable from composite tools. Ignored
    /// when `toolConfigRef` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Vec<String>>,
    /// New names, descriptions or annotations per original tool name, applied before conflict
    /// resolution. Ignored when `toolConfigRef` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overrides: Option<BTreeMap<String, ToolOverride>>,
    /// An MCPToolConfig holding the filter and overrides instead of the inline fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_config_ref: Option<ToolConfigRef>,
    /// Name of the backend workload these settings apply to.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub workload: Option<String>,
}

/// Replacement name, description or annotations of one tool.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct ToolOverride {
    /// Annotation values to replace; unset ones keep the backend's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<ToolAnnotations>,
    /// New description of the tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New name of the tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// MCP tool annotations. On an override they replace the backend's values; on a composite tool
/// they are declared on top of what its steps imply.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolAnnotations {
    /// Whether the tool may destroy or overwrite data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destructive_hint: Option<bool>,
    /// Whether repeating a call with the same arguments has no further effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotent_hint: Option<bool>,
    /// Whether the tool reaches systems outside its own domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_world_hint: Option<bool>,
    /// Whether the tool only reads and changes nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only_hint: Option<bool>,
    /// Human-readable title of the tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}
