//! Admission rules and defaults of VirtualMCPServer.
//!
//! The webhook only ever sees `v1beta1` objects, but an object converted from `v1alpha1` can carry
//! legacy values over unchanged (`incomingAuth.type: local`, an inline `incomingAuth.oidcConfig`,
//! the backend types `pass_through` and `service_account`, a backend's `serviceAccount` object),
//! and the conversion annotation records what else `v1alpha1` said (see [`legacy`]). The rules
//! read those from the typed object where it keeps them and from the raw JSON where it does not,
//! so that they can answer with a migration message instead of a bare schema error.

mod auth;
mod composite;
mod config;
pub mod legacy;

use k8s_openapi::api::core::v1::PodTemplateSpec;

use super::engine::{Defaults, decode_problem, decode_with_path};
use super::finding::{Finding, Findings, Reason};
use super::path::{field, index};
use super::refs::{REF_NAME, check_key, check_name, check_namespace, dns1035_label_problem};
use super::{Check, Context, headers};
use crate::api::v1beta1::common::SecretKeyRef;
use crate::api::v1beta1::virtualmcpserver::SOURCE_DISCOVERED;
use crate::api::v1beta1::{VirtualMCPServer, VirtualMCPServerSpec};

pub use legacy::CONVERSION_ANNOTATION;

/// Longest name that leaves room for the Service `vmcp-<name>` (a 63-character DNS-1035 label).
pub const MAX_NAME: usize = 58;
/// The server container of the pod; template containers with other names become extra containers.
pub const CONTAINER: &str = "vmcp";
pub const DEFAULT_SERVICE_TYPE: &str = "ClusterIP";
pub const DEFAULT_SESSION_AFFINITY: &str = "ClientIP";
pub const DEFAULT_CONFLICT_RESOLUTION: &str = "prefix";

/// The checks of a VirtualMCPServer, in report order.
pub const CHECKS: &[Check<VirtualMCPServer>] = &[
    ("meta.name-length", |_, ctx, out| check_name_length(ctx, out)),
    ("vmcp.group", |s, ctx, out| check_group(&s.spec, ctx, out)),
    ("vmcp.incoming", |s, ctx, out| auth::check_incoming(&s.spec, ctx, out)),
    ("vmcp.outgoing", |s, ctx, out| auth::check_outgoing(&s.spec, ctx, out)),
    ("vmcp.auth-server", |s, ctx, out| auth::check_auth_server_secrets(&s.spec, ctx, out)),
    ("vmcp.legacy", |s, ctx, out| legacy::check_legacy_fields(&s.spec, ctx, out)),
    ("vmcp.aggregation", |s, ctx, out| config::check_aggregation(&s.spec, ctx, out)),
    ("vmcp.composite", |s, ctx, out| composite::check_composite(&s.spec, ctx, out)),
    ("vmcp.operational", |s, _, out| config::check_operational(&s.spec, out)),
    ("vmcp.session-storage", |s, ctx, out| config::check_session_storage(&s.spec, ctx, out)),
    ("vmcp.headers", |s, _, out| check_passthrough_headers(&s.spec, out)),
    ("vmcp.pod-template", |s, _, out| check_pod_template(&s.spec, out)),
    ("vmcp.embedding", |s, ctx, out| config::check_embedding(&s.spec, ctx, out)),
    ("vmcp.refs", |s, ctx, out| check_other_refs(&s.spec, ctx, out)),
];

fn check_name_length(ctx: &Context, out: &mut Findings) {
    // With generateName the API server picks the name after admission; nothing to judge yet.
    if ctx.name.is_empty() {
        return;
    }
    if let Some(problem) = dns1035_label_problem(ctx.name, MAX_NAME) {
        out.deny(
            "meta.name-length",
            "metadata.name",
            Reason::Invalid,
            format!("VirtualMCPServer name {problem}; the operator creates the Service vmcp-<name>"),
        );
    }
}

