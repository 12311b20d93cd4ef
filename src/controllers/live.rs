//! A child of the workload controllers as the cache keeps it: its identity, and the rest as the
//! compact JSON text the reconciles read it from.
//!
//! The reconciles read a live child only as JSON (to decide whether it needs applying), and a few
//! fields of two kinds typed (a Deployment's rollout, a ServiceAccount's pull secrets), once per
//! reconcile of its owner. Kept typed, a child costs what k8s-openapi's structs take in memory:
//! a Deployment with three volumes and one container some 15 KB, most of it optional fields held
//! in line (a `Volume` has some thirty optional sources), against about 3 KB of text.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use serde::de::{Deserialize, DeserializeOwned, Deserializer, Error as _};
use serde::ser::Serialize;
use serde_json::Value;

use super::cache::{Cached, prune_metadata};
use super::kinds::Kind;

/// A child of kind `K`, cached as text.
pub struct Live<K> {
    /// What the store and the reference index address it by: name, namespace and resource version.
    /// The rest of its metadata is in the text.
    pub metadata: ObjectMeta,
    /// The object without managed fields and the last-applied annotation, as compact JSON.
    text: Box<str>,
    kind: PhantomData<fn() -> K>,
}

impl<K> Live<K> {
    /// The object as JSON.
    pub fn value(&self) -> Option<Value> {
        serde_json::from_str(&self.text).ok()
    }
}

impl<K: DeserializeOwned> Live<K> {
    /// The object typed. Read from text the cache wrote, so it does not fail; `None` if it did.
    pub fn object(&self) -> Option<K> {
        serde_json::from_str(&self.text).ok()
    }
}

impl<K: Resource + Serialize> Live<K> {
    /// Caches `obj`: drops what no reader needs and keeps the rest as text.
    pub fn new(mut obj: K) -> Result<Self, serde_json::Error> {
        prune_metadata(&mut obj);
        let text = serde_json::to_string(&obj)?.into_boxed_str();
        let meta = obj.meta_mut();
        let metadata = ObjectMeta {
            name: meta.name.take(),
            namespace: meta.namespace.take(),
            resource_version: meta.resource_version.take(),
            ..ObjectMeta::default()
        };
        Ok(Live { metadata, text, kind: PhantomData })
    }
}

#[cfg(test)]
impl<K: Resource + Serialize> From<K> for Live<K> {
    fn from(obj: K) -> Self {
        Live::new(obj).expect("a typed object serializes")
    }
}

impl<'de, K: Resource + Serialize + DeserializeOwned> Deserialize<'de> for Live<K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Live::new(K::deserialize(deserializer)?).map_err(D::Error::custom)
    }
}

impl<K> Clone for Live<K> {
    fn clone(&self) -> Self {
        Live { metadata: self.metadata.clone(), text: self.text.clone(), kind: PhantomData }
    }
}

/// Names the object and the length of its text (a child's text may be long).
impl<K: Resource<DynamicType = ()>> fmt::Debug for Live<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Live")
            .field("kind", &K::kind(&()))
            .field("namespace", &self.metadata.namespace)
            .field("name", &self.metadata.name)
            .field("resource_version", &self.metadata.resource_version)
            .field("text_bytes", &self.text.len())
            .finish()
    }
}

impl<K: Resource<DynamicType = ()>> Resource for Live<K> {
    type DynamicType = ();
    type Scope = K::Scope;

    fn kind(dt: &()) -> Cow<'_, str> {
        K::kind(dt)
    }
    fn group(dt: &()) -> Cow<'_, str> {
        K::group(dt)
    }
    fn version(dt: &()) -> Cow<'_, str> {
        K::version(dt)
    }
    fn plural(dt: &()) -> Cow<'_, str> {
        K::plural(dt)
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// Pruned when read (the text is written then); any change re-reconciles the owner through the
/// reference index.
impl<K> Cached for Live<K>
where
    K: Resource<DynamicType = ()> + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    fn prune(&mut self, _kind: Kind) {}
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::apps::v1::Deployment;
    use serde_json::json;

    use super::*;

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "vmcp-demo", "namespace": "team", "uid": "u-1", "resourceVersion": "7",
                "labels": { "app.kubernetes.io/managed-by": "toolhive-operator" },
                "annotations": {
                    "kubectl.kubernetes.io/last-applied-configuration": "{\"big\":true}",
                    "toolhive.stacklok.dev/input-hash": "abc"
                },
                "managedFields": [{ "manager": "mcp-operator", "operation": "Apply" }]
            },
            "spec": {
                "selector": { "matchLabels": { "app": "vmcp" } },
                "template": { "spec": { "containers": [{ "name": "vmcp", "image": "vmcp:1" }] } }
            },
            "status": { "readyReplicas": 1 }
        })
    }

    #[test]
    fn a_child_reads_back_as_it_came_without_what_nobody_reads() {
        let live: Live<Deployment> = serde_json::from_value(deployment()).unwrap();
        let mut expected = deployment();
        let meta = expected["metadata"].as_object_mut().unwrap();
        meta.remove("managedFields");
        meta["annotations"].as_object_mut().unwrap().remove("kubectl.kubernetes.io/last-applied-configuration");
        assert_eq!(live.value(), Some(expected));
        let typed = live.object().unwrap();
        assert_eq!(typed.status.and_then(|s| s.ready_replicas), Some(1));
        assert_eq!(
            (live.meta().name.as_deref(), live.meta().namespace.as_deref(), live.meta().resource_version.as_deref()),
            (Some("vmcp-demo"), Some("team"), Some("7"))
        );
        assert_eq!(live.meta().labels, None, "the identity only; the rest is in the text");
    }

    #[test]
    fn it_is_addressed_as_its_kind_and_printed_without_its_text() {
        assert_eq!(Live::<Deployment>::url_path(&(), Some("team")), "/apis/apps/v1/namespaces/team/deployments");
        let live: Live<Deployment> = serde_json::from_value(deployment()).unwrap();
        let printed = format!("{live:?}");
        assert!(printed.contains("vmcp-demo") && !printed.contains("vmcp:1"), "{printed}");
    }

    #[test]
    fn a_body_that_is_not_the_kind_is_an_error() {
        let err = serde_json::from_value::<Live<Deployment>>(json!({ "metadata": { "name": 3 } })).unwrap_err();
        assert!(err.to_string().contains("invalid type"), "{err}");
    }
}
