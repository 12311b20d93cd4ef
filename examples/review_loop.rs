//! Answers one admission review many times in a loop, for counting the handler's instructions
//! alone (`bench/handler.sh`): body bytes to response bytes, as the webhook does it, with the
//! binary's allocator and no network.
//!
//!   cargo run --release --example review_loop -- 1000 [FIXTURE] [validate|mutate]

use mcp_operator::admission::engine::Mode;
use mcp_operator::admission::review;
use mcp_operator::admission::{AdmissionKind, NoCluster, RemoteUrlPolicy};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DEFAULT_FIXTURE: &str = "webhooks/admission/mcpserverentries/create-typical.request.json";

fn main() {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().map(|n| n.parse().expect("the first argument is a count")).unwrap_or(1000);
    let fixture = args.next().unwrap_or_else(|| DEFAULT_FIXTURE.to_string());
    let mode = match args.next().as_deref() {
        None | Some("validate") => Mode::Validate,
        Some("mutate") => Mode::Mutate,
        Some(other) => panic!("mode {other:?} is not validate or mutate"),
    };
    let text = std::fs::read(&fixture).unwrap_or_else(|e| panic!("{fixture}: {e}"));
    // Compact, as the API server sends it.
    let value: serde_json::Value = serde_json::from_slice(&text).expect("the fixture is JSON");
    let body = serde_json::to_vec(&value).expect("serializes");
    let plural = value["request"]["resource"]["resource"].as_str().unwrap_or_default();
    let kind = AdmissionKind::ALL
        .into_iter()
        .find(|kind| kind.plural() == plural)
        .unwrap_or_else(|| panic!("{fixture}: request.resource.resource {plural:?} is not one of ours"));
    let policy = RemoteUrlPolicy::default();
    let mut bytes = 0;
    for _ in 0..count {
        let reviewed =
            review::handle(std::hint::black_box(&body), kind, mode, &policy, &NoCluster).expect("a well-formed review");
        bytes += review::encode(&reviewed).len();
    }
    println!("{count} reviews of {fixture}, {bytes} response bytes");
}
