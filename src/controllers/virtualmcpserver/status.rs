//! The status of a VirtualMCPServer: conditions, phase, URL and, until the runtime reports them,
//! the discovered backends. Fields the runtime writes are detected from its managed fields and
//! then left to it: the operator neither sends nor compares them.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;
use serde_json::Value;

use crate::api::v1beta1::virtualmcpserver::DiscoveredBackend;
use crate::api::v1beta1::{Condition, VirtualMCPServer, VirtualMCPServerStatus};
use crate::controllers::conditions::{Desired, merge_conditions};
use crate::controllers::status::FIELD_MANAGER;

pub const VALID: &str = "Valid";
pub const GROUP_REF_VALIDATED: &str = "GroupRefValidated";
pub const AUTH_CONFIGURED: &str = "AuthConfigured";
pub const CONFIG_REFS_VALIDATED: &str = "ConfigRefsValidated";
pub const POD_TEMPLATE_SPEC_VALID: &str = "PodTemplateSpecValid";
pub const HMAC_SECRET_VALIDATED: &str = "HMACSecretValidated";
pub const BACKENDS_DISCOVERED: &str = "BackendsDiscovered";
pub const READY: &str = "Ready";

/// Every condition type this controller writes (others' conditions are never compared).
pub const OWNED_TYPES: [&str; 8] = [
    VALID,
    GROUP_REF_VALIDATED,
    AUTH_CONFIGURED,
    CONFIG_REFS_VALIDATED,
    POD_TEMPLATE_SPEC_VALID,
    HMAC_SECRET_VALIDATED,
    BACKENDS_DISCOVERED,
    READY,
];

pub const CONFIG_VALID: &str = "ConfigValid";
pub const CONFIG_INVALID: &str = "ConfigInvalid";
pub const GROUP_REF_VALID: &str = "GroupRefValid";
pub const GROUP_REF_NOT_FOUND: &str = "GroupRefNotFound";
pub const GROUP_REF_NOT_READY: &str = "GroupRefNotReady";
pub const AUTH_VALID: &str = "AuthValid";
pub const AUTH_INVALID: &str = "AuthInvalid";
pub const CONFIG_REFS_VALID: &str = "ConfigRefsValid";
pub const CONFIG_REF_NOT_FOUND: &str = "ConfigRefNotFound";
pub const POD_TEMPLATE_VALID: &str = "PodTemplateSpecValid";
pub const POD_TEMPLATE_INVALID: &str = "PodTemplateSpecInvalid";
pub const HMAC_SECRET_VALID: &str = "HMACSecretValid";
pub const HMAC_SECRET_NOT_OWNED: &str = "HMACSecretNotOwned";
pub const HMAC_SECRET_MALFORMED: &str = "HMACSecretMalformed";
pub const DISCOVERED: &str = "BackendsDiscovered";
pub const NOT_DISCOVERED: &str = "BackendsNotDiscovered";
pub const DEPLOYMENT_READY: &str = "DeploymentReady";
pub const DEPLOYMENT_NOT_READY: &str = "DeploymentNotReady";
pub const DEPLOYMENT_FAILED: &str = "DeploymentFailed";
pub const BACKENDS_DEGRADED: &str = "BackendsDegraded";
pub const BACKENDS_UNAVAILABLE: &str = "BackendsUnavailable";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Pending,
    Ready,
    Degraded,
    Failed,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "Pending",
            Phase::Ready => "Ready",
            Phase::Degraded => "Degraded",
            Phase::Failed => "Failed",
        }
    }
}

/// What the Deployment says about the pods.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rollout {
    /// Not applied (the spec or the group does not allow it yet) or not in the cache yet.
    Absent,
    NoPodReady,
    Ready,
    Failed(String),
}

pub fn rollout(deployment: Option<&Deployment>) -> Rollout {
    let Some(status) = deployment.and_then(|d| d.status.as_ref()) else { return Rollout::Absent };
    for condition in status.conditions.iter().flatten() {
        let failed = (condition.type_ == "Progressing"
            && condition.status == "False"
            && condition.reason.as_deref() == Some("ProgressDeadlineExceeded"))
            || (condition.type_ == "ReplicaFailure" && condition.status == "True");
        if failed {
            return Rollout::Failed(condition.message.clone().unwrap_or_else(|| condition.type_.clone()));
        }
    }
    if status.ready_replicas.unwrap_or(0) > 0 { Rollout::Ready } else { Rollout::NoPodReady }
}

/// Which status fields the vMCP runtime has taken over.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RuntimeOwned {
    pub backends: bool,
    pub backend_count: bool,
    pub discovered_condition: bool,
}

