//! VirtualMCPServer: `v1alpha1` also accepts the group named only in `spec.config.groupRef`, the
//! top-level copies of `spec.config` fields, `spec.tokenCache`, `source: mixed`, the snake-case
//! backend auth types and an absent `spec.incomingAuth`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{LegacyShapes, Record, Was, group_ref, group_ref_name, rename_value, restore_value};

pub(super) struct VirtualMCPServer;

/// What a VirtualMCPServer's [`Record`] notes besides verbatim spec fields.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ServerLegacy {
    /// `spec.groupRef` was absent and filled in from this source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    group_ref: Option<GroupRefSource>,
    /// `spec.config` was absent and created to receive the moved fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    config: Option<Was>,
    /// Top-level spec fields moved into `spec.config`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    moved_to_config: Vec<String>,
    /// `spec.incomingAuth` was absent and filled in as anonymous.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    incoming_auth: Option<Was>,
    #[serde(default, skip_serializing_if = "OutgoingAuthLegacy::is_empty")]
    outgoing_auth: OutgoingAuthLegacy,
}

/// The `v1alpha1` spellings `spec.outgoingAuth` used.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OutgoingAuthLegacy {
    /// `source` as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source: Option<String>,
    /// `default.type` as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    default: Option<String>,
    /// `backends.<name>.type` as written.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    backends: BTreeMap<String, String>,
}

