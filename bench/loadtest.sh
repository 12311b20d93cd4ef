#!/usr/bin/env bash
# TLS load test of the admission webhook against the ceiling: a fixed-response handler on the same
# server stack (`serve --bench-ceiling` adds POST /ceiling). Builds the release binary as shipped
# (profile-guided, see below), starts it with a temporary certificate folder on free ports, and
# drives both endpoints over HTTPS with HTTP/1.1 keep-alive, interleaved (ceiling, ours, ceiling,
# ours, …); medians are reported.
#
#   bench/loadtest.sh                      # defaults below
#   CONNECTIONS="32" ROUNDS=5 bench/loadtest.sh
#   PIN=1 bench/loadtest.sh                # server on CPU 0 (one worker), generators on CPU 1
#
# Tools: wrk (closed-loop peak throughput and latency) and oha (fixed-rate latency); both are
# installed when missing (apt-get install wrk, cargo install oha).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh

CONNECTIONS=${CONNECTIONS:-"1 8 32 64"}
DURATION=${DURATION:-10}                 # seconds per measured run
WARMUP=${WARMUP:-2}                      # seconds of warm-up per endpoint
ROUNDS=${ROUNDS:-3}                      # ceiling/ours pairs per connection count
RATE_CONNECTIONS=${RATE_CONNECTIONS:-32} # connections of the fixed-rate run
RATE_FRACTION=${RATE_FRACTION:-0.8}      # fixed rate as a fraction of our peak at RATE_CONNECTIONS
STARTS=${STARTS:-5}                      # start-to-serving measurements (fresh certificates each)
FIXTURE=${FIXTURE:-webhooks/admission/mcpserverentries/create-typical.request.json}
# The binary measured is the one the Dockerfile ships, built by scripts/pgo-build.sh (profile-guided,
# about twenty minutes); PGO=0 measures a plain `cargo build --release` instead, and
# BIN=path/to/mcp-operator a given binary.
PGO=${PGO:-1}
# PIN=1 keeps the server and the load generator off each other's core (taskset), so the ratio is
# that of the server's own CPU per request rather than of two programs sharing the cores.
PIN=${PIN:-}
SERVER_CPU=()
GENERATOR_CPU=()
SERVER_FLAGS=()
if [ -n "$PIN" ]; then
    SERVER_CPU=(taskset -c 0)
    GENERATOR_CPU=(taskset -c 1)
    SERVER_FLAGS=(--webhook-workers 1)
fi
OURS=/validate/mcpserverentries
CEILING=/ceiling

log() { printf '%s\n' "$*" >&2; }

install_tools() {
    command -v wrk >/dev/null || apt_install wrk
    if ! command -v oha >/dev/null; then
        log "installing oha (cargo install oha --locked)"
        cargo install oha --locked >/dev/null
    fi
    command -v python3 >/dev/null || { log "python3 is needed to read oha's JSON report"; exit 1; }
}

free_port() {
    local port
    while :; do
        port=$((20000 + RANDOM % 30000))
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
    done
}


status_kib() { awk -v key="$2:" '$1 == key { print $2 }' "/proc/$1/status"; }

post_once() { # path -> HTTP status of one POST of the body
    curl -sk --max-time 1 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary "@$BODY" "https://127.0.0.1:$WEBHOOK_PORT$1" 2>/dev/null || true
}

start_server() { # starts serve with fresh certificates; sets PID and START_MS (start to first 200)
    rm -rf "$WORK/certs"
    local begin end
    begin=$(date +%s%N)
    "${SERVER_CPU[@]}" "$BIN" serve --cert-dir "$WORK/certs" --webhook-addr "127.0.0.1:$WEBHOOK_PORT" \
        --admin-addr "127.0.0.1:$ADMIN_PORT" --bench-ceiling "${SERVER_FLAGS[@]}" >>"$WORK/serve.log" 2>&1 &
    PID=$!
    until [ "$(post_once "$OURS")" = 200 ]; do
        kill -0 "$PID" 2>/dev/null || { log "serve exited:"; cat "$WORK/serve.log" >&2; exit 1; }
        if [ $(($(date +%s%N) - begin)) -gt 10000000000 ]; then log "serve not serving after 10 s"; exit 1; fi
    done
    end=$(date +%s%N)
    START_MS=$(awk -v ns=$((end - begin)) 'BEGIN { printf "%.1f", ns / 1e6 }')
}

stop_server() {
    kill "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
}

