//! Runtime settings: aggregation, operational settings, session storage and rate limits, and the
//! optimizer's embeddings.

use crate::admission::Context;
use crate::admission::duration::{self, SECOND};
use crate::admission::finding::{Finding, Findings, Reason};
use crate::admission::path::{field, index, key};
use crate::api::v1beta1::VirtualMCPServerSpec;
use crate::api::v1beta1::virtualmcpserver::{
    Aggregation, CircuitBreaker, FailureHandling, INCOMING_OIDC, SESSION_MEMORY, SESSION_REDIS, SPEC_RULES,
};

use super::{check_reference, check_secret_ref, missing};

/// Conflict resolution strategies of `spec.config.aggregation`.
pub const CONFLICT_RESOLUTIONS: [&str; 3] = ["prefix", "priority", "manual"];

const AGGREGATION: &str = "spec.config.aggregation";
const OPERATIONAL: &str = "spec.config.operational";
const SESSION_STORAGE: &str = "spec.sessionStorage";
const RATE_LIMITING: &str = "spec.config.rateLimiting";
const OPTIMIZER: &str = "spec.config.optimizer";

pub(super) fn check_aggregation(spec: &VirtualMCPServerSpec, ctx: &Context, out: &mut Findings) {
    const RULE: &str = "vmcp.aggregation";
    let Some(aggregation) = spec.config.as_ref().and_then(|c| c.aggregation.as_ref()) else { return };
    let strategy_path = field(AGGREGATION, "conflictResolution");
    // Absent or empty means the default, `prefix`, which the mutating webhook writes in.
    let strategy = aggregation.conflict_resolution.as_deref().unwrap_or_default();
    if !strategy.is_empty() && !CONFLICT_RESOLUTIONS.contains(&strategy) {
        out.deny(
            RULE,
            &strategy_path,
            Reason::Invalid,
            format!("unsupported conflictResolution {strategy:?}; use prefix, priority or manual"),
        );
    }
    if strategy == "priority" && priority_order_is_empty(aggregation) {
        out.push(
            Finding::deny(
                RULE,
                field(AGGREGATION, "conflictResolutionConfig.priorityOrder"),
                Reason::Required,
                "conflictResolution priority needs the backends in order of precedence in priorityOrder",
            )
            .spanning([strategy_path]),
        );
    }
    for (i, tools) in aggregation.tools.iter().flatten().enumerate() {
        let path = index(&field(AGGREGATION, "tools"), i);
        if tools.workload.as_deref().is_none_or(str::is_empty) {
            out.push(missing(
                RULE,
                field(&path, "workload"),
                &path,
                "the backend workload these settings apply to is required",
            ));
        }
        if let Some(reference) = &tools.tool_config_ref {
            let (name, namespace) = (reference.name.as_deref(), reference.namespace.as_deref());
            check_reference(name, namespace, &field(&path, "toolConfigRef"), "MCPToolConfig", RULE, ctx, out);
        }
    }
}

fn priority_order_is_empty(aggregation: &Aggregation) -> bool {
    let order = aggregation.conflict_resolution_config.as_ref().and_then(|c| c.priority_order.as_deref());
    order.is_none_or(|o| o.is_empty())
}

pub(super) fn check_operational(spec: &VirtualMCPServerSpec, out: &mut Findings) {
    let Some(operational) = spec.config.as_ref().and_then(|c| c.operational.as_ref()) else { return };
    if let Some(timeouts) = &operational.timeouts {
        let base = field(OPERATIONAL, "timeouts");
        check_duration(timeouts.default.as_deref(), &field(&base, "default"), out);
        for (workload, timeout) in timeouts.per_workload.iter().flatten() {
            check_duration(Some(timeout), &key(&field(&base, "perWorkload"), workload), out);
        }
    }
    if let Some(handling) = &operational.failure_handling {
        check_failure_handling(handling, &field(OPERATIONAL, "failureHandling"), out);
    }
}

fn check_failure_handling(handling: &FailureHandling, base: &str, out: &mut Findings) {
    for (name, value) in [
        ("healthCheckInterval", &handling.health_check_interval),
        ("healthCheckTimeout", &handling.health_check_timeout),
        ("statusReportingInterval", &handling.status_reporting_interval),
    ] {
        check_duration(value.as_deref(), &field(base, name), out);
    }
    check_threshold(handling.unhealthy_threshold, &field(base, "unhealthyThreshold"), out);
    if let Some(breaker) = &handling.circuit_breaker {
        check_circuit_breaker(breaker, &field(base, "circuitBreaker"), out);
    }
}

fn check_circuit_breaker(breaker: &CircuitBreaker, base: &str, out: &mut Findings) {
    check_threshold(breaker.failure_threshold, &field(base, "failureThreshold"), out);
    let path = field(base, "timeout");
    let Some(timeout) = breaker.timeout.as_deref() else { return };
    match duration::nanos(timeout) {
        None => check_duration(Some(timeout), &path, out),
        // The schema's CEL rule, word for word.
        Some(nanos) if nanos < SECOND => out.deny("vmcp.operational", path, Reason::Invalid, "timeout must be >= 1s"),
        Some(_) => {}
    }
}

fn check_duration(value: Option<&str>, path: &str, out: &mut Findings) {
    if let Some(problem) = value.and_then(duration::problem) {
        out.deny("vmcp.operational", path, Reason::Invalid, problem);
    }
}