impl OutgoingAuthLegacy {
    fn is_empty(&self) -> bool {
        self == &OutgoingAuthLegacy::default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum GroupRefSource {
    #[serde(rename = "config.groupRef")]
    ConfigGroupRef,
}

/// Top-level `v1alpha1` spec fields that `v1beta1` keeps under `spec.config`.
const FIELDS_MOVED_TO_CONFIG: [&str; 4] = ["aggregation", "compositeTools", "compositeToolRefs", "operational"];
/// `(v1alpha1, v1beta1)` spellings of `spec.outgoingAuth.source`.
const SOURCE_RENAMES: &[(&str, &str)] = &[("mixed", "discovered")];
/// `(v1alpha1, v1beta1)` spellings of a backend auth `type`.
const BACKEND_TYPE_RENAMES: &[(&str, &str)] = &[("external_auth_config_ref", "externalAuthConfigRef")];

const CONFIG: &str = "config";
const GROUP_REF: &str = "groupRef";
const TOKEN_CACHE: &str = "tokenCache";
const INCOMING_AUTH: &str = "incomingAuth";
const OUTGOING_AUTH: &str = "outgoingAuth";

impl LegacyShapes for VirtualMCPServer {
    type Legacy = ServerLegacy;

    fn to_v1beta1(spec: &mut Map<String, Value>, record: &mut Record<ServerLegacy>) {
        if !spec.contains_key(GROUP_REF)
            && let Some(name) = config_group_ref(spec)
        {
            let derived = group_ref(name.to_owned());
            spec.insert(GROUP_REF.to_owned(), derived);
            record.legacy.group_ref = Some(GroupRefSource::ConfigGroupRef);
        }
        move_into_config(spec, record);
        if let Some(token_cache) = spec.remove(TOKEN_CACHE) {
            record.spec.insert(TOKEN_CACHE.to_owned(), token_cache);
        }
        if let Some(Value::Object(outgoing)) = spec.get_mut(OUTGOING_AUTH) {
            rename_outgoing_auth(outgoing, &mut record.legacy.outgoing_auth);
        }
        if !spec.contains_key(INCOMING_AUTH) {
            spec.insert(INCOMING_AUTH.to_owned(), anonymous());
            record.legacy.incoming_auth = Some(Was::Absent);
        }
    }

    fn restore_legacy_shapes(spec: &mut Map<String, Value>, record: &Record<ServerLegacy>) {
        let legacy = &record.legacy;
        if legacy.group_ref.is_some()
            && config_group_ref(spec).is_some()
            && spec.get(GROUP_REF).and_then(group_ref_name) == config_group_ref(spec)
        {
            spec.remove(GROUP_REF);
        }
        restore_moved_fields(spec, legacy);
        if let Some(Value::Object(outgoing)) = spec.get_mut(OUTGOING_AUTH) {
            restore_outgoing_auth(outgoing, &legacy.outgoing_auth);
        }
        if let Some(was) = legacy.incoming_auth
            && spec.get(INCOMING_AUTH) == Some(&anonymous())
        {
            was.restore(spec, INCOMING_AUTH);
        }
    }
}

fn config_group_ref(spec: &Map<String, Value>) -> Option<&str> {
    spec.get(CONFIG)?.get(GROUP_REF)?.as_str()
}

fn anonymous() -> Value {
    Value::Object(Map::from_iter([("type".to_owned(), Value::String("anonymous".to_owned()))]))
}

/// Moves the top-level copies of `spec.config` fields into `spec.config`; where `spec.config` has
/// its own value, that one wins and the top-level one is kept in the record.
fn move_into_config(spec: &mut Map<String, Value>, record: &mut Record<ServerLegacy>) {
    if !FIELDS_MOVED_TO_CONFIG.iter().any(|field| spec.contains_key(*field)) {
        return;
    }
    let mut config = match spec.remove(CONFIG) {
        None => {
            record.legacy.config = Some(Was::Absent);
            Map::new()
        }
        Some(Value::Object(config)) => config,
        // Nothing can be moved into a config that is not an object; leave both as written.
        Some(other) => {
            spec.insert(CONFIG.to_owned(), other);
            return;
        }
    };
    for field in FIELDS_MOVED_TO_CONFIG {
        let Some(value) = spec.remove(field) else { continue };
        if config.contains_key(field) {
            record.spec.insert(field.to_owned(), value);
        } else {
            config.insert(field.to_owned(), value);
            record.legacy.moved_to_config.push(field.to_owned());
        }
    }
    spec.insert(CONFIG.to_owned(), Value::Object(config));
}

fn restore_moved_fields(spec: &mut Map<String, Value>, legacy: &ServerLegacy) {
    let Some(Value::Object(config)) = spec.get_mut(CONFIG) else { return };
    let mut restored = Vec::new();
    for field in &legacy.moved_to_config {
        // Only the fields conversion moves; a record never moves anything else out of config.
        if FIELDS_MOVED_TO_CONFIG.contains(&field.as_str())
            && let Some(value) = config.remove(field)
        {
            restored.push((field.clone(), value));
        }
    }
    if let Some(was) = legacy.config
        && config.is_empty()
    {
        was.restore(spec, CONFIG);
    }
    spec.extend(restored);
}

fn rename_outgoing_auth(outgoing: &mut Map<String, Value>, legacy: &mut OutgoingAuthLegacy) {
    legacy.source = rename_value(outgoing, "source", SOURCE_RENAMES);
    if let Some(Value::Object(default)) = outgoing.get_mut("default") {
        legacy.default = rename_value(default, "type", BACKEND_TYPE_RENAMES);
    }
    if let Some(Value::Object(backends)) = outgoing.get_mut("backends") {
        for (name, backend) in backends {
            if let Value::Object(backend) = backend
                && let Some(written) = rename_value(backend, "type", BACKEND_TYPE_RENAMES)
            {
                legacy.backends.insert(name.clone(), written);
            }
        }
    }
}

fn restore_outgoing_auth(outgoing: &mut Map<String, Value>, legacy: &OutgoingAuthLegacy) {
    if let Some(source) = &legacy.source {
        restore_value(outgoing, "source", source, SOURCE_RENAMES);
    }
    if let Some(written) = &legacy.default
        && let Some(Value::Object(default)) = outgoing.get_mut("default")
    {
        restore_value(default, "type", written, BACKEND_TYPE_RENAMES);
    }
    let Some(Value::Object(backends)) = outgoing.get_mut("backends") else { return };
    for (name, written) in &legacy.backends {
        if let Some(Value::Object(backend)) = backends.get_mut(name) {
            restore_value(backend, "type", written, BACKEND_TYPE_RENAMES);
        }
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use serde_json::{Value, json};

    use crate::conversion::{ANNOTATION, ServedVersion, assert_converts_both_ways, convert};

    const ANON: &str = r#"{"type":"anonymous"}"#;

    fn server(version: ServedVersion, spec: Value, record: Option<&str>) -> Value {
        let mut metadata = json!({"name": "vmcp", "namespace": "team", "labels": {"app": "x"}, "annotations": {}});
        if let Some(record) = record {
            metadata["annotations"][ANNOTATION] = json!(record);
        }
        json!({"apiVersion": version.api_version(), "kind": "VirtualMCPServer", "metadata": metadata, "spec": spec})
    }

    /// Adds the anonymous `incomingAuth` both sides share, so a case can focus on its own rule.
    fn with_auth(mut spec: Value) -> Value {
        spec["incomingAuth"] = serde_json::from_str(ANON).unwrap();
        spec
    }

    /// `(rule, v1alpha1 spec, v1beta1 spec, v1beta1 record)`; each case also checks the way back.
    fn cases() -> Vec<(&'static str, Value, Value, Option<&'static str>)> {
        vec![
            (
                "absent incomingAuth becomes anonymous",
                json!({"groupRef": {"name": "g"}}),
                json!({"groupRef": {"name": "g"}, "incomingAuth": {"type": "anonymous"}}),
                Some(r#"{"incomingAuth":"absent"}"#),
            ),
            (
                "explicit anonymous incomingAuth needs no record",
                with_auth(json!({"groupRef": {"name": "g"}})),
                with_auth(json!({"groupRef": {"name": "g"}})),
                None,
            ),
            (
                "local and inline oidcConfig are carried over",
                json!({"incomingAuth": {"type": "local", "oidcConfig": {"issuer": "https://i", "extra": 1}}}),
                json!({"incomingAuth": {"type": "local", "oidcConfig": {"issuer": "https://i", "extra": 1}}}),
                None,
            ),
            (
                "a null incomingAuth counts as present",
                json!({"incomingAuth": null}),
                json!({"incomingAuth": null}),
                None,
            ),
            (
                "config.groupRef names the group when groupRef is absent",
                with_auth(json!({"config": {"groupRef": "g"}})),
                with_auth(json!({"groupRef": {"name": "g"}, "config": {"groupRef": "g"}})),
                Some(r#"{"groupRef":"config.groupRef"}"#),
            ),
            (
                "groupRef present beside config.groupRef is left to validation",
                with_auth(json!({"groupRef": {"name": "a"}, "config": {"groupRef": "b"}})),
                with_auth(json!({"groupRef": {"name": "a"}, "config": {"groupRef": "b"}})),
                None,
            ),
            (
                "top-level fields move into an absent config",
                with_auth(json!({"aggregation": {"conflictResolution": "prefix"}, "operational": {"timeouts": {}}})),
                with_auth(
                    json!({"config": {"aggregation": {"conflictResolution": "prefix"}, "operational": {"timeouts": {}}}}),
                ),
                Some(r#"{"config":"absent","movedToConfig":["aggregation","operational"]}"#),
            ),
            (
                "top-level fields move into an explicitly empty config",
                with_auth(
                    json!({"config": {}, "compositeTools": [{"name": "t"}], "compositeToolRefs": [{"name": "r"}]}),
                ),
                with_auth(json!({"config": {"compositeTools": [{"name": "t"}], "compositeToolRefs": [{"name": "r"}]}})),
                Some(r#"{"movedToConfig":["compositeTools","compositeToolRefs"]}"#),
            ),
            (
                "config wins over its top-level copy",
                with_auth(
                    json!({"aggregation": {"a": 1}, "operational": {"o": 1}, "config": {"aggregation": {"a": 2}}}),
                ),
                with_auth(json!({"config": {"aggregation": {"a": 2}, "operational": {"o": 1}}})),
                Some(r#"{"movedToConfig":["operational"],"spec":{"aggregation":{"a":1}}}"#),
            ),
            (
                "a config that is not an object receives nothing",
                with_auth(json!({"aggregation": {"a": 1}, "config": "x"})),
                with_auth(json!({"aggregation": {"a": 1}, "config": "x"})),
                None,
            ),
            (
                "tokenCache is kept in the record only",
                with_auth(json!({"tokenCache": {"provider": "redis", "redis": {"address": "r:6379"}}})),
                with_auth(json!({})),
                Some(r#"{"spec":{"tokenCache":{"provider":"redis","redis":{"address":"r:6379"}}}}"#),
            ),
            (
                "floats in kept values survive exactly",
                with_auth(json!({"tokenCache": {"memory": {"ttlOffset": 6.15536120246905e-113}}})),
                with_auth(json!({})),
                Some(r#"{"spec":{"tokenCache":{"memory":{"ttlOffset":6.15536120246905e-113}}}}"#),
            ),
            (
                "mixed becomes discovered",
                with_auth(json!({"outgoingAuth": {"source": "mixed"}})),
                with_auth(json!({"outgoingAuth": {"source": "discovered"}})),
                Some(r#"{"outgoingAuth":{"source":"mixed"}}"#),
            ),
            (
                "discovered and inline need no record",
                with_auth(json!({"outgoingAuth": {"source": "inline", "backends": {"b": {"type": "discovered"}}}})),
                with_auth(json!({"outgoingAuth": {"source": "inline", "backends": {"b": {"type": "discovered"}}}})),
                None,
            ),
            (
                "external_auth_config_ref becomes externalAuthConfigRef in default and every backend",
                with_auth(json!({"outgoingAuth": {
                    "source": "mixed",
                    "default": {"type": "external_auth_config_ref", "externalAuthConfigRef": {"name": "d"}},
                    "backends": {
                        "a": {"type": "external_auth_config_ref", "externalAuthConfigRef": {"name": "x"}},
                        "b": {"type": "externalAuthConfigRef", "externalAuthConfigRef": {"name": "y"}},
                        "c": {"type": "external_auth_config_ref"},
                    },
                }})),
                with_auth(json!({"outgoingAuth": {
                    "source": "discovered",
                    "default": {"type": "externalAuthConfigRef", "externalAuthConfigRef": {"name": "d"}},
                    "backends": {
                        "a": {"type": "externalAuthConfigRef", "externalAuthConfigRef": {"name": "x"}},
                        "b": {"type": "externalAuthConfigRef", "externalAuthConfigRef": {"name": "y"}},
                        "c": {"type": "externalAuthConfigRef"},
                    },
                }})),
                Some(
                    r#"{"outgoingAuth":{"source":"mixed","default":"external_auth_config_ref","backends":{"a":"external_auth_config_ref","c":"external_auth_config_ref"}}}"#,
                ),
            ),
            (
                "pass_through, service_account and the serviceAccount object are carried over",
                with_auth(json!({"outgoingAuth": {"default": {"type": "pass_through"}, "backends": {
                    "s": {"type": "service_account", "serviceAccount": {
                        "credentialsRef": {"name": "c", "key": "k"}, "headerName": "X", "headerFormat": "Bearer {token}",
                    }},
                }}})),
                with_auth(json!({"outgoingAuth": {"default": {"type": "pass_through"}, "backends": {
                    "s": {"type": "service_account", "serviceAccount": {
                        "credentialsRef": {"name": "c", "key": "k"}, "headerName": "X", "headerFormat": "Bearer {token}",
                    }},
                }}})),
                None,
            ),
            (
                "unknown spec fields are untouched",
                with_auth(json!({"groupRef": {"name": "g"}, "replicas": 2, "future": [1, {"a": null}]})),
                with_auth(json!({"groupRef": {"name": "g"}, "replicas": 2, "future": [1, {"a": null}]})),
                None,
            ),
            (
                "every legacy shape at once",
                json!({
                    "config": {"groupRef": "g", "operational": {"o": 2}},
                    "aggregation": {"a": 1}, "operational": {"o": 1}, "tokenCache": {"provider": "memory"},
                    "outgoingAuth": {"source": "mixed", "backends": {"z": {"type": "external_auth_config_ref"}}},
                }),
                json!({
                    "groupRef": {"name": "g"},
                    "config": {"groupRef": "g", "operational": {"o": 2}, "aggregation": {"a": 1}},
                    "outgoingAuth": {"source": "discovered", "backends": {"z": {"type": "externalAuthConfigRef"}}},
                    "incomingAuth": {"type": "anonymous"},
                }),
                Some(
                    r#"{"groupRef":"config.groupRef","movedToConfig":["aggregation"],"incomingAuth":"absent","outgoingAuth":{"source":"mixed","backends":{"z":"external_auth_config_ref"}},"spec":{"operational":{"o":1},"tokenCache":{"provider":"memory"}}}"#,
                ),
            ),
        ]
    }

    #[test]
    fn rules_convert_both_ways() {
        for (rule, v1alpha1, v1beta1, record) in cases() {
            let legacy = server(ServedVersion::V1alpha1, v1alpha1, None);
            assert_converts_both_ways(rule, &legacy, &server(ServedVersion::V1beta1, v1beta1, record));
        }
    }

    #[test]
    fn edits_made_through_v1beta1_show_through_v1alpha1() {
        let legacy = server(
            ServedVersion::V1alpha1,
            json!({
                "config": {"groupRef": "g"}, "aggregation": {"a": 1},
                "outgoingAuth": {"source": "mixed", "default": {"type": "external_auth_config_ref"}},
            }),
            None,
        );
        let mut stored = convert(&legacy, ServedVersion::V1beta1.api_version()).unwrap();
        stored["spec"]["groupRef"] = json!({"name": "other"});
        stored["spec"]["config"]["aggregation"] = json!({"a": 2});
        stored["spec"]["config"]["telemetry"] = json!({"on": true});
        stored["spec"]["outgoingAuth"] = json!({"source": "inline", "default": {"type": "discovered"}});
        stored["spec"]["incomingAuth"] = json!({"type": "oidc"});
        let read = convert(&stored, ServedVersion::V1alpha1.api_version()).unwrap();
        assert_eq!(
            read["spec"],
            json!({
                "groupRef": {"name": "other"},
                "config": {"groupRef": "g", "telemetry": {"on": true}},
                "aggregation": {"a": 2},
                "outgoingAuth": {"source": "inline", "default": {"type": "discovered"}},
                "incomingAuth": {"type": "oidc"},
            })
        );
    }

    #[test]
    fn a_record_cannot_move_other_config_fields_out() {
        let stored = server(
            ServedVersion::V1beta1,
            with_auth(json!({"groupRef": {"name": "g"}, "config": {"groupRef": "h"}})),
            Some(r#"{"movedToConfig":["groupRef"]}"#),
        );
        let read = convert(&stored, ServedVersion::V1alpha1.api_version()).unwrap();
        assert_eq!(read["spec"], with_auth(json!({"groupRef": {"name": "g"}, "config": {"groupRef": "h"}})));
    }

    /// Guarantee 2 covers valid `v1beta1` objects. Shapes the `v1beta1` schema rejects or prunes
    /// (here an absent `incomingAuth`) cannot be stored, so converting them down and up again is
    /// allowed to complete them the way `v1alpha1` reads them.
    #[test]
    fn invalid_v1beta1_shapes_are_read_the_v1alpha1_way() {
        let stored = server(ServedVersion::V1beta1, json!({"groupRef": {"name": "g"}}), None);
        let down = convert(&stored, ServedVersion::V1alpha1.api_version()).unwrap();
        assert_eq!(down["spec"], json!({"groupRef": {"name": "g"}}));
        let up = convert(&down, ServedVersion::V1beta1.api_version()).unwrap();
        assert_eq!(up["spec"]["incomingAuth"], json!({"type": "anonymous"}));
    }
}
