//! `spec.authServerConfig`: the OAuth authorization server embedded in the vMCP pod.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::upstream::UpstreamProvider;
use super::{DNS_LABEL_PATTERN, DURATION_PATTERN};
use crate::api::v1beta1::common::SecretKeyRef;

/// An issuer or endpoint base URL: http(s), no query, fragment or trailing slash.
const ISSUER_URL_PATTERN: &str = r"^https?://[^\s?#]+[^/\s?#]$";

/// An embedded OAuth authorization server: vMCP becomes an OIDC issuer, signs users in through
/// upstream identity providers and issues its own tokens. Its issuer must be the one the
/// incoming OIDC configuration trusts; when absent, clients authenticate against an external IdP.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "!(has(self.allowConfidentialClientRegistration) && self.allowConfidentialClientRegistration && has(self.insecureAllowHTTP) && self.insecureAllowHTTP)",
        "message": "allowConfidentialClientRegistration cannot be combined with insecureAllowHTTP; client secrets would be issued in cleartext over an unauthenticated endpoint"
    },
    {
        "rule": "!has(self.delegateClients) || size(self.delegateClients) == 0 || !self.issuer.startsWith('http://')",
        "message": "delegateClients require an https:// issuer; delegate client secrets must not be sent over plaintext HTTP"
    },
    {
        "rule": "(!has(self.forceConfidentialRedirectUris) || size(self.forceConfidentialRedirectUris) == 0) || (has(self.allowConfidentialClientRegistration) && self.allowConfidentialClientRegistration)",
        "message": "forceConfidentialRedirectUris requires allowConfidentialClientRegistration to be true"
    }
]))]
pub struct AuthServerConfig {
    /// Lets unauthenticated dynamic client registration (RFC 7591) create confidential clients,
    /// which receive a client secret once. Anyone who can reach the endpoint can then obtain a
    /// credential; turning it off later does not revoke secrets already issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = false))]
    pub allow_confidential_client_registration: Option<bool>,
    /// Base URL advertised for the authorization endpoint in the discovery document, when browsers
    /// must reach it on another host than the issuer; the other endpoints stay under the issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = ISSUER_URL_PATTERN))]
    pub authorization_endpoint_base_url: Option<String>,
    /// Scopes added to every client registration, so clients can always request them. Each must be
    /// offered by the upstream providers; keep the list small (typically `openid`, `offline_access`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 10),
        inner(length(min = 1), regex(pattern = r"^[\x21\x23-\x5B\x5D-\x7E]+$")),
        extend("x-kubernetes-list-type" = "atomic")
    )]
    pub baseline_client_scopes: Option<Vec<String>>,
    /// Client ID Metadata Document support; disabled when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cimd: Option<CimdConfig>,
    /// Pre-registered confidential clients allowed to use token exchange (RFC 8693). Their secrets
    /// come from Secrets; this is unrelated to dynamic client registration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 10), extend("x-kubernetes-list-type" = "atomic"))]
    pub delegate_clients: Option<Vec<DelegateClient>>,
    /// Stops the server from forwarding upstream IdP tokens to backends: client credentials are
    /// validated and then stripped, so backends receive unauthenticated requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = false))]
    pub disable_upstream_token_injection: Option<bool>,
    /// Redirect URIs whose registrations are always made confidential (and get a secret), for
    /// clients that register as public but then insist on a secret. Matched exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 10),
        inner(regex(pattern = r"^https://[^\s?#]+$")),
        extend("x-kubernetes-list-type" = "atomic")
    )]
    pub force_confidential_redirect_uris: Option<Vec<String>>,
    /// Secrets with the symmetric keys that sign authorization codes and refresh tokens; the first is
    /// current, the rest only verify. Without them an ephemeral key is used (development only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub hmac_secret_refs: Option<Vec<SecretKeyRef>>,
    /// Allows confidential registration with a plain-HTTP loopback issuer (local development).
    /// Has no effect with an https issuer or without confidential registration.
    #[serde(rename = "insecureAllowConfidentialOverLoopbackHTTP", default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = false))]
    pub insecure_allow_confidential_over_loopback_http: Option<bool>,
    /// Allows an `http://` issuer for hosts other than localhost. Only for in-cluster traffic on a
    /// trusted network; anything reachable from outside must use https.
    #[serde(rename = "insecureAllowHTTP", default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = false))]
    pub insecure_allow_http: Option<bool>,
    /// Issuer identifier placed in the `iss` claim: an https URL (http for localhost or with
    /// `insecureAllowHTTP`) without query, fragment or trailing slash.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required, regex(pattern = ISSUER_URL_PATTERN))]
    pub issuer: Option<String>,
    /// Name of the upstream provider whose token supplies the claims for authorization decisions;
    /// the first of `upstreamProviders` when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63), regex(pattern = DNS_LABEL_PATTERN))]
    pub primary_upstream_provider: Option<String>,
    /// Secrets with the keys that sign issued JWTs; older keys remain for verification. Without them
    /// an ephemeral key is used (development only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 5), extend("x-kubernetes-list-type" = "atomic"))]
    pub signing_key_secret_refs: Option<Vec<SecretKeyRef>>,
    /// Where the server keeps its state; in memory when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<AuthServerStorage>,
    /// How long issued tokens stay valid; defaults apply when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_lifespans: Option<TokenLifespans>,
    /// External OIDC issuers whose tokens are accepted as subject tokens or JWT-bearer assertions
    /// in token exchange; by default only the server's own tokens are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 20), extend("x-kubernetes-list-type" = "atomic"))]
    pub trusted_issuers: Option<Vec<TrustedIssuer>>,
    /// Identity providers users sign in with; vMCP accepts several, each with a unique name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(
        required,
        length(min = 1),
        extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"])
    )]
    pub upstream_providers: Option<Vec<UpstreamProvider>>,
}

