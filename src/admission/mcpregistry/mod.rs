//! Admission rules of MCPRegistry (a deprecated kind, still validated in full).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PodSpec, PodTemplateSpec, Volume, VolumeMount};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::engine::{decode_problem, decode_with_path};
use super::finding::{Finding, Findings, Reason};
use super::path::{field, index};
use super::refs::{check_required_key, check_required_name, dns1035_label_problem, dns1123_label_problem};
use super::{Check, Context, Operation};
use crate::api::crd::REGISTRY_DEPRECATION;
use crate::api::v1beta1::{MCPRegistry, MCPRegistrySpec};

mod block_yaml;
mod config;

pub const CONFIG_VOLUME: &str = "registry-server-config";
pub const CONFIG_MOUNT: &str = "/config";
pub const PGPASS_SECRET_VOLUME: &str = "pgpass-secret";
pub const PGPASS_VOLUME: &str = "pgpass";
pub const PGPASS_INIT_CONTAINER: &str = "setup-pgpass";
pub const PGPASS_MOUNT: &str = "/home/appuser/.pgpass";
pub const CONTAINER: &str = "registry-api";
pub const MAX_NAME: usize = 59;

pub const CHECKS: &[Check<MCPRegistry>] = &[
    ("meta.name-length", check_name_length),
    ("registry.deprecated", |_, ctx, out| {
        if matches!(ctx.operation, Operation::Create | Operation::Update) {
            out.warn("registry.deprecated", "", REGISTRY_DEPRECATION);
        }
    }),
    ("registry.config", |r, _, out| config::check_config(&r.spec, out)),
    ("registry.pgpass", |r, _, out| check_pgpass(&r.spec, out)),
    ("registry.pull-secrets", |r, _, out| check_pull_secrets(&r.spec, out)),
    // The pod template is decoded once, for its own check and for the volume checks that read it.
    ("registry.volumes", |r, _, out| check_volumes(&r.spec, out)),
];

/// Characters the API server appends to `generateName`.
const GENERATED_SUFFIX: &str = "xxxxx";

fn check_name_length(registry: &MCPRegistry, ctx: &Context, out: &mut Findings) {
    let prefix = registry.metadata.generate_name.as_deref().filter(|p| ctx.name.is_empty() && !p.is_empty());
    let (path, problem) = match prefix {
        // Only the prefix is known (direct calls, the offline CLI): judge it with a 5-character suffix.
        Some(prefix) => {
            ("metadata.generateName", dns1035_label_problem(&format!("{prefix}{GENERATED_SUFFIX}"), MAX_NAME))
        }
        None => ("metadata.name", dns1035_label_problem(ctx.name, MAX_NAME)),
    };
    let Some(problem) = problem else { return };
    let reason = if ctx.name.is_empty() && prefix.is_none() { Reason::Required } else { Reason::Invalid };
    let what = if prefix.is_some() { "MCPRegistry name generated from generateName" } else { "MCPRegistry name" };
    out.deny(
        "meta.name-length",
        path,
        reason,
        format!("{what} {problem}; the operator creates the Service <name>-api"),
    );
}

fn check_pgpass(spec: &MCPRegistrySpec, out: &mut Findings) {
    let Some(pgpass) = &spec.pgpass_secret_ref else { return };
    let base = "spec.pgpassSecretRef";
    // Presence is this kind's own check (its row says "non-empty"); the format is `ref.name`'s.
    check_required_name("registry.pgpass", "the pgpass Secret name", pgpass.name.as_deref(), &field(base, "name"), out);
    check_required_key("registry.pgpass", "the key of the pgpass file", &pgpass.key, &field(base, "key"), out);
}

fn check_pull_secrets(spec: &MCPRegistrySpec, out: &mut Findings) {
    for (i, secret) in spec.image_pull_secrets.iter().flatten().enumerate() {
        let path = field(&index("spec.imagePullSecrets", i), "name");
        check_required_name("registry.pull-secrets", "the pull secret name", secret.name.as_deref(), &path, out);
    }
}

