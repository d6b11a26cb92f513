#!/usr/bin/env bash
# hostile: N subscribers on a broadcast, once alone (baseline) and once with
# hostile clients hammering the same edge (attack).
#
#   bench/scenarios/hostile.sh [--slowloris A] [--flooders H] [--joins J] [--trickle-ms MS]
#       [--settle S] [N [RATE [DURATION]]]
#       [--servers K] [--clients P] [--src-ips K] [--max-seconds S]
#
# Defaults: N = 5000 subscribers of one topic, RATE = 10 events/s for
# DURATION = 20 s, A = 1000 slowloris connections, H = 200 join flooders of
# J = 500 joins per connection, 1 edge (--servers), the edge's default
# options plus BENCH_RINGCAST_ARGS.
#
# Each phase gets a fresh cluster (bench/out/hostile-ringcast-<stamp>/<phase>/):
# server up; the subscribers connect and join (`loadgen --mode phoenix
# --expect-from pub.json`, so an event that never arrived is missing); in the
# attack phase the attackers start (`loadgen --mode slowloris` and `--mode
# joinflood`, bench/loadgen/attack.h) and run S seconds (--settle, default 5)
# before the publisher, in the baseline the same S seconds pass idle; the
# publisher runs (one connection, RATE events/s, DURATION s); delivery
# drains; the attackers end; the subscribers end.
#
#   slowloris: a TCP connection that sends one byte of a never-ending
#       upgrade request every MS ms (default 3000); when the edge drops it
#       (handshake_timeout_ms after accept) it is opened again 100 ms later;
#       source addresses 127.0.0.100 .. 107.
#   joinflood: upgrades, then sends J phx_join for distinct topic names as
#       fast as the socket takes them; when the edge closes it (1008 past
#       client_msg_rate) or all joins are answered, it starts again 1 s
#       later with new names; source addresses 127.0.0.110 .. 117.
#
# Figures per phase (bench/lib/hostile.py, the result's "phases"): subscriber
# latency p50/p99/max, events missing, subscribers disconnected; edge
# CPU-seconds and RSS over the publisher's window (and VmHWM, the edge's
# peak RSS); the edge's counters from the broker's /metrics (handshake
# timeouts, refusals, kicks) over the window and since start; what the
# attackers saw (how long the edge let them hold a connection, replies,
# close codes).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"

bench_init hostile "$@"
set -- "${POS[@]}"
A=1000 H=200 J=500 TRICKLE_MS=3000 SETTLE=5
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --slowloris) A=$2; shift 2 ;;
        --flooders) H=$2; shift 2 ;;
        --joins) J=$2; shift 2 ;;
        --trickle-ms) TRICKLE_MS=$2; shift 2 ;;
        --settle) SETTLE=$2; shift 2 ;;
        --*) die "unknown option $1" ;;
        *) args+=("$1"); shift ;;
    esac
