//! The lossless-round-trip guarantees of `conversion.md`, as properties over generated objects:
//!
//! 1. `v1alpha1 → v1beta1 → v1alpha1` returns the original exactly;
//! 2. `v1beta1 → v1alpha1 → v1beta1` returns the original exactly;
//! 3. converting an object to its own version returns it unchanged;
//! 4. conversion is deterministic and never panics, whatever the JSON.
//!
//! The `v1alpha1` generators exercise every legacy shape of `api.md`; the `v1beta1` ones produce
//! what the API server can store: objects valid against the `v1beta1` schema (which prunes or
//! rejects the `v1alpha1`-only shapes) and the results of converting `v1alpha1` objects up.

use std::collections::BTreeMap;

use mcp_operator::conversion::{ANNOTATION, ReviewOutcome, convert, handle_review};
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value, json};

const V1ALPHA1: &str = "toolhive.stacklok.dev/v1alpha1";
const V1BETA1: &str = "toolhive.stacklok.dev/v1beta1";
const MOVED_FIELDS: [&str; 4] = ["aggregation", "compositeTools", "compositeToolRefs", "operational"];

// ---- building blocks ------------------------------------------------------------------------
// The larger strategies are boxed: their nested types otherwise overflow a test thread's stack in
// debug builds.

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,6}"
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter("JSON has no NaN or infinity", |f| f.is_finite()).prop_map(Value::from),
        "[ -~]{0,8}".prop_map(Value::String),
        "\\PC{0,4}".prop_map(Value::String),
    ]
}

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map("[a-zA-Z]{0,5}", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Spec fields no version knows, so conversion must leave them alone.
fn unknown_fields() -> impl Strategy<Value = BTreeMap<String, Value>> {
    btree_map("x[a-zA-Z]{0,5}", any_json(), 0..3)
}

fn object(api_version: &str, kind: &str, metadata: Value, spec: Option<Map<String, Value>>) -> Value {
    let mut object = json!({"apiVersion": api_version, "kind": kind, "metadata": metadata});
    if let Some(spec) = spec {
        object["spec"] = Value::Object(spec);
    }
    object
}

/// Inserts `value` under `key` when there is one.
fn put(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        map.insert(key.to_owned(), value);
    }
}

// ---- metadata ---------------------------------------------------------------------------------

