//! The VirtualMCPServer controller: runs the `vmcp` runtime for a group and reports on it.
//!
//! Each reconcile evaluates the spec (the admission engine's rules), the group, the auth and
//! config references and the pod template in one pass; when nothing blocks it, it renders the
//! children (ServiceAccount, Role and RoleBinding `<name>-vmcp`, the HMAC Secret, the ConfigMap
//! with `config.yaml`, the Deployment and the Service) and applies those whose rendering or
//! owned fields changed (see `children`). Then it writes the status, only when it changed.
//! Everything is read from the caches, except the content of an authorization ConfigMap.

pub mod backends;
pub mod render;
pub mod resolve;
pub mod status;

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Patch, PostParams};
use kube::runtime::controller::Action;
use kube::{Api, Resource, ResourceExt};
use serde_json::{Value, json};

use self::backends::{Backend, discovered, entry_ca_bundles, entry_header_env, ready_count};
use self::render::{Inputs, config_map_name, hmac_secret_name, label_pairs, rbac_name, selector_labels, service_name};
use self::resolve::{AuthzConfigMap, Resolved, SecretEnv};
use self::status::*;
use super::cache::{Cached, Caches, Readable, prune_labels_and_annotations};
use super::children::{self, CONTENT_CHECKSUM, Child, Fit, live_json, owner_reference, sha256_hex};
use super::conditions::Desired;
use super::context::Context;
use super::error::Error;
use super::events::{self, Reason};
use super::index::Target;
use super::kinds::Kind;
use super::mcpserverentry::{EntryWorld, GroupLookup};
use super::status::{apply_params, status_patch};
use crate::admission::{self, NoCluster, Operation, engine::run_checks};
use crate::api::v1beta1::VirtualMCPServer;
use crate::api::v1beta1::virtualmcpserver::SESSION_REDIS;

pub const HMAC_KEY: &str = "hmac-secret";
pub const HMAC_BYTES: usize = 32;
pub const HMAC_ENV: &str = "VMCP_SESSION_HMAC_SECRET";
pub const REDIS_PASSWORD_ENV: &str = "THV_SESSION_REDIS_PASSWORD";
/// Longest condition message built from findings.
const MAX_MESSAGE: usize = 4096;

/// The children this VirtualMCPServer names, so a change to one re-reconciles it; with the group,
/// the referenced configs and the authorization ConfigMap and Secrets.
impl Cached for VirtualMCPServer {
    fn references(&self, _kind: Kind) -> Vec<Target> {
        let name = self.name_any();
        let spec = &self.spec;
        let mut targets = vec![
            Target::new(Kind::Deployment, &name),
            Target::new(Kind::Service, &service_name(&name)),
            Target::new(Kind::ChildConfigMap, &config_map_name(&name)),
            Target::new(Kind::Secret, &hmac_secret_name(&name)),
        ];
        if spec.service_account.as_deref().is_none_or(str::is_empty) {
            for kind in [Kind::ServiceAccount, Kind::Role, Kind::RoleBinding] {
                targets.push(Target::new(kind, &rbac_name(&name)));
            }
        }
        let mut add = |kind, name: Option<&str>| {
            if let Some(name) = name.filter(|n| !n.is_empty()) {
                targets.push(Target::new(kind, name));
            }
        };
        add(Kind::MCPGroup, spec.group_ref.as_ref().map(|g| g.name.as_str()));
        if let Some(auth) = spec.incoming_auth.as_ref() {
            add(Kind::MCPOIDCConfig, auth.oidc_config_ref.as_ref().and_then(|r| r.name.as_deref()));
            add(Kind::MCPAuthzConfig, auth.authz_config_ref.as_ref().and_then(|r| r.name.as_deref()));
            add(Kind::ConfigMap, auth.authz_config.as_ref().and_then(|a| a.config_map.as_ref()?.name.as_deref()));
        }
        add(Kind::MCPTelemetryConfig, spec.telemetry_config_ref.as_ref().and_then(|r| r.name.as_deref()));
        if let Some(outgoing) = spec.outgoing_auth.as_ref() {
            for backend in outgoing.default.iter().chain(outgoing.backends.iter().flat_map(|b| b.values())) {
                add(Kind::MCPExternalAuthConfig, backend.external_auth_config_ref.as_ref().map(|r| r.name.as_str()));
            }
        }
        add(Kind::Secret, spec.session_storage.as_ref().and_then(|s| s.password_ref.as_ref()).map(|p| p.name.as_str()));
        if let Some(config) = spec.config.as_ref() {
            for reference in config.composite_tool_refs.iter().flatten() {
                add(Kind::VirtualMCPCompositeToolDefinition, reference.name.as_deref());
            }
            let tools = config.aggregation.as_ref().and_then(|a| a.tools.as_ref());
            for tool in tools.into_iter().flatten() {
                add(Kind::MCPToolConfig, tool.tool_config_ref.as_ref().and_then(|r| r.name.as_deref()));
            }
        }
        targets
    }

