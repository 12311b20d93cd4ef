//! VirtualMCPServer `v1beta1`: one MCP endpoint in front of all backends of an MCPGroup, with its
//! own client authentication, backend authentication, tool aggregation and composite tools.
//!
//! Nested types live in one file per part of the spec and are re-exported here; only the root,
//! spec and status are re-exported from `v1beta1` itself, to keep that namespace unambiguous.

mod aggregation;
mod auth_server;
mod composite;
mod config;
mod incoming;
mod operational;
mod optimizer;
mod outgoing;
mod rate_limit;
mod refs;
mod runtime_auth;
mod session;
mod status;
mod upstream;

pub use aggregation::*;
pub use auth_server::*;
pub use composite::*;
pub use config::*;
pub use incoming::*;
pub use operational::*;
pub use optimizer::*;
pub use outgoing::*;
pub use rate_limit::*;
pub use refs::*;
pub use runtime_auth::*;
pub use session::*;
pub use status::*;
pub use upstream::*;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::{LocalObjectReference, MCPGroupRef};
use crate::api::schema::CelRule;

/// A Go duration such as `30s`, `1m30s` or `1.5h`.
pub const DURATION_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$";
/// A lowercase DNS label.
pub const DNS_LABEL_PATTERN: &str = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$";

/// `spec.incomingAuth.type`: no client authentication.
pub const INCOMING_ANONYMOUS: &str = "anonymous";
/// `spec.incomingAuth.type`: tokens validated through an MCPOIDCConfig.
pub const INCOMING_OIDC: &str = "oidc";
/// `spec.incomingAuth.type`: service-account tokens of this cluster.
pub const INCOMING_KUBERNETES: &str = "kubernetes";
/// Issuer assumed for `type: kubernetes` when `spec.incomingAuth.kubernetes.issuer` is absent.
pub const KUBERNETES_DEFAULT_ISSUER: &str = "https://kubernetes.default.svc";

/// `spec.outgoingAuth.source`: backend auth from each backend's own reference.
pub const SOURCE_DISCOVERED: &str = "discovered";
/// `spec.outgoingAuth.source`: backend auth only as configured in the VirtualMCPServer.
pub const SOURCE_INLINE: &str = "inline";
/// Backend auth `type`: use what the backend references.
pub const BACKEND_DISCOVERED: &str = "discovered";
/// Backend auth `type`: use `externalAuthConfigRef`.
pub const BACKEND_EXTERNAL_AUTH_CONFIG_REF: &str = "externalAuthConfigRef";

/// `spec.sessionStorage.provider`: sessions kept in each pod's memory.
pub const SESSION_MEMORY: &str = "memory";
/// `spec.sessionStorage.provider`: sessions shared through Redis.
pub const SESSION_REDIS: &str = "redis";

/// The CEL rules on the spec, shared word for word by both versions.
pub const SPEC_RULES: [CelRule; 4] = [
    CelRule {
        rule: "!has(self.config) || !has(self.config.rateLimiting) || (has(self.sessionStorage) && self.sessionStorage.provider == 'redis')",
        message: "config.rateLimiting requires sessionStorage with provider 'redis'",
    },
    CelRule {
        rule: "!(has(self.config) && has(self.config.rateLimiting) && has(self.config.rateLimiting.perUser)) || (has(self.incomingAuth) && self.incomingAuth.type == 'oidc')",
        message: "config.rateLimiting.perUser requires incomingAuth.type oidc",
    },
    CelRule {
        rule: "!has(self.config) || !has(self.config.rateLimiting) || !has(self.config.rateLimiting.tools) || self.config.rateLimiting.tools.all(t, !has(t.perUser)) || (has(self.incomingAuth) && self.incomingAuth.type == 'oidc')",
        message: "per-tool perUser rate limiting requires incomingAuth.type oidc",
    },
    CelRule {
        rule: "!(has(self.embeddingServerRef) && has(self.config) && has(self.config.optimizer) && has(self.config.optimizer.embeddingProvider) && self.config.optimizer.embeddingProvider == 'openai')",
        message: "embeddingServerRef provisions a managed TEI server and cannot be combined with optimizer.embeddingProvider 'openai'; openai mode uses embeddingService directly",
    },
];

/// Desired state of a VirtualMCPServer: the group it fronts, how clients and backends
/// authenticate, the runtime configuration and how its pods and Service are built.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "toolhive.stacklok.dev",
    version = "v1beta1",
    kind = "VirtualMCPServer",
    namespaced,
    status = "VirtualMCPServerStatus",
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = SPEC_RULES))]
pub struct VirtualMCPServerSpec {
    /// An OAuth authorization server embedded in the vMCP pod, which signs users in through
    /// upstream identity providers and issues the tokens clients present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_server_config: Option<Box<AuthServerConfig>>,
    /// Runtime configuration of the virtual server (aggregation, composite tools, operational
    /// settings, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<VmcpConfig>,
    /// EmbeddingServer (same namespace) that serves the optimizer's embeddings; needed for the
    /// optimizer unless `config.optimizer.embeddingService` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding_server_ref: Option<EmbeddingServerRef>,
    /// The MCPGroup (same namespace) whose members become the backends.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub group_ref: Option<MCPGroupRef>,
    /// Pull secrets for the vMCP image, set on the Deployment and on the operator-managed
    /// ServiceAccount; merged with those of `podTemplateSpec`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub image_pull_secrets: Option<Vec<LocalObjectReference>>,
    /// How clients authenticate; takes precedence over `config.incomingAuth`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub incoming_auth: Option<IncomingAuth>,
    /// How the server authenticates to backends; takes precedence over `config.outgoingAuth`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outgoing_auth: Option<OutgoingAuth>,
    /// Client request headers forwarded unchanged to every backend; takes precedence over
    /// `config.passthroughHeaders`. Clients control these values, so backends must not trust them
    /// blindly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub passthrough_headers: Option<Vec<String>>,
    /// A `PodTemplateSpec` merged onto the generated pod; name the container `vmcp` to change the
    /// server container itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::preserve_object")]
    pub pod_template_spec: Option<Value>,
    /// Number of vMCP pods. When unset the operator leaves the Deployment's replicas alone, for
    /// example to an autoscaler.
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
    /// Whether the Service keeps sending a client to the same pod: `ClientIP` (the default, since
    /// MCP sessions are stateful) or `None`.
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
}
