//! No response ever echoes a secret value, whatever rule fires and whichever endpoint answers.

use mcp_operator::admission::engine::Mode;
use serde_json::{Value, json};

use crate::support::*;

const SECRET: &str = "hunter2-S3CR3T";

/// Posts `obj` as CREATE and as UPDATE to both endpoints; none of the responses may contain `SECRET`.
fn never_echoed(case: &str, obj: &Value) {
    let cluster = FakeCluster::default();
    for req in [Req::create(obj), Req::update(obj, obj), Req::update(obj, obj).status()] {
        for mode in [Mode::Validate, Mode::Mutate] {
            let outcome = req.post(mode, &POLICY, &cluster);
            let text = outcome.review.to_string();
            assert!(!text.contains(SECRET), "{case}: {mode:?} response echoes the secret: {text}");
            assert!(!text.contains("12345678"), "{case}: {mode:?} response echoes the secret: {text}");
        }
    }
}

#[test]
fn url_passwords_are_never_echoed() {
    for url in [
        format!("https://user:{SECRET}@mcp.example.com/"),
        format!("https://user:{SECRET}@127.0.0.1/"),
        format!("http://user:{SECRET}@10.0.0.1/#frag"),
        format!("HTTPS://user:{SECRET}@mcp.example.com/"),
        format!("https://user:{SECRET}@mcp example.com/"),
        format!("https://user:{SECRET}@mcp.example.com:99999/"),
        format!("https://{SECRET}@mcp.example.com/"),
        format!("https://mcp.example.com/?token={SECRET}"),
    ] {
        never_echoed(&url, &entry_url(&url));
    }
}

#[test]
fn plaintext_credential_header_values_are_never_echoed() {
    for (name, value) in [
        ("Authorization", format!("Bearer {SECRET}")),
        ("X-Api-Key", SECRET.to_string()),
        ("X-Api-Key", format!("{SECRET}\r\nX-Injected: 1")),
        ("Host", SECRET.to_string()),
        ("X-Token", format!("{SECRET}{}", chars('x', 9000))),
    ] {
        let obj = entry_plain_headers(json!({ name: value, "x-api-key": SECRET }));
        never_echoed(name, &obj);
    }
}

#[test]
fn literal_credentials_in_config_yaml_are_never_echoed() {
    for yaml in [
        format!("database:\n  password: {SECRET}\n"),
        format!("auth:\n  clientSecret: \"{SECRET}\"\n"),
        format!("dsn: postgres://registry:{SECRET}@db/registry\n"),
        format!("token: {SECRET}\nbroken: [\n"),
        format!("password: {SECRET}\n\tindented: wrong\n"),
        "password: 12345678\n".to_string(),
    ] {
        never_echoed(&yaml, &registry(json!({ "configYAML": yaml })));
    }
}

#[test]
fn string_values_in_type_mismatched_fields_are_never_echoed() {
    let cases = [
        ("allowPrivateEndpoint", entry(json!({ "allowPrivateEndpoint": SECRET }))),
        ("remoteUrl number", entry(json!({ "remoteUrl": 12345678 }))),
        ("groupRef string", entry(json!({ "groupRef": SECRET }))),
        ("header value number", entry_plain_headers(json!({ "Authorization": 12345678 }))),
        ("header list", entry(json!({ "headerForward": { "addHeadersFromSecret": SECRET } }))),
        ("secret ref", entry_secret_headers(vec![json!({ "headerName": "X-Key", "valueSecretRef": SECRET })])),
        ("description", group(json!({ "description": ["a", SECRET] }))),
        ("configYAML", registry(json!({ "configYAML": { "password": SECRET } }))),
        ("pgpass", registry(json!({ "pgpassSecretRef": SECRET }))),
        ("volume", registry(json!({ "volumes": [{ "name": "v", "secret": SECRET }] }))),
        ("mount", registry(json!({ "volumeMounts": [{ "name": "v", "mountPath": 12345678 }] }))),
        (
            "pod template env",
            registry(
                json!({ "podTemplateSpec": { "spec": { "containers": [{ "name": "registry-api", "env": [{ "name": "TOKEN", "value": 12345678 }] }] } } }),
            ),
        ),
        ("pod template string", registry(json!({ "podTemplateSpec": { "spec": { "containers": SECRET } } }))),
        (
            "pod template resources",
            registry(
                json!({ "podTemplateSpec": { "spec": { "containers": [{ "name": "registry-api", "resources": { "limits": SECRET } }] } } }),
            ),
        ),
    ];
    for (case, obj) in cases {
        let outcome = Req::create(&obj).validate();
        assert!(!outcome.allowed(), "{case}: a type mismatch is denied");
        never_echoed(case, &obj);
    }
}
