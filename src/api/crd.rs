//! Builds the four multi-version CustomResourceDefinitions from the Rust types.
//!
//! kube-derive gives each root type its `Resource` identity; the CRD documents themselves are
//! assembled here so that names, printer columns, deprecations and the conversion strategy of every
//! version sit in one table next to each other.

use schemars::JsonSchema;
use serde_json::{Value, json};

use super::schema::structural_schema_for;
use super::{v1alpha1, v1beta1};

pub const GROUP: &str = "toolhive.stacklok.dev";
pub const CATEGORY: &str = "toolhive";
/// Label that lets the storage-version migrator rewrite stored objects to the storage version.
pub const MIGRATION_LABEL: &str = "toolhive.stacklok.dev/auto-migrate-storage-version";
pub const V1ALPHA1_DEPRECATION: &str = "toolhive.stacklok.dev/v1alpha1 is deprecated; use v1beta1";
pub const REGISTRY_DEPRECATION: &str = "MCPRegistry is deprecated and will be removed in a future release; install the ToolHive registry server via the toolhive-registry-server Helm chart (https://github.com/stacklok/toolhive-registry-server) instead";

/// Default Service that fronts the webhooks in a cluster; `install` and `manifests` fill in the rest.
pub const WEBHOOK_SERVICE: &str = "mcp-operator-webhook";
pub const DEFAULT_NAMESPACE: &str = "mcp-operator";

/// One `additionalPrinterColumns` entry.
pub struct Column {
    pub name: &'static str,
    pub type_: &'static str,
    pub json_path: &'static str,
}

const fn col(name: &'static str, type_: &'static str, json_path: &'static str) -> Column {
    Column { name, type_, json_path }
}

const AGE: Column = col("Age", "date", ".metadata.creationTimestamp");

/// One served version of a kind.
pub struct Version {
    pub name: &'static str,
    pub storage: bool,
    pub deprecation_warning: Option<&'static str>,
    /// Root description, shown by `kubectl explain <kind>`.
    pub description: &'static str,
    pub spec: Value,
    pub status: Value,
}

impl Version {
    fn of<Spec: JsonSchema, Status: JsonSchema>(name: &'static str, description: &'static str) -> Self {
        let storage = name == "v1beta1";
        Version {
            name,
            storage,
            deprecation_warning: (!storage).then_some(V1ALPHA1_DEPRECATION),
            description,
            spec: structural_schema_for::<Spec>(),
            status: structural_schema_for::<Status>(),
        }
    }

    fn deprecated(mut self, warning: &'static str) -> Self {
        self.deprecation_warning = Some(warning);
        self
    }
}

/// Everything about a kind that the CRD states.
pub struct Kind {
    pub kind: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub short_names: &'static [&'static str],
    pub printer_columns: &'static [Column],
    /// Whether reads and writes at another version go through our conversion webhook.
    pub conversion_webhook: bool,
    pub versions: fn() -> Vec<Version>,
}

impl Kind {
    pub fn crd_name(&self) -> String {
        format!("{}.{GROUP}", self.plural)
    }
}

pub const MCPGROUP: Kind = Kind {
    kind: "MCPGroup",
    plural: "mcpgroups",
    singular: "mcpgroup",
    short_names: &["mcpg", "mcpgroup"],
    printer_columns: &[
        col("Servers", "integer", ".status.serverCount"),
        col("Proxies", "integer", ".status.remoteProxyCount"),
        col("Phase", "string", ".status.phase"),
        col("Checked", "string", ".status.conditions[?(@.type=='MCPServersChecked')].status"),
        AGE,
    ],
    conversion_webhook: false,
    versions: || {
        vec![
            Version::of::<v1alpha1::MCPGroupSpec, v1beta1::MCPGroupStatus>(
                "v1alpha1",
                "MCPGroup at the deprecated v1alpha1 version; identical to v1beta1.",
            ),
            Version::of::<v1beta1::MCPGroupSpec, v1beta1::MCPGroupStatus>(
                "v1beta1",
                "MCPGroup is a named pool of MCP backends (MCPServers, MCPRemoteProxies, MCPServerEntries) in one namespace, which a VirtualMCPServer puts behind one endpoint.",
            ),
        ]
    },
};

