//! MCPRegistry: `registry.*` rules.

use mcp_operator::api::crd::REGISTRY_DEPRECATION;
use serde_json::{Value, json};

use crate::support::*;

fn config(yaml: &str) -> Value {
    registry(json!({ "configYAML": yaml }))
}

fn pgpass() -> Value {
    json!({ "name": "registry-db", "key": ".pgpass" })
}

#[test]
fn registry_deprecated_on_create_and_update_only() {
    let obj = registry(json!({}));
    let expected = format!("{REGISTRY_DEPRECATION} [registry.deprecated]");
    let created = accepts(&obj);
    assert_eq!(created.warnings(), std::slice::from_ref(&expected));
    let updated = Req::update(&obj, &registry(json!({ "displayName": "Catalog" }))).validate();
    assert!(updated.allowed());
    assert_eq!(updated.warnings(), std::slice::from_ref(&expected));
    let deleted = Req::delete(&obj).validate();
    assert!(deleted.allowed() && deleted.warnings().is_empty());
    // Denials keep the notice.
    let denied = Req::create(&config("")).validate();
    assert!(!denied.allowed());
    assert_eq!(denied.warnings(), [expected]);
}

#[test]
fn registry_config_required() {
    let required = DenyAs("registry.config.required", "spec.configYAML", "FieldValueRequired");
    table(vec![
        ("present", config("registries: []\n"), Accept),
        ("one character", config("x"), Accept),
        ("absent", registry(json!({ "configYAML": null })), required),
        ("empty", config(""), required),
        // A blank document configures nothing, exactly like an empty one.
        ("blank", config("  \n\t\n"), required),
    ]);
}

#[test]
fn registry_config_yaml() {
    table(vec![
        ("mapping", config(CONFIG_YAML), Accept),
        ("plain scalar", config("just text"), Accept),
        ("non-string keys", config("1: one\ntrue: yes\n? [a, b]\n: pair\n"), Accept),
        ("anchors and tags", config("base: &b {x: 1}\nderived: *b\nbin: !!binary aGVsbG8=\n"), Accept),
        ("unclosed flow", config("registries: [upstream\n"), Warn("registry.config.yaml")),
        ("bad indentation", config("a:\n  b: 1\n c: 2\n"), Warn("registry.config.yaml")),
        ("tab indentation", config("a:\n\tb: 1\n"), Warn("registry.config.yaml")),
        ("two mapping values", config("key: value: other\n"), Warn("registry.config.yaml")),
    ]);
    let warning = warns(&config("database:\n  user: r\n  port: [5432\n"), "registry.config.yaml");
    assert!(warning.starts_with("spec.configYAML: does not parse as YAML (line "), "{warning}");
    assert!(warning.contains("the registry server will refuse to start"), "{warning}");
}

#[test]
fn registry_config_credentials() {
    for (yaml, location) in [
        ("database:\n  password: hunter2\n", "key database.password"),
        ("auth:\n  oauth:\n    clientSecret: hunter2\n", "key auth.oauth.clientSecret"),
        ("client_secret: hunter2\n", "key client_secret"),
        ("token: hunter2\n", "key token"),
        ("secret: hunter2\n", "key secret"),
        ("apiKey: hunter2\n", "key apiKey"),
        ("API_KEY: hunter2\n", "key API_KEY"),
        ("api-key: hunter2\n", "key api-key"),
        ("database:\n  adminPassword: hunter2\n", "key database.adminPassword"),
        ("password: 123456\n", "key password"),
        ("registries:\n  - name: a\n    auth:\n      token: hunter2\n", "key registries[0].auth.token"),
        ("database:\n  dsn: postgres://registry:hunter2@db:5432/registry\n", "a URL with user-info at database.dsn"),
        ("git:\n  repository: https://oauth2:hunter2@github.com/org/catalog.git\n", "a URL with user-info"),
    ] {
        let warning = warns(&config(yaml), "registry.config.credentials");
        assert!(warning.starts_with("spec.configYAML: "), "{warning}");
        assert!(warning.contains(location), "{yaml:?}: {warning}");
        assert!(warning.contains("ConfigMaps are not secret; mount a Secret and reference its file path"), "{warning}");
        assert!(!warning.contains("hunter2") && !warning.contains("123456"), "never echo the value: {warning}");
    }
}