    fn prune(&mut self, _kind: Kind) {
        status::prune_managed_fields(self);
        prune_labels_and_annotations(&mut self.metadata);
    }
}

/// The reconcile's view of one VirtualMCPServer: every check, and the children if they may be
/// applied.
pub struct Plan {
    pub conditions: Vec<Desired>,
    pub children: Option<Children>,
    pub backends: Vec<Backend>,
    pub group: GroupLookup,
    /// The first blocking problem, for `Ready`'s message.
    pub blocked: Option<String>,
}

/// The rendered children, in apply order.
pub struct Children {
    pub rbac: Option<[Child; 3]>,
    pub config_map: Child,
    pub deployment: Child,
    pub service: Child,
}

pub fn url(name: &str, namespace: &str, cluster_domain: &str) -> String {
    format!("http://{}.{namespace}.svc.{cluster_domain}:{}", service_name(name), render::PORT)
}

fn spec_validity(vmcp: &VirtualMCPServer, namespace: &str, policy: &admission::RemoteUrlPolicy) -> Desired {
    let name = vmcp.name_any();
    let ctx = admission::Context {
        operation: Operation::Update,
        namespace,
        name: &name,
        policy,
        cluster: &NoCluster,
        annotations: Some(vmcp.annotations()),
        raw: None,
    };
    let findings = run_checks(vmcp, &ctx);
    if findings.has_denials() {
        let text = findings.denials().map(ToString::to_string).collect::<Vec<_>>().join("; ");
        Desired::falsity(VALID, CONFIG_INVALID, events::truncate(text, MAX_MESSAGE))
    } else {
        Desired::truth(VALID, CONFIG_VALID, "the spec passes every admission rule")
    }
}

fn group_condition(group: &GroupLookup, name: &str, namespace: &str) -> Desired {
    match group {
        GroupLookup::Ready => {
            Desired::truth(GROUP_REF_VALIDATED, GROUP_REF_VALID, format!("MCPGroup {name:?} is ready"))
        }
        GroupLookup::Missing if name.is_empty() => {
            Desired::falsity(GROUP_REF_VALIDATED, GROUP_REF_NOT_FOUND, "spec.groupRef names no MCPGroup")
        }
        GroupLookup::Missing => Desired::falsity(
            GROUP_REF_VALIDATED,
            GROUP_REF_NOT_FOUND,
            format!("MCPGroup {name:?} not found in namespace {namespace:?}"),
        ),
        GroupLookup::Deleting => {
            Desired::falsity(GROUP_REF_VALIDATED, GROUP_REF_NOT_FOUND, super::mcpserverentry::GROUP_DELETING_MESSAGE)
        }
        GroupLookup::NotReady { phase } => Desired::falsity(
            GROUP_REF_VALIDATED,
            GROUP_REF_NOT_READY,
            format!("MCPGroup {name:?} is not ready (phase {})", phase.as_deref().unwrap_or("unset")),
        ),
    }
}

/// What the HMAC Secret in the cache says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HmacSecret {
    Absent,
    Valid,
    NotOwned,
    Malformed,
}

pub fn hmac_state(caches: &Caches, vmcp: &VirtualMCPServer, namespace: &str) -> HmacSecret {
    let Some(secret) = caches.secrets.get(namespace, &hmac_secret_name(&vmcp.name_any())) else {
        return HmacSecret::Absent;
    };
    let uid = vmcp.metadata.uid.as_deref();
    let ours = secret
        .metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.controller == Some(true) && Some(o.uid.as_str()) == uid);
    if !ours {
        HmacSecret::NotOwned
    } else if secret.size_of(HMAC_KEY).unwrap_or(0) < HMAC_BYTES {
        HmacSecret::Malformed
    } else {
        HmacSecret::Valid
    }
}

