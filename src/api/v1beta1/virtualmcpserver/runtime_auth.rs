//! `spec.config.incomingAuth` and `spec.config.outgoingAuth`: authentication in the form the vMCP
//! runtime reads it. With the operator both are rendered from `spec.incomingAuth` and
//! `spec.outgoingAuth`, and secrets appear only as environment variable names.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How clients authenticate, as the runtime reads it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct RuntimeIncomingAuth {
    /// Authorization of authenticated requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authz: Option<RuntimeAuthz>,
    /// Token validation settings for `type: oidc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc: Option<RuntimeOidc>,
    /// `oidc`, `local` or `anonymous`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub type_: Option<String>,
}

/// Cedar authorization as the runtime reads it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeAuthz {
    /// Cedar entities as a JSON array, for policies that rely on entity relationships; `[]` when
    /// empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entities_json: Option<String>,
    /// Token claim holding the caller's groups, checked before the usual `groups`, `roles` and
    /// `cognito:groups`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_claim_name: Option<String>,
    /// Cedar entity type of the groups taken from token claims; `THVGroup` when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_entity_type: Option<String>,
    /// Cedar policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<String>>,
    /// Upstream provider of the embedded authorization server whose token supplies the claims;
    /// the server's own token when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_upstream_provider: Option<String>,
    /// Token claim holding the caller's roles, mapped like groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_claim_name: Option<String>,
    /// `cedar` or `none`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub type_: Option<String>,
}

/// OIDC token validation as the runtime reads it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeOidc {
    /// Audience tokens must carry.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub audience: Option<String>,
    /// PEM CA bundle trusted for HTTPS requests to the issuer (discovery, keys, introspection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle_path: Option<String>,
    /// OAuth client ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub client_id: Option<String>,
    /// Environment variable holding the client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_env: Option<String>,
    /// Allows a plain-HTTP issuer; never in production.
    #[serde(rename = "insecureAllowHttp", default, skip_serializing_if = "Option::is_none")]
    pub insecure_allow_http: Option<bool>,
    /// Token introspection endpoint (RFC 7662), for opaque tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_url: Option<String>,
    /// Issuer URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required, regex(pattern = r"^https?://"))]
    pub issuer: Option<String>,
    /// Allows discovery and key fetches from private addresses, such as an embedded
    /// authorization server on loopback.
    #[serde(rename = "jwksAllowPrivateIp", default, skip_serializing_if = "Option::is_none")]
    pub jwks_allow_private_ip: Option<bool>,
    /// Key set URL used directly, without discovery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_url: Option<String>,
    /// Allows the protected resource endpoint on a private address.
    #[serde(rename = "protectedResourceAllowPrivateIp", default, skip_serializing_if = "Option::is_none")]
    pub protected_resource_allow_private_ip: Option<bool>,
    /// Resource indicator (RFC 8707) advertised to clients; the audience when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Scopes tokens must carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
}

/// How the server authenticates to backends, as the runtime reads it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct RuntimeOutgoingAuth {
    /// Strategies by backend name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backends: Option<BTreeMap<String, BackendAuthStrategy>>,
    /// Strategy for backends not listed in `backends`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<BackendAuthStrategy>,
    /// `inline` (configured here) or `discovered` (from the backends' own auth references).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub source: Option<String>,
}

/// One way of authenticating to a backend; `type` selects which of the other fields applies.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackendAuthStrategy {
    /// Settings for `aws_sts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_sts: Option<AwsSts>,
    /// Settings for `header_injection`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_injection: Option<HeaderInjection>,
    /// Settings for `obo` (on-behalf-of; needs an enterprise build).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub obo: Option<OnBehalfOf>,
    /// Settings for `token_exchange`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_exchange: Option<TokenExchange>,
    /// `unauthenticated`, `header_injection`, `token_exchange`, `upstream_inject`, `aws_sts`, `obo`
    /// or `xaa`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub type_: Option<String>,
    /// Settings for `upstream_inject`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_inject: Option<UpstreamInject>,
    /// Settings for `xaa` (cross-application access).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xaa: Option<CrossAppAccess>,
}