#[test]
fn registry_config_credentials_has_no_false_positives() {
    for yaml in [
        CONFIG_YAML,
        "database:\n  passwordFile: /secrets/db/password\n",
        "auth:\n  tokenPath: /var/run/secrets/token\n",
        "auth:\n  secretName: registry-oauth\n",
        "auth:\n  existingSecret: registry-oauth\n",
        "auth:\n  clientSecretFile: /secrets/oauth/client-secret\n",
        "auth:\n  apiKeyFile: /secrets/api/key\n",
        "auth:\n  tokenFile: /secrets/token\n",
        "auth:\n  secretRef:\n    name: oauth\n    key: token\n",
        "database:\n  password: \"\"\n",
        "database:\n  password: null\n",
        "database:\n  password:\n    file: /secrets/db/password\n",
        "auth:\n  useToken: true\n",
        "maintainer: team@example.com\n",
        "git:\n  repository: https://github.com/org/catalog.git\n",
        "tokens:\n  maxPerMinute: 10\n",
    ] {
        let outcome = accepts(&config(yaml));
        assert!(outcome.notable_warnings().is_empty(), "{yaml:?}");
    }
}

#[test]
fn registry_config_credentials_in_unparsable_yaml() {
    let outcome = Req::create(&config("dsn: \"postgres://u:hunter2@db/registry\n  broken: [")).validate();
    assert!(outcome.allowed());
    outcome.warning("registry.config.yaml");
    outcome.warning("registry.config.credentials");
    assert_not_echoed(&outcome, "hunter2");
}

#[test]
fn registry_pgpass() {
    let with = |r: Value| registry(json!({ "pgpassSecretRef": r }));
    let name = "spec.pgpassSecretRef.name";
    let key = "spec.pgpassSecretRef.key";
    table(vec![
        ("valid", with(pgpass()), Accept),
        ("optional", with(json!({ "name": "registry-db", "key": ".pgpass", "optional": true })), Accept),
        ("name absent", with(json!({ "key": ".pgpass" })), DenyAs("registry.pgpass", name, "FieldValueRequired")),
        (
            "name empty",
            with(json!({ "name": "", "key": ".pgpass" })),
            DenyAs("registry.pgpass", name, "FieldValueRequired"),
        ),
        (
            "name invalid",
            with(json!({ "name": "Registry_DB", "key": ".pgpass" })),
            DenyAs("ref.name", name, "FieldValueInvalid"),
        ),
        ("name 254 characters", with(json!({ "name": chars('a', 254), "key": ".pgpass" })), Deny("ref.name", name)),
        (
            "key empty",
            with(json!({ "name": "registry-db", "key": "" })),
            DenyAs("registry.pgpass", key, "FieldValueRequired"),
        ),
        (
            "key invalid",
            with(json!({ "name": "registry-db", "key": "pg/pass" })),
            DenyAs("ref.name", key, "FieldValueInvalid"),
        ),
    ]);
}

#[test]
fn registry_pull_secrets() {
    let with = |items: Value| registry(json!({ "imagePullSecrets": items }));
    table(vec![
        ("valid", with(json!([{ "name": "regcred" }, { "name": "mirror.creds" }])), Accept),
        ("empty list", with(json!([])), Accept),
        (
            "name absent",
            with(json!([{}])),
            DenyAs("registry.pull-secrets", "spec.imagePullSecrets[0].name", "FieldValueRequired"),
        ),
        (
            "name empty",
            with(json!([{ "name": "regcred" }, { "name": "" }])),
            DenyAs("registry.pull-secrets", "spec.imagePullSecrets[1].name", "FieldValueRequired"),
        ),
        (
            "name invalid",
            with(json!([{ "name": "RegCred" }])),
            DenyAs("ref.name", "spec.imagePullSecrets[0].name", "FieldValueInvalid"),
        ),
        (
            "namespaced name",
            with(json!([{ "name": "infra/regcred" }])),
            Deny("ref.name", "spec.imagePullSecrets[0].name"),
        ),
    ]);
}

fn secret_volume(name: &str) -> Value {
    json!({ "name": name, "secret": { "secretName": "registry-oauth" } })
}

fn mount(name: &str, path: &str) -> Value {
    json!({ "name": name, "mountPath": path, "readOnly": true })
}

fn storage(volumes: Value, mounts: Value) -> Value {
    registry(json!({ "volumes": volumes, "volumeMounts": mounts }))
}