fn hmac_condition(state: &HmacSecret, name: &str) -> Desired {
    match state {
        HmacSecret::NotOwned => Desired::falsity(
            HMAC_SECRET_VALIDATED,
            HMAC_SECRET_NOT_OWNED,
            format!(
                "Secret {name:?} exists but is not controlled by this VirtualMCPServer; delete it or rename the server"
            ),
        ),
        HmacSecret::Malformed => Desired::falsity(
            HMAC_SECRET_VALIDATED,
            HMAC_SECRET_MALFORMED,
            format!(
                "Secret {name:?} has no key {HMAC_KEY:?} of at least {HMAC_BYTES} bytes; delete it to have a new one created"
            ),
        ),
        HmacSecret::Absent | HmacSecret::Valid => Desired::truth(
            HMAC_SECRET_VALIDATED,
            HMAC_SECRET_VALID,
            format!("Secret {name:?} holds the session HMAC key"),
        ),
    }
}

/// Evaluates every check and, when nothing blocks, renders the children.
pub fn plan(
    vmcp: &VirtualMCPServer,
    caches: &Caches,
    config: &super::Config,
    authz_cm: &AuthzConfigMap,
    hmac: &HmacSecret,
) -> Plan {
    let namespace = vmcp.namespace().unwrap_or_default();
    let name = vmcp.name_any();
    let group_name = vmcp.spec.group_ref.as_ref().map(|g| g.name.clone()).unwrap_or_default();
    let group =
        if group_name.is_empty() { GroupLookup::Missing } else { EntryWorld::group(caches, &namespace, &group_name) };
    let resolved = resolve::resolve(vmcp, &namespace, caches, authz_cm);
    let (backends, entries) = backends::members(caches, &namespace, &group_name);
    let mut conditions =
        vec![spec_validity(vmcp, &namespace, &config.policy), group_condition(&group, &group_name, &namespace)];
    conditions.push(if resolved.auth_problems.is_empty() {
        Desired::truth(AUTH_CONFIGURED, AUTH_VALID, "incoming and outgoing authentication are resolved")
    } else {
        Desired::falsity(AUTH_CONFIGURED, AUTH_INVALID, resolved.auth_problems.join("; "))
    });
    if resolved.has_config_refs {
        conditions.push(if resolved.ref_problems.is_empty() {
            Desired::truth(CONFIG_REFS_VALIDATED, CONFIG_REFS_VALID, "every referenced config object was found")
        } else {
            Desired::falsity(CONFIG_REFS_VALIDATED, CONFIG_REF_NOT_FOUND, resolved.ref_problems.join("; "))
        });
    }
    conditions.push(hmac_condition(hmac, &hmac_secret_name(&name)));
    let rendered = render_children(vmcp, &namespace, config, &resolved, &entries);
    conditions.push(match &rendered {
        Err(problem) => Desired::falsity(POD_TEMPLATE_SPEC_VALID, POD_TEMPLATE_INVALID, problem.clone()),
        Ok(_) if vmcp.spec.pod_template_spec.is_some() => {
            Desired::truth(POD_TEMPLATE_SPEC_VALID, POD_TEMPLATE_VALID, "spec.podTemplateSpec is merged into the pods")
        }
        Ok(_) => Desired::truth(POD_TEMPLATE_SPEC_VALID, POD_TEMPLATE_VALID, "no spec.podTemplateSpec is set"),
    });
    let group_usable = matches!(group, GroupLookup::Ready | GroupLookup::NotReady { .. });
    let blocked = conditions.iter().find(|c| !c.status && c.reason != GROUP_REF_NOT_READY).map(|c| c.message.clone());
    let children = (blocked.is_none() && group_usable).then(|| rendered.ok()).flatten();
    Plan { conditions, children, backends, group, blocked }
}

