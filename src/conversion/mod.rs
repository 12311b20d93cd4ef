//! Conversion between `v1alpha1` and `v1beta1`: pure functions over JSON objects.
//!
//! Working on `serde_json::Value` rather than on the typed structs keeps conversion lossless for
//! shapes the types do not model (legacy spellings, unknown fields) and lets it convert an object
//! without parsing it fully.
//!
//! `v1alpha1` is a superset of `v1beta1`, so converting down only has to undo what converting up
//! changed. What a `v1alpha1` object expressed that `v1beta1` cannot hold in the same form is kept in
//! the annotation [`ANNOTATION`] as compact JSON (a [`Record`]): written only when needed, removed
//! again when converting back. The record stores *forms* (a key was spelled `remoteURL`, `source` was
//! `mixed`) rather than copies of values `v1beta1` still holds, so that an edit made through
//! `v1beta1` shows up through `v1alpha1` too; only values with no place in `v1beta1` are kept
//! verbatim. Restoring a form is skipped when the `v1beta1` value no longer matches it.
//!
//! A `v1alpha1` object that already carries a value under the annotation's key keeps it: the record
//! holds it as `original`, and converting back puts it back.
//!
//! The round trip `v1beta1 → v1alpha1 → v1beta1` is exact for what the API server can store at
//! `v1beta1`: objects valid against the `v1beta1` schema (which prunes or rejects the
//! `v1alpha1`-only shapes) and objects converted up, whose record conversion wrote. A record edited
//! by hand, or made stale by a later `v1beta1` edit, is applied as far as it still fits and then
//! dropped: the object keeps its meaning and loses only the stale form.
//!
//! "Present" means the key exists, `null` included: the API server prunes nulls from these
//! non-nullable fields before it asks for a conversion, and treating a stray `null` as a value keeps
//! the round trip exact without more bookkeeping. Likewise a `spec` (or `spec.config`,
//! `outgoingAuth`, …) that is not an object is carried over as written.

mod mcpserverentry;
mod raw;
pub mod review;
mod virtualmcpserver;

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::api::crd::GROUP;

pub use review::{ObjectTally, ReviewOutcome, ReviewResponse, handle_review};

/// Annotation holding, as compact JSON, what the `v1alpha1` object expressed that `v1beta1` cannot
/// hold in the same form.
pub const ANNOTATION: &str = "conversion.toolhive.stacklok.dev/v1alpha1";

/// Input that cannot be converted at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConversionError {
    #[error("the object is not a JSON object")]
    NotAnObject,
    #[error("unknown kind: {0}; expected MCPGroup, MCPServerEntry, VirtualMCPServer or MCPRegistry")]
    UnknownKind(String),
    #[error("unsupported apiVersion: {0}; expected {GROUP}/v1alpha1 or {GROUP}/v1beta1")]
    UnsupportedApiVersion(String),
    #[error("annotation {ANNOTATION} is not a conversion record: {0}")]
    InvalidAnnotation(String),
    #[error("metadata or metadata.annotations is not a map, so annotation {ANNOTATION} cannot be written")]
    AnnotationsNotWritable,
}

/// The four kinds of `toolhive.stacklok.dev`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    MCPGroup,
    MCPServerEntry,
    VirtualMCPServer,
    MCPRegistry,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::MCPGroup, Kind::MCPServerEntry, Kind::VirtualMCPServer, Kind::MCPRegistry];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::MCPGroup => "MCPGroup",
            Kind::MCPServerEntry => "MCPServerEntry",
            Kind::VirtualMCPServer => "VirtualMCPServer",
            Kind::MCPRegistry => "MCPRegistry",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The kind an object's `kind` field names, if it is one of ours.
    pub fn of(object: &Value) -> Option<Kind> {
        Kind::from_name(object.get("kind")?.as_str()?)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A served version of `toolhive.stacklok.dev`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServedVersion {
    V1alpha1,
    V1beta1,
}

impl ServedVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            ServedVersion::V1alpha1 => "v1alpha1",
            ServedVersion::V1beta1 => "v1beta1",
        }
    }

    pub fn api_version(self) -> &'static str {
        match self {
            ServedVersion::V1alpha1 => "toolhive.stacklok.dev/v1alpha1",
            ServedVersion::V1beta1 => "toolhive.stacklok.dev/v1beta1",
        }
    }

    /// Parses a full `apiVersion` such as `toolhive.stacklok.dev/v1beta1`.
    pub fn from_api_version(api_version: &str) -> Result<ServedVersion, ConversionError> {
        [ServedVersion::V1alpha1, ServedVersion::V1beta1]
            .into_iter()
            .find(|v| v.api_version() == api_version)
            .ok_or_else(|| ConversionError::UnsupportedApiVersion(shown(api_version)))
    }
}

