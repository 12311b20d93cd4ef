//! Turns schemars output into the structural OpenAPI v3 subset the Kubernetes API server accepts.
//!
//! The types in `v1beta1`/`v1alpha1` are the source of truth; this module inlines every subschema,
//! drops what schemars adds for `Option` (null types, `nullable`), and offers the `schema_with`
//! helpers for nodes schemars cannot express (free-form objects, formatless integers).

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Serialize;
use serde_json::{Map, Value};

/// The structural schema of `T`, ready to be placed in a CRD.
pub fn structural_schema_for<T: JsonSchema>() -> Value {
    let generator = SchemaSettings::draft2020_12()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .into_generator();
    let mut value = generator.into_root_schema_for::<T>().to_value();
    normalize(&mut value);
    value
}

/// Applies the structural rewrites to one node and, recursively, to its children.
fn normalize(node: &mut Value) {
    let Value::Object(map) = node else { return };
    map.remove("title");
    map.remove("$schema");
    map.remove("$defs");
    if let Some(Value::String(text)) = map.get_mut("description") {
        *text = unwrap_lines(text);
    }
    collapse_optional(map);
    if let Some(Value::Array(values)) = map.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    if let Some(Value::Object(props)) = map.get_mut("properties") {
        props.values_mut().for_each(normalize);
    }
    for key in ["items", "additionalProperties"] {
        if let Some(child) = map.get_mut(key) {
            normalize(child);
        }
    }
}

/// Doc comments wrap at the source's line width; `kubectl explain` reads better with one line per
/// paragraph, so single line breaks become spaces and blank lines stay paragraph breaks.
fn unwrap_lines(text: &str) -> String {
    text.split("\n\n")
        .map(|paragraph| paragraph.split('\n').map(str::trim).collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// `Option<T>` appears as `type: [T, "null"]` or `anyOf: [T, {type: null}]`; a structural schema
/// states optionality through `required` alone.
fn collapse_optional(map: &mut Map<String, Value>) {
    if let Some(Value::Array(types)) = map.get("type") {
        let kept: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        if kept.len() == 1 {
            map.insert("type".into(), kept[0].clone());
        }
    }
    for key in ["anyOf", "oneOf"] {
        let Some(Value::Array(branches)) = map.get(key) else { continue };
        let kept: Vec<Value> = branches.iter().filter(|b| !is_null_schema(b)).cloned().collect();
        if kept.len() != 1 {
            continue;
        }
        map.remove(key);
        if let Value::Object(inner) = kept.into_iter().next().unwrap_or_default() {
            for (k, v) in inner {
                // Metadata on the field (description, default) wins over the type's own.
                map.entry(k).or_insert(v);
            }
        }
    }
}

fn is_null_schema(schema: &Value) -> bool {
    schema.get("type").is_some_and(|t| t == "null") || schema.get("const").is_some_and(Value::is_null)
}

/// An object whose fields are kept as written (for example an embedded `PodTemplateSpec`).
pub fn preserve_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true })
}

/// Any JSON value, kept as written.
pub fn preserve_any(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "x-kubernetes-preserve-unknown-fields": true })
}

/// A list of arbitrary objects kept as written (for example Kubernetes `Volume`s).
pub fn preserve_list(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "items": { "x-kubernetes-preserve-unknown-fields": true },
        "x-kubernetes-list-type": "atomic",
        "x-kubernetes-preserve-unknown-fields": true,
    })
}

/// An integer without a `format`, as the reference schema declares Go `int` fields.
pub fn integer(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "integer" })
}

/// A string, for fields typed loosely in Rust so that admission can report bad values itself.
pub fn string(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string" })
}

/// One `x-kubernetes-validations` entry, for rules that several schemas must carry word for word
/// (`#[schemars(extend("x-kubernetes-validations" = [RULE, ...]))]`).
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct CelRule {
    pub rule: &'static str,
    pub message: &'static str,
}
