//! `spec.config.operational`: timeouts, health checks and failure handling towards backends.

use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use super::DURATION_PATTERN;

/// Runtime behaviour of the server towards its backends.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Operational {
    /// Health checking and what to do about backends that fail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_handling: Option<FailureHandling>,
    /// `debug` turns on debug logging; info level otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::string", extend("enum" = ["debug"]))]
    pub log_level: Option<String>,
    /// Timeouts of backend requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<Timeouts>,
}

/// Health checks of backends and the reaction to unhealthy ones.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailureHandling {
    /// Stops sending requests to a failing backend for a while.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit_breaker: Option<CircuitBreaker>,
    /// Time between two health checks of a backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN), extend("default" = "30s"))]
    pub health_check_interval: Option<String>,
    /// Longest a single health check may take; keep it below the interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN), extend("default" = "10s"))]
    pub health_check_timeout: Option<String>,
    /// `fail` requests when any backend is unavailable (the default), or serve them from the
    /// available ones (`best_effort`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        schema_with = "crate::api::schema::string",
        extend("default" = "fail", "enum" = ["fail", "best_effort"])
    )]
    pub partial_failure_mode: Option<String>,
    /// How often the runtime writes backend health and phase to the status; shorter means
    /// fresher status and more API server load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN), extend("default" = "30s"))]
    pub status_reporting_interval: Option<String>,
    /// Consecutive failed checks after which a backend counts as unhealthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::integer", extend("default" = 3))]
    pub unhealthy_threshold: Option<i64>,
}

/// Circuit breaker settings per backend.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CircuitBreaker {
    /// Turns the circuit breaker on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = false))]
    pub enabled: Option<bool>,
    /// Failures after which the circuit opens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::api::schema::integer", range(min = 1), extend("default" = 5))]
    pub failure_threshold: Option<i64>,
    /// How long the circuit stays open before a backend is tried again; at least `1s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        regex(pattern = DURATION_PATTERN),
        extend(
            "default" = "60s",
            "x-kubernetes-validations" = [{
                "rule": "self == '' || duration(self) >= duration('1s')",
                "message": "timeout must be >= 1s"
            }]
        )
    )]
    pub timeout: Option<String>,
}

/// Timeouts of requests to backends.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Timeouts {
    /// Timeout of backend requests unless overridden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN), extend("default" = "30s"))]
    pub default: Option<String>,
    /// Timeouts by backend workload name, replacing `default` for that backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "duration_map")]
    pub per_workload: Option<BTreeMap<String, String>>,
}

/// A map whose values are durations.
fn duration_map(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "additionalProperties": { "type": "string", "pattern": DURATION_PATTERN },
    })
}