#[test]
fn registry_volumes() {
    table(vec![
        (
            "volume and mount",
            storage(json!([secret_volume("oauth")]), json!([mount("oauth", "/secrets/oauth")])),
            Accept,
        ),
        ("volume only", storage(json!([secret_volume("oauth")]), json!([])), Accept),
        ("63-character name", storage(json!([secret_volume(&chars('v', 63))]), json!([])), Accept),
        (
            "64-character name",
            storage(json!([secret_volume(&chars('v', 64))]), json!([])),
            DenyAs("registry.volumes", "spec.volumes[0].name", "FieldValueInvalid"),
        ),
        (
            "name absent",
            storage(json!([{ "emptyDir": {} }]), json!([])),
            DenyAs("registry.volumes", "spec.volumes[0].name", "FieldValueRequired"),
        ),
        (
            "name empty",
            storage(json!([secret_volume("")]), json!([])),
            DenyAs("registry.volumes", "spec.volumes[0].name", "FieldValueRequired"),
        ),
        (
            "name upper case",
            storage(json!([secret_volume("OAuth")]), json!([])),
            Deny("registry.volumes", "spec.volumes[0].name"),
        ),
        (
            "name with dot",
            storage(json!([secret_volume("o.auth")]), json!([])),
            Deny("registry.volumes", "spec.volumes[0].name"),
        ),
        (
            "volume not an object",
            storage(json!(["oauth"]), json!([])),
            DenyAs("registry.volumes", "spec.volumes[0]", "FieldValueInvalid"),
        ),
        (
            "source of the wrong type",
            storage(json!([{ "name": "oauth", "secret": "registry-oauth" }]), json!([])),
            Deny("registry.volumes", "spec.volumes[0].secret"),
        ),
        (
            "duplicate names",
            storage(json!([secret_volume("oauth"), secret_volume("oauth")]), json!([])),
            DenyAs("registry.volumes", "spec.volumes[1].name", "FieldValueDuplicate"),
        ),
        (
            "mount of an undeclared volume",
            storage(json!([]), json!([mount("oauth", "/secrets")])),
            DenyAs("registry.volumes", "spec.volumeMounts[0].name", "FieldValueInvalid"),
        ),
        (
            "mount without name",
            storage(json!([]), json!([{ "mountPath": "/secrets" }])),
            DenyAs("registry.volumes", "spec.volumeMounts[0].name", "FieldValueRequired"),
        ),
        (
            "mount without path",
            storage(json!([secret_volume("oauth")]), json!([{ "name": "oauth" }])),
            DenyAs("registry.volumes", "spec.volumeMounts[0].mountPath", "FieldValueRequired"),
        ),
        (
            "relative mount path",
            storage(json!([secret_volume("oauth")]), json!([mount("oauth", "secrets")])),
            DenyAs("registry.volumes", "spec.volumeMounts[0].mountPath", "FieldValueInvalid"),
        ),
        ("mount not an object", storage(json!([]), json!([42])), Deny("registry.volumes", "spec.volumeMounts[0]")),
        (
            "mount of the operator's config volume",
            storage(json!([]), json!([mount("registry-server-config", "/etc/registry")])),
            Accept,
        ),
        (
            "pgpass volume without pgpass",
            storage(json!([]), json!([mount("pgpass", "/pg")])),
            Deny("registry.volumes", "spec.volumeMounts[0].name"),
        ),
        (
            "pgpass volume with pgpass",
            registry(json!({ "pgpassSecretRef": pgpass(), "volumeMounts": [mount("pgpass-secret", "/pg")] })),
            Accept,
        ),
        (
            "template volume",
            registry(json!({
                "podTemplateSpec": { "spec": { "volumes": [{ "name": "cache", "emptyDir": {} }] } },
                "volumeMounts": [mount("cache", "/cache")],
            })),
            Accept,
        ),
    ]);
}

#[test]
fn registry_reserved() {
    let template_volume = |name: &str| json!({ "spec": { "volumes": [{ "name": name, "emptyDir": {} }] } });
    let template_init = json!({ "spec": { "initContainers": [{ "name": "setup-pgpass", "image": "busybox" }] } });
    let forbidden = |field| DenyAs("registry.reserved", field, "FieldValueForbidden");
    table(vec![
        (
            "config volume",
            storage(json!([secret_volume("registry-server-config")]), json!([])),
            forbidden("spec.volumes[0].name"),
        ),
        ("pgpass-secret without pgpass", storage(json!([secret_volume("pgpass-secret")]), json!([])), Accept),
        ("pgpass without pgpass", storage(json!([secret_volume("pgpass")]), json!([])), Accept),
        (
            "pgpass-secret with pgpass",
            registry(json!({ "pgpassSecretRef": pgpass(), "volumes": [secret_volume("pgpass-secret")] })),
            forbidden("spec.volumes[0].name"),
        ),
        (
            "pgpass with pgpass",
            registry(json!({ "pgpassSecretRef": pgpass(), "volumes": [secret_volume("pgpass")] })),
            forbidden("spec.volumes[0].name"),
        ),
        (
            "template config volume",
            registry(json!({ "podTemplateSpec": template_volume("registry-server-config") })),
            forbidden("spec.podTemplateSpec.spec.volumes[0].name"),
        ),
        (
            "template pgpass volume with pgpass",
            registry(json!({ "pgpassSecretRef": pgpass(), "podTemplateSpec": template_volume("pgpass") })),
            forbidden("spec.podTemplateSpec.spec.volumes[0].name"),
        ),
        (
            "template pgpass volume without pgpass",
            registry(json!({ "podTemplateSpec": template_volume("pgpass") })),
            Accept,
        ),
        (
            "init container with pgpass",
            registry(json!({ "pgpassSecretRef": pgpass(), "podTemplateSpec": template_init })),
            forbidden("spec.podTemplateSpec.spec.initContainers[0].name"),
        ),
        ("init container without pgpass", registry(json!({ "podTemplateSpec": template_init })), Accept),
    ]);
}

