//! The generated CRDs: committed files match the code, every schema is structural, and `v1beta1`
//! is compatible with the Go operator's reference schema.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use mcp_operator::api::crd::{self, KINDS};
use serde_json::Value;

fn version<'a>(crd: &'a Value, name: &str) -> &'a Value {
    crd["spec"]["versions"]
        .as_array()
        .and_then(|vs| vs.iter().find(|v| v["name"] == name))
        .unwrap_or_else(|| panic!("version {name} missing"))
}

fn schema<'a>(crd: &'a Value, name: &str) -> &'a Value {
    &version(crd, name)["schema"]["openAPIV3Schema"]
}

#[test]
fn committed_crds_match_the_code() {
    for kind in KINDS {
        let path = Path::new("manifests/crds").join(format!("{}.yaml", kind.plural));
        let committed = fs::read_to_string(&path).unwrap_or_default();
        let generated = crd::to_yaml_stream(&[crd::crd(kind)]).expect("render");
        assert!(
            committed == generated,
            "{} differs from the code; run `cargo run -- crds --write manifests/crds`",
            path.display()
        );
    }
}

// ---- structural schema rules -------------------------------------------------------------

/// Every violation of the API server's structural-schema rules under `node`.
fn structural_violations(node: &Value, path: &str, out: &mut Vec<String>) {
    let Some(map) = node.as_object() else {
        out.push(format!("{path}: schema is not an object"));
        return;
    };
    let preserve = map.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    let int_or_string = map.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
    if !map.contains_key("type") && !preserve && !int_or_string {
        out.push(format!("{path}: no type"));
    }
    for forbidden in ["$ref", "nullable", "title", "$schema", "definitions", "$defs", "const"] {
        if map.contains_key(forbidden) {
            out.push(format!("{path}: has {forbidden}"));
        }
    }
    for combinator in ["anyOf", "oneOf", "allOf", "not"] {
        if map.contains_key(combinator) && !int_or_string {
            out.push(format!("{path}: {combinator} outside int-or-string"));
        }
    }
    if map.contains_key("properties") && map.contains_key("additionalProperties") {
        out.push(format!("{path}: both properties and additionalProperties"));
    }
    if map.get("additionalProperties").is_some_and(Value::is_boolean) {
        out.push(format!("{path}: boolean additionalProperties"));
    }
    let ty = map.get("type").and_then(Value::as_str);
    if ty == Some("array") && !map.get("items").is_some_and(Value::is_object) {
        out.push(format!("{path}: array without a single items schema"));
    }
    if ty != Some("object") && (map.contains_key("properties") || map.contains_key("additionalProperties")) {
        out.push(format!("{path}: properties on a non-object"));
    }
    check_list_type(map, path, out);
    if let Some(default) = map.get("default")
        && let Err(problem) = validate_value(default, node)
    {
        out.push(format!("{path}: default {default} does not validate: {problem}"));
    }
    if let Some(required) = map.get("required").and_then(Value::as_array) {
        let props = map.get("properties").and_then(Value::as_object);
        for r in required {
            if !props.is_some_and(|p| p.contains_key(r.as_str().unwrap_or_default())) {
                out.push(format!("{path}: required {r} is not a property"));
            }
        }
    }
    for (name, child) in map.get("properties").and_then(Value::as_object).into_iter().flatten() {
        structural_violations(child, &format!("{path}.{name}"), out);
    }
    if let Some(items) = map.get("items") {
        structural_violations(items, &format!("{path}[]"), out);
    }
    if let Some(extra) = map.get("additionalProperties").filter(|v| v.is_object()) {
        structural_violations(extra, &format!("{path}{{*}}"), out);
    }
}

fn check_list_type(map: &serde_json::Map<String, Value>, path: &str, out: &mut Vec<String>) {
    let items = map.get("items");
    match map.get("x-kubernetes-list-type").and_then(Value::as_str) {
        Some("map") => {
            let Some(items) = items.filter(|i| i["type"] == "object") else {
                out.push(format!("{path}: list-type map needs object items"));
                return;
            };
            let keys = map.get("x-kubernetes-list-map-keys").and_then(Value::as_array);
            if keys.is_none_or(|k| k.is_empty()) {
                out.push(format!("{path}: list-type map without list-map-keys"));
            }
            let required: Vec<&Value> = items["required"].as_array().map(|r| r.iter().collect()).unwrap_or_default();
            for key in keys.into_iter().flatten() {
                let prop = &items["properties"][key.as_str().unwrap_or_default()];
                if prop.is_null() {
                    out.push(format!("{path}: list-map key {key} is not a property"));
                } else if !required.contains(&key) && prop.get("default").is_none() {
                    out.push(format!("{path}: list-map key {key} neither required nor defaulted"));
                }
            }
        }
        Some("set") => {
            if items.is_some_and(|i| i["type"] == "object" || i["type"] == "array") {
                out.push(format!("{path}: list-type set needs scalar items"));
            }
        }
        Some("atomic") | None => {
            if map.contains_key("x-kubernetes-list-map-keys") {
                out.push(format!("{path}: list-map-keys without list-type map"));
            }
        }
        Some(other) => out.push(format!("{path}: unknown list-type {other}")),
    }
}