/// Client ID Metadata Document lookup: clients identified by an https URL whose document
/// describes them.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CimdConfig {
    /// How long a fetched document is cached (a duration such as `10m`); 5 minutes when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub cache_fallback_ttl: Option<String>,
    /// Most documents kept in the cache; 256 when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::integer", range(min = 1))]
    pub cache_max_size: Option<i64>,
    /// Turns the lookup on; when off only dynamically registered client IDs are accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required, extend("default" = false))]
    pub enabled: Option<bool>,
}

/// A pre-registered confidential client for token exchange, with its secret in a Secret.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "has(self.clientSecretRef) && size(self.clientSecretRef.name) > 0 && size(self.clientSecretRef.key) > 0",
    "message": "clientSecretRef.name and clientSecretRef.key are required and must be non-empty"
}]))]
pub struct DelegateClient {
    /// Resources (RFC 8707) the client may request tokens for.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(
        required,
        length(min = 1, max = 10),
        inner(length(min = 1, max = 2048)),
        extend("x-kubernetes-list-type" = "atomic")
    )]
    pub audiences: Option<Vec<String>>,
    /// The `client_id` the client presents at the token endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required, length(min = 1, max = 256))]
    pub client_id: Option<String>,
    /// Secret key holding the client secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub client_secret_ref: Option<SecretKeyRef>,
    /// Scopes the client may request.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(
        required,
        length(min = 1, max = 10),
        inner(length(min = 1, max = 256)),
        extend("x-kubernetes-list-type" = "atomic")
    )]
    pub scopes: Option<Vec<String>>,
}

/// Storage backend of the embedded authorization server.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthServerStorage {
    /// Redis settings; needed when `type` is `redis`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<RedisStorage>,
    /// `memory` (the default, lost on restart) or `redis`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::string", extend("default" = "memory", "enum" = ["memory", "redis"]))]
    pub type_: Option<String>,
}

/// A Redis (or Valkey) server reached directly, as a cluster, or through Sentinel.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "(has(self.addr) && self.addr.size() > 0) != has(self.sentinelConfig)",
        "message": "exactly one of addr or sentinelConfig must be set"
    },
    {
        "rule": "!(has(self.clusterMode) && self.clusterMode) || (has(self.addr) && self.addr.size() > 0)",
        "message": "clusterMode requires addr to be set"
    }
]))]
pub struct RedisStorage {
    /// Credentials for Redis authentication.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub acl_user_config: Option<RedisAclUserConfig>,
    /// `host:port` of a standalone server or a cluster discovery endpoint; excludes `sentinelConfig`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
    /// Speaks the Redis Cluster protocol to `addr`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_mode: Option<bool>,
    /// Timeout for opening a connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN), extend("default" = "5s"))]
    pub dial_timeout: Option<String>,
    /// Timeout for one socket read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN), extend("default" = "3s"))]
    pub read_timeout: Option<String>,
    /// Sentinel-managed high availability; excludes `addr`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentinel_config: Option<SentinelConfig>,
    /// TLS towards the Sentinel instances; present means enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentinel_tls: Option<RedisTls>,
    /// TLS towards the Redis master or cluster nodes; present means enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<RedisTls>,
    /// Timeout for one socket write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN), extend("default" = "3s"))]
    pub write_timeout: Option<String>,
}

