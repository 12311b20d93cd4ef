//! Mutating defaults, status writes, DELETE/CONNECT and dry runs.

use mcp_operator::admission::engine::Mode;
use serde_json::{Value, json};

use crate::support::*;

fn apply(obj: &Value, patch: &Value) -> Value {
    let patch: json_patch::Patch = serde_json::from_value(patch.clone()).expect("a JSON Patch");
    let mut out = obj.clone();
    json_patch::patch(&mut out, &patch).expect("patch applies");
    out
}

fn with_ca(cm: Value) -> Value {
    entry(json!({ "caBundleRef": { "configMapRef": cm } }))
}

#[test]
fn ca_bundle_key_defaults_to_ca_crt() {
    for (case, cm, op) in [
        ("absent", json!({ "name": "internal-ca" }), "add"),
        ("empty", json!({ "name": "internal-ca", "key": "" }), "replace"),
    ] {
        let obj = with_ca(cm);
        let outcome = Req::create(&obj).mutate();
        assert!(outcome.allowed() && outcome.warnings().is_empty(), "{case}");
        let patch = outcome.patch().unwrap_or_else(|| panic!("{case}: expected a patch"));
        assert_eq!(
            patch,
            json!([{ "op": op, "path": "/spec/caBundleRef/configMapRef/key", "value": "ca.crt" }]),
            "{case}: one minimal operation"
        );
        let patched = apply(&obj, &patch);
        assert_eq!(patched["spec"]["caBundleRef"]["configMapRef"], json!({ "name": "internal-ca", "key": "ca.crt" }));
        let again = Req::create(&patched).mutate();
        assert!(again.response().get("patch").is_none(), "{case}: idempotent, no patch field");
        assert!(again.response().get("patchType").is_none(), "{case}");
        // The same default on UPDATE.
        assert_eq!(Req::update(&obj, &obj).mutate().patch(), Some(patch));
    }
}

#[test]
fn nothing_to_default_means_no_patch_field() {
    for obj in [
        entry(json!({})),
        entry(json!({ "caBundleRef": {} })),
        with_ca(json!({ "name": "internal-ca", "key": "bundle.pem" })),
        group(json!({ "description": "tools" })),
        registry(json!({})),
    ] {
        let outcome = Req::create(&obj).mutate();
        assert!(outcome.allowed() && outcome.warnings().is_empty());
        assert!(outcome.response().get("patch").is_none(), "{:#}", outcome.review);
    }
}

#[test]
fn mutation_never_denies_invalid_objects() {
    let invalid = entry(
        json!({ "remoteUrl": "http://127.0.0.1/", "transport": "stdio", "caBundleRef": { "configMapRef": { "name": "ca" } } }),
    );
    let outcome = Req::create(&invalid).mutate();
    assert!(outcome.allowed() && outcome.warnings().is_empty());
    assert!(outcome.patch().is_some(), "defaults still apply");
    let undecodable = entry(json!({ "allowPrivateEndpoint": "yes" }));
    let outcome = Req::create(&undecodable).mutate();
    assert!(outcome.allowed() && outcome.patch().is_none());
}

#[test]
fn status_writes_get_phase_pending_only_when_empty() {
    for obj in [entry(json!({})), group(json!({}))] {
        for (case, status) in [
            ("no status", Value::Null),
            ("empty status", json!({})),
            ("no phase", json!({ "observedGeneration": 1 })),
            ("empty phase", json!({ "phase": "" })),
            ("null phase", json!({ "phase": null })),
        ] {
            let mut written = obj.clone();
            if status.is_null() {
                written.as_object_mut().unwrap().remove("status");
            } else {
                written["status"] = status;
            }
            let outcome = Req::update(&obj, &written).status().mutate();
            assert!(outcome.allowed(), "{case}");
            let patch = outcome.patch().unwrap_or_else(|| panic!("{} {case}: expected a patch", obj["kind"]));
            let ops = patch.as_array().unwrap();
            assert_eq!(ops.len(), 1, "{case}: {patch}");
            assert!(ops[0]["path"].as_str().unwrap().starts_with("/status"), "never touches spec: {patch}");
            let patched = apply(&written, &patch);
            assert_eq!(patched["status"]["phase"], "Pending", "{case}");
            assert_eq!(patched["spec"], written["spec"]);
            assert!(Req::update(&obj, &patched).status().mutate().patch().is_none(), "{case}: idempotent");
        }
        let mut ready = obj.clone();
        ready["status"] = json!({ "phase": "Ready" });
        assert!(Req::update(&obj, &ready).status().mutate().patch().is_none(), "a set phase is kept");
    }
}

#[test]
fn status_writes_never_default_spec() {
    let obj = with_ca(json!({ "name": "internal-ca" }));
    let mut written = obj.clone();
    written["status"] = json!({ "phase": "Valid" });
    assert!(Req::update(&obj, &written).status().mutate().patch().is_none());
}

#[test]
fn mcpregistry_status_writes_are_left_alone() {
    let obj = registry(json!({}));
    assert!(Req::update(&obj, &obj).status().mutate().patch().is_none());
}

#[test]
fn main_resource_updates_do_not_touch_status() {
    let obj = group(json!({}));
    assert!(Req::update(&obj, &obj).mutate().patch().is_none());
}

#[test]
fn delete_and_connect_are_allowed() {
    let invalid_entry = entry(json!({ "remoteUrl": "http://127.0.0.1/" }));
    let invalid_registry = renamed(registry(json!({ "configYAML": "" })), "Bad_Name");
    for obj in [entry(json!({})), invalid_entry, group(json!({})), registry(json!({})), invalid_registry] {
        for req in [Req::delete(&obj), Req::connect(&obj)] {
            for mode in [Mode::Validate, Mode::Mutate] {
                let outcome = req.post(mode, &POLICY, &mcp_operator::admission::NoCluster);
                assert!(outcome.allowed(), "{mode:?} {:#}", outcome.review);
                assert!(outcome.warnings().is_empty() && outcome.patch().is_none(), "{mode:?} {:#}", outcome.review);
            }
        }
    }
}

#[test]
fn dry_run_behaves_exactly_like_a_real_request() {
    let cluster = FakeCluster::default().with_group("tools", &["MCPServer/a"]);
    let cases = [
        Req::create(&entry(json!({ "remoteUrl": "http://10.0.0.1/", "transport": "stdio" }))),
        Req::create(&entry(json!({ "remoteUrl": "http://mcp.example.com/" }))),
        Req::create(&with_ca(json!({ "name": "ca" }))),
        Req::create(&registry(json!({ "configYAML": "password: x" }))),
        Req::update(&group(json!({})), &group(json!({}))).status(),
        Req::delete(&group(json!({}))),
    ];
    for req in cases {
        for mode in [Mode::Validate, Mode::Mutate] {
            let real = req.post(mode, &POLICY, &cluster);
            let dry = req.clone().dry_run().post(mode, &POLICY, &cluster);
            assert_eq!(real.review, dry.review);
        }
    }
}
