//! The MCPRegistry controller (a deprecated kind, still reconciled): runs the registry API server
//! from the verbatim `config.yaml` of the spec.
//!
//! Children: the ConfigMap `<name>-registry-server-config`, ServiceAccount, Role and RoleBinding
//! `<name>-registry-api`, the Deployment and the Service `<name>-api`, applied like the
//! VirtualMCPServer's (see `children`). A finalizer reports `Terminating` while the object is
//! deleted; its cleanup never looks at the spec, so an invalid spec cannot block deletion.

pub mod render;

use std::sync::Arc;
use std::time::Duration;

use kube::api::Patch;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::{Api, Resource, ResourceExt};
use serde_json::Value;

use self::render::{Inputs, api_name, config_map_name, rbac_name};
use super::cache::{Cached, Caches};
use super::children::{self, Child, live_json, owner_reference};
use super::conditions::{Desired, merge_conditions};
use super::context::Context;
use super::error::Error;
use super::events::{self, Reason};
use super::index::Target;
use super::kinds::Kind;
use super::status::{apply_params, status_patch};
use super::virtualmcpserver::{announce_created, apply_all};
use crate::admission::{self, NoCluster, Operation, engine::run_checks};
use crate::api::crd::REGISTRY_DEPRECATION;
use crate::api::v1beta1::{MCPRegistry, MCPRegistryStatus};

pub const FINALIZER: &str = "mcpregistry.toolhive.stacklok.dev/finalizer";
pub const READY: &str = "Ready";
pub const REASON_READY: &str = "Ready";
pub const NOT_READY: &str = "NotReady";
pub const CONFIG_MAP_FAILED: &str = "ConfigMapFailed";
pub const RBAC_FAILED: &str = "RBACFailed";
pub const DEPLOYMENT_FAILED: &str = "DeploymentFailed";
pub const SERVICE_FAILED: &str = "ServiceFailed";
pub const VALIDATION_FAILED: &str = "ValidationFailed";
/// How often a registry whose pods are not ready yet is looked at again.
pub const PENDING_RECHECK: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Pending,
    Ready,
    Failed,
    Terminating,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "Pending",
            Phase::Ready => "Ready",
            Phase::Failed => "Failed",
            Phase::Terminating => "Terminating",
        }
    }
}

/// Its children, so that a change to one re-reconciles the registry.
impl Cached for MCPRegistry {
    fn references(&self, _kind: Kind) -> Vec<Target> {
        let name = self.name_any();
        vec![
            Target::new(Kind::ChildConfigMap, &config_map_name(&name)),
            Target::new(Kind::ServiceAccount, &rbac_name(&name)),
            Target::new(Kind::Role, &rbac_name(&name)),
            Target::new(Kind::RoleBinding, &rbac_name(&name)),
            Target::new(Kind::Deployment, &api_name(&name)),
            Target::new(Kind::Service, &api_name(&name)),
        ]
    }
}

/// A failed step: the reason and the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub reason: &'static str,
    pub message: String,
}

/// The rendered children with the failure reason each one maps to, in apply order.
pub fn render_children(registry: &MCPRegistry, config: &super::Config) -> Result<Vec<(&'static str, Child)>, Failure> {
    let namespace = registry.namespace().unwrap_or_default();
    let name = registry.name_any();
    let inputs = Inputs {
        registry,
        namespace: &namespace,
        name: &name,
        owner: owner_reference(registry),
        image: &config.registry_api_image,
        pgpass_image: &config.pgpass_init_image,
    };
    let deployment = render::deployment(&inputs).map_err(|message| Failure { reason: DEPLOYMENT_FAILED, message })?;
    let [account, role, binding] = render::rbac(&inputs);
    Ok(vec![
        (CONFIG_MAP_FAILED, render::config_map(&inputs)),
        (RBAC_FAILED, account),
        (RBAC_FAILED, role),
        (RBAC_FAILED, binding),
        (DEPLOYMENT_FAILED, deployment),
        (SERVICE_FAILED, render::service(&inputs)),
    ])
}

/// The admission engine's denials, as the `ValidationFailed` message.
pub fn validation(registry: &MCPRegistry, policy: &admission::RemoteUrlPolicy) -> Option<Failure> {
    let namespace = registry.namespace().unwrap_or_default();
    let name = registry.name_any();
    let ctx = admission::Context {
        operation: Operation::Update,
        namespace: &namespace,
        name: &name,
        policy,
        cluster: &NoCluster,
        annotations: Some(registry.annotations()),
        raw: None,
    };
    let findings = run_checks(registry, &ctx);
    findings.has_denials().then(|| Failure {
        reason: VALIDATION_FAILED,
        message: events::truncate(findings.denials().map(ToString::to_string).collect::<Vec<_>>().join("; "), 4096),
    })
}

pub async fn reconcile(registry: Arc<MCPRegistry>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = children::namespace_of(registry.as_ref())?;
    let api: Api<MCPRegistry> = Api::namespaced(ctx.client.clone(), &namespace);
    let action = finalizer(&api, FINALIZER, registry, |event| async {
        match event {
            Finalizer::Apply(registry) => apply(&registry, &ctx).await,
            Finalizer::Cleanup(registry) => cleanup(&registry, &ctx).await,
        }
    })
    .await?;
    Ok(action)
}

