//! caBundle maintenance (leader only): both webhook configurations and the conversion webhook of
//! the MCPServerEntry and VirtualMCPServer CRDs trust exactly the Secret's CA bundle.

use base64::Engine as _;
use k8s_openapi::api::admissionregistration::v1::{MutatingWebhookConfiguration, ValidatingWebhookConfiguration};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

use crate::api::crd::KINDS;
use crate::deploy::{MUTATING_CONFIG, VALIDATING_CONFIG};

pub const FIELD_MANAGER: &str = "mcp-operator";

fn encode(pem: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(pem.as_bytes())
}

/// Brings every caBundle in step with `bundle_pem`; returns the objects it patched. Objects that do
/// not exist are skipped (there is nothing to inject into yet).
pub async fn ensure(client: &Client, bundle_pem: &str) -> Result<Vec<String>, kube::Error> {
    let bundle = encode(bundle_pem);
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let mut patched = Vec::new();

    let validating: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    let hooks = |c: ValidatingWebhookConfiguration| {
        c.webhooks.unwrap_or_default().into_iter().map(|w| (w.name, w.client_config.ca_bundle)).collect()
    };
    patched
        .extend(ensure_config(&validating, "ValidatingWebhookConfiguration", VALIDATING_CONFIG, hooks, &bundle).await?);
    let mutating: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    let hooks = |c: MutatingWebhookConfiguration| {
        c.webhooks.unwrap_or_default().into_iter().map(|w| (w.name, w.client_config.ca_bundle)).collect()
    };
    patched.extend(ensure_config(&mutating, "MutatingWebhookConfiguration", MUTATING_CONFIG, hooks, &bundle).await?);
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for kind in KINDS.into_iter().filter(|k| k.conversion_webhook) {
        let name = kind.crd_name();
        let Some(crd) = crds.get_opt(&name).await? else { continue };
        let current = crd
            .spec
            .conversion
            .and_then(|c| c.webhook)
            .and_then(|w| w.client_config)
            .and_then(|c| c.ca_bundle)
            .map(|b| encode_bytes(&b.0));
        if current.as_deref() == Some(bundle.as_str()) {
            continue;
        }
        crds.patch(&name, &params, &Patch::Apply(crd_patch(&name, &bundle))).await?;
        patched.push(format!("CustomResourceDefinition/{name}"));
    }
    Ok(patched)
}

/// Patches the webhook configuration `name` when any of its webhooks trusts another bundle.
async fn ensure_config<K>(
    api: &Api<K>,
    kind: &str,
    name: &str,
    hooks: impl Fn(K) -> Vec<(String, Option<k8s_openapi::ByteString>)>,
    bundle: &str,
) -> Result<Option<String>, kube::Error>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let Some(config) = api.get_opt(name).await? else { return Ok(None) };
    let current: Vec<(String, Option<String>)> =
        hooks(config).into_iter().map(|(hook, ca)| (hook, ca.map(|b| encode_bytes(&b.0)))).collect();
    let Some(patch) = webhooks_patch(kind, name, &current, bundle) else { return Ok(None) };
    api.patch(name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(patch)).await?;
    Ok(Some(format!("{kind}/{name}")))
}

fn encode_bytes(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The apply patch setting `caBundle` on every webhook, or `None` when all already match.
pub fn webhooks_patch(kind: &str, name: &str, webhooks: &[(String, Option<String>)], bundle: &str) -> Option<Value> {
    if webhooks.iter().all(|(_, current)| current.as_deref() == Some(bundle)) {
        return None;
    }
    let hooks: Vec<Value> =
        webhooks.iter().map(|(hook, _)| json!({ "name": hook, "clientConfig": { "caBundle": bundle } })).collect();
    Some(json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": kind,
        "metadata": { "name": name },
        "webhooks": hooks,
    }))
}

/// The apply patch setting the conversion webhook's `caBundle` of CRD `name`.
pub fn crd_patch(name: &str, bundle: &str) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": { "name": name },
        "spec": {
            "conversion": {
                "strategy": "Webhook",
                "webhook": { "clientConfig": { "caBundle": bundle }, "conversionReviewVersions": ["v1"] },
            },
        },
    })
}
