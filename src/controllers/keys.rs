//! Secrets and ConfigMaps as the caches keep them: lean metadata and the names of their keys.
//!
//! Secret values are never kept: each is read only for its decoded size while the watch stream is
//! decoded, so no Secret value is ever stored, cloned or printable from the cache. ConfigMap values
//! are read for a digest of the content and dropped. Annotations are dropped as well, because
//! `kubectl.kubernetes.io/last-applied-configuration` on a Secret holds its values.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use serde::{Deserialize, Deserializer};

use super::cache::{Cached, digest};
use super::kinds::Kind;

/// A Secret reduced to its metadata, key names and the decoded size of each value.
#[derive(Clone, Debug, Default)]
pub struct SecretKeys {
    pub metadata: ObjectMeta,
    pub keys: BTreeSet<String>,
    /// Bytes of each value once decoded (sizes only: enough to tell a well-formed key).
    pub sizes: BTreeMap<String, usize>,
}

/// A ConfigMap reduced to its metadata, key names (`data` and `binaryData`) and a digest of its
/// content, so that objects whose rendering depends on the content (an authorization ConfigMap)
/// are re-reconciled when it changes; values are not kept.
#[derive(Clone, Debug, Default)]
pub struct ConfigMapKeys {
    pub metadata: ObjectMeta,
    pub keys: BTreeSet<String>,
    pub content: u64,
}

impl SecretKeys {
    pub fn has_key(&self, key: &str) -> bool {
        self.keys.contains(key)
    }

    /// The decoded size of the value of `key`, if present.
    pub fn size_of(&self, key: &str) -> Option<usize> {
        self.sizes.get(key).copied()
    }
}

impl<'de> Deserialize<'de> for SecretKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            #[serde(deserialize_with = "lean_metadata")]
            metadata: ObjectMeta,
            #[serde(default)]
            data: Option<BTreeMap<String, EncodedSize>>,
        }
        let wire = Wire::deserialize(deserializer)?;
        let sizes: BTreeMap<String, usize> =
            wire.data.unwrap_or_default().into_iter().map(|(k, EncodedSize(n))| (k, n)).collect();
        Ok(SecretKeys { metadata: wire.metadata, keys: sizes.keys().cloned().collect(), sizes })
    }
}

/// The decoded size of a base64 value, read without keeping the value.
struct EncodedSize(usize);

impl<'de> Deserialize<'de> for EncodedSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = EncodedSize;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a base64 string")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<EncodedSize, E> {
                let padding = text.bytes().rev().take_while(|b| *b == b'=').count();
                Ok(EncodedSize((text.len() / 4 * 3).saturating_sub(padding)))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<EncodedSize, E> {
                Ok(EncodedSize(0))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl ConfigMapKeys {
    pub fn has_key(&self, key: &str) -> bool {
        self.keys.contains(key)
    }
}

impl<'de> Deserialize<'de> for ConfigMapKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Wire {
            #[serde(deserialize_with = "lean_metadata")]
            metadata: ObjectMeta,
            #[serde(default)]
            data: Option<BTreeMap<String, String>>,
            #[serde(default)]
            binary_data: Option<BTreeMap<String, String>>,
        }
        let wire = Wire::deserialize(deserializer)?;
        let (data, binary) = (wire.data.unwrap_or_default(), wire.binary_data.unwrap_or_default());
        let content = digest(&(&data, &binary));
        let keys = data.into_keys().chain(binary.into_keys()).collect();
        Ok(ConfigMapKeys { metadata: wire.metadata, keys, content })
    }
}

/// Metadata without labels, annotations and managed fields: nothing the controllers read, and the
/// last-applied annotation of a Secret contains its data.
fn lean_metadata<'de, D: Deserializer<'de>>(deserializer: D) -> Result<ObjectMeta, D::Error> {
    let mut meta = ObjectMeta::deserialize(deserializer)?;
    meta.labels = None;
    meta.annotations = None;
    meta.managed_fields = None;
    Ok(meta)
}