impl fmt::Display for ServedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Converts `object` to `desired_api_version` (`toolhive.stacklok.dev/v1alpha1` or `…/v1beta1`).
/// An object already at that version is returned unchanged.
pub fn convert(object: &Value, desired_api_version: &str) -> Result<Value, ConversionError> {
    let to = ServedVersion::from_api_version(desired_api_version)?;
    let mut converted = object.clone();
    convert_in_place(&mut converted, to)?;
    Ok(converted)
}

/// Converts `object` to `to` in place. On error the object may be half converted and is to be
/// discarded (a failed review returns no objects).
pub(crate) fn convert_in_place(object: &mut Value, to: ServedVersion) -> Result<(), ConversionError> {
    let map = object.as_object_mut().ok_or(ConversionError::NotAnObject)?;
    let kind = match map.get("kind") {
        Some(Value::String(name)) => Kind::from_name(name).ok_or_else(|| ConversionError::UnknownKind(shown(name)))?,
        other => return Err(ConversionError::UnknownKind(describe(other))),
    };
    let from = match map.get("apiVersion") {
        Some(Value::String(api_version)) => ServedVersion::from_api_version(api_version)?,
        other => return Err(ConversionError::UnsupportedApiVersion(describe(other))),
    };
    if from == to {
        return Ok(());
    }
    match (kind, to) {
        (Kind::MCPGroup | Kind::MCPRegistry, _) => {}
        (Kind::MCPServerEntry, ServedVersion::V1beta1) => to_v1beta1::<mcpserverentry::MCPServerEntry>(map)?,
        (Kind::MCPServerEntry, ServedVersion::V1alpha1) => to_v1alpha1::<mcpserverentry::MCPServerEntry>(map)?,
        (Kind::VirtualMCPServer, ServedVersion::V1beta1) => to_v1beta1::<virtualmcpserver::VirtualMCPServer>(map)?,
        (Kind::VirtualMCPServer, ServedVersion::V1alpha1) => to_v1alpha1::<virtualmcpserver::VirtualMCPServer>(map)?,
    }
    map.insert("apiVersion".to_owned(), Value::String(to.api_version().to_owned()));
    Ok(())
}

/// `text` quoted and cut to 100 characters, for error messages that go back to the user.
fn shown(text: &str) -> String {
    match text.char_indices().nth(100) {
        Some((end, _)) => format!("{:?}…", &text[..end]),
        None => format!("{text:?}"),
    }
}

/// A short description of a field's value for error messages: a string shortened, otherwise its
/// JSON type, or `none` when the field is absent.
pub(crate) fn describe(value: Option<&Value>) -> String {
    match value {
        None => "none".to_owned(),
        Some(Value::String(text)) => shown(text),
        Some(Value::Null) => "null".to_owned(),
        Some(Value::Bool(_)) => "a boolean".to_owned(),
        Some(Value::Number(_)) => "a number".to_owned(),
        Some(Value::Array(_)) => "a list".to_owned(),
        Some(Value::Object(_)) => "an object".to_owned(),
    }
}

/// A kind whose `v1alpha1` accepts shapes that `v1beta1` holds differently.
trait LegacyShapes {
    /// The kind's part of the [`Record`].
    type Legacy: Serialize + DeserializeOwned + Default + PartialEq;

    /// Rewrites the legacy shapes of a `v1alpha1` spec into `v1beta1`, noting in `record` what is
    /// needed to restore them.
    fn to_v1beta1(spec: &mut Map<String, Value>, record: &mut Record<Self::Legacy>);

    /// Restores the legacy shapes noted in `record` (apart from [`Record::spec`], which the caller
    /// restores afterwards).
    fn restore_legacy_shapes(spec: &mut Map<String, Value>, record: &Record<Self::Legacy>);
}

/// The content of [`ANNOTATION`].
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record<L> {
    #[serde(flatten)]
    legacy: L,
    /// Spec fields `v1beta1` has no place for, restored verbatim.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    spec: Map<String, Value>,
    /// How `metadata.annotations` looked when conversion had to create it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    annotations: Option<Was>,
    /// The value the `v1alpha1` object itself carried under [`ANNOTATION`].
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    original: Option<Value>,
}

