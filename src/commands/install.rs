//! `mcp-operator install`: development against a real cluster with a locally running `serve`.

use std::time::SystemTime;

use anyhow::Context;
use url::Url;

use super::UsageError;
use crate::certs::dev;
use crate::cli::InstallArgs;
use crate::deploy::install;

pub fn run(args: &InstallArgs) -> anyhow::Result<i32> {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the runtime")?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: &InstallArgs) -> anyhow::Result<i32> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    if args.crds && !args.uninstall {
        return Err(UsageError("--crds only goes with --uninstall".into()).into());
    }
    let client = kube::Client::try_default()
        .await
        .map_err(|e| UsageError(format!("cannot reach a cluster (KUBECONFIG / in-cluster config): {e}")))?;
    let lines = if args.uninstall {
        if args.crds {
            eprintln!(
                "warning: deleting the CRDs deletes every MCPGroup, MCPServerEntry, VirtualMCPServer and MCPRegistry in the cluster"
            );
        }
        install::uninstall(client, args.crds).await.map_err(|e| UsageError(e.to_string()))?
    } else {
        let Some(url) = &args.webhook_url else {
            return Err(UsageError(
                "--webhook-url is required (e.g. https://127.0.0.1:9443), or pass --uninstall".into(),
            )
            .into());
        };
        let parsed = Url::parse(url).map_err(|e| UsageError(format!("--webhook-url {url:?} is not a URL: {e}")))?;
        if parsed.scheme() != "https" {
            return Err(UsageError(
                "--webhook-url must be https:// (the API server only calls webhooks over TLS)".into(),
            )
            .into());
        }
        let host = parsed.host_str().unwrap_or_default().trim_matches(['[', ']']).to_string();
        // The serving certificate must name the host the API server dials; `serve` reuses it.
        let mut hosts = dev::default_hosts();
        if !hosts.contains(&host) {
            hosts.push(host);
        }
        let (ca, _, _) = dev::ensure(&args.cert_dir, &hosts, SystemTime::now())?;
        let lines = install::install(client, url, &ca.cert_pem).await.map_err(|e| UsageError(e.to_string()))?;
        eprintln!(
            "the API server now calls {url}; start the webhooks with: mcp-operator serve --cert-dir {} --tls-san {}",
            args.cert_dir.display(),
            hosts.last().map_or("", String::as_str)
        );
        lines
    };
    for line in lines {
        println!("{line}");
    }
    Ok(0)
}
