//! VirtualMCPServer schemas: the legacy shapes `v1alpha1` must accept, the `kubernetes` incoming
//! auth `v1beta1` adds, `v1alpha1` being a superset of `v1beta1`, and lossless round trips of
//! objects through the Rust types.

use std::collections::BTreeMap;
use std::fs;

use mcp_operator::api::crd::{self, VIRTUALMCPSERVER};
use mcp_operator::api::{v1alpha1, v1beta1};
use serde_json::{Value, json};

fn spec_schema(version: &str) -> Value {
    let crd = crd::crd(&VIRTUALMCPSERVER);
    let versions = crd["spec"]["versions"].as_array().expect("versions");
    let v = versions.iter().find(|v| v["name"] == version).expect("version");
    v["schema"]["openAPIV3Schema"]["properties"]["spec"].clone()
}

/// The schema node at a dotted path below `spec`; `[]` steps into items, `{*}` into map values.
fn node<'a>(spec: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(spec, |n, step| {
        let (name, suffix) = match step.find(['[', '{']) {
            Some(i) => step.split_at(i),
            None => (step, ""),
        };
        let n = &n["properties"][name];
        let n = match suffix {
            "[]" => &n["items"],
            "{*}" => &n["additionalProperties"],
            _ => n,
        };
        assert!(!n.is_null(), "no schema node spec.{path}");
        n
    })
}

/// `n` without its descriptions, which differ where a legacy field documents its new home.
fn shape(n: &Value) -> Value {
    match n {
        Value::Object(map) => {
            map.iter().filter(|(k, _)| *k != "description").map(|(k, v)| (k.clone(), shape(v))).collect()
        }
        other => other.clone(),
    }
}

