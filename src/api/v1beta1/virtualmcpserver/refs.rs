//! References from a VirtualMCPServer to other toolhive objects. Each carries an optional
//! `namespace` so that a stray value is rejected by admission instead of silently pruned; when set
//! it must be the VirtualMCPServer's own namespace.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Reference to an MCPOIDCConfig, with the settings that are specific to this server.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OIDCConfigRef {
    /// Audience tokens must carry; give every server its own so tokens cannot be replayed
    /// against another.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required, length(min = 1))]
    pub audience: Option<String>,
    /// Name of the MCPOIDCConfig.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required, length(min = 1))]
    pub name: Option<String>,
    /// Namespace of the MCPOIDCConfig; must be the server's own when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Public URL clients use, published in the protected resource metadata (RFC 9728); the
    /// in-cluster Service URL when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_url: Option<String>,
    /// Scopes advertised in the protected resource metadata; `["openid"]` when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub scopes: Option<Vec<String>>,
}

/// Reference to a shared MCPAuthzConfig (Cedar policies).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct AuthzConfigRef {
    /// Name of the MCPAuthzConfig.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required, length(min = 1))]
    pub name: Option<String>,
    /// Namespace of the MCPAuthzConfig; must be the server's own when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Reference to a shared MCPTelemetryConfig.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TelemetryConfigRef {
    /// Name of the MCPTelemetryConfig.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required, length(min = 1))]
    pub name: Option<String>,
    /// Namespace of the MCPTelemetryConfig; must be the server's own when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Service name reported for this server, unique per server so its traces and metrics can be
    /// told apart; `thv-<server name>` when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
}

/// Reference to an EmbeddingServer that serves the optimizer's embeddings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct EmbeddingServerRef {
    /// Name of the EmbeddingServer.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub name: Option<String>,
    /// Namespace of the EmbeddingServer; must be the server's own when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Reference to an MCPToolConfig with the filter and overrides of one backend.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct ToolConfigRef {
    /// Name of the MCPToolConfig.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub name: Option<String>,
    /// Namespace of the MCPToolConfig; must be the server's own when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Reference to a VirtualMCPCompositeToolDefinition.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct CompositeToolRef {
    /// Name of the VirtualMCPCompositeToolDefinition.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub name: Option<String>,
    /// Namespace of the VirtualMCPCompositeToolDefinition; must be the server's own when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}