fn render_children(
    vmcp: &VirtualMCPServer,
    namespace: &str,
    config: &super::Config,
    resolved: &Resolved,
    entries: &[Arc<crate::api::v1beta1::MCPServerEntry>],
) -> Result<Children, String> {
    let name = vmcp.name_any();
    let owner = owner_reference(vmcp);
    let yaml = render::config::to_yaml(&render::config::render(vmcp, resolved));
    let checksum = sha256_hex(yaml.as_bytes());
    let mut secret_env = resolved.secret_env.clone();
    secret_env.extend(entry_header_env(entries));
    secret_env.push(SecretEnv { env: HMAC_ENV.into(), secret: hmac_secret_name(&name), key: HMAC_KEY.into() });
    let storage = vmcp.spec.session_storage.as_ref().filter(|s| s.provider.as_deref() == Some(SESSION_REDIS));
    if let Some(password) = storage.and_then(|s| s.password_ref.as_ref()) {
        secret_env.push(SecretEnv {
            env: REDIS_PASSWORD_ENV.into(),
            secret: password.name.to_string(),
            key: password.key.to_string(),
        });
    }
    secret_env.sort();
    let mut ca_bundles = resolved.ca_bundles.clone();
    ca_bundles.extend(entry_ca_bundles(entries));
    ca_bundles.sort();
    ca_bundles.dedup_by(|a, b| a.config_map == b.config_map);
    let inputs = Inputs {
        vmcp,
        namespace,
        name: &name,
        owner,
        image: &config.vmcp_image,
        config_checksum: checksum.clone(),
        secret_env,
        ca_bundles,
    };
    let labels = selector_labels(&name);
    let cm_name = config_map_name(&name);
    let config_map = Child {
        kind: "ConfigMap",
        name: cm_name.clone(),
        body: json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": children::metadata(&cm_name, namespace, &label_pairs(&labels), &[(CONTENT_CHECKSUM, &checksum)], &inputs.owner),
            "data": { render::config::CONFIG_KEY: yaml },
        }),
    };
    let deployment = render::deployment::render(&inputs)?;
    let service = render::service::render(&inputs);
    let rbac = vmcp.spec.service_account.as_deref().is_none_or(str::is_empty).then(|| {
        let pull_secrets: Vec<String> = vmcp
            .spec
            .image_pull_secrets
            .iter()
            .flatten()
            .filter_map(|s| s.name.as_deref().filter(|n| !n.is_empty()).map(String::from))
            .collect();
        render::rbac::render(&inputs, &pull_secrets)
    });
    Ok(Children { rbac, config_map, deployment, service })
}

/// The ServiceAccount keeps the pull secrets it has when the spec names none.
fn carry_pull_secrets(children: &mut Children, caches: &Caches, namespace: &str) {
    let Some(rbac) = children.rbac.as_mut() else { return };
    let account = &mut rbac[0];
    if account.body.get("imagePullSecrets").is_some() {
        return;
    }
    let live = caches.service_accounts.get(namespace, &account.name).and_then(|sa| sa.object());
    let names: Vec<Value> =
        live.iter().flat_map(|sa| sa.image_pull_secrets.iter().flatten()).map(|s| json!({ "name": s.name })).collect();
    if !names.is_empty() {
        account.body["imagePullSecrets"] = Value::Array(names);
    }
}

pub async fn reconcile(vmcp: Arc<VirtualMCPServer>, ctx: Arc<Context>) -> Result<Action, Error> {
    if vmcp.metadata.deletion_timestamp.is_some() {
        // Children go with the owner (garbage collection); nothing blocks the deletion.
        return Ok(Action::await_change());
    }
    if let Some(wait) = referenced_kind_syncing(&vmcp, &ctx.caches) {
        return Ok(Action::requeue(wait));
    }
    let namespace = children::namespace_of(vmcp.as_ref())?;
    let authz_cm = authz_config_map(&vmcp, &namespace, &ctx).await?;
    let hmac = hmac_state(&ctx.caches, &vmcp, &namespace);
    let mut plan = plan(&vmcp, &ctx.caches, &ctx.config, &authz_cm, &hmac);
    let mut apply_problem = None;
    if let Some(children) = plan.children.as_mut() {
        let mut created = Vec::new();
        if hmac == HmacSecret::Absent && create_hmac_secret(&vmcp, &namespace, &ctx).await? {
            created.push(format!("Secret {}", hmac_secret_name(&vmcp.name_any())));
        }
        carry_pull_secrets(children, &ctx.caches, &namespace);
        apply_problem = apply_children(&vmcp, &namespace, children, created, &ctx).await?;
    }
    let _ = hmac;
    write_status(&vmcp, &namespace, &plan, apply_problem, &ctx).await?;
    Ok(Action::await_change())
}

