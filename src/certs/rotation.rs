//! When certificates change, as a pure function of their state and the clock.
//!
//! Serving certificates are renewed when a third of their lifetime is left. The CA is rotated
//! with overlap, one step at a time, so the API server trusts the server at every moment:
//! 1. add a new CA next to the old one in the published bundle (serving cert unchanged);
//! 2. once every bundle carries both, switch the serving certificate to one signed by the new CA;
//! 3. once every replica serves the new certificate, drop the old CA from the bundle.
//!
//! Steps 2 and 3 wait `settle` after the previous step, which covers the leader's bundle
//! injection and the replicas' reload interval.

use std::time::{Duration, SystemTime};

use super::generate::{CertInfo, inspect};
use super::{CertBundle, CertError};

/// Everything the `mcp-operator-webhook-tls` Secret holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsMaterial {
    /// The CA that signs serving certificates.
    pub ca: CertBundle,
    /// A new CA being introduced (step 1 done, step 2 pending).
    pub next_ca: Option<CertBundle>,
    /// PEM certificates the API server must trust (`ca.crt`): the CA, plus the other one while
    /// a rotation overlaps.
    pub trust_bundle: String,
    pub serving: CertBundle,
    /// When the last rotation step happened.
    pub step_at: Option<SystemTime>,
}

/// What to do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    Nothing,
    /// The serving certificate expires soon, does not cover the names, or is not from the CA.
    RenewServing,
    /// Step 1: the CA has less than a third of its lifetime left.
    IntroduceCa,
    /// Step 2.
    SwitchToNextCa,
    /// Step 3.
    DropOldCa,
}

/// Whether a certificate with `info` is in the last third of its lifetime at `now`.
pub fn due_for_renewal(info: &CertInfo, now: SystemTime) -> bool {
    let lifetime = info.not_after.duration_since(info.not_before).unwrap_or_default();
    let left = info.not_after.duration_since(now).unwrap_or_default();
    left < lifetime / 3
}

fn covers(info: &CertInfo, hosts: &[String]) -> bool {
    hosts.iter().all(|h| info.sans.iter().any(|s| s.eq_ignore_ascii_case(h)))
}

/// Number of PEM certificates in a bundle.
pub fn certificates_in(bundle: &str) -> usize {
    bundle.matches("-----BEGIN CERTIFICATE-----").count()
}

/// Decides the next step for `material` serving `hosts` at `now`.
pub fn plan(material: &TlsMaterial, hosts: &[String], now: SystemTime, settle: Duration) -> Result<Plan, CertError> {
    let settled = material.step_at.is_none_or(|at| now.duration_since(at).unwrap_or_default() >= settle);
    if material.next_ca.is_some() {
        return Ok(if settled { Plan::SwitchToNextCa } else { Plan::Nothing });
    }
    if certificates_in(&material.trust_bundle) > 1 {
        return Ok(if settled { Plan::DropOldCa } else { Plan::Nothing });
    }
    let ca = inspect(&material.ca.cert_pem)?;
    if due_for_renewal(&ca, now) {
        return Ok(Plan::IntroduceCa);
    }
    let serving = inspect(&material.serving.cert_pem).ok();
    let healthy =
        serving.is_some_and(|s| !due_for_renewal(&s, now) && covers(&s, hosts) && s.not_after <= ca.not_after);
    Ok(if healthy && signed_by(&material.serving, &material.ca) { Plan::Nothing } else { Plan::RenewServing })
}

/// Whether `cert` verifies against `ca`'s key.
pub fn signed_by(cert: &CertBundle, ca: &CertBundle) -> bool {
    let parse = |pem: &str| x509_parser::pem::parse_x509_pem(pem.as_bytes()).ok().map(|(_, p)| p);
    let (Some(cert_pem), Some(ca_pem)) = (parse(&cert.cert_pem), parse(&ca.cert_pem)) else { return false };
    let (Ok(cert), Ok(ca)) = (cert_pem.parse_x509(), ca_pem.parse_x509()) else { return false };
    cert.verify_signature(Some(ca.public_key())).is_ok()
}

/// Carries out `plan` on `material` at `now` (key generation included); `Nothing` returns it as is.
pub fn apply(material: &TlsMaterial, plan: &Plan, hosts: &[String], now: SystemTime) -> Result<TlsMaterial, CertError> {
    use super::generate::{CA_LIFETIME, SERVING_LIFETIME};
    use super::{generate_ca, issue_serving};
    let mut next = material.clone();
    match plan {
        Plan::Nothing => return Ok(next),
        Plan::RenewServing => next.serving = issue_serving(&material.ca, hosts, now, SERVING_LIFETIME)?,
        Plan::IntroduceCa => {
            let new_ca = generate_ca(CA_COMMON_NAME, now, CA_LIFETIME)?;
            next.trust_bundle = format!("{}{}", material.ca.cert_pem, new_ca.cert_pem);
            next.next_ca = Some(new_ca);
            next.step_at = Some(now);
        }
        Plan::SwitchToNextCa => {
            let Some(new_ca) = material.next_ca.clone() else { return Ok(next) };
            next.serving = issue_serving(&new_ca, hosts, now, SERVING_LIFETIME)?;
            next.ca = new_ca;
            next.next_ca = None;
            next.step_at = Some(now);
        }
        Plan::DropOldCa => {
            next.trust_bundle = material.ca.cert_pem.clone();
            next.step_at = Some(now);
        }
    }
    Ok(next)
}

