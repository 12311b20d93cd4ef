//! `mcp-operator serve`: the deployable.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::UsageError;
use crate::admission::LateClusterView;
use crate::certs::dev::{self, DevCertAction};
use crate::certs::files::{self, CertFiles};
use crate::certs::maintain::{CertKeeper, Maintenance, record_expiry};
use crate::certs::secret::SecretStore;
use crate::certs::{CertBundle, SwappableResolver};
use crate::cli::{CertMode, ControllersMode, ServeArgs};
use crate::controllers;
use crate::deploy::TLS_SECRET;
use crate::leader::{self, Leadership};
use crate::metrics::Metrics;
use crate::server::{self, Limits, Readiness, ServerOptions, tls};

/// How often replicas re-read the TLS Secret and the leader checks rotation and caBundles.
const CERT_INTERVAL: Duration = Duration::from_secs(30);
/// Time between CA rotation steps: several reload intervals, so every replica follows each step.
const CERT_SETTLE: Duration = Duration::from_secs(5 * 60);
const FILES_POLL: Duration = Duration::from_secs(60);

pub fn run(args: &ServeArgs) -> anyhow::Result<i32> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the runtime")?;
    runtime.block_on(serve(args))
}

/// Running inside a pod (the API server's Service environment is present).
pub fn in_cluster() -> bool {
    std::env::var_os("KUBERNETES_SERVICE_HOST").is_some()
}

const SA_NAMESPACE_FILE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/// --namespace, else POD_NAMESPACE, else the service account's namespace, else `default`.
fn own_namespace(args: &ServeArgs) -> String {
    args.namespace
        .clone()
        .or_else(|| std::env::var("POD_NAMESPACE").ok())
        .or_else(|| std::fs::read_to_string(SA_NAMESPACE_FILE).ok().map(|s| s.trim().to_string()))
        .filter(|ns| !ns.is_empty())
        .unwrap_or_else(|| "default".into())
}

fn identity(args: &ServeArgs) -> String {
    args.identity
        .clone()
        .or_else(|| std::env::var("POD_NAME").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| format!("mcp-operator-{}", std::process::id()))
}

/// The Service's DNS names, which the API server dials.
fn service_hosts(service: &str, namespace: &str, cluster_domain: &str) -> Vec<String> {
    vec![
        service.to_string(),
        format!("{service}.{namespace}"),
        format!("{service}.{namespace}.svc"),
        format!("{service}.{namespace}.svc.{cluster_domain}"),
    ]
}

