//! `install` / `--uninstall` against a fake API server: which objects are written, and that the
//! conversion `clientConfig` is replaced whole (a url, never url and service together).

mod common;

use common::fake_api::FakeApi;
use mcp_operator::api::crd;
use mcp_operator::deploy::install;
use serde_json::json;

const CA: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
const VALIDATING: &str = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations";
const MUTATING: &str = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations";

#[tokio::test]
async fn install_creates_crds_and_webhooks_pointing_at_the_url() {
    let api = FakeApi::new();
    let lines = install::install(api.client(), "https://127.0.0.1:9443", CA).await.expect("install");
    assert_eq!(lines.len(), 6, "{lines:?}");
    let entry = api.get(&format!("{CRDS}/mcpserverentries.toolhive.stacklok.dev")).expect("CRD created");
    let client_config = &entry["spec"]["conversion"]["webhook"]["clientConfig"];
    assert_eq!(client_config["url"], "https://127.0.0.1:9443/convert");
    assert_eq!(client_config["caBundle"], install::ca_bundle(CA));
    assert!(client_config.get("service").is_none());
    let group = api.get(&format!("{CRDS}/mcpgroups.toolhive.stacklok.dev")).expect("CRD created");
    assert_eq!(group["spec"]["conversion"], json!({ "strategy": "None" }));
    let validating = api.get(&format!("{VALIDATING}/mcp-operator-validating")).expect("validating");
    for hook in validating["webhooks"].as_array().expect("webhooks") {
        let url = hook["clientConfig"]["url"].as_str().expect("url");
        assert!(url.starts_with("https://127.0.0.1:9443/validate/"), "{url}");
        assert_eq!(hook["clientConfig"]["caBundle"], install::ca_bundle(CA));
    }
    assert!(api.get(&format!("{MUTATING}/mcp-operator-mutating")).is_some());
}

#[tokio::test]
async fn install_replaces_a_service_client_config_whole() {
    let api = FakeApi::new();
    // As `kubectl apply -k manifests/` left it: conversion through the in-cluster Service.
    let name = crd::MCPSERVERENTRY.crd_name();
    api.put(&format!("{CRDS}/{name}"), crd::crd(&crd::MCPSERVERENTRY));
    install::install(api.client(), "https://host.docker.internal:9443/", CA).await.expect("install");
    let replaced = api.get(&format!("{CRDS}/{name}")).expect("crd");
    let client_config = &replaced["spec"]["conversion"]["webhook"]["clientConfig"];
    assert_eq!(client_config["url"], "https://host.docker.internal:9443/convert");
    assert!(client_config.get("service").is_none(), "url and service never together: {client_config}");
    let puts: Vec<String> = api.call_lines().into_iter().filter(|l| l.starts_with("PUT")).collect();
    assert_eq!(puts, vec![format!("PUT {CRDS}/{name}")]);
}

#[tokio::test]
async fn uninstall_removes_webhooks_and_resets_conversion() {
    let api = FakeApi::new();
    install::install(api.client(), "https://127.0.0.1:9443", CA).await.expect("install");
    api.clear_calls();
    let lines = install::uninstall(api.client(), false).await.expect("uninstall");
    assert!(api.get(&format!("{VALIDATING}/mcp-operator-validating")).is_none());
    assert!(api.get(&format!("{MUTATING}/mcp-operator-mutating")).is_none());
    for kind in crd::KINDS {
        let object = api.get(&format!("{CRDS}/{}", kind.crd_name())).expect("CRDs stay");
        assert_eq!(object["spec"]["conversion"], json!({ "strategy": "None" }), "{}", kind.plural);
    }
    assert_eq!(lines.len(), 4, "{lines:?}");
    let again = install::uninstall(api.client(), false).await.expect("idempotent");
    assert_eq!(again.len(), 2, "only the conversion resets remain: {again:?}");
}

#[tokio::test]
async fn uninstall_with_crds_deletes_them() {
    let api = FakeApi::new();
    install::install(api.client(), "https://127.0.0.1:9443", CA).await.expect("install");
    install::uninstall(api.client(), true).await.expect("uninstall");
    for kind in crd::KINDS {
        assert!(api.get(&format!("{CRDS}/{}", kind.crd_name())).is_none());
    }
}