/// Waits while a kind the object references was just discovered and is listing.
fn referenced_kind_syncing(vmcp: &VirtualMCPServer, caches: &Caches) -> Option<std::time::Duration> {
    let kinds: std::collections::BTreeSet<Kind> =
        vmcp.references(Kind::VirtualMCPServer).into_iter().map(|t| t.kind).filter(|k| k.is_foreign()).collect();
    kinds.into_iter().find_map(|kind| match caches.readable(kind) {
        Readable::Syncing { retry_in } => Some(retry_in),
        _ => None,
    })
}

/// The authorization ConfigMap's data, read with `get` (the cache keeps key names only).
async fn authz_config_map(vmcp: &VirtualMCPServer, namespace: &str, ctx: &Context) -> Result<AuthzConfigMap, Error> {
    let authz = vmcp.spec.incoming_auth.as_ref().and_then(|a| a.authz_config.as_ref());
    let Some(config) = authz.filter(|a| a.type_.as_deref().unwrap_or("configMap") == "configMap") else {
        return Ok(AuthzConfigMap::NotNeeded);
    };
    let Some(name) = config.config_map.as_ref().and_then(|c| c.name.as_deref()).filter(|n| !n.is_empty()) else {
        return Ok(AuthzConfigMap::Missing);
    };
    if ctx.caches.config_maps.get(namespace, name).is_none() {
        return Ok(AuthzConfigMap::Missing);
    }
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), namespace);
    Ok(match api.get_opt(name).await? {
        Some(cm) => AuthzConfigMap::Found(cm.data.unwrap_or_default()),
        None => AuthzConfigMap::Missing,
    })
}

/// Creates the HMAC Secret once; one that appeared meanwhile is kept (never rotated). Returns
/// whether this call created it.
async fn create_hmac_secret(vmcp: &VirtualMCPServer, namespace: &str, ctx: &Context) -> Result<bool, Error> {
    use base64::Engine;
    use ring::rand::SecureRandom;
    let mut key = [0u8; HMAC_BYTES];
    ring::rand::SystemRandom::new().fill(&mut key).map_err(|_| Error::Random)?;
    let name = hmac_secret_name(&vmcp.name_any());
    let labels = selector_labels(&vmcp.name_any());
    let secret: Secret = serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": children::metadata(&name, namespace, &label_pairs(&labels), &[], &owner_reference(vmcp)),
        "type": "Opaque",
        "data": { HMAC_KEY: base64::engine::general_purpose::STANDARD.encode(key) },
    }))?;
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    match api.create(&PostParams::default(), &secret).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// Applies every child that is absent or stale. A child controlled by another object, or one the
/// API server refuses, becomes the returned problem instead of an error loop.
async fn apply_children(
    vmcp: &VirtualMCPServer,
    namespace: &str,
    children: &Children,
    mut created: Vec<String>,
    ctx: &Context,
) -> Result<Option<String>, Error> {
    let caches = &ctx.caches;
    let mut list: Vec<(&Child, Option<Value>)> = Vec::new();
    if let Some([account, role, binding]) = children.rbac.as_ref() {
        list.push((account, live_json(caches.service_accounts.get(namespace, &account.name))));
        list.push((role, live_json(caches.roles.get(namespace, &role.name))));
        list.push((binding, live_json(caches.role_bindings.get(namespace, &binding.name))));
    }
    let cm = &children.config_map;
    list.push((cm, live_json(caches.child_config_maps.get(namespace, &cm.name))));
    let deployment = &children.deployment;
    list.push((deployment, live_json(caches.deployments.get(namespace, &deployment.name))));
    let service = &children.service;
    list.push((service, live_json(caches.services.get(namespace, &service.name))));
    let uid = vmcp.metadata.uid.clone().unwrap_or_default();
    let items = list.into_iter().map(|(child, live)| (child, child.stamped(), live));
    let outcome = apply_all(items, namespace, &uid, None, ctx).await;
    created.extend(outcome.created);
    announce_created(&vmcp.object_ref(&()), &created, ctx).await;
    outcome.result.map(|()| outcome.problem)
}

/// What applying a list of children did.
pub(crate) struct Applied {
    /// `Kind name` of each child created.
    pub created: Vec<String>,
    /// A child controlled by another object or refused by the API server.
    pub problem: Option<String>,
    /// Which of the children the problem is about.
    pub problem_index: Option<usize>,
    pub result: Result<(), Error>,
}

