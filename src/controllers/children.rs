//! What the workload controllers share about their children: owner references and labels, input
//! hashes, the decision whether a child needs applying, server-side apply, and the strategic
//! merge of a user's pod template.
//!
//! A child is applied with server-side apply under `mcp-operator` (force), carrying only the
//! fields this operator owns, so fields of other managers (cloud annotations on a Service,
//! `kubectl rollout restart`'s annotation, an autoscaler's `replicas`) stay as they are. Whether
//! to apply is decided without comparing against the API server's defaults: the child's input
//! hash annotation must match, and every field the rendering sets must still hold its value in the
//! live object (fields the server or others added are ignored).

use std::fmt::Debug;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::Patch;
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::error::Error;
use super::live::Live;
use super::status::apply_params;

pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "toolhive-operator";
/// Hash of the rendered child, to notice a changed rendering without reading defaults.
pub const INPUT_HASH: &str = "toolhive.stacklok.dev/input-hash";
/// Hash of a ConfigMap's content.
pub const CONTENT_CHECKSUM: &str = "toolhive.stacklok.dev/content-checksum";

/// SHA-256 of `bytes` as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// JSON with object keys sorted at every level, whatever the map type in use.
pub fn canonical_json(value: &Value) -> String {
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, key) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(key.clone()).to_string());
                    out.push(':');
                    write(&map[key], out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

/// The hash of a JSON value, independent of map order.
pub fn json_hash(value: &Value) -> String {
    sha256_hex(canonical_json(value).as_bytes())
}

/// The controller owner reference of a child of `owner`.
pub fn owner_reference<K: Resource<DynamicType = ()>>(owner: &K) -> OwnerReference {
    OwnerReference {
        api_version: K::api_version(&()).into_owned(),
        kind: K::kind(&()).into_owned(),
        name: owner.meta().name.clone().unwrap_or_default(),
        uid: owner.meta().uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// A rendered child: its kind, name and the body to apply (without the input hash yet).
#[derive(Clone, Debug, PartialEq)]
pub struct Child {
    pub kind: &'static str,
    pub name: String,
    pub body: Value,
}

impl Child {
    /// `body` with `metadata.annotations[INPUT_HASH]` set to the hash of the rest.
    pub fn stamped(&self) -> Value {
        let mut body = self.body.clone();
        let hash = json_hash(&self.body);
        let metadata = body["metadata"].as_object_mut().map(|m| m.entry("annotations").or_insert_with(|| json!({})));
        if let Some(Value::Object(annotations)) = metadata {
            annotations.insert(INPUT_HASH.into(), Value::String(hash));
        }
        body
    }
}

/// How a live child relates to the object that wants it.
#[derive(Clone, Debug, PartialEq)]
pub enum Fit {
    /// Not there yet: apply creates it.
    Absent,
    /// Ours and up to date: nothing to write.
    Current,
    /// Ours (or unowned) but changed or out of date: apply.
    Stale,
    /// Controlled by another object: left alone; the message says by whom.
    Foreign(String),
}

/// Decides what to do about `live` given the stamped desired body and the owner's uid.
pub fn fit(live: Option<&Value>, desired: &Value, owner_uid: &str) -> Fit {
    let Some(live) = live else { return Fit::Absent };
    let owners = live["metadata"]["ownerReferences"].as_array().cloned().unwrap_or_default();
    if let Some(other) = owners.iter().find(|o| o["controller"] == true && o["uid"] != owner_uid) {
        return Fit::Foreign(format!(
            "{} {:?} is controlled by {} {:?}",
            desired["kind"].as_str().unwrap_or("object"),
            live["metadata"]["name"].as_str().unwrap_or_default(),
            other["kind"].as_str().unwrap_or("another object"),
            other["name"].as_str().unwrap_or_default()
        ));
    }
    let hash = |v: &Value| v["metadata"]["annotations"][INPUT_HASH].as_str().map(str::to_string);
    if hash(live) != hash(desired) || !contains(live, desired) {
        return Fit::Stale;
    }
    Fit::Current
}

/// Keys that identify the items of a list of objects, in order of preference.
const LIST_KEYS: [&str; 5] = ["uid", "mountPath", "name", "containerPort", "port"];

fn list_key(items: &[Value]) -> Option<&'static str> {
    if items.is_empty() || !items.iter().all(Value::is_object) {
        return None;
    }
    LIST_KEYS.into_iter().find(|k| items.iter().all(|i| i.get(*k).is_some()))
}

/// Whether every field `want` sets holds the same value in `live`. Fields only `live` has (the
/// server's defaults, other managers' fields, extra items of keyed lists) are ignored; a field
/// the server omits because it holds its zero value counts as equal.
pub fn contains(live: &Value, want: &Value) -> bool {
    match (live, want) {
        (Value::Object(l), Value::Object(w)) => w.iter().all(|(k, wv)| match l.get(k) {
            Some(lv) => contains(lv, wv),
            None => is_zero(wv),
        }),
        (Value::Array(l), Value::Array(w)) => match list_key(w) {
            Some(key) => w.iter().all(|wi| l.iter().any(|li| li.get(key) == wi.get(key) && contains(li, wi))),
            None => l.len() == w.len() && l.iter().zip(w).all(|(li, wi)| contains(li, wi)),
        },
        (Value::String(l), Value::String(w)) => l == w || quantity(l).zip(quantity(w)).is_some_and(|(a, b)| same(a, b)),
        (Value::Number(l), Value::Number(w)) => l.as_f64() == w.as_f64(),
        (l, w) => l == w || is_zero(w) && l.is_null(),
    }
}

fn is_zero(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= f64::EPSILON * a.abs().max(b.abs()).max(1.0)
}

/// A Kubernetes quantity (`500m`, `1Gi`, `0.5`, `1e3`) as a number; the server rewrites some
/// spellings (`1000m` → `1`), so quantities compare by value.
fn quantity(text: &str) -> Option<f64> {
    const SUFFIXES: [(&str, f64); 13] = [
        ("Ki", 1024.0),
        ("Mi", 1_048_576.0),
        ("Gi", 1_073_741_824.0),
        ("Ti", 1_099_511_627_776.0),
        ("Pi", 1_125_899_906_842_624.0),
        ("Ei", 1_152_921_504_606_846_976.0),
        ("n", 1e-9),
        ("u", 1e-6),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
    ];
    let starts_numeric = text.starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == '-' || c == '+');
    if !starts_numeric {
        return None;
    }
    for (suffix, factor) in SUFFIXES {
        if let Some(number) = text.strip_suffix(suffix) {
            return number.parse::<f64>().ok().map(|n| n * factor);
        }
    }
    text.parse::<f64>().ok()
}

/// Applies `body` as the child `name` of kind `K` in `namespace`.
pub async fn apply<K>(client: &Client, namespace: &str, name: &str, body: &Value) -> Result<(), Error>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope> + Clone + DeserializeOwned + Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    api.patch(name, &apply_params(), &Patch::Apply(body)).await?;
    Ok(())
}

