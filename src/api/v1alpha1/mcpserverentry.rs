//! MCPServerEntry `v1alpha1`: a superset of `v1beta1` that also accepts the shapes written against
//! older releases (`remoteURL`, a plain-string `groupRef`).

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::v1beta1::{self, CABundleRef, ExternalAuthConfigRef, HeaderForward, MCPGroupRef};

/// Desired state of an MCPServerEntry at `v1alpha1`. Every `v1beta1` spec is valid here.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "toolhive.stacklok.dev",
    version = "v1alpha1",
    kind = "MCPServerEntry",
    namespaced,
    status = "v1beta1::MCPServerEntryStatus",
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
pub struct MCPServerEntrySpec {
    /// Allows `remoteUrl` to point at private network ranges; loopback, link-local and metadata
    /// endpoints stay blocked regardless.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = false))]
    pub allow_private_endpoint: Option<bool>,
    /// CA certificates used to verify the remote server's TLS certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle_ref: Option<CABundleRef>,
    /// MCPExternalAuthConfig (same namespace) that supplies credentials for calls to the remote server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_auth_config_ref: Option<ExternalAuthConfigRef>,
    /// The MCPGroup this entry joins: an object `{name}` or, as older releases wrote it, the group's
    /// name as a plain string.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required, schema_with = "crate::api::schema::preserve_any")]
    pub group_ref: Option<LegacyGroupRef>,
    /// Extra HTTP headers sent with every request to the remote server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_forward: Option<HeaderForward>,
    /// URL of the remote MCP server (`http://` or `https://`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^https?://"))]
    pub remote_url: Option<String>,
    /// Older spelling of `remoteUrl`; converted to `remoteUrl` in `v1beta1`.
    #[serde(rename = "remoteURL", default, skip_serializing_if = "Option::is_none")]
    pub legacy_remote_url: Option<String>,
    /// Wire protocol of the remote server: `sse` or `streamable-http`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required, schema_with = "crate::api::schema::string", extend("enum" = ["sse", "streamable-http"]))]
    pub transport: Option<String>,
}

/// `groupRef` as `v1alpha1` accepts it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum LegacyGroupRef {
    /// The group's name, as older releases wrote it.
    Name(String),
    /// The `v1beta1` form.
    Ref(MCPGroupRef),
}