async fn serve(args: &ServeArgs) -> anyhow::Result<i32> {
    // One crypto provider for the whole process, installed before any TLS object exists.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let bind_ip = if in_cluster() { IpAddr::V4(Ipv4Addr::UNSPECIFIED) } else { IpAddr::V4(Ipv4Addr::LOCALHOST) };
    let webhook_addr = args.webhook_addr.unwrap_or(SocketAddr::new(bind_ip, 9443));
    let admin_addr = args.admin_addr.unwrap_or(SocketAddr::new(bind_ip, 8080));
    let cert_mode = args.cert_mode.unwrap_or(if in_cluster() { CertMode::Auto } else { CertMode::Dev });
    let namespace = own_namespace(args);
    let metrics = Arc::new(Metrics::new());
    let readiness = Arc::new(Readiness::default());
    let shutdown = CancellationToken::new();

    let client = match (cert_mode, args.controllers) {
        (CertMode::Auto, _) | (_, ControllersMode::On) => {
            Some(connect(Duration::from_secs(10)).await.map_err(|e| {
                let needs = if cert_mode == CertMode::Auto { "cert mode auto" } else { "--controllers on" };
                UsageError(format!("{needs} needs a cluster: {e}"))
            })?)
        }
        (_, ControllersMode::Auto) => match connect(Duration::from_secs(3)).await {
            Ok(client) => Some(client),
            Err(why) => {
                tracing::info!(reason = %why, "no cluster reachable: controllers off, webhooks only");
                None
            }
        },
        (_, ControllersMode::Off) => None,
    };
    let leadership = match &client {
        Some(client) => {
            let lease_ns = args.leader_election_namespace.clone().unwrap_or_else(|| namespace.clone());
            leader::elect(client.clone(), &lease_ns, &identity(args), metrics.clone())
                .await
                .map_err(|e| UsageError(format!("cannot join the leader election in {lease_ns}: {e}")))?
        }
        None => Leadership::never(),
    };

    let (bundle, resolver, mut tasks) = match cert_mode {
        CertMode::Dev => {
            let bundle = dev_certificate(args, webhook_addr)?;
            let resolver = Arc::new(SwappableResolver::new(&bundle)?);
            (bundle, resolver, Vec::new())
        }
        CertMode::Files => file_certificate(args, &metrics, &shutdown)?,
        CertMode::Auto => {
            let Some(client) = client.clone() else {
                return Err(UsageError("cert mode auto needs a cluster".into()).into());
            };
            secret_certificate(args, client, &namespace, &metrics, &leadership, &shutdown).await?
        }
    };
    record_expiry(&metrics, &bundle);
    readiness.set_cert_loaded();

    let cluster_view = Arc::new(LateClusterView::default());
    if let Some(client) = client.clone().filter(|_| args.controllers != ControllersMode::Off) {
        tasks.push(start_controllers(args, client, &metrics, &readiness, &leadership, &cluster_view, &shutdown));
    }

    let limits = Limits { max_connections: args.max_connections, ..Limits::default() };
    let running = server::start(ServerOptions {
        webhook_addr,
        admin_addr,
        tls: tls::server_config(resolver),
        policy: args.policy.policy(),
        cluster: cluster_view,
        metrics,
        readiness: readiness.clone(),
        limits,
        shutdown: shutdown.clone(),
        bench_ceiling: args.bench_ceiling,
        workers: args.webhook_workers.map_or_else(default_workers, usize::from),
    })
    .await
    .map_err(|e| UsageError(format!("cannot listen on {webhook_addr} / {admin_addr}: {e}")))?;
    tracing::info!(webhooks = %format!("https://{}", running.webhook_addr), admin = %format!("http://{}", running.admin_addr), cert_mode = ?cert_mode, "serving");
    if cert_mode == CertMode::Dev {
        // With the port the listener got (`--webhook-addr 127.0.0.1:0` asks for any).
        log_example(&dev::DevCertPaths::in_dir(&args.cert_dir).ca_cert, running.webhook_addr);
    }

    let drain = Duration::from_secs(args.drain_seconds);
    let stopper = shutdown.clone();
    tasks.push(tokio::spawn(async move {
        wait_for_signal().await;
        readiness.start_draining();
        tracing::info!(
            drain_seconds = drain.as_secs(),
            "shutting down: not ready, still serving during the drain period"
        );
        tokio::time::sleep(drain).await;
        stopper.cancel();
    }));
    running.wait().await;
    for task in tasks {
        task.abort();
    }
    leadership.release().await;
    tracing::info!("stopped");
    Ok(0)
}

/// One webhook worker per CPU the process may use (cgroup quotas included), at least one.
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A client for the cluster of KUBECONFIG or the pod, checked with one API call.
async fn connect(timeout: Duration) -> Result<kube::Client, String> {
    let client = kube::Client::try_default().await.map_err(|e| e.to_string())?;
    match tokio::time::timeout(timeout, client.apiserver_version()).await {
        Ok(Ok(version)) => {
            tracing::info!(server = %version.git_version, "connected to the cluster");
            Ok(client)
        }
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err(format!("the API server did not answer within {}s", timeout.as_secs())),
    }
}

/// Starts the caches (every replica) and the controllers (while leader); readiness waits for the
/// caches to sync.
fn start_controllers(
    args: &ServeArgs,
    client: kube::Client,
    metrics: &Arc<Metrics>,
    readiness: &Arc<Readiness>,
    leadership: &Leadership,
    cluster_view: &Arc<LateClusterView>,
    shutdown: &CancellationToken,
) -> JoinHandle<()> {
    let defaults = controllers::Config::default();
    let config = controllers::Config {
        policy: args.policy.policy(),
        cluster_domain: args.policy.cluster_domain.clone(),
        vmcp_image: args.vmcp_image.clone().unwrap_or(defaults.vmcp_image.clone()),
        registry_api_image: args.registry_api_image.clone().unwrap_or(defaults.registry_api_image.clone()),
        pgpass_init_image: args.pgpass_init_image.clone().unwrap_or(defaults.pgpass_init_image.clone()),
        ..defaults
    };
    let operator = controllers::start(client, config, metrics.controllers.clone(), shutdown.clone());
    cluster_view.set(operator.cluster_view());
    readiness.set_caches_synced(false);
    let mut synced = operator.caches_synced();
    let readiness = readiness.clone();
    tokio::spawn(async move {
        if synced.wait_for(|s| *s).await.is_ok() {
            readiness.set_caches_synced(true);
            tracing::info!("informer caches synced");
        }
    });
    tokio::spawn(operator.run(leadership.receiver()))
}