/// On a Deployment whose `spec.replicas` this operator applies. When a later rendering leaves them
/// out, [`hand_over_replicas`] runs first, so that dropping the field from the apply does not reset
/// the Deployment to one replica.
pub const REPLICAS_OWNED: &str = "toolhive.stacklok.dev/replicas-owned";
/// The field manager that keeps a replica count this operator stopped owning.
pub const REPLICAS_HANDOVER_MANAGER: &str = "mcp-operator-replicas-handover";

/// The live replica count to hand over before applying `body`: when the live Deployment carries
/// [`REPLICAS_OWNED`] and the new rendering sets no replicas.
pub fn replicas_to_hand_over(live: Option<&Value>, body: &Value) -> Option<i64> {
    let live = live?;
    let owned = live["metadata"]["annotations"][REPLICAS_OWNED] == "true";
    (owned && body["spec"].get("replicas").is_none()).then(|| live["spec"]["replicas"].as_i64()).flatten()
}

/// Applies `replicas` to the Deployment under [`REPLICAS_HANDOVER_MANAGER`], without force, so that
/// the count stays when `mcp-operator` drops it. A conflict means another manager already owns a
/// different count (an autoscaler, or a newer value than the cache has), so nothing is lost: that
/// is not an error.
pub async fn hand_over_replicas(client: &Client, namespace: &str, name: &str, replicas: i64) -> Result<(), Error> {
    let api: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let body = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": name, "namespace": namespace },
        "spec": { "replicas": replicas },
    });
    match api.patch(name, &kube::api::PatchParams::apply(REPLICAS_HANDOVER_MANAGER), &Patch::Apply(body)).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// The live child as JSON, for [`fit`].
