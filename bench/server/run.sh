#!/usr/bin/env bash
# bench/server/run.sh - the example HTTP server under wrk, first quiet, then
# while its handler is saved RATE times a second (bench/server/harness.c
# alternates two valid versions, so every save is a real reload).  Builds
# nothing: build first (cmake --build build), then from the repository root:
#
#   bench/server/run.sh [BUILD_DIR]
#
# Environment (defaults): DURATION=10 (seconds per run), WRK_THREADS=2,
# CONNS=50, RATE=100 (saves per second), SERVER_THREADS=2, WARMUP=2,
# DEBOUNCE=0 (the server's --debounce: 0 sends every finished save to the
# compiler; the engine's default of 10 ms would merge saves 10 ms apart),
# URL_PATH=/hello?name=bench, SERVER_CPUS and WRK_CPUS (taskset CPU lists;
# empty: not pinned), REPEAT=1 (quiet/storm pairs, interleaved, against one
# server; each pair gives its own p99 ratio, and the median is printed).
set -euo pipefail

build=${1:-build}
DURATION=${DURATION:-10}
WRK_THREADS=${WRK_THREADS:-2}
CONNS=${CONNS:-50}
RATE=${RATE:-100}
SERVER_THREADS=${SERVER_THREADS:-2}
DEBOUNCE=${DEBOUNCE:-0}
REPEAT=${REPEAT:-1}
WARMUP=${WARMUP:-2}
URL_PATH=${URL_PATH:-/hello?name=bench}
SERVER_CPUS=${SERVER_CPUS:-}
WRK_CPUS=${WRK_CPUS:-}

server=$build/examples/server/server
saver=$build/bench_server
for f in "$server" "$saver"; do
    [[ -x $f ]] || { echo "run.sh: $f is not built (cmake --build $build)" >&2; exit 2; }
done
command -v wrk >/dev/null || { echo "run.sh: wrk is not installed (apt-get install wrk)" >&2; exit 2; }

