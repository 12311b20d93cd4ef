//! Serde contracts of the types: the seed examples read as `v1alpha1`, and every `v1beta1` object
//! built from the reference schema (every property filled in) round-trips through our types
//! without losing or adding a field.

use std::fs;

use mcp_operator::api::{v1alpha1, v1beta1};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

fn yaml(path: &str) -> Value {
    serde_norway::from_str(&fs::read_to_string(path).expect("fixture")).expect("yaml")
}

fn reads_as<T: DeserializeOwned>(path: &str) {
    let doc = yaml(path);
    if let Err(err) = serde_path_to_error::deserialize::<_, T>(&doc) {
        panic!("{path} does not deserialise: {} at {}", err.inner(), err.path());
    }
}

#[test]
fn every_seed_example_reads_as_v1alpha1() {
    reads_as::<v1alpha1::MCPGroup>("tests/data/seeds/mcpgroup.yaml");
    reads_as::<v1alpha1::MCPServerEntry>("tests/data/seeds/mcpserverentry.yaml");
    reads_as::<v1alpha1::VirtualMCPServer>("tests/data/seeds/virtualmcpserver-minimal.yaml");
    reads_as::<v1alpha1::VirtualMCPServer>("tests/data/seeds/virtualmcpserver-production.yaml");
    reads_as::<v1alpha1::MCPRegistry>("tests/data/seeds/mcpregistry.yaml");
}

/// A value valid for `schema` with every property present, and unknown fields wherever the node
/// preserves them.
fn sample(schema: &Value) -> Value {
    if let Some(default) = schema.get("default").filter(|d| !d.is_object() && !d.is_array()) {
        return default.clone();
    }
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.iter().find(|v| *v != "")) {
        return first.clone();
    }
    let preserve = schema["x-kubernetes-preserve-unknown-fields"] == true;
    match schema["type"].as_str() {
        Some("string") => json!(match schema["format"].as_str() {
            Some("date-time") => "2026-11-30T10:00:00Z",
            _ => "value",
        }),
        Some("integer") => json!(schema["minimum"].as_i64().unwrap_or(1).max(1)),
        Some("number") => json!(1.5),
        Some("boolean") => json!(true),
        Some("array") => json!([sample(&schema["items"])]),
        Some("object") | None => {
            let mut out = Map::new();
            for (name, child) in schema["properties"].as_object().into_iter().flatten() {
                out.insert(name.clone(), sample(child));
            }
            if schema["additionalProperties"].is_object() {
                out.insert("someKey".into(), sample(&schema["additionalProperties"]));
            }
            if preserve {
                out.insert("fieldFromTheFuture".into(), json!({ "nested": [1, "two", { "three": true }] }));
            }
            if schema["type"].is_null() && !preserve {
                return json!("value");
            }
            Value::Object(out)
        }
        Some(other) => panic!("unexpected schema type {other}"),
    }
}

fn reference_spec_and_status(plural: &str) -> (Value, Value) {
    let text = fs::read_to_string(format!("tests/data/reference/{plural}.json")).expect("reference");
    let crd: Value = serde_json::from_str(&text).expect("json");
    let version = crd["spec"]["versions"].as_array().and_then(|v| v.iter().find(|v| v["name"] == "v1beta1")).cloned();
    let root = version.expect("v1beta1")["schema"]["openAPIV3Schema"].clone();
    (root["properties"]["spec"].clone(), root["properties"]["status"].clone())
}

fn assert_round_trips<T: DeserializeOwned + Serialize>(plural: &str, kind: &str) {
    let (spec, status) = reference_spec_and_status(plural);
    let object = json!({
        "apiVersion": "toolhive.stacklok.dev/v1beta1",
        "kind": kind,
        "metadata": { "name": "sample", "namespace": "team-a", "labels": { "a": "b" }, "generation": 2 },
        "spec": sample(&spec),
        "status": sample(&status),
    });
    let typed: T = match serde_path_to_error::deserialize(&object) {
        Ok(t) => t,
        Err(err) => panic!("{kind}: {} at {}", err.inner(), err.path()),
    };
    let back = serde_json::to_value(&typed).expect("serialise");
    if back != object {
        let diff = json_patch::diff(&object, &back);
        panic!("{kind} changes in a round trip: {}", serde_json::to_string_pretty(&diff).unwrap_or_default());
    }
}

#[test]
fn every_reference_field_of_v1beta1_round_trips_through_the_types() {
    assert_round_trips::<v1beta1::MCPGroup>("mcpgroups", "MCPGroup");
    assert_round_trips::<v1beta1::MCPServerEntry>("mcpserverentries", "MCPServerEntry");
    assert_round_trips::<v1beta1::VirtualMCPServer>("virtualmcpservers", "VirtualMCPServer");
    assert_round_trips::<v1beta1::MCPRegistry>("mcpregistries", "MCPRegistry");
}

#[test]
fn the_sample_generator_fills_every_field() {
    let (spec, _) = reference_spec_and_status("mcpserverentries");
    let sample = sample(&spec);
    assert_eq!(sample["headerForward"]["addHeadersFromSecret"][0]["valueSecretRef"]["key"], "value");
    assert_eq!(sample["transport"], "sse");
    assert_eq!(sample["allowPrivateEndpoint"], false);
}
