//! CA and serving-certificate generation with rcgen (ECDSA P-256).

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

use super::CertError;

pub const CA_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
pub const SERVING_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

/// A certificate with its private key, both PEM-encoded, plus the CA that signed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertBundle {
    pub cert_pem: String,
    pub key_pem: String,
}

/// A new self-signed CA valid for `lifetime` from `now`.
pub fn generate_ca(common_name: &str, now: SystemTime, lifetime: Duration) -> Result<CertBundle, CertError> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = name(common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    set_validity(&mut params, now, lifetime);
    let cert = params.self_signed(&key)?;
    Ok(CertBundle { cert_pem: cert.pem(), key_pem: key.serialize_pem() })
}

/// A serving certificate for `hosts` (DNS names or IP addresses), signed by `ca`.
pub fn issue_serving(
    ca: &CertBundle,
    hosts: &[String],
    now: SystemTime,
    lifetime: Duration,
) -> Result<CertBundle, CertError> {
    let ca_key = KeyPair::from_pem(&ca.key_pem)?;
    let issuer = Issuer::from_ca_cert_pem(&ca.cert_pem, ca_key)?;
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = name(hosts.first().map_or("mcp-operator", String::as_str));
    params.subject_alt_names = hosts
        .iter()
        .map(|h| match h.parse::<IpAddr>() {
            Ok(ip) => Ok(SanType::IpAddress(ip)),
            Err(_) => h.clone().try_into().map(SanType::DnsName),
        })
        .collect::<Result<_, _>>()?;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    set_validity(&mut params, now, lifetime);
    let cert = params.signed_by(&key, &issuer)?;
    Ok(CertBundle { cert_pem: cert.pem(), key_pem: key.serialize_pem() })
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn.push(DnType::OrganizationName, "mcp-operator");
    dn
}

fn set_validity(params: &mut CertificateParams, now: SystemTime, lifetime: Duration) {
    // Backdate a little so a peer with a slightly slow clock accepts a fresh certificate.
    let start = now - Duration::from_secs(300);
    params.not_before = start.into();
    params.not_after = (now + lifetime).into();
}

/// Facts read back from a PEM certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    pub not_before: SystemTime,
    pub not_after: SystemTime,
    /// DNS names and IP addresses of the subjectAltName extension, as strings.
    pub sans: Vec<String>,
    pub is_ca: bool,
}

/// Parses the first certificate of a PEM document.
pub fn inspect(cert_pem: &str) -> Result<CertInfo, CertError> {
    let pem_err = |reason: String| CertError::Pem { what: "certificate".into(), reason };
    let (_, pem) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes()).map_err(|e| pem_err(e.to_string()))?;
    let cert = pem.parse_x509().map_err(|e| pem_err(e.to_string()))?;
    let to_time = |t: x509_parser::time::ASN1Time| {
        SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(t.timestamp()).unwrap_or_default())
    };
    let mut sans = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                x509_parser::extensions::GeneralName::DNSName(d) => sans.push(d.to_string()),
                x509_parser::extensions::GeneralName::IPAddress(bytes) => {
                    let ip = match bytes.len() {
                        4 => <[u8; 4]>::try_from(*bytes).ok().map(IpAddr::from),
                        16 => <[u8; 16]>::try_from(*bytes).ok().map(IpAddr::from),
                        _ => None,
                    };
                    sans.extend(ip.map(|i| i.to_string()));
                }
                _ => {}
            }
        }
    }
    Ok(CertInfo {
        not_before: to_time(cert.validity().not_before),
        not_after: to_time(cert.validity().not_after),
        sans,
        is_ca: cert.is_ca(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serving_certificate_has_the_requested_names_and_lifetimes() {
        let now = SystemTime::now();
        let ca = generate_ca("test-ca", now, CA_LIFETIME).unwrap();
        let hosts = vec!["svc".to_string(), "svc.ns.svc".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
        let serving = issue_serving(&ca, &hosts, now, SERVING_LIFETIME).unwrap();
        let info = inspect(&serving.cert_pem).unwrap();
        assert_eq!(info.sans, hosts);
        assert!(!info.is_ca);
        let lifetime = info.not_after.duration_since(now).unwrap();
        assert!(lifetime <= SERVING_LIFETIME && lifetime > SERVING_LIFETIME - Duration::from_secs(5));
        let ca_info = inspect(&ca.cert_pem).unwrap();
        assert!(ca_info.is_ca);
        assert!(ca_info.not_after.duration_since(now).unwrap() > Duration::from_secs(9 * 365 * 24 * 3600));
    }
}
