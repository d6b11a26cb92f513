#!/usr/bin/env bash
# idle: N connections joined to topics, no events. What each one costs.
#
#   bench/scenarios/idle.sh [--target ringcast|nchan] [--topics T] [--hold S] [--heartbeat-ms H] [--auth] N
#       [--servers K] [--clients P] [--src-ips K] [--max-seconds S]
#
# Starts the server (ringcast: ceil(N/18000) edges, at least one per core;
# nchan: as many nginx workers), snapshots it, opens N connections at
# BENCH_CONNECT_RATE (5000/s) from ceil(N/18000) loadgen processes, each
# joined to bench:<i % T> (nchan: subscribed to /sub/bench:<i % T>), waits
# until all are ready, settles 2 s, snapshots again, then holds them idle
# for S s (default 5) to measure server CPU while idle (Phoenix clients send
# a heartbeat every H ms, default 30000 as the phoenix client; 0 = none, so
# ringcast answers about N/30 per second by default).
# BENCH_RINGCAST_ARGS adds options to `ringcast start` (for example
# "--idle_timeout_ms 600000" for a hold without heartbeats). --auth
# (ringcast): auth = jwt with an HS256 key, and every connection brings a
# token of its own (user-<i>, topics bench:*; bench/lib/tokens.js), so the
# figures include each connection's grant and expiry.
#
# Figures: connect rate; server memory per connection = (RSS and PSS of all
# server processes after) - (before), / N, from /proc/PID/smaps_rollup;
# kernel TCP memory per connection from /proc/net/sockstat ("TCP mem" pages,
# both ends of each loopback connection); idle CPU.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"

bench_init idle "$@"
set -- "${POS[@]}"
TOPICS=100 HOLD=5 HB=30000 N="" AUTH=""
while [ $# -gt 0 ]; do
    case "$1" in
        --auth) AUTH=1; shift ;;
        --topics) TOPICS=$2; shift 2 ;;
        --hold) HOLD=$2; shift 2 ;;
        --heartbeat-ms) HB=$2; shift 2 ;;
        *) [ -z "$N" ] || die "unexpected argument '$1'"; N=$1; shift ;;
    esac
done
[[ "$N" =~ ^[0-9]+$ ]] && [ "$N" -gt 0 ] || die "usage: idle.sh [--target T] [--topics T] N"
[ "$TOPICS" -le "$N" ] || TOPICS=$N

auth_paths=()
if [ -n "$AUTH" ]; then
    [ "$TARGET" = ringcast ] || die "--auth is ringcast's"
    log "making $N HS256 tokens (bench/lib/tokens.js)"
    node "$BENCH_ROOT/bench/lib/tokens.js" "$WORK/keys" "$N" HS256 || die "could not make tokens"
    BENCH_RINGCAST_ARGS="--auth jwt --jwt_keys HS256:file:$WORK/keys/hs256 ${BENCH_RINGCAST_ARGS:-}"
    auth_paths=(--paths "$WORK/keys/HS256.paths")
fi
server_start "$N"
sleep 1 # let the server finish its own start-up allocations
snapshot before
connect_budget=$(($(ceil_div "$N" "$CONNECT_RATE") + 30))
clients_start "$N" "$TOPICS" $((connect_budget + HOLD + 30)) --heartbeat-ms "$HB" "${auth_paths[@]}"
clients_wait_ready "$N" "$connect_budget" || log "continuing with the connections that are ready"
nap 2
snapshot after
nap "$HOLD"
snapshot idle_end
clients_stop || true
write_result connections="$N" topics="$TOPICS" auth="${AUTH:-0}" hold_s="$HOLD" heartbeat_ms="$HB" server_args="${BENCH_RINGCAST_ARGS:-}" connect_rate_target="$CONNECT_RATE"
