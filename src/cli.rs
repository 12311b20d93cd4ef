//! Command-line interface: one subcommand per job of the binary. Every flag can also be set
//! through an environment variable `MCP_OPERATOR_<FLAG>`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use ipnet::IpNet;

use crate::logging::LogFormat;

#[derive(Parser, Debug)]
#[command(
    name = "mcp-operator",
    version,
    about = "Admission, conversion and reconcile for the ToolHive MCP custom resources (toolhive.stacklok.dev)",
    propagate_version = true
)]
pub struct Cli {
    /// Log format: `text` for terminals, `json` for log collectors.
    #[arg(long, global = true, value_enum, default_value = "text", env = "MCP_OPERATOR_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// Log level or filter (`info`, `debug`, `mcp_operator=debug,info`); `RUST_LOG` takes precedence.
    #[arg(long, global = true, default_value = "info", env = "MCP_OPERATOR_LOG_LEVEL")]
    pub log_level: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the webhooks (and, in a cluster, the controllers). Needs no flags on a laptop.
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(Box<ServeArgs>),
    /// Run the admission rules and defaults offline on manifests (both API versions); exit 1 on
    /// any denial.
    #[command(
        after_help = "Examples:\n  mcp-operator validate manifests/*.yaml\n  kustomize build overlays/prod | mcp-operator validate -\n  mcp-operator validate --output json entry.yaml | jq '.results[].findings'"
    )]
    Validate(ValidateArgs),
    /// Convert manifests between v1alpha1 and v1beta1, like kubectl convert.
    #[command(
        after_help = "Examples:\n  mcp-operator convert --to v1beta1 old/*.yaml > new.yaml\n  kubectl get vmcp -o yaml | mcp-operator convert --to v1beta1 -"
    )]
    Convert(ConvertArgs),
    /// Point a cluster at a locally running `serve`: apply the CRDs and webhook configurations with
    /// the local CA bundle (or remove them again with --uninstall).
    #[command(after_help = INSTALL_EXAMPLES)]
    Install(InstallArgs),
    /// Print the whole in-cluster installation (CRDs, namespace, RBAC, Deployment, Service,
    /// PodDisruptionBudget, webhook configurations) as YAML.
    #[command(
        after_help = "Examples:\n  mcp-operator manifests | kubectl apply --server-side -f -\n  mcp-operator manifests --namespace platform --image registry.example/mcp-operator:v1\n  mcp-operator manifests --write manifests    # regenerate the kustomization (kubectl apply -k manifests/)"
    )]
    Manifests(ManifestsArgs),
    /// Generate a CA and a serving certificate for the given names and IPs.
    #[command(
        after_help = "Examples:\n  mcp-operator certs --dir /tmp/tls --host mcp-operator-webhook.mcp-operator.svc --host 10.0.0.5\n  mcp-operator serve --cert-mode files --tls-cert-file /tmp/tls/tls.crt --tls-key-file /tmp/tls/tls.key"
    )]
    Certs(CertsArgs),
    /// Print the four CustomResourceDefinitions (what manifests/crds/ holds).
    #[command(
        after_help = "Examples:\n  mcp-operator crds | kubectl apply --server-side -f -\n  mcp-operator crds --write manifests/crds"
    )]
    Crds(CrdsArgs),
}

const SERVE_EXAMPLES: &str = "Examples:
  mcp-operator serve
      Outside a cluster: webhooks on https://127.0.0.1:9443 with a development CA in certs/,
      admin endpoints on http://127.0.0.1:8080.
  mcp-operator serve --cert-mode files --tls-cert-file /tls/tls.crt --tls-key-file /tls/tls.key
      Serve a certificate issued elsewhere (cert-manager); it is reloaded when the files change.
  mcp-operator serve --remote-url-deny-cidrs 203.0.113.0/24 --remote-url-allow-cidrs 10.20.0.0/16";

/// How the offline commands print their results.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Manifest files (YAML or JSON, multi-document); `-` reads stdin.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    /// `text` for people, `json` for tools.
    #[arg(long, short, value_enum, default_value = "text")]
    pub output: OutputFormat,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// A served API version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ApiVersionArg {
    V1beta1,
    V1alpha1,
}

impl ApiVersionArg {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersionArg::V1beta1 => "v1beta1",
            ApiVersionArg::V1alpha1 => "v1alpha1",
        }
    }
}

#[derive(Args, Debug)]
pub struct ConvertArgs {
    /// The version to convert to.
    #[arg(long, value_enum)]
    pub to: ApiVersionArg,
    /// Manifest files (YAML or JSON, multi-document); `-` reads stdin.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    /// `text` prints YAML documents, `json` one JSON object (a List for several).
    #[arg(long, short, value_enum, default_value = "text")]
    pub output: OutputFormat,
}

