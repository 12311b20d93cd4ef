//! The children of a VirtualMCPServer, rendered as server-side apply bodies (pure functions).

pub mod config;
pub mod deployment;
pub mod rbac;
pub mod service;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

use super::resolve::{CaBundle, SecretEnv};
use crate::api::v1beta1::VirtualMCPServer;

pub const PORT: i32 = 4483;
pub const PORT_NAME: &str = "http";

/// What every rendering of one VirtualMCPServer shares.
#[derive(Clone, Debug)]
pub struct Inputs<'a> {
    pub vmcp: &'a VirtualMCPServer,
    pub namespace: &'a str,
    pub name: &'a str,
    pub owner: OwnerReference,
    pub image: &'a str,
    /// Checksum of `config.yaml`, put on the pod template so a new config rolls the pods.
    pub config_checksum: String,
    /// Environment from Secrets (auth secrets, forwarded headers, Redis password, HMAC secret).
    pub secret_env: Vec<SecretEnv>,
    /// ConfigMaps mounted for CA bundles (OIDC issuer, member entries).
    pub ca_bundles: Vec<CaBundle>,
}

/// `<name>-vmcp`: ServiceAccount, Role and RoleBinding.
pub fn rbac_name(name: &str) -> String {
    format!("{name}-vmcp")
}

pub fn config_map_name(name: &str) -> String {
    format!("{name}-vmcp-config")
}

pub fn hmac_secret_name(name: &str) -> String {
    format!("{name}-hmac-secret")
}

pub fn service_name(name: &str) -> String {
    format!("vmcp-{name}")
}

/// Labels of the pods, used as the Deployment's and the Service's selector.
pub fn selector_labels(name: &str) -> Vec<(&'static str, String)> {
    vec![
        ("app", "virtualmcpserver".to_string()),
        ("app.kubernetes.io/instance", name.to_string()),
        ("app.kubernetes.io/name", "virtualmcpserver".to_string()),
        ("toolhive", "true".to_string()),
        ("toolhive-name", name.to_string()),
    ]
}

pub fn label_pairs<'a>(labels: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    labels.iter().map(|(k, v)| (*k, v.as_str())).collect()
}
