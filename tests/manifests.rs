//! The in-cluster installation: `manifests/` is exactly what `mcp-operator manifests` renders,
//! `kubectl kustomize manifests/` yields the same objects, and every object is well-formed for its
//! Kubernetes type.

use std::collections::BTreeMap;
use std::fs;
use std::process::Command;

use mcp_operator::api::crd::to_yaml_stream;
use mcp_operator::deploy::{self, Install};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn docs(text: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(text)
        .map(|d| serde::Deserialize::deserialize(d).expect("yaml document"))
        .filter(|v: &Value| !v.is_null())
        .collect()
}

#[test]
fn committed_kustomization_matches_the_rendering() {
    let files = deploy::files(&Install::default());
    for file in &files {
        let path = format!("manifests/{}", file.name);
        let committed = fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == to_yaml_stream(&file.objects).expect("yaml"),
            "{path} differs from the code; run `cargo run -- manifests --write manifests`"
        );
    }
    let listed = fs::read_to_string("manifests/kustomization.yaml").expect("kustomization");
    let kustomization: Value = serde_norway::from_str(&listed).expect("yaml");
    let resources: Vec<&str> =
        kustomization["resources"].as_array().expect("resources").iter().filter_map(Value::as_str).collect();
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(resources, names);
}

fn identity(object: &Value) -> String {
    let meta = &object["metadata"];
    format!("{}/{}/{}/{}", object["apiVersion"], object["kind"], meta["namespace"], meta["name"])
}

#[test]
fn kubectl_kustomize_yields_the_same_objects() {
    let Ok(output) = Command::new("kubectl").args(["kustomize", "manifests"]).output() else {
        eprintln!("kubectl not found; skipping");
        return;
    };
    assert!(output.status.success(), "kubectl kustomize failed: {}", String::from_utf8_lossy(&output.stderr));
    let built: BTreeMap<String, Value> =
        docs(&String::from_utf8_lossy(&output.stdout)).into_iter().map(|o| (identity(&o), o)).collect();
    let ours: BTreeMap<String, Value> =
        deploy::objects(&Install::default()).into_iter().map(|o| (identity(&o), o)).collect();
    assert_eq!(built.keys().collect::<Vec<_>>(), ours.keys().collect::<Vec<_>>());
    for (id, object) in &ours {
        assert_eq!(&built[id], object, "{id}");
    }
}

/// Decoding into the typed API struct and encoding again must not lose anything: a misspelled or
/// misplaced field would vanish.
fn round_trips_as<T: DeserializeOwned + Serialize>(object: &Value) {
    let typed: T = serde_json::from_value(object.clone()).unwrap_or_else(|e| panic!("{}: {e}", identity(object)));
    let back = integral(serde_json::to_value(&typed).expect("serialise"));
    let diff = json_patch::diff(&integral(object.clone()), &back);
    assert!(
        diff.0.is_empty(),
        "{} is not well-formed: {}",
        identity(object),
        serde_json::to_string(&diff).unwrap_or_default()
    );
}

/// Typed structs write bounds as floats (`0.0`); compare them as the integers they are.
fn integral(value: Value) -> Value {
    match value {
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && n.is_f64() => Value::from(f as i64),
            _ => Value::Number(n),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(integral).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, integral(v))).collect()),
        other => other,
    }
}

#[test]
fn every_object_is_well_formed_for_its_type() {
    use k8s_openapi::api::admissionregistration::v1 as admission;
    use k8s_openapi::api::{apps::v1 as apps, core::v1 as core, policy::v1 as policy, rbac::v1 as rbac};
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiext;
    let install = Install { namespace: "platform".into(), image: "registry.example/mcp-operator:test".into() };
    for object in deploy::objects(&install) {
        match object["kind"].as_str().unwrap_or_default() {
            "CustomResourceDefinition" => round_trips_as::<apiext::CustomResourceDefinition>(&object),
            "Namespace" => round_trips_as::<core::Namespace>(&object),
            "ServiceAccount" => round_trips_as::<core::ServiceAccount>(&object),
            "Service" => round_trips_as::<core::Service>(&object),
            "ClusterRole" => round_trips_as::<rbac::ClusterRole>(&object),
            "ClusterRoleBinding" => round_trips_as::<rbac::ClusterRoleBinding>(&object),
            "Role" => round_trips_as::<rbac::Role>(&object),
            "RoleBinding" => round_trips_as::<rbac::RoleBinding>(&object),
            "Deployment" => round_trips_as::<apps::Deployment>(&object),
            "PodDisruptionBudget" => round_trips_as::<policy::PodDisruptionBudget>(&object),
            "ValidatingWebhookConfiguration" => round_trips_as::<admission::ValidatingWebhookConfiguration>(&object),
            "MutatingWebhookConfiguration" => round_trips_as::<admission::MutatingWebhookConfiguration>(&object),
            other => panic!("unexpected kind {other}"),
        }
        if let Some(ns) = object["metadata"]["namespace"].as_str() {
            assert_eq!(ns, "platform", "{}", identity(&object));
        }
    }
}

#[test]
fn the_installation_follows_the_operations_spec() {
    let objects = deploy::objects(&Install::default());
    let find = |kind: &str| objects.iter().find(|o| o["kind"] == kind).unwrap_or_else(|| panic!("no {kind}"));
    let deployment = find("Deployment");
    assert_eq!(deployment["spec"]["replicas"], 2);
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(container["securityContext"]["capabilities"]["drop"], serde_json::json!(["ALL"]));
    assert_eq!(container["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
    assert_eq!(deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"], true);
    assert_eq!(find("PodDisruptionBudget")["spec"]["minAvailable"], 1);
    for config in ["ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"] {
        for hook in find(config)["webhooks"].as_array().expect("webhooks") {
            assert_eq!(hook["failurePolicy"], "Fail");
            assert_eq!(hook["sideEffects"], "None");
            assert_eq!(hook["matchPolicy"], "Equivalent");
            assert_eq!(hook["timeoutSeconds"], 5);
            assert_eq!(hook["rules"][0]["apiVersions"], serde_json::json!(["v1beta1"]));
        }
    }
    let mutating = find("MutatingWebhookConfiguration");
    let entry = mutating["webhooks"]
        .as_array()
        .expect("webhooks")
        .iter()
        .find(|w| w["name"] == "mcpserverentries.mutate.toolhive.stacklok.dev");
    let entry = entry.expect("entry webhook");
    assert_eq!(entry["reinvocationPolicy"], "IfNeeded");
    assert_eq!(entry["rules"][1]["resources"], serde_json::json!(["mcpserverentries/status"]));
}

#[test]
fn kubectl_dry_run_accepts_the_rendering_on_a_real_cluster() {
    let Some(kubeconfig) = std::env::var_os("MCP_OPERATOR_E2E_KUBECONFIG") else {
        eprintln!(
            "MCP_OPERATOR_E2E_KUBECONFIG is not set; skipping (kubectl's dry run needs an API server for discovery)"
        );
        return;
    };
    let yaml = to_yaml_stream(&deploy::objects(&Install::default())).expect("yaml");
    let path = std::env::temp_dir().join("mcp-operator-manifests.yaml");
    fs::write(&path, yaml).expect("write");
    let output = Command::new("kubectl")
        .env("KUBECONFIG", kubeconfig)
        .args(["apply", "--dry-run=client", "-f"])
        .arg(&path)
        .output()
        .expect("kubectl");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}
