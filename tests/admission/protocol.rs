//! The AdmissionReview protocol: bad requests, denials for readable-but-wrong requests, response shape.

use mcp_operator::admission::AdmissionKind;
use mcp_operator::admission::engine::Mode;
use serde_json::{Value, json};

use crate::support::*;

fn valid_create() -> Req {
    Req::create(&entry(json!({})))
}

fn bad_request(body: &[u8]) -> String {
    for mode in [Mode::Validate, Mode::Mutate] {
        match handle_bytes(body, AdmissionKind::MCPServerEntry, mode) {
            Ok(response) => panic!("expected a bad request for {:?}, got {response:#}", String::from_utf8_lossy(body)),
            Err(bad) => assert!(bad.body()["error"].as_str().is_some_and(|e| !e.is_empty())),
        }
    }
    handle_bytes(body, AdmissionKind::MCPServerEntry, Mode::Validate).unwrap_err().0
}

fn remove(object: &mut Value, key: &str) {
    object.as_object_mut().expect("an object").remove(key);
}

fn edited(f: impl FnOnce(&mut Value)) -> Vec<u8> {
    valid_create().edit(f).bytes()
}

fn without_uid(f: impl FnOnce(&mut Value)) -> Vec<u8> {
    valid_create()
        .edit(|r| {
            f(r);
            remove(&mut r["request"], "uid");
        })
        .bytes()
}

#[test]
fn unusable_bodies_are_bad_requests() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty body", b"".to_vec()),
        ("not JSON", b"apiVersion: admission.k8s.io/v1".to_vec()),
        ("truncated JSON", valid_create().bytes()[..40].to_vec()),
        ("JSON array", b"[]".to_vec()),
        ("JSON string", b"\"AdmissionReview\"".to_vec()),
        ("wrong review apiVersion without uid", without_uid(|r| r["apiVersion"] = json!("admission.k8s.io/v1beta1"))),
        ("missing review apiVersion without uid", without_uid(|r| remove(r, "apiVersion"))),
        ("wrong review kind without uid", without_uid(|r| r["kind"] = json!("ConversionReview"))),
        ("missing request", edited(|r| remove(r, "request"))),
        ("null request", edited(|r| r["request"] = Value::Null)),
        ("request not an object", edited(|r| r["request"] = json!("CREATE"))),
        ("missing uid", edited(|r| remove(&mut r["request"], "uid"))),
        ("empty uid", edited(|r| r["request"]["uid"] = json!(""))),
        ("numeric uid", edited(|r| r["request"]["uid"] = json!(42))),
    ];
    for (case, body) in cases {
        let problem = bad_request(&body);
        assert!(!problem.is_empty(), "{case}");
    }
}

#[test]
fn bad_request_messages_say_what_is_wrong() {
    assert!(bad_request(b"{").contains("JSON"));
    assert!(
        bad_request(&without_uid(|r| r["apiVersion"] = json!("admission.k8s.io/v1beta1")))
            .contains("admission.k8s.io/v1")
    );
    assert!(bad_request(&without_uid(|r| r["kind"] = json!("ConversionReview"))).contains("AdmissionReview"));
    assert!(bad_request(&edited(|r| r["request"]["uid"] = json!(""))).contains("uid"));
}

#[test]
fn deeply_nested_json_is_refused_cleanly() {
    let depth = 10_000;
    let body = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    bad_request(body.as_bytes());
    let nested_object = format!(
        r#"{{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{{"uid":"u","object":{}{}}}}}"#,
        "{\"a\":".repeat(depth),
        "}".repeat(depth)
    );
    bad_request(nested_object.as_bytes());
}