pub const MCPSERVERENTRY: Kind = Kind {
    kind: "MCPServerEntry",
    plural: "mcpserverentries",
    singular: "mcpserverentry",
    short_names: &["mcpentry"],
    printer_columns: &[
        col("Phase", "string", ".status.phase"),
        col("Transport", "string", ".spec.transport"),
        col("Remote URL", "string", ".spec.remoteUrl"),
        col("Group", "string", ".spec.groupRef.name"),
        AGE,
    ],
    conversion_webhook: true,
    versions: || {
        vec![
            Version::of::<v1alpha1::MCPServerEntrySpec, v1beta1::MCPServerEntryStatus>(
                "v1alpha1",
                "MCPServerEntry at the deprecated v1alpha1 version. Also accepts the older shapes (`remoteURL`, a plain-string `groupRef`), which convert to v1beta1 without loss.",
            ),
            Version::of::<v1beta1::MCPServerEntrySpec, v1beta1::MCPServerEntryStatus>(
                "v1beta1",
                "MCPServerEntry declares a remote MCP server as a member of an MCPGroup without running anything in the cluster.",
            ),
        ]
    },
};

pub const VIRTUALMCPSERVER: Kind = Kind {
    kind: "VirtualMCPServer",
    plural: "virtualmcpservers",
    singular: "virtualmcpserver",
    short_names: &["vmcp", "virtualmcp"],
    printer_columns: &[
        col("Phase", "string", ".status.phase"),
        col("URL", "string", ".status.url"),
        col("Backends", "integer", ".status.backendCount"),
        AGE,
        col("Ready", "string", ".status.conditions[?(@.type=='Ready')].status"),
    ],
    conversion_webhook: true,
    versions: || {
        vec![
            Version::of::<v1alpha1::VirtualMCPServerSpec, v1beta1::VirtualMCPServerStatus>(
                "v1alpha1",
                "VirtualMCPServer at the deprecated v1alpha1 version. Also accepts the older shapes (top-level aggregation, composite tools and operational settings, tokenCache, inline OIDC, legacy backend auth types), which convert to v1beta1 without loss.",
            ),
            Version::of::<v1beta1::VirtualMCPServerSpec, v1beta1::VirtualMCPServerStatus>(
                "v1beta1",
                "VirtualMCPServer puts all MCP backends of an MCPGroup behind one MCP endpoint, with its own client authentication, backend authentication, tool aggregation and composite tools.",
            ),
        ]
    },
};

pub const MCPREGISTRY: Kind = Kind {
    kind: "MCPRegistry",
    plural: "mcpregistries",
    singular: "mcpregistry",
    short_names: &["mcpreg", "registry"],
    printer_columns: &[
        col("Status", "string", ".status.phase"),
        col("Ready", "string", ".status.conditions[?(@.type=='Ready')].status"),
        col("Replicas", "integer", ".status.readyReplicas"),
        col("URL", "string", ".status.url"),
        AGE,
    ],
    conversion_webhook: false,
    versions: || {
        vec![
            Version::of::<v1alpha1::MCPRegistrySpec, v1beta1::MCPRegistryStatus>(
                "v1alpha1",
                "MCPRegistry at the deprecated v1alpha1 version; identical to v1beta1. The whole kind is deprecated.",
            )
            .deprecated(REGISTRY_DEPRECATION),
            Version::of::<v1beta1::MCPRegistrySpec, v1beta1::MCPRegistryStatus>(
                "v1beta1",
                "MCPRegistry runs a ToolHive registry API server from a verbatim config.yaml. Deprecated: use the toolhive-registry-server Helm chart for new installations.",
            )
            .deprecated(REGISTRY_DEPRECATION),
        ]
    },
};

