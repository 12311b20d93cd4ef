//! `spec.sessionStorage`: where MCP sessions live, so that several replicas can share them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::v1beta1::common::SecretKeyRef;

/// Session storage shared by the server's replicas; none when omitted.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "self.provider == 'redis' ? has(self.address) : true",
    "message": "address is required"
}]))]
pub struct SessionStorage {
    /// Redis `host:port`; required with `provider: redis`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub address: Option<String>,
    /// Redis database number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0), extend("default" = 0))]
    pub db: Option<i32>,
    /// Prefix of every Redis key the server writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_prefix: Option<String>,
    /// Secret key holding the Redis password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_ref: Option<SecretKeyRef>,
    /// `memory` (per pod) or `redis` (shared).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required, schema_with = "crate::api::schema::string", extend("enum" = ["memory", "redis"]))]
    pub provider: Option<String>,
}
