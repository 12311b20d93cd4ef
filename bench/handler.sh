#!/usr/bin/env bash
# Instructions per review of the admission handler alone (no TLS, no HTTP), counted by valgrind's
# callgrind: `examples/review_loop.rs` answers the review N times, and the count of a run with no
# reviews is subtracted. Built without LTO into its own target folder, so that a change can be
# measured in a minute or two instead of a release build's ten; compare builds of the same kind.
#
#   bench/handler.sh                                   # create-typical, validate
#   bench/handler.sh webhooks/admission/virtualmcpservers/create-valid.request.json mutate
#   N=5000 bench/handler.sh
#   KEEP=1 bench/handler.sh                           # and keep the callgrind profile
#
# Needs valgrind (apt-get install valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."
FIXTURE=${1:-webhooks/admission/mcpserverentries/create-typical.request.json}
MODE=${2:-validate}
N=${N:-2000}
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
# HANDLER_TARGET_DIR: one per checkout. Two checkouts sharing one measure whichever built
# target/release/examples/review_loop last (cargo copies a binary there only when it builds it).
TARGET=${HANDLER_TARGET_DIR:-target/handler}
CARGO_TARGET_DIR=$TARGET cargo build --release --example review_loop \
    --config 'profile.release.lto=false' --config 'profile.release.codegen-units=16' \
    --config 'profile.release.debug="line-tables-only"' >&2
BIN=$TARGET/release/examples/review_loop
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
collected() { # count -> instructions of a whole run
    valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.$1" "$BIN" "$1" "$FIXTURE" "$MODE" 2>&1 >/dev/null |
        awk '/Collected :/ { print $NF }'
}
empty=$(collected 0)
full=$(collected "$N")
echo "$(( (full - empty) / N )) instructions per review ($FIXTURE, $MODE)"
if [ -n "${KEEP:-}" ]; then
    cp "$WORK/callgrind.$N" "$TARGET/callgrind.review_loop.out"
    echo "profile: $TARGET/callgrind.review_loop.out (callgrind_annotate --inclusive=yes ...)"
fi
