//! Admission rules of MCPRegistry (a deprecated kind, still validated in full).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PodTemplateSpec, Volume, VolumeMount};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::finding::{Finding, Findings, Reason};
use super::path::{field, index};
use super::refs::{check_key, check_name, dns1035_label_problem, dns1123_label_problem};
use super::{Check, Operation};
use crate::api::crd::REGISTRY_DEPRECATION;
use crate::api::v1beta1::{MCPRegistry, MCPRegistrySpec};

pub const CONFIG_VOLUME: &str = "registry-server-config";
pub const CONFIG_MOUNT: &str = "/config";
pub const PGPASS_SECRET_VOLUME: &str = "pgpass-secret";
pub const PGPASS_VOLUME: &str = "pgpass";
pub const PGPASS_INIT_CONTAINER: &str = "setup-pgpass";
pub const PGPASS_MOUNT: &str = "/home/appuser/.pgpass";
pub const CONTAINER: &str = "registry-api";
pub const MAX_NAME: usize = 59;

pub const CHECKS: &[Check<MCPRegistry>] = &[
    ("meta.name-length", |_, ctx, out| {
        if let Some(problem) = dns1035_label_problem(ctx.name, MAX_NAME) {
            out.deny(
                "meta.name-length",
                "metadata.name",
                Reason::Invalid,
                format!("MCPRegistry name {problem}; the operator creates the Service <name>-api"),
            );
        }
    }),
    ("registry.deprecated", |_, ctx, out| {
        if matches!(ctx.operation, Operation::Create | Operation::Update) {
            out.warn("registry.deprecated", "", REGISTRY_DEPRECATION);
        }
    }),
    ("registry.config", |r, _, out| check_config(&r.spec, out)),
    ("registry.pgpass", |r, _, out| check_pgpass(&r.spec, out)),
    ("registry.pull-secrets", |r, _, out| check_pull_secrets(&r.spec, out)),
    ("registry.pod-template", |r, _, out| {
        if let Some(template) = &r.spec.pod_template_spec {
            decode::<PodTemplateSpec>(
                template,
                "spec.podTemplateSpec",
                "registry.pod-template",
                "PodTemplateSpec",
                out,
            );
        }
    }),
    ("registry.volumes", |r, _, out| check_volumes(&r.spec, out)),
];

fn check_config(spec: &MCPRegistrySpec, out: &mut Findings) {
    let path = "spec.configYAML";
    let Some(text) = spec.config_yaml.as_deref().filter(|t| !t.trim().is_empty()) else {
        out.deny("registry.config.required", path, Reason::Required, "the registry server's config.yaml is required");
        return;
    };
    let doc: Value = match serde_norway::from_str(text) {
        Ok(doc) => doc,
        Err(err) => {
            let at = err.location().map(|l| format!(" (line {}, column {})", l.line(), l.column())).unwrap_or_default();
            out.warn(
                "registry.config.yaml",
                path,
                format!("does not parse as YAML{at}; the registry server will refuse to start"),
            );
            return;
        }
    };
    let mut found = Vec::new();
    inlined_credentials(&doc, "", &mut found);
    for location in found {
        out.warn(
            "registry.config.credentials",
            path,
            format!("{location} appears to inline a credential; ConfigMaps are not secret, so mount a Secret and reference its file path"),
        );
    }
}

/// Keys whose literal value is a credential (compared lower-case without `-`/`_`).
const CREDENTIAL_KEYS: [&str; 7] =
    ["password", "token", "clientsecret", "secret", "apikey", "accesstoken", "bearertoken"];

fn is_credential_key(key: &str) -> bool {
    let norm: String = key.chars().filter(|c| *c != '_' && *c != '-').collect::<String>().to_ascii_lowercase();
    CREDENTIAL_KEYS.iter().any(|k| norm == *k || (norm.ends_with(k) && k.len() > 5))
}

/// A URL with user-info, such as `postgres://user:pass@db/registry`.
fn has_url_credentials(text: &str) -> bool {
    text.split_whitespace().any(|word| {
        word.split_once("://").is_some_and(|(scheme, rest)| {
            !scheme.is_empty()
                && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
                && rest.split(['/', '?', '#']).next().is_some_and(|authority| authority.contains('@'))
        })
    })
}

