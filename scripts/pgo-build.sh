#!/usr/bin/env bash
# Profile-guided release build of `mcp-operator`, the binary the Dockerfile ships and
# bench/loadtest.sh measures. The webhook's work per review is small and its code is spread over
# the TLS, HTTP, JSON and rule layers, so it runs with a cold instruction cache (BENCHMARKS.md);
# with a profile the compiler lays out the hot paths together and inlines by measured frequency.
#
#   1. builds an instrumented binary (-Cprofile-generate) into $CARGO_TARGET_DIR/pgo-generate;
#   2. runs it as `serve` and drives every review under webhooks/ through it over TLS with
#      keep-alive (wrk), TRAIN_SECONDS each: every kind's admission reviews, validating and
#      mutating, allowed and denied, CREATE, UPDATE, DELETE and subresources, and the conversion
#      reviews; then the admin endpoints;
#   3. merges the profile (llvm-profdata) and builds the release binary with -Cprofile-use into
#      $CARGO_TARGET_DIR/pgo-use, and prints that binary's path on stdout.
#
#   scripts/pgo-build.sh
#   TRAIN_SECONDS=3 scripts/pgo-build.sh
#   LLVM_PROFDATA=/path/to/llvm-profdata scripts/pgo-build.sh
#
# Both builds use the release profile as it is (fat LTO, one codegen unit), although the
# instrumented one would build faster without: the profile names functions by their symbols, whose
# hashes depend on the profile's settings (and local ones also by codegen unit), so a profile from a
# build without LTO matches almost none of the optimised build's functions (checked with
# `llvm-profdata show --all-functions` at stop 23: 5 names of 37,103 in common).
#
# The controllers are not exercised (they need a cluster), so the compiler treats their code as
# cold: it is still built and correct, only laid out for size.
#
# Needs wrk, curl and python3, and an llvm-profdata that reads this rustc's profiles: LLVM_PROFDATA,
# rustup's llvm-tools component, or Debian's llvm-19 or newer (wrk and llvm-19 are installed with
# apt-get when missing). Takes two release builds (about twenty minutes on two cores).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh

TRAIN_SECONDS=${TRAIN_SECONDS:-1}
HOST=$(rustc -vV | sed -n 's/^host: //p')
TARGET_ROOT=$(mkdir -p "${CARGO_TARGET_DIR:-target}" && cd "${CARGO_TARGET_DIR:-target}" && pwd)
PROFILES=$TARGET_ROOT/pgo-profiles
MERGED=$TARGET_ROOT/pgo-merged.profdata

log() { printf 'pgo-build: %s\n' "$*" >&2; }

# Candidates for llvm-profdata, the best first: as told, rustup's (matches rustc's LLVM), then the
# newest versioned one installed.
profdata_candidates() {
    [ -n "${LLVM_PROFDATA:-}" ] && echo "$LLVM_PROFDATA"
    local sysroot
    sysroot=$(rustc --print sysroot)
    [ -x "$sysroot/lib/rustlib/$HOST/bin/llvm-profdata" ] && echo "$sysroot/lib/rustlib/$HOST/bin/llvm-profdata"
    find /usr/lib -maxdepth 3 -path '/usr/lib/llvm-*/bin/llvm-profdata' 2>/dev/null | sort -t- -k2 -rn
    command -v llvm-profdata || true
}

# Merges the raw profiles with the first llvm-profdata that reads them.
merge_profiles() {
    local tool
    while IFS= read -r tool; do
        if "$tool" merge -o "$MERGED" "$PROFILES"/*.profraw 2>"$TARGET_ROOT/pgo-merge.log"; then
            log "merged with $tool"
            return 0
        fi
        log "$tool cannot read these profiles: $(head -c 300 "$TARGET_ROOT/pgo-merge.log")"
    done < <(profdata_candidates)
    return 1
}

command -v wrk >/dev/null || apt_install wrk
for tool in curl python3; do
    command -v "$tool" >/dev/null || { log "$tool is needed"; exit 1; }
done

rm -rf "$PROFILES" "$MERGED"
log "building the instrumented binary"
RUSTFLAGS="${RUSTFLAGS:-} -Cprofile-generate=$PROFILES" CARGO_TARGET_DIR=$TARGET_ROOT/pgo-generate \
    cargo build --release --locked --target "$HOST" --bin mcp-operator >&2
INSTRUMENTED=$TARGET_ROOT/pgo-generate/$HOST/release/mcp-operator

WORK=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
port=$((20000 + RANDOM % 30000))
admin=$((port + 1))
LLVM_PROFILE_FILE="$PROFILES/%p-%m.profraw" "$INSTRUMENTED" serve --cert-dir "$WORK/certs" \
    --webhook-addr "127.0.0.1:$port" --admin-addr "127.0.0.1:$admin" --bench-ceiling --drain-seconds 0 \
    >"$WORK/serve.log" 2>&1 &
PID=$!
compact_json webhooks/admission/mcpgroups/create-valid.request.json "$WORK/body.json"
wait_serving "$port" "$WORK/body.json"

log "training: every review under webhooks/, ${TRAIN_SECONDS}s each"
for fixture in webhooks/admission/*/*.request.json webhooks/conversion/*.request.json; do
    plural=$(basename "$(dirname "$fixture")")
    case $fixture in
        webhooks/conversion/*) path=/convert ;;
        */mutate-*) path=/mutate/$plural ;;
        *) path=/validate/$plural ;;
    esac
    compact_json "$fixture" "$WORK/body.json"
    read -r _ requests _ _ _ bad_status socket_errors < <(BODY_FILE=$WORK/body.json wrk -t1 -c4 -d"${TRAIN_SECONDS}s" \
        -s bench/post.lua "https://127.0.0.1:$port$path" | awk '$1 == "RESULT"') || true
    if [ "${bad_status:-1}" -ne 0 ] || [ "${socket_errors:-1}" -ne 0 ]; then
        log "$fixture: $bad_status non-2xx responses, $socket_errors socket errors"
        cat "$WORK/serve.log" >&2
        exit 1
    fi
    log "  $path $fixture: $requests reviews"
done
for path in /metrics /readyz /livez; do
    for _ in $(seq 20); do curl -s -o /dev/null "http://127.0.0.1:$admin$path" || true; done
done
kill -TERM "$PID"
wait "$PID" || true
PID=
compgen -G "$PROFILES/*.profraw" >/dev/null || { log "the instrumented server wrote no profile"; exit 1; }

if ! merge_profiles; then
    apt_install llvm-19
    merge_profiles || {
        log "no llvm-profdata here reads the profiles of $(rustc -vV | sed -n 's/^LLVM version: /LLVM /p');" \
            "set LLVM_PROFDATA to one of that version or newer (rustup component add llvm-tools)"
        exit 1
    }
fi

log "building the optimized binary"
RUSTFLAGS="${RUSTFLAGS:-} -Cprofile-use=$MERGED" CARGO_TARGET_DIR=$TARGET_ROOT/pgo-use \
    cargo build --release --locked --target "$HOST" --bin mcp-operator >&2
echo "$TARGET_ROOT/pgo-use/$HOST/release/mcp-operator"
