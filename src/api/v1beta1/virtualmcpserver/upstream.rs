//! `spec.authServerConfig.upstreamProviders`: the identity providers the embedded authorization
//! server signs users in with.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::DNS_LABEL_PATTERN;
use crate::api::v1beta1::common::SecretKeyRef;

/// An http(s) endpoint of an upstream provider.
const ENDPOINT_PATTERN: &str = r"^https?://.*$";
/// A registration or discovery URL: https, no query, fragment or trailing slash.
const DCR_URL_PATTERN: &str = r"^https://[^\s?#]+[^/\s?#]$";

/// One upstream identity provider: `type` says which of `oidcConfig` and `oauth2Config` is set.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "self.type == 'oidc' ? (has(self.oidcConfig) && !has(self.oauth2Config)) : self.type == 'oauth2' ? (has(self.oauth2Config) && !has(self.oidcConfig)) : false",
    "message": "type must be 'oidc' or 'oauth2'; oidcConfig must be set when type is 'oidc' and oauth2Config must be set when type is 'oauth2' (and the other must not be set)"
}]))]
pub struct UpstreamProvider {
    /// Unique name of the provider (a lowercase DNS label), used to route and bind sessions.
    #[schemars(length(min = 1, max = 63), regex(pattern = DNS_LABEL_PATTERN))]
    pub name: String,
    /// Settings for a plain OAuth 2.0 provider; only with `type: oauth2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2_config: Option<OAuth2Upstream>,
    /// Settings for an OpenID Connect provider; only with `type: oidc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc_config: Option<OIDCUpstream>,
    /// `oidc` or `oauth2`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    #[schemars(required, schema_with = "crate::api::schema::string", extend("enum" = ["oidc", "oauth2"]))]
    pub type_: Option<String>,
}

/// A plain OAuth 2.0 provider, configured by its endpoints. The client is either pre-registered
/// (`clientId`) or registered at runtime (`dcrConfig`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "(has(self.clientId) && size(self.clientId) > 0) ? !has(self.dcrConfig) : has(self.dcrConfig)",
        "message": "exactly one of clientId or dcrConfig must be set"
    },
    {
        "rule": "!(has(self.dcrConfig) && has(self.clientSecretRef))",
        "message": "clientSecretRef must not be set when dcrConfig is set; the client_secret is obtained at runtime via Dynamic Client Registration"
    }
]))]
pub struct OAuth2Upstream {
    /// Extra query parameters for authorization requests (for example `access_type: offline`);
    /// parameters the flow sets itself are rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("maxProperties" = 16))]
    pub additional_authorization_params: Option<BTreeMap<String, String>>,
    /// Allows connections to private address ranges, for a provider inside the cluster.
    #[serde(rename = "allowPrivateIPs", default, skip_serializing_if = "Option::is_none")]
    pub allow_private_ips: Option<bool>,
    /// The provider's authorization endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required, regex(pattern = ENDPOINT_PATTERN))]
    pub authorization_endpoint: Option<String>,
    /// Pre-registered client ID; leave empty when `dcrConfig` registers the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Secret key holding the client secret; omit for public clients using PKCE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_ref: Option<SecretKeyRef>,
    /// Registers the client dynamically (RFC 7591) instead of using `clientId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dcr_config: Option<DcrConfig>,
    /// Reads the user's identity from the token response instead of calling a userinfo endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_from_token: Option<IdentityFromToken>,
    /// Allows plain-HTTP endpoints for this provider; in-cluster development only.
    #[serde(rename = "insecureAllowHTTP", default, skip_serializing_if = "Option::is_none")]
    pub insecure_allow_http: Option<bool>,
    /// Callback URL the provider redirects to; `{resourceUrl}/oauth/callback` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// Scopes requested from the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub scopes: Option<Vec<String>>,
    /// The provider's token endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required, regex(pattern = ENDPOINT_PATTERN))]
    pub token_endpoint: Option<String>,
    /// Paths of the token fields for providers that nest them in a non-standard response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_response_mapping: Option<TokenResponseMapping>,
    /// How to fetch user details. Without it and without `identityFromToken`, a subject is derived
    /// from the access token and no name or email is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_info: Option<UserInfo>,
}

