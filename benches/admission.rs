//! Per-review cost of admission without the network: the whole review handler (`validate`,
//! `mutate`), its JSON decode and encode shares, and the rules and defaults alone.
//!
//! `validate-loosely` and `json/parse-value` show the path through a `serde_json::Value` of the
//! whole body, which the handler took for every review before the direct path (and still takes for
//! unusual ones).
//!
//! Inputs are the `create-valid` fixtures of each kind plus `create-typical`, the ~2.5 KB
//! MCPServerEntry CREATE review the TLS load test posts (`bench/loadtest.sh`).

use std::hint::black_box;
use std::path::Path;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mcp_operator::admission::engine::{Admit, Defaults, Mode, run_checks};
use mcp_operator::admission::review::{self, Reviewed};
use mcp_operator::admission::{
    AdmissionKind, ClusterView, Context, NoCluster, Operation, RawObject, RemoteUrlPolicy, SpecText,
};
use mcp_operator::api::v1beta1::{MCPGroup, MCPRegistry, MCPServerEntry, VirtualMCPServer};
use serde_json::Value;

/// The allocator of the binary, so that the numbers are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `(label, kind, fixture)`: a typical object of each kind.
const CASES: [(&str, AdmissionKind, &str); 5] = [
    ("mcpserverentry-typical", AdmissionKind::MCPServerEntry, "mcpserverentries/create-typical"),
    ("mcpserverentry", AdmissionKind::MCPServerEntry, "mcpserverentries/create-valid"),
    ("mcpgroup", AdmissionKind::MCPGroup, "mcpgroups/create-valid"),
    ("virtualmcpserver", AdmissionKind::VirtualMCPServer, "virtualmcpservers/create-valid"),
    ("mcpregistry", AdmissionKind::MCPRegistry, "mcpregistries/create-valid"),
];

/// The fixture as the API server sends it: compact JSON.
fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("webhooks/admission").join(format!("{name}.request.json"));
    let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let value: Value = serde_json::from_slice(&text).expect("fixture is JSON");
    serde_json::to_vec(&value).expect("serializes")
}

/// What the webhook handler does between reading the body and writing the response.
fn answer(body: &[u8], kind: AdmissionKind, mode: Mode, policy: &RemoteUrlPolicy) -> Vec<u8> {
    let reviewed = review::handle(body, kind, mode, policy, &NoCluster).expect("a well-formed review");
    review::encode(&reviewed)
}

fn review_handler(c: &mut Criterion) {
    let policy = RemoteUrlPolicy::default();
    let mut group = c.benchmark_group("review");
    for (label, kind, name) in CASES {
        let body = fixture(name);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::new("validate", label), &body, |b, body| {
            b.iter(|| answer(black_box(body), kind, Mode::Validate, &policy));
        });
        // The path through a `Value` of the whole body, which unusual reviews take.
        group.bench_with_input(BenchmarkId::new("validate-loosely", label), &body, |b, body| {
            b.iter(|| {
                let reviewed = review::handle_loosely(black_box(body), kind, Mode::Validate, &policy, &NoCluster);
                review::encode(&reviewed.expect("a well-formed review"))
            });
        });
        group.bench_with_input(BenchmarkId::new("mutate", label), &body, |b, body| {
            b.iter(|| answer(black_box(body), kind, Mode::Mutate, &policy));
        });
        group.bench_with_input(BenchmarkId::new("validate+mutate", label), &body, |b, body| {
            b.iter(|| {
                (
                    answer(black_box(body), kind, Mode::Validate, &policy),
                    answer(black_box(body), kind, Mode::Mutate, &policy),
                )
            });
        });
    }
    group.finish();
}

fn json_share(c: &mut Criterion) {
    let policy = RemoteUrlPolicy::default();
    let mut group = c.benchmark_group("json");
    for (label, kind, name) in CASES {
        let body = fixture(name);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::new("decode", label), &body, |b, body| {
            b.iter(|| review::decodes(black_box(body), kind));
        });
        group.bench_with_input(BenchmarkId::new("parse-value", label), &body, |b, body| {
            b.iter(|| serde_json::from_slice::<Value>(black_box(body)).is_ok());
        });
        let reviewed: Reviewed = review::handle(&body, kind, Mode::Validate, &policy, &NoCluster).expect("review");
        group.bench_with_input(BenchmarkId::new("encode", label), &reviewed, |b, reviewed| {
            b.iter(|| review::encode(black_box(reviewed)));
        });
    }
    group.finish();
}

/// Checks and defaults on an already decoded object, with the text of its spec as the direct path
/// hands it to the rules (which look in it for legacy fields).
fn rules_for<T: Admit>(c: &mut Criterion, label: &str, name: &str, policy: &RemoteUrlPolicy) {
    let review: Value = serde_json::from_slice(&fixture(name)).expect("json");
    let raw = review["request"]["object"].clone();
    let spec_text = serde_json::to_string(&raw["spec"]).expect("spec text");
    let noted = SpecText::noted_members(&spec_text);
    let object: T = serde_json::from_value(raw).expect("typed");
    let cluster: &dyn ClusterView = &NoCluster;
    let namespace = object.namespace().unwrap_or_default();
    let name = object.name_any();
    c.bench_function(&format!("rules/validate+default/{label}"), |b| {
        b.iter(|| {
            let spec = SpecText::new(&spec_text, noted.clone());
            let ctx = Context {
                operation: Operation::Create,
                namespace: &namespace,
                name: &name,
                policy,
                cluster,
                annotations: Some(object.annotations()),
                raw: Some(RawObject::Spec(&spec)),
            };
            let findings = run_checks(black_box(&object), &ctx);
            let mut defaults = Defaults::default();
            object.defaults(&mut defaults);
            (findings, defaults)
        });
    });
}

fn rules(c: &mut Criterion) {
    let policy = RemoteUrlPolicy::default();
    rules_for::<MCPServerEntry>(c, "mcpserverentry-typical", "mcpserverentries/create-typical", &policy);
    rules_for::<MCPServerEntry>(c, "mcpserverentry", "mcpserverentries/create-valid", &policy);
    rules_for::<MCPGroup>(c, "mcpgroup", "mcpgroups/create-valid", &policy);
    rules_for::<VirtualMCPServer>(c, "virtualmcpserver", "virtualmcpservers/create-valid", &policy);
    rules_for::<MCPRegistry>(c, "mcpregistry", "mcpregistries/create-valid", &policy);
}

criterion_group!(benches, review_handler, json_share, rules);
criterion_main!(benches);