/// A value someone might have written under the conversion annotation's own key.
fn user_value_under_the_annotation_key() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[ -~]{0,12}".prop_map(Value::String),
        Just(json!(r#"{"groupRef":"string"}"#)),
        Just(json!(r#"{"incomingAuth":"absent","spec":{"tokenCache":{}}}"#)),
        Just(json!("{not json")),
    ]
}

/// Metadata with random labels and annotations; `annotation_key` allows a value under the
/// conversion annotation's key (never on stored `v1beta1` objects, whose record conversion owns).
fn metadata(annotation_key: bool) -> BoxedStrategy<Value> {
    let annotation_pool = select(vec!["owner", "kubectl.kubernetes.io/last-applied-configuration", "a/b", "note"]);
    let annotations = (
        btree_map(annotation_pool, "[ -~]{0,10}".prop_map(Value::String), 0..3),
        option::of(user_value_under_the_annotation_key()),
    )
        .prop_map(move |(mut annotations, own)| {
            if annotation_key && let Some(own) = own {
                annotations.insert(ANNOTATION, own);
            }
            Value::Object(annotations.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
        });
    let annotations = prop_oneof![1 => Just(None), 1 => Just(Some(Value::Null)), 4 => annotations.prop_map(Some)];
    let labels = option::of(btree_map("[a-z]{1,5}", "[a-z0-9]{0,5}".prop_map(Value::String), 0..3));
    (name(), name(), labels, annotations, any::<bool>())
        .prop_map(|(name, namespace, labels, annotations, uid)| {
            let mut metadata = Map::new();
            metadata.insert("name".into(), json!(name));
            metadata.insert("namespace".into(), json!(namespace));
            if uid {
                metadata.insert("uid".into(), json!("0b5e3f4c-1"));
                metadata.insert("resourceVersion".into(), json!("42"));
            }
            put(&mut metadata, "labels", labels.map(|l| Value::Object(l.into_iter().collect())));
            put(&mut metadata, "annotations", annotations);
            Value::Object(metadata)
        })
        .boxed()
}

// ---- MCPGroup and MCPRegistry -----------------------------------------------------------------

fn group_or_registry(api_version: &'static str, annotation_key: bool) -> impl Strategy<Value = Value> {
    (select(vec!["MCPGroup", "MCPRegistry"]), metadata(annotation_key), option::of(unknown_fields())).prop_map(
        move |(kind, metadata, spec)| object(api_version, kind, metadata, spec.map(|s| s.into_iter().collect())),
    )
}

// ---- MCPServerEntry ---------------------------------------------------------------------------

fn url() -> impl Strategy<Value = String> {
    "https?://[a-z]{1,6}(\\.[a-z]{2,3})?(/[a-z]{0,4})?"
}

fn group_ref_object() -> impl Strategy<Value = Value> {
    (name(), option::of(name())).prop_map(|(name, namespace)| match namespace {
        Some(namespace) => json!({"name": name, "namespace": namespace}),
        None => json!({"name": name}),
    })
}

fn transport() -> impl Strategy<Value = Option<Value>> {
    option::of(select(vec!["sse", "streamable-http"]).prop_map(Value::from))
}

/// `(remoteURL, remoteUrl)`: either, both (equal or not), neither.
fn remote_urls() -> impl Strategy<Value = (Option<Value>, Option<Value>)> {
    prop_oneof![
        (option::of(url().prop_map(Value::String)), option::of(url().prop_map(Value::String))),
        url().prop_map(|u| (Some(Value::String(u.clone())), Some(Value::String(u)))),
        (any_json(), option::of(any_json())).prop_map(|(legacy, current)| (Some(legacy), current)),
    ]
}

fn v1alpha1_entry_spec() -> BoxedStrategy<Map<String, Value>> {
    let group_ref = prop_oneof![
        Just(None),
        name().prop_map(|n| Some(Value::String(n))),
        group_ref_object().prop_map(Some),
        any_json().prop_map(Some),
    ];
    (remote_urls(), group_ref, transport(), option::of(any::<bool>()), unknown_fields())
        .prop_map(|((legacy_url, url), group_ref, transport, private, unknown)| {
            let mut spec = Map::new();
            put(&mut spec, "remoteURL", legacy_url);
            put(&mut spec, "remoteUrl", url);
            put(&mut spec, "groupRef", group_ref);
            put(&mut spec, "transport", transport);
            put(&mut spec, "allowPrivateEndpoint", private.map(Value::Bool));
            spec.extend(unknown);
            spec
        })
        .boxed()
}

fn v1beta1_entry_spec() -> BoxedStrategy<Map<String, Value>> {
    (url(), group_ref_object(), transport(), unknown_fields())
        .prop_map(|(url, group_ref, transport, unknown)| {
            let mut spec = Map::new();
            spec.insert("remoteUrl".into(), Value::String(url));
            spec.insert("groupRef".into(), group_ref);
            put(&mut spec, "transport", transport);
            spec.extend(unknown);
            spec
        })
        .boxed()
}

// ---- VirtualMCPServer -------------------------------------------------------------------------

/// Values for fields that conversion moves between the top level and `spec.config`.
fn moved_fields() -> impl Strategy<Value = BTreeMap<&'static str, Value>> {
    btree_map(select(MOVED_FIELDS.to_vec()), any_json(), 0..=4)
}

/// `spec.config` with or without `groupRef` and the fields `v1alpha1` also accepts at the top level.
fn config_section() -> impl Strategy<Value = Map<String, Value>> {
    (option::of(name()), moved_fields(), unknown_fields()).prop_map(|(group, moved, unknown)| {
        let mut config = Map::new();
        put(&mut config, "groupRef", group.map(Value::String));
        config.extend(moved.into_iter().map(|(k, v)| (k.to_owned(), v)));
        config.extend(unknown);
        config
    })
}

fn token_cache() -> impl Strategy<Value = Value> {
    prop_oneof![
        (1..10_000u32).prop_map(|n| json!({"provider": "memory", "memory": {"maxEntries": n, "ttlOffset": "30s"}})),
        name().prop_map(|a| json!({"provider": "redis", "redis": {
            "address": format!("{a}:6379"), "db": 1, "keyPrefix": "vmcp:",
            "passwordRef": {"name": a, "key": "password"}, "ttl": "1h",
        }})),
        any_json(),
    ]
}

fn backend(types: Vec<&'static str>) -> impl Strategy<Value = Value> {
    let service_account = (name(), option::of("X-[A-Z][a-z]{1,5}")).prop_map(|(secret, header)| {
        let mut account = json!({"credentialsRef": {"name": secret, "key": "token"}});
        if let Some(header) = header {
            account["headerName"] = json!(header);
            account["headerFormat"] = json!("Bearer {token}");
        }
        account
    });
    (option::of(select(types)), option::of(name()), option::of(service_account), unknown_fields()).prop_map(
        |(kind, reference, account, unknown)| {
            let mut backend = Map::new();
            put(&mut backend, "type", kind.map(Value::from));
            put(&mut backend, "externalAuthConfigRef", reference.map(|r| json!({"name": r})));
            put(&mut backend, "serviceAccount", account);
            backend.extend(unknown);
            Value::Object(backend)
        },
    )
}

fn outgoing_auth(sources: Vec<&'static str>, types: Vec<&'static str>) -> impl Strategy<Value = Value> {
    (
        option::of(select(sources)),
        option::of(backend(types.clone())),
        option::of(btree_map(name(), backend(types), 0..5)),
    )
        .prop_map(|(source, default, backends)| {
            let mut outgoing = Map::new();
            put(&mut outgoing, "source", source.map(Value::from));
            put(&mut outgoing, "default", default);
            put(&mut outgoing, "backends", backends.map(|b| Value::Object(b.into_iter().collect())));
            Value::Object(outgoing)
        })
}

/// Incoming auth as both versions accept it (`local` and inline `oidcConfig` are carried over into
/// `v1beta1` for the validating webhook to deny).
fn incoming_auth() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!({"type": "anonymous"})),
        Just(json!({"type": "local"})),
        url().prop_map(
            |issuer| json!({"type": "oidc", "oidcConfig": {"issuer": issuer, "clientId": "c", "extra": [1]}})
        ),
        name().prop_map(|r| json!({"type": "oidc", "oidcConfigRef": {"name": r, "audience": "vmcp"}})),
        Just(json!({"type": "kubernetes", "kubernetes": {"audience": "vmcp"}})),
    ]
}

