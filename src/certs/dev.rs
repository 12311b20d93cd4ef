//! The development certificate folder (`certs/` by default): a local CA and a serving
//! certificate for the loopback names, created on first use and reused until they expire or the
//! requested names change.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::generate::{CA_LIFETIME, SERVING_LIFETIME, inspect};
use super::{CertBundle, CertError, generate_ca, issue_serving};

/// Paths of the files in the folder.
#[derive(Clone, Debug)]
pub struct DevCertPaths {
    pub ca_cert: PathBuf,
    pub ca_key: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl DevCertPaths {
    pub fn in_dir(dir: &Path) -> Self {
        DevCertPaths {
            ca_cert: dir.join("ca.crt"),
            ca_key: dir.join("ca.key"),
            cert: dir.join("tls.crt"),
            key: dir.join("tls.key"),
        }
    }
}

/// The names a development serving certificate covers unless more are asked for.
pub fn default_hosts() -> Vec<String> {
    vec!["localhost".into(), "127.0.0.1".into(), "::1".into()]
}

/// What `ensure` did, for the start-up log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DevCertAction {
    Reused,
    CreatedCa,
    RenewedServing,
}

/// The CA and serving certificate of `dir`, created or renewed as needed.
pub fn ensure(
    dir: &Path,
    hosts: &[String],
    now: SystemTime,
) -> Result<(CertBundle, CertBundle, DevCertAction), CertError> {
    let paths = DevCertPaths::in_dir(dir);
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| CertError::Io { path, source }
    };
    fs::create_dir_all(dir).map_err(io(dir))?;
    let (ca, created_ca) = match read_bundle(&paths.ca_cert, &paths.ca_key).filter(|ca| still_valid(ca, now, &[])) {
        Some(ca) => (ca, false),
        None => {
            let ca = generate_ca("mcp-operator development CA", now, CA_LIFETIME)?;
            write_private(&paths.ca_key, &ca.key_pem).map_err(io(&paths.ca_key))?;
            fs::write(&paths.ca_cert, &ca.cert_pem).map_err(io(&paths.ca_cert))?;
            (ca, true)
        }
    };
    let existing = read_bundle(&paths.cert, &paths.key).filter(|s| !created_ca && still_valid(s, now, hosts));
    if let Some(serving) = existing {
        return Ok((ca, serving, DevCertAction::Reused));
    }
    let serving = issue_serving(&ca, hosts, now, SERVING_LIFETIME)?;
    write_private(&paths.key, &serving.key_pem).map_err(io(&paths.key))?;
    fs::write(&paths.cert, &serving.cert_pem).map_err(io(&paths.cert))?;
    let action = if created_ca { DevCertAction::CreatedCa } else { DevCertAction::RenewedServing };
    Ok((ca, serving, action))
}

fn read_bundle(cert: &Path, key: &Path) -> Option<CertBundle> {
    Some(CertBundle { cert_pem: fs::read_to_string(cert).ok()?, key_pem: fs::read_to_string(key).ok()? })
}

/// Valid for at least another day and covering every name in `hosts`.
fn still_valid(bundle: &CertBundle, now: SystemTime, hosts: &[String]) -> bool {
    let Ok(info) = inspect(&bundle.cert_pem) else { return false };
    let names_ok = hosts.iter().all(|h| info.sans.iter().any(|s| s.eq_ignore_ascii_case(h)));
    info.not_after > now + Duration::from_secs(24 * 3600) && names_ok
}

/// Writes a private key readable by the owner only.
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_then_reuses_then_renews_for_new_names() {
        let dir = std::env::temp_dir().join(format!("mcp-dev-certs-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let now = SystemTime::now();
        let (ca1, s1, a1) = ensure(&dir, &default_hosts(), now).unwrap();
        assert_eq!(a1, DevCertAction::CreatedCa);
        let (ca2, s2, a2) = ensure(&dir, &default_hosts(), now).unwrap();
        assert_eq!((a2, &ca2, &s2), (DevCertAction::Reused, &ca1, &s1));
        let mut more = default_hosts();
        more.push("host.docker.internal".into());
        let (ca3, s3, a3) = ensure(&dir, &more, now).unwrap();
        assert_eq!(a3, DevCertAction::RenewedServing);
        assert_eq!(ca3, ca1);
        assert_ne!(s3, s1);
        let later = now + SERVING_LIFETIME;
        let (_, _, a4) = ensure(&dir, &more, later).unwrap();
        assert_eq!(a4, DevCertAction::RenewedServing, "an expiring certificate is renewed");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.join("tls.key")).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "private keys are not readable by others");
        }
        let _ = fs::remove_dir_all(&dir);
    }
}