pub fn live_json<K>(obj: Option<std::sync::Arc<Live<K>>>) -> Option<Value> {
    obj.and_then(|o| o.value())
}

/// List fields of a pod template merged item by item, and the key that identifies an item.
fn merge_key(field: &str) -> Option<&'static str> {
    match field {
        "containers" | "initContainers" | "ephemeralContainers" | "volumes" | "env" | "imagePullSecrets" => {
            Some("name")
        }
        "volumeMounts" => Some("mountPath"),
        "ports" => Some("containerPort"),
        _ => None,
    }
}

/// Merges `patch` onto `base` like a strategic merge patch of a `PodTemplateSpec`: objects merge
/// field by field, the lists of [`merge_key`] item by item (new items appended), other lists and
/// scalars are replaced, and `null` removes a field. The patch wins.
pub fn strategic_merge(base: &mut Value, patch: &Value) {
    let (Value::Object(base_map), Value::Object(patch_map)) = (&mut *base, patch) else {
        *base = patch.clone();
        return;
    };
    for (key, value) in patch_map {
        if value.is_null() {
            base_map.remove(key);
            continue;
        }
        match (base_map.get_mut(key), merge_key(key)) {
            (Some(Value::Array(items)), Some(id)) if value.is_array() => merge_list(items, value, id),
            (Some(existing), _) => strategic_merge(existing, value),
            (None, _) => {
                base_map.insert(key.clone(), value.clone());
            }
        }
    }
}

fn merge_list(items: &mut Vec<Value>, patch: &Value, id: &str) {
    for item in patch.as_array().into_iter().flatten() {
        match item.get(id).and_then(|k| items.iter_mut().find(|i| i.get(id) == Some(k))) {
            Some(existing) => strategic_merge(existing, item),
            None => items.push(item.clone()),
        }
    }
}

/// Common metadata of a child: name, namespace, labels, annotations and the owner reference.
pub fn metadata(
    name: &str,
    namespace: &str,
    labels: &[(&str, &str)],
    annotations: &[(&str, &str)],
    owner: &OwnerReference,
) -> Value {
    let mut label_map: Map<String, Value> = labels.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    label_map.insert(MANAGED_BY_LABEL.into(), json!(MANAGED_BY));
    let mut meta = json!({
        "name": name,
        "namespace": namespace,
        "labels": label_map,
        "ownerReferences": [owner],
    });
    if !annotations.is_empty() {
        let map: Map<String, Value> = annotations.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
        meta["annotations"] = Value::Object(map);
    }
    meta
}

/// A name of at most 63 characters made from `prefix` and `name`; long ones end in a hash.
pub fn bounded_name(prefix: &str, name: &str) -> String {
    let full = format!("{prefix}{name}");
    if full.len() <= 63 {
        return full;
    }
    let hash = &sha256_hex(full.as_bytes())[..8];
    let keep = 63 - hash.len() - 1;
    let cut = (0..=keep).rev().find(|i| full.is_char_boundary(*i)).unwrap_or(0);
    format!("{}-{hash}", full[..cut].trim_end_matches('-'))
}

/// `TEXT` as an environment variable name part: upper case, `_` for anything else.
pub fn env_part(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect()
}

