//! Every kind the informer caches hold, and what depends on what.

use std::fmt;

use crate::api::crd::GROUP;

/// A kind the caches watch. `Ord` is the order members are listed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    MCPGroup,
    MCPServerEntry,
    /// The Go operator's kinds, watched only while their CRDs exist.
    MCPServer,
    MCPRemoteProxy,
    MCPExternalAuthConfig,
    MCPOIDCConfig,
    MCPAuthzConfig,
    MCPTelemetryConfig,
    MCPToolConfig,
    VirtualMCPCompositeToolDefinition,
    ConfigMap,
    Secret,
    VirtualMCPServer,
    MCPRegistry,
    /// Children of the workload kinds: only objects labelled as managed by this operator.
    Deployment,
    Service,
    ServiceAccount,
    Role,
    RoleBinding,
    /// ConfigMaps labelled as managed by this operator, cached as text like every child (the
    /// `ConfigMap` cache keeps only key names).
    ChildConfigMap,
}

impl Kind {
    /// Kinds this project does not own: watched only if their CRD is served.
    pub const FOREIGN: [Kind; 8] = [
        Kind::MCPServer,
        Kind::MCPRemoteProxy,
        Kind::MCPExternalAuthConfig,
        Kind::MCPOIDCConfig,
        Kind::MCPAuthzConfig,
        Kind::MCPTelemetryConfig,
        Kind::MCPToolConfig,
        Kind::VirtualMCPCompositeToolDefinition,
    ];
    /// Kinds whose `spec.groupRef` makes them members of an MCPGroup.
    pub const MEMBERS: [Kind; 3] = [Kind::MCPServer, Kind::MCPRemoteProxy, Kind::MCPServerEntry];
    /// Kinds always watched; readiness waits for every one of them.
    pub const CORE: [Kind; 12] = [
        Kind::MCPGroup,
        Kind::MCPServerEntry,
        Kind::ConfigMap,
        Kind::Secret,
        Kind::VirtualMCPServer,
        Kind::MCPRegistry,
        Kind::Deployment,
        Kind::Service,
        Kind::ServiceAccount,
        Kind::Role,
        Kind::RoleBinding,
        Kind::ChildConfigMap,
    ];
    /// The children kinds, watched with the managed-by label selector.
    pub const CHILDREN: [Kind; 6] =
        [Kind::Deployment, Kind::Service, Kind::ServiceAccount, Kind::Role, Kind::RoleBinding, Kind::ChildConfigMap];