pin() { # pin CPUS CMD...: run CMD on CPUS, or unpinned when CPUS is empty
    local cpus=$1
    shift
    if [[ -n $cpus ]]; then taskset -c "$cpus" "$@"; else "$@"; fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fsrs-bench-server.XXXXXX")
server_pid=
cleanup() {
    [[ -n $server_pid ]] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" || true
    rm -rf "$tmp"
}
trap cleanup EXIT

mkdir "$tmp/scripts"
cp examples/server/scripts/handler.fsrs "$tmp/scripts/"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
# started directly (not through the shell function pin), so that $! is the
# server itself (taskset execs it) and the signals below reach it
server_cmd=("$server" --port 0 --threads "$SERVER_THREADS" --debounce "$DEBOUNCE"
            --scripts "$tmp/scripts")
[[ -n $SERVER_CPUS ]] && server_cmd=(taskset -c "$SERVER_CPUS" "${server_cmd[@]}")
"${server_cmd[@]}" >"$tmp/server.out" 2>"$tmp/server.err" &
server_pid=$!

# the bound port, from the server's first line (deadline 10 s)
port=
for _ in $(seq 1000); do
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/server.out")
    [[ -n $port ]] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/server.err" >&2; exit 1; }
    sleep 0.01
done
[[ -n $port ]] || { echo "run.sh: the server did not report its port" >&2; exit 1; }
url="http://127.0.0.1:$port$URL_PATH"

wrk_run() { # wrk_run SECONDS OUTFILE
    pin "$WRK_CPUS" wrk --latency -t"$WRK_THREADS" -c"$CONNS" -d"$1"s "$url" >"$2"
}
reloads() { grep -c '^reload: ' "$tmp/server.err" || true; }

wrk_run "$WARMUP" "$tmp/warmup.txt"

# wrk prints latencies as 812.00us, 1.20ms or 1.01s: convert to microseconds
to_us() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000;
        else if (v ~ /m$/) print n * 60e6; else if (v ~ /s$/) print n * 1e6; else print n }'
}
field() { # field FILE: rps p50 p99 max sockerr non2xx
    local f=$1
    local rps p50 p99 max err non2xx
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$f")
    p50=$(to_us "$(awk '$1 == "50%" {print $2}' "$f")")
    p99=$(to_us "$(awk '$1 == "99%" {print $2}' "$f")")
    max=$(to_us "$(awk '$1 == "Latency" && NF >= 5 {print $4; exit}' "$f")")
    err=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$f")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $5}' "$f")
    echo "$rps ${p50} ${p99} ${max} ${err:-0} ${non2xx:-0}"
}
rows=()
ratios=()
total_saves=0
total_reloads=0
run_quiet() {
    local before
    before=$(reloads)
    wrk_run "$DURATION" "$tmp/quiet.txt"
    q_reloads=$(( $(reloads) - before ))
}
run_storm() {
    local before saver_pid
    before=$(reloads)
    "$saver" "$tmp/scripts/handler.fsrs" --rate "$RATE" --seconds "$DURATION" >"$tmp/saver.txt" &
    saver_pid=$!
    wrk_run "$DURATION" "$tmp/storm.txt"
    wait "$saver_pid" || echo "run.sh: the saver failed" >&2
    # let the last reload land before counting
    sleep 0.2
    s_reloads=$(( $(reloads) - before ))
    saves=$(sed -n 's/^saves //p' "$tmp/saver.txt")
}
for rep in $(seq "$REPEAT"); do
    # odd repetitions run quiet first, even ones the storm first, so that
    # drift in the machine's load does not favour one side
    if (( rep % 2 )); then run_quiet; run_storm; else run_storm; run_quiet; fi
    read -r q_rps q_p50 q_p99 q_max q_err q_non <<<"$(field "$tmp/quiet.txt")"
    read -r s_rps s_p50 s_p99 s_max s_err s_non <<<"$(field "$tmp/storm.txt")"
    total_saves=$(( total_saves + ${saves:-0} ))
    total_reloads=$(( total_reloads + s_reloads ))
    rows+=("$(printf '| %d quiet | %s | %.0f | %.0f | %.0f | %s | %s | %s |' "$rep" "$q_rps" \
        "$q_p50" "$q_p99" "$q_max" "$q_err" "$q_non" "$q_reloads")")
    rows+=("$(printf '| %d storm | %s | %.0f | %.0f | %.0f | %s | %s | %s of %s saves |' "$rep" \
        "$s_rps" "$s_p50" "$s_p99" "$s_max" "$s_err" "$s_non" "$s_reloads" "${saves:-?}")")
    ratios+=("$(awk -v a="$s_p99" -v b="$q_p99" 'BEGIN { printf "%.2f", a / b }')")
done
failed=$(grep -c '^reload failed' "$tmp/server.err" || true)

kill -TERM "$server_pid"
wait "$server_pid" || true
server_pid=

echo "machine: $(nproc) CPUs, $(uname -sr), load average at start: $load_before, at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrk --latency -t$WRK_THREADS -c$CONNS -d${DURATION}s $url${WRK_CPUS:+ (wrk on CPUs $WRK_CPUS)}"
echo "server --threads $SERVER_THREADS --debounce $DEBOUNCE${SERVER_CPUS:+ (on CPUs $SERVER_CPUS)}; storm: $RATE saves/s; $REPEAT repetition(s)"
echo
printf '| run | requests/s | p50 µs | p99 µs | max µs | socket errors | non-2xx | reloads |\n'
printf '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n'
printf '%s\n' "${rows[@]}"
echo
echo "p99 storm / quiet, per repetition: ${ratios[*]}"
echo "median: $(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END {
    print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')"
echo "reloads during storms: $total_reloads of $total_saves saves; failed reloads: $failed"
grep '^stopped: ' "$tmp/server.out" || true