const INSTALL_EXAMPLES: &str = "Examples:
  mcp-operator install --webhook-url https://127.0.0.1:9443
      For a cluster on this machine (kind, k3d with host networking); then run `mcp-operator serve`.
  mcp-operator install --webhook-url https://host.docker.internal:9443
      For a cluster in containers; then run `mcp-operator serve --tls-san host.docker.internal --webhook-addr 0.0.0.0:9443`.
  mcp-operator install --uninstall
      Remove the webhook configurations and set the CRDs' conversion back to None.
  mcp-operator install --uninstall --crds
      Also delete the CRDs — and with them every object of these kinds.";

#[derive(Args, Debug)]
pub struct InstallArgs {
    /// Base URL of the running `serve` as the API server can reach it (https://HOST:PORT).
    #[arg(long, env = "MCP_OPERATOR_WEBHOOK_URL")]
    pub webhook_url: Option<String>,
    /// Remove what install added instead.
    #[arg(long)]
    pub uninstall: bool,
    /// With --uninstall: delete the CRDs too, which deletes every object of these kinds.
    #[arg(long, requires = "uninstall")]
    pub crds: bool,
    /// Folder of the development CA (shared with `serve --cert-dir`).
    #[arg(long, default_value = "certs", env = "MCP_OPERATOR_CERT_DIR")]
    pub cert_dir: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CertMode {
    /// A CA and serving certificate in the Secret mcp-operator-webhook-tls, created by the first
    /// replica; the leader rotates them and keeps the caBundles in step.
    Auto,
    /// A local development CA and certificate in --cert-dir, created on first start.
    Dev,
    /// PEM files from --tls-cert-file/--tls-key-file, issued by cert-manager or any other CA.
    Files,
}

/// Whether `serve` runs the reconcile controllers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ControllersMode {
    /// When a cluster is reachable (in a pod, or through KUBECONFIG).
    Auto,
    /// Always; exit when no cluster is reachable.
    On,
    /// Never: webhooks only.
    Off,
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Run the reconcile controllers (only the leader replica reconciles).
    #[arg(long, value_enum, default_value = "auto", env = "MCP_OPERATOR_CONTROLLERS")]
    pub controllers: ControllersMode,
    /// Address of the HTTPS webhook listener [default: 127.0.0.1:9443 outside a cluster, 0.0.0.0:9443 in a pod].
    #[arg(long, env = "MCP_OPERATOR_WEBHOOK_ADDR")]
    pub webhook_addr: Option<SocketAddr>,
    /// Address of the plain-HTTP admin listener (/livez, /readyz, /metrics)
    /// [default: 127.0.0.1:8080 outside a cluster, 0.0.0.0:8080 in a pod].
    #[arg(long, env = "MCP_OPERATOR_ADMIN_ADDR")]
    pub admin_addr: Option<SocketAddr>,
    /// Where the serving certificate comes from [default: auto in a pod, dev elsewhere].
    #[arg(long, value_enum, env = "MCP_OPERATOR_CERT_MODE")]
    pub cert_mode: Option<CertMode>,
    /// Folder of the development CA and certificate (cert mode dev).
    #[arg(long, default_value = "certs", env = "MCP_OPERATOR_CERT_DIR")]
    pub cert_dir: PathBuf,
    /// Extra DNS names or IPs for the development certificate (repeatable), e.g. host.docker.internal.
    #[arg(long = "tls-san", value_name = "NAME", env = "MCP_OPERATOR_TLS_SAN", value_delimiter = ',')]
    pub tls_sans: Vec<String>,
    /// PEM certificate chain (cert mode files).
    #[arg(long, env = "MCP_OPERATOR_TLS_CERT_FILE")]
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key (cert mode files).
    #[arg(long, env = "MCP_OPERATOR_TLS_KEY_FILE")]
    pub tls_key_file: Option<PathBuf>,
    /// Namespace of the TLS Secret and the leader Lease [default: POD_NAMESPACE, the pod's own
    /// namespace, or `default` outside a cluster].
    #[arg(long, env = "MCP_OPERATOR_NAMESPACE")]
    pub namespace: Option<String>,
    /// Namespace of the leader Lease, when it differs from --namespace.
    #[arg(long, env = "MCP_OPERATOR_LEADER_ELECTION_NAMESPACE")]
    pub leader_election_namespace: Option<String>,
    /// This replica's name in the leader election [default: POD_NAME or the host name].
    #[arg(long, env = "MCP_OPERATOR_IDENTITY")]
    pub identity: Option<String>,
    /// Name of the Service in front of the webhooks (cert mode auto puts its DNS names in the certificate).
    #[arg(long, default_value = crate::deploy::WEBHOOK_SERVICE, env = "MCP_OPERATOR_SERVICE_NAME")]
    pub service_name: String,
    /// Keep the caBundle of the webhook configurations and conversion webhooks in step with the CA
    /// (cert mode auto); turn off when cert-manager's CA injector does it.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, env = "MCP_OPERATOR_MANAGE_CA_BUNDLE")]
    pub manage_ca_bundle: bool,
    /// Image of the vMCP runtime the VirtualMCPServer Deployments run [default: the controller's built-in image].
    #[arg(long, env = "VMCP_IMAGE")]
    pub vmcp_image: Option<String>,
    /// Image of the registry API server the MCPRegistry Deployments run [default: built-in].
    #[arg(long, env = "TOOLHIVE_REGISTRY_API_IMAGE")]
    pub registry_api_image: Option<String>,
    /// Small busybox-style image of the MCPRegistry pgpass init container [default: built-in].
    #[arg(long, env = "MCP_OPERATOR_PGPASS_INIT_IMAGE")]
    pub pgpass_init_image: Option<String>,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Seconds to keep serving after SIGTERM while endpoints are removed, before closing.
    #[arg(long, default_value_t = 5, env = "MCP_OPERATOR_DRAIN_SECONDS")]
    pub drain_seconds: u64,
    /// Maximum number of simultaneous webhook connections.
    #[arg(long, default_value_t = 4096, env = "MCP_OPERATOR_MAX_CONNECTIONS")]
    pub max_connections: usize,
    /// Serving threads of the webhook listener [default: one per CPU the process may use].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..), env = "MCP_OPERATOR_WEBHOOK_WORKERS")]
    pub webhook_workers: Option<u16>,
    /// Also serve `POST /ceiling`, a fixed allowed review for the load test (bench/loadtest.sh).
    #[arg(long, hide = true)]
    pub bench_ceiling: bool,
}