    pub fn name(self) -> &'static str {
        match self {
            Kind::MCPGroup => "MCPGroup",
            Kind::MCPServerEntry => "MCPServerEntry",
            Kind::MCPServer => "MCPServer",
            Kind::MCPRemoteProxy => "MCPRemoteProxy",
            Kind::MCPExternalAuthConfig => "MCPExternalAuthConfig",
            Kind::MCPOIDCConfig => "MCPOIDCConfig",
            Kind::MCPAuthzConfig => "MCPAuthzConfig",
            Kind::MCPTelemetryConfig => "MCPTelemetryConfig",
            Kind::MCPToolConfig => "MCPToolConfig",
            Kind::VirtualMCPCompositeToolDefinition => "VirtualMCPCompositeToolDefinition",
            Kind::ConfigMap => "ConfigMap",
            Kind::Secret => "Secret",
            Kind::VirtualMCPServer => "VirtualMCPServer",
            Kind::MCPRegistry => "MCPRegistry",
            Kind::Deployment => "Deployment",
            Kind::Service => "Service",
            Kind::ServiceAccount => "ServiceAccount",
            Kind::Role => "Role",
            Kind::RoleBinding => "RoleBinding",
            Kind::ChildConfigMap => "ManagedConfigMap",
        }
    }

    pub fn plural(self) -> &'static str {
        match self {
            Kind::MCPGroup => "mcpgroups",
            Kind::MCPServerEntry => "mcpserverentries",
            Kind::MCPServer => "mcpservers",
            Kind::MCPRemoteProxy => "mcpremoteproxies",
            Kind::MCPExternalAuthConfig => "mcpexternalauthconfigs",
            Kind::MCPOIDCConfig => "mcpoidcconfigs",
            Kind::MCPAuthzConfig => "mcpauthzconfigs",
            Kind::MCPTelemetryConfig => "mcptelemetryconfigs",
            Kind::MCPToolConfig => "mcptoolconfigs",
            Kind::VirtualMCPCompositeToolDefinition => "virtualmcpcompositetooldefinitions",
            Kind::ConfigMap | Kind::ChildConfigMap => "configmaps",
            Kind::Secret => "secrets",
            Kind::VirtualMCPServer => "virtualmcpservers",
            Kind::MCPRegistry => "mcpregistries",
            Kind::Deployment => "deployments",
            Kind::Service => "services",
            Kind::ServiceAccount => "serviceaccounts",
            Kind::Role => "roles",
            Kind::RoleBinding => "rolebindings",
        }
    }

    pub fn api_group(self) -> &'static str {
        match self {
            Kind::ConfigMap | Kind::ChildConfigMap | Kind::Secret | Kind::Service | Kind::ServiceAccount => "",
            Kind::Deployment => "apps",
            Kind::Role | Kind::RoleBinding => "rbac.authorization.k8s.io",
            _ => GROUP,
        }
    }

    pub fn is_foreign(self) -> bool {
        Kind::FOREIGN.contains(&self)
    }

    /// The kinds a change of which can alter the status a controller computes.
    pub fn dependents(self) -> &'static [Controlled] {
        use Controlled::{MCPGroup, MCPRegistry, MCPServerEntry, VirtualMCPServer};
        match self {
            Kind::MCPGroup | Kind::MCPServerEntry => &[MCPGroup, MCPServerEntry, VirtualMCPServer],
            Kind::MCPServer | Kind::MCPRemoteProxy => &[MCPGroup, VirtualMCPServer],
            Kind::MCPExternalAuthConfig | Kind::ConfigMap | Kind::Secret => &[MCPServerEntry, VirtualMCPServer],
            Kind::MCPOIDCConfig
            | Kind::MCPAuthzConfig
            | Kind::MCPTelemetryConfig
            | Kind::MCPToolConfig
            | Kind::VirtualMCPCompositeToolDefinition
            | Kind::VirtualMCPServer => &[VirtualMCPServer],
            Kind::MCPRegistry => &[MCPRegistry],
            Kind::Deployment
            | Kind::Service
            | Kind::ServiceAccount
            | Kind::Role
            | Kind::RoleBinding
            | Kind::ChildConfigMap => &[VirtualMCPServer, MCPRegistry],
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The kinds that have a controller here (the metric label `controller`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Controlled {
    MCPGroup,
    MCPServerEntry,
    VirtualMCPServer,
    MCPRegistry,
}

impl Controlled {
    pub const ALL: [Controlled; 4] =
        [Controlled::MCPGroup, Controlled::MCPServerEntry, Controlled::VirtualMCPServer, Controlled::MCPRegistry];

    pub fn name(self) -> &'static str {
        match self {
            Controlled::MCPGroup => "mcpgroup",
            Controlled::MCPServerEntry => "mcpserverentry",
            Controlled::VirtualMCPServer => "virtualmcpserver",
            Controlled::MCPRegistry => "mcpregistry",
        }
    }

    /// The controller that reconciles objects of `kind`, if any.
    pub fn of(kind: Kind) -> Option<Controlled> {
        match kind {
            Kind::MCPGroup => Some(Controlled::MCPGroup),
            Kind::MCPServerEntry => Some(Controlled::MCPServerEntry),
            Kind::VirtualMCPServer => Some(Controlled::VirtualMCPServer),
            Kind::MCPRegistry => Some(Controlled::MCPRegistry),
            _ => None,
        }
    }
}