done
USAGE="usage: hostile.sh [--slowloris A] [--flooders H] [--joins J] [--trickle-ms MS] [--settle S] [N [RATE [DURATION]]]"
[ ${#args[@]} -le 3 ] || die "$USAGE"
N=${args[0]:-5000} RATE=${args[1]:-10} DUR=${args[2]:-20}
for v in "$N" "$A" "$H" "$J" "$TRICKLE_MS" "$SETTLE"; do [[ "$v" =~ ^[0-9]+$ ]] || die "$USAGE"; done
[ "$N" -gt 0 ] && [ "$J" -gt 0 ] && [ "$TRICKLE_MS" -gt 0 ] || die "$USAGE"
[[ "$RATE" =~ ^[0-9]+(\.[0-9]+)?$ ]] && [[ "$DUR" =~ ^[0-9]+$ ]] && [ "$DUR" -gt 0 ] || die "$USAGE"
[ "$A" -le 18000 ] && [ "$H" -le 18000 ] || die "at most 18000 connections per attacker process"
[ -n "$SERVERS" ] || SERVERS=1
[ "$TARGET" = ringcast ] || die "hostile runs against ringcast only (--target ringcast)"

ROOT_WORK=$WORK
CLIENTS_OPT=$CLIENTS
ATTACK_PIDS=()

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

point() { # name: server + clients snapshot, attackers' CPU, counters, peaks
    snapshot "$1"
    [ ${#ATTACK_PIDS[@]} -gt 0 ] &&
        python3 "$BENCH_ROOT/bench/lib/procstat.py" "$1" "${ATTACK_PIDS[@]}" >>"$WORK/attack_snaps.jsonl"
    metrics "$1"
    edge_peaks "$1"
}

attack_start() { # duration_s
    local dur=$1
    log "attack: $A slowloris connections (a byte every ${TRICKLE_MS} ms), $H join flooders ($J joins each)"
    if [ "$A" -gt 0 ]; then
        "$LOADGEN" --mode slowloris --host 127.0.0.1 --port "$WS_PORT" --path /socket/websocket \
            --connections "$A" --rate 1000 --src-ips 8 --src-ip-base 100 --trickle-ms "$TRICKLE_MS" \
            --pause-ms 100 --duration "$dur" --json "$WORK/attack.slowloris.json" >"$WORK/attack.slowloris.log" 2>&1 &
        ATTACK_PIDS+=($!)
        track $!
    fi
    if [ "$H" -gt 0 ]; then
        "$LOADGEN" --mode joinflood --host 127.0.0.1 --port "$WS_PORT" --path /socket/websocket \
            --connections "$H" --rate 1000 --src-ips 8 --src-ip-base 110 --joins "$J" --pause-ms 1000 \
            --topic-prefix flood: --duration "$dur" --json "$WORK/attack.joinflood.json" >"$WORK/attack.joinflood.log" 2>&1 &
        ATTACK_PIDS+=($!)
        track $!
    fi
}

attack_stop() {
    local p
    for p in "${ATTACK_PIDS[@]}"; do pid_alive "$p" && kill -TERM "$p" 2>/dev/null; done
    for p in "${ATTACK_PIDS[@]}"; do
        wait_pid "$p" 15 || { log "attacker $p did not finish in 15 s; killing it"; kill -KILL "$p" 2>/dev/null; }
    done
    for p in "$WORK"/attack.*.log; do [ -f "$p" ] && tail -n 1 "$p" >&2; done
    ATTACK_PIDS=()
}

run_phase() { # name attack(0|1)
    local name=$1 attack=$2 budget sent
    WORK=$ROOT_WORK/$name
    mkdir -p "$WORK"
    CLIENT_PIDS=() CLIENT_JSONS=() CLIENT_LOGS=() ATTACK_PIDS=()
    CLIENTS=$CLIENTS_OPT
    log "== phase $name"
    [ "$name" = baseline ] || wait_quiet
    server_start "$N"
    local edge_pid
    edge_pid=$(cat "$RC_RUN_DIR/edge.1.pid" 2>/dev/null || echo 0)
    nap 1
    point before
    budget=$(($(ceil_div "$N" "$CONNECT_RATE") + 30))
    clients_start "$N" 1 $((budget + SETTLE + DUR + 60)) --heartbeat-ms 30000 --expect-from "$WORK/pub.json"
    clients_wait_ready "$N" "$budget" || log "continuing with the subscribers that are ready"
    [ "$attack" -eq 1 ] && attack_start $((SETTLE + DUR + 40))
    nap "$SETTLE"
    point pub_start
    publisher_run 1 "$RATE" "$DUR" 1
    sent=$(python3 -c "import json; print(json.load(open('$WORK/pub.json'))['ok'])")
    clients_drain $((sent * N)) 15
    point pub_end
    "$BENCH_ROOT/ringcast" status --instance "$RC_INSTANCE" --run_dir "$RC_RUN_DIR" --json \
        >"$WORK/status.pub_end.json" 2>/dev/null || true
    pid_alive "$edge_pid" || log "WARNING: the first edge ($edge_pid) is gone (see $RC_RUN_DIR/*.log)"
    [ "$attack" -eq 1 ] && attack_stop
    clients_stop || true
    printf '{"phase":"%s","attack":%s,"cpu_busy_before_percent":%s,"quiet_waited_s":%s,"first_edge_pid":%s,"first_edge_alive_at_end":%s}\n' \
        "$name" "$attack" "${CPU_BUSY_BEFORE:-null}" "$QUIET_WAITED" "$edge_pid" \
        "$(pid_alive "$edge_pid" && echo true || echo false)" >"$WORK/phase.json"
    cp "$RC_RUN_DIR"/*.log "$WORK"/ 2>/dev/null || true
    server_stop
}

run_phase baseline 0
run_phase attack 1

WORK=$ROOT_WORK
out=$RESULTS_DIR/$SCENARIO-$TARGET-$STAMP.json
printf '{"command":"%s","machine":%s,"server":{"name":"ringcast","edges":%s,"options":"defaults%s"},"clients":%s,"src_ips":%s}\n' \
    "$COMMAND_LINE" "$(machine_json)" "$SERVERS" "${BENCH_RINGCAST_ARGS:+ + $BENCH_RINGCAST_ARGS}" \
    "${CLIENTS:-0}" "$SRC_IPS" >"$WORK/meta.json"
python3 "$BENCH_ROOT/bench/lib/hostile.py" result --scenario hostile --target "$TARGET" --stamp "$STAMP" \
    --work "$WORK" --out "$out" --phases baseline,attack \
    connections="$N" rate="$RATE" duration_s="$DUR" slowloris="$A" flooders="$H" joins="$J" \
    trickle_ms="$TRICKLE_MS" settle_s="$SETTLE" server_args="${BENCH_RINGCAST_ARGS:-}" ||
    die "could not write the result"
log "result: ${out#"$BENCH_ROOT"/}"