macro_rules! core_v1_resource {
    ($type:ty, $kind:literal, $plural:literal) => {
        impl Resource for $type {
            type DynamicType = ();
            type Scope = NamespaceResourceScope;

            fn kind(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($kind)
            }
            fn group(_: &()) -> Cow<'_, str> {
                Cow::Borrowed("")
            }
            fn version(_: &()) -> Cow<'_, str> {
                Cow::Borrowed("v1")
            }
            fn plural(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($plural)
            }
            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn meta_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }
    };
}

core_v1_resource!(SecretKeys, "Secret", "secrets");
core_v1_resource!(ConfigMapKeys, "ConfigMap", "configmaps");

/// Referrers see of these only which keys exist.
impl Cached for SecretKeys {
    fn seen_by_referrers(&self, _kind: Kind) -> u64 {
        digest(&self.keys)
    }
    fn prune(&mut self, _kind: Kind) {}
}

impl Cached for ConfigMapKeys {
    fn seen_by_referrers(&self, _kind: Kind) -> u64 {
        self.content
    }
    fn prune(&mut self, _kind: Kind) {}
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_secret_keeps_key_names_and_drops_values_and_annotations() {
        let secret: SecretKeys = serde_json::from_value(json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": "api", "namespace": "team",
                "annotations": { "kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"token\":\"czNjcjN0\"}}" },
                "managedFields": [{ "manager": "kubectl" }]
            },
            "data": { "token": "czNjcjN0", "other": "eA==" },
            "type": "Opaque"
        }))
        .unwrap();
        assert_eq!(secret.keys, BTreeSet::from(["other".to_string(), "token".to_string()]));
        assert!(secret.has_key("token") && !secret.has_key("czNjcjN0"));
        assert_eq!((secret.size_of("token"), secret.size_of("other")), (Some(6), Some(1)), "sizes, not values");
        assert_eq!(secret.metadata.annotations, None);
        assert_eq!(secret.metadata.managed_fields, None);
        let printed = format!("{secret:?}");
        assert!(!printed.contains("czNjcjN0"), "a value leaked into the cached object: {printed}");
    }

    #[test]
    fn a_config_map_has_the_keys_of_data_and_binary_data() {
        let cm: ConfigMapKeys = serde_json::from_value(json!({
            "metadata": { "name": "ca", "namespace": "team" },
            "data": { "ca.crt": "-----BEGIN CERTIFICATE-----" },
            "binaryData": { "ca.der": "AAEC" }
        }))
        .unwrap();
        assert!(cm.has_key("ca.crt") && cm.has_key("ca.der"));
        let empty: ConfigMapKeys =
            serde_json::from_value(json!({ "metadata": { "name": "e" }, "data": null })).unwrap();
        assert!(empty.keys.is_empty());
    }

    #[test]
    fn referrers_see_a_change_of_content_but_not_of_metadata() {
        let cm = |data: serde_json::Value, labels: serde_json::Value| -> ConfigMapKeys {
            serde_json::from_value(json!({
                "metadata": { "name": "authz", "namespace": "team", "labels": labels },
                "data": data
            }))
            .unwrap()
        };
        let seen = |c: &ConfigMapKeys| c.seen_by_referrers(Kind::ConfigMap);
        let before = cm(json!({ "authz.json": "{\"policies\":[]}" }), json!({}));
        let relabelled = cm(json!({ "authz.json": "{\"policies\":[]}" }), json!({ "team": "a" }));
        let edited = cm(json!({ "authz.json": "{\"policies\":[\"permit\"]}" }), json!({}));
        let moved = cm(json!({ "other.json": "{\"policies\":[]}" }), json!({}));
        assert_eq!(seen(&before), seen(&relabelled));
        assert_ne!(seen(&before), seen(&edited), "a new value must re-reconcile referrers");
        assert_ne!(seen(&before), seen(&moved), "a renamed key must re-reconcile referrers");
        assert!(!format!("{edited:?}").contains("permit"), "values are not kept");
    }

    #[test]
    fn they_are_addressed_as_core_v1() {
        assert_eq!(SecretKeys::api_version(&()), "v1");
        assert_eq!(SecretKeys::url_path(&(), Some("team")), "/api/v1/namespaces/team/secrets");
        assert_eq!(ConfigMapKeys::url_path(&(), None), "/api/v1/configmaps");
    }
}