/// Applies every child (stamped body, live object) that is absent or stale, in order, stopping
/// at the first problem or error.
pub(crate) async fn apply_all<'a>(
    items: impl Iterator<Item = (&'a Child, Value, Option<Value>)>,
    namespace: &str,
    uid: &str,
    create_replicas: Option<i32>,
    ctx: &Context,
) -> Applied {
    let mut applied = Applied { created: Vec::new(), problem: None, problem_index: None, result: Ok(()) };
    for (index, (child, mut body, live)) in items.enumerate() {
        let fit = children::fit(live.as_ref(), &body, uid);
        match &fit {
            Fit::Current => continue,
            Fit::Foreign(problem) => {
                applied.problem = Some(problem.clone());
                applied.problem_index = Some(index);
                return applied;
            }
            // Replicas on create only (an MCPRegistry); afterwards they are not ours, and they
            // stay out of the input hash.
            Fit::Absent if child.kind == "Deployment" && create_replicas.is_some() => {
                body["spec"]["replicas"] = json!(create_replicas);
            }
            Fit::Absent => {}
            Fit::Stale => {
                if let Some(replicas) = children::replicas_to_hand_over(live.as_ref(), &body)
                    && let Err(err) = children::hand_over_replicas(&ctx.client, namespace, &child.name, replicas).await
                {
                    applied.result = Err(err);
                    return applied;
                }
            }
        }
        match apply_child(child.kind, namespace, &child.name, &body, ctx).await {
            Ok(()) => {}
            Err(Error::Kube(kube::Error::Api(status))) if (400..500).contains(&status.code) && status.code != 409 => {
                applied.problem = Some(format!("{} {:?} was refused: {}", child.kind, child.name, status.message));
                applied.problem_index = Some(index);
                return applied;
            }
            Err(err) => {
                applied.result = Err(err);
                return applied;
            }
        }
        if fit == Fit::Absent {
            applied.created.push(format!("{} {}", child.kind, child.name));
        }
    }
    applied
}

/// One event for every child created in a reconcile.
pub(crate) async fn announce_created(
    regarding: &k8s_openapi::api::core::v1::ObjectReference,
    created: &[String],
    ctx: &Context,
) {
    if !created.is_empty() {
        events::publish(ctx, regarding, Reason::Created, format!("created {}", created.join(", "))).await;
    }
}

pub(crate) async fn apply_child(
    kind: &str,
    namespace: &str,
    name: &str,
    body: &Value,
    ctx: &Context,
) -> Result<(), Error> {
    let client = &ctx.client;
    match kind {
        "ServiceAccount" => children::apply::<ServiceAccount>(client, namespace, name, body).await,
        "Role" => children::apply::<Role>(client, namespace, name, body).await,
        "RoleBinding" => children::apply::<RoleBinding>(client, namespace, name, body).await,
        "ConfigMap" => children::apply::<ConfigMap>(client, namespace, name, body).await,
        "Deployment" => children::apply::<Deployment>(client, namespace, name, body).await,
        _ => children::apply::<Service>(client, namespace, name, body).await,
    }
}

async fn write_status(
    vmcp: &VirtualMCPServer,
    namespace: &str,
    plan: &Plan,
    apply_problem: Option<String>,
    ctx: &Context,
) -> Result<(), Error> {
    let name = vmcp.name_any();
    let now = ctx.now();
    let rollout = match plan.children {
        Some(_) => status::rollout(ctx.caches.deployments.get(namespace, &name).and_then(|d| d.object()).as_ref()),
        None => Rollout::Absent,
    };
    let previous = vmcp.status.as_ref().and_then(|s| s.discovered_backends.clone()).unwrap_or_default();
    let runtime = RuntimeOwned::of(vmcp);
    let listed = discovered(&plan.backends, &previous, &now);
    let reported = if runtime.backends { previous.clone() } else { listed.clone() };
    let (phase, ready) = phase_and_ready(plan, apply_problem.as_deref(), &rollout, &reported);
    let mut conditions = plan.conditions.clone();
    conditions.push(backends_condition(plan, &listed));
    conditions.push(ready.clone());
    let parts = Parts {
        conditions,
        phase,
        message: ready.message.clone(),
        url: url(&name, namespace, &ctx.config.cluster_domain),
        backend_count: ready_count(&listed),
        backends: listed,
        now: &now,
    };
    let computed = compute(vmcp, parts);
    if is_current(vmcp, &computed) {
        return Ok(());
    }
    let body = status_patch(
        &<VirtualMCPServer as Resource>::api_version(&()),
        &<VirtualMCPServer as Resource>::kind(&()),
        &apply_body(&computed)?,
    )?;
    let api: Api<VirtualMCPServer> = Api::namespaced(ctx.client.clone(), namespace);
    api.patch_status(&name, &apply_params(), &Patch::Apply(&body)).await?;
    let before = vmcp.status.as_ref().and_then(|s| s.phase.as_deref());
    if before != Some(phase.as_str()) {
        announce(vmcp, phase, &ready.message, ctx).await;
    }
    Ok(())
}

