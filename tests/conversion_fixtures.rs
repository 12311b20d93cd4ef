//! ConversionReview fixtures: each `webhooks/conversion/<case>.request.json` is answered exactly
//! as `<case>.response.json` says. `BLESS=1 cargo test --test conversion_fixtures` rewrites the
//! expected responses from the code (review the diff before committing it).

use std::fs;
use std::path::{Path, PathBuf};

use mcp_operator::conversion::{ReviewOutcome, ReviewResponse, convert, handle_review};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

const FIXTURES: &str = "webhooks/conversion";

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn answer(body: &[u8]) -> ReviewResponse {
    match handle_review(body) {
        ReviewOutcome::Response(response) => response,
        ReviewOutcome::BadRequest(why) => panic!("bad request: {why}"),
    }
}

fn requests() -> Vec<PathBuf> {
    let mut requests: Vec<PathBuf> = fs::read_dir(FIXTURES)
        .expect("fixture directory")
        .map(|entry| entry.expect("fixture entry").path())
        .filter(|path| path.to_string_lossy().ends_with(".request.json"))
        .collect();
    requests.sort();
    requests
}

#[test]
fn every_fixture_request_gets_its_expected_response() {
    let requests = requests();
    assert!(requests.len() >= 4, "fixtures missing: {requests:?}");
    for request in requests {
        let expected_path = PathBuf::from(request.to_string_lossy().replace(".request.json", ".response.json"));
        let body = fs::read(&request).expect("request");
        let actual = answer(&body).review();
        if std::env::var_os("BLESS").is_some() {
            let text = serde_json::to_string_pretty(&actual).expect("serializes") + "\n";
            fs::write(&expected_path, text).expect("write expected response");
            continue;
        }
        assert_eq!(actual, read_json(&expected_path), "{}", request.display());
        converting_back_restores_the_request(&body, &actual, &request);
    }
}

/// The fixtures hold objects as the API server stores and serves them, so a successful answer
/// converts back to exactly the request's objects.
fn converting_back_restores_the_request(body: &[u8], answer: &Value, request: &Path) {
    let Some(converted) = answer["response"]["convertedObjects"].as_array() else { return };
    let originals: Value = serde_json::from_slice(body).expect("request is JSON");
    for (original, converted) in originals["request"]["objects"].as_array().expect("objects").iter().zip(converted) {
        let own_version = original["apiVersion"].as_str().expect("apiVersion");
        let back = convert(converted, own_version).expect("converts back");
        assert_eq!(&back, original, "{}: {}", request.display(), original["metadata"]["name"]);
    }
}

/// A legacy `v1alpha1` VirtualMCPServer and its `v1beta1` form, from the mixed-kinds fixture.
fn legacy_server_and_its_v1beta1_form() -> (Value, Value) {
    let request = read_json(&Path::new(FIXTURES).join("mixed-kinds-to-v1beta1.request.json"));
    let response = read_json(&Path::new(FIXTURES).join("mixed-kinds-to-v1beta1.response.json"));
    (request["request"]["objects"][2].clone(), response["response"]["convertedObjects"][2].clone())
}

fn named(template: &Value, index: usize) -> Value {
    let mut object = template.clone();
    object["metadata"]["name"] = json!(format!("vmcp-{index:03}"));
    object
}

/// The API server sends hundreds of objects when a client lists at a non-storage version.
#[test]
fn a_batch_of_500_virtual_servers_converts_exactly_and_quickly() {
    let (legacy, converted) = legacy_server_and_its_v1beta1_form();
    assert_eq!(legacy["kind"], "VirtualMCPServer");
    let request = json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "ConversionReview",
        "request": {
            "uid": "0f1e2d3c-0500-4a5b-8c9d-000000000500",
            "desiredAPIVersion": "toolhive.stacklok.dev/v1beta1",
            "objects": (0..500).map(|i| named(&legacy, i)).collect::<Vec<_>>(),
        },
    });
    let body = serde_json::to_vec(&request).expect("serializes");

    let response = answer(&body);

    let expected = json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "ConversionReview",
        "response": {
            "uid": "0f1e2d3c-0500-4a5b-8c9d-000000000500",
            "convertedObjects": (0..500).map(|i| named(&converted, i)).collect::<Vec<_>>(),
            "result": {"status": "Success"},
        },
    });
    // The body as sent, parsed.
    assert_eq!(response.review(), expected);
    assert_eq!(response.objects.len(), 500);
    // Speed is measured by `cargo bench` (BENCHMARKS.md), never asserted here.
}
