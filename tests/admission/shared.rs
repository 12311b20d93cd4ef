//! Shared rules: `ref.name`, `ref.cross-namespace`, `meta.name-length`.

use serde_json::{Value, json};

use crate::support::*;

/// Builds an object around one name or key.
type Build = Box<dyn Fn(&str) -> Value>;
/// Builds an object around an optional reference namespace.
type BuildNamespaced = Box<dyn Fn(Option<&str>) -> Value>;

/// Every reference name of MCPServerEntry and MCPRegistry: the field it lands in and a builder.
fn name_fields() -> Vec<(&'static str, Build)> {
    vec![
        ("spec.groupRef.name", Box::new(|n| entry(json!({ "groupRef": { "name": n } })))),
        ("spec.externalAuthConfigRef.name", Box::new(|n| entry(json!({ "externalAuthConfigRef": { "name": n } })))),
        (
            "spec.caBundleRef.configMapRef.name",
            Box::new(|n| entry(json!({ "caBundleRef": { "configMapRef": { "name": n } } }))),
        ),
        (
            "spec.headerForward.addHeadersFromSecret[0].valueSecretRef.name",
            Box::new(|n| entry_secret_headers(vec![secret_header("X-Api-Key", n, "key")])),
        ),
        (
            "spec.pgpassSecretRef.name",
            Box::new(|n| registry(json!({ "pgpassSecretRef": { "name": n, "key": "pgpass" } }))),
        ),
        ("spec.imagePullSecrets[0].name", Box::new(|n| registry(json!({ "imagePullSecrets": [{ "name": n }] })))),
    ]
}

#[test]
fn ref_name_is_a_dns1123_subdomain_everywhere() {
    let long_ok = chars('a', 253);
    let long_labels = format!("{}.{}.{}.{}", chars('a', 63), chars('b', 63), chars('c', 63), chars('d', 61));
    let too_long = chars('a', 254);
    for (field, build) in name_fields() {
        for ok in ["a", "0", "tools", "my-tools-2", "a.b-c.d", "9to5", long_ok.as_str(), long_labels.as_str()] {
            accepts(&build(ok));
        }
        // Where a kind's row itself requires the name ("non-empty"), an empty one is that rule's.
        let own_rule = match field {
            "spec.caBundleRef.configMapRef.name" => "entry.ca",
            "spec.pgpassSecretRef.name" => "registry.pgpass",
            "spec.imagePullSecrets[0].name" => "registry.pull-secrets",
            _ => "ref.name",
        };
        assert_eq!(rejects(&build(""), own_rule, field).reason, "FieldValueRequired", "{field} = \"\"");
        let required: [(&str, &str); 0] = [];
        let invalid =
            ["Tools", "-tools", "tools-", "to_ols", "to ols", "a..b", ".tools", "tools.", "tööls", "a.-b", &too_long];
        for (bad, reason) in required.into_iter().chain(invalid.iter().map(|b| (*b, "FieldValueInvalid"))) {
            let cause = rejects(&build(bad), "ref.name", field);
            assert_eq!(cause.reason, reason, "{field} = {bad:?}");
        }
        let cause = rejects(&build("team-b/tools"), "ref.name", field);
        assert!(cause.message.contains("cross-namespace references are not allowed"), "{field}: {}", cause.message);
        // A `/` asks for another namespace: the same reason as `ref.cross-namespace`.
        assert_eq!(cause.reason, "FieldValueForbidden");
    }
}

/// Every Secret or ConfigMap key: a builder and the field it lands in.
fn key_fields() -> Vec<(&'static str, Build)> {
    vec![
        (
            "spec.caBundleRef.configMapRef.key",
            Box::new(|k| entry(json!({ "caBundleRef": { "configMapRef": { "name": "ca", "key": k } } }))),
        ),
        (
            "spec.headerForward.addHeadersFromSecret[0].valueSecretRef.key",
            Box::new(|k| entry_secret_headers(vec![secret_header("X-Api-Key", "api", k)])),
        ),
        ("spec.pgpassSecretRef.key", Box::new(|k| registry(json!({ "pgpassSecretRef": { "name": "db", "key": k } })))),
    ]
}

#[test]
fn ref_name_keys_match_the_data_key_pattern() {
    let long_ok = chars('k', 253);
    let too_long = chars('k', 254);
    for (field, build) in key_fields() {
        for ok in ["ca.crt", ".pgpass", "API_KEY", "a-b.c_d", "0", long_ok.as_str()] {
            accepts(&build(ok));
        }
        for bad in ["a/b", "a b", "a:b", "ключ", "a\nb", "..", ".", &too_long] {
            let cause = rejects(&build(bad), "ref.name", field);
            assert_eq!(cause.reason, "FieldValueInvalid", "{field} = {bad:?}");
        }
    }
    // An empty key is required, except the CA bundle's, which defaults to `ca.crt`.
    let required = [
        ("spec.headerForward.addHeadersFromSecret[0].valueSecretRef.key", "ref.name"),
        ("spec.pgpassSecretRef.key", "registry.pgpass"),
    ];
    for (field, build) in key_fields() {
        if let Some((_, rule)) = required.iter().find(|(f, _)| *f == field) {
            assert_eq!(rejects(&build(""), rule, field).reason, "FieldValueRequired");
        } else {
            accepts(&build(""));
        }
    }
}