type Loaded = (CertBundle, Arc<SwappableResolver>, Vec<JoinHandle<()>>);

fn dev_certificate(args: &ServeArgs, webhook_addr: SocketAddr) -> anyhow::Result<CertBundle> {
    let mut hosts = dev::default_hosts();
    if !webhook_addr.ip().is_unspecified() && !hosts.contains(&webhook_addr.ip().to_string()) {
        hosts.push(webhook_addr.ip().to_string());
    }
    hosts.extend(args.tls_sans.iter().filter(|h| !h.is_empty()).cloned());
    let (_, serving, action) = dev::ensure(&args.cert_dir, &hosts, SystemTime::now())?;
    let ca = dev::DevCertPaths::in_dir(&args.cert_dir).ca_cert;
    let what = match action {
        DevCertAction::Reused => "reused",
        DevCertAction::CreatedCa => "created",
        DevCertAction::RenewedServing => "renewed the serving certificate of",
    };
    tracing::info!(ca_bundle = %ca.display(), hosts = ?hosts, "{what} the development CA");
    Ok(serving)
}

fn file_certificate(args: &ServeArgs, metrics: &Arc<Metrics>, shutdown: &CancellationToken) -> anyhow::Result<Loaded> {
    let (Some(cert), Some(key)) = (&args.tls_cert_file, &args.tls_key_file) else {
        return Err(UsageError("--cert-mode files needs --tls-cert-file and --tls-key-file".into()).into());
    };
    let files = CertFiles { cert: cert.clone(), key: key.clone() };
    let bundle = files.read().map_err(|e| UsageError(e.to_string()))?;
    let resolver = Arc::new(SwappableResolver::new(&bundle).map_err(|e| UsageError(e.to_string()))?);
    let task = tokio::spawn(files::watch(
        files,
        resolver.clone(),
        metrics.clone(),
        bundle.clone(),
        FILES_POLL,
        shutdown.clone(),
    ));
    Ok((bundle, resolver, vec![task]))
}

async fn secret_certificate(
    args: &ServeArgs,
    client: kube::Client,
    namespace: &str,
    metrics: &Arc<Metrics>,
    leadership: &Leadership,
    shutdown: &CancellationToken,
) -> anyhow::Result<Loaded> {
    let hosts = service_hosts(&args.service_name, namespace, &args.policy.cluster_domain);
    let store = SecretStore::new(client.clone(), namespace, TLS_SECRET);
    let mut delay = Duration::from_millis(500);
    let stored = loop {
        match store.read_or_create(&hosts, SystemTime::now()).await {
            Ok(stored) => break stored,
            Err(err) if delay < Duration::from_secs(30) => {
                tracing::warn!(error = %err, "cannot load the TLS Secret yet; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(err) => return Err(UsageError(err.to_string()).into()),
        }
    };
    let bundle = stored.material.serving.clone();
    let resolver = Arc::new(SwappableResolver::new(&bundle)?);
    tracing::info!(secret = %format!("{namespace}/{TLS_SECRET}"), hosts = ?hosts, "loaded the serving certificate");
    let settings =
        Maintenance { hosts, interval: CERT_INTERVAL, settle: CERT_SETTLE, manage_ca_bundle: args.manage_ca_bundle };
    let keeper = Arc::new(CertKeeper::new(store, client, resolver.clone(), metrics.clone(), settings, bundle.clone()));
    let task = tokio::spawn(keeper.run(leadership.receiver(), shutdown.clone()));
    Ok((bundle, resolver, vec![task]))
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn log_example(ca: &Path, addr: SocketAddr) {
    let host = if addr.ip().is_unspecified() { "127.0.0.1".to_string() } else { addr.ip().to_string() };
    let host = if addr.is_ipv6() { format!("[{host}]") } else { host };
    tracing::info!(
        "try: curl --cacert {} -H 'Content-Type: application/json' --data-binary @webhooks/admission/mcpserverentries/create-blocked-host.request.json https://{host}:{}/validate/mcpserverentries",
        ca.display(),
        addr.port()
    );
}
