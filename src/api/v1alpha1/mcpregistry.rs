//! MCPRegistry `v1alpha1`: the same schema as `v1beta1`, served for older clients.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::v1beta1;

/// Desired state of an MCPRegistry (identical to `v1beta1`).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "toolhive.stacklok.dev",
    version = "v1alpha1",
    kind = "MCPRegistry",
    namespaced,
    status = "v1beta1::MCPRegistryStatus",
    schema = "disabled"
)]
#[serde(transparent)]
#[schemars(transparent)]
pub struct MCPRegistrySpec(pub v1beta1::MCPRegistrySpec);
