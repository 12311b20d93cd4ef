//! What a VirtualMCPServer said at `v1alpha1` that its `v1beta1` form no longer shows: read from
//! the conversion annotation, and from legacy keys still present in the raw object.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::raw_has;
use crate::admission::Context;
use crate::admission::finding::Findings;
use crate::admission::path::field;
use crate::api::v1beta1::VirtualMCPServerSpec;

/// Annotation in which conversion keeps, as compact JSON, what the `v1alpha1` object expressed
/// that `v1beta1` cannot hold in the same form.
///
/// Admission reads two things from it and ignores every other key:
/// - `spec`: an object of `v1alpha1` spec fields with no place in `v1beta1`, kept verbatim, e.g.
///   `{"spec": {"tokenCache": {...}, "aggregation": {...}}}` (a top-level `aggregation` that lost to
///   `spec.config.aggregation`).
/// - the fields conversion added because `v1alpha1` lacked them, either as a list of paths,
///   `{"absent": ["spec.incomingAuth"]}`, or as spec keys marked absent, `{"incomingAuth": "absent"}`.
///
/// A missing or malformed annotation reads as an empty record: it only ever adds warnings.
pub const CONVERSION_ANNOTATION: &str = "conversion.toolhive.stacklok.dev/v1alpha1";

/// Top-level `v1alpha1` fields that `v1beta1` keeps under `spec.config`.
pub const MOVED_TO_CONFIG: [&str; 4] = ["aggregation", "compositeTools", "compositeToolRefs", "operational"];
/// The legacy token cache; it has no `v1beta1` field.
pub const TOKEN_CACHE: &str = "tokenCache";

/// Keys of the record that describe metadata rather than spec fields.
const NON_SPEC_KEYS: [&str; 4] = ["spec", "absent", "annotations", "original"];

/// The parts of the conversion annotation admission uses.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConversionRecord {
    /// `v1alpha1` spec fields kept only in the annotation.
    pub spec: Map<String, Value>,
    /// Paths (`spec.incomingAuth`) that `v1alpha1` lacked and conversion filled in.
    pub absent: Vec<String>,
}

impl ConversionRecord {
    /// Reads the record from an object's annotations; anything unreadable is ignored.
    pub fn from_annotations(annotations: Option<&BTreeMap<String, String>>) -> Self {
        let parsed = annotations
            .and_then(|a| a.get(CONVERSION_ANNOTATION))
            .and_then(|text| serde_json::from_str::<Value>(text).ok());
        let Some(Value::Object(record)) = parsed else { return Self::default() };
        let spec = match record.get("spec") {
            Some(Value::Object(spec)) => spec.clone(),
            _ => Map::new(),
        };
        let listed = record.get("absent").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str);
        let mut absent: Vec<String> = listed.map(str::to_string).collect();
        let marked = record
            .iter()
            .filter(|(key, value)| !NON_SPEC_KEYS.contains(&key.as_str()) && value.as_str() == Some("absent"));
        absent.extend(marked.map(|(key, _)| format!("spec.{key}")));
        ConversionRecord { spec, absent }
    }

    /// Whether conversion filled in `path` because the `v1alpha1` object lacked it.
    pub fn was_absent(&self, path: &str) -> bool {
        self.absent.iter().any(|p| p == path)
    }
}

/// Warnings for legacy fields `v1beta1` does not read: `tokenCache`, and top-level copies of
/// `spec.config` fields.
pub(super) fn check_legacy_fields(spec: &VirtualMCPServerSpec, ctx: &Context, out: &mut Findings) {
    let record = ConversionRecord::from_annotations(ctx.annotations);
    let legacy = |name: &str| record.spec.contains_key(name) || raw_has(ctx, &field("spec", name));
    if legacy(TOKEN_CACHE) {
        out.warn(
            "vmcp.token-cache",
            "spec.tokenCache",
            "the v1alpha1 tokenCache has no effect in v1beta1; sessions are shared through spec.sessionStorage",
        );
    }
    let config = spec.config.as_ref();
    for name in MOVED_TO_CONFIG {
        if !legacy(name) {
            continue;
        }
        let in_config = config.is_some_and(|c| match name {
            "aggregation" => c.aggregation.is_some(),
            "compositeTools" => c.composite_tools.is_some(),
            "compositeToolRefs" => c.composite_tool_refs.is_some(),
            _ => c.operational.is_some(),
        });
        let message = if in_config {
            format!(
                "the v1alpha1 top-level spec.{name} was ignored because spec.config.{name} already sets it; merge what is still needed into spec.config.{name}"
            )
        } else {
            format!("the v1alpha1 top-level spec.{name} is not read in v1beta1; move it to spec.config.{name}")
        };
        out.warn("vmcp.config.moved", format!("spec.{name}"), message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(text: &str) -> ConversionRecord {
        let annotations = BTreeMap::from([(CONVERSION_ANNOTATION.to_string(), text.to_string())]);
        ConversionRecord::from_annotations(Some(&annotations))
    }

    #[test]
    fn both_spellings_of_absent_fields_are_read() {
        assert!(record(r#"{"absent":["spec.incomingAuth"]}"#).was_absent("spec.incomingAuth"));
        assert!(record(r#"{"incomingAuth":"absent"}"#).was_absent("spec.incomingAuth"));
        assert!(!record(r#"{"annotations":"absent"}"#).was_absent("spec.annotations"));
        assert!(!record(r#"{"incomingAuth":"null"}"#).was_absent("spec.incomingAuth"));
    }

    #[test]
    fn spec_fields_are_kept_and_unknown_keys_ignored() {
        let r = record(r#"{"spec":{"tokenCache":{"provider":"redis"}},"movedToConfig":["operational"],"x":1}"#);
        assert!(r.spec.contains_key("tokenCache"));
        assert!(r.absent.is_empty());
    }

    #[test]
    fn unreadable_annotations_read_as_empty() {
        for text in ["", "{not json", "[1]", "42", r#"{"spec":[1],"absent":"spec.incomingAuth"}"#] {
            assert_eq!(record(text), ConversionRecord::default(), "{text}");
        }
        assert_eq!(ConversionRecord::from_annotations(None), ConversionRecord::default());
    }
}