/// AWS credentials from STS `AssumeRoleWithWebIdentity`, used to sign requests with SigV4.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwsSts {
    /// Role assumed when no mapping matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_role_arn: Option<String>,
    /// AWS region of STS and of the signed service.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub region: Option<String>,
    /// Token claim the role mappings compare against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_claim: Option<String>,
    /// Rules choosing the role from token claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub role_mappings: Option<Vec<RoleMapping>>,
    /// AWS service name used for signing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Lifetime of the STS session in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_duration: Option<i32>,
    /// Token claim used as the role session name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_name_claim: Option<String>,
    /// Upstream provider whose token is the web identity; the request's own token when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_provider_name: Option<String>,
}

/// A rule selecting an IAM role; lower `priority` is evaluated first.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleMapping {
    /// Value of the role claim that selects this role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<String>,
    /// CEL expression over the token claims that selects this role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matcher: Option<String>,
    /// Evaluation order; lower first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::integer")]
    pub priority: Option<i64>,
    /// Role assumed when the rule matches.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub role_arn: Option<String>,
}

/// A fixed header added to every backend request.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeaderInjection {
    /// Header name, such as `Authorization`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub header_name: Option<String>,
    /// Literal header value; set this or `headerValueEnv`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_value: Option<String>,
    /// Environment variable holding the header value; set this or `headerValue`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_value_env: Option<String>,
}

/// On-behalf-of exchange of the user's token for one addressed to the backend.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OnBehalfOf {
    /// Resource the new token is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// Seconds before expiry at which a cached token is renewed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_skew_seconds: Option<i32>,
    /// OAuth client ID of the exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Literal client secret; prefer `clientSecretEnv`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Environment variable holding the client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_env: Option<String>,
    /// Scopes requested for the new token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub scopes: Option<Vec<String>>,
    /// Upstream provider whose token is exchanged; the user's own token when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_token_provider_name: Option<String>,
    /// Token endpoint of the exchange.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub token_url: Option<String>,
}

/// OAuth token exchange (RFC 8693) of the user's token for one addressed to the backend.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenExchange {
    /// Audience of the new token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// OAuth client ID of the exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Literal client secret; prefer `clientSecretEnv`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Environment variable holding the client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_env: Option<String>,
    /// Scopes requested for the new token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub scopes: Option<Vec<String>>,
    /// Upstream provider whose token is exchanged; with an embedded authorization server, its
    /// first provider when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_provider_name: Option<String>,
    /// Token type of the subject token; an access token when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_token_type: Option<String>,
    /// Token endpoint of the exchange.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub token_url: Option<String>,
}

/// Forwards the user's token from one upstream provider of the embedded authorization server.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpstreamInject {
    /// Name of the upstream provider.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub provider_name: Option<String>,
}

/// Cross-application access: the user's ID token is exchanged at the IdP for an identity
/// assertion, which the target authorization server turns into an access token.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CrossAppAccess {
    /// Client ID at the IdP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_client_id: Option<String>,
    /// Literal client secret at the IdP; prefer `idpClientSecretEnv`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_client_secret: Option<String>,
    /// Environment variable holding the client secret at the IdP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_client_secret_env: Option<String>,
    /// Token endpoint of the IdP, where the exchange happens.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub idp_token_url: Option<String>,
    /// Allows a plain-HTTP `targetTokenUrl`; in-cluster or test endpoints only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_target_token_url: Option<bool>,
    /// Scopes requested in both steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub scopes: Option<Vec<String>>,
    /// Upstream provider whose ID token is used; filled in when an embedded authorization
    /// server is active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_provider_name: Option<String>,
    /// Token type of the subject token; only the ID token type is accepted today.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_token_type: Option<String>,
    /// URL of the target authorization server, the audience of the identity assertion.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub target_audience: Option<String>,
    /// Client ID at the target authorization server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_client_id: Option<String>,
    /// Literal client secret at the target; prefer `targetClientSecretEnv`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_client_secret: Option<String>,
    /// Environment variable holding the client secret at the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_client_secret_env: Option<String>,
    /// Resource indicator (RFC 8707) sent in the IdP exchange, normally the backend's MCP URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_resource: Option<String>,
    /// Token endpoint of the target authorization server.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub target_token_url: Option<String>,
}
