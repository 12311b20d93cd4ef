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
    ConfigMap,
    Secret,
}

impl Kind {
    /// Kinds this project does not own: watched only if their CRD is served.
    pub const FOREIGN: [Kind; 3] = [Kind::MCPServer, Kind::MCPRemoteProxy, Kind::MCPExternalAuthConfig];
    /// Kinds whose `spec.groupRef` makes them members of an MCPGroup.
    pub const MEMBERS: [Kind; 3] = [Kind::MCPServer, Kind::MCPRemoteProxy, Kind::MCPServerEntry];

    pub fn name(self) -> &'static str {
        match self {
            Kind::MCPGroup => "MCPGroup",
            Kind::MCPServerEntry => "MCPServerEntry",
            Kind::MCPServer => "MCPServer",
            Kind::MCPRemoteProxy => "MCPRemoteProxy",
            Kind::MCPExternalAuthConfig => "MCPExternalAuthConfig",
            Kind::ConfigMap => "ConfigMap",
            Kind::Secret => "Secret",
        }
    }

    pub fn plural(self) -> &'static str {
        match self {
            Kind::MCPGroup => "mcpgroups",
            Kind::MCPServerEntry => "mcpserverentries",
            Kind::MCPServer => "mcpservers",
            Kind::MCPRemoteProxy => "mcpremoteproxies",
            Kind::MCPExternalAuthConfig => "mcpexternalauthconfigs",
            Kind::ConfigMap => "configmaps",
            Kind::Secret => "secrets",
        }
    }

    pub fn api_group(self) -> &'static str {
        match self {
            Kind::ConfigMap | Kind::Secret => "",
            _ => GROUP,
        }
    }

    pub fn is_foreign(self) -> bool {
        Kind::FOREIGN.contains(&self)
    }

    /// The kinds a change of which can alter the status a controller computes.
    pub fn dependents(self) -> &'static [Controlled] {
        match self {
            Kind::MCPGroup | Kind::MCPServerEntry => &[Controlled::MCPGroup, Controlled::MCPServerEntry],
            Kind::MCPServer | Kind::MCPRemoteProxy => &[Controlled::MCPGroup],
            Kind::MCPExternalAuthConfig | Kind::ConfigMap | Kind::Secret => &[Controlled::MCPServerEntry],
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
}

impl Controlled {
    pub fn name(self) -> &'static str {
        match self {
            Controlled::MCPGroup => "mcpgroup",
            Controlled::MCPServerEntry => "mcpserverentry",
        }
    }

    /// The controller that reconciles objects of `kind`, if any.
    pub fn of(kind: Kind) -> Option<Controlled> {
        match kind {
            Kind::MCPGroup => Some(Controlled::MCPGroup),
            Kind::MCPServerEntry => Some(Controlled::MCPServerEntry),
            _ => None,
        }
    }
}
