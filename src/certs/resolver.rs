//! A rustls certificate resolver whose key pair can be replaced atomically, so that certificate
//! rotation never drops a connection or restarts the process.

use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::{CertBundle, CertError};

/// Serves whatever certificate was stored last; handshakes in progress keep the one they started with.
pub struct SwappableResolver {
    current: ArcSwap<CertifiedKey>,
}

impl fmt::Debug for SwappableResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SwappableResolver").finish_non_exhaustive()
    }
}

impl SwappableResolver {
    pub fn new(bundle: &CertBundle) -> Result<Self, CertError> {
        Ok(SwappableResolver { current: ArcSwap::from_pointee(certified_key(bundle)?) })
    }

    /// Replaces the served certificate; new handshakes use it immediately.
    pub fn swap(&self, bundle: &CertBundle) -> Result<(), CertError> {
        self.current.store(Arc::new(certified_key(bundle)?));
        Ok(())
    }
}

impl ResolvesServerCert for SwappableResolver {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// Parses a PEM chain and key into a key pair rustls can serve.
pub fn certified_key(bundle: &CertBundle) -> Result<CertifiedKey, CertError> {
    let pem =
        |what: &str, e: rustls::pki_types::pem::Error| CertError::Pem { what: what.into(), reason: e.to_string() };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(bundle.cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| pem("certificate", e))?;
    if chain.is_empty() {
        return Err(CertError::Pem { what: "certificate".into(), reason: "no certificate found".into() });
    }
    let key = PrivateKeyDer::from_pem_slice(bundle.key_pem.as_bytes()).map_err(|e| pem("private key", e))?;
    let provider =
        CryptoProvider::get_default().cloned().unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    Ok(CertifiedKey::from_der(chain, key, &provider)?)
}
