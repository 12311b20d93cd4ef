//! `mcp-operator serve`: the deployable.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;

use super::UsageError;
use crate::admission::NoCluster;
use crate::certs::dev::{self, DevCertAction};
use crate::certs::generate::inspect;
use crate::certs::{CertBundle, SwappableResolver};
use crate::cli::{CertMode, ServeArgs};
use crate::metrics::Metrics;
use crate::server::{self, Limits, Readiness, ServerOptions, tls};

pub fn run(args: &ServeArgs) -> anyhow::Result<i32> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the runtime")?;
    runtime.block_on(serve(args))
}

/// Running inside a pod (the API server's Service environment is present).
pub fn in_cluster() -> bool {
    std::env::var_os("KUBERNETES_SERVICE_HOST").is_some()
}

async fn serve(args: &ServeArgs) -> anyhow::Result<i32> {
    // One crypto provider for the whole process, installed before any TLS object exists.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let bind_ip = if in_cluster() { IpAddr::V4(Ipv4Addr::UNSPECIFIED) } else { IpAddr::V4(Ipv4Addr::LOCALHOST) };
    let webhook_addr = args.webhook_addr.unwrap_or(SocketAddr::new(bind_ip, 9443));
    let admin_addr = args.admin_addr.unwrap_or(SocketAddr::new(bind_ip, 8080));
    let metrics = Arc::new(Metrics::new());
    let readiness = Arc::new(Readiness::default());

    let bundle = load_certificate(args, webhook_addr)?;
    let resolver = Arc::new(SwappableResolver::new(&bundle)?);
    record_expiry(&metrics, &bundle);
    readiness.set_cert_loaded();

    let limits = Limits { max_connections: args.max_connections, ..Limits::default() };
    let running = server::start(ServerOptions {
        webhook_addr,
        admin_addr,
        tls: tls::server_config(resolver),
        policy: args.policy.policy(),
        cluster: Arc::new(NoCluster),
        metrics,
        readiness: readiness.clone(),
        limits,
    })
    .await
    .map_err(|e| UsageError(format!("cannot listen on {webhook_addr} / {admin_addr}: {e}")))?;
    tracing::info!(webhooks = %format!("https://{}", running.webhook_addr), admin = %format!("http://{}", running.admin_addr), "serving");

    let shutdown = running.shutdown_token();
    let drain = Duration::from_secs(args.drain_seconds);
    tokio::spawn(async move {
        wait_for_signal().await;
        readiness.start_draining();
        tracing::info!(
            drain_seconds = drain.as_secs(),
            "shutting down: not ready, still serving during the drain period"
        );
        tokio::time::sleep(drain).await;
        shutdown.cancel();
    });
    running.wait().await;
    tracing::info!("stopped");
    Ok(0)
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

fn load_certificate(args: &ServeArgs, webhook_addr: SocketAddr) -> anyhow::Result<CertBundle> {
    match args.cert_mode.unwrap_or(CertMode::Dev) {
        CertMode::Dev => {
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
                DevCertAction::RenewedServing => "renewed serving certificate of",
            };
            tracing::info!(ca_bundle = %ca.display(), hosts = ?hosts, "{what} the development CA");
            log_example(&ca, webhook_addr);
            Ok(serving)
        }
        CertMode::Files => {
            let (Some(cert), Some(key)) = (&args.tls_cert_file, &args.tls_key_file) else {
                return Err(UsageError("--cert-mode files needs --tls-cert-file and --tls-key-file".into()).into());
            };
            Ok(CertBundle { cert_pem: read(cert)?, key_pem: read(key)? })
        }
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).map_err(|e| UsageError(format!("cannot read {}: {e}", path.display())).into())
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

fn record_expiry(metrics: &Metrics, bundle: &CertBundle) {
    if let Ok(info) = inspect(&bundle.cert_pem) {
        let secs = info.not_after.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        metrics.certificate_not_after.set(i64::try_from(secs).unwrap_or(i64::MAX));
    }
}
