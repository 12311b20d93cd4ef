//! The validating and mutating webhook configurations.

use serde_json::{Value, json};

use super::{MUTATING_CONFIG, VALIDATING_CONFIG, WEBHOOK_SERVICE, labels};
use crate::api::crd::{self, GROUP};

/// Where the API server sends reviews.
#[derive(Clone, Debug)]
pub enum ClientTarget {
    /// The in-cluster Service (`manifests`).
    Service { namespace: String },
    /// A URL, for a `serve` running outside the cluster (`install --webhook-url`).
    Url(String),
}

impl ClientTarget {
    /// The `clientConfig` for `path`, with `ca_bundle` (base64 PEM) when known.
    pub fn client_config(&self, path: &str, ca_bundle: Option<&str>) -> Value {
        let mut config = match self {
            ClientTarget::Service { namespace } => json!({
                "service": { "name": WEBHOOK_SERVICE, "namespace": namespace, "path": path, "port": 443 },
            }),
            ClientTarget::Url(base) => json!({ "url": format!("{}{path}", base.trim_end_matches('/')) }),
        };
        if let Some(bundle) = ca_bundle {
            config["caBundle"] = json!(bundle);
        }
        config
    }
}

fn rule(operations: &[&str], resources: &[String]) -> Value {
    json!({
        "apiGroups": [GROUP],
        "apiVersions": ["v1beta1"],
        "operations": operations,
        "resources": resources,
        "scope": "Namespaced",
    })
}

fn webhook(name: String, path: String, rules: Vec<Value>, target: &ClientTarget, ca_bundle: Option<&str>) -> Value {
    json!({
        "name": name,
        "admissionReviewVersions": ["v1"],
        "clientConfig": target.client_config(&path, ca_bundle),
        "failurePolicy": "Fail",
        "matchPolicy": "Equivalent",
        "rules": rules,
        "sideEffects": "None",
        "timeoutSeconds": 5,
    })
}

/// Kinds whose status writes get `status.phase: Pending` when empty.
fn defaults_status(plural: &str) -> bool {
    plural != crd::MCPREGISTRY.plural
}

/// The ValidatingWebhookConfiguration: CREATE, UPDATE and DELETE of each kind.
pub fn validating(target: &ClientTarget, ca_bundle: Option<&str>) -> Value {
    let hooks: Vec<Value> = crd::KINDS
        .into_iter()
        .map(|k| {
            webhook(
                format!("{}.validate.{GROUP}", k.plural),
                format!("/validate/{}", k.plural),
                vec![rule(&["CREATE", "UPDATE", "DELETE"], &[k.plural.to_string()])],
                target,
                ca_bundle,
            )
        })
        .collect();
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": { "name": VALIDATING_CONFIG, "labels": labels() },
        "webhooks": hooks,
    })
}

/// The MutatingWebhookConfiguration: CREATE and UPDATE of each kind, UPDATE of `status`.
pub fn mutating(target: &ClientTarget, ca_bundle: Option<&str>) -> Value {
    let hooks: Vec<Value> = crd::KINDS
        .into_iter()
        .map(|k| {
            let mut rules = vec![rule(&["CREATE", "UPDATE"], &[k.plural.to_string()])];
            if defaults_status(k.plural) {
                rules.push(rule(&["UPDATE"], &[format!("{}/status", k.plural)]));
            }
            let mut hook = webhook(
                format!("{}.mutate.{GROUP}", k.plural),
                format!("/mutate/{}", k.plural),
                rules,
                target,
                ca_bundle,
            );
            hook["reinvocationPolicy"] = json!("IfNeeded");
            hook
        })
        .collect();
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": { "name": MUTATING_CONFIG, "labels": labels() },
        "webhooks": hooks,
    })
}
