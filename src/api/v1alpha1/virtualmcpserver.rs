//! VirtualMCPServer `v1alpha1`: a superset of `v1beta1` that also accepts the shapes written
//! against older releases. Only the parts whose schema differs are defined here; everything else
//! is the `v1beta1` type.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::v1beta1::common::{ExternalAuthConfigRef, LocalObjectReference, MCPGroupRef, SecretKeyRef};
use crate::api::v1beta1::virtualmcpserver::{
    Aggregation, AuthServerConfig, AuthzConfig, AuthzConfigRef, CompositeTool, CompositeToolRef, EmbeddingServerRef,
    KubernetesAuth, OIDCConfigRef, Operational, SessionStorage, TelemetryConfigRef, VmcpConfig,
};
use crate::api::v1beta1::{self, virtualmcpserver};

/// Legacy `spec.incomingAuth.type` `local`; removed in `v1beta1` (admission asks for an MCPOIDCConfig).
pub const INCOMING_LOCAL: &str = "local";
/// Legacy `spec.outgoingAuth.source`: discovery plus per-backend overrides (`discovered` in `v1beta1`).
pub const SOURCE_MIXED: &str = "mixed";
/// Legacy spelling of the backend auth type `externalAuthConfigRef`.
pub const BACKEND_EXTERNAL_AUTH_CONFIG_REF_LEGACY: &str = "external_auth_config_ref";
/// Legacy backend auth type: the client's token forwarded unchanged; removed in `v1beta1`.
pub const BACKEND_PASS_THROUGH: &str = "pass_through";
/// Legacy backend auth type: credentials from `serviceAccount`; removed in `v1beta1`.
pub const BACKEND_SERVICE_ACCOUNT: &str = "service_account";

/// Desired state of a VirtualMCPServer at `v1alpha1`. Every `v1beta1` spec is valid here; the
/// legacy fields convert to `v1beta1` (or into the conversion annotation) without loss.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "toolhive.stacklok.dev",
    version = "v1alpha1",
    kind = "VirtualMCPServer",
    namespaced,
    status = "v1beta1::VirtualMCPServerStatus",
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = virtualmcpserver::SPEC_RULES))]
pub struct VirtualMCPServerSpec {
    /// Legacy location of `config.aggregation`; moved there in `v1beta1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregation: Option<Aggregation>,
    /// An OAuth authorization server embedded in the vMCP pod, which signs users in through
    /// upstream identity providers and issues the tokens clients present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_server_config: Option<AuthServerConfig>,
    /// Legacy location of `config.compositeToolRefs`; moved there in `v1beta1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub composite_tool_refs: Option<Vec<CompositeToolRef>>,
    /// Legacy location of `config.compositeTools`; moved there in `v1beta1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub composite_tools: Option<Vec<CompositeTool>>,
    /// Runtime configuration of the virtual server. `config.groupRef` names the group when
    /// `groupRef` is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<VmcpConfig>,
    /// EmbeddingServer (same namespace) that serves the optimizer's embeddings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding_server_ref: Option<EmbeddingServerRef>,
    /// The MCPGroup (same namespace) whose members become the backends. Older objects named it
    /// in `config.groupRef` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_ref: Option<MCPGroupRef>,
    /// Pull secrets for the vMCP image, set on the Deployment and on the operator-managed
    /// ServiceAccount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub image_pull_secrets: Option<Vec<LocalObjectReference>>,
    /// How clients authenticate. Absent means anonymous, as older releases read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incoming_auth: Option<LegacyIncomingAuth>,
    /// Legacy location of `config.operational`; moved there in `v1beta1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operational: Option<Operational>,
    /// How the server authenticates to backends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outgoing_auth: Option<LegacyOutgoingAuth>,
    /// Client request headers forwarded unchanged to every backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub passthrough_headers: Option<Vec<String>>,
    /// A `PodTemplateSpec` merged onto the generated pod; name the container `vmcp` to change the
    /// server container itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::preserve_object")]
    pub pod_template_spec: Option<Value>,
    /// Number of vMCP pods; left to an autoscaler when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub replicas: Option<i32>,
    /// An existing ServiceAccount for the pods; the operator creates one when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    /// Type of the Service in front of the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        schema_with = "crate::api::schema::string",
        extend("default" = "ClusterIP", "enum" = ["ClusterIP", "NodePort", "LoadBalancer"])
    )]
    pub service_type: Option<String>,
    /// Whether the Service keeps sending a client to the same pod: `ClientIP` (the default) or
    /// `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        schema_with = "crate::api::schema::string",
        extend("default" = "ClientIP", "enum" = ["ClientIP", "None"])
    )]
    pub session_affinity: Option<String>,
    /// Session storage shared by the replicas; none when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_storage: Option<SessionStorage>,
    /// A shared MCPTelemetryConfig (same namespace) for tracing and metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telemetry_config_ref: Option<TelemetryConfigRef>,
    /// Legacy cache for exchanged tokens. It has no `v1beta1` field (sessions are shared through
    /// `sessionStorage`) and is kept only in the conversion annotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_cache: Option<TokenCache>,
}

