#!/usr/bin/env bash
# Side-by-side comparison of builds: every binary serves at once (each on its own ports, with
# `--bench-ceiling`), and each round runs wrk against the ceiling and then the webhook of each binary
# in turn, so that the machine's drifting background load falls on all of them alike. Prints the
# median req/s, ratio to that binary's own ceiling and server CPU per request.
#
#   bench/ab.sh OLD_BINARY NEW_BINARY              # 32 connections, 6 rounds of 4 s
#   CONNECTIONS=8 ROUNDS=10 DURATION=5 bench/ab.sh A B C
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
[ $# -ge 1 ] || { echo "usage: $0 BINARY..." >&2; exit 2; }
CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-4}
ROUNDS=${ROUNDS:-6}
FIXTURE=${FIXTURE:-webhooks/admission/mcpserverentries/create-typical.request.json}
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }
WORK=$(mktemp -d)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
BODY=$WORK/body.json
compact_json "$FIXTURE" "$BODY"
BINS=("$@")
HZ=$(getconf CLK_TCK)
PORTS=()
for i in "${!BINS[@]}"; do
    bin=${BINS[$i]}
    port=$((20000 + RANDOM % 30000))
    "$bin" serve --cert-dir "$WORK/certs$i" --webhook-addr "127.0.0.1:$port" \
        --admin-addr "127.0.0.1:$((port + 1))" --bench-ceiling >"$WORK/serve$i.log" 2>&1 &
    PIDS+=($!)
    PORTS+=("$port")
done
for port in "${PORTS[@]}"; do wait_serving "$port" "$BODY"; done

run() { # index path -> "req/s server_cpu_us/req"
    local pid=${PIDS[$1]} before after result
    before=$(cpu_ticks "$pid")
    result=$(BODY_FILE=$BODY wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s bench/post.lua \
        "https://127.0.0.1:${PORTS[$1]}$2" | awk '$1 == "RESULT"')
    after=$(cpu_ticks "$pid")
    read -r _ requests micros _ <<<"$result"
    awk -v n="$requests" -v us="$micros" -v t=$((after - before)) -v hz="$HZ" \
        'BEGIN { printf "%.0f %.1f\n", n / (us / 1e6), t / hz * 1e6 / n }'
}
med() { tr ' ' '\n' <<<"$1" | grep . | median; }

declare -A rps cpu
for i in "${!PIDS[@]}"; do run "$i" /validate/mcpserverentries >/dev/null; done
for _ in $(seq "$ROUNDS"); do
    for i in "${!PIDS[@]}"; do
        for path in /ceiling /validate/mcpserverentries; do
            read -r r c <<<"$(run "$i" "$path")"
            rps[$i$path]+="$r "
            cpu[$i$path]+="$c "
        done
    done
done
echo "| binary | ceiling req/s | ours req/s | ratio | server CPU µs/req (ceiling) |"
echo "| --- | ---: | ---: | ---: | ---: |"
for i in "${!PIDS[@]}"; do
    cr=$(med "${rps[$i/ceiling]}")
    or=$(med "${rps[$i/validate/mcpserverentries]}")
    awk -v b="${BINS[$i]}" -v cr="$cr" -v or="$or" -v oc="$(med "${cpu[$i/validate/mcpserverentries]}")" \
        -v cc="$(med "${cpu[$i/ceiling]}")" \
        'BEGIN { printf "| `%s` | %.0f | %.0f | %.0f %% | %.1f (%.1f) |\n", b, cr, or, 100 * or / cr, oc, cc }'
done