const V1ALPHA1_SOURCES: [&str; 3] = ["mixed", "discovered", "inline"];
const V1ALPHA1_TYPES: [&str; 5] =
    ["external_auth_config_ref", "externalAuthConfigRef", "discovered", "pass_through", "service_account"];
const V1BETA1_SOURCES: [&str; 2] = ["discovered", "inline"];
const V1BETA1_TYPES: [&str; 4] = ["externalAuthConfigRef", "discovered", "pass_through", "service_account"];

fn v1alpha1_server_spec() -> BoxedStrategy<Map<String, Value>> {
    let incoming = prop_oneof![1 => Just(None), 1 => Just(Some(Value::Null)), 3 => incoming_auth().prop_map(Some)];
    (
        option::of(group_ref_object()),
        option::of(config_section()),
        moved_fields(),
        option::of(token_cache()),
        option::of(outgoing_auth(V1ALPHA1_SOURCES.to_vec(), V1ALPHA1_TYPES.to_vec())),
        incoming,
        unknown_fields(),
    )
        .prop_map(|(group_ref, config, top_level, token_cache, outgoing, incoming, unknown)| {
            let mut spec = Map::new();
            put(&mut spec, "groupRef", group_ref);
            put(&mut spec, "config", config.map(Value::Object));
            spec.extend(top_level.into_iter().map(|(k, v)| (k.to_owned(), v)));
            put(&mut spec, "tokenCache", token_cache);
            put(&mut spec, "outgoingAuth", outgoing);
            put(&mut spec, "incomingAuth", incoming);
            spec.extend(unknown);
            spec
        })
        .boxed()
}

fn v1beta1_server_spec() -> BoxedStrategy<Map<String, Value>> {
    (
        group_ref_object(),
        option::of(config_section()),
        option::of(outgoing_auth(V1BETA1_SOURCES.to_vec(), V1BETA1_TYPES.to_vec())),
        incoming_auth(),
        unknown_fields(),
    )
        .prop_map(|(group_ref, config, outgoing, incoming, unknown)| {
            let mut spec = Map::new();
            spec.insert("groupRef".into(), group_ref);
            put(&mut spec, "config", config.map(Value::Object));
            put(&mut spec, "outgoingAuth", outgoing);
            spec.insert("incomingAuth".into(), incoming);
            spec.extend(unknown);
            spec
        })
        .boxed()
}

// ---- whole objects ----------------------------------------------------------------------------

