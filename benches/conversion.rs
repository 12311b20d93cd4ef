//! A ConversionReview of 500 VirtualMCPServers, both directions: body bytes to response bytes, as
//! the `/convert` handler does it; the same objects as stored (with managed fields and status);
//! 50 and 2000 objects show that the cost is linear in the count.

use std::hint::black_box;
use std::path::Path;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mcp_operator::conversion::{ReviewOutcome, handle_review};
use serde_json::{Value, json};

/// The allocator of the binary, so that the numbers are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const OBJECTS: usize = 500;
const V1ALPHA1: &str = "toolhive.stacklok.dev/v1alpha1";
const V1BETA1: &str = "toolhive.stacklok.dev/v1beta1";

fn read_json(relative: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&text).expect("fixture is JSON")
}

/// The VirtualMCPServers of the fixtures at `v1beta1`: the conversion fixture's and the typical
/// object admission sees.
fn v1beta1_objects() -> Vec<Value> {
    let mut objects: Vec<Value> =
        read_json("webhooks/conversion/virtualmcpserver-v1beta1-to-v1alpha1.request.json")["request"]["objects"]
            .as_array()
            .expect("objects")
            .clone();
    objects
        .push(read_json("webhooks/admission/virtualmcpservers/create-valid.request.json")["request"]["object"].clone());
    objects
}

fn review(desired: &str, objects: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "ConversionReview",
        "request": {"uid": "0f1e2d3c-0500-4a5b-8c9d-000000000500", "desiredAPIVersion": desired, "objects": objects},
    }))
    .expect("serializes")
}

/// `object` as the API server stores and sends it: with the managed fields of two writers and the
/// status the operator and the vMCP runtime write, which conversion leaves as they are.
fn as_stored(mut object: Value) -> Value {
    let condition = |kind: &str| {
        json!({"type": kind, "status": "True", "reason": "Ready", "message": "all good",
               "lastTransitionTime": "2026-12-01T10:00:00Z", "observedGeneration": 3})
    };
    let backend = |name: &str| {
        json!({"name": name, "url": format!("http://{name}.team-a.svc.cluster.local:8080"), "status": "ready",
               "authType": "discovered", "lastHealthCheck": "2026-12-01T10:00:00Z", "consecutiveFailures": 0})
    };
    let fields = json!({"f:spec": {"f:groupRef": {"f:name": {}}, "f:incomingAuth": {"f:type": {}},
                                   "f:config": {"f:aggregation": {"f:conflictResolution": {}}}}});
    object["metadata"]["managedFields"] = json!([
        {"manager": "kubectl", "operation": "Apply", "apiVersion": V1BETA1, "time": "2026-12-01T10:00:00Z",
         "fieldsType": "FieldsV1", "fieldsV1": fields},
        {"manager": "mcp-operator", "operation": "Apply", "apiVersion": V1BETA1, "time": "2026-12-01T10:00:01Z",
         "fieldsType": "FieldsV1", "subresource": "status",
         "fieldsV1": {"f:status": {"f:phase": {}, "f:url": {}, "f:conditions": {}, "f:discoveredBackends": {}}}},
    ]);
    object["status"] = json!({
        "phase": "Ready", "url": "http://vmcp.team-a.svc.cluster.local:4483", "observedGeneration": 3,
        "backendCount": 3, "conditions": [condition("Ready"), condition("BackendsDiscovered"), condition("GroupRefValid")],
        "discoveredBackends": [backend("github"), backend("jira"), backend("fetch")],
    });
    object
}

/// `count` objects cycling through `samples`, each with its own name.
fn batch(samples: &[Value], count: usize) -> Vec<Value> {
    (0..count)
        .map(|i| {
            let mut object = samples[i % samples.len()].clone();
            object["metadata"]["name"] = json!(format!("vmcp-{i:03}"));
            object
        })
        .collect()
}

fn converted(body: &[u8]) -> Vec<Value> {
    match handle_review(body) {
        ReviewOutcome::Response(response) if response.success() => {
            response.review()["response"]["convertedObjects"].as_array().expect("converted").clone()
        }
        other => panic!("conversion failed: {other:?}"),
    }
}

fn answer(body: &[u8]) -> Vec<u8> {
    match handle_review(body) {
        ReviewOutcome::Response(response) => response.into_body(),
        ReviewOutcome::BadRequest(why) => panic!("bad request: {why}"),
    }
}

fn conversion(c: &mut Criterion) {
    let down = review(V1ALPHA1, batch(&v1beta1_objects(), OBJECTS));
    // Up: what converting down produced (with conversion records), plus a legacy v1alpha1 shape.
    let mut alpha = converted(&review(V1ALPHA1, v1beta1_objects()));
    let mixed = read_json("webhooks/conversion/mixed-kinds-to-v1beta1.request.json");
    alpha.extend(
        mixed["request"]["objects"]
            .as_array()
            .expect("objects")
            .iter()
            .filter(|o| o["kind"] == "VirtualMCPServer" && o["apiVersion"] == V1ALPHA1)
            .cloned(),
    );
    let up = review(V1BETA1, batch(&alpha, OBJECTS));
    let mut group = c.benchmark_group("conversion");
    group.sample_size(30);
    for (label, body) in [("v1beta1-to-v1alpha1", &down), ("v1alpha1-to-v1beta1", &up)] {
        group.throughput(Throughput::Elements(OBJECTS as u64));
        group.bench_with_input(BenchmarkId::new("vmcp-500", label), body, |b, body| b.iter(|| answer(black_box(body))));
    }
    let stored: Vec<Value> = v1beta1_objects().into_iter().map(as_stored).collect();
    let stored = review(V1ALPHA1, batch(&stored, OBJECTS));
    group.throughput(Throughput::Elements(OBJECTS as u64));
    group.bench_with_input(BenchmarkId::new("vmcp-500-as-stored", "v1beta1-to-v1alpha1"), &stored, |b, body| {
        b.iter(|| answer(black_box(body)))
    });
    for count in [50, 2000] {
        let body = review(V1ALPHA1, batch(&v1beta1_objects(), count));
        group.throughput(Throughput::Elements(count as u64));
        group.bench_with_input(BenchmarkId::new(format!("vmcp-{count}"), "v1beta1-to-v1alpha1"), &body, |b, body| {
            b.iter(|| answer(black_box(body)))
        });
    }
    group.finish();
}

criterion_group!(benches, conversion);
criterion_main!(benches);
