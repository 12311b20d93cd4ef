//! MCPServerEntry `v1beta1`: a catalog entry for a remote MCP server; creates no workloads.

use std::collections::BTreeMap;

use compact_str::CompactString;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{Condition, ExternalAuthConfigRef, MCPGroupRef, SecretKeyRef};

/// Desired state of an MCPServerEntry: where the remote MCP server is, how to reach it and which
/// group it joins. The operator validates it and lists it in its group; it runs nothing.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "toolhive.stacklok.dev",
    version = "v1beta1",
    kind = "MCPServerEntry",
    namespaced,
    status = "MCPServerEntryStatus",
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
pub struct MCPServerEntrySpec {
    /// Allows `remoteUrl` to point at private network ranges (RFC 1918, CGNAT, unique-local IPv6,
    /// `*.cluster.local`). Loopback, link-local and metadata endpoints stay blocked regardless.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = false))]
    pub allow_private_endpoint: Option<bool>,
    /// CA certificates used to verify the remote server's TLS certificate when connecting to `remoteUrl` over TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle_ref: Option<CABundleRef>,
    /// MCPExternalAuthConfig (same namespace) that supplies credentials for calls to the remote server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_auth_config_ref: Option<ExternalAuthConfigRef>,
    /// The MCPGroup this entry joins; every entry belongs to exactly one group.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub group_ref: Option<MCPGroupRef>,
    /// Extra HTTP headers sent with every request to the remote server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_forward: Option<HeaderForward>,
    /// URL of the remote MCP server (`http://` or `https://`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required, regex(pattern = r"^https?://"))]
    pub remote_url: Option<String>,
    /// Wire protocol of the remote server: `sse` or `streamable-http`. There is no default, since a
    /// wrong guess only shows up as failed calls at runtime.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required, schema_with = "crate::api::schema::string", extend("enum" = ["sse", "streamable-http"]))]
    pub transport: Option<CompactString>,
}

/// Where the CA bundle for `remoteUrl` comes from.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CABundleRef {
    /// ConfigMap key holding PEM certificates; the key defaults to `ca.crt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_ref: Option<CABundleConfigMapRef>,
}

/// One key of a ConfigMap holding PEM-encoded CA certificates.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[schemars(extend("x-kubernetes-map-type" = "atomic"))]
pub struct CABundleConfigMapRef {
    /// Key within the ConfigMap; `ca.crt` when omitted or empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "ca.crt"))]
    pub key: Option<CompactString>,
    /// Name of the ConfigMap in the entry's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = ""))]
    pub name: Option<CompactString>,
    /// When true, a missing ConfigMap is tolerated and the system trust roots are used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

/// Headers added to requests sent to the remote server.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeaderForward {
    /// Headers whose values are read from Secrets; use these for anything sensitive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["headerName"]))]
    pub add_headers_from_secret: Option<Vec<HeaderFromSecret>>,
    /// Header names mapped to literal values. Anyone who can read this object can read them, so
    /// never put credentials here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_plaintext_headers: Option<BTreeMap<CompactString, CompactString>>,
}

/// A header whose value comes from a key of a Secret.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeaderFromSecret {
    /// HTTP header name, for example `X-API-Key`.
    #[schemars(length(min = 1, max = 255))]
    pub header_name: CompactString,
    /// Secret key whose value becomes the header value.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub value_secret_ref: Option<SecretKeyRef>,
}

/// Observed state of an MCPServerEntry, written by the operator.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MCPServerEntryStatus {
    /// Results of the checks the operator made (`RemoteURLValidated`, `GroupRefValidated`, `Valid`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Option<Vec<Condition>>,
    /// The `metadata.generation` the operator last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Valid`, `Pending` (waiting for the group) or `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::string", extend("default" = "Pending", "enum" = ["Valid", "Pending", "Failed"]))]
    pub phase: Option<CompactString>,
}
