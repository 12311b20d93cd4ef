#!/usr/bin/env bash
# Memory of `serve` with its controllers watching many objects, against a fake API server
# (bench/fake-apiserver.py: plain HTTP, Python standard library only, no cluster needed). Measures
# the resident set (VmRSS, and the peak VmHWM, from /proc/<pid>/status) of four runs:
#
#   1. webhooks only (`--controllers off`), idle;
#   2. controllers on against an empty cluster (OBJECTS=0): every watch open, nothing to reconcile;
#   3. controllers on against OBJECTS ToolHive objects (MCPGroup, MCPServerEntry, VirtualMCPServer,
#      MCPRegistry in NAMESPACES namespaces; every entry and VirtualMCPServer in an existing group)
#      that have never been reconciled: initial list, finalizers, statuses, children of the workload
#      kinds and events, until no controller write happened for QUIET seconds;
#   4. a restart of the same binary against the state run 3 left (statuses and children in place),
#      as after an upgrade or a leader change: it should list, find everything current and write
#      nothing.
#
# For each it reports the time from start to ready (caches synced: /readyz), to settled (the last
# controller write; Lease renewals and events do not count), the resident set a second later and its
# peak, the objects in the caches, the CPU time of serve and of the fake server, and the API calls the
# fake server saw, by kind of call. The targets are idle under 20 MiB and, with 10,000 objects
# watched, under 100 MiB. The fake server is single-process Python: on a small machine it shares the
# cores with serve, so the settle time is an upper bound of what a real API server would allow.
#
#   bench/controller-memory.sh                        # 10,000 objects, release build (built when missing)
#   BIN=/path/to/mcp-operator bench/controller-memory.sh
#   OBJECTS=2000 RESTART=0 bench/controller-memory.sh
#   MIX=groups=5,entries=90,vmcps=4,registries=1 NAMESPACES=50 bench/controller-memory.sh
#
# Knobs: OBJECTS (10000), NAMESPACES (10), MIX (shares of the kinds), QUIET (seconds without a write
# that count as settled, 3), TIMEOUT (seconds per run to get ready and settle, 240), RESTART (1: run 4),
# KEEP=1 keeps the work folder (serve and fake server logs). Needs python3 and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh

OBJECTS=${OBJECTS:-10000}
NAMESPACES=${NAMESPACES:-10}
MIX=${MIX:-groups=10,entries=80,vmcps=8,registries=2}
QUIET=${QUIET:-3}
TIMEOUT=${TIMEOUT:-240}
RESTART=${RESTART:-1}
KEEP=${KEEP:-}
# The binary measured: BIN, else target/release/mcp-operator, built with a plain
# `cargo build --release` when missing (the controllers' code is the same in the PGO build).
if [ -z "${BIN:-}" ]; then
    BIN=${CARGO_TARGET_DIR:-target}/release/mcp-operator
    [ -x "$BIN" ] || cargo build --release --locked --bin mcp-operator >&2
