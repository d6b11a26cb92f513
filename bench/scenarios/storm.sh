#!/usr/bin/env bash
# storm: kill -9 one server process under N connections and watch the
# clients come back.
#
#   bench/scenarios/storm.sh [--target ringcast|nchan] N
#       [--servers K] [--clients P] [--src-ips K] [--max-seconds S]
#
# ringcast: ceil(N/18000)+1 edges (at least one per core), so the edges left
# can hold every connection; the first edge is killed with SIGKILL and its
# clients reconnect to the others (SO_REUSEPORT). nchan: the first nginx
# worker is killed; the master starts a new one.
#
# The subscribers run with `loadgen --reconnect` (the Phoenix client's
# backoff: 10, 50, 100, 150, 200, 250, 500, 1000, 2000, then 5000 ms).
# Figures: connections the victim held (ss), connections lost, reconnect
# time from loss to joined again (percentiles; its max is the time until
# every client had rejoined), connections ready and lost per second after
# the kill, joined at the end.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"

bench_init storm "$@"
set -- "${POS[@]}"
[ $# -eq 1 ] && [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -gt 0 ] || die "usage: storm.sh [--target T] N"
N=$1
TOPICS=100
[ "$TOPICS" -le "$N" ] || TOPICS=$N
[ -n "$SERVERS" ] || SERVERS=$(default_servers "$N" 1)

server_start "$N"
nap 1
snapshot before
connect_budget=$(($(ceil_div "$N" "$CONNECT_RATE") + 30))
t_clients=$(date +%s.%N)
clients_start "$N" "$TOPICS" $((connect_budget + 90)) --heartbeat-ms 30000 --reconnect
clients_wait_ready "$N" "$connect_budget" || die "not every connection joined before the kill"
nap 2
snapshot before_kill

if [ "$TARGET" = ringcast ]; then
    victim=$(cat "$RC_RUN_DIR/edge.1.pid")
    curl -s --max-time 2 "http://127.0.0.1:$PUB_PORT/healthz" >"$WORK/healthz-before.json" || true
else
    master=$(cat "$NCHAN_DIR/nginx.pid")
    victim=$(pgrep -P "$master" | head -n 1)
fi
[ -n "$victim" ] && pid_alive "$victim" || die "no server process to kill"
held=$(ss -Htnp state established "( sport = :$WS_PORT )" 2>/dev/null | grep -c "pid=$victim," || true)
log "kill -9 $victim (holding $held connections)"
t_kill=$(date +%s.%N)
kill -KILL "$victim"

# Poll until every connection is ready again (the loadgen's progress lines
# come once a second, so this is coarse; rejoin_ms in the result is exact).
recovered=""
for ((i = 0; i < 300; i++)); do
    sleep 0.2
    r=$(clients_ready)
    # A ready count that has not yet seen the losses is not a recovery.
    if [ $i -ge 5 ] && [ "$r" -ge "$N" ]; then
        recovered=$(python3 -c "print($(date +%s.%N) - $t_kill)")
        break
    fi
    clients_alive || break
done
[ -n "$recovered" ] && log "all $N ready again (seen by polling after ${recovered}s)" ||
    log "not every connection came back within 60 s"
nap 2
snapshot after
if [ "$TARGET" = ringcast ]; then
    curl -s --max-time 2 "http://127.0.0.1:$PUB_PORT/healthz" >"$WORK/healthz-after.json" || true
fi
clients_stop || true
python3 - "$WORK/storm.json" "$victim" "$held" "$t_clients" "$t_kill" "${recovered:-}" <<'EOF'
import json, sys
out, victim, held, t_clients, t_kill, rec = sys.argv[1:7]
d = {"killed_pid": int(victim), "killed_edge_connections": int(held),
     "kill_offset_s": float(t_kill) - float(t_clients)}
if rec:
    d["recovered_poll_s"] = float(rec)
json.dump(d, open(out, "w"))
EOF
write_result connections="$N" topics="$TOPICS" connect_rate_target="$CONNECT_RATE" server_args="${BENCH_RINGCAST_ARGS:-}"
