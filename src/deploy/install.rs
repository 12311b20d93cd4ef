//! `install` / `--uninstall`: point a cluster's API server at a locally running `serve`.

use base64::Engine as _;
use k8s_openapi::api::admissionregistration::v1::{MutatingWebhookConfiguration, ValidatingWebhookConfiguration};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::{Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::webhooks::{self, ClientTarget};
use super::{MUTATING_CONFIG, VALIDATING_CONFIG};
use crate::api::crd::{self, KINDS, Kind};

/// Errors talking to the cluster, with what was being done.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("{action}: {source}")]
    Api { action: String, source: kube::Error },
    #[error("invalid object {what}: {source}")]
    Encode { what: String, source: serde_json::Error },
}

fn api_err(action: impl Into<String>) -> impl FnOnce(kube::Error) -> InstallError {
    let action = action.into();
    move |source| InstallError::Api { action, source }
}

/// The base64 `caBundle` of a PEM CA certificate.
pub fn ca_bundle(ca_pem: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(ca_pem.as_bytes())
}

/// The conversion stanza pointing at `url` (a `url`, never a `service`).
pub fn url_conversion(kind: &Kind, url: &str, ca_bundle: &str) -> Value {
    if !kind.conversion_webhook {
        return json!({ "strategy": "None" });
    }
    json!({
        "strategy": "Webhook",
        "webhook": {
            "clientConfig": ClientTarget::Url(url.to_string()).client_config("/convert", Some(ca_bundle)),
            "conversionReviewVersions": ["v1"],
        },
    })
}

/// Creates `object`, or replaces the existing one whole (keeping its resourceVersion).
async fn create_or_replace<K>(api: &Api<K>, object: Value) -> Result<&'static str, InstallError>
where
    K: Resource + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
{
    let name = object["metadata"]["name"].as_str().unwrap_or_default().to_string();
    let mut typed: K =
        serde_json::from_value(object).map_err(|source| InstallError::Encode { what: name.clone(), source })?;
    match api.get_opt(&name).await.map_err(api_err(format!("reading {name}")))? {
        Some(existing) => {
            typed.meta_mut().resource_version = existing.meta().resource_version.clone();
            api.replace(&name, &PostParams::default(), &typed).await.map_err(api_err(format!("replacing {name}")))?;
            Ok("replaced")
        }
        None => {
            api.create(&PostParams::default(), &typed).await.map_err(api_err(format!("creating {name}")))?;
            Ok("created")
        }
    }
}

/// Applies the CRDs and both webhook configurations, all pointing at `url` and trusting `ca_pem`.
/// Returns one line per object for the user.
pub async fn install(client: Client, url: &str, ca_pem: &str) -> Result<Vec<String>, InstallError> {
    let bundle = ca_bundle(ca_pem);
    let mut done = Vec::new();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for kind in KINDS {
        let object = crd::crd_with_conversion(kind, url_conversion(kind, url, &bundle));
        let verb = create_or_replace(&crds, object).await?;
        done.push(format!("CustomResourceDefinition {} {verb}", kind.crd_name()));
    }
    let target = ClientTarget::Url(url.to_string());
    let validating: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    let verb = create_or_replace(&validating, webhooks::validating(&target, Some(&bundle))).await?;
    done.push(format!("ValidatingWebhookConfiguration {VALIDATING_CONFIG} {verb}"));
    let mutating: Api<MutatingWebhookConfiguration> = Api::all(client);
    let verb = create_or_replace(&mutating, webhooks::mutating(&target, Some(&bundle))).await?;
    done.push(format!("MutatingWebhookConfiguration {MUTATING_CONFIG} {verb}"));
    Ok(done)
}

async fn delete_if_present<K>(api: &Api<K>, name: &str) -> Result<bool, InstallError>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
        Err(source) => Err(InstallError::Api { action: format!("deleting {name}"), source }),
    }
}

/// Removes the webhook configurations and sets the CRDs' conversion back to `None`; with
/// `delete_crds`, deletes the CRDs too (and with them every object of these kinds).
pub async fn uninstall(client: Client, delete_crds: bool) -> Result<Vec<String>, InstallError> {
    let mut done = Vec::new();
    let validating: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    if delete_if_present(&validating, VALIDATING_CONFIG).await? {
        done.push(format!("ValidatingWebhookConfiguration {VALIDATING_CONFIG} deleted"));
    }
    let mutating: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    if delete_if_present(&mutating, MUTATING_CONFIG).await? {
        done.push(format!("MutatingWebhookConfiguration {MUTATING_CONFIG} deleted"));
    }
    let crds: Api<CustomResourceDefinition> = Api::all(client);
    for kind in KINDS {
        let name = kind.crd_name();
        if delete_crds {
            if delete_if_present(&crds, &name).await? {
                done.push(format!("CustomResourceDefinition {name} deleted"));
            }
            continue;
        }
        if !kind.conversion_webhook || crds.get_opt(&name).await.map_err(api_err(format!("reading {name}")))?.is_none()
        {
            continue;
        }
        let patch: json_patch::Patch = serde_json::from_value(json!([
            { "op": "add", "path": "/spec/conversion", "value": { "strategy": "None" } }
        ]))
        .map_err(|source| InstallError::Encode { what: name.clone(), source })?;
        crds.patch(&name, &PatchParams::default(), &Patch::<()>::Json(patch))
            .await
            .map_err(api_err(format!("resetting the conversion of {name}")))?;
        done.push(format!("CustomResourceDefinition {name}: conversion set to None"));
    }
    Ok(done)
}