fi
command -v python3 >/dev/null || { echo "python3 is needed" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl is needed" >&2; exit 1; }

log() { printf '%s\n' "$*" >&2; }

WORK=$(mktemp -d)
SERVE_PID=
FAKE_PID=
cleanup() {
    [ -z "$SERVE_PID" ] || { kill -KILL "$SERVE_PID" 2>/dev/null; wait "$SERVE_PID" 2>/dev/null; }
    [ -z "$FAKE_PID" ] || { kill "$FAKE_PID" 2>/dev/null; wait "$FAKE_PID" 2>/dev/null; }
    if [ -n "$KEEP" ]; then log "logs kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ns() { date +%s%N; }
status_kib() { awk -v key="$2:" '$1 == key { print $2 }' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

start_fake() { # objects -> FAKE_PID, FAKE_PORT, KUBECONFIG (a kubeconfig for it)
    rm -f "$WORK/fake.port"
    python3 bench/fake-apiserver.py --port 0 --port-file "$WORK/fake.port" --objects "$1" \
        --namespaces "$NAMESPACES" --mix "$MIX" 2>>"$WORK/fake.log" &
    FAKE_PID=$!
    local waited=0
    until [ -s "$WORK/fake.port" ]; do
        kill -0 "$FAKE_PID" 2>/dev/null || { log "the fake API server exited:"; cat "$WORK/fake.log" >&2; exit 1; }
        sleep 0.1
        waited=$((waited + 1))
        [ "$waited" -lt 1200 ] || { log "the fake API server did not start"; exit 1; }
    done
    FAKE_PORT=$(cat "$WORK/fake.port")
    export KUBECONFIG=$WORK/kubeconfig
    cat >"$KUBECONFIG" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: http://127.0.0.1:$FAKE_PORT
users:
- name: fake
  user: {}
contexts:
- name: fake
  context: {cluster: fake, user: fake, namespace: default}
current-context: fake
EOF
}

stop_fake() {
    kill "$FAKE_PID" 2>/dev/null || true
    wait "$FAKE_PID" 2>/dev/null || true
    FAKE_PID=
}

fake_stats() { curl -sf --max-time 5 "http://127.0.0.1:$FAKE_PORT/_fake/stats"; }

start_serve() { # controllers-mode log -> SERVE_PID, START_NS, ADMIN (host:port of the admin listener)
    local log_file=$2 waited=0
    SERVE_LOG=$log_file
    : >"$log_file"
    START_NS=$(now_ns)
    "$BIN" serve --controllers "$1" --cert-mode dev --cert-dir "$WORK/certs" --webhook-addr 127.0.0.1:0 \
        --admin-addr 127.0.0.1:0 --identity controller-memory-bench --drain-seconds 0 >"$log_file" 2>&1 &
    SERVE_PID=$!
    ADMIN=
    until [ -n "$ADMIN" ]; do
        kill -0 "$SERVE_PID" 2>/dev/null || { log "serve exited:"; cat "$log_file" >&2; exit 1; }
        ADMIN=$(grep -o 'admin=http://[0-9.:]*' "$log_file" | head -n1 | cut -d/ -f3 || true)
        sleep 0.02
        waited=$((waited + 1))
        [ "$waited" -lt 1500 ] || { log "serve did not start listening"; cat "$log_file" >&2; exit 1; }
    done
}

stop_serve() { # SIGTERM (drain 0 s), SIGKILL after 10 s; then counts the warnings of its log
    kill "$SERVE_PID" 2>/dev/null || true
    local waited=0 warnings
    while kill -0 "$SERVE_PID" 2>/dev/null && [ "$waited" -lt 100 ]; do sleep 0.1; waited=$((waited + 1)); done
    kill -KILL "$SERVE_PID" 2>/dev/null || true
    wait "$SERVE_PID" 2>/dev/null || true
    SERVE_PID=
    warnings=$(grep -cE ' (WARN|ERROR) ' "$SERVE_LOG" || true)
    WARNINGS=$((WARNINGS + warnings))
    if [ "$warnings" -gt 0 ]; then
        log "  $warnings warnings/errors in the serve log (shutdown included), the first ones:"
        grep -E ' (WARN|ERROR) ' "$SERVE_LOG" | head -n 5 | cut -c1-300 | sed 's/^/    /' >&2
    fi
}
WARNINGS=0

elapsed_ms() { awk -v ns=$(($(now_ns) - START_NS)) 'BEGIN { printf "%.0f", ns / 1e6 }'; }

wait_ready() { # -> READY_MS: start to /readyz answering 200
    local deadline=$(($(now_ns) + TIMEOUT * 1000000000))
    until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$ADMIN/readyz")" = 200 ]; do
        kill -0 "$SERVE_PID" 2>/dev/null || { log "serve exited"; exit 1; }
        [ "$(now_ns)" -lt "$deadline" ] || { log "not ready after ${TIMEOUT}s"; exit 1; }
        sleep 0.05
    done
    READY_MS=$(elapsed_ms)
}

metric_sum() { # metrics-text name -> sum of the series of that name
    awk -v name="$2" '$1 == name || index($1, name "{") == 1 { s += $NF } END { print s + 0 }' <<<"$1"
}

wait_settled() { # baseline-writes -> SETTLED_MS (start to the last controller write), SETTLED (yes/no)
    local base=$1 deadline=$(($(now_ns) + TIMEOUT * 1000000000)) leading_since= metrics stats
    SETTLED=no
    while [ "$(now_ns)" -lt "$deadline" ]; do
        kill -0 "$SERVE_PID" 2>/dev/null || { log "serve exited"; exit 1; }
        metrics=$(curl -s --max-time 2 "http://$ADMIN/metrics" || true)
        if [ "$(metric_sum "$metrics" mcp_operator_leader)" = 1 ] && [ -z "$leading_since" ]; then
            leading_since=$(now_ns)
        fi
        if [ -n "$leading_since" ] && [ "$(metric_sum "$metrics" mcp_operator_reconcile_queue_depth)" = 0 ]; then
            # "writes since the baseline, seconds since the last write (none: -1)"
            read -r writes age <<<"$(fake_stats | python3 -c 'import json, sys
s = json.load(sys.stdin)
age = s["last_write_age_s"]
print(s["writes"], -1 if age is None else age)')"
            local quiet_ms=$(( ($(now_ns) - leading_since) / 1000000 ))
            if [ "$writes" -gt "$base" ] && awk -v a="$age" -v q="$QUIET" 'BEGIN { exit !(a >= q) }'; then
                SETTLED=yes
                SETTLED_MS=$(awk -v e="$(elapsed_ms)" -v a="$age" 'BEGIN { printf "%.0f", e - a * 1000 }')
                return
            elif [ "$writes" -eq "$base" ] && [ "$quiet_ms" -ge $((QUIET * 1000)) ]; then
                SETTLED=yes
                SETTLED_MS=$READY_MS # nothing to write
                return
            fi
        fi
        sleep 0.25
    done
    SETTLED_MS=$(elapsed_ms)
    log "not settled after ${TIMEOUT}s: controllers still writing"
}

# stats-before.json stats-after.json metrics-text -> "lists watches discovery gets finalizers status children events lease total unknown cached"
call_counts() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
before, after = (json.load(open(p)) for p in sys.argv[1:3])
def counts(s):
    out = {}
    for verb, per in s["calls"].items():
        for plural, n in per.items():
            out[(verb, plural)] = n
    return out
b, a = counts(before), counts(after)
delta = {k: n - b.get(k, 0) for k, n in a.items() if n - b.get(k, 0)}
groups = dict.fromkeys(["lists", "watches", "discovery", "gets", "finalizers", "status", "children", "events", "lease"], 0)
for (verb, plural), n in delta.items():
    if plural == "leases":
        key = "lease"
    elif plural == "events":
        key = "events"
    elif verb == "list":
        key = "lists"
    elif verb == "watch":
        key = "watches"
    elif verb == "discovery":
        key = "discovery"
    elif verb.startswith("get"):
        key = "gets"
    elif verb == "json-patch":
        key = "finalizers"
    elif verb.endswith("-status"):
        key = "status"
    else:
        key = "children"
    groups[key] += n
unknown = sum(after["unknown"].values()) - sum(before["unknown"].values())
print(*groups.values(), sum(delta.values()), unknown)
EOF
}

# label controllers-mode objects -> one row of the results, and the per-verb detail in $WORK/detail
ROWS=()
measure() {
    local label=$1 mode=$2 objects=$3 log_file="$WORK/serve-$((${#ROWS[@]} + 1)).log" before=$WORK/before.json
    local base_writes=0 fake_ticks=0
    if [ "$mode" = on ]; then
        fake_ticks=$(cpu_ticks "$FAKE_PID")
        fake_stats >"$before"
        base_writes=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["writes"])' "$before")
    fi
    log "== $label: $BIN serve --controllers $mode${FAKE_PORT:+ (fake API server on :$FAKE_PORT)}"
    start_serve "$mode" "$log_file"
    wait_ready
    local ready_rss
    ready_rss=$(status_kib "$SERVE_PID" VmRSS)
    if [ "$mode" = on ]; then
        wait_settled "$base_writes"
        sleep 1 # let freed memory settle into the allocator's steady state
    else
        SETTLED=yes
        SETTLED_MS=$READY_MS
        sleep 1
    fi
    local rss hwm metrics cached calls
    rss=$(status_kib "$SERVE_PID" VmRSS)
    hwm=$(status_kib "$SERVE_PID" VmHWM)
    local cpu fake_cpu=-
    cpu=$(awk -v t="$(cpu_ticks "$SERVE_PID")" -v hz="$HZ" 'BEGIN { printf "%.1f", t / hz }')
    [ "$mode" != on ] || fake_cpu=$(awk -v t=$(($(cpu_ticks "$FAKE_PID") - fake_ticks)) -v hz="$HZ" 'BEGIN { printf "%.1f", t / hz }')
    metrics=$(curl -s --max-time 2 "http://$ADMIN/metrics" || true)
    cached=$(metric_sum "$metrics" mcp_operator_cached_objects)
    local reconciles errors
    reconciles=$(metric_sum "$metrics" mcp_operator_reconciles_total)
    errors=$(metric_sum "$metrics" mcp_operator_reconcile_errors_total)
    if [ "$mode" = on ]; then
        fake_stats >"$WORK/after.json"
        calls=$(call_counts "$before" "$WORK/after.json")
        python3 - "$before" "$WORK/after.json" "$label" >>"$WORK/detail" <<'EOF'
import json, sys
before, after = (json.load(open(p)) for p in sys.argv[1:3])
rows = []
for verb, per in sorted(after["calls"].items()):
    for plural, n in sorted(per.items()):
        n -= before["calls"].get(verb, {}).get(plural, 0)
        if n:
            rows.append(f"{verb} {plural} {n}")
print(f"{sys.argv[3]}: " + ", ".join(rows))
EOF
    else
        calls="- - - - - - - - - - -"
    fi
    log "  ready $READY_MS ms, settled $SETTLED_MS ms ($SETTLED), VmRSS at ready $(mib "$ready_rss") MiB," \
        "settled $(mib "$rss") MiB, VmHWM $(mib "$hwm") MiB, $cached cached, $reconciles reconciles ($errors failed)," \
        "CPU: serve $cpu s, fake API server $fake_cpu s"
    read -r lists watches discovery gets finalizers status children events lease total unknown <<<"$calls"
    ROWS+=("$(printf '| %s | %s | %s | %s | %s%s | %s | %s | %s / %s | %s | %s | %s / %s / %s / %s / %s | %s / %s / %s | %s | %s |' \
        "$label" "$objects" "$cached" "$READY_MS" "$SETTLED_MS" "$([ "$SETTLED" = yes ] || echo ' (not settled)')" \
        "$(mib "$rss")" "$(mib "$hwm")" "$cpu" "$fake_cpu" "$reconciles" "$total" "$lists" "$watches" "$discovery" "$gets" "$lease" \
        "$finalizers" "$status" "$children" "$events" "$unknown")")
}