fn check_group(spec: &VirtualMCPServerSpec, ctx: &Context, out: &mut Findings) {
    let config_group = spec.config.as_ref().and_then(|c| c.group_ref.as_deref()).filter(|g| !g.is_empty());
    let Some(group) = &spec.group_ref else {
        let hint = config_group
            .map(|g| format!("; spec.config.groupRef ({g:?}) is not read in v1beta1, set spec.groupRef.name instead"))
            .unwrap_or_default();
        out.deny(
            "vmcp.group",
            "spec.groupRef",
            Reason::Required,
            format!("every VirtualMCPServer must name its MCPGroup in spec.groupRef{hint}"),
        );
        return;
    };
    check_name(&group.name, "spec.groupRef.name", out);
    check_namespace(group.namespace.as_deref(), "spec.groupRef", "MCPGroup", ctx, out);
    match config_group {
        Some(legacy) if legacy != group.name => out.push(
            Finding::deny(
                "vmcp.group.conflict",
                "spec.config.groupRef",
                Reason::Invalid,
                format!(
                    "names MCPGroup {legacy:?} but spec.groupRef.name names {:?}; remove spec.config.groupRef (spec.groupRef decides)",
                    group.name
                ),
            )
            .spanning(["spec.groupRef.name".to_string()]),
        ),
        Some(_) => out.warn(
            "vmcp.group.legacy",
            "spec.config.groupRef",
            "ignored in v1beta1, where spec.groupRef names the group; it can be removed",
        ),
        None => {}
    }
}

/// Checks a `{name, namespace}` reference at `ref_path` to a `target`; a missing or empty name
/// violates `missing_rule` (the kind's own rule where the spec names one, `ref.name` otherwise).
pub(crate) fn check_reference(
    name: Option<&str>,
    namespace: Option<&str>,
    ref_path: &str,
    target: &str,
    missing_rule: &'static str,
    ctx: &Context,
    out: &mut Findings,
) {
    let name_path = field(ref_path, "name");
    match name {
        None | Some("") => {
            out.push(missing(missing_rule, name_path, ref_path, format!("the {target} name is required")))
        }
        Some(name) => check_name(name, &name_path, out),
    }
    check_namespace(namespace, ref_path, target, ctx, out);
}

/// A value missing at `path` inside the object at `parent`. Ratcheting compares the parent too, so
/// adding the parent without the value is a new violation rather than a pre-existing one.
pub(crate) fn missing(
    rule: &'static str,
    path: impl Into<String>,
    parent: &str,
    message: impl Into<String>,
) -> Finding {
    Finding::deny(rule, path, Reason::Required, message).spanning([parent.to_string()])
}

/// Checks a toolhive Secret key reference at `path`.
pub(crate) fn check_secret_ref(secret: &SecretKeyRef, path: &str, ctx: &Context, out: &mut Findings) {
    check_name(&secret.name, &field(path, "name"), out);
    check_key(&secret.key, &field(path, "key"), out);
    check_namespace(secret.namespace.as_deref(), path, "Secret", ctx, out);
}

/// Whether the object as the request carried it has a value at `path`, for fields the typed model
/// does not hold.
pub(crate) fn raw_has(ctx: &Context, path: &str) -> bool {
    ctx.raw.is_some_and(|raw| raw.has(path))
}

fn check_passthrough_headers(spec: &VirtualMCPServerSpec, out: &mut Findings) {
    let lists = [
        ("spec.passthroughHeaders", spec.passthrough_headers.as_deref()),
        ("spec.config.passthroughHeaders", spec.config.as_ref().and_then(|c| c.passthrough_headers.as_deref())),
    ];
    for (base, list) in lists {
        for (i, name) in list.unwrap_or_default().iter().enumerate() {
            let path = index(base, i);
            if let Some(problem) = headers::name_problem(name) {
                let reason = if name.is_empty() { Reason::Required } else { Reason::Invalid };
                out.deny("vmcp.headers", path, reason, problem);
            } else if headers::is_restricted(name) {
                out.deny(
                    "vmcp.headers",
                    path,
                    Reason::Forbidden,
                    format!("header {name:?} is managed by the proxy and cannot be passed through"),
                );
            } else if headers::is_restricted_passthrough(name) {
                out.deny(
                    "vmcp.headers",
                    path,
                    Reason::Forbidden,
                    format!(
                        "header {name:?} carries the client's credentials and must not reach every backend; configure spec.outgoingAuth instead"
                    ),
                );
            }
        }
    }
}