/// The remote-URL policy of MCPServerEntry admission.
#[derive(Args, Debug, Clone, Default)]
pub struct PolicyArgs {
    /// Extra CIDRs entries may never target (comma-separated).
    #[arg(long, value_delimiter = ',', env = "MCP_OPERATOR_REMOTE_URL_DENY_CIDRS")]
    pub remote_url_deny_cidrs: Vec<IpNet>,
    /// CIDRs allowed although private (comma-separated); never overrides loopback, link-local or metadata.
    #[arg(long, value_delimiter = ',', env = "MCP_OPERATOR_REMOTE_URL_ALLOW_CIDRS")]
    pub remote_url_allow_cidrs: Vec<IpNet>,
    /// Extra host names (and their subdomains) entries may never target (comma-separated).
    #[arg(long, value_delimiter = ',', env = "MCP_OPERATOR_REMOTE_URL_DENY_HOSTS")]
    pub remote_url_deny_hosts: Vec<String>,
    /// The cluster's DNS domain; names under it count as private.
    #[arg(long, default_value = "cluster.local", env = "MCP_OPERATOR_CLUSTER_DOMAIN")]
    pub cluster_domain: String,
}

impl PolicyArgs {
    pub fn policy(&self) -> crate::admission::RemoteUrlPolicy {
        crate::admission::RemoteUrlPolicy::new(
            self.remote_url_deny_cidrs.clone(),
            self.remote_url_allow_cidrs.clone(),
            self.remote_url_deny_hosts.clone(),
            &self.cluster_domain,
        )
    }
}

#[derive(Args, Debug)]
pub struct ManifestsArgs {
    /// Namespace of the operator's Deployment, Service, Secret and Lease.
    #[arg(long, default_value = crate::deploy::DEFAULT_NAMESPACE, env = "MCP_OPERATOR_NAMESPACE")]
    pub namespace: String,
    /// Container image of the operator [default: the image of this release].
    #[arg(long, env = "MCP_OPERATOR_IMAGE")]
    pub image: Option<String>,
    /// Write the files of the kustomization into this directory instead of printing one stream.
    #[arg(long, value_name = "DIR")]
    pub write: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct CertsArgs {
    /// Folder to write ca.crt, ca.key, tls.crt and tls.key into (reused when still valid).
    #[arg(long, default_value = "certs")]
    pub dir: PathBuf,
    /// DNS name or IP address for the certificate (repeatable).
    #[arg(long = "host", value_name = "NAME")]
    pub hosts: Vec<String>,
}

#[derive(Args, Debug)]
pub struct CrdsArgs {
    /// Write one file per CRD (`<plural>.yaml`) into this directory instead of printing a stream.
    #[arg(long, value_name = "DIR", env = "MCP_OPERATOR_CRDS_WRITE")]
    pub write: Option<PathBuf>,
}
