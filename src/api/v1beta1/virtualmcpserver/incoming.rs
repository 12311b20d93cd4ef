//! `spec.incomingAuth`: how clients authenticate to the virtual server and what they may call.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::DNS_LABEL_PATTERN;
use super::refs::{AuthzConfigRef, OIDCConfigRef};
use crate::api::schema::CelRule;

/// `type: oidc` needs an MCPOIDCConfig reference.
pub const OIDC_NEEDS_REF_RULE: CelRule = CelRule {
    rule: "self.type == 'oidc' ? has(self.oidcConfigRef) : true",
    message: "spec.incomingAuth.oidcConfigRef is required when type is oidc",
};
/// Inline authorization and a shared MCPAuthzConfig exclude each other.
pub const AUTHZ_EXCLUSIVE_RULE: CelRule = CelRule {
    rule: "!(has(self.authzConfig) && has(self.authzConfigRef))",
    message: "authzConfig and authzConfigRef are mutually exclusive; use authzConfigRef to reference a shared MCPAuthzConfig",
};

/// Client authentication and authorization. It must always be given; `anonymous` has to be chosen
/// explicitly.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [OIDC_NEEDS_REF_RULE, AUTHZ_EXCLUSIVE_RULE]))]
pub struct IncomingAuth {
    /// Cedar authorization configured inline or from a ConfigMap; excludes `authzConfigRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authz_config: Option<AuthzConfig>,
    /// A shared MCPAuthzConfig with Cedar policies; excludes `authzConfig`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authz_config_ref: Option<AuthzConfigRef>,
    /// Settings for `type: kubernetes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<KubernetesAuth>,
    /// The MCPOIDCConfig that validates tokens for `type: oidc`, with this server's audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc_config_ref: Option<OIDCConfigRef>,
    /// `anonymous` (no authentication; development only), `oidc` (tokens from the provider of
    /// `oidcConfigRef`) or `kubernetes` (service-account tokens of this cluster).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    #[schemars(
        required,
        schema_with = "crate::api::schema::string",
        extend("enum" = ["anonymous", "oidc", "kubernetes"])
    )]
    pub type_: Option<String>,
}

/// Validation of this cluster's service-account tokens.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct KubernetesAuth {
    /// Audience tokens must carry; the issuer when unset, which accepts tokens minted for the API
    /// server, so set a dedicated audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// Issuer of the cluster's service-account tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "https://kubernetes.default.svc"))]
    pub issuer: Option<String>,
}

/// Cedar authorization for this server, from a ConfigMap or given inline.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "self.type == 'configMap' ? has(self.configMap) : !has(self.configMap)",
        "message": "configMap must be set when type is 'configMap', and must not be set otherwise"
    },
    {
        "rule": "self.type == 'inline' ? has(self.inline) : !has(self.inline)",
        "message": "inline must be set when type is 'inline', and must not be set otherwise"
    }
]))]
pub struct AuthzConfig {
    /// The ConfigMap holding the configuration, for `type: configMap`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<AuthzConfigMapRef>,
    /// Token claim holding the caller's groups, checked before the usual `groups`, `roles` and
    /// `cognito:groups`; overrides the ConfigMap's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub group_claim_name: Option<String>,
    /// Cedar entity type of the groups taken from token claims (`THVGroup` when empty); must match
    /// the entity store. Overrides the ConfigMap's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63), regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub group_entity_type: Option<String>,
    /// The policies themselves, for `type: inline`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline: Option<InlineAuthz>,
    /// Token claim holding the caller's roles, mapped like groups; overrides the ConfigMap's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub role_claim_name: Option<String>,
    /// `configMap` (the default) or `inline`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    #[schemars(
        required,
        schema_with = "crate::api::schema::string",
        extend("default" = "configMap", "enum" = ["configMap", "inline"])
    )]
    pub type_: Option<String>,
}

/// One key of a ConfigMap in the server's namespace holding the authorization configuration.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct AuthzConfigMapRef {
    /// Key within the ConfigMap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "authz.json"))]
    pub key: Option<String>,
    /// Name of the ConfigMap.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub name: Option<String>,
}

/// Cedar policies given inline.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InlineAuthz {
    /// Cedar entities as a JSON array, for policies that rely on entity relationships.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "[]"))]
    pub entities_json: Option<String>,
    /// Cedar policies, at least one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required, length(min = 1), extend("x-kubernetes-list-type" = "atomic"))]
    pub policies: Option<Vec<String>>,
    /// Deprecated: use `spec.authServerConfig.primaryUpstreamProvider`. Still read for now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63), regex(pattern = DNS_LABEL_PATTERN))]
    pub primary_upstream_provider: Option<String>,
}