#[test]
fn no_prefix_of_a_review_panics() {
    let body = Req::create(&entry(json!({
        "remoteUrl": "http://u:p@10.0.0.1/#x",
        "headerForward": { "addPlaintextHeaders": { "Authorization": "Bearer t" }, "addHeadersFromSecret": [secret_header("X", "s", "k")] },
    })))
    .bytes();
    for end in 0..body.len() {
        let _ = handle_bytes(&body[..end], AdmissionKind::MCPServerEntry, Mode::Validate);
        let _ = handle_bytes(&body[..end], AdmissionKind::MCPServerEntry, Mode::Mutate);
    }
}

/// A readable uid turns every further problem into a denial the API server can relay.
fn refused(req: Req) -> Outcome {
    let outcome = req.validate();
    assert!(!outcome.allowed(), "{:#}", outcome.review);
    assert_eq!(outcome.response()["uid"], UID);
    outcome
}

#[test]
fn a_wrong_review_version_or_kind_with_a_readable_uid_is_a_well_formed_denial() {
    for edit in [
        edited(|r| r["apiVersion"] = json!("admission.k8s.io/v1beta1")),
        edited(|r| remove(r, "apiVersion")),
        edited(|r| r["kind"] = json!("ConversionReview")),
    ] {
        let response = handle_bytes(&edit, AdmissionKind::MCPServerEntry, Mode::Validate).expect("a denial, not a 400");
        assert_eq!(response["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(response["response"]["allowed"], false);
        assert!(response["response"]["uid"].as_str().is_some_and(|u| !u.is_empty()));
    }
}

#[test]
fn readable_requests_about_the_wrong_thing_are_denied() {
    let wrong_object_kind = valid_create().edit(|r| r["request"]["object"]["kind"] = json!("Pod"));
    assert!(refused(wrong_object_kind).message().contains("\"Pod\""));
    let wrong_object_group = valid_create().edit(|r| r["request"]["object"]["apiVersion"] = json!("example.com/v1"));
    assert!(refused(wrong_object_group).message().contains("example.com"));
    let core_object = valid_create().edit(|r| r["request"]["object"]["apiVersion"] = json!("v1"));
    refused(core_object);
    let wrong_request_kind = valid_create().edit(|r| r["request"]["kind"]["kind"] = json!("MCPGroup"));
    assert!(refused(wrong_request_kind).message().contains("MCPGroup"));
    let wrong_request_group = valid_create().edit(|r| r["request"]["kind"]["group"] = json!("apps"));
    refused(wrong_request_group);
    let unknown_operation = valid_create().edit(|r| r["request"]["operation"] = json!("PATCH"));
    assert!(refused(unknown_operation).message().contains("PATCH"));
    // The same at the mutating endpoint: a denial, never a patch.
    let req = valid_create().edit(|r| r["request"]["object"]["kind"] = json!("Pod"));
    let reviewed = req.handle(Mode::Mutate).expect("a well-formed response");
    assert_eq!(reviewed["response"]["allowed"], false);
    assert_eq!(reviewed["response"]["uid"], UID);
    assert_eq!(reviewed["response"]["status"]["code"], 422);
}

#[test]
fn other_kinds_posted_to_an_endpoint_are_denied() {
    // An MCPGroup review sent to /validate/mcpserverentries.
    let body = Req::create(&group(json!({}))).bytes();
    let response = handle_bytes(&body, AdmissionKind::MCPServerEntry, Mode::Validate).expect("well-formed");
    assert_eq!(response["response"]["allowed"], false);
    assert_eq!(response["response"]["uid"], UID);
}

#[test]
fn objects_that_do_not_decode_are_denied_with_the_failing_path() {
    let outcome = Req::create(&entry(json!({ "allowPrivateEndpoint": "yes" }))).validate();
    assert!(!outcome.allowed());
    let cause = outcome.cause("object.decode", "spec.allowPrivateEndpoint");
    assert_eq!(cause.reason, "FieldValueInvalid");
    let outcome = Req::create(&entry(json!({ "groupRef": { "name": null, "namespace": NS } }))).validate();
    let cause = outcome.cause("object.decode", "spec.groupRef.name");
    assert_eq!(cause.reason, "FieldValueRequired");
    let no_object = valid_create().edit(|r| r["request"]["object"] = Value::Null);
    refused(no_object);
    let not_an_object = valid_create().edit(|r| r["request"]["object"] = json!("weather"));
    refused(not_an_object);
}

#[test]
fn denials_have_the_kubernetes_status_shape() {
    let obj = entry(json!({
        "remoteUrl": "",
        "transport": "stdio",
        "headerForward": { "addPlaintextHeaders": { "Host": "x", "X-A": "1", "x-a": "2" } },
    }));
    let outcome = Req::create(&obj).validate();
    let status = &outcome.response()["status"];
    assert_eq!(status["details"]["name"], "weather");
    assert_eq!(status["details"]["group"], GROUP);
    assert_eq!(status["details"]["kind"], "MCPServerEntry");
    assert_eq!(
        outcome.causes(),
        [
            Cause {
                reason: "FieldValueRequired".into(),
                field: "spec.remoteUrl".into(),
                message: "a remote URL is required [entry.url.required]".into(),
            },
            Cause {
                reason: "FieldValueInvalid".into(),
                field: "spec.transport".into(),
                message: "unsupported transport \"stdio\"; use sse or streamable-http [entry.transport]".into(),
            },
            Cause {
                reason: "FieldValueForbidden".into(),
                field: "spec.headerForward.addPlaintextHeaders[Host]".into(),
                message: "header \"Host\" is managed by the proxy and cannot be forwarded [entry.header.restricted]".into(),
            },
            Cause {
                reason: "FieldValueDuplicate".into(),
                field: "spec.headerForward.addPlaintextHeaders[x-a]".into(),
                message: "header \"x-a\" is already set at spec.headerForward.addPlaintextHeaders[X-A] (names are case-insensitive) [entry.header.duplicate]".into(),
            },
        ]
    );
    assert_eq!(
        outcome.message(),
        "spec.remoteUrl: a remote URL is required [entry.url.required]; \
         spec.transport: unsupported transport \"stdio\"; use sse or streamable-http [entry.transport]; \
         spec.headerForward.addPlaintextHeaders[Host]: header \"Host\" is managed by the proxy and cannot be forwarded [entry.header.restricted]; \
         spec.headerForward.addPlaintextHeaders[x-a]: header \"x-a\" is already set at spec.headerForward.addPlaintextHeaders[X-A] (names are case-insensitive) [entry.header.duplicate]"
    );
}

#[test]
fn allowed_responses_are_minimal() {
    let outcome = valid_create().validate();
    assert_eq!(
        outcome.review,
        json!({
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "response": { "uid": UID, "allowed": true },
        })
    );
}

#[test]
fn the_namespace_comes_from_the_request_or_the_object() {
    let obj = entry(json!({ "groupRef": { "name": "tools", "namespace": NS } }));
    let without_request_namespace = Req::create(&obj).edit(|r| remove(&mut r["request"], "namespace"));
    assert!(without_request_namespace.validate().allowed(), "falls back to metadata.namespace");
}

#[test]
fn an_absent_spec_is_an_empty_one() {
    // The schema does not require `spec`; a bare MCPGroup is valid.
    let mut bare = group(json!({}));
    remove(&mut bare, "spec");
    accepts(&bare);
    assert!(Req::create(&bare).mutate().patch().is_none());
    let mut bare_entry = entry(json!({}));
    remove(&mut bare_entry, "spec");
    let outcome = Req::create(&bare_entry).validate();
    let mut rules: Vec<String> = outcome.causes().iter().map(Cause::rule).collect();
    rules.sort();
    assert_eq!(rules, ["entry.group", "entry.transport", "entry.url.required"]);
    let mut bare_registry = registry(json!({}));
    bare_registry["spec"] = Value::Null;
    Req::create(&bare_registry).validate().cause("registry.config.required", "spec.configYAML");
}
