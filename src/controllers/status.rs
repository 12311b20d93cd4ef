//! Status writes: server-side apply to the `status` subresource under one field manager.
//!
//! The controllers send the whole status they own on every write, so a field they stop setting
//! is removed by the apply; callers write only when the computed status differs from the cached
//! one. `force` takes over fields another manager (for example the Go operator) last wrote.

use std::fmt::Debug;

use k8s_openapi::NamespaceResourceScope;
use kube::api::{Patch, PatchParams};
use kube::core::{ApiResource, DynamicObject};
use kube::{Api, Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::error::Error;

pub const FIELD_MANAGER: &str = "mcp-operator";

pub fn apply_params() -> PatchParams {
    PatchParams::apply(FIELD_MANAGER).force()
}

/// The body of a status apply for an object of `api_version`/`kind`.
pub fn status_patch(api_version: &str, kind: &str, status: &impl Serialize) -> Result<Value, Error> {
    Ok(json!({ "apiVersion": api_version, "kind": kind, "status": serde_json::to_value(status)? }))
}

/// Applies `status` as the whole status `mcp-operator` owns on `obj`.
pub async fn apply_status<K>(client: &Client, obj: &K, status: &impl Serialize) -> Result<(), Error>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope> + Clone + DeserializeOwned + Debug,
{
    let namespace = obj.namespace().ok_or(Error::NoNamespace)?;
    let api: Api<K> = Api::namespaced(client.clone(), &namespace);
    let body = status_patch(&K::api_version(&()), &K::kind(&()), status)?;
    api.patch_status(&obj.name_any(), &apply_params(), &Patch::Apply(&body)).await?;
    Ok(())
}

/// Applies `status` to an object of a kind known only through discovery.
pub async fn apply_foreign_status(
    client: &Client,
    resource: &ApiResource,
    namespace: &str,
    name: &str,
    status: &Value,
) -> Result<(), Error> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, resource);
    let body = status_patch(&resource.api_version, &resource.kind, status)?;
    api.patch_status(name, &apply_params(), &Patch::Apply(&body)).await?;
    Ok(())
}
