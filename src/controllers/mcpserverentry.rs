//! The MCPServerEntry controller: creates nothing; evaluates every check in one pass and reports
//! each as a condition, with the phase summarising them.
//!
//! Inputs come from the caches only: the group (exists, being deleted, ready), the auth config
//! (exists), the CA ConfigMap and header Secrets (exist, have the key; key names only, never
//! values). The spec rules are the admission engine's, so a condition says exactly what the
//! webhook would have said.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};

use super::cache::{Cached, Caches, Readable};
use super::conditions::{Desired, merge_conditions};
use super::context::Context;
use super::error::Error;
use super::events::{self, Reason};
use super::index::Target;
use super::keys::{ConfigMapKeys, SecretKeys};
use super::kinds::Kind;
use super::status::apply_status;
use crate::admission::mcpserverentry::DEFAULT_CA_KEY;
use crate::admission::{self, Findings, NoCluster, Operation, RemoteUrlPolicy, engine::run_checks};
use crate::api::v1beta1::{MCPServerEntry, MCPServerEntryStatus};

pub const REMOTE_URL_VALIDATED: &str = "RemoteURLValidated";
pub const GROUP_REF_VALIDATED: &str = "GroupRefValidated";
pub const EXTERNAL_AUTH_CONFIG_VALIDATED: &str = "ExternalAuthConfigValidated";
pub const CA_BUNDLE_REF_VALIDATED: &str = "CABundleRefValidated";
pub const HEADER_SECRET_REFS_VALIDATED: &str = "HeaderSecretRefsValidated";
pub const VALID: &str = "Valid";

pub const REMOTE_URL_VALID: &str = "RemoteURLValid";
pub const REMOTE_URL_INVALID: &str = "RemoteURLInvalid";
pub const GROUP_REF_IS_VALID: &str = "GroupRefIsValid";
pub const GROUP_REF_NOT_FOUND: &str = "GroupRefNotFound";
pub const GROUP_REF_NOT_READY: &str = "GroupRefNotReady";
pub const AUTH_CONFIG_VALID: &str = "AuthConfigValid";
pub const AUTH_CONFIG_NOT_CONFIGURED: &str = "AuthConfigNotConfigured";
pub const AUTH_CONFIG_NOT_FOUND: &str = "AuthConfigNotFound";
pub const CA_BUNDLE_REF_VALID: &str = "CABundleRefValid";
pub const CA_BUNDLE_REF_NOT_CONFIGURED: &str = "CABundleRefNotConfigured";
pub const CA_BUNDLE_REF_OPTIONAL_MISSING: &str = "CABundleRefOptionalMissing";
pub const CA_BUNDLE_REF_NOT_FOUND: &str = "CABundleRefNotFound";
pub const CA_BUNDLE_KEY_NOT_FOUND: &str = "CABundleKeyNotFound";
pub const HEADER_SECRETS_VALID: &str = "HeaderSecretsValid";
pub const HEADER_SECRET_NOT_FOUND: &str = "HeaderSecretNotFound";
pub const CONFIG_VALID: &str = "ConfigValid";
pub const CONFIG_INVALID: &str = "ConfigInvalid";

/// The message of `GroupRefNotFound` while the group has a deletion timestamp.
pub const GROUP_DELETING_MESSAGE: &str = "Referenced MCPGroup is being deleted";

/// Longest condition message built from findings (the API allows 32 KiB).
const MAX_MESSAGE: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Valid,
    Pending,
    Failed,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Valid => "Valid",
            Phase::Pending => "Pending",
            Phase::Failed => "Failed",
        }
    }
}

/// What the caches know of the group an entry names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupLookup {
    Missing,
    Deleting,
    NotReady { phase: Option<String> },
    Ready,
}

/// The cluster as an entry's checks see it.
pub trait EntryWorld {
    fn group(&self, namespace: &str, name: &str) -> GroupLookup;
    fn auth_config_exists(&self, namespace: &str, name: &str) -> bool;
    fn config_map(&self, namespace: &str, name: &str) -> Option<Arc<ConfigMapKeys>>;
    fn secret(&self, namespace: &str, name: &str) -> Option<Arc<SecretKeys>>;
}