/// Redis credentials: an ACL user and password, or a password alone.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RedisAclUserConfig {
    /// Secret key holding the password.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub password_secret_ref: Option<SecretKeyRef>,
    /// Secret key holding the ACL user name; omit for password-only authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_secret_ref: Option<SecretKeyRef>,
}

/// Where to find the Redis master through Sentinel.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SentinelConfig {
    /// Redis database number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = 0))]
    pub db: Option<i32>,
    /// Name of the master the Sentinels monitor.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub master_name: Option<String>,
    /// Sentinel `host:port` addresses; excludes `sentinelService`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub sentinel_addrs: Option<Vec<String>>,
    /// A Service whose endpoints are the Sentinels; excludes `sentinelAddrs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentinel_service: Option<SentinelService>,
}

/// A Kubernetes Service in front of the Sentinel instances.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct SentinelService {
    /// Name of the Service.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub name: Option<String>,
    /// Namespace of the Service; the server's own namespace when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Sentinel port of the Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = 26379))]
    pub port: Option<i32>,
}

/// TLS settings for Redis connections.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RedisTls {
    /// Secret key holding the PEM CA certificate that verifies the server; system roots otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert_secret_ref: Option<SecretKeyRef>,
    /// Skips certificate verification (self-signed servers); avoid in production.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_skip_verify: Option<bool>,
}

/// Validity periods of issued tokens, as durations such as `1h`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenLifespans {
    /// Access token lifetime; 1 hour when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub access_token_lifespan: Option<String>,
    /// Authorization code lifetime; 10 minutes when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub auth_code_lifespan: Option<String>,
    /// Refresh token lifetime; 7 days (`168h`) when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub refresh_token_lifespan: Option<String>,
}