impl RuntimeOwned {
    pub fn of(vmcp: &VirtualMCPServer) -> Self {
        let mut owned = RuntimeOwned::default();
        for entry in runtime_entries(vmcp.metadata.managed_fields.as_deref().unwrap_or_default()) {
            let status = entry.fields_v1.as_ref().map(|f| &f.0["f:status"]).cloned().unwrap_or(Value::Null);
            owned.backends |= status.get("f:discoveredBackends").is_some();
            owned.backend_count |= status.get("f:backendCount").is_some();
            let condition = status.get("f:conditions").and_then(|c| c.get(r#"k:{"type":"BackendsDiscovered"}"#));
            owned.discovered_condition |= condition.is_some();
        }
        // A backend with health details the operator never writes was reported by the runtime.
        let reported = vmcp.status.as_ref().and_then(|s| s.discovered_backends.as_ref()).is_some_and(|list| {
            list.iter().any(|b| {
                b.consecutive_failures.is_some() || b.circuit_breaker_state.is_some() || b.mcp_revision.is_some()
            })
        });
        owned.backends |= reported;
        owned.backend_count |= reported;
        owned
    }
}

fn runtime_entries(entries: &[ManagedFieldsEntry]) -> impl Iterator<Item = &ManagedFieldsEntry> {
    entries.iter().filter(|e| e.subresource.as_deref() == Some("status") && e.manager.as_deref() != Some(FIELD_MANAGER))
}

/// Keeps only the managed fields of other status writers: what [`RuntimeOwned`] reads.
pub fn prune_managed_fields(vmcp: &mut VirtualMCPServer) {
    let kept: Vec<ManagedFieldsEntry> =
        runtime_entries(vmcp.metadata.managed_fields.as_deref().unwrap_or_default()).cloned().collect();
    vmcp.metadata.managed_fields = (!kept.is_empty()).then_some(kept);
}

/// The status the operator wants, with the runtime's fields carried over as they are.
pub struct Computed {
    pub status: VirtualMCPServerStatus,
    pub phase: Phase,
    pub runtime: RuntimeOwned,
}

pub struct Parts<'a> {
    pub conditions: Vec<Desired>,
    pub phase: Phase,
    pub message: String,
    pub url: String,
    pub backends: Vec<DiscoveredBackend>,
    pub backend_count: i32,
    pub now: &'a str,
}

pub fn compute(vmcp: &VirtualMCPServer, parts: Parts) -> Computed {
    let runtime = RuntimeOwned::of(vmcp);
    let live = vmcp.status.clone().unwrap_or_default();
    let previous = live.conditions.clone().unwrap_or_default();
    let generation = vmcp.metadata.generation;
    let ours: Vec<Desired> = parts
        .conditions
        .into_iter()
        .filter(|c| !(runtime.discovered_condition && c.type_ == BACKENDS_DISCOVERED))
        .collect();
    let mut conditions = merge_conditions(&previous, &ours, generation, parts.now);
    if runtime.discovered_condition
        && let Some(theirs) = previous.iter().find(|c| c.type_ == BACKENDS_DISCOVERED)
    {
        conditions.push(theirs.clone());
    }
    let status = VirtualMCPServerStatus {
        conditions: Some(conditions),
        discovered_backends: if runtime.backends {
            live.discovered_backends.clone()
        } else {
            (!parts.backends.is_empty()).then_some(parts.backends)
        },
        backend_count: if runtime.backend_count { live.backend_count } else { Some(parts.backend_count) },
        message: Some(parts.message),
        observed_generation: generation,
        phase: Some(parts.phase.as_str().to_string()),
        url: Some(parts.url),
        ..live
    };
    Computed { status, phase: parts.phase, runtime }
}

fn owned_conditions(conditions: Option<&Vec<Condition>>) -> Vec<Condition> {
    let mut list: Vec<Condition> =
        conditions.into_iter().flatten().filter(|c| OWNED_TYPES.contains(&c.type_.as_str())).cloned().collect();
    list.sort_by(|a, b| a.type_.cmp(&b.type_));
    list
}

/// Whether the live status already says everything `computed` would write.
pub fn is_current(vmcp: &VirtualMCPServer, computed: &Computed) -> bool {
    let Some(live) = vmcp.status.as_ref() else { return false };
    let want = &computed.status;
    owned_conditions(live.conditions.as_ref()) == owned_conditions(want.conditions.as_ref())
        && live.discovered_backends == want.discovered_backends
        && live.backend_count == want.backend_count
        && live.message == want.message
        && live.observed_generation == want.observed_generation
        && live.phase == want.phase
        && live.url == want.url
}

/// The body of the status apply: the computed status without the runtime's fields (and without
/// fields this controller never writes).
pub fn apply_body(computed: &Computed) -> Result<Value, serde_json::Error> {
    let status = &computed.status;
    let runtime = computed.runtime;
    let conditions: Vec<&Condition> = status
        .conditions
        .iter()
        .flatten()
        .filter(|c| OWNED_TYPES.contains(&c.type_.as_str()))
        .filter(|c| !(runtime.discovered_condition && c.type_ == BACKENDS_DISCOVERED))
        .collect();
    let mut body = serde_json::json!({
        "conditions": conditions,
        "observedGeneration": status.observed_generation,
        "phase": status.phase,
        "url": status.url,
        "message": status.message,
    });
    if !runtime.backends
        && let Some(backends) = status.discovered_backends.as_ref()
    {
        body["discoveredBackends"] = serde_json::to_value(backends)?;
    }
    if !runtime.backend_count {
        body["backendCount"] = serde_json::to_value(status.backend_count)?;
    }
    Ok(body)
}