/// A small validator covering what defaults in these schemas use.
fn validate_value(value: &Value, schema: &Value) -> Result<(), String> {
    let ty = schema["type"].as_str();
    let type_ok = match ty {
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        _ => true,
    };
    if !type_ok {
        return Err(format!("not of type {ty:?}"));
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        return Err("not in enum".into());
    }
    if let (Some(text), Some(pattern)) = (value.as_str(), schema["pattern"].as_str()) {
        let re = regex::Regex::new(pattern).map_err(|e| format!("pattern {pattern}: {e}"))?;
        if !re.is_match(text) {
            return Err(format!("does not match {pattern}"));
        }
    }
    if let Some(text) = value.as_str() {
        let len = text.chars().count() as u64;
        if schema["minLength"].as_u64().is_some_and(|min| len < min)
            || schema["maxLength"].as_u64().is_some_and(|max| len > max)
        {
            return Err("length out of bounds".into());
        }
    }
    if let Some(n) = value.as_f64()
        && (schema["minimum"].as_f64().is_some_and(|min| n < min)
            || schema["maximum"].as_f64().is_some_and(|max| n > max))
    {
        return Err("out of range".into());
    }
    if let (Some(obj), Some(props)) = (value.as_object(), schema["properties"].as_object()) {
        for (k, v) in obj {
            if let Some(sub) = props.get(k) {
                validate_value(v, sub)?;
            }
        }
    }
    Ok(())
}

#[test]
fn every_generated_schema_is_structural() {
    for kind in KINDS {
        let crd = crd::crd(kind);
        for v in crd["spec"]["versions"].as_array().expect("versions") {
            let mut problems = Vec::new();
            structural_violations(&v["schema"]["openAPIV3Schema"], "", &mut problems);
            assert!(problems.is_empty(), "{} {}:\n{}", kind.plural, v["name"], problems.join("\n"));
        }
    }
}

#[test]
fn the_structural_checker_catches_what_the_api_server_rejects() {
    let bad = serde_json::json!({
        "type": "object",
        "properties": {
            "untyped": {},
            "nullable": { "type": "string", "nullable": true },
            "union": { "anyOf": [{ "type": "string" }, { "type": "integer" }] },
            "badDefault": { "type": "string", "enum": ["a"], "default": "b" },
            "keyed": {
                "type": "array",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
                "items": { "type": "object", "properties": { "name": { "type": "string" } } }
            }
        }
    });
    let mut problems = Vec::new();
    structural_violations(&bad, "", &mut problems);
    for expected in [
        ".untyped: no type",
        ".nullable: has nullable",
        ".union: anyOf",
        ".badDefault: default",
        ".keyed: list-map key",
    ] {
        assert!(problems.iter().any(|p| p.starts_with(expected)), "missing {expected:?} in {problems:#?}");
    }
}

// ---- compatibility with the reference ------------------------------------------------------

const ATTRS: [&str; 23] = [
    "type",
    "format",
    "enum",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "uniqueItems",
    "default",
    "nullable",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-int-or-string",
    "x-kubernetes-embedded-resource",
];

/// The deliberate, additive differences of `api.md`.
const ALLOWED: [(&str, &str); 3] = [
    ("spec.caBundleRef.configMapRef", "required:key"),
    ("spec.caBundleRef.configMapRef.key", "default"),
    ("spec.incomingAuth.type", "enum"),
];

fn walk<'a>(node: &'a Value, path: String, out: &mut BTreeMap<String, &'a Value>) {
    for (k, v) in node["properties"].as_object().into_iter().flatten() {
        walk(v, if path.is_empty() { k.clone() } else { format!("{path}.{k}") }, out);
    }
    if node["items"].is_object() {
        walk(&node["items"], format!("{path}[]"), out);
    }
    if node["additionalProperties"].is_object() {
        walk(&node["additionalProperties"], format!("{path}{{*}}"), out);
    }
    out.insert(path, node);
}

fn sorted_strings(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v.as_array().into_iter().flatten().map(Value::to_string).collect();
    out.sort();
    out
}