impl EntryWorld for Caches {
    fn group(&self, namespace: &str, name: &str) -> GroupLookup {
        let Some(group) = self.groups.get(namespace, name) else { return GroupLookup::Missing };
        if group.meta().deletion_timestamp.is_some() {
            return GroupLookup::Deleting;
        }
        match group.status.as_ref().and_then(|s| s.phase.as_deref()) {
            Some("Ready") => GroupLookup::Ready,
            phase => GroupLookup::NotReady { phase: phase.map(str::to_string) },
        }
    }
    fn auth_config_exists(&self, namespace: &str, name: &str) -> bool {
        self.foreign_object(Kind::MCPExternalAuthConfig, namespace, name).is_some()
    }
    fn config_map(&self, namespace: &str, name: &str) -> Option<Arc<ConfigMapKeys>> {
        self.config_maps.get(namespace, name)
    }
    fn secret(&self, namespace: &str, name: &str) -> Option<Arc<SecretKeys>> {
        self.secrets.get(namespace, name)
    }
}

/// The result of one evaluation: every condition, and the phase they add up to.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    pub conditions: Vec<Desired>,
    pub phase: Phase,
}

/// Evaluates every check of `entry` (no short-circuit).
pub fn evaluate(entry: &MCPServerEntry, world: &dyn EntryWorld, policy: &RemoteUrlPolicy) -> Evaluation {
    let namespace = entry.namespace().unwrap_or_default();
    let findings = spec_findings(entry, &namespace, policy);
    let mut conditions = vec![
        remote_url(&findings),
        group_ref(entry, &namespace, world),
        external_auth(entry, &namespace, world),
        ca_bundle(entry, &namespace, world),
    ];
    conditions.extend(header_secrets(entry, &namespace, world));
    conditions.push(spec_validity(&findings));
    let phase = phase_of(&conditions);
    Evaluation { conditions, phase }
}

fn phase_of(conditions: &[Desired]) -> Phase {
    let mut failed = conditions.iter().filter(|c| !c.status);
    match (failed.next(), failed.next()) {
        (None, _) => Phase::Valid,
        (Some(only), None) if only.type_ == GROUP_REF_VALIDATED && only.reason == GROUP_REF_NOT_READY => Phase::Pending,
        _ => Phase::Failed,
    }
}

/// The admission engine's findings on the stored object (no cluster view: referential checks
/// are this controller's own conditions).
fn spec_findings(entry: &MCPServerEntry, namespace: &str, policy: &RemoteUrlPolicy) -> Findings {
    let name = entry.name_any();
    let ctx = admission::Context {
        operation: Operation::Update,
        namespace,
        name: &name,
        policy,
        cluster: &NoCluster,
        annotations: Some(entry.annotations()),
        raw: None,
    };
    run_checks(entry, &ctx)
}

fn joined<'a>(findings: impl Iterator<Item = &'a admission::Finding>) -> String {
    let text = findings.map(ToString::to_string).collect::<Vec<_>>().join("; ");
    events::truncate(text, MAX_MESSAGE)
}

fn remote_url(findings: &Findings) -> Desired {
    let is_url = |f: &&admission::Finding| f.rule.starts_with("entry.url");
    if findings.denials().any(|f| is_url(&f)) {
        Desired::falsity(REMOTE_URL_VALIDATED, REMOTE_URL_INVALID, joined(findings.denials().filter(is_url)))
    } else {
        Desired::truth(REMOTE_URL_VALIDATED, REMOTE_URL_VALID, "the remote URL is allowed by the policy")
    }
}

fn spec_validity(findings: &Findings) -> Desired {
    if findings.has_denials() {
        Desired::falsity(VALID, CONFIG_INVALID, joined(findings.denials()))
    } else {
        Desired::truth(VALID, CONFIG_VALID, "the spec passes every admission rule")
    }
}

fn group_ref(entry: &MCPServerEntry, namespace: &str, world: &dyn EntryWorld) -> Desired {
    let Some(name) = entry.spec.group_ref.as_ref().map(|g| g.name.as_str()).filter(|n| !n.is_empty()) else {
        return Desired::falsity(GROUP_REF_VALIDATED, GROUP_REF_NOT_FOUND, "spec.groupRef names no MCPGroup");
    };
    match world.group(namespace, name) {
        GroupLookup::Ready => {
            Desired::truth(GROUP_REF_VALIDATED, GROUP_REF_IS_VALID, format!("MCPGroup {name:?} is ready"))
        }
        GroupLookup::Missing => Desired::falsity(
            GROUP_REF_VALIDATED,
            GROUP_REF_NOT_FOUND,
            format!("MCPGroup {name:?} not found in namespace {namespace:?}"),
        ),
        GroupLookup::Deleting => Desired::falsity(GROUP_REF_VALIDATED, GROUP_REF_NOT_FOUND, GROUP_DELETING_MESSAGE),
        GroupLookup::NotReady { phase } => Desired::falsity(
            GROUP_REF_VALIDATED,
            GROUP_REF_NOT_READY,
            format!("MCPGroup {name:?} is not ready (phase {})", phase.as_deref().unwrap_or("unset")),
        ),
    }
}