fn check_pod_template(spec: &VirtualMCPServerSpec, out: &mut Findings) {
    let Some(raw) = &spec.pod_template_spec else { return };
    let base = "spec.podTemplateSpec";
    let template = match decode_with_path::<PodTemplateSpec>(raw) {
        Ok(template) => template,
        Err(err) => {
            // Denied at the template; the message names where in it decoding failed.
            let (at, _, problem) = decode_problem(base, &err);
            let message = format!("does not decode as a PodTemplateSpec: {at}: {problem}");
            out.deny("vmcp.pod-template", base, Reason::Invalid, message);
            return;
        }
    };
    let containers = template.spec.iter().flat_map(|pod| pod.containers.iter().enumerate());
    for (i, container) in containers.filter(|(_, c)| c.name != CONTAINER) {
        let path = field(&index(&field(base, "spec.containers"), i), "name");
        if container.name.is_empty() {
            // Containers are merged by name; a nameless one would only fail the Deployment later.
            let message =
                format!("the container needs a name: {CONTAINER:?} to change the server container, another to add one");
            out.push(missing("vmcp.pod-template", &path, &index(&field(base, "spec.containers"), i), message));
            continue;
        }
        out.warn(
            "vmcp.pod-template.container",
            path,
            format!(
                "container {:?} is added to the pod as an extra container; only a container named {CONTAINER:?} changes the server container",
                container.name
            ),
        );
    }
}

/// References that belong to no particular rule: telemetry, pull secrets, the ServiceAccount.
fn check_other_refs(spec: &VirtualMCPServerSpec, ctx: &Context, out: &mut Findings) {
    if let Some(telemetry) = &spec.telemetry_config_ref {
        let (name, namespace) = (telemetry.name.as_deref(), telemetry.namespace.as_deref());
        check_reference(name, namespace, "spec.telemetryConfigRef", "MCPTelemetryConfig", REF_NAME, ctx, out);
    }
    for (i, secret) in spec.image_pull_secrets.iter().flatten().enumerate() {
        let path = index("spec.imagePullSecrets", i);
        check_reference(secret.name.as_deref(), None, &path, "Secret", REF_NAME, ctx, out);
    }
    if let Some(account) = spec.service_account.as_deref().filter(|a| !a.is_empty()) {
        check_name(account, "spec.serviceAccount", out);
    }
}

/// Mutating defaults: the service type and session affinity, and the conflict resolution and
/// outgoing-auth source where their objects are set. Everything else is filled in by the
/// controller at render time, which keeps the stored object (and GitOps diffs) as written.
pub fn defaults(server: &VirtualMCPServer, out: &mut Defaults) {
    let spec = &server.spec;
    if let Some(aggregation) = spec.config.as_ref().and_then(|c| c.aggregation.as_ref()) {
        out.string(
            aggregation.conflict_resolution.as_deref(),
            "/spec/config/aggregation/conflictResolution",
            DEFAULT_CONFLICT_RESOLUTION,
        );
    }
    if let Some(outgoing) = spec.outgoing_auth.as_ref() {
        out.string(outgoing.source.as_deref(), "/spec/outgoingAuth/source", SOURCE_DISCOVERED);
    }
    out.string(spec.service_type.as_deref(), "/spec/serviceType", DEFAULT_SERVICE_TYPE);
    out.string(spec.session_affinity.as_deref(), "/spec/sessionAffinity", DEFAULT_SESSION_AFFINITY);
}