HZ=$(getconf CLK_TCK)
log "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); binary $BIN"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

FAKE_PORT=
measure "webhooks only (controllers off)" off 0
stop_serve

start_fake 0
measure "controllers on, empty cluster" on 0
stop_serve
stop_fake

start_fake "$OBJECTS"
log "fake API server: $(tail -n1 "$WORK/fake.log")"
measure "controllers on, $OBJECTS new objects" on "$OBJECTS"
if [ "$RESTART" = 1 ]; then
    stop_serve
    measure "restart on the settled state" on "$OBJECTS"
fi
stop_serve
OBJECTS_AFTER=$(fake_stats | python3 -c 'import json, sys; print(", ".join(f"{k} {v}" for k, v in json.load(sys.stdin)["objects"].items()))')
stop_fake

echo
echo "| run | objects | cached | ready ms | settled ms | VmRSS MiB | VmHWM MiB | CPU s serve / fake | reconciles | API calls | list / watch / discovery / get / lease | finalizer / status / children | events | unknown |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: |"
printf '%s\n' "${ROWS[@]}"
echo
echo "Objects ($MIX of $OBJECTS in $NAMESPACES namespaces) at the end, children included: $OBJECTS_AFTER."
echo "VmRSS after settling (+1 s), VmHWM the peak since start; ready: start to /readyz 200 (caches synced);"
echo "settled: start to the last controller write, none for ${QUIET}s after it; CPU: of serve since its start and of the fake"
echo "API server during the run (when the fake's CPU nears the settle time, it is what paces the controllers)."
echo "Targets: idle under 20 MiB; with 10,000 objects watched under 100 MiB."
echo "Load average before / after: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg)."
[ ! -s "$WORK/detail" ] || { echo; echo "Calls by verb and resource:"; echo; sed 's/^/- /' "$WORK/detail"; }
if [ "$WARNINGS" -gt 0 ]; then
    echo
    echo "$WARNINGS warnings or errors in the serve logs (the first ones above; KEEP=1 keeps the logs)."
fi
