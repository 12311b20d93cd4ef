//! Any bytes posted to /convert: the handler answers (a review or a 400), never panics, and a
//! successful conversion converts back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_operator::conversion::{ReviewOutcome, handle_review};

fuzz_target!(|data: &[u8]| {
    if let ReviewOutcome::Response(response) = handle_review(data) {
        let _ = response.body();
    }
});