/// The kinds this operator serves, in the order their CRDs are printed.
pub const KINDS: [&Kind; 4] = [&MCPGROUP, &MCPSERVERENTRY, &VIRTUALMCPSERVER, &MCPREGISTRY];

/// The kind whose plural is `plural`.
pub fn kind_by_plural(plural: &str) -> Option<&'static Kind> {
    KINDS.into_iter().find(|k| k.plural == plural)
}

/// The kind named `kind`.
pub fn kind_by_name(kind: &str) -> Option<&'static Kind> {
    KINDS.into_iter().find(|k| k.kind == kind)
}

fn root_schema(version: &Version) -> Value {
    json!({
        "description": version.description,
        "type": "object",
        "properties": {
            "apiVersion": {
                "description": "Versioned schema of this object, `toolhive.stacklok.dev/<version>`.",
                "type": "string",
            },
            "kind": {
                "description": "The REST resource this object represents.",
                "type": "string",
            },
            "metadata": { "type": "object" },
            "spec": version.spec,
            "status": version.status,
        },
    })
}

/// The conversion stanza: a webhook for kinds whose versions differ, `None` for identical ones.
/// The webhook's `clientConfig` names the in-cluster Service; `install` and the leader replace it
/// (and add the `caBundle`).
pub fn conversion(kind: &Kind, namespace: &str) -> Value {
    if !kind.conversion_webhook {
        return json!({ "strategy": "None" });
    }
    json!({
        "strategy": "Webhook",
        "webhook": {
            "clientConfig": {
                "service": { "name": WEBHOOK_SERVICE, "namespace": namespace, "path": "/convert", "port": 443 },
            },
            "conversionReviewVersions": ["v1"],
        },
    })
}

/// The CustomResourceDefinition of `kind`, as JSON, converting through the webhook Service in the
/// default namespace.
pub fn crd(kind: &Kind) -> Value {
    crd_in_namespace(kind, DEFAULT_NAMESPACE)
}

/// The CRD of `kind` whose conversion webhook Service lives in `namespace`.
pub fn crd_in_namespace(kind: &Kind, namespace: &str) -> Value {
    crd_with_conversion(kind, conversion(kind, namespace))
}

/// The CRD of `kind` with the given `spec.conversion` stanza.
pub fn crd_with_conversion(kind: &Kind, conversion: Value) -> Value {
    let versions: Vec<Value> = (kind.versions)()
        .iter()
        .map(|v| {
            let columns: Vec<Value> = kind
                .printer_columns
                .iter()
                .map(|c| json!({ "name": c.name, "type": c.type_, "jsonPath": c.json_path }))
                .collect();
            let mut out = json!({
                "name": v.name,
                "served": true,
                "storage": v.storage,
                "schema": { "openAPIV3Schema": root_schema(v) },
                "subresources": { "status": {} },
                "additionalPrinterColumns": columns,
            });
            if let Some(warning) = v.deprecation_warning {
                out["deprecated"] = json!(true);
                out["deprecationWarning"] = json!(warning);
            }
            out
        })
        .collect();
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": kind.crd_name(),
            "labels": { MIGRATION_LABEL: "true" },
        },
        "spec": {
            "group": GROUP,
            "names": {
                "kind": kind.kind,
                "listKind": format!("{}List", kind.kind),
                "plural": kind.plural,
                "singular": kind.singular,
                "shortNames": kind.short_names,
                "categories": [CATEGORY],
            },
            "scope": "Namespaced",
            "conversion": conversion,
            "versions": versions,
        },
    })
}

/// All four CRDs.
pub fn all() -> Vec<Value> {
    KINDS.into_iter().map(crd).collect()
}

/// Renders CRDs (or any objects) as a multi-document YAML stream.
pub fn to_yaml_stream(docs: &[Value]) -> Result<String, serde_norway::Error> {
    let mut out = String::new();
    for doc in docs {
        out.push_str("---\n");
        out.push_str(&serde_norway::to_string(doc)?);
    }
    Ok(out)
}