fn required(n: &Value) -> Vec<&str> {
    n["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect()
}

fn enum_values(n: &Value) -> Vec<&str> {
    n["enum"].as_array().into_iter().flatten().filter_map(Value::as_str).collect()
}

#[test]
fn v1alpha1_accepts_the_legacy_shapes() {
    let spec = spec_schema("v1alpha1");

    assert!(!required(&spec).contains(&"groupRef"), "spec.groupRef must be optional");
    assert!(!required(&spec).contains(&"incomingAuth"), "spec.incomingAuth must be optional");
    assert_eq!(node(&spec, "config.groupRef")["type"], "string");

    for moved in ["aggregation", "operational"] {
        assert_eq!(shape(node(&spec, moved)), shape(node(&spec, &format!("config.{moved}"))), "{moved}");
    }
    for moved in ["compositeTools", "compositeToolRefs"] {
        assert_eq!(shape(node(&spec, moved)), shape(node(&spec, &format!("config.{moved}"))), "{moved}");
        assert_eq!(node(&spec, moved)["type"], "array");
    }

    let cache = node(&spec, "tokenCache");
    assert_eq!(cache["x-kubernetes-preserve-unknown-fields"], true);
    assert_eq!(node(&spec, "tokenCache.provider")["default"], "memory");
    assert_eq!(enum_values(node(&spec, "tokenCache.provider")), ["memory", "redis"]);
    for field in ["maxEntries", "ttlOffset"] {
        assert!(!node(&spec, &format!("tokenCache.memory.{field}")).is_null());
    }
    for field in ["address", "db", "keyPrefix", "passwordRef.name", "passwordRef.key", "ttl"] {
        assert!(!node(&spec, &format!("tokenCache.redis.{field}")).is_null());
    }

    let incoming_type = enum_values(node(&spec, "incomingAuth.type"));
    assert!(incoming_type.contains(&"local") && incoming_type.contains(&"kubernetes"), "{incoming_type:?}");
    let oidc = node(&spec, "incomingAuth.oidcConfig");
    assert_eq!((&oidc["type"], &oidc["x-kubernetes-preserve-unknown-fields"]), (&json!("object"), &json!(true)));
    let rules = node(&spec, "incomingAuth")["x-kubernetes-validations"].to_string();
    assert!(!rules.contains("oidcConfigRef is required"), "the oidcConfigRef rule would reject inline oidcConfig");

    assert!(enum_values(node(&spec, "outgoingAuth.source")).contains(&"mixed"));
    for backend in ["outgoingAuth.default", "outgoingAuth.backends{*}"] {
        let types = enum_values(node(&spec, &format!("{backend}.type")));
        for legacy in ["external_auth_config_ref", "pass_through", "service_account"] {
            assert!(types.contains(&legacy), "{backend}.type lacks {legacy}: {types:?}");
        }
        let account = node(&spec, &format!("{backend}.serviceAccount"));
        assert_eq!(account["type"], "object");
        for field in ["credentialsRef.name", "credentialsRef.key", "headerName", "headerFormat"] {
            assert!(!node(&spec, &format!("{backend}.serviceAccount.{field}")).is_null());
        }
    }
}

#[test]
fn v1beta1_offers_kubernetes_service_account_auth() {
    let spec = spec_schema("v1beta1");
    assert!(enum_values(node(&spec, "incomingAuth.type")).contains(&"kubernetes"));
    let issuer = node(&spec, "incomingAuth.kubernetes.issuer");
    assert_eq!(issuer["type"], "string");
    assert_eq!(issuer["default"], v1beta1::virtualmcpserver::KUBERNETES_DEFAULT_ISSUER);
    assert_eq!(node(&spec, "incomingAuth.kubernetes.audience")["type"], "string");
    assert!(required(node(&spec, "incomingAuth.kubernetes")).is_empty());
}

fn nodes(n: &Value, path: String, out: &mut BTreeMap<String, Value>) {
    for (k, v) in n["properties"].as_object().into_iter().flatten() {
        nodes(v, format!("{path}.{k}"), out);
    }
    if n["items"].is_object() {
        nodes(&n["items"], format!("{path}[]"), out);
    }
    if n["additionalProperties"].is_object() {
        nodes(&n["additionalProperties"], format!("{path}{{*}}"), out);
    }
    out.insert(path, n.clone());
}

/// Attributes that restrict values; `v1alpha1` may only loosen `required`, `enum` and CEL rules.
fn constraints(n: &Value) -> Value {
    let mut n = n.clone();
    if let Some(map) = n.as_object_mut() {
        map.retain(|k, _| !matches!(k.as_str(), "description" | "properties" | "items" | "additionalProperties"));
        for loosened in ["required", "enum", "x-kubernetes-validations"] {
            map.remove(loosened);
        }
    }
    n
}

#[test]
fn every_v1beta1_spec_node_is_at_most_as_strict_in_v1alpha1() {
    let (mut beta, mut alpha) = (BTreeMap::new(), BTreeMap::new());
    nodes(&spec_schema("v1beta1"), "spec".into(), &mut beta);
    nodes(&spec_schema("v1alpha1"), "spec".into(), &mut alpha);
    for (path, b) in &beta {
        let a = alpha.get(path).unwrap_or_else(|| panic!("{path} missing in v1alpha1"));
        assert_eq!(constraints(a), constraints(b), "{path}");
        for r in required(a) {
            assert!(required(b).contains(&r), "{path}: v1alpha1 requires {r}");
        }
        for e in enum_values(b) {
            assert!(a.get("enum").is_none() || enum_values(a).contains(&e), "{path}: v1alpha1 rejects {e}");
        }
        let beta_rules = b["x-kubernetes-validations"].as_array().cloned().unwrap_or_default();
        for rule in a["x-kubernetes-validations"].as_array().into_iter().flatten() {
            assert!(beta_rules.contains(rule), "{path}: v1alpha1 adds rule {rule}");
        }
    }
}

fn fixture(name: &str) -> Value {
    let text = fs::read_to_string(format!("tests/data/virtualmcpserver/{name}")).expect("fixture");
    serde_norway::from_str(&text).expect("fixture yaml")
}

fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(object: &Value) -> Value {
    let typed: T = serde_json::from_value(object.clone()).expect("deserialize");
    serde_json::to_value(&typed).expect("serialize")
}

#[test]
fn objects_round_trip_through_the_types_without_loss() {
    let current = fixture("v1beta1.yaml");
    assert_eq!(round_trip::<v1beta1::VirtualMCPServer>(&current), current);
    let legacy = fixture("v1alpha1-legacy.yaml");
    assert_eq!(round_trip::<v1alpha1::VirtualMCPServer>(&legacy), legacy);
}

#[test]
fn a_v1beta1_spec_reads_as_a_v1alpha1_spec() {
    let spec = fixture("v1beta1.yaml")["spec"].clone();
    assert_eq!(round_trip::<v1alpha1::VirtualMCPServerSpec>(&spec), spec);
}