run_wrk() { # path connections seconds -> "req/s p50_ms p99_ms server_cpu_us/req wrk_cpu_us/req"
    local path=$1 connections=$2 seconds=$3 threads=2 before after result wrk_cpu
    [ "$connections" -ge 2 ] && [ -z "$PIN" ] || threads=1
    before=$(cpu_ticks "$PID")
    result=$( { TIMEFORMAT='WRKCPU %U %S'; time BODY_FILE=$BODY "${GENERATOR_CPU[@]}" wrk -t"$threads" -c"$connections" \
        -d"${seconds}s" -s bench/post.lua "https://127.0.0.1:$WEBHOOK_PORT$path"; } 2>&1 |
        awk '$1 == "RESULT" || $1 == "WRKCPU"' | sort | tr '\n' ' ')
    after=$(cpu_ticks "$PID")
    read -r _ requests micros p50 p99 bad_status socket_errors _ wrk_user wrk_sys <<<"$result"
    if [ "$bad_status" -ne 0 ] || [ "$socket_errors" -ne 0 ]; then
        log "$path c=$connections: $bad_status non-2xx responses, $socket_errors socket errors"
    fi
    awk -v n="$requests" -v us="$micros" -v p50="$p50" -v p99="$p99" -v ticks=$((after - before)) -v hz="$HZ" \
        -v wrk="$wrk_user + $wrk_sys" 'BEGIN { split(wrk, w, " \\+ "); printf "%.0f %.3f %.3f %.1f %.1f\n",
        n / (us / 1e6), p50 / 1e3, p99 / 1e3, ticks / hz * 1e6 / n, (w[1] + w[2]) * 1e6 / n }'
}

run_oha() { # path connections seconds [rate [corrected]] -> "achieved_req/s p50_ms p99_ms"; no rate: closed loop
    local rate=()
    [ -z "${4:-}" ] || rate=(-q "$4")
    [ -z "${5:-}" ] || rate+=(--latency-correction)
    "${GENERATOR_CPU[@]}" oha --no-tui --output-format json -z "${3}s" -c "$2" "${rate[@]}" --insecure \
        --http-version 1.1 -m POST -T application/json -D "$BODY" "https://127.0.0.1:$WEBHOOK_PORT$1" 2>/dev/null |
        python3 -c 'import json, sys
r = json.load(sys.stdin)
p = r["latencyPercentiles"]
print("%.0f %.3f %.3f" % (r["summary"]["requestsPerSec"], p["p50"] * 1e3, p["p99"] * 1e3))'
}

install_tools
if [ -z "${BIN:-}" ] && [ "$PGO" = 1 ]; then
    BIN=$(scripts/pgo-build.sh)
elif [ -z "${BIN:-}" ]; then
    cargo build --release --locked --bin mcp-operator >&2
    BIN=${CARGO_TARGET_DIR:-target}/release/mcp-operator
fi
HZ=$(getconf CLK_TCK)
WORK=$(mktemp -d)
trap 'stop_server 2>/dev/null; rm -rf "$WORK"' EXIT
BODY=$WORK/body.json
compact_json "$FIXTURE" "$BODY"
WEBHOOK_PORT=$(free_port)
ADMIN_PORT=$(free_port)
PID=

LOAD_BEFORE=$(cut -d" " -f1-3 /proc/loadavg)
log "machine: $(nproc) cores${PIN:+ (pinned: server CPU 0, generator CPU 1)}, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
log "body: $(wc -c <"$BODY") bytes from $FIXTURE; ${DURATION}s per run, $ROUNDS rounds"

starts=()
for _ in $(seq "$STARTS"); do
    start_server
    starts+=("$START_MS")
    stop_server
done

start_server
sleep 1
IDLE_KIB=$(status_kib "$PID" VmRSS)
expected=$(curl -sk -H 'Content-Type: application/json' --data-binary "@$BODY" "https://127.0.0.1:$WEBHOOK_PORT$OURS")
case $expected in *'"allowed":true'*) ;; *) log "the fixture is not allowed: $expected"; exit 1 ;; esac

declare -A samples
for connections in $CONNECTIONS; do
    run_wrk "$CEILING" "$connections" "$WARMUP" >/dev/null
    run_wrk "$OURS" "$connections" "$WARMUP" >/dev/null
    for round in $(seq "$ROUNDS"); do
        for endpoint in "$CEILING" "$OURS"; do
            read -r rps p50 p99 cpu wrk_cpu <<<"$(run_wrk "$endpoint" "$connections" "$DURATION")"
            log "  c=$connections round $round $endpoint: $rps req/s, p50 $p50 ms, p99 $p99 ms," \
                "$cpu µs server CPU/req, $wrk_cpu µs wrk CPU/req"
            key="$endpoint $connections"
            samples[$key rps]+="$rps "
            samples[$key p50]+="$p50 "
            samples[$key p99]+="$p99 "
            samples[$key cpu]+="$cpu "
            samples[$key wrk]+="$wrk_cpu "
        done
    done
