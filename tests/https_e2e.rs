//! End to end over HTTPS: the real server on an ephemeral port answers every fixture in
//! `webhooks/` exactly as its `.response.json` says, and handles protocol errors.
//!
//! Set `UPDATE_FIXTURES=1` to rewrite the expected responses after a deliberate change.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{TestServer, get_plain, post_json, send};
use hyper::{Method, StatusCode};
use serde_json::Value;

/// Every `*.request.json` under `webhooks/<area>/`, sorted.
fn fixtures(area: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let root = Path::new("webhooks").join(area);
    for dir in fs::read_dir(&root).expect("fixture dir").flatten() {
        for file in fs::read_dir(dir.path()).expect("kind dir").flatten() {
            let path = file.path();
            if path.to_string_lossy().ends_with(".request.json") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// `/mutate/<plural>` for `mutate-*` fixtures, `/validate/<plural>` otherwise.
fn endpoint(request: &Path) -> String {
    let plural = request.parent().and_then(Path::file_name).and_then(|n| n.to_str()).unwrap_or_default();
    let case = request.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let mode = if case.starts_with("mutate-") { "mutate" } else { "validate" };
    format!("/{mode}/{plural}")
}

fn response_path(request: &Path) -> PathBuf {
    PathBuf::from(request.to_string_lossy().replace(".request.json", ".response.json"))
}

#[tokio::test]
async fn every_admission_fixture_gets_its_expected_response() {
    let server = TestServer::start().await;
    let client = server.client(false);
    let update = std::env::var_os("UPDATE_FIXTURES").is_some();
    let cases = fixtures("admission");
    assert!(cases.len() >= 15, "fixtures missing: {cases:?}");
    for request in cases {
        let body = fs::read(&request).expect("request");
        let (status, response) = post_json(&client, &server.url(&endpoint(&request)), &body).await;
        assert_eq!(status, StatusCode::OK, "{}", request.display());
        let expected_path = response_path(&request);
        if update {
            fs::write(&expected_path, serde_json::to_string_pretty(&response).expect("json") + "\n").expect("write");
            continue;
        }
        let expected: Value =
            serde_json::from_slice(&fs::read(&expected_path).expect("expected response")).expect("json");
        assert_eq!(response, expected, "{} (run with UPDATE_FIXTURES=1 after a deliberate change)", request.display());
        let sent: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(response["response"]["uid"], sent["request"]["uid"], "uid is echoed");
    }
}

#[tokio::test]
async fn responses_never_echo_secret_values() {
    let server = TestServer::start().await;
    let client = server.client(false);
    for request in fixtures("admission") {
        let (_, response) =
            post_json(&client, &server.url(&endpoint(&request)), &fs::read(&request).expect("request")).await;
        let text = response.to_string();
        for secret in ["hunter2", "sk-live-0123456789", "s3cr3t-value"] {
            assert!(!text.contains(secret), "{} echoes {secret}", request.display());
        }
    }
}

#[tokio::test]
async fn protocol_errors_get_the_documented_status_codes() {
    let server = TestServer::start().await;
    let client = server.client(false);
    let valid = fs::read("webhooks/admission/mcpserverentries/create-valid.request.json").expect("fixture");
    let url = server.url("/validate/mcpserverentries");

    let (status, _) =
        send(&client, Method::POST, &server.url("/validate/widgets"), Some("application/json"), valid.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(&client, Method::POST, &server.url("/nope"), Some("application/json"), valid.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(&client, Method::GET, &url, None, Vec::new()).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, _) = send(&client, Method::POST, &url, Some("text/plain"), valid.clone()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, _) = send(&client, Method::POST, &url, Some("application/json; charset=utf-8"), valid.clone()).await;
    assert_eq!(status, StatusCode::OK, "JSON with parameters is JSON");

    let (status, body) = post_json(&client, &url, b"{not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().is_some_and(|e| e.contains("JSON")), "{body}");
    let (status, body) =
        post_json(&client, &url, br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().is_some_and(|e| e.contains("request")), "{body}");
    let (status, _) =
        post_json(&client, &url, br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}}"#)
            .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A readable uid turns every other problem into a well-formed denial.
    let mut wrong_kind: Value = serde_json::from_slice(&valid).expect("json");
    wrong_kind["request"]["kind"]["kind"] = "MCPGroup".into();
    let (status, body) = post_json(&client, &url, &serde_json::to_vec(&wrong_kind).expect("json")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["response"]["allowed"], false);
    assert_eq!(body["response"]["uid"], wrong_kind["request"]["uid"]);

    let mut huge = b"{\"pad\":\"".to_vec();
    huge.resize(8 * 1024 * 1024 + 10, b'a');
    huge.extend_from_slice(b"\"}");
    let (status, _) = send(&client, Method::POST, &url, Some("application/json"), huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    let nested = "[".repeat(100_000);
    let (status, _) = post_json(&client, &url, nested.as_bytes()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "deep nesting is refused, not a crash");
}

#[tokio::test]
async fn serves_http2_and_keeps_http1_connections_alive() {
    let server = TestServer::start().await;
    let body = fs::read("webhooks/admission/mcpgroups/create-valid.request.json").expect("fixture");
    for http2 in [true, false] {
        let client = server.client(http2);
        for _ in 0..20 {
            let (status, response) = post_json(&client, &server.url("/validate/mcpgroups"), &body).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(response["response"]["allowed"], true);
        }
    }
}

#[tokio::test]
async fn admin_port_reports_health_readiness_and_metrics() {
    let server = TestServer::start().await;
    assert_eq!(get_plain(&server.admin_url("/livez")).await.0, StatusCode::OK);
    assert_eq!(get_plain(&server.admin_url("/readyz")).await.0, StatusCode::OK);
    let client = server.client(false);
    let body = fs::read("webhooks/admission/mcpserverentries/create-blocked-host.request.json").expect("fixture");
    post_json(&client, &server.url("/validate/mcpserverentries"), &body).await;
    let (status, text) = get_plain(&server.admin_url("/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains(r#"mcp_operator_admission_requests_total{endpoint="validate",kind="MCPServerEntry",outcome="denied",code="200"} 1"#), "{text}");
    assert!(
        text.contains(r#"mcp_operator_admission_findings_total{rule="entry.url.blocked-host",outcome="denied"} 1"#),
        "{text}"
    );
    assert!(text.contains("mcp_operator_admission_duration_seconds_bucket"), "{text}");
    server.server.readiness.start_draining();
    assert_eq!(get_plain(&server.admin_url("/readyz")).await.0, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(get_plain(&server.admin_url("/livez")).await.0, StatusCode::OK, "draining is not dead");
}

/// Every `webhooks/conversion/*.request.json`, sorted.
fn conversion_fixtures() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir("webhooks/conversion")
        .expect("fixture dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".request.json"))
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn every_conversion_fixture_gets_its_expected_response_over_https() {
    let server = TestServer::start().await;
    let client = server.client(false);
    let cases = conversion_fixtures();
    assert!(cases.len() >= 4, "fixtures missing: {cases:?}");
    for request in cases {
        let body = fs::read(&request).expect("request");
        let (status, response) = post_json(&client, &server.url("/convert"), &body).await;
        assert_eq!(status, StatusCode::OK, "{}", request.display());
        let expected: Value =
            serde_json::from_slice(&fs::read(response_path(&request)).expect("expected")).expect("json");
        assert_eq!(response, expected, "{}", request.display());
    }
    let (_, text) = get_plain(&server.admin_url("/metrics")).await;
    assert!(
        text.contains(r#"mcp_operator_conversion_objects_total{kind="MCPServerEntry",direction="v1alpha1->v1beta1",result="success"}"#),
        "{text}"
    );
    assert!(text.contains("mcp_operator_conversion_duration_seconds_count"), "{text}");
}

#[tokio::test]
async fn a_500_object_conversion_batch_round_trips_over_https() {
    let server = TestServer::start().await;
    let client = server.client(true);
    let object: Value = serde_json::from_slice(
        &fs::read("webhooks/conversion/virtualmcpserver-v1beta1-to-v1alpha1.request.json").expect("fixture"),
    )
    .expect("json");
    let template = object["request"]["objects"][0].clone();
    let objects: Vec<Value> = (0..500)
        .map(|i| {
            let mut o = template.clone();
            o["metadata"]["name"] = format!("vmcp-{i}").into();
            o
        })
        .collect();
    let review = |desired: &str, objects: &[Value]| {
        serde_json::to_vec(&serde_json::json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "ConversionReview",
            "request": { "uid": "batch-500", "desiredAPIVersion": desired, "objects": objects },
        }))
        .expect("json")
    };
    let (status, down) =
        post_json(&client, &server.url("/convert"), &review("toolhive.stacklok.dev/v1alpha1", &objects)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(down["response"]["result"]["status"], "Success");
    let converted = down["response"]["convertedObjects"].as_array().expect("objects").clone();
    assert_eq!(converted.len(), 500);
    for (i, o) in converted.iter().enumerate() {
        assert_eq!(o["metadata"]["name"], format!("vmcp-{i}"), "order is preserved");
        assert_eq!(o["apiVersion"], "toolhive.stacklok.dev/v1alpha1");
    }
    let (_, up) =
        post_json(&client, &server.url("/convert"), &review("toolhive.stacklok.dev/v1beta1", &converted)).await;
    assert_eq!(up["response"]["convertedObjects"].as_array().expect("objects"), &objects, "lossless both ways");
}

#[tokio::test]
async fn conversion_protocol_errors() {
    let server = TestServer::start().await;
    let client = server.client(false);
    let (status, _) = post_json(&client, &server.url("/convert"), b"[]").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = send(&client, Method::POST, &server.url("/convert"), Some("text/yaml"), b"{}".to_vec()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, _) = send(&client, Method::GET, &server.url("/convert"), None, Vec::new()).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}
