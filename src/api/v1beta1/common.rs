//! Types shared by several kinds of `v1beta1` (and reused unchanged by `v1alpha1`).
//!
//! Names, keys and namespaces are `CompactString`s: up to 24 bytes are kept in line, which most
//! names fit, so reading such a reference allocates nothing (an admission review decodes a
//! handful) and a cached object holds no heap block for it.

use compact_str::CompactString;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A standard Kubernetes condition (`metav1.Condition`).
///
/// Timestamps are kept as the strings the API server wrote, so that objects round-trip exactly.
// The short fields are `CompactString`s: up to 24 bytes in line, which nearly every type, status,
// reason and time fits, so a cached condition allocates only its message (the description
// above becomes the CRD's, hence a plain comment).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// When `status` last changed (RFC 3339).
    #[schemars(extend("format" = "date-time"))]
    pub last_transition_time: CompactString,
    /// Human-readable details of the last transition; may be empty.
    #[schemars(length(max = 32768))]
    pub message: String,
    /// The `metadata.generation` this condition was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub observed_generation: Option<i64>,
    /// A CamelCase machine-readable cause of the last transition.
    #[schemars(length(min = 1, max = 1024), regex(pattern = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"))]
    pub reason: CompactString,
    /// `True`, `False` or `Unknown`.
    #[schemars(schema_with = "crate::api::schema::string", extend("enum" = ["True", "False", "Unknown"]))]
    pub status: CompactString,
    /// The aspect this condition reports on, in CamelCase (optionally prefixed by a DNS domain and `/`).
    #[serde(rename = "type")]
    #[schemars(
        length(max = 316),
        regex(
            pattern = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
        )
    )]
    pub type_: CompactString,
}

/// Reference to the MCPGroup an object belongs to.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct MCPGroupRef {
    /// Name of the MCPGroup.
    #[schemars(length(min = 1))]
    pub name: CompactString,
    /// Namespace of the MCPGroup. Optional; when set it must equal the referring object's
    /// namespace, since groups are never shared across namespaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<CompactString>,
}

/// Reference to an MCPExternalAuthConfig in the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ExternalAuthConfigRef {
    /// Name of the MCPExternalAuthConfig.
    pub name: CompactString,
    /// Namespace of the MCPExternalAuthConfig. Optional; when set it must equal the referring
    /// object's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<CompactString>,
}

/// Reference to one key of a Secret in the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct SecretKeyRef {
    /// Key within the Secret's data.
    pub key: CompactString,
    /// Name of the Secret.
    pub name: CompactString,
    /// Namespace of the Secret. Optional; when set it must equal the referring object's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<CompactString>,
}

/// Reference to an object by name only (`corev1.LocalObjectReference`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[schemars(extend("x-kubernetes-map-type" = "atomic"))]
pub struct LocalObjectReference {
    /// Name of the referenced object; required in practice although the schema allows it empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = ""))]
    pub name: Option<CompactString>,
}

/// Reference to one key of a Secret (`corev1.SecretKeySelector`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[schemars(extend("x-kubernetes-map-type" = "atomic"))]
pub struct SecretKeySelector {
    /// Key within the Secret's data.
    pub key: CompactString,
    /// Name of the Secret; required in practice although the schema allows it empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = ""))]
    pub name: Option<CompactString>,
    /// Whether the Secret or its key may be missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}
