#!/usr/bin/env bash
# spike: N clients connecting within S seconds to edges that admit at most
# R connections/s each, while E clients already connected receive a
# broadcast; once with the cluster's default edges, once after
# `./ringcast prep --edges K --for F`.
#
#   bench/scenarios/spike.sh [--accept-rate R] [--prep-edges K] [--prep-for F] [--existing E]
#       [--spike-seconds S] [--rate EVENTS_PER_S] [--duration D] [N]
#       [--servers B] [--clients P] [--src-ips K] [--max-seconds S]
#
# Defaults: N = 15000, S = 2 (so N/S = 7,500 connects/s offered), R = 2000
# (`--accept_rate`, plus BENCH_RINGCAST_ARGS), E = 500 existing clients on a
# 10 events/s broadcast for D = 20 s, B = the scenario default (one edge per
# core, at least ceil((N+E)/18000)), K = enough edges for the spike to fit
# in the rate: max(B + 1, ceil(N / (S * R)) + 1), F = 60s (prep scales up for F, then
# back: the phase must end before).
#
# A phase (bench/out/spike-ringcast-<stamp>/<noprep|prep>/): cluster up with
# B edges; the E existing clients connect and join bench:0 (`--expect-from
# pub.json`: every event counts); prep phase: `./ringcast prep --edges K
# --for F` (it returns when the K edges run); the publisher starts (one
# connection, in the background); 3 s later the spike: P loadgen processes
# (default max(2, ceil(N/18000))) with `--reconnect` (a 503 is retried on
# the Phoenix client's backoff: 10, 50, 100, ... 5000 ms; Retry-After is
# not read, as the Phoenix client does not) and --src-ips source addresses,
# N/S connects/s in all, each client joining one of 100 spike: topics (no
# events: the spike measures admission, the existing clients measure the
# harm); the scenario waits until every spike process printed its
# `loadgen all-ready` line (at most 90 s); then the publisher finishes,
# delivery drains, everything ends.
#
# Figures (bench/lib/hostile.py): 503s (the edges' ringcast_edge_refused_rate
# counter, and the refused handshakes the loadgen saw), time from the first
# spike connect to the last spike client joined (loadgen all-ready lines,
# wall clock), the existing clients' latency p50/p99/max, missing events and
# disconnects, edge CPU-seconds and RSS over the spike.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"

bench_init spike "$@"
set -- "${POS[@]}"
R=2000 K="" F=60s E=500 S=2 RATE=10 DUR=20 SPIKE_DELAY=3
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --accept-rate) R=$2; shift 2 ;;
        --prep-edges) K=$2; shift 2 ;;
        --prep-for) F=$2; shift 2 ;;
        --existing) E=$2; shift 2 ;;
        --spike-seconds) S=$2; shift 2 ;;
        --rate) RATE=$2; shift 2 ;;
        --duration) DUR=$2; shift 2 ;;
        --*) die "unknown option $1" ;;
        *) args+=("$1"); shift ;;
    esac