fn external_auth(entry: &MCPServerEntry, namespace: &str, world: &dyn EntryWorld) -> Desired {
    let Some(name) = entry.spec.external_auth_config_ref.as_ref().map(|r| r.name.as_str()) else {
        return Desired::truth(
            EXTERNAL_AUTH_CONFIG_VALIDATED,
            AUTH_CONFIG_NOT_CONFIGURED,
            "no externalAuthConfigRef is set",
        );
    };
    if world.auth_config_exists(namespace, name) {
        Desired::truth(
            EXTERNAL_AUTH_CONFIG_VALIDATED,
            AUTH_CONFIG_VALID,
            format!("MCPExternalAuthConfig {name:?} found"),
        )
    } else {
        Desired::falsity(
            EXTERNAL_AUTH_CONFIG_VALIDATED,
            AUTH_CONFIG_NOT_FOUND,
            format!("MCPExternalAuthConfig {name:?} not found in namespace {namespace:?}"),
        )
    }
}

fn ca_bundle(entry: &MCPServerEntry, namespace: &str, world: &dyn EntryWorld) -> Desired {
    let Some(cm) = entry.spec.ca_bundle_ref.as_ref().and_then(|ca| ca.config_map_ref.as_ref()) else {
        return Desired::truth(CA_BUNDLE_REF_VALIDATED, CA_BUNDLE_REF_NOT_CONFIGURED, "no caBundleRef is set");
    };
    let key = cm.key.as_deref().filter(|k| !k.is_empty()).unwrap_or(DEFAULT_CA_KEY);
    let Some(name) = cm.name.as_deref().filter(|n| !n.is_empty()) else {
        return Desired::falsity(CA_BUNDLE_REF_VALIDATED, CA_BUNDLE_REF_NOT_FOUND, "caBundleRef names no ConfigMap");
    };
    match world.config_map(namespace, name) {
        Some(found) if found.has_key(key) => Desired::truth(
            CA_BUNDLE_REF_VALIDATED,
            CA_BUNDLE_REF_VALID,
            format!("ConfigMap {name:?} holds key {key:?}"),
        ),
        Some(_) => Desired::falsity(
            CA_BUNDLE_REF_VALIDATED,
            CA_BUNDLE_KEY_NOT_FOUND,
            format!("ConfigMap {name:?} has no key {key:?}"),
        ),
        None if cm.optional == Some(true) => Desired::truth(
            CA_BUNDLE_REF_VALIDATED,
            CA_BUNDLE_REF_OPTIONAL_MISSING,
            format!("optional ConfigMap {name:?} not found; the system trust roots apply"),
        ),
        None => Desired::falsity(
            CA_BUNDLE_REF_VALIDATED,
            CA_BUNDLE_REF_NOT_FOUND,
            format!("ConfigMap {name:?} not found in namespace {namespace:?}"),
        ),
    }
}

/// `HeaderSecretRefsValidated`, only when some header's value comes from a Secret.
fn header_secrets(entry: &MCPServerEntry, namespace: &str, world: &dyn EntryWorld) -> Option<Desired> {
    let headers = entry.spec.header_forward.as_ref()?.add_headers_from_secret.as_deref().filter(|h| !h.is_empty())?;
    let mut missing = BTreeSet::new();
    let refs: Vec<_> = headers.iter().filter_map(|h| h.value_secret_ref.as_ref()).collect();
    for secret_ref in &refs {
        match world.secret(namespace, &secret_ref.name) {
            None => missing.insert(format!("Secret {:?} (not found)", secret_ref.name)),
            Some(secret) if !secret.has_key(&secret_ref.key) => {
                missing.insert(format!("key {:?} of Secret {:?}", secret_ref.key, secret_ref.name))
            }
            Some(_) => false,
        };
    }
    Some(if missing.is_empty() {
        let n = refs.len();
        let noun = if n == 1 { "reference" } else { "references" };
        Desired::truth(HEADER_SECRET_REFS_VALIDATED, HEADER_SECRETS_VALID, format!("{n} header Secret {noun} found"))
    } else {
        let list = missing.into_iter().collect::<Vec<_>>().join(", ");
        Desired::falsity(HEADER_SECRET_REFS_VALIDATED, HEADER_SECRET_NOT_FOUND, format!("missing: {list}"))
    })
}

