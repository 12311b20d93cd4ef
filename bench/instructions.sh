#!/usr/bin/env bash
# Instructions per request, counted by valgrind's callgrind: a measure of the server's own work that
# does not move with the machine's load, for comparing builds on a noisy machine. Each binary serves
# (one worker) under callgrind with instrumentation off; after a warm-up, instrumentation is turned
# on for a fixed-length wrk run at low concurrency against the ceiling and then the webhook, and the
# instructions of that window are divided by the requests wrk completed in it.
#
#   bench/instructions.sh BINARY...              # prints one table row per binary
#   DURATION=8 CONNECTIONS=4 bench/instructions.sh A B
#   I1=32768,8,64 bench/instructions.sh A B      # also simulated L1i misses per request (size,ways,line)
#
# Needs valgrind (apt-get install valgrind) and wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
[ $# -ge 1 ] || { echo "usage: $0 BINARY..." >&2; exit 2; }
DURATION=${DURATION:-8}
CONNECTIONS=${CONNECTIONS:-4}
FIXTURE=${FIXTURE:-webhooks/admission/mcpserverentries/create-typical.request.json}
for tool in valgrind callgrind_control callgrind_annotate wrk; do
    command -v "$tool" >/dev/null || { echo "$tool is needed (apt-get install valgrind wrk)" >&2; exit 1; }
done
WORK=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
BODY=$WORK/body.json
compact_json "$FIXTURE" "$BODY"

load() { # port path seconds -> requests completed
    BODY_FILE=$BODY wrk -t1 -c"$CONNECTIONS" -d"${3}s" -s bench/post.lua "https://127.0.0.1:$1$2" |
        awk '$1 == "RESULT" { print $2 }'
}

count() { # binary path -> instructions per request
    local port=$((20000 + RANDOM % 30000)) out=$WORK/callgrind.out requests total
    rm -f "$out"*
    valgrind --tool=callgrind "${CACHE_SIM[@]}" --instr-atstart=no --callgrind-out-file="$out" "$1" serve --webhook-workers 1 \
        --cert-dir "$WORK/certs" --webhook-addr "127.0.0.1:$port" --admin-addr "127.0.0.1:$((port + 1))" \
        --bench-ceiling >"$WORK/serve.log" 2>&1 &
    PID=$!
    wait_serving "$port" "$BODY" 0.5
    load "$port" "$2" 3 >/dev/null
    callgrind_control -i on "$PID" >/dev/null 2>&1
    requests=$(load "$port" "$2" "$DURATION")
    callgrind_control -i off "$PID" >/dev/null 2>&1
    callgrind_control -d "$PID" >/dev/null 2>&1
    kill "$PID"
    wait "$PID" 2>/dev/null || true
    PID=
    # Instructions and, with I1 set, L1i misses (the I1mr event) of the window, per request.
    callgrind_annotate --show-percs=no "$out".1 2>/dev/null | awk -v n="$requests" '
        /^Events shown/ { for (i = 3; i <= NF; i++) if ($i == "I1mr") m = i - 2 }
        /PROGRAM TOTALS/ { gsub(",", ""); printf "%.0f %.0f\n", $1 / n, m ? $m / n : 0; exit }'
}

CACHE_SIM=()
[ -n "${I1:-}" ] && CACHE_SIM=(--cache-sim=yes "--I1=$I1")
echo "| binary | ceiling instructions/req | webhook instructions/req | webhook − ceiling | ratio |${I1:+ L1i misses/req ceiling | webhook |}"
echo "| --- | ---: | ---: | ---: | ---: |${I1:+ ---: | ---: |}"
for bin in "$@"; do
    read -r ceiling ceiling_misses < <(count "$bin" /ceiling)
    read -r ours ours_misses < <(count "$bin" /validate/mcpserverentries)
    misses=${I1:+ $ceiling_misses | $ours_misses |}
    awk -v b="$bin" -v c="$ceiling" -v o="$ours" -v m="$misses" \
        'BEGIN { printf "| `%s` | %.1fk | %.1fk | %.1fk | %.2f× |%s\n", b, c / 1e3, o / 1e3, (o - c) / 1e3, o / c, m }'
done