#[test]
fn ref_cross_namespace() {
    let refs: Vec<(&str, &str, BuildNamespaced)> = vec![
        (
            "spec.groupRef.namespace",
            "MCPGroup",
            Box::new(|ns| entry(json!({ "groupRef": { "name": "tools", "namespace": ns } }))),
        ),
        (
            "spec.externalAuthConfigRef.namespace",
            "MCPExternalAuthConfig",
            Box::new(|ns| entry(json!({ "externalAuthConfigRef": { "name": "oauth", "namespace": ns } }))),
        ),
        (
            "spec.headerForward.addHeadersFromSecret[0].valueSecretRef.namespace",
            "Secret",
            Box::new(|ns| {
                entry_secret_headers(vec![
                    json!({ "headerName": "X-Key", "valueSecretRef": { "name": "api", "key": "k", "namespace": ns } }),
                ])
            }),
        ),
    ];
    for (field, target, build) in refs {
        accepts(&build(None));
        accepts(&build(Some(NS)));
        accepts(&build(Some("")));
        for other in ["team-b", "default", "kube-system", "TEAM-A", "team-a "] {
            let cause = rejects(&build(Some(other)), "ref.cross-namespace", field);
            assert_eq!(cause.reason, "FieldValueForbidden");
            assert_eq!(
                cause.message,
                format!(
                    "cross-namespace references are not allowed; the {target} must be in namespace \"team-a\" [ref.cross-namespace]"
                )
            );
        }
    }
}

#[test]
fn ref_cross_namespace_follows_the_request_namespace() {
    let obj = entry(json!({ "groupRef": { "name": "tools", "namespace": "team-b" } }));
    let moved = Req::create(&obj).edit(|r| r["request"]["namespace"] = json!("team-b"));
    assert!(moved.validate().allowed(), "the reference is in the object's own namespace");
}

#[test]
fn meta_name_length_of_mcpregistry() {
    let named = |n: &str| renamed(registry(json!({})), n);
    let name_rule = |reason| DenyAs("meta.name-length", "metadata.name", reason);
    table(vec![
        ("short", named("catalog"), Accept),
        ("one letter", named("a"), Accept),
        ("digits and dashes", named("catalog-2-eu"), Accept),
        ("59 characters", named(&chars('r', 59)), Accept),
        ("60 characters", named(&chars('r', 60)), name_rule("FieldValueInvalid")),
        ("63 characters", named(&chars('r', 63)), name_rule("FieldValueInvalid")),
        ("starts with a digit", named("1catalog"), name_rule("FieldValueInvalid")),
        ("dot", named("cat.alog"), name_rule("FieldValueInvalid")),
        ("upper case", named("Catalog"), name_rule("FieldValueInvalid")),
        ("trailing dash", named("catalog-"), name_rule("FieldValueInvalid")),
        ("leading dash", named("-catalog"), name_rule("FieldValueInvalid")),
        ("underscore", named("cat_alog"), name_rule("FieldValueInvalid")),
    ]);
    let cause = rejects(&named(&chars('r', 60)), "meta.name-length", "metadata.name");
    assert!(cause.message.contains("59") && cause.message.contains("<name>-api"), "{}", cause.message);
}

#[test]
fn meta_name_length_judges_generate_name_when_there_is_no_name_yet() {
    let generated = |prefix: &str| {
        let mut obj = registry(json!({}));
        obj["metadata"]["name"] = Value::Null;
        obj["metadata"]["generateName"] = json!(prefix);
        obj
    };
    let create = |obj: &Value| Req::create(obj).edit(|r| r["request"]["name"] = json!("")).validate();
    assert!(create(&generated("catalog-")).allowed());
    assert!(create(&generated(&chars('r', 54))).allowed(), "54 + 5 random characters = 59");
    let outcome = create(&generated(&chars('r', 55)));
    assert!(!outcome.allowed());
    outcome.cause("meta.name-length", "metadata.generateName");
    assert!(!create(&generated("1catalog-")).allowed());
}

#[test]
fn meta_name_length_does_not_apply_to_other_kinds() {
    accepts(&renamed(entry(json!({})), &chars('e', 200)));
    accepts(&renamed(group(json!({})), &chars('g', 200)));
}