/// Client authentication as `v1alpha1` accepts it: the `v1beta1` fields plus the legacy `local`
/// type and inline `oidcConfig`, which admission rejects with a migration message.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [virtualmcpserver::AUTHZ_EXCLUSIVE_RULE]))]
pub struct LegacyIncomingAuth {
    /// Cedar authorization configured inline or from a ConfigMap; excludes `authzConfigRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authz_config: Option<AuthzConfig>,
    /// A shared MCPAuthzConfig with Cedar policies; excludes `authzConfig`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authz_config_ref: Option<AuthzConfigRef>,
    /// Settings for `type: kubernetes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<KubernetesAuth>,
    /// Legacy inline OIDC settings; `v1beta1` references an MCPOIDCConfig through
    /// `oidcConfigRef` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::preserve_object")]
    pub oidc_config: Option<Value>,
    /// The MCPOIDCConfig that validates tokens for `type: oidc`, with this server's audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc_config_ref: Option<OIDCConfigRef>,
    /// `anonymous`, `oidc`, `kubernetes`, or the legacy `local`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        schema_with = "crate::api::schema::string",
        extend("enum" = ["anonymous", "oidc", "kubernetes", "local"])
    )]
    pub type_: Option<String>,
}

/// Backend authentication as `v1alpha1` accepts it, including the legacy `mixed` source.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct LegacyOutgoingAuth {
    /// Settings for particular backends, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backends: Option<BTreeMap<String, LegacyBackendAuth>>,
    /// Settings for backends without an entry in `backends`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<LegacyBackendAuth>,
    /// `discovered` (the default), `inline`, or the legacy `mixed` (read as `discovered`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        schema_with = "crate::api::schema::string",
        extend("default" = "discovered", "enum" = ["discovered", "inline", "mixed"])
    )]
    pub source: Option<String>,
}

/// Authentication towards one backend, including the legacy types.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LegacyBackendAuth {
    /// The MCPExternalAuthConfig to use, for `type: externalAuthConfigRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_auth_config_ref: Option<ExternalAuthConfigRef>,
    /// Legacy credentials for `type: service_account`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<ServiceAccountAuth>,
    /// `discovered` or `externalAuthConfigRef`, or one of the legacy `external_auth_config_ref`,
    /// `pass_through` and `service_account`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    #[schemars(
        required,
        schema_with = "crate::api::schema::string",
        extend("enum" = [
            "discovered",
            "externalAuthConfigRef",
            "external_auth_config_ref",
            "pass_through",
            "service_account"
        ])
    )]
    pub type_: Option<String>,
}

/// Legacy static credentials sent to a backend in a header.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccountAuth {
    /// Secret key holding the credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_ref: Option<SecretKeyRef>,
    /// Format of the header value, with `{token}` standing for the credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_format: Option<String>,
    /// Header carrying the credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_name: Option<String>,
}

/// Legacy token cache settings, kept as written (unknown fields included).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct TokenCache {
    /// Settings for `provider: memory`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryTokenCache>,
    /// `memory` (the default) or `redis`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        schema_with = "crate::api::schema::string",
        extend("default" = "memory", "enum" = ["memory", "redis"])
    )]
    pub provider: Option<String>,
    /// Settings for `provider: redis`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<RedisTokenCache>,
    /// Fields this version does not know, kept for lossless round trips.
    #[serde(flatten)]
    #[schemars(skip)]
    pub unknown_fields: BTreeMap<String, Value>,
}

/// Legacy in-memory token cache.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct MemoryTokenCache {
    /// Most cached tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::integer")]
    pub max_entries: Option<i64>,
    /// How long before a token expires it is refreshed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_offset: Option<String>,
    /// Fields this version does not know, kept for lossless round trips.
    #[serde(flatten)]
    #[schemars(skip)]
    pub unknown_fields: BTreeMap<String, Value>,
}

/// Legacy Redis token cache.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct RedisTokenCache {
    /// Redis `host:port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Redis database number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::integer")]
    pub db: Option<i64>,
    /// Prefix of the cache keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_prefix: Option<String>,
    /// Secret key holding the Redis password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_ref: Option<SecretKeyRef>,
    /// Lifetime of cached entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    /// Fields this version does not know, kept for lossless round trips.
    #[serde(flatten)]
    #[schemars(skip)]
    pub unknown_fields: BTreeMap<String, Value>,
}
