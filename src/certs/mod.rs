//! Certificates: generation of a CA and serving certificates, the local development folder, and
//! the hot-swappable rustls resolver the TLS listener serves from.

pub mod cabundle;
pub mod dev;
pub mod files;
pub mod generate;
pub mod maintain;
pub mod resolver;
pub mod rotation;
pub mod secret;

pub use generate::{CertBundle, generate_ca, issue_serving};
pub use resolver::SwappableResolver;

/// Errors while creating, reading or loading certificates.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("cannot access {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("invalid PEM in {what}: {reason}")]
    Pem { what: String, reason: String },
    #[error("TLS configuration rejected the key pair: {0}")]
    Tls(#[from] rustls::Error),
}