/// Decodes `value` as `T`, reporting the failing path under `rule`; `None` on failure.
fn decode<T: DeserializeOwned>(
    value: &Value,
    path: &str,
    rule: &'static str,
    what: &str,
    out: &mut Findings,
) -> Option<T> {
    match decode_with_path::<T>(value) {
        Ok(decoded) => Some(decoded),
        Err(err) => {
            let (at, reason, problem) = decode_problem(path, &err);
            out.deny(rule, at, reason, format!("does not decode as a {what}: {problem}"));
            None
        }
    }
}

/// Who declared a volume when it was not the user: the operator.
const OPERATOR: &str = "operator";
const PGPASS_REF: &str = "spec.pgpassSecretRef";
const CONFIG_MOUNT_OWNER: &str = "the operator's config mount";
const PGPASS_MOUNT_OWNER: &str = "the operator's pgpass mount";

/// The pod template must decode (`registry.pod-template`); then the volumes of `spec.volumes`, of the
/// template's pod spec and the operator's own must not collide, and every mount must name one
/// (`registry.volumes`, `registry.reserved`).
fn check_volumes(spec: &MCPRegistrySpec, out: &mut Findings) {
    let pgpass = spec.pgpass_secret_ref.is_some();
    let template = spec.pod_template_spec.as_ref().and_then(|template| {
        let what = "PodTemplateSpec";
        decode::<PodTemplateSpec>(template, "spec.podTemplateSpec", "registry.pod-template", what, out)
    });
    let pod = template.and_then(|template| template.spec);
    let operator_volumes = [CONFIG_VOLUME]
        .into_iter()
        .chain(pgpass.then_some([PGPASS_SECRET_VOLUME, PGPASS_VOLUME]).into_iter().flatten());
    // Volume name → where it is declared.
    let mut declared: BTreeMap<String, String> =
        operator_volumes.map(|n| (n.to_string(), OPERATOR.to_string())).collect();
    for (i, raw) in spec.volumes.iter().flatten().enumerate() {
        check_user_volume(raw, &index("spec.volumes", i), pgpass, &mut declared, out);
    }
    for (i, v) in pod.iter().flat_map(|p| p.volumes.iter().flatten()).enumerate() {
        let path = field(&index("spec.podTemplateSpec.spec.volumes", i), "name");
        check_reserved_volume(&v.name, &path, pgpass, out);
        declared.entry(v.name.clone()).or_insert(path);
    }
    if pgpass {
        for (i, c) in pod.iter().flat_map(|p| p.init_containers.iter().flatten()).enumerate() {
            if c.name == PGPASS_INIT_CONTAINER {
                out.push(
                    Finding::deny(
                        "registry.reserved",
                        field(&index("spec.podTemplateSpec.spec.initContainers", i), "name"),
                        Reason::Forbidden,
                        format!("init container name {PGPASS_INIT_CONTAINER:?} is reserved for the pgpass plumbing"),
                    )
                    .spanning([PGPASS_REF.to_string()]),
                );
            }
        }
    }
    check_mounts(spec, pod.as_ref(), &declared, out);
}

fn check_user_volume(
    raw: &Value,
    path: &str,
    pgpass: bool,
    declared: &mut BTreeMap<String, String>,
    out: &mut Findings,
) {
    let name_path = field(path, "name");
    let Some(volume) = decode::<Volume>(raw, path, "registry.volumes", "Volume", out) else {
        // Its mounts still name a declared volume: one error per mistake.
        if let Some(name) = raw.get("name").and_then(Value::as_str) {
            declared.entry(name.to_string()).or_insert(name_path);
        }
        return;
    };
    if let Some(problem) = dns1123_label_problem(&volume.name) {
        let reason = if volume.name.is_empty() { Reason::Required } else { Reason::Invalid };
        out.deny("registry.volumes", &name_path, reason, format!("volume name {problem}"));
        return;
    }
    check_reserved_volume(&volume.name, &name_path, pgpass, out);
    match declared.get(&volume.name) {
        Some(first) if first != OPERATOR => out.push(
            Finding::deny(
                "registry.volumes",
                &name_path,
                Reason::Duplicate,
                format!("volume {:?} is already declared at {first}", volume.name),
            )
            .spanning([first.clone()]),
        ),
        Some(_) => {}
        None => {
            declared.insert(volume.name, name_path);
        }
    }
}

