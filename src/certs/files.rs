//! Certificate mode `files`: PEM files written by cert-manager or another issuer, reloaded when
//! they change. Kubernetes updates Secret volumes by swapping a `..data` symlink in the directory,
//! so the directory is watched rather than the files, with a periodic re-read as a safety net.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{CertBundle, CertError, SwappableResolver};
use crate::metrics::Metrics;

/// The certificate and key files.
#[derive(Clone, Debug)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl CertFiles {
    pub fn read(&self) -> Result<CertBundle, CertError> {
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|source| CertError::Io { path: path.display().to_string(), source })
        };
        Ok(CertBundle { cert_pem: read(&self.cert)?, key_pem: read(&self.key)? })
    }

    fn dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = [&self.cert, &self.key]
            .iter()
            .map(|p| p.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf))
            .collect();
        dirs.dedup();
        dirs
    }
}

/// Re-reads the files on every change (and every `poll`) and swaps the served certificate when
/// they hold a new, valid key pair. A half-written pair is ignored until it is complete.
pub async fn watch(
    files: CertFiles,
    resolver: Arc<SwappableResolver>,
    metrics: Arc<Metrics>,
    mut served: CertBundle,
    poll: Duration,
    shutdown: CancellationToken,
) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok() {
            let _ = tx.send(());
        }
    });
    let _watcher = match watcher {
        Ok(mut watcher) => {
            for dir in files.dirs() {
                if let Err(err) = watcher.watch(&dir, RecursiveMode::NonRecursive) {
                    tracing::warn!(dir = %dir.display(), error = %err, "cannot watch the certificate directory; polling only");
                }
            }
            Some(watcher)
        }
        Err(err) => {
            tracing::warn!(error = %err, "file watching unavailable; polling only");
            None
        }
    };
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = rx.recv() => {
                // Let the writer finish the pair before reading.
                tokio::time::sleep(Duration::from_millis(200)).await;
                while rx.try_recv().is_ok() {}
            }
            () = tokio::time::sleep(poll) => {}
        }
        match files.read() {
            Ok(bundle) if bundle != served => match resolver.swap(&bundle) {
                Ok(()) => {
                    super::maintain::record_expiry(&metrics, &bundle);
                    tracing::info!(cert = %files.cert.display(), "reloaded the serving certificate");
                    served = bundle;
                }
                Err(err) => tracing::warn!(error = %err, "certificate files changed but do not form a valid pair yet"),
            },
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "cannot read the certificate files"),
        }
    }
}