pub const CA_COMMON_NAME: &str = "mcp-operator webhook CA";

/// New material: a CA and a serving certificate for `hosts`.
pub fn initial(hosts: &[String], now: SystemTime) -> Result<TlsMaterial, CertError> {
    use super::generate::{CA_LIFETIME, SERVING_LIFETIME};
    let ca = super::generate_ca(CA_COMMON_NAME, now, CA_LIFETIME)?;
    let serving = super::issue_serving(&ca, hosts, now, SERVING_LIFETIME)?;
    Ok(TlsMaterial { trust_bundle: ca.cert_pem.clone(), ca, next_ca: None, serving, step_at: None })
}

#[cfg(test)]
mod tests {
    use super::super::generate::{CA_LIFETIME, SERVING_LIFETIME};
    use super::super::{generate_ca, issue_serving};
    use super::*;

    const SETTLE: Duration = Duration::from_secs(120);

    fn hosts() -> Vec<String> {
        vec!["svc".into(), "svc.ns.svc".into()]
    }

    fn material(now: SystemTime) -> TlsMaterial {
        let ca = generate_ca("ca", now, CA_LIFETIME).unwrap();
        let serving = issue_serving(&ca, &hosts(), now, SERVING_LIFETIME).unwrap();
        TlsMaterial { trust_bundle: ca.cert_pem.clone(), ca, next_ca: None, serving, step_at: None }
    }

    #[test]
    fn fresh_material_needs_nothing() {
        let now = SystemTime::now();
        assert_eq!(plan(&material(now), &hosts(), now, SETTLE).unwrap(), Plan::Nothing);
    }

    #[test]
    fn serving_renews_at_two_thirds_of_its_lifetime() {
        let now = SystemTime::now();
        let m = material(now);
        let two_thirds = SERVING_LIFETIME * 2 / 3;
        let before = now + two_thirds - Duration::from_secs(3600);
        let after = now + two_thirds + Duration::from_secs(3600);
        assert_eq!(plan(&m, &hosts(), before, SETTLE).unwrap(), Plan::Nothing);
        assert_eq!(plan(&m, &hosts(), after, SETTLE).unwrap(), Plan::RenewServing);
    }

    #[test]
    fn new_names_or_a_foreign_signer_renew_the_serving_certificate() {
        let now = SystemTime::now();
        let m = material(now);
        let mut more = hosts();
        more.push("svc.ns.svc.cluster.local".into());
        assert_eq!(plan(&m, &more, now, SETTLE).unwrap(), Plan::RenewServing);
        let other = generate_ca("other", now, CA_LIFETIME).unwrap();
        let foreign = TlsMaterial { serving: issue_serving(&other, &hosts(), now, SERVING_LIFETIME).unwrap(), ..m };
        assert_eq!(plan(&foreign, &hosts(), now, SETTLE).unwrap(), Plan::RenewServing);
    }

    #[test]
    fn ca_rotation_walks_through_overlap_steps_with_settle_time() {
        let now = SystemTime::now();
        let m = material(now);
        let late = now + CA_LIFETIME * 2 / 3 + Duration::from_secs(86_400);
        assert_eq!(plan(&m, &hosts(), late, SETTLE).unwrap(), Plan::IntroduceCa);
        let next = generate_ca("next", late, CA_LIFETIME).unwrap();
        let step1 = TlsMaterial {
            trust_bundle: format!("{}{}", m.ca.cert_pem, next.cert_pem),
            next_ca: Some(next.clone()),
            step_at: Some(late),
            ..m.clone()
        };
        assert_eq!(
            plan(&step1, &hosts(), late + SETTLE / 2, SETTLE).unwrap(),
            Plan::Nothing,
            "waits for bundles to settle"
        );
        assert_eq!(plan(&step1, &hosts(), late + SETTLE, SETTLE).unwrap(), Plan::SwitchToNextCa);
        let step2 = TlsMaterial {
            ca: next.clone(),
            next_ca: None,
            serving: issue_serving(&next, &hosts(), late + SETTLE, SERVING_LIFETIME).unwrap(),
            step_at: Some(late + SETTLE),
            ..step1
        };
        assert!(signed_by(&step2.serving, &next));
        assert_eq!(
            plan(&step2, &hosts(), late + SETTLE, SETTLE).unwrap(),
            Plan::Nothing,
            "old CA stays until replicas reload"
        );
        assert_eq!(plan(&step2, &hosts(), late + SETTLE * 2, SETTLE).unwrap(), Plan::DropOldCa);
        let step3 = TlsMaterial { trust_bundle: next.cert_pem.clone(), step_at: Some(late + SETTLE * 2), ..step2 };
        assert_eq!(plan(&step3, &hosts(), late + SETTLE * 3, SETTLE).unwrap(), Plan::Nothing);
    }
}