done
USAGE="usage: spike.sh [--accept-rate R] [--prep-edges K] [--prep-for F] [--existing E] [--spike-seconds S] [--rate EV] [--duration D] [N]"
[ ${#args[@]} -le 1 ] || die "$USAGE"
N=${args[0]:-15000}
for v in "$N" "$R" "$E" "$S" "$DUR"; do [[ "$v" =~ ^[0-9]+$ ]] && [ "$v" -gt 0 ] || die "$USAGE"; done
[[ "$RATE" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "$USAGE"
[ "$TARGET" = ringcast ] || die "spike runs against ringcast only (--target ringcast)"
[ -n "$SERVERS" ] || SERVERS=$(default_servers $((N + E)))
if [ -z "$K" ]; then
    K=$(($(ceil_div "$N" $((S * R))) + 1))
    [ "$K" -gt "$SERVERS" ] || K=$((SERVERS + 1))
fi
[[ "$K" =~ ^[0-9]+$ ]] && [ "$K" -gt "$SERVERS" ] || die "--prep-edges must be more than the $SERVERS base edges"
SPIKE_PROCS=${CLIENTS:-$(ceil_div "$N" $PER_PROCESS)}
[ "$SPIKE_PROCS" -ge 2 ] || [ -n "$CLIENTS" ] || SPIKE_PROCS=2
[ $(ceil_div "$N" "$SPIKE_PROCS") -le $PER_PROCESS ] || die "--clients $SPIKE_PROCS: more than $PER_PROCESS connections per process"
BASE_ARGS=${BENCH_RINGCAST_ARGS:-}
export BENCH_RINGCAST_ARGS="${BASE_ARGS:+$BASE_ARGS }--accept_rate $R"

ROOT_WORK=$WORK
SPIKE_PIDS=() SPIKE_LOGS=() PUB_PID=""

metrics() { # name: the broker's /metrics (every edge's counters)
    curl -s --max-time 3 "http://127.0.0.1:$PUB_PORT/metrics" >"$WORK/metrics.$1.txt" 2>/dev/null ||
        log "no /metrics for $1"
}

edge_peaks() { # name: VmHWM (peak RSS) of every live edge, "pid kB" per line
    local f p
    : >"$WORK/hwm.$1.txt"
    for f in "$RC_RUN_DIR"/edge.*.pid; do
        [ -f "$f" ] || continue
        p=$(cat "$f")
        pid_alive "$p" && echo "$p $(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null)" >>"$WORK/hwm.$1.txt"
    done
    return 0
}

point() { # name: server + every loadgen, counters, peaks
    # shellcheck disable=SC2046
    python3 "$BENCH_ROOT/bench/lib/procstat.py" "$1" $(server_pids) -- "${CLIENT_PIDS[@]}" "${SPIKE_PIDS[@]}" \
        >>"$WORK/snaps.jsonl"
    metrics "$1"
    edge_peaks "$1"
}

publisher_start() { # the existing clients' broadcast, in the background
    log "publishing $RATE events/s on bench:0 for ${DUR}s"
    "$LOADGEN" --mode publish --url "http://127.0.0.1:$PUB_PORT/api/push" --topics 1 --topic-prefix bench: \
        --rate "$RATE" --duration "$DUR" --pub-conns 1 --json "$WORK/pub.json" >"$WORK/pub.log" 2>&1 &
    PUB_PID=$!
    track "$PUB_PID"
}

spike_start() {
    local per i first cnt rate
    per=$(ceil_div "$N" "$SPIKE_PROCS")
    rate=$(python3 -c "print(max(1.0, $N / $S / $SPIKE_PROCS))")
    log "spike: $N clients in $SPIKE_PROCS loadgen process(es) at $(python3 -c "print($N / $S)") connects/s"
    for ((i = 0; i < SPIKE_PROCS; i++)); do
        first=$((i * per))
        cnt=$((N - first < per ? N - first : per))
        [ "$cnt" -gt 0 ] || break
        # --first-index after the existing clients' numbers: the source
        # addresses keep rotating over 127.0.0.2 .. (1 + SRC_IPS).
        "$LOADGEN" --mode phoenix --host 127.0.0.1 --port "$WS_PORT" --path /socket/websocket \
            --topic-prefix spike: --topics 100 --connections "$cnt" --first-index $((E + first)) --rate "$rate" \
            --src-ips "$SRC_IPS" --duration $((DUR + 120)) --heartbeat-ms 30000 --reconnect \
            --json "$WORK/spike.$i.json" >"$WORK/spike.$i.log" 2>&1 &
        SPIKE_PIDS+=($!)
        SPIKE_LOGS+=("$WORK/spike.$i.log")
        track $!
    done
}

spike_wait() { # timeout_s: until every spike process printed its all-ready line
    local secs=$1 i f done_n p alive
    for ((i = 0; i < secs * 5; i++)); do
        done_n=0
        for f in "${SPIKE_LOGS[@]}"; do grep -q '^loadgen all-ready' "$f" 2>/dev/null && done_n=$((done_n + 1)); done
        [ "$done_n" -eq ${#SPIKE_LOGS[@]} ] && { log "all $N spike clients joined"; return 0; }
        alive=0
        for p in "${SPIKE_PIDS[@]}"; do pid_alive "$p" && alive=1; done
        [ $alive -eq 1 ] || { log "every spike loadgen exited"; return 1; }
        sleep 0.2
    done
    log "timeout: not every spike client joined within ${secs}s"
    return 1
}

stop_group() { # pids...: TERM, each writes its JSON
    local p
    for p in "$@"; do pid_alive "$p" && kill -TERM "$p" 2>/dev/null; done
    for p in "$@"; do
        wait_pid "$p" 30 || { log "loadgen $p did not finish in 30 s; killing it"; kill -KILL "$p" 2>/dev/null; }
    done
    return 0
}

run_phase() { # name prep(0|1)
    local name=$1 prep=$2 sent ok=1
    WORK=$ROOT_WORK/$name
    mkdir -p "$WORK"
    CLIENT_PIDS=() CLIENT_JSONS=() CLIENT_LOGS=() SPIKE_PIDS=() SPIKE_LOGS=() PUB_PID=""
    CLIENTS=1
    log "== phase $name"
    [ "$name" = noprep ] || wait_quiet
    server_start $((N + E))
    nap 1
    clients_start "$E" 1 $((DUR + 150)) --heartbeat-ms 30000 --expect-from "$WORK/pub.json"
    clients_wait_ready "$E" 30 || log "continuing with the existing clients that are ready"
    if [ "$prep" -eq 1 ]; then
        log "./ringcast prep --edges $K --for $F"
        "$BENCH_ROOT/ringcast" prep --instance "$RC_INSTANCE" --run_dir "$RC_RUN_DIR" --edges "$K" --for "$F" \
            >"$WORK/prep.log" 2>&1 || { cat "$WORK/prep.log" >&2; die "prep failed"; }
        log "$(tail -n 1 "$WORK/prep.log")"
    fi
    nap 1
    point before
    publisher_start
    nap "$SPIKE_DELAY"
    point spike_start
    spike_start
    spike_wait 90 || ok=0
    point spike_ready
    wait_pid "$PUB_PID" $((DUR + 20)) || die "publisher did not finish"
    tail -n 1 "$WORK/pub.log" >&2
    [ -s "$WORK/pub.json" ] || die "publisher wrote no JSON (see $WORK/pub.log)"
    sent=$(python3 -c "import json; print(json.load(open('$WORK/pub.json'))['ok'])")
    clients_drain $((sent * E)) 15
    point pub_end
    "$BENCH_ROOT/ringcast" status --instance "$RC_INSTANCE" --run_dir "$RC_RUN_DIR" --json \
        >"$WORK/status.pub_end.json" 2>/dev/null || true
    stop_group "${SPIKE_PIDS[@]}"
    clients_stop || true
    printf '{"phase":"%s","prep":%s,"base_edges":%s,"prep_edges":%s,"prep_for":"%s","all_joined_seen":%s,"cpu_busy_before_percent":%s,"quiet_waited_s":%s}\n' \
        "$name" "$prep" "$SERVERS" "$([ "$prep" -eq 1 ] && echo "$K" || echo null)" "$F" \
        "$([ $ok -eq 1 ] && echo true || echo false)" "${CPU_BUSY_BEFORE:-null}" "$QUIET_WAITED" >"$WORK/phase.json"
    cp "$RC_RUN_DIR"/*.log "$WORK"/ 2>/dev/null || true
    server_stop
}

run_phase noprep 0
run_phase prep 1

WORK=$ROOT_WORK
out=$RESULTS_DIR/$SCENARIO-$TARGET-$STAMP.json
printf '{"command":"%s","machine":%s,"server":{"name":"ringcast","edges":%s,"prep_edges":%s,"options":"defaults + %s"},"clients":%s,"src_ips":%s}\n' \
    "$COMMAND_LINE" "$(machine_json)" "$SERVERS" "$K" "$BENCH_RINGCAST_ARGS" "$((SPIKE_PROCS + 1))" "$SRC_IPS" \
    >"$WORK/meta.json"
python3 "$BENCH_ROOT/bench/lib/hostile.py" result --scenario spike --target "$TARGET" --stamp "$STAMP" \
    --work "$WORK" --out "$out" --phases noprep,prep \
    connections="$N" existing="$E" spike_seconds="$S" accept_rate="$R" base_edges="$SERVERS" prep_edges="$K" \
    prep_for="$F" rate="$RATE" duration_s="$DUR" spike_processes="$SPIKE_PROCS" server_args="$BENCH_RINGCAST_ARGS" ||
    die "could not write the result"
log "result: ${out#"$BENCH_ROOT"/}"
