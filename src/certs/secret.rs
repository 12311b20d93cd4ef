//! Certificate mode `auto`: the CA and serving certificate live in one Secret that the first
//! replica creates and every replica reads.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::{Api, ObjectMeta, PostParams};

use super::rotation::{TlsMaterial, initial};
use super::{CertBundle, CertError};

const TRUST_BUNDLE: &str = "ca.crt";
const SIGNER_CERT: &str = "ca-signer.crt";
const SIGNER_KEY: &str = "ca-signer.key";
const NEXT_CERT: &str = "next-ca.crt";
const NEXT_KEY: &str = "next-ca.key";
const SERVING_CERT: &str = "tls.crt";
const SERVING_KEY: &str = "tls.key";
/// Unix seconds of the last CA rotation step.
pub const STEP_ANNOTATION: &str = "mcp-operator.toolhive.stacklok.dev/rotation-step-at";

/// Errors of the Secret-backed store.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("{action} Secret {namespace}/{name}: {source}")]
    Api { action: &'static str, namespace: String, name: String, source: Box<kube::Error> },
    #[error("Secret {0} does not hold usable certificates: {1}")]
    Malformed(String, String),
    #[error(transparent)]
    Cert(#[from] CertError),
}

/// The Secret named `name` in `namespace`.
#[derive(Clone)]
pub struct SecretStore {
    api: Api<Secret>,
    pub namespace: String,
    pub name: String,
}

/// A read of the Secret: its material and the resourceVersion to update against.
#[derive(Clone, Debug)]
pub struct Stored {
    pub material: TlsMaterial,
    pub resource_version: Option<String>,
}

impl SecretStore {
    pub fn new(client: Client, namespace: &str, name: &str) -> Self {
        SecretStore {
            api: Api::namespaced(client, namespace),
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }

    fn api_err(&self, action: &'static str) -> impl FnOnce(kube::Error) -> SecretError + '_ {
        move |source| SecretError::Api {
            action,
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            source: Box::new(source),
        }
    }

    pub async fn read(&self) -> Result<Option<Stored>, SecretError> {
        let Some(secret) = self.api.get_opt(&self.name).await.map_err(self.api_err("reading"))? else {
            return Ok(None);
        };
        let material = decode(&secret).map_err(|why| SecretError::Malformed(self.name.clone(), why))?;
        Ok(Some(Stored { material, resource_version: secret.metadata.resource_version }))
    }

    /// The stored material, creating it first when the Secret does not exist. Of several replicas
    /// starting together exactly one create succeeds; the others read the winner's.
    pub async fn read_or_create(&self, hosts: &[String], now: SystemTime) -> Result<Stored, SecretError> {
        if let Some(stored) = self.read().await? {
            return Ok(stored);
        }
        let material = initial(hosts, now)?;
        match self.api.create(&PostParams::default(), &self.encode(&material, None)).await {
            Ok(created) => Ok(Stored { material, resource_version: created.metadata.resource_version }),
            Err(kube::Error::Api(status)) if status.code == 409 => self
                .read()
                .await?
                .ok_or_else(|| SecretError::Malformed(self.name.clone(), "vanished after a create race".into())),
            Err(source) => Err(self.api_err("creating")(source)),
        }
    }

    /// Replaces the material, failing with a 409 conflict when someone else wrote it meanwhile.
    pub async fn update(
        &self,
        material: &TlsMaterial,
        resource_version: Option<String>,
    ) -> Result<Stored, SecretError> {
        let secret = self.encode(material, resource_version);
        let updated =
            self.api.replace(&self.name, &PostParams::default(), &secret).await.map_err(self.api_err("updating"))?;
        Ok(Stored { material: material.clone(), resource_version: updated.metadata.resource_version })
    }

    fn encode(&self, material: &TlsMaterial, resource_version: Option<String>) -> Secret {
        let mut data = BTreeMap::new();
        let mut put = |key: &str, value: &str| {
            data.insert(key.to_string(), ByteString(value.as_bytes().to_vec()));
        };
        put(TRUST_BUNDLE, &material.trust_bundle);
        put(SIGNER_CERT, &material.ca.cert_pem);
        put(SIGNER_KEY, &material.ca.key_pem);
        put(SERVING_CERT, &material.serving.cert_pem);
        put(SERVING_KEY, &material.serving.key_pem);
        if let Some(next) = &material.next_ca {
            put(NEXT_CERT, &next.cert_pem);
            put(NEXT_KEY, &next.key_pem);
        }
        let annotations = material.step_at.map(|at| {
            let secs = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
            BTreeMap::from([(STEP_ANNOTATION.to_string(), secs.to_string())])
        });
        Secret {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                namespace: Some(self.namespace.clone()),
                labels: Some(BTreeMap::from([("app.kubernetes.io/name".into(), "mcp-operator".into())])),
                annotations,
                resource_version,
                ..ObjectMeta::default()
            },
            type_: Some("kubernetes.io/tls".into()),
            data: Some(data),
            ..Secret::default()
        }
    }
}

fn decode(secret: &Secret) -> Result<TlsMaterial, String> {
    let data = secret.data.as_ref().ok_or("no data")?;
    let text = |key: &str| -> Result<String, String> {
        let bytes = data.get(key).ok_or_else(|| format!("key {key} missing"))?;
        String::from_utf8(bytes.0.clone()).map_err(|_| format!("key {key} is not PEM text"))
    };
    let optional = |key: &str| text(key).ok();
    let next_ca = match (optional(NEXT_CERT), optional(NEXT_KEY)) {
        (Some(cert_pem), Some(key_pem)) => Some(CertBundle { cert_pem, key_pem }),
        _ => None,
    };
    let step_at = secret
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(STEP_ANNOTATION))
        .and_then(|s| s.parse::<u64>().ok())
        .map(|secs| UNIX_EPOCH + Duration::from_secs(secs));
    Ok(TlsMaterial {
        trust_bundle: text(TRUST_BUNDLE)?,
        ca: CertBundle { cert_pem: text(SIGNER_CERT)?, key_pem: text(SIGNER_KEY)? },
        next_ca,
        serving: CertBundle { cert_pem: text(SERVING_CERT)?, key_pem: text(SERVING_KEY)? },
        step_at,
    })
}
