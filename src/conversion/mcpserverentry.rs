//! MCPServerEntry: `spec.remoteURL` and a plain-string `spec.groupRef` are `v1alpha1` only.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{LegacyShapes, Record, group_ref, group_ref_name};

pub(super) struct MCPServerEntry;

/// What an MCPServerEntry's [`Record`] notes besides verbatim spec fields.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct EntryLegacy {
    /// `spec.remoteUrl` was written under this key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    remote_url_key: Option<RemoteUrlKey>,
    /// `spec.groupRef` was written in this form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    group_ref: Option<GroupRefForm>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum RemoteUrlKey {
    #[serde(rename = "remoteURL")]
    RemoteURL,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
enum GroupRefForm {
    /// The group's name as a plain string.
    String,
}

const REMOTE_URL: &str = "remoteUrl";
const LEGACY_REMOTE_URL: &str = "remoteURL";
const GROUP_REF: &str = "groupRef";

impl LegacyShapes for MCPServerEntry {
    type Legacy = EntryLegacy;

    fn to_v1beta1(spec: &mut Map<String, Value>, record: &mut Record<EntryLegacy>) {
        if let Some(url) = spec.remove(LEGACY_REMOTE_URL) {
            if spec.contains_key(REMOTE_URL) {
                // `remoteUrl` wins; `v1beta1` has no second key to keep the other one in.
                record.spec.insert(LEGACY_REMOTE_URL.to_owned(), url);
            } else {
                spec.insert(REMOTE_URL.to_owned(), url);
                record.legacy.remote_url_key = Some(RemoteUrlKey::RemoteURL);
            }
        }
        if let Some(value) = spec.get_mut(GROUP_REF)
            && let Value::String(name) = value
        {
            *value = group_ref(std::mem::take(name));
            record.legacy.group_ref = Some(GroupRefForm::String);
        }
    }

    fn restore_legacy_shapes(spec: &mut Map<String, Value>, record: &Record<EntryLegacy>) {
        if record.legacy.remote_url_key.is_some()
            && let Some(url) = spec.remove(REMOTE_URL)
        {
            spec.insert(LEGACY_REMOTE_URL.to_owned(), url);
        }
        if record.legacy.group_ref.is_some()
            && let Some(value) = spec.get_mut(GROUP_REF)
            && let Some(name) = group_ref_name(value).map(str::to_owned)
        {
            *value = Value::String(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use serde_json::{Value, json};

    use crate::conversion::{ANNOTATION, ServedVersion, assert_converts_both_ways, convert};

    /// An entry carrying a user annotation, plus the conversion record when there is one.
    fn entry(version: ServedVersion, spec: Value, record: Option<&str>) -> Value {
        let mut metadata = json!({"name": "fetch", "namespace": "tools", "annotations": {"owner": "a"}});
        if let Some(record) = record {
            metadata["annotations"][ANNOTATION] = json!(record);
        }
        json!({"apiVersion": version.api_version(), "kind": "MCPServerEntry", "metadata": metadata, "spec": spec})
    }

    /// `(rule, v1alpha1 spec, v1beta1 spec, v1beta1 record)`; each case also checks the way back.
    fn cases() -> Vec<(&'static str, Value, Value, Option<&'static str>)> {
        vec![
            (
                "remoteURL becomes remoteUrl",
                json!({"remoteURL": "https://a", "transport": "sse"}),
                json!({"remoteUrl": "https://a", "transport": "sse"}),
                Some(r#"{"remoteUrlKey":"remoteURL"}"#),
            ),
            (
                "remoteUrl wins over a different remoteURL",
                json!({"remoteURL": "https://old", "remoteUrl": "https://new"}),
                json!({"remoteUrl": "https://new"}),
                Some(r#"{"spec":{"remoteURL":"https://old"}}"#),
            ),
            (
                "remoteURL equal to remoteUrl is kept too",
                json!({"remoteURL": "https://a", "remoteUrl": "https://a"}),
                json!({"remoteUrl": "https://a"}),
                Some(r#"{"spec":{"remoteURL":"https://a"}}"#),
            ),
            (
                "remoteUrl alone needs no record",
                json!({"remoteUrl": "https://a"}),
                json!({"remoteUrl": "https://a"}),
                None,
            ),
            (
                "string groupRef becomes an object",
                json!({"groupRef": "g"}),
                json!({"groupRef": {"name": "g"}}),
                Some(r#"{"groupRef":"string"}"#),
            ),
            (
                "object groupRef is unchanged",
                json!({"groupRef": {"name": "g"}}),
                json!({"groupRef": {"name": "g"}}),
                None,
            ),
            (
                "every legacy shape at once, unknown fields untouched",
                json!({"remoteURL": "https://a", "groupRef": "", "future": {"x": [1]}}),
                json!({"remoteUrl": "https://a", "groupRef": {"name": ""}, "future": {"x": [1]}}),
                Some(r#"{"remoteUrlKey":"remoteURL","groupRef":"string"}"#),
            ),
            (
                "odd values are renamed but not reshaped",
                json!({"remoteURL": null, "groupRef": 5}),
                json!({"remoteUrl": null, "groupRef": 5}),
                Some(r#"{"remoteUrlKey":"remoteURL"}"#),
            ),
        ]
    }

    #[test]
    fn rules_convert_both_ways() {
        for (rule, v1alpha1, v1beta1, record) in cases() {
            let legacy = entry(ServedVersion::V1alpha1, v1alpha1, None);
            assert_converts_both_ways(rule, &legacy, &entry(ServedVersion::V1beta1, v1beta1, record));
        }
    }

    #[test]
    fn edits_made_through_v1beta1_show_through_v1alpha1() {
        let legacy = entry(ServedVersion::V1alpha1, json!({"remoteURL": "https://a", "groupRef": "g"}), None);
        let mut stored = convert(&legacy, ServedVersion::V1beta1.api_version()).unwrap();
        stored["spec"]["remoteUrl"] = json!("https://b");
        stored["spec"]["groupRef"] = json!({"name": "h", "namespace": "tools"});
        let read = convert(&stored, ServedVersion::V1alpha1.api_version()).unwrap();
        assert_eq!(read["spec"], json!({"remoteURL": "https://b", "groupRef": {"name": "h", "namespace": "tools"}}));
        assert_eq!(read["metadata"], json!({"name": "fetch", "namespace": "tools", "annotations": {"owner": "a"}}));
    }
}
