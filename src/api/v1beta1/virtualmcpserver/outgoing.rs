//! `spec.outgoingAuth`: how the virtual server authenticates to its backends.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::v1beta1::common::ExternalAuthConfigRef;

/// Backend authentication: discovered from the backends' own references, or configured here.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct OutgoingAuth {
    /// Settings for particular backends, by name; they apply with either source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backends: Option<BTreeMap<String, BackendAuth>>,
    /// Settings for backends without an entry in `backends`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<BackendAuth>,
    /// `discovered` (the default: each backend's `externalAuthConfigRef`) or `inline` (only what
    /// is configured here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        schema_with = "crate::api::schema::string",
        extend("default" = "discovered", "enum" = ["discovered", "inline"])
    )]
    pub source: Option<String>,
}

/// Authentication towards one backend.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackendAuth {
    /// The MCPExternalAuthConfig to use, for `type: externalAuthConfigRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_auth_config_ref: Option<ExternalAuthConfigRef>,
    /// `discovered` (whatever the backend references) or `externalAuthConfigRef`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    #[schemars(
        required,
        schema_with = "crate::api::schema::string",
        extend("enum" = ["discovered", "externalAuthConfigRef"])
    )]
    pub type_: Option<String>,
}