/// The namespace of an object, or the error every reconcile reports without one.
pub fn namespace_of<K: Resource>(obj: &K) -> Result<String, Error> {
    obj.namespace().ok_or(Error::NoNamespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_ignore_map_order() {
        let a: Value = serde_json::from_str(r#"{"b":1,"a":{"y":[1,2],"x":"s"}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":{"x":"s","y":[1,2]},"b":1}"#).unwrap();
        assert_eq!(json_hash(&a), json_hash(&b));
        assert_eq!(canonical_json(&a), r#"{"a":{"x":"s","y":[1,2]},"b":1}"#);
        assert_ne!(json_hash(&a), json_hash(&json!({"b": 2})));
        assert_eq!(sha256_hex(b"").len(), 64);
    }

    #[test]
    fn defaults_and_foreign_fields_do_not_count_as_drift() {
        let want = json!({ "spec": { "template": { "spec": { "containers": [
            { "name": "vmcp", "image": "x", "ports": [{ "containerPort": 4483, "name": "http" }],
              "resources": { "limits": { "cpu": "1000m" } }, "readOnly": false }
        ] } } } });
        let live = json!({ "spec": { "replicas": 3, "template": {
            "metadata": { "annotations": { "kubectl.kubernetes.io/restartedAt": "now" } },
            "spec": { "dnsPolicy": "ClusterFirst", "containers": [
                { "name": "sidecar", "image": "y" },
                { "name": "vmcp", "image": "x", "imagePullPolicy": "Always",
                  "ports": [{ "containerPort": 4483, "name": "http", "protocol": "TCP" }],
                  "resources": { "limits": { "cpu": "1" } } }
            ] } } } });
        assert!(contains(&live, &want));
        let mut changed = live.clone();
        changed["spec"]["template"]["spec"]["containers"][1]["image"] = json!("evil");
        assert!(!contains(&changed, &want));
    }

    #[test]
    fn scalar_lists_must_match_exactly() {
        assert!(contains(&json!({ "args": ["a", "b"] }), &json!({ "args": ["a", "b"] })));
        assert!(!contains(&json!({ "args": ["a", "b", "c"] }), &json!({ "args": ["a", "b"] })));
        assert!(!contains(&json!({ "args": ["b", "a"] }), &json!({ "args": ["a", "b"] })));
    }

    #[test]
    fn a_child_controlled_by_another_object_is_foreign() {
        let desired = json!({ "kind": "Deployment", "metadata": { "name": "d" } });
        let live = json!({ "metadata": { "name": "d", "ownerReferences": [
            { "controller": true, "uid": "other", "kind": "MCPRegistry", "name": "r" }
        ] } });
        assert_eq!(
            fit(Some(&live), &desired, "mine"),
            Fit::Foreign("Deployment \"d\" is controlled by MCPRegistry \"r\"".into())
        );
        assert_eq!(fit(None, &desired, "mine"), Fit::Absent);
    }

    #[test]
    fn the_input_hash_decides_first() {
        let child = Child {
            kind: "ConfigMap",
            name: "c".into(),
            body: json!({ "metadata": { "name": "c" }, "data": { "k": "v" } }),
        };
        let stamped = child.stamped();
        assert_eq!(fit(Some(&stamped), &stamped, "u"), Fit::Current);
        let mut old = stamped.clone();
        old["metadata"]["annotations"][INPUT_HASH] = json!("previous");
        assert_eq!(fit(Some(&old), &stamped, "u"), Fit::Stale);
    }

    #[test]
    fn the_pod_template_merges_containers_by_name_and_the_user_wins() {
        let mut base = json!({ "spec": {
            "containers": [{ "name": "vmcp", "image": "a", "env": [{ "name": "A", "value": "1" }] }],
            "volumes": [{ "name": "config", "configMap": { "name": "c" } }]
        } });
        let patch = json!({ "spec": {
            "containers": [
                { "name": "vmcp", "env": [{ "name": "A", "value": "2" }, { "name": "B", "value": "3" }] },
                { "name": "sidecar", "image": "s" }
            ],
            "nodeSelector": { "pool": "mcp" }
        } });
        strategic_merge(&mut base, &patch);
        assert_eq!(
            base,
            json!({ "spec": {
                "containers": [
                    { "name": "vmcp", "image": "a", "env": [{ "name": "A", "value": "2" }, { "name": "B", "value": "3" }] },
                    { "name": "sidecar", "image": "s" }
                ],
                "volumes": [{ "name": "config", "configMap": { "name": "c" } }],
                "nodeSelector": { "pool": "mcp" }
            } })
        );
    }

    #[test]
    fn long_names_are_bounded_with_a_hash() {
        assert_eq!(bounded_name("ca-", "bundle"), "ca-bundle");
        let long = bounded_name("ca-bundle-", &"x".repeat(80));
        assert_eq!(long.len(), 63);
        assert_eq!(long, bounded_name("ca-bundle-", &"x".repeat(80)));
        assert_eq!(env_part("my-entry.v2"), "MY_ENTRY_V2");
    }
}