/// An external OIDC issuer whose tokens token exchange accepts, and who may use them.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": r#"!has(self.allowedDelegateClients) || !('*' in self.allowedDelegateClients) || size(self.allowedDelegateClients) == 1"#,
        "message": r#"allowedDelegateClients must not combine the wildcard "*" with specific client IDs"#
    },
    {
        "rule": r#"!(has(self.allowMayAct) && self.allowMayAct && '*' in self.allowedDelegateClients)"#,
        "message": r#"allowMayAct must not be enabled when allowedDelegateClients contains the wildcard "*""#
    },
    {
        "rule": "!has(self.actorClaim) || !(self.actorClaim in ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'jti', 'name', 'email', 'scope', 'scp', 'may_act'])",
        "message": "actorClaim must name a readable claim; use client_id or a non-reserved claim such as azp, appid, or cid"
    },
    {
        "rule": r#"!(has(self.allowPrivateIPs) && self.allowPrivateIPs) || (has(self.jwksUrl) && self.jwksUrl != "")"#,
        "message": "allowPrivateIPs requires jwksUrl to be set explicitly"
    },
    {
        "rule": "(has(self.jwtBearerGrant) && !((has(self.actorClaim) && size(self.actorClaim) > 0) || (has(self.actorMatcher) && size(self.actorMatcher) > 0) || (has(self.allowMayAct) && self.allowMayAct) || (has(self.allowedActors) && size(self.allowedActors) > 0))) || (has(self.expectedAudience) && size(self.expectedAudience) > 0)",
        "message": "expectedAudience is required unless jwtBearerGrant is configured without actorClaim, actorMatcher, allowMayAct, or allowedActors"
    },
    {
        "rule": "!((has(self.expectedAudience) && size(self.expectedAudience) > 0) || (has(self.actorClaim) && size(self.actorClaim) > 0) || (has(self.actorMatcher) && size(self.actorMatcher) > 0) || (has(self.allowMayAct) && self.allowMayAct)) || (has(self.allowedDelegateClients) && size(self.allowedDelegateClients) > 0)",
        "message": "allowedDelegateClients is required when expectedAudience, actorClaim, actorMatcher, or allowMayAct is set"
    }
]))]
pub struct TrustedIssuer {
    /// Claim naming the client the subject token was issued to (`azp` when empty; `appid` for
    /// Entra v1, `cid` for Okta; `client_id` reads that claim). Checked against `allowedActors`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub actor_claim: Option<String>,
    /// CEL expression over the token's verified `claims` that authorizes actors in addition to
    /// `allowedActors`; it must return a boolean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub actor_matcher: Option<String>,
    /// Lets a `may_act` claim from this issuer authorize delegation, bypassing `allowedActors` and
    /// `actorMatcher`; off unless enabled explicitly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = false))]
    pub allow_may_act: Option<bool>,
    /// Allows discovery and JWKS fetches for this issuer to reach private or loopback addresses;
    /// needs an explicit `jwksUrl`.
    #[serde(rename = "allowPrivateIPs", default, skip_serializing_if = "Option::is_none")]
    pub allow_private_ips: Option<bool>,
    /// Values of `actorClaim` allowed to exchange tokens that carry no `may_act` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 50), inner(length(min = 1, max = 256)), extend("x-kubernetes-list-type" = "atomic"))]
    pub allowed_actors: Option<Vec<String>>,
    /// Client IDs that may exchange this issuer's subject tokens, or `["*"]` for any confidential
    /// client with the token-exchange grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 50),
        inner(length(min = 1, max = 256)),
        extend("x-kubernetes-list-type" = "atomic")
    )]
    pub allowed_delegate_clients: Option<Vec<String>>,
    /// Audience a subject token must carry; not used for JWT-bearer assertions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2048))]
    pub expected_audience: Option<String>,
    /// Allows plain-HTTP discovery and JWKS fetches for this issuer; testing only.
    #[serde(rename = "insecureAllowHTTP", default, skip_serializing_if = "Option::is_none")]
    pub insecure_allow_http: Option<bool>,
    /// The exact `iss` value of accepted tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required, length(min = 1, max = 2048))]
    pub issuer_url: Option<String>,
    /// Where the issuer's keys are fetched; found through OIDC discovery when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub jwks_url: Option<String>,
    /// Enables the JWT-bearer grant (RFC 7523) for assertions from this issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_bearer_grant: Option<JwtBearerGrant>,
}

/// The RFC 7523 JWT-bearer grant for one trusted issuer.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "duration(self.maxAssertionAge) > duration('0s')",
        "message": "maxAssertionAge must be greater than zero"
    },
    {
        "rule": "self.subjectBindings.all(binding, self.subjectBindings.filter(other, other.subject == binding.subject).size() == 1)",
        "message": "subjectBindings must not contain duplicate subjects"
    }
]))]
pub struct JwtBearerGrant {
    /// Audiences an assertion may be addressed to; the token endpoint when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 50),
        inner(length(min = 1, max = 2048), regex(pattern = r"^https?://[^[:space:]]+$")),
        extend("x-kubernetes-list-type" = "atomic")
    )]
    pub accepted_audiences: Option<Vec<String>>,
    /// Longest accepted interval between an assertion's `iat` and `exp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub max_assertion_age: Option<String>,
    /// The subjects allowed to use the grant and the resources each may request.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required, length(min = 1, max = 50), extend("x-kubernetes-list-type" = "atomic"))]
    pub subject_bindings: Option<Vec<JwtBearerSubjectBinding>>,
}

/// One assertion subject and the resources it may request.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JwtBearerSubjectBinding {
    /// Resources (RFC 8707) the subject may request, matched exactly.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(
        required,
        length(min = 1, max = 50),
        inner(length(min = 1, max = 2048), regex(pattern = r"^https?://[^[:space:]]+$")),
        extend("x-kubernetes-list-type" = "atomic")
    )]
    pub allowed_resources: Option<Vec<String>>,
    /// The assertion's exact `sub`; wildcards are not supported.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required, length(min = 1, max = 256), regex(pattern = r"^[^*]+$"))]
    pub subject: Option<String>,
}