fn check_threshold(value: Option<i64>, path: &str, out: &mut Findings) {
    if let Some(v) = value.filter(|v| *v < 1) {
        out.deny("vmcp.operational", path, Reason::Invalid, format!("must be at least 1 (is {v})"));
    }
}

pub(super) fn check_session_storage(spec: &VirtualMCPServerSpec, ctx: &Context, out: &mut Findings) {
    const RULE: &str = "vmcp.session-storage";
    let storage = spec.session_storage.as_ref();
    let provider = storage.and_then(|s| s.provider.as_deref());
    let provider_path = field(SESSION_STORAGE, "provider");
    if let Some(storage) = storage {
        match provider.unwrap_or_default() {
            "" => out.push(missing(RULE, &provider_path, SESSION_STORAGE, "provider is required: memory or redis")),
            SESSION_MEMORY => {}
            SESSION_REDIS if storage.address.as_deref().is_none_or(str::is_empty) => out.push(
                // The schema's CEL message.
                Finding::deny(RULE, field(SESSION_STORAGE, "address"), Reason::Required, "address is required")
                    .spanning([provider_path.clone()]),
            ),
            SESSION_REDIS => {}
            other => out.deny(
                RULE,
                &provider_path,
                Reason::Invalid,
                format!("unsupported provider {other:?}; use memory or redis"),
            ),
        }
        if let Some(db) = storage.db.filter(|db| *db < 0) {
            out.deny(RULE, field(SESSION_STORAGE, "db"), Reason::Invalid, format!("db must be at least 0 (is {db})"));
        }
        if let Some(password) = &storage.password_ref {
            check_secret_ref(password, &field(SESSION_STORAGE, "passwordRef"), ctx, out);
        }
    }
    let redis = provider == Some(SESSION_REDIS);
    if spec.replicas.is_some_and(|r| r > 1) && !redis {
        out.push(
            Finding::warn(
                "vmcp.session-storage.replicas",
                "spec.replicas",
                "sessions are not shared across replicas without spec.sessionStorage provider redis; clients lose their session when they reach another pod",
            )
            .spanning([provider_path.clone()]),
        );
    }
    check_rate_limiting(spec, redis, &provider_path, out);
}

/// The schema's CEL rules on rate limiting: Redis storage, and OIDC for per-user buckets.
fn check_rate_limiting(spec: &VirtualMCPServerSpec, redis: bool, provider_path: &str, out: &mut Findings) {
    const RULE: &str = "vmcp.session-storage";
    let Some(limits) = spec.config.as_ref().and_then(|c| c.rate_limiting.as_ref()) else { return };
    let [needs_redis, per_user_needs_oidc, per_tool_needs_oidc, _] = SPEC_RULES;
    if !redis {
        out.push(
            Finding::deny(RULE, RATE_LIMITING, Reason::Invalid, needs_redis.message)
                .spanning([provider_path.to_string()]),
        );
    }
    let oidc = spec.incoming_auth.as_ref().and_then(|a| a.type_.as_deref()) == Some(INCOMING_OIDC);
    if oidc {
        return;
    }
    let type_path = "spec.incomingAuth.type".to_string();
    if limits.per_user.is_some() {
        out.push(
            Finding::deny(RULE, field(RATE_LIMITING, "perUser"), Reason::Invalid, per_user_needs_oidc.message)
                .spanning([type_path.clone()]),
        );
    }
    for (i, tool) in limits.tools.iter().flatten().enumerate() {
        if tool.per_user.is_some() {
            let path = field(&index(&field(RATE_LIMITING, "tools"), i), "perUser");
            out.push(
                Finding::deny(RULE, path, Reason::Invalid, per_tool_needs_oidc.message).spanning([type_path.clone()]),
            );
        }
    }
}

pub(super) fn check_embedding(spec: &VirtualMCPServerSpec, ctx: &Context, out: &mut Findings) {
    const RULE: &str = "vmcp.embedding";
    let server_ref = spec.embedding_server_ref.as_ref();
    if let Some(reference) = server_ref {
        let (name, namespace) = (reference.name.as_deref(), reference.namespace.as_deref());
        check_reference(name, namespace, "spec.embeddingServerRef", "EmbeddingServer", RULE, ctx, out);
    }
    let Some(optimizer) = spec.config.as_ref().and_then(|c| c.optimizer.as_ref()) else { return };
    let service_path = field(OPTIMIZER, "embeddingService");
    if server_ref.is_none() && optimizer.embedding_service.as_deref().is_none_or(str::is_empty) {
        out.push(
            Finding::deny(
                RULE,
                &service_path,
                Reason::Required,
                "the optimizer needs an embedding service: set spec.embeddingServerRef or spec.config.optimizer.embeddingService",
            )
                        .spanning(["spec.embeddingServerRef".to_string(), OPTIMIZER.to_string()]),
        );
    }
    let [.., openai_excludes_server] = SPEC_RULES;
    if server_ref.is_some() && optimizer.embedding_provider.as_deref() == Some("openai") {
        out.push(
            Finding::deny(RULE, "spec.embeddingServerRef", Reason::Invalid, openai_excludes_server.message)
                .spanning([field(OPTIMIZER, "embeddingProvider")]),
        );
    }
}