fn backends_condition(plan: &Plan, listed: &[crate::api::v1beta1::virtualmcpserver::DiscoveredBackend]) -> Desired {
    match plan.group {
        GroupLookup::Ready | GroupLookup::NotReady { .. } => {
            let ready = ready_count(listed);
            Desired::truth(
                BACKENDS_DISCOVERED,
                DISCOVERED,
                format!("{} backends in the group, {ready} ready", listed.len()),
            )
        }
        _ => Desired::falsity(BACKENDS_DISCOVERED, NOT_DISCOVERED, "the group cannot be read"),
    }
}

/// The phase and the `Ready` condition: a spec problem always fails, whatever ran before.
pub fn phase_and_ready(
    plan: &Plan,
    apply_problem: Option<&str>,
    rollout: &Rollout,
    backends: &[crate::api::v1beta1::virtualmcpserver::DiscoveredBackend],
) -> (Phase, Desired) {
    let failed = |message: &str| (Phase::Failed, Desired::falsity(READY, DEPLOYMENT_FAILED, message));
    if let Some(problem) = plan.blocked.as_deref().or(apply_problem) {
        return failed(problem);
    }
    if let GroupLookup::NotReady { .. } = plan.group {
        let message = plan.conditions.iter().find(|c| c.type_ == GROUP_REF_VALIDATED).map(|c| c.message.clone());
        return (Phase::Pending, Desired::falsity(READY, DEPLOYMENT_NOT_READY, message.unwrap_or_default()));
    }
    match rollout {
        Rollout::Failed(message) => failed(message),
        Rollout::Absent | Rollout::NoPodReady => {
            (Phase::Pending, Desired::falsity(READY, DEPLOYMENT_NOT_READY, "waiting for a vmcp pod to be ready"))
        }
        Rollout::Ready => {
            let ready = backends.iter().filter(|b| b.status.as_deref() == Some(backends::READY)).count();
            match (ready, backends.len()) {
                (r, n) if r == n => {
                    (Phase::Ready, Desired::truth(READY, DEPLOYMENT_READY, format!("serving {n} backends")))
                }
                (0, n) => (
                    Phase::Degraded,
                    Desired::falsity(READY, BACKENDS_UNAVAILABLE, format!("none of {n} backends is available")),
                ),
                (r, n) => (
                    Phase::Degraded,
                    Desired::falsity(READY, BACKENDS_DEGRADED, format!("{r} of {n} backends are available")),
                ),
            }
        }
    }
}

async fn announce(vmcp: &VirtualMCPServer, phase: Phase, message: &str, ctx: &Context) {
    let regarding = vmcp.object_ref(&());
    match phase {
        Phase::Ready => events::publish(ctx, &regarding, Reason::WorkloadReady, message.to_string()).await,
        Phase::Failed => events::publish(ctx, &regarding, Reason::WorkloadFailed, message.to_string()).await,
        Phase::Pending | Phase::Degraded => {}
    }
}

/// The hash the ConfigMap's checksum annotation and the pod annotation carry, for tests.
pub fn config_checksum(children: &Children) -> Option<String> {
    children.config_map.body["metadata"]["annotations"][CONTENT_CHECKSUM].as_str().map(str::to_string)
}

/// A map of the secret names the pod reads, for tests and diagnostics.
pub fn secret_names(children: &Children) -> BTreeMap<String, String> {
    let env = &children.deployment.body["spec"]["template"]["spec"]["containers"][0]["env"];
    env.as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            Some((e["name"].as_str()?.to_string(), e["valueFrom"]["secretKeyRef"]["name"].as_str()?.to_string()))
        })
        .collect()
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
