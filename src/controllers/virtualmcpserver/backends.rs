//! The group's members as backends of a VirtualMCPServer: what the operator reports in
//! `discoveredBackends` until the runtime does, and what the pod needs of member entries (their CA
//! bundle ConfigMaps and the Secrets behind their forwarded headers).

use std::sync::Arc;

use super::resolve::{CaBundle, SecretEnv};
use crate::admission::mcpserverentry::DEFAULT_CA_KEY;
use crate::api::v1beta1::MCPServerEntry;
use crate::api::v1beta1::virtualmcpserver::DiscoveredBackend;
use crate::controllers::cache::Caches;
use crate::controllers::children::env_part;
use crate::controllers::kinds::Kind;

pub const READY: &str = "ready";
pub const UNAVAILABLE: &str = "unavailable";
pub const UNKNOWN: &str = "unknown";

/// One member of the group, as far as the VirtualMCPServer cares.
#[derive(Clone, Debug, PartialEq)]
pub struct Backend {
    pub kind: Kind,
    pub name: String,
    pub url: Option<String>,
    /// `ready`, `unavailable` or `unknown`.
    pub status: &'static str,
    pub auth_config_ref: Option<String>,
    pub auth_type: Option<String>,
}

/// The members of `group`, entries first, each kind sorted by name.
pub fn members(caches: &Caches, namespace: &str, group: &str) -> (Vec<Backend>, Vec<Arc<MCPServerEntry>>) {
    let mut backends = Vec::new();
    let mut entries = Vec::new();
    for name in caches.members(namespace, group, Kind::MCPServerEntry) {
        let Some(entry) = caches.entries.get(namespace, &name) else { continue };
        let status = match entry.status.as_ref().and_then(|s| s.phase.as_deref()) {
            Some("Valid") => READY,
            Some("Failed") => UNAVAILABLE,
            _ => UNKNOWN,
        };
        let auth = entry.spec.external_auth_config_ref.as_ref().map(|r| r.name.to_string());
        backends.push(Backend {
            kind: Kind::MCPServerEntry,
            name,
            url: entry.spec.remote_url.clone(),
            status,
            auth_type: Some(auth_type(caches, namespace, auth.as_deref())),
            auth_config_ref: auth,
        });
        entries.push(entry);
    }
    for kind in [Kind::MCPServer, Kind::MCPRemoteProxy] {
        for name in caches.members(namespace, group, kind) {
            let Some(member) = caches.foreign_object(kind, namespace, &name) else { continue };
            let status = match member.data["status"]["phase"].as_str() {
                Some("Running" | "Ready") => READY,
                Some("Failed" | "Terminating") => UNAVAILABLE,
                _ => UNKNOWN,
            };
            let auth = member.data["spec"]["externalAuthConfigRef"]["name"].as_str().map(str::to_string);
            backends.push(Backend {
                kind,
                name,
                url: member.data["status"]["url"].as_str().map(str::to_string),
                status,
                auth_type: Some(auth_type(caches, namespace, auth.as_deref())),
                auth_config_ref: auth,
            });
        }
    }
    (backends, entries)
}

fn auth_type(caches: &Caches, namespace: &str, auth: Option<&str>) -> String {
    let Some(name) = auth else { return "unauthenticated".into() };
    caches
        .foreign_object(Kind::MCPExternalAuthConfig, namespace, name)
        .and_then(|c| c.data["spec"]["type"].as_str().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

/// `discoveredBackends` sorted by name; `lastHealthCheck` moves only when a backend's status
/// changes, so an unchanged group never rewrites the status.
pub fn discovered(backends: &[Backend], previous: &[DiscoveredBackend], now: &str) -> Vec<DiscoveredBackend> {
    let mut out: Vec<DiscoveredBackend> = backends
        .iter()
        .map(|b| {
            let before = previous.iter().find(|p| p.name == b.name);
            let checked = before
                .filter(|p| p.status.as_deref() == Some(b.status))
                .and_then(|p| p.last_health_check.clone())
                .unwrap_or_else(|| now.to_string());
            DiscoveredBackend {
                name: b.name.clone(),
                url: b.url.clone(),
                status: Some(b.status.to_string()),
                auth_config_ref: b.auth_config_ref.clone(),
                auth_type: b.auth_type.clone(),
                last_health_check: Some(checked),
                ..DiscoveredBackend::default()
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out.dedup_by(|a, b| a.name == b.name);
    out
}

/// The CA bundle ConfigMaps of member entries.
pub fn entry_ca_bundles(entries: &[Arc<MCPServerEntry>]) -> Vec<CaBundle> {
    let mut out: Vec<CaBundle> = entries
        .iter()
        .filter_map(|e| e.spec.ca_bundle_ref.as_ref()?.config_map_ref.as_ref())
        .filter_map(|cm| {
            let name = cm.name.as_deref().filter(|n| !n.is_empty())?;
            Some(CaBundle { config_map: name.to_string(), optional: cm.optional == Some(true) })
        })
        .collect();
    out.sort();
    out
}

/// Where the runtime finds an entry's CA bundle.
pub fn entry_ca_path(entry: &MCPServerEntry) -> Option<String> {
    let cm = entry.spec.ca_bundle_ref.as_ref()?.config_map_ref.as_ref()?;
    let key = cm.key.as_deref().filter(|k| !k.is_empty()).unwrap_or(DEFAULT_CA_KEY);
    Some(format!("{}/{}/{key}", super::resolve::CA_BUNDLE_DIR, cm.name.as_deref()?))
}

/// `TOOLHIVE_HEADER_FORWARD_<ENTRY>_<HEADER>`: the value of a secret-backed forwarded header.
pub fn header_env_name(entry: &str, header: &str) -> String {
    format!("TOOLHIVE_HEADER_FORWARD_{}_{}", env_part(entry), env_part(header))
}

/// The environment of forwarded headers whose values come from Secrets, sorted by name.
pub fn entry_header_env(entries: &[Arc<MCPServerEntry>]) -> Vec<SecretEnv> {
    let mut out = Vec::new();
    for entry in entries {
        let name = entry.metadata.name.as_deref().unwrap_or_default();
        let headers = entry.spec.header_forward.as_ref().and_then(|h| h.add_headers_from_secret.as_ref());
        for header in headers.into_iter().flatten() {
            let Some(secret) = header.value_secret_ref.as_ref() else { continue };
            out.push(SecretEnv {
                env: header_env_name(name, &header.header_name),
                secret: secret.name.to_string(),
                key: secret.key.to_string(),
            });
        }
    }
    out.sort();
    out.dedup_by(|a, b| a.env == b.env);
    out
}

/// How many backends can be routed to.
pub fn ready_count(backends: &[DiscoveredBackend]) -> i32 {
    i32::try_from(backends.iter().filter(|b| b.status.as_deref() == Some(READY)).count()).unwrap_or(i32::MAX)
}