impl<L: Default + PartialEq> Record<L> {
    fn is_empty(&self) -> bool {
        self.legacy == L::default() && self.spec.is_empty() && self.original.is_none()
    }
}

/// A key that conversion had to fill in: it was absent, or (for `metadata.annotations`) null.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
enum Was {
    Absent,
    Null,
}

impl Was {
    /// Puts `key` back the way it was.
    fn restore(self, map: &mut Map<String, Value>, key: &str) {
        match self {
            Was::Absent => map.remove(key),
            Was::Null => map.insert(key.to_owned(), Value::Null),
        };
    }
}

/// Deserializes a field that is present, keeping an explicit `null` as `Some(Value::Null)`.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

fn to_v1beta1<K: LegacyShapes>(object: &mut Map<String, Value>) -> Result<(), ConversionError> {
    let mut record = Record::<K::Legacy>::default();
    if let Some(Value::Object(spec)) = object.get_mut("spec") {
        K::to_v1beta1(spec, &mut record);
    }
    write_record(object, record)
}

fn to_v1alpha1<K: LegacyShapes>(object: &mut Map<String, Value>) -> Result<(), ConversionError> {
    let Some(mut record) = read_record::<K::Legacy>(object)? else {
        return Ok(());
    };
    if let Some(Value::Object(spec)) = object.get_mut("spec") {
        K::restore_legacy_shapes(spec, &record);
        spec.append(&mut record.spec);
    }
    restore_annotation(object, record);
    Ok(())
}

/// Stores `record` under [`ANNOTATION`], keeping any value the object already had there in it.
fn write_record<L: Serialize + Default + PartialEq>(
    object: &mut Map<String, Value>,
    mut record: Record<L>,
) -> Result<(), ConversionError> {
    let nowhere_to_write = |record: &Record<L>| {
        if record.is_empty() { Ok(()) } else { Err(ConversionError::AnnotationsNotWritable) }
    };
    let Some(Value::Object(metadata)) = object.get_mut("metadata") else { return nowhere_to_write(&record) };
    match metadata.get_mut("annotations") {
        Some(Value::Object(annotations)) => record.original = annotations.remove(ANNOTATION),
        None => record.annotations = Some(Was::Absent),
        Some(Value::Null) => record.annotations = Some(Was::Null),
        Some(_) => return nowhere_to_write(&record),
    }
    if record.is_empty() {
        return Ok(());
    }
    let json = serde_json::to_string(&record).map_err(|e| ConversionError::InvalidAnnotation(e.to_string()))?;
    let slot = metadata.entry("annotations").or_insert(Value::Null);
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    if let Value::Object(annotations) = slot {
        annotations.insert(ANNOTATION.to_owned(), Value::String(json));
    }
    Ok(())
}

/// The record under [`ANNOTATION`], if the object carries one.
fn read_record<L: DeserializeOwned>(object: &Map<String, Value>) -> Result<Option<Record<L>>, ConversionError> {
    let Some(value) = object.get("metadata").and_then(|m| m.get("annotations")).and_then(|a| a.get(ANNOTATION)) else {
        return Ok(None);
    };
    let text = value.as_str().ok_or_else(|| ConversionError::InvalidAnnotation("not a string".to_owned()))?;
    serde_json::from_str(text).map(Some).map_err(|e| ConversionError::InvalidAnnotation(e.to_string()))
}

/// Removes [`ANNOTATION`] again, or puts back the value the `v1alpha1` object had there.
fn restore_annotation<L>(object: &mut Map<String, Value>, record: Record<L>) {
    let Some(Value::Object(metadata)) = object.get_mut("metadata") else { return };
    let Some(Value::Object(annotations)) = metadata.get_mut("annotations") else { return };
    match record.original {
        Some(original) => {
            annotations.insert(ANNOTATION.to_owned(), original);
        }
        None => {
            annotations.remove(ANNOTATION);
        }
    }
    if let Some(was) = record.annotations
        && annotations.is_empty()
    {
        was.restore(metadata, "annotations");
    }
}

/// A `groupRef` object naming the group `name`.
fn group_ref(name: String) -> Value {
    Value::Object(Map::from_iter([("name".to_owned(), Value::String(name))]))
}

/// The group a `groupRef` object names, when it holds nothing but that name (the form
/// [`group_ref`] builds).
fn group_ref_name(group_ref: &Value) -> Option<&str> {
    let fields = group_ref.as_object()?;
    match (fields.len(), fields.get("name")) {
        (1, Some(Value::String(name))) => Some(name),
        _ => None,
    }
}