fn v1alpha1_object() -> BoxedStrategy<Value> {
    prop_oneof![
        2 => (metadata(true), v1alpha1_entry_spec()).prop_map(|(m, s)| object(V1ALPHA1, "MCPServerEntry", m, Some(s))),
        3 => (metadata(true), v1alpha1_server_spec()).prop_map(|(m, s)| object(V1ALPHA1, "VirtualMCPServer", m, Some(s))),
        1 => group_or_registry(V1ALPHA1, true),
    ]
    .boxed()
}

/// What the API server can hold at `v1beta1`: valid objects, and objects converted up.
fn v1beta1_object() -> BoxedStrategy<Value> {
    prop_oneof![
        2 => (metadata(false), v1beta1_entry_spec()).prop_map(|(m, s)| object(V1BETA1, "MCPServerEntry", m, Some(s))),
        3 => (metadata(false), v1beta1_server_spec()).prop_map(|(m, s)| object(V1BETA1, "VirtualMCPServer", m, Some(s))),
        1 => group_or_registry(V1BETA1, true),
        4 => v1alpha1_object().prop_map(|o| convert(&o, V1BETA1).expect("generated v1alpha1 objects convert")),
    ]
    .boxed()
}

/// Anything shaped roughly like one of our objects, and anything at all.
fn any_object() -> BoxedStrategy<Value> {
    let kind = select(vec!["MCPGroup", "MCPServerEntry", "VirtualMCPServer", "MCPRegistry", "Pod", ""]);
    let api_version = select(vec![V1ALPHA1, V1BETA1, "toolhive.stacklok.dev/v2", "v1"]);
    let annotation = prop_oneof![
        user_value_under_the_annotation_key(),
        any_json(),
        Just(json!(r#"{"movedToConfig":["groupRef"],"config":"null","original":null}"#))
    ];
    let metadata = prop_oneof![
        metadata(true),
        any_json(),
        (annotation, any_json()).prop_map(|(a, rest)| json!({"name": "n", "annotations": {ANNOTATION: a, "k": rest}})),
    ];
    let spec = prop_oneof![
        v1alpha1_server_spec().prop_map(Value::Object),
        v1alpha1_entry_spec().prop_map(Value::Object),
        any_json()
    ];
    prop_oneof![
        4 => (kind, api_version, metadata, spec).prop_map(|(kind, api_version, metadata, spec)| {
            json!({"apiVersion": api_version, "kind": kind, "metadata": metadata, "spec": spec})
        }),
        1 => any_json(),
    ]
    .boxed()
}

// ---- properties -------------------------------------------------------------------------------

/// Metadata with the conversion annotation (and an annotations map that holds nothing else) taken out.
fn metadata_without_record(object: &Value) -> Value {
    let mut metadata = object["metadata"].clone();
    if let Some(Value::Object(annotations)) = metadata.get_mut("annotations") {
        annotations.remove(ANNOTATION);
        if annotations.is_empty() {
            metadata.as_object_mut().unwrap().remove("annotations");
        }
    }
    if metadata.get("annotations") == Some(&Value::Null) {
        metadata.as_object_mut().unwrap().remove("annotations");
    }
    metadata
}

/// The `v1alpha1`-only shapes left in a converted `v1beta1` object, if any.
fn legacy_shapes_left(object: &Value) -> Vec<String> {
    let spec = &object["spec"];
    let mut left = Vec::new();
    let mut check = |present: bool, what: &str| {
        if present {
            left.push(what.to_owned());
        }
    };
    match object["kind"].as_str() {
        Some("MCPServerEntry") => {
            check(spec.get("remoteURL").is_some(), "remoteURL");
            check(spec["groupRef"].is_string(), "string groupRef");
        }
        Some("VirtualMCPServer") => {
            for field in MOVED_FIELDS.iter().chain(&["tokenCache"]) {
                check(spec.get(*field).is_some(), field);
            }
            check(spec.get("incomingAuth").is_none(), "absent incomingAuth");
            check(spec.get("groupRef").is_none() && spec["config"]["groupRef"].is_string(), "config.groupRef only");
            let outgoing = &spec["outgoingAuth"];
            check(outgoing["source"] == "mixed", "mixed");
            let backends = outgoing["backends"].as_object().into_iter().flat_map(|b| b.values());
            for backend in std::iter::once(&outgoing["default"]).chain(backends) {
                check(backend["type"] == "external_auth_config_ref", "external_auth_config_ref");
            }
        }
        _ => {}
    }
    left
}

fn proptest_config() -> ProptestConfig {
    ProptestConfig { cases: 512, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(proptest_config())]

    /// Guarantee 1, plus: the `v1beta1` form holds no legacy shape and metadata only gains the record.
    #[test]
    fn v1alpha1_round_trips_exactly(original in v1alpha1_object()) {
        let up = convert(&original, V1BETA1).expect("converts up");
        prop_assert_eq!(&up["apiVersion"], V1BETA1);
        prop_assert_eq!(legacy_shapes_left(&up), Vec::<String>::new());
        prop_assert_eq!(metadata_without_record(&up), metadata_without_record(&original));
        let back = convert(&up, V1ALPHA1).expect("converts back");
        prop_assert_eq!(back, original);
    }

    /// Guarantee 2.
    #[test]
    fn v1beta1_round_trips_exactly(original in v1beta1_object()) {
        let down = convert(&original, V1ALPHA1).expect("converts down");
        prop_assert_eq!(&down["apiVersion"], V1ALPHA1);
        prop_assert_eq!(metadata_without_record(&down), metadata_without_record(&original));
        let back = convert(&down, V1BETA1).expect("converts back");
        prop_assert_eq!(back, original);
    }

    /// Guarantee 3.
    #[test]
    fn converting_to_the_own_version_is_identity(object in prop_oneof![v1alpha1_object(), v1beta1_object(), any_object()]) {
        if let Some(own) = object.get("apiVersion").and_then(Value::as_str)
            && (own == V1ALPHA1 || own == V1BETA1)
            && let Ok(same) = convert(&object, own)
        {
            prop_assert_eq!(same, object);
        }
    }

    /// Guarantee 4 for single objects: same input, same answer; no panic on any JSON.
    #[test]
    fn conversion_is_deterministic_and_total(object in any_object(), desired in select(vec![V1ALPHA1, V1BETA1, "v1"])) {
        let first = convert(&object, desired);
        prop_assert_eq!(&first, &convert(&object, desired));
        if let Ok(converted) = first {
            prop_assert_eq!(&converted["apiVersion"], desired);
        }
    }

    /// Guarantee 4 for the handler: any batch gets an answer echoing its uid, holding exactly what
    /// `convert` gives for each object, or a failure.
    #[test]
    fn reviews_are_answered_object_by_object(
        objects in vec(prop_oneof![v1alpha1_object(), v1beta1_object(), any_object()], 0..6),
        desired in select(vec![V1ALPHA1, V1BETA1]),
    ) {
        let body = json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
            "request": {"uid": "u-1", "desiredAPIVersion": desired, "objects": objects},
        });
        // Compact as the API server sends it, and indented: the answer does not depend on the
        // layout (what conversion leaves alone is copied as written).
        let (body, indented) = (serde_json::to_vec(&body).unwrap(), serde_json::to_vec_pretty(&body).unwrap());
        let ReviewOutcome::Response(response) = handle_review(&body) else {
            return Err(TestCaseError::fail("a review with a uid gets a response"));
        };
        let ReviewOutcome::Response(same) = handle_review(&indented) else {
            return Err(TestCaseError::fail("a review with a uid gets a response"));
        };
        prop_assert_eq!(response.review(), same.review());
        prop_assert_eq!(&response.objects, &same.objects);
        let answer = &response.review()["response"];
        prop_assert_eq!(&answer["uid"], "u-1");
        let expected: Result<Vec<Value>, _> = objects.iter().map(|o| convert(o, desired)).collect();
        match expected {
            Ok(expected) => {
                prop_assert_eq!(&answer["result"], &json!({"status": "Success"}));
                prop_assert_eq!(&answer["convertedObjects"], &Value::Array(expected));
            }
            Err(_) => {
                prop_assert_eq!(&answer["result"]["status"], "Failure");
                prop_assert!(answer.get("convertedObjects").is_none());
            }
        }
        prop_assert_eq!(response.success(), answer["result"]["status"] == "Success");
    }

    /// Guarantee 4 for raw bodies: never a panic, always an answer.
    #[test]
    fn any_body_gets_an_answer(body in prop_oneof![vec(any::<u8>(), 0..64), any_json().prop_map(|v| serde_json::to_vec(&v).unwrap())]) {
        let outcome = handle_review(&body);
        prop_assert!(matches!(outcome.status_code(), 200 | 400));
    }
}