/// Collects the YAML paths (never the values) of inlined credentials.
fn inlined_credentials(node: &Value, at: &str, found: &mut Vec<String>) {
    match node {
        Value::Object(map) => {
            for (k, v) in map {
                let here = field(at, k);
                let literal = match v {
                    Value::String(s) => !s.trim().is_empty(),
                    Value::Number(_) => true,
                    _ => false,
                };
                if literal && is_credential_key(k) {
                    found.push(format!("key {here}"));
                } else {
                    inlined_credentials(v, &here, found);
                }
            }
        }
        Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| inlined_credentials(v, &index(at, i), found)),
        Value::String(s) if has_url_credentials(s) => found.push(format!("a URL with user-info at {at}")),
        _ => {}
    }
}

fn check_pgpass(spec: &MCPRegistrySpec, out: &mut Findings) {
    let Some(pgpass) = &spec.pgpass_secret_ref else { return };
    let base = "spec.pgpassSecretRef";
    match pgpass.name.as_deref() {
        None | Some("") => {
            out.deny("registry.pgpass", field(base, "name"), Reason::Required, "the pgpass Secret name is required")
        }
        Some(name) => check_name(name, &field(base, "name"), out),
    }
    if pgpass.key.is_empty() {
        out.deny(
            "registry.pgpass",
            field(base, "key"),
            Reason::Required,
            "the key of the pgpass file in the Secret is required",
        );
    } else {
        check_key(&pgpass.key, &field(base, "key"), out);
    }
}

fn check_pull_secrets(spec: &MCPRegistrySpec, out: &mut Findings) {
    for (i, secret) in spec.image_pull_secrets.iter().flatten().enumerate() {
        let path = field(&index("spec.imagePullSecrets", i), "name");
        match secret.name.as_deref() {
            None | Some("") => {
                out.deny("registry.pull-secrets", path, Reason::Required, "the pull secret name is required")
            }
            Some(name) => check_name(name, &path, out),
        }
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
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(decoded) => Some(decoded),
        Err(err) => {
            let inner = err.path().to_string();
            let at = if inner == "." { path.to_string() } else { format!("{path}.{inner}") };
            out.deny(rule, path, Reason::Invalid, format!("does not decode as a {what}: {at}: {}", err.inner()));
            None
        }
    }
}

/// Volumes and init containers of the template's pod spec.
fn template_pod(spec: &MCPRegistrySpec) -> Option<k8s_openapi::api::core::v1::PodSpec> {
    let template: PodTemplateSpec = serde_json::from_value(spec.pod_template_spec.clone()?).ok()?;
    template.spec
}

