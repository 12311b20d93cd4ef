# Helpers shared by the bench/ scripts (sourced, not run).

# numbers, one per line -> their median ("nan" for none)
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# pid -> user + system CPU ticks the process has used
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# fixture out: the JSON of fixture, compacted as the API server sends it
compact_json() {
    python3 -c 'import json, sys; sys.stdout.write(json.dumps(json.load(open(sys.argv[1])), separators=(",", ":")))' \
        "$1" >"$2"
}

# port body [interval] -> returns once https://127.0.0.1:port/ceiling answers a POST of body
wait_serving() {
    until curl -sk -o /dev/null -H 'Content-Type: application/json' --data-binary "@$2" \
        "https://127.0.0.1:$1/ceiling"; do sleep "${3:-0.05}"; done
}

# packages... -> installs them with apt-get (with sudo unless root), updating the lists if needed
apt_install() {
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    printf 'installing %s\n' "$*" >&2
    $sudo apt-get install -y "$@" >/dev/null 2>&1 || { $sudo apt-get update -qq && $sudo apt-get install -y "$@" >/dev/null; }
}