done

med() { tr ' ' '\n' <<<"${samples[$1]}" | grep . | median; }

echo
echo "| endpoint | connections | req/s | p50 ms | p99 ms | server CPU µs/req | wrk CPU µs/req | req/s vs ceiling | server CPU vs ceiling |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for connections in $CONNECTIONS; do
    c_rps=$(med "$CEILING $connections rps")
    c_cpu=$(med "$CEILING $connections cpu")
    for endpoint in "$CEILING" "$OURS"; do
        rps=$(med "$endpoint $connections rps")
        cpu=$(med "$endpoint $connections cpu")
        awk -v e="$endpoint" -v c="$connections" -v r="$rps" -v p50="$(med "$endpoint $connections p50")" \
            -v p99="$(med "$endpoint $connections p99")" -v cpu="$cpu" -v cr="$c_rps" -v cc="$c_cpu" \
            -v wrk="$(med "$endpoint $connections wrk")" 'BEGIN { printf "| `%s` | %d | %.0f | %.2f | %.2f | %.1f | %.1f | %.0f %% | %.2f× |\n",
            e, c, r, p50, p99, cpu, wrk, 100 * r / cr, cpu / cc }'
    done
done

# oha costs more CPU per request than wrk, so the peak it is a fraction of is oha's own.
peaks=()
for _ in $(seq "$ROUNDS"); do
    read -r rps _ <<<"$(run_oha "$OURS" "$RATE_CONNECTIONS" "$DURATION")"
    log "  oha closed loop $OURS: $rps req/s"
    peaks+=("$rps")
done
peak=$(printf '%s\n' "${peaks[@]}" | median)
if [ "$peak" != nan ]; then
    rate=$(awk -v p="$peak" -v f="$RATE_FRACTION" 'BEGIN { printf "%d", p * f }')
    echo
    echo "Fixed rate $rate req/s ($RATE_FRACTION × our peak of $peak req/s with oha at $RATE_CONNECTIONS connections), medians of $ROUNDS;"
    echo "latency-corrected (from each request's scheduled send time, so the generator's own stalls count too) and as measured:"
    echo
    echo "| endpoint | req/s | p50 ms | p99 ms corrected | p50 ms measured | p99 ms measured |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    declare -A fixed
    for _ in $(seq "$ROUNDS"); do
        for endpoint in "$CEILING" "$OURS"; do
            read -r rps p50 p99 <<<"$(run_oha "$endpoint" "$RATE_CONNECTIONS" "$DURATION" "$rate" corrected)"
            log "  fixed rate $endpoint, corrected: $rps req/s, p50 $p50 ms, p99 $p99 ms"
            fixed[$endpoint rps]+="$rps "
            fixed[$endpoint p50]+="$p50 "
            fixed[$endpoint p99]+="$p99 "
            read -r rps p50 p99 <<<"$(run_oha "$endpoint" "$RATE_CONNECTIONS" "$DURATION" "$rate")"
            log "  fixed rate $endpoint, measured: $rps req/s, p50 $p50 ms, p99 $p99 ms"
            fixed[$endpoint p50m]+="$p50 "
            fixed[$endpoint p99m]+="$p99 "
        done
    done
    for endpoint in "$CEILING" "$OURS"; do
        med_fixed() { tr ' ' '\n' <<<"${fixed[$endpoint $1]}" | grep . | median; }
        printf '| `%s` | %s | %s | %s | %s | %s |\n' "$endpoint" "$(med_fixed rps)" "$(med_fixed p50)" \
            "$(med_fixed p99)" "$(med_fixed p50m)" "$(med_fixed p99m)"
    done
fi

PEAK_KIB=$(status_kib "$PID" VmHWM)
echo
echo "| measure | value |"
echo "| --- | ---: |"
echo "| start to serving (fresh certificates, median of $STARTS) | $(printf '%s\n' "${starts[@]}" | median) ms |"
awk -v k="$IDLE_KIB" 'BEGIN { printf "| idle RSS (VmRSS 1 s after start) | %.1f MiB |\n", k / 1024 }'
awk -v k="$PEAK_KIB" 'BEGIN { printf "| peak RSS (VmHWM after the load) | %.1f MiB |\n", k / 1024 }'
echo "| load average before / after | $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg) |"