fn check_volumes(spec: &MCPRegistrySpec, out: &mut Findings) {
    let pgpass = spec.pgpass_secret_ref.is_some();
    let mut reserved = vec![CONFIG_VOLUME];
    if pgpass {
        reserved.extend([PGPASS_SECRET_VOLUME, PGPASS_VOLUME]);
    }
    let pod = template_pod(spec);
    let mut declared: BTreeMap<String, String> =
        reserved.iter().map(|r| (r.to_string(), "operator".to_string())).collect();
    let check_reserved = |name: &str, path: &str, out: &mut Findings| {
        if reserved.contains(&name) {
            let why =
                if name == CONFIG_VOLUME { "the operator's config volume" } else { "used by the pgpass plumbing" };
            out.deny("registry.reserved", path, Reason::Forbidden, format!("volume name {name:?} is reserved ({why})"));
        }
    };
    for (i, raw) in spec.volumes.iter().flatten().enumerate() {
        let path = index("spec.volumes", i);
        let Some(volume) = decode::<Volume>(raw, &path, "registry.volumes", "Volume", out) else { continue };
        let name_path = field(&path, "name");
        if let Some(problem) = dns1123_label_problem(&volume.name) {
            let reason = if volume.name.is_empty() { Reason::Required } else { Reason::Invalid };
            out.deny("registry.volumes", &name_path, reason, format!("volume name {problem}"));
            continue;
        }
        check_reserved(&volume.name, &name_path, out);
        if let Some(first) = declared.get(&volume.name).filter(|p| *p != "operator") {
            out.push(
                Finding::deny(
                    "registry.volumes",
                    &name_path,
                    Reason::Duplicate,
                    format!("volume {:?} is already declared at {first}", volume.name),
                )
                .spanning([first.clone()]),
            );
        }
        declared.entry(volume.name.clone()).or_insert(name_path);
    }
    for (i, v) in pod.iter().flat_map(|p| p.volumes.iter().flatten()).enumerate() {
        let path = field(&index("spec.podTemplateSpec.spec.volumes", i), "name");
        check_reserved(&v.name, &path, out);
        declared.entry(v.name.clone()).or_insert(path);
    }
    if pgpass {
        for (i, c) in pod.iter().flat_map(|p| p.init_containers.iter().flatten()).enumerate() {
            if c.name == PGPASS_INIT_CONTAINER {
                out.deny(
                    "registry.reserved",
                    field(&index("spec.podTemplateSpec.spec.initContainers", i), "name"),
                    Reason::Forbidden,
                    format!("init container name {PGPASS_INIT_CONTAINER:?} is reserved for the pgpass plumbing"),
                );
            }
        }
    }
    check_mounts(spec, pod.as_ref(), &declared, out);
}

fn normalize_mount(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() { "/" } else { trimmed }
}

fn check_mounts(
    spec: &MCPRegistrySpec,
    pod: Option<&k8s_openapi::api::core::v1::PodSpec>,
    declared: &BTreeMap<String, String>,
    out: &mut Findings,
) {
    let mut paths: BTreeMap<String, String> = BTreeMap::new();
    paths.insert(CONFIG_MOUNT.into(), "the operator's config mount".into());
    if spec.pgpass_secret_ref.is_some() {
        paths.insert(PGPASS_MOUNT.into(), "the operator's pgpass mount".into());
    }
    let mut claim = |mount_path: &str, at: String, out: &mut Findings| {
        let key = normalize_mount(mount_path).to_string();
        if let Some(owner) = paths.get(&key) {
            out.push(
                Finding::deny(
                    "registry.mount-path",
                    &at,
                    Reason::Duplicate,
                    format!("mount path {mount_path:?} is already used by {owner}"),
                )
                .spanning(owner.starts_with("spec.").then(|| owner.clone())),
            );
        } else {
            paths.insert(key, at);
        }
    };
    for (i, raw) in spec.volume_mounts.iter().flatten().enumerate() {
        let path = index("spec.volumeMounts", i);
        let Some(mount) = decode::<VolumeMount>(raw, &path, "registry.volumes", "VolumeMount", out) else { continue };
        if mount.name.is_empty() {
            out.deny("registry.volumes", field(&path, "name"), Reason::Required, "the volume mount must name a volume");
        } else if !declared.contains_key(&mount.name) {
            out.deny(
                "registry.volumes",
                field(&path, "name"),
                Reason::Invalid,
                format!("volume {:?} is not declared in spec.volumes", mount.name),
            );
        }
        if !mount.mount_path.starts_with('/') {
            out.deny(
                "registry.volumes",
                field(&path, "mountPath"),
                Reason::Invalid,
                "mountPath must be an absolute path",
            );
            continue;
        }
        claim(&mount.mount_path, field(&path, "mountPath"), out);
    }
    let containers = pod.iter().flat_map(|p| p.containers.iter().enumerate()).filter(|(_, c)| c.name == CONTAINER);
    for (ci, container) in containers {
        for (mi, mount) in container.volume_mounts.iter().flatten().enumerate() {
            let at = field(
                &index(&field(&index("spec.podTemplateSpec.spec.containers", ci), "volumeMounts"), mi),
                "mountPath",
            );
            claim(&mount.mount_path, at, out);
        }
    }
}

/// MCPRegistry has no mutating defaults; `status.phase` has no schema default either.
pub fn apply_defaults(_: &mut MCPRegistry) -> bool {
    false
}