async fn apply(registry: &MCPRegistry, ctx: &Context) -> Result<Action, Error> {
    let namespace = children::namespace_of(registry)?;
    let status = registry.status.as_ref();
    if status.and_then(|s| s.observed_generation) != registry.metadata.generation {
        events::publish(ctx, &registry.object_ref(&()), Reason::Deprecated, REGISTRY_DEPRECATION).await;
    }
    let failure = match validation(registry, &ctx.config.policy) {
        Some(failure) => Some(failure),
        None => match render_children(registry, &ctx.config) {
            Ok(children) => apply_children(registry, &namespace, &children, ctx).await?,
            Err(failure) => Some(failure),
        },
    };
    let ready_replicas = ctx
        .caches
        .deployments
        .get(&namespace, &api_name(&registry.name_any()))
        .and_then(|d| d.object()?.status?.ready_replicas)
        .unwrap_or(0);
    let (phase, condition) = match &failure {
        Some(f) => (Phase::Failed, Desired::falsity(READY, f.reason, f.message.clone())),
        None if ready_replicas > 0 => {
            (Phase::Ready, Desired::truth(READY, REASON_READY, format!("{ready_replicas} registry API pods are ready")))
        }
        None => (Phase::Pending, Desired::falsity(READY, NOT_READY, "waiting for a registry API pod to be ready")),
    };
    let url = (phase == Phase::Ready)
        .then(|| format!("http://{}.{namespace}:{}", api_name(&registry.name_any()), render::PORT));
    let desired = desired_status(registry, phase, &condition, url, ready_replicas, &ctx.now());
    write_status(registry, &desired, ctx).await?;
    Ok(match phase {
        Phase::Pending => Action::requeue(PENDING_RECHECK),
        _ => Action::await_change(),
    })
}

pub fn desired_status(
    registry: &MCPRegistry,
    phase: Phase,
    condition: &Desired,
    url: Option<String>,
    ready_replicas: i32,
    now: &str,
) -> MCPRegistryStatus {
    let generation = registry.metadata.generation;
    let previous = registry.status.as_ref().and_then(|s| s.conditions.as_deref()).unwrap_or_default();
    MCPRegistryStatus {
        conditions: Some(merge_conditions(previous, std::slice::from_ref(condition), generation, now)),
        message: Some(condition.message.clone()),
        observed_generation: generation,
        phase: Some(phase.as_str().to_string()),
        ready_replicas: Some(ready_replicas),
        url,
    }
}

async fn write_status(registry: &MCPRegistry, desired: &MCPRegistryStatus, ctx: &Context) -> Result<(), Error> {
    if registry.status.as_ref() == Some(desired) {
        return Ok(());
    }
    let namespace = children::namespace_of(registry)?;
    let api: Api<MCPRegistry> = Api::namespaced(ctx.client.clone(), &namespace);
    let body = status_patch(&MCPRegistry::api_version(&()), &MCPRegistry::kind(&()), desired)?;
    api.patch_status(&registry.name_any(), &apply_params(), &Patch::Apply(&body)).await?;
    let before = registry.status.as_ref().and_then(|s| s.phase.as_deref());
    if before != desired.phase.as_deref() {
        let regarding = registry.object_ref(&());
        let message = desired.message.clone().unwrap_or_default();
        match desired.phase.as_deref() {
            Some("Ready") => events::publish(ctx, &regarding, Reason::WorkloadReady, message).await,
            Some("Failed") => events::publish(ctx, &regarding, Reason::WorkloadFailed, message).await,
            _ => {}
        }
    }
    Ok(())
}

async fn apply_children(
    registry: &MCPRegistry,
    namespace: &str,
    list: &[(&'static str, Child)],
    ctx: &Context,
) -> Result<Option<Failure>, Error> {
    let uid = registry.metadata.uid.clone().unwrap_or_default();
    let items = list.iter().map(|(_, child)| (child, child.stamped(), live_child(&ctx.caches, child, namespace)));
    let outcome = apply_all(items, namespace, &uid, Some(1), ctx).await;
    announce_created(&registry.object_ref(&()), &outcome.created, ctx).await;
    outcome.result?;
    Ok(outcome.problem.zip(outcome.problem_index).map(|(message, i)| Failure { reason: list[i].0, message }))
}

fn live_child(caches: &Caches, child: &Child, namespace: &str) -> Option<Value> {
    match child.kind {
        "ConfigMap" => live_json(caches.child_config_maps.get(namespace, &child.name)),
        "ServiceAccount" => live_json(caches.service_accounts.get(namespace, &child.name)),
        "Role" => live_json(caches.roles.get(namespace, &child.name)),
        "RoleBinding" => live_json(caches.role_bindings.get(namespace, &child.name)),
        "Deployment" => live_json(caches.deployments.get(namespace, &child.name)),
        _ => live_json(caches.services.get(namespace, &child.name)),
    }
}

/// Being deleted: report `Terminating` (best effort) and let the finalizer go; the children
/// are garbage-collected. The spec is not looked at.
async fn cleanup(registry: &MCPRegistry, ctx: &Context) -> Result<Action, Error> {
    let phase = registry.status.as_ref().and_then(|s| s.phase.as_deref());
    if phase != Some(Phase::Terminating.as_str()) {
        let condition = Desired::falsity(READY, NOT_READY, "the registry is being deleted");
        let ready = registry.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0);
        let desired = desired_status(registry, Phase::Terminating, &condition, None, ready, &ctx.now());
        if let Err(err) = write_status(registry, &desired, ctx).await {
            tracing::warn!(name = registry.name_any(), error = %err, "cannot report Terminating; deleting anyway");
        }
    }
    Ok(Action::await_change())
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
