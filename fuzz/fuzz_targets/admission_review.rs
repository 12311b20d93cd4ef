//! Any bytes posted to any admission endpoint: the handler answers (a review or a 400), never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_operator::admission::engine::{AdmissionKind, Mode};
use mcp_operator::admission::review::handle;
use mcp_operator::admission::{NoCluster, RemoteUrlPolicy};

fuzz_target!(|data: &[u8]| {
    let policy = RemoteUrlPolicy::default();
    for kind in AdmissionKind::ALL {
        for mode in [Mode::Validate, Mode::Mutate] {
            let _ = handle(data, kind, mode, &policy, &NoCluster);
        }
    }
});