/// Renames the string at `map[key]` from its `v1alpha1` spelling to its `v1beta1` one, following
/// `renames` (`(v1alpha1, v1beta1)` pairs). Returns the `v1alpha1` spelling it replaced.
fn rename_value(map: &mut Map<String, Value>, key: &str, renames: &[(&str, &str)]) -> Option<String> {
    let Some(Value::String(value)) = map.get_mut(key) else { return None };
    let (legacy, current) = renames.iter().find(|(legacy, _)| legacy == value)?;
    *value = (*current).to_owned();
    Some((*legacy).to_owned())
}

/// Undoes [`rename_value`]: puts back the `legacy` spelling when `map[key]` still holds its
/// `v1beta1` counterpart.
fn restore_value(map: &mut Map<String, Value>, key: &str, legacy: &str, renames: &[(&str, &str)]) {
    let Some(Value::String(value)) = map.get_mut(key) else { return };
    if renames.iter().any(|(l, current)| *l == legacy && current == value) {
        legacy.clone_into(value);
    }
}

/// Asserts that `legacy` converts up to exactly `converted` and back to exactly `legacy`.
#[cfg(test)]
fn assert_converts_both_ways(rule: &str, legacy: &Value, converted: &Value) {
    use pretty_assertions::assert_eq;
    assert_eq!(convert(legacy, ServedVersion::V1beta1.api_version()).as_ref(), Ok(converted), "{rule}");
    assert_eq!(convert(converted, ServedVersion::V1alpha1.api_version()).as_ref(), Ok(legacy), "{rule} (back)");
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use serde_json::json;

    use super::*;

    fn object(api_version: &str, kind: &str) -> Value {
        json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": "n", "namespace": "ns"}, "spec": {"x": 1}})
    }

    #[test]
    fn groups_and_registries_only_change_api_version() {
        for kind in ["MCPGroup", "MCPRegistry"] {
            for (from, to) in [("v1alpha1", "v1beta1"), ("v1beta1", "v1alpha1")] {
                let mut input = object(&format!("{GROUP}/{from}"), kind);
                // Even a conversion annotation is left alone: these kinds have nothing to restore.
                input["metadata"]["annotations"] = json!({ANNOTATION: "not json"});
                let mut expected = input.clone();
                expected["apiVersion"] = json!(format!("{GROUP}/{to}"));
                assert_eq!(convert(&input, &format!("{GROUP}/{to}")), Ok(expected), "{kind} {from}->{to}");
            }
        }
    }

    #[test]
    fn an_object_already_at_the_desired_version_is_returned_unchanged() {
        for kind in Kind::ALL {
            for version in [ServedVersion::V1alpha1, ServedVersion::V1beta1] {
                let mut input = object(version.api_version(), kind.as_str());
                input["spec"] = json!({"remoteURL": "https://a", "groupRef": "g", "tokenCache": {}});
                input["metadata"]["annotations"] = json!({ANNOTATION: "{not json"});
                assert_eq!(convert(&input, version.api_version()), Ok(input.clone()), "{kind} {version}");
            }
        }
    }

    #[test]
    fn input_that_cannot_be_converted_is_a_typed_error() {
        let v1beta1 = ServedVersion::V1beta1.api_version();
        let cases = [
            (json!([1, 2]), v1beta1, ConversionError::NotAnObject),
            (json!("MCPGroup"), v1beta1, ConversionError::NotAnObject),
            (object("toolhive.stacklok.dev/v1alpha1", "Pod"), v1beta1, ConversionError::UnknownKind(r#""Pod""#.into())),
            (
                json!({"apiVersion": "toolhive.stacklok.dev/v1alpha1"}),
                v1beta1,
                ConversionError::UnknownKind("none".into()),
            ),
            (json!({"kind": {"a": 1}}), v1beta1, ConversionError::UnknownKind("an object".into())),
            (
                json!({"kind": "K".repeat(500)}),
                v1beta1,
                ConversionError::UnknownKind(format!("\"{}\"…", "K".repeat(100))),
            ),
            (
                object("toolhive.stacklok.dev/v2", "MCPGroup"),
                v1beta1,
                ConversionError::UnsupportedApiVersion(r#""toolhive.stacklok.dev/v2""#.into()),
            ),
            (json!({"kind": "MCPGroup"}), v1beta1, ConversionError::UnsupportedApiVersion("none".into())),
            (
                json!({"kind": "MCPGroup", "apiVersion": 7}),
                v1beta1,
                ConversionError::UnsupportedApiVersion("a number".into()),
            ),
            (
                object("toolhive.stacklok.dev/v1alpha1", "MCPGroup"),
                "toolhive.stacklok.dev/v1",
                ConversionError::UnsupportedApiVersion(r#""toolhive.stacklok.dev/v1""#.into()),
            ),
        ];
        for (input, desired, expected) in cases {
            assert_eq!(convert(&input, desired), Err(expected), "{input} -> {desired}");
        }
    }

    #[test]
    fn an_annotation_that_is_not_a_record_fails_conversion_to_v1alpha1() {
        for (kind, value) in [
            ("MCPServerEntry", json!("{not json")),
            ("VirtualMCPServer", json!("[1]")),
            ("VirtualMCPServer", json!(42)),
            ("MCPServerEntry", json!(r#"{"groupRef":"number"}"#)),
        ] {
            let mut input = object(ServedVersion::V1beta1.api_version(), kind);
            input["metadata"]["annotations"] = json!({ ANNOTATION: value });
            let result = convert(&input, ServedVersion::V1alpha1.api_version());
            assert!(matches!(result, Err(ConversionError::InvalidAnnotation(_))), "{kind} {value}: {result:?}");
        }
    }

    #[test]
    fn unknown_keys_in_a_record_are_ignored() {
        let mut input = object(ServedVersion::V1beta1.api_version(), "MCPServerEntry");
        input["metadata"]["annotations"] = json!({ ANNOTATION: r#"{"fromTheFuture":true}"# });
        let converted = convert(&input, ServedVersion::V1alpha1.api_version()).expect("converts");
        assert_eq!(converted["metadata"], json!({"name": "n", "namespace": "ns", "annotations": {}}));
    }

    #[test]
    fn annotations_that_are_not_a_map_fail_only_when_a_record_must_be_written() {
        let mut input = object(ServedVersion::V1alpha1.api_version(), "MCPServerEntry");
        input["metadata"]["annotations"] = json!(["a"]);
        let to_v1beta1 = ServedVersion::V1beta1.api_version();
        assert!(convert(&input, to_v1beta1).is_ok(), "nothing to record");
        input["spec"] = json!({"groupRef": "g"});
        assert_eq!(convert(&input, to_v1beta1), Err(ConversionError::AnnotationsNotWritable));
        input["metadata"] = json!("m");
        assert_eq!(convert(&input, to_v1beta1), Err(ConversionError::AnnotationsNotWritable));
    }

    #[test]
    fn the_annotations_map_is_put_back_the_way_it_was() {
        let v1alpha1 = ServedVersion::V1alpha1.api_version();
        let v1beta1 = ServedVersion::V1beta1.api_version();
        for annotations in [None, Some(json!(null)), Some(json!({})), Some(json!({"a": "b"}))] {
            let mut input = object(v1alpha1, "MCPServerEntry");
            input["spec"] = json!({"groupRef": "g"});
            if let Some(annotations) = &annotations {
                input["metadata"]["annotations"] = annotations.clone();
            }
            let up = convert(&input, v1beta1).expect("up");
            assert!(up["metadata"]["annotations"][ANNOTATION].is_string(), "{annotations:?}: {up}");
            assert_eq!(convert(&up, v1alpha1), Ok(input), "{annotations:?}");
        }
    }

    #[test]
    fn a_user_value_under_the_annotation_key_survives_the_round_trip() {
        let v1alpha1 = ServedVersion::V1alpha1.api_version();
        let v1beta1 = ServedVersion::V1beta1.api_version();
        for (spec, original) in [
            (json!({"groupRef": {"name": "g"}}), json!("hand written")),
            (json!({"groupRef": "g"}), json!(r#"{"groupRef":"string"}"#)),
            (json!({}), json!(null)),
        ] {
            let mut input = object(v1alpha1, "MCPServerEntry");
            input["spec"] = spec;
            input["metadata"]["annotations"] = json!({ ANNOTATION: original, "keep": "me" });
            let up = convert(&input, v1beta1).expect("up");
            let record: Value = serde_json::from_str(up["metadata"]["annotations"][ANNOTATION].as_str().unwrap())
                .expect("record is JSON");
            assert_eq!(record["original"], original);
            assert_eq!(convert(&up, v1alpha1), Ok(input));
        }
    }
}
