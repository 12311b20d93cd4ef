//! `spec.config.rateLimiting`: token-bucket limits on requests, kept in Redis.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Request rate limits for the whole server, per user and per tool. A request must pass every
/// limit that applies to it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "has(self.shared) || has(self.perUser) || (has(self.tools) && size(self.tools) > 0)",
    "message": "at least one of shared, perUser, or tools must be configured"
}]))]
pub struct RateLimiting {
    /// A bucket for each authenticated user (needs OIDC authentication).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_user: Option<TokenBucket>,
    /// One bucket shared by all users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared: Option<TokenBucket>,
    /// Additional limits on calls of particular tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub tools: Option<Vec<ToolRateLimit>>,
}

/// A token bucket: `maxTokens` requests at once, refilled completely over `refillPeriod`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenBucket {
    /// Capacity of the bucket, which is also the largest burst.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required, range(min = 1))]
    pub max_tokens: Option<i32>,
    /// Time to refill an empty bucket, as a duration such as `1m0s`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required)]
    pub refill_period: Option<String>,
}

/// Limits on calls of one tool.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "has(self.shared) || has(self.perUser)",
    "message": "at least one of shared or perUser must be configured"
}]))]
pub struct ToolRateLimit {
    /// Name of the tool, as clients see it.
    #[schemars(length(min = 1))]
    pub name: String,
    /// A bucket for each authenticated user, for this tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_user: Option<TokenBucket>,
    /// One bucket shared by all users, for this tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared: Option<TokenBucket>,
}