fn cel(node: &Value) -> Vec<String> {
    let mut rules: Vec<String> = node["x-kubernetes-validations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| format!("{} | {}", c["rule"], c["message"]))
        .collect();
    rules.sort();
    rules
}

fn parity_differences(ours: &Value, reference: &Value, version_name: &str) -> Vec<String> {
    let mut diffs = Vec::new();
    for key in ["kind", "plural", "singular", "listKind"] {
        if ours["spec"]["names"][key] != reference["spec"]["names"][key] {
            diffs.push(format!("names.{key}"));
        }
    }
    for key in ["shortNames", "categories"] {
        if sorted_strings(&ours["spec"]["names"][key]) != sorted_strings(&reference["spec"]["names"][key]) {
            diffs.push(format!("names.{key}"));
        }
    }
    let (ov, rv) = (version(ours, version_name), version(reference, version_name));
    for key in ["served", "storage", "subresources", "deprecated", "deprecationWarning"] {
        if ov.get(key) != rv.get(key) {
            diffs.push(format!("version.{key}: ours={:?} reference={:?}", ov.get(key), rv.get(key)));
        }
    }
    let columns = |v: &Value| -> Vec<(Value, Value, Value)> {
        v["additionalPrinterColumns"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| (c["name"].clone(), c["type"].clone(), c["jsonPath"].clone()))
            .collect()
    };
    if columns(ov) != columns(rv) {
        diffs.push("additionalPrinterColumns".into());
    }
    let (mut on, mut rn) = (BTreeMap::new(), BTreeMap::new());
    walk(schema(ours, version_name), String::new(), &mut on);
    walk(schema(reference, version_name), String::new(), &mut rn);
    for (path, rnode) in &rn {
        let Some(onode) = on.get(path) else {
            diffs.push(format!("{path}: missing"));
            continue;
        };
        let mut differ = |what: String, a: &Value, b: &Value| {
            if a != b && !ALLOWED.contains(&(path.as_str(), what.as_str())) {
                diffs.push(format!("{path}: {what}: ours={a} reference={b}"));
            }
        };
        for attr in ATTRS {
            differ(attr.to_string(), &onode[attr], &rnode[attr]);
        }
        let (oreq, rreq) = (sorted_strings(&onode["required"]), sorted_strings(&rnode["required"]));
        for r in oreq.iter().chain(&rreq) {
            differ(format!("required:{}", r.trim_matches('"')), &oreq.contains(r).into(), &rreq.contains(r).into());
        }
        if cel(onode) != cel(rnode) {
            diffs.push(format!("{path}: x-kubernetes-validations: ours={:?} reference={:?}", cel(onode), cel(rnode)));
        }
    }
    diffs
}

fn reference(plural: &str) -> Value {
    let path = format!("tests/data/reference/{plural}.json");
    serde_json::from_str(&fs::read_to_string(&path).expect("reference file")).expect("reference json")
}

#[test]
fn v1beta1_matches_the_reference_schema() {
    for kind in KINDS {
        let diffs = parity_differences(&crd::crd(kind), &reference(kind.plural), "v1beta1");
        assert!(diffs.is_empty(), "{} v1beta1:\n{}", kind.plural, diffs.join("\n"));
    }
}

#[test]
fn v1alpha1_is_identical_to_v1beta1_for_groups_and_registries() {
    for kind in [&crd::MCPGROUP, &crd::MCPREGISTRY] {
        let diffs = parity_differences(&crd::crd(kind), &reference(kind.plural), "v1alpha1");
        assert!(diffs.is_empty(), "{} v1alpha1:\n{}", kind.plural, diffs.join("\n"));
    }
}

#[test]
fn conversion_strategy_follows_whether_versions_differ() {
    for kind in KINDS {
        let conversion = &crd::crd(kind)["spec"]["conversion"];
        if kind.conversion_webhook {
            assert_eq!(conversion["strategy"], "Webhook", "{}", kind.plural);
            assert_eq!(conversion["webhook"]["conversionReviewVersions"], serde_json::json!(["v1"]));
            assert_eq!(conversion["webhook"]["clientConfig"]["service"]["path"], "/convert");
        } else {
            assert_eq!(conversion["strategy"], "None", "{}", kind.plural);
        }
    }
}

#[test]
fn every_crd_carries_the_storage_migration_label_and_toolhive_category() {
    for kind in KINDS {
        let crd = crd::crd(kind);
        assert_eq!(crd["metadata"]["labels"][crd::MIGRATION_LABEL], "true");
        assert_eq!(crd["spec"]["names"]["categories"], serde_json::json!(["toolhive"]));
    }
}
