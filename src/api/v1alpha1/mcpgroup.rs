//! MCPGroup `v1alpha1`: the same schema as `v1beta1`, served for older clients.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::v1beta1;

/// Desired state of an MCPGroup (identical to `v1beta1`).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "toolhive.stacklok.dev",
    version = "v1alpha1",
    kind = "MCPGroup",
    namespaced,
    status = "v1beta1::MCPGroupStatus",
    schema = "disabled"
)]
#[serde(transparent)]
#[schemars(transparent)]
pub struct MCPGroupSpec(pub v1beta1::MCPGroupSpec);
