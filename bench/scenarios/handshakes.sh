#!/usr/bin/env bash
# handshakes: how many connects per second one edge takes with auth off and
# with auth = jwt (HS256, RS256, ES256 tokens), in one run so the ratios
# compare. ringcast only.
#
#   bench/scenarios/handshakes.sh [--rounds R] [N]
#       [--clients P] [--src-ips K] [--max-seconds S]
#
# Defaults: N = 10000 connections, R = 3 rounds of every mode, interleaved
# so a slower minute of the shared machine falls on all of them. Modes: off;
# HS256, RS256 and ES256 with N distinct tokens (N users: each connection's
# token is new to the edge, so its signature is checked); RS256 and ES256
# "again": one token for all N, as when clients reconnect with the token
# they hold (the edge remembers signatures it verified, proto/jwt.h). A
# phase: a cluster with one edge (auth off, or auth = jwt with the mode's
# key: 2048-bit RSA, P-256); one loadgen process opens N connections as
# fast as it can (BENCH_CONNECT_RATE, default here 100000/s: the edge is
# the limit), each with its token in the `token` param, and joins one
# topic; the time from the first connect to the last join (loadgen's
# all-ready line), and the edge's CPU-seconds over it (utime + stime from
# /proc). Keys and tokens are made with Node's crypto.
#
# Figures: handshakes/s (N / time to all joined) and edge CPU µs per
# handshake (accept, upgrade, token check, join), median over the rounds.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"

bench_init handshakes "$@"
set -- "${POS[@]}"
ROUNDS=3 N=""
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) ROUNDS=$2; shift 2 ;;
        *) [ -z "$N" ] || die "unexpected argument '$1'"; N=$1; shift ;;
    esac
done
N=${N:-10000}
[[ "$N" =~ ^[0-9]+$ && "$ROUNDS" =~ ^[0-9]+$ ]] && [ "$N" -gt 0 ] && [ "$N" -le 18000 ] ||
    die "usage: handshakes.sh [--rounds R] [N] (N <= 18000: one edge, one loadgen)"
[ "$TARGET" = ringcast ] || die "handshakes measures ringcast's token check"
command -v node >/dev/null || die "node is needed to make the keys and tokens"
CONNECT_RATE=${BENCH_CONNECT_RATE:-100000}
SERVERS=1
EXTRA_ARGS=${BENCH_RINGCAST_ARGS:-} # the caller's options, added to each phase's

keys=$WORK/keys
log "making keys and $N tokens of each algorithm (bench/lib/tokens.js)"
node "$BENCH_ROOT/bench/lib/tokens.js" "$keys" "$N" HS256 RS256 ES256 || die "could not make keys and tokens"

edge_ticks() { awk '{print $14 + $15}' "/proc/$(cat "$RC_RUN_DIR/edge.1.pid")/stat"; }

phase() { # mode round
    local mode=$1 round=$2 paths=() auth=""
    case "${mode%-again}" in
        off) ;;
        HS256) auth="--auth jwt --jwt_keys HS256:file:$keys/hs256" ;;
        RS256) auth="--auth jwt --jwt_keys RS256:file:$keys/rs256.pem" ;;
        ES256) auth="--auth jwt --jwt_keys ES256:file:$keys/es256.pem" ;;
    esac
    case "$mode" in
        off) ;;
        *-again) paths=(--paths "$keys/${mode%-again}.again") ;;
        *) paths=(--paths "$keys/$mode.paths") ;;
    esac
    BENCH_RINGCAST_ARGS="$auth $EXTRA_ARGS" server_start "$N"
    nap 1
    CLIENT_PIDS=() CLIENT_JSONS=() CLIENT_LOGS=() CLIENTS=1
    local t0 t1
    t0=$(edge_ticks)
    clients_start "$N" 100 120 --heartbeat-ms 30000 "${paths[@]}"
    clients_wait_ready "$N" 100 || log "$mode: not every client joined"
    t1=$(edge_ticks)
    local ready
    ready=$(grep -h 'loadgen all-ready' "${CLIENT_LOGS[@]}" | sed -n 's/.*after_s=\([0-9.]*\).*/\1/p' | head -n 1)
    local refused
    clients_stop || true
    refused=$(python3 -c "import json; print(json.load(open('${CLIENT_JSONS[0]}'))['connections']['failed_handshake'])" 2>/dev/null || echo "?")
    server_stop
    echo "$mode $round ${ready:-nan} $((t1 - t0)) $(getconf CLK_TCK) $refused" >>"$WORK/phases.txt"
    log "$mode round $round: all joined after ${ready:-?} s, edge ticks $((t1 - t0)), failed handshakes $refused"
    wait_quiet
}

for ((r = 1; r <= ROUNDS; r++)); do
    for m in off HS256 RS256 ES256 RS256-again ES256-again; do phase "$m" "$r"; done
done

python3 - "$WORK" "$N" "$COMMAND_LINE" <<'PY'
import json, statistics, sys
work, n, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = {}
for line in open(f"{work}/phases.txt"):
    mode, rnd, ready, ticks, hz, failed = line.split()
    rows.setdefault(mode, []).append((float(ready), int(ticks) / int(hz), failed))
print("| auth (-again: one token reused) | handshakes/s (median of rounds) | rounds | edge CPU µs per handshake (median) | failed handshakes |")
print("|---|---|---|---|---|")
base = None
out = {"command": cmd, "connections": n, "modes": {}}
for mode in ["off", "HS256", "RS256", "ES256", "RS256-again", "ES256-again"]:
    if mode not in rows:
        continue
    rs = rows[mode]
    rate = statistics.median(n / r[0] for r in rs)
    cpu = statistics.median(r[1] / n * 1e6 for r in rs)
    base = base or rate
    each = ", ".join(f"{n / r[0]:,.0f}" for r in rs)
    print(f"| {mode} | {rate:,.0f} ({rate / base:.2f}x off) | {each} | {cpu:.1f} | {', '.join(r[2] for r in rs)} |")
    out["modes"][mode] = {"handshakes_per_s": rate, "rounds": [{"all_joined_s": r[0], "edge_cpu_s": r[1]} for r in rs],
                          "edge_cpu_us_per_handshake": cpu}
json.dump(out, open(f"{work}/handshakes.json", "w"))
PY
cp "$WORK/handshakes.json" "$RESULTS_DIR/handshakes-ringcast-$STAMP.json"
log "result: bench/results/handshakes-ringcast-$STAMP.json"