fn check_reserved_volume(name: &str, path: &str, pgpass: bool, out: &mut Findings) {
    if name == CONFIG_VOLUME {
        out.deny(
            "registry.reserved",
            path,
            Reason::Forbidden,
            format!("volume name {name:?} is reserved (the operator's config volume)"),
        );
    } else if pgpass && (name == PGPASS_SECRET_VOLUME || name == PGPASS_VOLUME) {
        // Reserved only because pgpassSecretRef is set, so ratcheting compares that field too.
        out.push(
            Finding::deny(
                "registry.reserved",
                path,
                Reason::Forbidden,
                format!("volume name {name:?} is reserved (used by the pgpass plumbing)"),
            )
            .spanning([PGPASS_REF.to_string()]),
        );
    }
}

/// `/a//b/./c/` → `/a/b/c`, so that spellings of one path collide.
fn normalize_mount(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty() && *s != ".").collect();
    format!("/{}", segments.join("/"))
}

/// The fields besides the mount path itself that a mount-path collision depends on.
fn owner_fields(owner: &str) -> Vec<String> {
    match owner {
        CONFIG_MOUNT_OWNER => Vec::new(),
        PGPASS_MOUNT_OWNER => vec![PGPASS_REF.to_string()],
        spec_path => vec![spec_path.to_string()],
    }
}

/// Records that the field at `at` mounts `mount_path`, denying a second mount of the same path.
fn claim(paths: &mut BTreeMap<String, String>, mount_path: &str, at: String, out: &mut Findings) {
    let key = normalize_mount(mount_path);
    match paths.get(&key) {
        Some(owner) => out.push(
            Finding::deny(
                "registry.mount-path",
                &at,
                Reason::Duplicate,
                format!("mount path {mount_path:?} is already used by {owner}"),
            )
            .spanning(owner_fields(owner)),
        ),
        None => {
            paths.insert(key, at);
        }
    }
}

fn check_mounts(
    spec: &MCPRegistrySpec,
    pod: Option<&PodSpec>,
    declared: &BTreeMap<String, String>,
    out: &mut Findings,
) {
    let mut paths = BTreeMap::from([(CONFIG_MOUNT.to_string(), CONFIG_MOUNT_OWNER.to_string())]);
    if spec.pgpass_secret_ref.is_some() {
        paths.insert(PGPASS_MOUNT.into(), PGPASS_MOUNT_OWNER.into());
    }
    for (i, raw) in spec.volume_mounts.iter().flatten().enumerate() {
        let path = index("spec.volumeMounts", i);
        let Some(mount) = decode::<VolumeMount>(raw, &path, "registry.volumes", "VolumeMount", out) else { continue };
        check_mount_volume(&mount.name, &field(&path, "name"), declared, out);
        let at = field(&path, "mountPath");
        if mount.mount_path.is_empty() {
            out.deny("registry.volumes", at, Reason::Required, "mountPath is required");
        } else if !mount.mount_path.starts_with('/') {
            out.deny("registry.volumes", at, Reason::Invalid, "mountPath must be an absolute path");
        } else {
            claim(&mut paths, &mount.mount_path, at, out);
        }
    }
    let containers = pod.iter().flat_map(|p| p.containers.iter().enumerate()).filter(|(_, c)| c.name == CONTAINER);
    for (ci, container) in containers {
        let base = field(&index("spec.podTemplateSpec.spec.containers", ci), "volumeMounts");
        for (mi, mount) in container.volume_mounts.iter().flatten().enumerate() {
            claim(&mut paths, &mount.mount_path, field(&index(&base, mi), "mountPath"), out);
        }
    }
}

fn check_mount_volume(name: &str, path: &str, declared: &BTreeMap<String, String>, out: &mut Findings) {
    if name.is_empty() {
        out.deny("registry.volumes", path, Reason::Required, "the volume mount must name a volume");
    } else if !declared.contains_key(name) {
        // Removing the volume (or the pgpass reference that declares it) is a new violation.
        let sources = ["spec.volumes", "spec.podTemplateSpec", PGPASS_REF].map(String::from);
        out.push(
            Finding::deny(
                "registry.volumes",
                path,
                Reason::Invalid,
                format!("volume {name:?} is not declared in spec.volumes or the pod template"),
            )
            .spanning(sources),
        );
    }
}