/// The status the controller owns for `entry` after `evaluation`.
pub fn desired_status(entry: &MCPServerEntry, evaluation: &Evaluation, now: &str) -> MCPServerEntryStatus {
    let generation = entry.metadata.generation;
    let previous = entry.status.as_ref().and_then(|s| s.conditions.as_deref()).unwrap_or_default();
    MCPServerEntryStatus {
        conditions: Some(merge_conditions(previous, &evaluation.conditions, generation, now)),
        observed_generation: generation,
        phase: Some(evaluation.phase.as_str().into()),
    }
}

/// The objects an entry references; changes to them re-reconcile it.
impl Cached for MCPServerEntry {
    fn references(&self, _kind: Kind) -> Vec<Target> {
        let spec = &self.spec;
        let mut targets = Vec::new();
        let mut add = |kind, name: Option<&str>| {
            if let Some(name) = name.filter(|n| !n.is_empty()) {
                targets.push(Target::new(kind, name));
            }
        };
        add(Kind::MCPGroup, spec.group_ref.as_ref().map(|g| g.name.as_str()));
        add(Kind::MCPExternalAuthConfig, spec.external_auth_config_ref.as_ref().map(|r| r.name.as_str()));
        add(Kind::ConfigMap, spec.ca_bundle_ref.as_ref().and_then(|c| c.config_map_ref.as_ref()?.name.as_deref()));
        let headers =
            spec.header_forward.as_ref().and_then(|h| h.add_headers_from_secret.as_deref()).unwrap_or_default();
        for header in headers {
            add(Kind::Secret, header.value_secret_ref.as_ref().map(|r| r.name.as_str()));
        }
        targets
    }
}

pub async fn reconcile(entry: Arc<MCPServerEntry>, ctx: Arc<Context>) -> Result<Action, Error> {
    if entry.spec.external_auth_config_ref.is_some()
        && let Readable::Syncing { retry_in } = ctx.caches.readable(Kind::MCPExternalAuthConfig)
    {
        // The kind was just discovered; "not found" now would only flash a false failure.
        return Ok(Action::requeue(retry_in));
    }
    if let Some(wait) = awaiting_new_group(&entry, &ctx) {
        return Ok(Action::requeue(wait));
    }
    sync_status(&entry, &ctx).await?;
    Ok(Action::await_change())
}

/// How long an entry created just now waits for its group to show up in the cache: applied
/// together, the group may arrive a moment later, and a `Failed` flash helps nobody.
pub const NEW_GROUP_GRACE: Duration = Duration::from_secs(5);

fn awaiting_new_group(entry: &MCPServerEntry, ctx: &Context) -> Option<Duration> {
    let group = entry.spec.group_ref.as_ref()?;
    let created = entry.metadata.creation_timestamp.as_ref()?.0;
    if entry.status.is_some() || ctx.caches.group(&entry.namespace()?, &group.name) != GroupLookup::Missing {
        return None;
    }
    let age = Duration::try_from(ctx.clock.now().duration_since(created)).unwrap_or_default();
    NEW_GROUP_GRACE.checked_sub(age).filter(|wait| !wait.is_zero())
}

/// Evaluates `entry` and writes its status if it changed; returns whether it wrote.
pub async fn sync_status(entry: &MCPServerEntry, ctx: &Context) -> Result<bool, Error> {
    let evaluation = evaluate(entry, ctx.caches.as_ref(), &ctx.config.policy);
    let status = desired_status(entry, &evaluation, &ctx.now());
    if entry.status.as_ref() == Some(&status) {
        return Ok(false);
    }
    apply_status(&ctx.client, entry, &status).await?;
    let before = entry.status.as_ref().and_then(|s| s.phase.as_deref());
    if before != Some(evaluation.phase.as_str()) {
        announce(entry, &evaluation, ctx).await;
    }
    Ok(true)
}

async fn announce(entry: &MCPServerEntry, evaluation: &Evaluation, ctx: &Context) {
    let regarding = entry.object_ref(&());
    match evaluation.phase {
        Phase::Valid => events::publish(ctx, &regarding, Reason::EntryValidated, "every check passed").await,
        Phase::Failed => {
            let failed: Vec<String> = evaluation
                .conditions
                .iter()
                .filter(|c| !c.status)
                .map(|c| format!("{}: {}", c.reason, c.message))
                .collect();
            events::publish(ctx, &regarding, Reason::EntryInvalid, failed.join("; ")).await
        }
        Phase::Pending => {}
    }
}

#[cfg(test)]
#[path = "mcpserverentry_tests.rs"]
mod tests;