#[test]
fn registry_mount_path() {
    let template_mount = |container: &str, path: &str| {
        json!({ "spec": {
            "volumes": [{ "name": "cache", "emptyDir": {} }],
            "containers": [{ "name": container, "volumeMounts": [{ "name": "cache", "mountPath": path }] }],
        } })
    };
    let duplicate = |field| DenyAs("registry.mount-path", field, "FieldValueDuplicate");
    let oauth = || json!([secret_volume("oauth")]);
    table(vec![
        (
            "distinct paths",
            storage(json!([secret_volume("a"), secret_volume("b")]), json!([mount("a", "/a"), mount("b", "/b")])),
            Accept,
        ),
        ("under /config", storage(oauth(), json!([mount("oauth", "/config/oauth")])), Accept),
        ("/config", storage(oauth(), json!([mount("oauth", "/config")])), duplicate("spec.volumeMounts[0].mountPath")),
        (
            "/config/",
            storage(oauth(), json!([mount("oauth", "/config/")])),
            duplicate("spec.volumeMounts[0].mountPath"),
        ),
        (
            "//config/.",
            storage(oauth(), json!([mount("oauth", "//config/.")])),
            duplicate("spec.volumeMounts[0].mountPath"),
        ),
        (
            "pgpass file with pgpass",
            registry(
                json!({ "pgpassSecretRef": pgpass(), "volumes": oauth(), "volumeMounts": [mount("oauth", "/home/appuser/.pgpass")] }),
            ),
            duplicate("spec.volumeMounts[0].mountPath"),
        ),
        ("pgpass file without pgpass", storage(oauth(), json!([mount("oauth", "/home/appuser/.pgpass")])), Accept),
        (
            "two user mounts",
            storage(
                json!([secret_volume("a"), secret_volume("b")]),
                json!([mount("a", "/secrets"), mount("b", "/secrets")]),
            ),
            duplicate("spec.volumeMounts[1].mountPath"),
        ),
        (
            "template registry-api mount",
            registry(
                json!({ "podTemplateSpec": template_mount("registry-api", "/secrets"), "volumes": oauth(), "volumeMounts": [mount("oauth", "/secrets")] }),
            ),
            Deny("registry.mount-path", "spec.podTemplateSpec.spec.containers[0].volumeMounts[0].mountPath"),
        ),
        (
            "template registry-api at /config",
            registry(json!({ "podTemplateSpec": template_mount("registry-api", "/config") })),
            Deny("registry.mount-path", "spec.podTemplateSpec.spec.containers[0].volumeMounts[0].mountPath"),
        ),
        (
            "template sidecar mount",
            registry(
                json!({ "podTemplateSpec": template_mount("sidecar", "/secrets"), "volumes": oauth(), "volumeMounts": [mount("oauth", "/secrets")] }),
            ),
            Accept,
        ),
    ]);
}

#[test]
fn registry_pod_template() {
    let with = |t: Value| registry(json!({ "podTemplateSpec": t }));
    table(vec![
        ("labels only", with(json!({ "metadata": { "labels": { "team": "data" } } })), Accept),
        ("partial pod spec", with(json!({ "spec": { "nodeSelector": { "disk": "ssd" } } })), Accept),
        (
            "registry-api resources",
            with(
                json!({ "spec": { "containers": [{ "name": "registry-api", "resources": { "limits": { "memory": "256Mi" } } }] } }),
            ),
            Accept,
        ),
        (
            "containers not a list",
            with(json!({ "spec": { "containers": "registry-api" } })),
            DenyAs("registry.pod-template", "spec.podTemplateSpec.spec.containers", "FieldValueInvalid"),
        ),
        (
            "wrong scalar type",
            with(json!({ "spec": { "containers": [{ "name": "registry-api", "image": 42 }] } })),
            Deny("registry.pod-template", "spec.podTemplateSpec.spec.containers[0].image"),
        ),
        ("not an object", with(json!("registry-api")), Deny("registry.pod-template", "spec.podTemplateSpec")),
        (
            "bad quantity",
            with(
                json!({ "spec": { "containers": [{ "name": "registry-api", "resources": { "limits": { "memory": ["x"] } } }] } }),
            ),
            Deny("registry.pod-template", "spec.podTemplateSpec.spec.containers[0].resources.limits.memory"),
        ),
    ]);
}