/// Dynamic client registration (RFC 7591) against the upstream server, found through a discovery
/// document or given as an endpoint.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "has(self.discoveryUrl) != has(self.registrationEndpoint)",
    "message": "exactly one of discoveryUrl or registrationEndpoint must be set"
}]))]
pub struct DcrConfig {
    /// Discovery document (RFC 8414 or OIDC) naming the registration and other endpoints;
    /// excludes `registrationEndpoint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048), regex(pattern = DCR_URL_PATTERN))]
    pub discovery_url: Option<String>,
    /// Secret key holding an initial access token, sent as a bearer token when registering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_access_token_ref: Option<SecretKeyRef>,
    /// Registration endpoint used without discovery; the authorization and token endpoints and
    /// the scopes must then be given explicitly. Excludes `discoveryUrl`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048), regex(pattern = DCR_URL_PATTERN))]
    pub registration_endpoint: Option<String>,
    /// The `software_id` sent with the registration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 255))]
    pub software_id: Option<String>,
    /// A signed `software_statement` JWT sent with the registration. It is stored in plain view
    /// on this object, so it must not be a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 16384))]
    pub software_statement: Option<String>,
}

/// Dot-notation paths locating the user's identity in the token response. The values are only as
/// trustworthy as the TLS connection; they are not signed.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentityFromToken {
    /// Path to the email address; omitted from the identity when unset or not a string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    pub email_path: Option<String>,
    /// Path to the display name; omitted from the identity when unset or not a string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    pub name_path: Option<String>,
    /// Path to the user ID, for example `authed_user.id`; `access_token|@upstreamjwt|sub` reads
    /// it from a JWT access token (without verifying it).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required, length(min = 1, max = 256))]
    pub subject_path: Option<String>,
}

/// Dot-notation paths of the token fields in a non-standard token response.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponseMapping {
    /// Path to the access token, for example `authed_user.access_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required, length(min = 1))]
    pub access_token_path: Option<String>,
    /// Path to the lifetime in seconds; `expires_in` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_path: Option<String>,
    /// Path to the refresh token; `refresh_token` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_path: Option<String>,
    /// Path to the granted scopes; `scope` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope_path: Option<String>,
}

/// A userinfo endpoint and how to read its response.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    /// Extra request headers, for providers that need them (such as an `Accept` header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_headers: Option<BTreeMap<String, String>>,
    /// URL of the userinfo endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required, regex(pattern = ENDPOINT_PATTERN))]
    pub endpoint_url: Option<String>,
    /// Response field names for providers that do not use `sub`, `name` and `email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_mapping: Option<UserInfoFieldMapping>,
    /// `GET` (the default) or `POST`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::string", extend("enum" = ["GET", "POST"]))]
    pub http_method: Option<String>,
}

/// Candidate response fields for each identity attribute, tried in order; the first non-empty
/// value wins.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserInfoFieldMapping {
    /// Fields holding the email address; `["email"]` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub email_fields: Option<Vec<String>>,
    /// Fields holding the display name; `["name"]` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub name_fields: Option<Vec<String>>,
    /// Fields holding the user ID; `["sub"]` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub subject_fields: Option<Vec<String>>,
}

/// An OpenID Connect provider, configured through discovery from its issuer.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OIDCUpstream {
    /// Extra query parameters for authorization requests (for example `access_type: offline`,
    /// then also set `scopes`); parameters the flow sets itself are rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("maxProperties" = 16))]
    pub additional_authorization_params: Option<BTreeMap<String, String>>,
    /// Client ID registered with the provider.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub client_id: Option<String>,
    /// Secret key holding the client secret; omit for public clients using PKCE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_ref: Option<SecretKeyRef>,
    /// The provider's issuer URL (https), from which its endpoints are discovered.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required, regex(pattern = r"^https://.*$"))]
    pub issuer_url: Option<String>,
    /// Callback URL the provider redirects to; `{resourceUrl}/oauth/callback` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// Scopes requested from the provider; `openid` and `offline_access` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub scopes: Option<Vec<String>>,
    /// Top-level ID-token claim used as the user's subject, for providers whose `sub` is not
    /// stable (Entra ID: `oid`); `sub` when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 128), regex(pattern = r"^([a-zA-Z_][a-zA-Z0-9_]*)?$"))]
    pub subject_claim: Option<String>,
    /// Replaces the discovered userinfo endpoint, method or field names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_info_override: Option<UserInfo>,
}
