//! Replays the fuzz corpora (`fuzz/corpus/`) through the handlers on stable Rust, plus mutations
//! of every fixture: the handlers answer every input with a review or a 400 and never panic.

use std::fs;

use mcp_operator::admission::engine::{AdmissionKind, Mode};
use mcp_operator::admission::review::handle;
use mcp_operator::admission::{NoCluster, RemoteUrlPolicy};
use mcp_operator::conversion::{ReviewOutcome, handle_review};

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = fs::read_dir(format!("fuzz/corpus/{target}"))
        .map(|dir| dir.flatten().filter_map(|e| fs::read(e.path()).ok()).collect())
        .unwrap_or_default();
    assert!(!out.is_empty(), "corpus {target} is empty");
    out.sort();
    out
}

fn admit_everywhere(input: &[u8]) {
    let policy = RemoteUrlPolicy::default();
    for kind in AdmissionKind::ALL {
        for mode in [Mode::Validate, Mode::Mutate] {
            if let Ok(reviewed) = handle(input, kind, mode, &policy, &NoCluster) {
                assert!(reviewed.response()["response"]["uid"].is_string(), "a review always echoes a uid");
            }
        }
    }
}

/// Cheap deterministic mutations: truncations, byte flips, and every JSON value swapped for others.
fn mutations(input: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for cut in [1, input.len() / 3, input.len() / 2, input.len().saturating_sub(2)] {
        out.push(input[..cut.min(input.len())].to_vec());
    }
    for step in [7usize, 31, 101] {
        let mut flipped = input.to_vec();
        for i in (0..flipped.len()).step_by(step) {
            flipped[i] = flipped[i].rotate_left(3);
        }
        out.push(flipped);
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(input) {
        for replacement in [
            serde_json::json!(null),
            serde_json::json!(-1),
            serde_json::json!("x"),
            serde_json::json!([{}]),
            serde_json::json!({"a": []}),
        ] {
            let mut count = 0;
            swap_values(&value, &replacement, &mut count, &mut out);
        }
    }
    out
}

/// One copy of `root` per node, with that node replaced (bounded to keep the test fast).
fn swap_values(root: &serde_json::Value, replacement: &serde_json::Value, count: &mut usize, out: &mut Vec<Vec<u8>>) {
    fn paths(v: &serde_json::Value, at: String, acc: &mut Vec<String>) {
        acc.push(at.clone());
        match v {
            serde_json::Value::Object(m) => {
                m.iter().for_each(|(k, c)| paths(c, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), acc))
            }
            serde_json::Value::Array(a) => a.iter().enumerate().for_each(|(i, c)| paths(c, format!("{at}/{i}"), acc)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    paths(root, String::new(), &mut all);
    for path in all.into_iter().skip(1).step_by(3).take(60) {
        let mut copy = root.clone();
        if let Some(node) = copy.pointer_mut(&path) {
            *node = replacement.clone();
            *count += 1;
            out.push(serde_json::to_vec(&copy).unwrap_or_default());
        }
    }
}

#[test]
fn admission_handles_the_corpus_and_its_mutations() {
    for input in corpus("admission_review") {
        admit_everywhere(&input);
        for mutated in mutations(&input) {
            admit_everywhere(&mutated);
        }
    }
}

#[test]
fn conversion_handles_the_corpus_and_its_mutations() {
    for input in corpus("conversion_review") {
        for candidate in std::iter::once(input.clone()).chain(mutations(&input)) {
            match handle_review(&candidate) {
                ReviewOutcome::Response(response) => assert!(!response.body().is_empty()),
                ReviewOutcome::BadRequest(why) => assert!(!why.is_empty()),
            }
        }
    }
}
